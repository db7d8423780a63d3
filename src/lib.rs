//! hotline: a worker-rights SMS hotline for a labour bureau.
//!
//! `AppState` holds what every part shares; `web::configure` mounts the routes, the same way
//! for the server and the tests; `server::run` serves until SIGTERM.

pub mod accounts;
pub mod alerts;
pub mod calendar;
pub mod cases;
pub mod config;
pub mod conversations;
pub mod db;
pub mod demo;
pub mod followups;
#[doc(hidden)]
pub mod fuzzing;
pub mod ledger;
pub mod mail;
pub mod metrics;
pub mod places;
pub mod projects;
pub mod reports;
pub mod secret;
pub mod server;
pub mod sms;
pub mod templates;
pub mod text;
pub mod time;
pub mod web;
pub mod work;

use std::sync::Arc;

use tokio::sync::Notify;

use crate::calendar::Calendar;
use crate::config::Config;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::sms::channels::Channels;
use crate::templates::Templates;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub channels: Arc<Channels>,
    pub templates: Arc<Templates>,
    /// Wakes one idle outbox dispatcher worker per message queued.
    pub outbox_wake: Arc<Notify>,
    pub metrics: Arc<Metrics>,
    /// Working days, for the legal clocks.
    pub calendar: Arc<Calendar>,
    /// Wakes the job runner when a job is queued.
    pub jobs_wake: Arc<Notify>,
    /// Signs acknowledgement links in referral emails (`console.secret_key`, or a key kept in
    /// the database).
    pub link_key: Arc<secret::Secret>,
    /// Now, for everything scheduled (tests move it forward).
    pub time: Arc<time::TimeSource>,
}

impl AppState {
    /// The job runner with every kind of background work registered: emails (when a mail
    /// server is configured; otherwise they wait in the queue) and, once a minute, referral
    /// reminders.
    pub fn job_runner(&self) -> work::Runner {
        let runner = work::Runner::new(
            self.db.clone(),
            self.config.jobs.clone(),
            self.jobs_wake.clone(),
        );
        let runner = match mail::Mailer::from_config(&self.config.smtp) {
            Ok(Some(mailer)) => runner.register::<mail::SendEmail>(Arc::new(mailer)),
            Ok(None) => runner.unavailable::<mail::SendEmail>("smtp.host is not set"),
            Err(e) => {
                tracing::error!(error = %e, "cannot set up SMTP: emails stay queued");
                runner.unavailable::<mail::SendEmail>(format!("SMTP: {e}"))
            }
        };
        let state = self.clone();
        let runner = runner.every(
            "referral reminders",
            std::time::Duration::from_secs(60),
            move || cases::referrals::remind(state.clone()),
        );
        let state = self.clone();
        let runner = runner.every(
            "queuing approved job notices",
            std::time::Duration::from_secs(2),
            move || alerts::send::queue_pending(state.clone()),
        );
        let db = self.db.clone();
        let runner = runner.every(
            "sealing the ledger",
            std::time::Duration::from_secs(ledger::EVERY_SECS),
            move || ledger::seal_periodic(db.clone()),
        );
        let state = self.clone();
        let every = std::time::Duration::from_secs(self.config.followups.every_secs as u64);
        runner.every("follow-ups", every, move || {
            followups::run::periodic(state.clone())
        })
    }

    /// Opens the database, applies migrations, loads templates and channels.
    pub fn new(config: Config) -> anyhow::Result<AppState> {
        let db = Db::connect(&config.database_url, config.database_pool_size)?;
        db.migrate()?;
        AppState::with_db(config, db)
    }

    /// As `new`, over a database that is already migrated.
    pub fn with_db(config: Config, db: Db) -> anyhow::Result<AppState> {
        let templates = Templates::load(config.templates_dir.as_deref(), &config.sender_name)?
            .with_sender_bo(&config.sender_name_bo);
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(16)
            .user_agent(concat!("hotline/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let channels = Channels::new(config.effective_channels(), &config.public_base_url(), http);
        let calendar = Calendar::load(config.calendar_dir.as_deref())?;
        if let Some(region) = &config.region {
            anyhow::ensure!(
                calendar.regions().contains(region),
                "configuration error: region: no calendar data for {region:?} (have: {})",
                calendar.regions().join(", ")
            );
        }
        let link_key = match &config.console.secret_key {
            Some(k) => k.clone(),
            None => secret::Secret::new(db::keys::get_or_create(
                &mut *db.get()?,
                "link_signing_key",
            )?),
        };
        Ok(AppState {
            config: Arc::new(config),
            db,
            channels: Arc::new(channels),
            templates: Arc::new(templates),
            outbox_wake: Arc::new(Notify::new()),
            metrics: Arc::new(Metrics::default()),
            calendar: Arc::new(calendar),
            jobs_wake: Arc::new(Notify::new()),
            link_key: Arc::new(link_key),
            time: Arc::new(time::TimeSource::default()),
        })
    }
}
