//! The durable job queue: background work (emails, and whatever else registers) kept in the
//! `jobs` table, claimed with a lease, retried with backoff, deduplicated at enqueue. A job kind
//! is a type (`BackgroundJob`: a name and a typed payload) registered with the `Runner`; the
//! queue itself knows no kind. Never a database transaction across the work itself: claim, run
//! with nothing open, then record the outcome.

use std::future::Future;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::lease::{self, Due};
use crate::db::models::{Job, JobStatus};
use crate::db::schema::jobs;
use crate::db::{new_id, now, DbConn, DbError};

/// A kind of background work: a name and a typed payload, stored as JSON.
pub trait BackgroundJob: Serialize + DeserializeOwned + Send + 'static {
    /// Stored in `jobs.kind`: never rename a kind while jobs of it may be queued.
    const NAME: &'static str;
    /// What running it needs (a mail transport, the app's state), given at registration.
    type Context: Clone + Send + Sync + 'static;

    /// Does the work. An error says whether trying again can help.
    fn run(
        self,
        ctx: Self::Context,
        meta: JobMeta,
    ) -> impl Future<Output = Result<(), JobError>> + Send;

    /// Queues this job to run now, inside the caller's transaction, so the job exists exactly
    /// when the change that asked for it does. With a `dedupe_key` a second job with the same
    /// key is not queued: returns None.
    fn enqueue(
        &self,
        conn: &mut DbConn,
        cfg: &JobsConfig,
        dedupe_key: Option<&str>,
    ) -> Result<Option<String>, DbError> {
        let payload = serde_json::to_string(self).expect("a job payload serialises");
        enqueue(conn, cfg, Self::NAME, &payload, dedupe_key, None)
    }
}

/// Which job is running, for work that must be idempotent across a second run (an email's
/// Message-ID is its job's id).
#[derive(Debug, Clone)]
pub struct JobMeta {
    pub id: String,
    pub attempt: i32,
}

/// Why a job did not succeed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text}")]
pub struct JobError {
    pub text: String,
    pub permanent: bool,
}

impl JobError {
    pub fn permanent(text: impl Into<String>) -> JobError {
        JobError {
            text: text.into(),
            permanent: true,
        }
    }
    pub fn temporary(text: impl Into<String>) -> JobError {
        JobError {
            text: text.into(),
            permanent: false,
        }
    }
}

