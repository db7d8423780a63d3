//! Outgoing email. An `Email` is rendered when it is queued and sent by the job runner, so a
//! mail server that is down delays it and loses nothing.

pub mod templates;

use crate::secret::Secret;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};
use serde::{Deserialize, Serialize};

use crate::db::{new_id, DbConn, DbError};
use crate::work::{BackgroundJob, JobError, JobMeta, JobsConfig};

/// One email, with a plain-text and an HTML part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Queues `email` for sending, inside the caller's transaction; a second email with the same
/// `dedupe_key` is not queued.
pub fn queue(
    conn: &mut DbConn,
    cfg: &JobsConfig,
    email: &Email,
    dedupe_key: Option<&str>,
) -> Result<Option<String>, DbError> {
    SendEmail(email.clone()).enqueue(conn, cfg, dedupe_key)
}

/// The background job that sends one email. Its payload is the email as rendered when queued.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SendEmail(pub Email);

impl BackgroundJob for SendEmail {
    const NAME: &'static str = "email";
    type Context = Arc<Mailer>;

    async fn run(self, mailer: Arc<Mailer>, meta: JobMeta) -> Result<(), JobError> {
        mailer
            .send_with_id(&self.0, &meta.id)
            .await
            .map_err(|e| JobError {
                permanent: e.is_permanent(),
                text: e.to_string(),
            })
    }
}

/// Sends email through the configured SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
    /// Kept to scrub it from error texts, which end up in `jobs.last_error` and the logs.
    password: Option<Secret>,
}

/// Why `Mailer::from_config` could not build a mailer.
#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("smtp.from: {0}")]
    From(#[from] lettre::address::AddressError),
    #[error("smtp: {0}")]
    Transport(#[from] lettre::transport::smtp::Error),
}

/// A failed send. Permanent: sending it again cannot help (a 5xx reply, an address that does
/// not parse); temporary: it may go through later (a 4xx reply, the server down or slow, TLS).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("{0}")]
    Permanent(String),
    #[error("{0}")]
    Temporary(String),
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }
}

impl Mailer {
    /// None when no `smtp.host` is configured: emails then wait in the queue.
    pub fn from_config(cfg: &SmtpConfig) -> Result<Option<Mailer>, MailerError> {
        let Some(host) = cfg.host.as_deref() else {
            return Ok(None);
        };
        let from: Mailbox = cfg.from.parse()?;
        let builder = match cfg.security {
            SmtpSecurity::None => SmtpTransport::builder_dangerous(host),
            SmtpSecurity::Starttls => SmtpTransport::starttls_relay(host)?,
            SmtpSecurity::Tls => SmtpTransport::relay(host)?,
        };
        let mut builder = builder
            .port(cfg.port)
            .timeout(Some(Duration::from_secs(cfg.timeout_secs)));
        if let (Some(user), Some(pass)) = (&cfg.username, &cfg.password) {
            builder = builder.credentials(Credentials::new(user.clone(), pass.expose().into()));
        }
        Ok(Some(Mailer {
            transport: builder.build(),
            from,
            password: cfg.password.clone(),
        }))
    }

    /// Sends `email` with a new Message-ID.
    pub async fn send(&self, email: &Email) -> Result<(), SendError> {
        self.send_with_id(email, &new_id()).await
    }

    /// Sends `email` with the Message-ID `<{id}@{domain of smtp.from}>`. The job runner passes
    /// the job's id, so a message sent twice (a runner that died after sending) carries the
    /// same Message-ID both times and mail clients show it once.
    pub async fn send_with_id(&self, email: &Email, id: &str) -> Result<(), SendError> {
        let msg = self.message(email, id)?;
        let transport = self.transport.clone();
        // lettre's SmtpTransport blocks; its timeout bounds each read and write.
        let sent = tokio::task::spawn_blocking(move || transport.send(&msg)).await;
        match sent {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                let text = self.scrub(&e.to_string());
                Err(if e.is_permanent() {
                    SendError::Permanent(text)
                } else {
                    SendError::Temporary(text)
                })
            }
            Err(e) => Err(SendError::Temporary(format!("send task failed: {e}"))),
        }
    }

    fn message(&self, email: &Email, id: &str) -> Result<Message, SendError> {
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(email.subject.clone())
            .message_id(Some(format!("<{id}@{}>", self.from.email.domain())));
        for to in &email.to {
            let mailbox: Mailbox = to
                .parse()
                .map_err(|e| SendError::Permanent(format!("recipient {to:?}: {e}")))?;
            b = b.to(mailbox);
        }
        b.multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))
    }

    /// A server may echo what it was sent; the password never reaches a log or the database.
    fn scrub(&self, text: &str) -> String {
        match &self.password {
            Some(p) if !p.expose().is_empty() => text.replace(p.expose(), "***"),
            _ => text.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on the same host or a trusted network only).
    None,
    /// STARTTLS upgrade, the usual on port 587.
    Starttls,
    /// TLS from the first byte, the usual on port 465.
    Tls,
}

/// Outgoing email: referrals to departments and their reminders.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// The mail server. Unset: emails wait in the job queue until one is configured.
    pub host: Option<String>,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The From address, e.g. `劳动保障监察大队 <jiancha@example.gov.cn>`.
    pub from: String,
    /// Timeout of one SMTP conversation.
    pub timeout_secs: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: None,
            port: 587,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
            from: "hotline@localhost".into(),
            timeout_secs: 30,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailer(security: SmtpSecurity) -> Mailer {
        let cfg = SmtpConfig {
            host: Some("mail.example.gov.cn".into()),
            security,
            username: Some("jiancha".into()),
            password: Some(Secret::new("pa55-word")),
            from: "劳动保障监察大队 <jiancha@example.gov.cn>".into(),
            ..Default::default()
        };
        Mailer::from_config(&cfg).unwrap().unwrap()
    }

    #[test]
    fn no_host_no_mailer() {
        assert!(Mailer::from_config(&SmtpConfig::default())
            .unwrap()
            .is_none());
    }

    #[test]
    fn every_security_mode_builds() {
        for s in [
            SmtpSecurity::None,
            SmtpSecurity::Starttls,
            SmtpSecurity::Tls,
        ] {
            mailer(s);
        }
    }

    #[test]
    fn a_bad_recipient_is_permanent() {
        let m = mailer(SmtpSecurity::None);
        let email = Email {
            to: vec!["not an address".into()],
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
        };
        let err = m.message(&email, "x").unwrap_err();
        assert!(err.is_permanent(), "{err}");
        let none = Email {
            to: vec![],
            ..email
        };
        assert!(m.message(&none, "x").unwrap_err().is_permanent());
    }

    #[test]
    fn the_password_is_scrubbed() {
        let m = mailer(SmtpSecurity::None);
        assert_eq!(
            m.scrub("535 5.7.8 bad credentials pa55-word"),
            "535 5.7.8 bad credentials ***"
        );
    }
}
