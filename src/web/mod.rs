//! HTTP routes. `configure` is shared by the server and the tests; handlers get a `WebState`:
//! the domain's `AppState` plus what only the web layer needs (console pages, login limits).

pub mod ack;
pub mod api;
mod case_view;
pub mod console;
mod gateway;
mod health;
pub mod utc;

use std::ops::Deref;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::AppState;

/// What the handlers share: the domain's state, and the console's pages and login limits.
#[derive(Clone)]
pub struct WebState {
    app: AppState,
    /// Console pages and UI strings, from the app's template registry.
    pub pages: console::pages::Pages,
    /// Console login attempts per account and per address.
    pub login_limits: Arc<console::LoginLimits>,
}

impl WebState {
    pub fn new(app: AppState) -> anyhow::Result<WebState> {
        Ok(WebState {
            pages: console::pages::Pages::new(app.templates.clone()),
            login_limits: Arc::new(console::LoginLimits::new(&app.config.console)),
            app,
        })
    }

    pub fn app(&self) -> &AppState {
        &self.app
    }

    /// Housekeeping, once a minute while serving: forgets login-limiter keys whose quota has
    /// refilled, so its maps stay small.
    pub async fn tidy(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = every.tick() => self.login_limits.retain_recent(),
                _ = shutdown.changed() => break,
            }
        }
    }
}

impl Deref for WebState {
    type Target = AppState;
    fn deref(&self) -> &AppState {
        &self.app
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    api::configure(cfg);
    // Before the console's scope, which would otherwise answer /console/ack/… itself.
    ack::configure(cfg);
    console::configure(cfg);
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .service(
            web::resource("/channels/{id}/receive")
                .route(web::get().to(gateway::receive))
                .route(web::post().to(gateway::receive)),
        )
        .service(
            web::resource("/channels/{id}/status")
                .route(web::get().to(gateway::status))
                .route(web::post().to(gateway::status)),
        );
}

/// A JSON error body with a reason a person can act on.
pub fn error(status: actix_web::http::StatusCode, reason: impl std::fmt::Display) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": reason.to_string() }))
}

/// Logs each request: method, path without the query string (gateways put secrets there) or
/// a signed link's token, status and duration.
pub async fn log_request(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().to_string();
    // An acknowledgement link's token is a department's credential: never logged.
    let path = match req.path() {
        p if p.starts_with("/console/ack/") => "/console/ack/***".to_string(),
        p => p.to_string(),
    };
    let res = next.call(req).await?;
    let status = res.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(%method, %path, status, ms, "request");
    } else {
        tracing::debug!(%method, %path, status, ms, "request");
    }
    Ok(res)
}
