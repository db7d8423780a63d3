//! The inspector console under `/console/`: server-rendered pages (handlebars templates in
//! `templates/console/`, UI strings in `templates/console/zh.toml`), a little JavaScript only
//! for the SMS segment counter. Who may call each handler is in its signature
//! (`guard::Authorized`), and every POST takes a CSRF-checked `guard::Form`.

mod admin;
pub mod auth;
mod case_actions;
mod case_page;
mod employment;
mod followups;
pub mod guard;
mod login;
mod notices;
pub mod pages;
mod queue;
mod referrals;
mod report;
mod simulator;
mod workers;

use crate::secret::Secret;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::{json, Value};

pub use auth::{LoginLimits, Me};
pub use guard::{Admin, Authorized, Button, CaseWorker, Form};

use crate::db::DbError;
use crate::web::WebState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut scope = web::scope("/console")
        .wrap(actix_web::middleware::from_fn(auth::resolve_session))
        .wrap(ErrorHandlers::new().default_handler(render_error))
        .route("", web::get().to(|| async { redirect("/console/") }))
        .route("/", web::get().to(queue::queue))
        .route("/login", web::get().to(login::form))
        // Before sign-in there is no session: the login form double-submits its token.
        .route("/login", web::post().to(login::submit))
        .route("/cases/{reference}", web::get().to(case_page::page))
        .route("/referrals", web::get().to(referrals::list))
        .route("/referrals/{id}", web::get().to(referrals::page))
        .route("/users", web::get().to(admin::users))
        .route("/departments", web::get().to(admin::departments))
        .route("/channels", web::get().to(admin::channels))
        .route("/simulator", web::get().to(simulator::page))
        .route("/reports", web::get().to(report::page))
        .route("/reports/{month}.csv", web::get().to(report::csv))
        .route("/reports/employment", web::get().to(employment::page))
        .route(
            "/reports/employment/{period}.csv",
            web::get().to(employment::csv),
        )
        .route("/notices", web::get().to(notices::list))
        .route("/notices/new", web::get().to(notices::new_form))
        .route("/notices/{code}", web::get().to(notices::page))
        .route("/notices/{code}/edit", web::get().to(notices::edit_form))
        .route("/workers", web::get().to(workers::list))
        .route("/workers.csv", web::get().to(workers::csv))
        .route("/workers/{id}", web::get().to(workers::page))
        .route("/placements", web::get().to(followups::list))
        .route("/subsidies", web::get().to(followups::subsidies_page))
        .route(
            "/subsidies/{month}.csv",
            web::get().to(followups::subsidies_csv),
        );
    for (path, route) in POSTS {
        scope = scope.route(path, route());
    }
    cfg.service(scope);
}

type MakeRoute = fn() -> actix_web::Route;

/// Every POST route of the console but the login form, whose handlers each take a
/// CSRF-checked `guard::Form`. The tests post to each of these without a token.
const POSTS: &[(&str, MakeRoute)] = &[
    ("/logout", || web::post().to(login::logout)),
    ("/cases/{reference}/action", || {
        web::post().to(case_actions::action)
    }),
    ("/cases/{reference}/reply", || {
        web::post().to(case_actions::reply)
    }),
    ("/cases/{reference}/refer", || {
        web::post().to(case_actions::refer)
    }),
    ("/cases/{reference}/identity", || {
        web::post().to(case_actions::identity)
    }),
    ("/cases/{reference}/callback", || {
        web::post().to(case_actions::callback_done)
    }),
    ("/referrals/{id}", || web::post().to(referrals::post)),
    ("/users", || web::post().to(admin::users_post)),
    ("/departments", || web::post().to(admin::departments_post)),
    ("/jobs/{id}/retry", || web::post().to(admin::retry_job)),
    ("/simulator", || web::post().to(simulator::send)),
    ("/notices", || web::post().to(notices::create)),
    ("/notices/{code}", || web::post().to(notices::update)),
    ("/notices/{code}/decide", || web::post().to(notices::decide)),
    ("/notices/{code}/cancel", || {
        web::post().to(notices::broker_cancel)
    }),
    ("/notices/{code}/submit", || {
        web::post().to(notices::broker_submit)
    }),
    // Before `/workers/{id}`, which would take "invite" for an id.
    ("/workers/invite", || web::post().to(workers::invite)),
    ("/workers/{id}", || web::post().to(workers::save)),
    ("/placements", || web::post().to(followups::create)),
    ("/subsidies/{id}", || web::post().to(followups::decide)),
];

/// The paths of the console's CSRF-checked POST routes, under `/console` (for the tests).
pub fn post_paths() -> Vec<String> {
    POSTS.iter().map(|(p, _)| format!("/console{p}")).collect()
}

/// What went wrong, as the console tells it.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Not signed in: to the login page, then back to this path.
    #[error("sign in first")]
    Login(String),
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("form expired")]
    Csrf,
    #[error("{0}")]
    BadRequest(String),
    #[error("too many attempts")]
    TooMany(u64),
    #[error("unavailable")]
    Unavailable,
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::Login(_) => StatusCode::SEE_OTHER,
            ConsoleError::Forbidden | ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
    fn error_response(&self) -> HttpResponse {
        match self {
            ConsoleError::Login(next) => {
                let next: String =
                    percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
                        .to_string();
                redirect(&format!("/console/login?next={next}"))
            }
            // The body is replaced by the error page (`render_error`).
            _ => {
                let mut r = HttpResponse::build(self.status_code());
                if let ConsoleError::TooMany(secs) = self {
                    r.insert_header((header::RETRY_AFTER, secs.to_string()));
                }
                r.content_type("text/plain; charset=utf-8")
                    .body(self.to_string())
            }
        }
    }
}

