//! Runs what the job queue holds. One runner per process: it claims one due job at a time,
//! runs it with no database transaction open, records the outcome, and between jobs does the
//! periodic work (`jobs::periodic`). Several processes may each run one: claims never overlap.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{claim_kinds, complete, fail, periodic, QUEUED};
use crate::db::models::Job;
use crate::db::schema::jobs;
use crate::db::{new_id, DbConn, DbError};
use crate::mail::{Email, Mailer, SendError};
use crate::AppState;

/// How often the periodic work runs at most.
const PERIODIC_EVERY: Duration = Duration::from_secs(60);

/// Runs jobs until `shutdown` turns true; a job in hand is finished first.
pub async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let runner = Runner::new(&state);
    let poll = Duration::from_millis(state.config.jobs.poll_interval_ms);
    let mut last_periodic: Option<Instant> = None;
    tracing::debug!(owner = %runner.owner, "job runner started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        // Registered before looking, so a job queued meanwhile still wakes us.
        let wake = state.jobs_wake.clone();
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if last_periodic.is_none_or(|t| t.elapsed() >= PERIODIC_EVERY) {
            last_periodic = Some(Instant::now());
            periodic(&state).await;
        }
        let claimed = runner.claim(1).await;
        match claimed.into_iter().next() {
            Some(job) => runner.execute(job).await,
            None => {
                tokio::select! {
                    _ = &mut notified => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
    tracing::debug!(owner = %runner.owner, "job runner stopped");
}

/// Does the periodic work, then runs every job due now once; returns how many ran. For tests
/// and one-off use: a job that fails and is due again at once is not run a second time.
pub async fn run_due(state: &AppState) -> usize {
    periodic(state).await;
    let runner = Runner::new(state);
    let claimed = runner.claim(1000).await;
    let n = claimed.len();
    for job in claimed {
        runner.execute(job).await;
    }
    n
}

struct Runner {
    state: AppState,
    mailer: Option<Mailer>,
    owner: String,
}

/// Why a job did not succeed, and whether trying again can help.
struct JobError {
    text: String,
    permanent: bool,
}

impl From<SendError> for JobError {
    fn from(e: SendError) -> Self {
        JobError {
            permanent: e.is_permanent(),
            text: e.to_string(),
        }
    }
}

/// Logged once per process: a queued email and no mail server to send it.
static NO_MAILER_WARNED: AtomicBool = AtomicBool::new(false);

impl Runner {
    fn new(state: &AppState) -> Runner {
        let mailer = match Mailer::from_config(&state.config.smtp) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "cannot set up SMTP: emails stay queued");
                None
            }
        };
        let id = new_id();
        Runner {
            state: state.clone(),
            mailer,
            owner: format!("jobs:{}", &id[..8]),
        }
    }

    /// The kinds this runner can run now. Others stay queued, neither attempted nor failed:
    /// emails wait for a mail server to be configured.
    fn kinds(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        if self.mailer.is_some() {
            kinds.push(crate::mail::JOB_KIND);
        }
        kinds
    }

    async fn claim(&self, limit: usize) -> Vec<Job> {
        let kinds = self.kinds();
        if self.mailer.is_none() {
            self.warn_if_emails_wait().await;
        }
        let owner = self.owner.clone();
        let lease = chrono::Duration::seconds(self.state.config.jobs.lease_secs as i64);
        let claimed = self
            .state
            .db
            .run(move |c| claim_kinds(c, &owner, lease, limit, &kinds))
            .await;
        claimed.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not claim jobs");
            Vec::new()
        })
    }

    async fn warn_if_emails_wait(&self) {
        if NO_MAILER_WARNED.load(Ordering::Relaxed) {
            return;
        }
        let waiting = self
            .state
            .db
            .run(|c| {
                use diesel::prelude::*;
                jobs::table
                    .filter(jobs::status.eq(QUEUED))
                    .filter(jobs::kind.eq(crate::mail::JOB_KIND))
                    .count()
                    .get_result::<i64>(c)
                    .map_err(DbError::from)
            })
            .await
            .unwrap_or(0);
        if waiting > 0 && !NO_MAILER_WARNED.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                waiting,
                "emails are queued but smtp.host is not set: they wait until it is"
            );
        }
    }

    async fn execute(&self, job: Job) {
        let started = Instant::now();
        let result = match job.kind.as_str() {
            crate::mail::JOB_KIND => self.send_email(&job).await,
            other => Err(JobError {
                text: format!("unknown job kind {other:?}"),
                permanent: true,
            }),
        };
        let owner = self.owner.clone();
        match result {
            Ok(()) => {
                tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, ms = started.elapsed().as_millis() as u64, "job done");
                let ours = self.record(move |c| complete(c, &job, &owner)).await;
                if ours == Some(false) {
                    tracing::warn!("a job finished after its lease expired: it may run twice");
                }
            }
            Err(e) => {
                let cfg = self.state.config.jobs.clone();
                let (id, kind, attempt) = (job.id.clone(), job.kind.clone(), job.attempts);
                let text = e.text.clone();
                let status = self
                    .record(move |c| fail(c, &job, &owner, &text, e.permanent, &cfg))
                    .await
                    .flatten();
                match status {
                    Some(QUEUED) => {
                        tracing::warn!(job = %id, %kind, attempt, error = %e.text, "job failed; will retry")
                    }
                    Some(_) => {
                        tracing::error!(job = %id, %kind, attempt, error = %e.text, "job failed for good")
                    }
                    None => {
                        tracing::warn!(job = %id, %kind, attempt, error = %e.text, "job failed after its lease expired")
                    }
                }
            }
        }
    }

    async fn send_email(&self, job: &Job) -> Result<(), JobError> {
        let email: Email = serde_json::from_str(&job.payload).map_err(|e| JobError {
            text: format!("not an email: {e}"),
            permanent: true,
        })?;
        let Some(mailer) = &self.mailer else {
            // Not claimed without a mailer; kept total for safety.
            return Err(JobError {
                text: "smtp.host is not set".into(),
                permanent: false,
            });
        };
        Ok(mailer.send_with_id(&email, &job.id).await?)
    }

    /// Records an outcome. The work is done and must not be lost, so a failing database is
    /// retried for as long as the lease lasts. None when it could not be recorded.
    async fn record<T, F>(&self, f: F) -> Option<T>
    where
        T: Send + 'static,
        F: Fn(&mut DbConn) -> Result<T, DbError> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let deadline = Instant::now() + Duration::from_secs(self.state.config.jobs.lease_secs);
        let mut pause = Duration::from_millis(100);
        loop {
            let g = f.clone();
            match self.state.db.run(move |c| g(c)).await {
                Ok(v) => return Some(v),
                Err(e) if Instant::now() < deadline => {
                    tracing::warn!(error = %e, "could not record a job outcome; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    tracing::error!(error = %e, "gave up recording a job outcome; the lease will expire");
                    return None;
                }
            }
        }
    }
}
