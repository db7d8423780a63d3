//! The durable job queue: background work (emails to departments) kept in the `jobs` table,
//! claimed with a lease, retried with backoff, deduplicated at enqueue. One queue for every
//! kind of job; the runner (`runner`) dispatches on `kind`. Never a database transaction
//! across the work itself: claim, run with nothing open, then record the outcome.

pub mod runner;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;

use crate::db::models::Job;
use crate::db::schema::jobs;
use crate::db::{new_id, now, DbConn, DbError};
use crate::AppState;

/// Job statuses. A job is `queued` until a runner claims it (`running`, with a lease), then
/// `done`, or back to `queued` with a later `run_at` after a temporary failure, or `failed`.
pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";

/// Queues a job to run at `run_at` (or now). With a `dedupe_key` a second job with the same key
/// is not queued: returns None. Runs inside the caller's transaction, so the job exists exactly
/// when the change that asked for it does.
pub fn enqueue(
    conn: &mut DbConn,
    cfg: &JobsConfig,
    kind: &str,
    payload: &serde_json::Value,
    dedupe_key: Option<&str>,
    run_at: Option<NaiveDateTime>,
) -> Result<Option<String>, DbError> {
    let id = new_id();
    let t = now();
    let payload = payload.to_string();
    let row = (
        jobs::id.eq(&id),
        jobs::kind.eq(kind),
        jobs::payload.eq(&payload),
        jobs::dedupe_key.eq(dedupe_key),
        jobs::status.eq(QUEUED),
        jobs::attempts.eq(0),
        jobs::max_attempts.eq(cfg.max_attempts as i32),
        jobs::run_at.eq(run_at.unwrap_or(t)),
        jobs::created_at.eq(t),
        jobs::updated_at.eq(t),
    );
    let n = crate::per_backend!(conn, c => diesel::insert_into(jobs::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok((n == 1).then_some(id))
}

/// Claims up to `limit` due jobs of any kind for `owner`, each leased for `lease`.
///
/// Due: queued with `run_at` reached, or running with an expired lease (the runner that held it
/// died; the job runs again, so a job must tolerate running twice). Each claim counts an
/// attempt. On PostgreSQL the rows are taken with FOR UPDATE SKIP LOCKED, so runners in several
/// processes never get the same job; SQLite has one writer at a time anyway.
pub fn claim(
    conn: &mut DbConn,
    owner: &str,
    lease: Duration,
    limit: usize,
) -> Result<Vec<Job>, DbError> {
    claim_where(conn, owner, lease, limit, None)
}

/// As `claim`, only jobs of these kinds (those the runner can run now: without a mail server,
/// emails stay queued rather than failing).
pub fn claim_kinds(
    conn: &mut DbConn,
    owner: &str,
    lease: Duration,
    limit: usize,
    kinds: &[&str],
) -> Result<Vec<Job>, DbError> {
    claim_where(conn, owner, lease, limit, Some(kinds))
}

fn claim_where(
    conn: &mut DbConn,
    owner: &str,
    lease: Duration,
    limit: usize,
    kinds: Option<&[&str]>,
) -> Result<Vec<Job>, DbError> {
    if limit == 0 || kinds.is_some_and(|k| k.is_empty()) {
        return Ok(Vec::new());
    }
    crate::db::transaction(conn, |conn| {
        let t = now();
        let mut ids: Vec<String> = Vec::new();
        // One query per condition, each a seek on jobs_due_idx (status, run_at); abandoned
        // jobs first, they have waited longest.
        macro_rules! pick {
            ($filter:expr) => {{
                let want = limit.saturating_sub(ids.len()) as i64;
                if want > 0 {
                    let q = jobs::table
                        .select(jobs::id)
                        .filter($filter)
                        .order(jobs::run_at)
                        .limit(want);
                    let found: Vec<String> = match &mut *conn {
                        DbConn::Pg(c) => q.for_update().skip_locked().load(c)?,
                        DbConn::Sqlite(c) => q.load(c)?,
                    };
                    ids.extend(found);
                }
            }};
        }
        let abandoned = jobs::status.eq(RUNNING).and(jobs::lease_until.lt(t));
        let due = jobs::status.eq(QUEUED).and(jobs::run_at.le(t));
        match kinds {
            None => {
                pick!(abandoned);
                pick!(due);
            }
            Some(k) => {
                pick!(abandoned.and(jobs::kind.eq_any(k)));
                pick!(due.and(jobs::kind.eq_any(k)));
            }
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(jobs::table.filter(jobs::id.eq_any(&ids)))
            .set((
                jobs::status.eq(RUNNING),
                jobs::lease_owner.eq(owner),
                jobs::lease_until.eq(t + lease),
                jobs::attempts.eq(jobs::attempts + 1),
                jobs::updated_at.eq(t),
            ))
            .execute(conn)?;
        let claimed = jobs::table
            .filter(jobs::id.eq_any(&ids))
            .order(jobs::run_at)
            .select(Job::as_select())
            .load(conn)?;
        Ok(claimed)
    })
}

/// The job ran. False when it was no longer ours (the lease expired and another runner took it).
pub fn complete(conn: &mut DbConn, job: &Job, owner: &str) -> Result<bool, DbError> {
    let t = now();
    let n = diesel::update(
        jobs::table
            .filter(jobs::id.eq(&job.id))
            .filter(jobs::lease_owner.eq(owner))
            .filter(jobs::status.eq(RUNNING)),
    )
    .set((
        jobs::status.eq(DONE),
        jobs::done_at.eq(Some(t)),
        jobs::lease_owner.eq(None::<String>),
        jobs::lease_until.eq(None::<NaiveDateTime>),
        jobs::last_error.eq(None::<String>),
        jobs::updated_at.eq(t),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// An attempt failed. Temporary: back to the queue after the backoff; permanent, or the
/// attempts used up: `failed`, until an admin retries it. Returns the new status, or None when
/// the job was no longer ours. `error` is stored for the admin page: it must hold no secret.
pub fn fail(
    conn: &mut DbConn,
    job: &Job,
    owner: &str,
    error: &str,
    permanent: bool,
    cfg: &JobsConfig,
) -> Result<Option<&'static str>, DbError> {
    let t = now();
    let give_up = permanent || job.attempts >= job.max_attempts;
    let status = if give_up { FAILED } else { QUEUED };
    let run_at = if give_up {
        job.run_at
    } else {
        t + backoff(cfg, job.attempts.max(1) as u32)
    };
    let n = diesel::update(
        jobs::table
            .filter(jobs::id.eq(&job.id))
            .filter(jobs::lease_owner.eq(owner))
            .filter(jobs::status.eq(RUNNING)),
    )
    .set((
        jobs::status.eq(status),
        jobs::run_at.eq(run_at),
        jobs::lease_owner.eq(None::<String>),
        jobs::lease_until.eq(None::<NaiveDateTime>),
        jobs::last_error.eq(Some(truncate(error, MAX_ERROR_CHARS))),
        jobs::updated_at.eq(t),
    ))
    .execute(conn)?;
    Ok((n == 1).then_some(status))
}

/// A stored error is for a person to read; an SMTP server's multi-line reply can be long.
const MAX_ERROR_CHARS: usize = 1000;

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Exponential backoff after the `attempt`-th failure: base · 2^(attempt-1), capped at
/// `backoff_max_secs` and, whatever the configuration says, at a year (no overflow panic).
pub fn backoff(cfg: &JobsConfig, attempt: u32) -> Duration {
    const YEAR: u64 = 365 * 24 * 3600;
    let exp = attempt.saturating_sub(1).min(20);
    let secs = cfg
        .backoff_base_secs
        .saturating_mul(1u64 << exp)
        .min(cfg.backoff_max_secs)
        .min(YEAR);
    Duration::seconds(secs as i64)
}

/// An admin puts a failed job back in the queue, to run now with a fresh set of attempts
/// (after fixing the mail server's settings, say). False when no failed job has this id.
pub fn retry(conn: &mut DbConn, id: &str) -> Result<bool, DbError> {
    let t = now();
    let n = diesel::update(
        jobs::table
            .filter(jobs::id.eq(id))
            .filter(jobs::status.eq(FAILED)),
    )
    .set((
        jobs::status.eq(QUEUED),
        jobs::attempts.eq(0),
        jobs::run_at.eq(t),
        jobs::updated_at.eq(t),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Jobs by status, for /metrics and the admin page.
pub fn counts(conn: &mut DbConn) -> Result<Vec<(String, i64)>, DbError> {
    Ok(jobs::table
        .group_by(jobs::status)
        .select((jobs::status, diesel::dsl::count_star()))
        .order(jobs::status)
        .load(conn)?)
}

/// The most recently changed jobs, newest first, for the admin page.
pub fn recent(conn: &mut DbConn, limit: i64) -> Result<Vec<Job>, DbError> {
    Ok(jobs::table
        .order((jobs::updated_at.desc(), jobs::id))
        .limit(limit)
        .select(Job::as_select())
        .load(conn)?)
}

/// Periodic work, called by the runner at most once a minute (and by `runner::run_due`):
/// referral reminders (referrals past `reminder_due` and not yet acknowledged get a reminder
/// email queued, once however many runners there are) and the login limiter's housekeeping.
pub async fn periodic(state: &AppState) {
    let st = state.clone();
    let today = state.config.today();
    match state
        .db
        .run(move |c| crate::cases::referrals::remind_due(&st, c, today))
        .await
    {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(reminders = n, "referral reminders queued");
            state.jobs_wake.notify_one();
        }
        Err(e) => tracing::error!(error = %e, "referral reminders not queued"),
    }
}

/// The durable job queue (emails).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Attempts before a job is marked failed.
    pub max_attempts: u32,
    /// First retry delay; doubles with each attempt up to `backoff_max_secs`.
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
    /// How long a claimed job belongs to one runner before another may take it.
    pub lease_secs: u64,
    /// How often the runner looks for due jobs and referral reminders.
    pub poll_interval_ms: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            max_attempts: 10,
            backoff_base_secs: 30,
            backoff_max_secs: 3600,
            lease_secs: 120,
            poll_interval_ms: 1000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_caps() {
        let cfg = JobsConfig {
            backoff_base_secs: 30,
            backoff_max_secs: 300,
            ..Default::default()
        };
        let secs: Vec<i64> = (1..=6).map(|a| backoff(&cfg, a).num_seconds()).collect();
        assert_eq!(secs, vec![30, 60, 120, 240, 300, 300]);
        assert_eq!(backoff(&cfg, 0).num_seconds(), 30);
        assert_eq!(backoff(&cfg, u32::MAX).num_seconds(), 300);
    }

    #[test]
    fn backoff_does_not_overflow() {
        let cfg = JobsConfig {
            backoff_base_secs: u64::MAX / 2,
            backoff_max_secs: u64::MAX,
            ..Default::default()
        };
        assert_eq!(backoff(&cfg, 30).num_seconds(), 365 * 24 * 3600);
    }

    #[test]
    fn errors_are_cut_at_a_character() {
        assert_eq!(truncate("连接被拒绝", 2), "连接");
        assert_eq!(truncate("short", 10), "short");
    }
}
