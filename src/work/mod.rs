//! Background work: one core under the SMS outbox (`sms::outbox`) and the job queue (`jobs`,
//! run by `runner`). Rows are claimed with a lease (`lease`); a worker does the work with no
//! database transaction open, then records the outcome, retrying a failing database for as long
//! as its lease lasts (`record`); a failed attempt is tried again after an exponential
//! `backoff`; workers loop until shutdown, woken when work is queued (`run`).

pub mod jobs;
pub mod lease;
pub mod runner;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use crate::db::{Db, DbConn, DbError};

pub use jobs::{BackgroundJob, JobError, JobMeta, JobsConfig};
pub use runner::Runner;

/// The delay before attempt `attempt + 1`, after the `attempt`-th failure: base · 2^(attempt-1),
/// capped at `max_secs` and, whatever the configuration says, at a year (no overflow).
pub fn backoff(base_secs: u64, max_secs: u64, attempt: u32) -> chrono::Duration {
    const YEAR: u64 = 365 * 24 * 3600;
    let exp = attempt.saturating_sub(1).min(20);
    let secs = base_secs
        .saturating_mul(1u64 << exp)
        .min(max_secs)
        .min(YEAR);
    chrono::Duration::seconds(secs as i64)
}

/// Records the outcome of work that is done and must not be lost (a message the gateway took,
/// an email sent): a failing database is retried, with pauses growing to 5 s, for `patience`
/// (the lease: after it another worker may take the row anyway). None when it gave up.
pub async fn record<T, F>(db: &Db, patience: Duration, what: &str, f: F) -> Option<T>
where
    T: Send + 'static,
    F: Fn(&mut DbConn) -> Result<T, DbError> + Send + Sync + 'static,
{
    let f = Arc::new(f);
    let deadline = Instant::now() + patience;
    let mut pause = Duration::from_millis(100);
    loop {
        let g = f.clone();
        match db.run(move |c| g(c)).await {
            Ok(v) => return Some(v),
            Err(e) if Instant::now() < deadline => {
                tracing::warn!(error = %e, "could not record {what}; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                tracing::error!(error = %e, "gave up recording {what}; the lease will expire");
                return None;
            }
        }
    }
}

/// What one step of a worker came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do: wait to be woken, or for the poll interval.
    Idle,
    /// Did something: look again at once.
    Worked,
    /// Shutdown came during the step.
    Stop,
}

/// A background worker: one step at a time until shutdown.
pub trait Worker: Send + 'static {
    /// For the logs.
    fn name(&self) -> &str;
    /// Claims and does one piece of work, if any is due. `shutdown` turns true when the process
    /// stops; a step waiting on something slow (a rate limiter) returns `Stop` then.
    fn step(&mut self, shutdown: &mut watch::Receiver<bool>) -> impl Future<Output = Step> + Send;
}

/// Runs `worker` until `shutdown` turns true; the step in hand is finished first. When idle it
/// waits for `wake` (work queued in this process) or `poll` (work queued by another process).
pub async fn run<W: Worker>(
    mut worker: W,
    wake: Arc<Notify>,
    poll: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::debug!(worker = %worker.name(), "worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        // Registered before looking, so work queued meanwhile still wakes us.
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        match worker.step(&mut shutdown).await {
            Step::Worked => {}
            Step::Stop => break,
            Step::Idle => {
                tokio::select! {
                    _ = &mut notified => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
    tracing::debug!(worker = %worker.name(), "worker stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_caps() {
        let secs: Vec<i64> = (1..=6).map(|a| backoff(30, 300, a).num_seconds()).collect();
        assert_eq!(secs, vec![30, 60, 120, 240, 300, 300]);
        assert_eq!(backoff(30, 300, 0).num_seconds(), 30);
        assert_eq!(backoff(30, 300, u32::MAX).num_seconds(), 300);
        assert_eq!(backoff(5, 60, 200).num_seconds(), 60);
    }

    #[test]
    fn backoff_does_not_overflow() {
        assert_eq!(
            backoff(u64::MAX / 2, u64::MAX, 30).num_seconds(),
            365 * 24 * 3600
        );
    }
}