impl From<DbError> for ConsoleError {
    fn from(e: DbError) -> Self {
        tracing::error!(error = %e, "console storage error");
        ConsoleError::Unavailable
    }
}

impl From<diesel::result::Error> for ConsoleError {
    fn from(e: diesel::result::Error) -> Self {
        DbError::from(e).into()
    }
}

impl From<crate::templates::TemplateError> for ConsoleError {
    fn from(e: crate::templates::TemplateError) -> Self {
        tracing::error!(error = %e, "console page not rendered");
        ConsoleError::Unavailable
    }
}

pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// An HTML page, never cached (it holds personal data and a CSRF token). Scripts run only
/// with the page's nonce: injected markup could not run any.
pub fn html(body: String, nonce: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "same-origin"))
        .insert_header((
            "Content-Security-Policy",
            format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; \
                 img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
            ),
        ))
        .body(body)
}

/// A CSV file to download (the reports, the register, the subsidy lists), never cached.
pub fn csv_download(
    filename: &str,
    body: impl actix_web::body::MessageBody + 'static,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body)
}

/// Renders a page in the console layout for `me`, with the UI strings as `t`.
pub fn render(
    state: &WebState,
    me: Option<&Me>,
    name: &str,
    mut data: Value,
) -> Result<HttpResponse, ConsoleError> {
    data["me"] = me.map(me_json).unwrap_or(Value::Null);
    let nonce = auth::random_token();
    data["nonce"] = json!(nonce);
    Ok(html(state.pages.render(name, data)?, &nonce))
}

fn me_json(me: &Me) -> Value {
    json!({
        "username": me.user.username,
        "name": me.user.display_name,
        "role": me.role.as_str(),
        "department": me.user.department,
        "csrf": me.csrf,
        "works_cases": me.works_cases(),
        "sees_referrals": me.works_cases() || me.role == crate::accounts::users::UserRole::Liaison,
        "sees_notices": matches!(me.role, crate::accounts::users::UserRole::Admin | crate::accounts::users::UserRole::Officer | crate::accounts::users::UserRole::Broker),
        "runs_alerts": me.role.runs_alerts(),
        "is_admin": me.role == crate::accounts::users::UserRole::Admin,
        "is_supervisor": matches!(me.role, crate::accounts::users::UserRole::Admin | crate::accounts::users::UserRole::Supervisor),
    })
}

/// Replaces the body of a console error with the error page.
fn render_error<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let status = res.status();
    let is_page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_page {
        // A page that answers with an error status itself (a failed login, a refused action).
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let key = match res
        .response()
        .error()
        .and_then(|e| e.as_error::<ConsoleError>())
    {
        Some(ConsoleError::Forbidden) => "forbidden",
        Some(ConsoleError::NotFound) => "not_found",
        Some(ConsoleError::Csrf) => "csrf",
        Some(ConsoleError::TooMany(_)) => "too_many",
        Some(ConsoleError::BadRequest(_)) => "bad_request",
        Some(ConsoleError::Unavailable) => "unavailable",
        _ if status == StatusCode::NOT_FOUND => "not_found",
        _ if status.is_client_error() => "bad_request",
        _ => "unavailable",
    };
    let detail = match res
        .response()
        .error()
        .and_then(|e| e.as_error::<ConsoleError>())
    {
        Some(ConsoleError::BadRequest(m)) => Some(m.clone()),
        Some(ConsoleError::TooMany(s)) => Some(s.to_string()),
        _ => None,
    };
    let Some(state) = res.request().app_data::<web::Data<WebState>>().cloned() else {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    };
    let page = state.pages.render(
        "error",
        json!({ "me": null, "key": key, "detail": detail, "status": status.as_u16(), "title": state.pages.t("error.title"), "nav": "" }),
    );
    let Ok(page) = page else {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    };
    let (req, old) = res.into_parts();
    let mut new = HttpResponse::build(status);
    for (k, v) in old.headers() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            new.insert_header((k.clone(), v.clone()));
        }
    }
    let new = new
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page);
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body::<B>(),
    ))
}

/// The web console under `/console/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// A signed-in session ends after this many hours without a request.
    pub session_idle_hours: u32,
    /// And after this many hours in any case.
    pub session_max_hours: u32,
    /// Login attempts allowed per account per minute (a burst of this many, then one every
    /// 60/N seconds).
    pub login_attempts_per_account: u32,
    /// Login attempts allowed per client address per minute.
    pub login_attempts_per_address: u32,
    /// Take the client address from `X-Forwarded-For` (only behind a reverse proxy you run).
    pub trust_forwarded_for: bool,
    /// Key that signs acknowledgement links in referral emails. Unset: one is generated and
    /// kept in the database, shared by every process on it.
    pub secret_key: Option<Secret>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            session_idle_hours: 8,
            session_max_hours: 24,
            login_attempts_per_account: 5,
            login_attempts_per_address: 20,
            trust_forwarded_for: false,
            secret_key: None,
        }
    }
}
