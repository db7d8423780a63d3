//! The service's idea of now. Everything that runs on a schedule (follow-ups months after a
//! placement, reminders, the day a subsidy is earned) asks `TimeSource::now`, so a test can
//! move time forward by months in a second; the running service never moves it.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{Duration, NaiveDateTime};

/// UTC now, plus an offset that only tests set.
#[derive(Debug, Default)]
pub struct TimeSource {
    offset_secs: AtomicI64,
}

impl TimeSource {
    /// The current moment, UTC.
    pub fn now(&self) -> NaiveDateTime {
        chrono::Utc::now().naive_utc() + Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Moves time forward (tests).
    pub fn advance(&self, by: Duration) {
        self.offset_secs
            .fetch_add(by.num_seconds(), Ordering::Relaxed);
    }

    /// Sets now to `at` (tests).
    pub fn set(&self, at: NaiveDateTime) {
        let real = chrono::Utc::now().naive_utc();
        self.offset_secs
            .store((at - real).num_seconds(), Ordering::Relaxed);
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
    }
}
