//! hotline: a worker-rights SMS hotline for a labour bureau.
//!
//! `AppState` holds what every part shares; `web::configure` mounts the routes, the same way
//! for the server and the tests; `server::run` serves until SIGTERM.

pub mod calendar;
pub mod cases;
pub mod channels;
pub mod config;
pub mod conversations;
pub mod db;
pub mod demo;
pub mod email;
pub mod email_templates;
pub mod inbound;
pub mod jobs;
pub mod metrics;
pub mod outbox;
pub mod projects;
pub mod reports;
pub mod router;
pub mod secrets;
pub mod server;
pub mod templates;
pub mod text;
pub mod tokens;
pub mod users;
pub mod web;

use std::sync::Arc;

use tokio::sync::Notify;

use crate::calendar::Calendar;
use crate::channels::Channels;
use crate::config::Config;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::templates::Templates;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub channels: Arc<Channels>,
    pub templates: Arc<Templates>,
    /// Wakes one idle dispatcher worker per message queued.
    pub wake: Arc<Notify>,
    pub metrics: Arc<Metrics>,
    /// Working days, for the legal clocks.
    pub calendar: Arc<Calendar>,
    /// Wakes the job runner when a job is queued.
    pub jobs_wake: Arc<Notify>,
    /// Signs acknowledgement links in referral emails (`console.secret_key`, or a key kept in
    /// the database).
    pub link_key: Arc<config::Secret>,
    /// Console page templates and UI strings.
    pub pages: Arc<web::console::pages::Pages>,
    /// Console login attempts per account and per address.
    pub login_limits: Arc<web::console::LoginLimits>,
}

impl AppState {
    /// Opens the database, applies migrations, loads templates and channels.
    pub fn new(config: Config) -> anyhow::Result<AppState> {
        let db = Db::connect(&config.database_url, config.database_pool_size)?;
        db.migrate()?;
        AppState::with_db(config, db)
    }

    /// As `new`, over a database that is already migrated.
    pub fn with_db(config: Config, db: Db) -> anyhow::Result<AppState> {
        let templates = Templates::load(config.templates_dir.as_deref(), &config.sender_name)?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(16)
            .user_agent(concat!("hotline/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let channels = Channels::from_config(&config, http);
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
            None => {
                config::Secret::new(secrets::get_or_create(&mut *db.get()?, "link_signing_key")?)
            }
        };
        let login_limits = Arc::new(web::console::LoginLimits::new(&config.console));
        Ok(AppState {
            config: Arc::new(config),
            db,
            channels: Arc::new(channels),
            templates: Arc::new(templates),
            wake: Arc::new(Notify::new()),
            metrics: Arc::new(Metrics::default()),
            calendar: Arc::new(calendar),
            jobs_wake: Arc::new(Notify::new()),
            link_key: Arc::new(link_key),
            pages: Arc::new(web::console::pages::Pages::load()?),
            login_limits,
        })
    }
}
