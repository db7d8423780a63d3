//! The durable job queue: background work (emails to departments) kept in the `jobs` table,
//! claimed with a lease, retried with backoff, deduplicated at enqueue. One queue for every
//! kind of job; the runner dispatches on `kind`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::config::JobsConfig;
use crate::db::schema::jobs;
use crate::db::{new_id, now, DbConn, DbError};

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