/// Queues a job of `kind` to run at `run_at` (or now); see `BackgroundJob::enqueue`.
pub fn enqueue(
    conn: &mut DbConn,
    cfg: &JobsConfig,
    kind: &str,
    payload: &str,
    dedupe_key: Option<&str>,
    run_at: Option<NaiveDateTime>,
) -> Result<Option<String>, DbError> {
    let id = new_id();
    let t = now();
    let row = (
        jobs::id.eq(&id),
        jobs::kind.eq(kind),
        jobs::payload.eq(payload),
        jobs::dedupe_key.eq(dedupe_key),
        jobs::status.eq(JobStatus::Queued),
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

/// Claims up to `limit` due jobs of these kinds for `owner`, each leased for `lease`, each claim
/// counting an attempt. Due: queued with `run_at` reached, or running with an expired lease (the
/// runner that held it died; the job runs again, so a job must tolerate running twice).
pub fn claim(
    conn: &mut DbConn,
    owner: &str,
    lease: Duration,
    limit: usize,
    kinds: &[&str],
) -> Result<Vec<Job>, DbError> {
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let t = now();
    // Each pick is a seek on jobs_due_idx (status, run_at).
    let pick = |conn: &mut DbConn, due: Due, n: i64| {
        let q = jobs::table
            .select(jobs::id)
            .filter(jobs::kind.eq_any(kinds))
            .order(jobs::run_at)
            .limit(n);
        match due {
            Due::Abandoned => crate::locked_ids!(
                conn,
                q.filter(jobs::status.eq(JobStatus::Running))
                    .filter(jobs::lease_until.lt(t))
            ),
            Due::Ready => crate::locked_ids!(
                conn,
                q.filter(jobs::status.eq(JobStatus::Queued))
                    .filter(jobs::run_at.le(t))
            ),
        }
    };
    let take = |conn: &mut DbConn, ids: &[String]| {
        let mut rows: Vec<Job> = crate::take_rows!(
            conn,
            jobs,
            ids,
            JobStatus::Running,
            owner,
            t + lease,
            t,
            Job
        )?;
        rows.sort_by_key(|j| j.run_at);
        Ok(rows)
    };
    lease::claim(conn, limit, pick, take)
}

/// The job ran. False when it was no longer ours (the lease expired and another runner took it).
pub fn complete(conn: &mut DbConn, job: &Job, owner: &str) -> Result<bool, DbError> {
    let t = now();
    let n = diesel::update(crate::held_row!(jobs, &job.id, owner, JobStatus::Running))
        .set((
            jobs::status.eq(JobStatus::Done),
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
    error: &JobError,
    cfg: &JobsConfig,
) -> Result<Option<JobStatus>, DbError> {
    let t = now();
    let give_up = error.permanent || job.attempts >= job.max_attempts;
    let status = if give_up {
        JobStatus::Failed
    } else {
        JobStatus::Queued
    };
    let run_at = if give_up {
        job.run_at
    } else {
        t + super::backoff(
            cfg.backoff_base_secs,
            cfg.backoff_max_secs,
            job.attempts.max(1) as u32,
        )
    };
    let n = diesel::update(crate::held_row!(jobs, &job.id, owner, JobStatus::Running))
        .set((
            jobs::status.eq(status),
            jobs::run_at.eq(run_at),
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_until.eq(None::<NaiveDateTime>),
            jobs::last_error.eq(Some(truncate(&error.text, MAX_ERROR_CHARS))),
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

/// An admin puts a failed job back in the queue, to run now with a fresh set of attempts
/// (after fixing the mail server's settings, say). False when no failed job has this id.
pub fn retry(conn: &mut DbConn, id: &str) -> Result<bool, DbError> {
    let t = now();
    let n = diesel::update(
        jobs::table
            .filter(jobs::id.eq(id))
            .filter(jobs::status.eq(JobStatus::Failed)),
    )
    .set((
        jobs::status.eq(JobStatus::Queued),
        jobs::attempts.eq(0),
        jobs::run_at.eq(t),
        jobs::updated_at.eq(t),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Jobs by status (the statuses that have any), for /metrics and the admin page.
pub fn counts(conn: &mut DbConn) -> Result<Vec<(JobStatus, i64)>, DbError> {
    Ok(jobs::table
        .group_by(jobs::status)
        .select((jobs::status, diesel::dsl::count_star()))
        .order(jobs::status)
        .load(conn)?)
}

/// Queued jobs of each of these kinds (those nothing in this process runs).
pub fn queued_of(conn: &mut DbConn, kinds: &[&str]) -> Result<Vec<(String, i64)>, DbError> {
    Ok(jobs::table
        .filter(jobs::status.eq(JobStatus::Queued))
        .filter(jobs::kind.eq_any(kinds))
        .group_by(jobs::kind)
        .select((jobs::kind, diesel::dsl::count_star()))
        .load(conn)?)
}

/// The most recently changed jobs, newest first, for the admin page.
/// The job queued under `dedupe_key` (a referral's email: `referral:<id>`), if any.
pub fn by_key(conn: &mut DbConn, dedupe_key: &str) -> Result<Option<Job>, DbError> {
    Ok(jobs::table
        .filter(jobs::dedupe_key.eq(dedupe_key))
        .select(Job::as_select())
        .first(conn)
        .optional()?)
}

pub fn recent(conn: &mut DbConn, limit: i64) -> Result<Vec<Job>, DbError> {
    Ok(jobs::table
        .order((jobs::updated_at.desc(), jobs::id))
        .limit(limit)
        .select(Job::as_select())
        .load(conn)?)
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
    fn errors_are_cut_at_a_character() {
        assert_eq!(truncate("连接被拒绝", 2), "连接");
        assert_eq!(truncate("short", 10), "short");
    }
}
