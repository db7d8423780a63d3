//! The service's idea of now. Everything that runs on a schedule (follow-ups months after a
//! placement, reminders, the day a subsidy is earned) asks `TimeSource::now`, so a test can
//! move time forward by months in a second; the running service never moves it.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{Duration, NaiveDateTime};

/// UTC now, plus an offset (nanoseconds) that only tests set.
#[derive(Debug, Default)]
pub struct TimeSource {
    offset_nanos: AtomicI64,
}

impl TimeSource {
    /// The current moment, UTC.
    pub fn now(&self) -> NaiveDateTime {
        chrono::Utc::now().naive_utc()
            + Duration::nanoseconds(self.offset_nanos.load(Ordering::Relaxed))
    }

    /// Moves time forward (tests).
    pub fn advance(&self, by: Duration) {
        self.offset_nanos
            .fetch_add(by.num_nanoseconds().unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    /// Sets now to `at` (tests): from this instant on, `now` is `at` plus the real time
    /// passed, never a moment before `at`.
    pub fn set(&self, at: NaiveDateTime) {
        let real = chrono::Utc::now().naive_utc();
        self.offset_nanos.store(
            (at - real).num_nanoseconds().unwrap_or(i64::MAX),
            Ordering::Relaxed,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_moves_only_when_told() {
        let t = TimeSource::default();
        let before = t.now();
        t.advance(Duration::days(30));
        let after = t.now();
        assert!(after - before >= Duration::days(30));
        assert!(after - before < Duration::days(30) + Duration::minutes(1));
        let at = chrono::NaiveDate::from_ymd_opt(2027, 1, 1)
            .unwrap()
            .and_hms_opt(4, 0, 0)
            .unwrap();
        t.set(at);
        assert!(t.now() >= at, "never before the moment set");
    }
}
