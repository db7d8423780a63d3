//! Outgoing email. An `Email` is rendered when it is queued and sent by the job runner, so a
//! mail server that is down delays it and loses nothing.

use serde::{Deserialize, Serialize};

use crate::config::JobsConfig;
use crate::db::{DbConn, DbError};

/// The job kind that sends one email.
pub const JOB_KIND: &str = "email";

/// One email, with a plain-text and an HTML part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Queues `email` for sending; a second email with the same `dedupe_key` is not queued.
pub fn queue(
    conn: &mut DbConn,
    cfg: &JobsConfig,
    email: &Email,
    dedupe_key: Option<&str>,
) -> Result<Option<String>, DbError> {
    let payload = serde_json::to_value(email).expect("an email serialises");
    crate::jobs::enqueue(conn, cfg, JOB_KIND, &payload, dedupe_key, None)
}
