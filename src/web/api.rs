//! JSON API under `/api/v1/`, for bearer tokens (`hotline token create --role …`). Errors are
//! JSON with a reason. A complainant's full number appears only on the audited
//! `/complainants` route, and never to a liaison.

use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::accounts::tokens::{self, Role};
use crate::cases::actions::{self, Action, ActionError};
use crate::cases::query::{self as case_query, CaseFilter, Order, States};
use crate::cases::rules::CaseState;
use crate::cases::{audit, audit_trail};
use crate::db::models::{Case, CasePause, Project};
use crate::db::{DbConn, DbError};
use crate::text::mask_phone;
use crate::web::case_view::case_json;
use crate::web::WebState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            // A malformed query string gets the same JSON error as everything else.
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| ApiError::BadRequest(e.to_string()).into()),
            )
            .route("/openapi.json", web::get().to(openapi))
            .route("/cases", web::get().to(list_cases))
            .route("/cases/{reference}", web::get().to(case_detail))
            .route(
                "/cases/{reference}/complainants",
                web::get().to(complainants),
            )
            .route("/cases/{reference}/actions", web::post().to(case_action))
            .route("/projects", web::get().to(list_projects))
            .route("/projects/import", web::post().to(import_projects))
            .route("/projects/{code}", web::get().to(project_detail))
            .default_service(web::to(|| async {
                ApiError::NotFound("no such API route".into()).error_response()
            })),
    );
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthorized(_)) {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        resp.json(json!({ "error": self.to_string() }))
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        tracing::error!(error = %e, "API storage error");
        ApiError::Unavailable("storage unavailable, try again".into())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        DbError::from(e).into()
    }
}

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::NotFound(_) => ApiError::NotFound(e.to_string()),
            ActionError::NotAllowed { .. } => ApiError::Conflict(e.to_string()),
            ActionError::Invalid(_) => ApiError::BadRequest(e.to_string()),
            ActionError::Db(e) => e.into(),
            ActionError::Template(e) => {
                tracing::error!(error = %e, "notice not rendered");
                ApiError::Unavailable("a notice to the worker could not be written".into())
            }
        }
    }
}

/// The holder of a valid bearer token, of any role.
pub struct Caller {
    pub name: String,
    pub role: Role,
}

impl Caller {
    pub fn actor(&self) -> String {
        format!("token:{}", self.name)
    }
    /// For a check that depends on what was sent (approving an extension); who may call a
    /// handler at all is in its signature (`Token`).
    fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "the {} role may not do this",
                self.role.as_str()
            )))
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<WebState>>().cloned();
        let secret = req
            .headers()
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(|s| s.trim().to_string());
        Box::pin(async move {
            let state = state.ok_or(ApiError::Unavailable("not configured".into()))?;
            let secret =
                secret.ok_or(ApiError::Unauthorized("send Authorization: Bearer <token>"))?;
            let found = state.db.run(move |c| tokens::verify(c, &secret)).await?;
            let (token, role) = found.ok_or(ApiError::Unauthorized("unknown or revoked token"))?;
            Ok(Caller {
                name: token.name,
                role,
            })
        })
    }
}

/// A set of token roles a handler admits.
pub trait TokenRoles {
    const ALLOWED: &'static [Role];
}

/// Tokens that work cases: admin and inspector.
pub struct CaseWorkers;
impl TokenRoles for CaseWorkers {
    const ALLOWED: &'static [Role] = &[Role::Admin, Role::Inspector];
}

/// Admin tokens.
pub struct Admins;
impl TokenRoles for Admins {
    const ALLOWED: &'static [Role] = &[Role::Admin];
}

/// A caller whose token's role is one of `R`'s; else 403 before the handler runs.
pub struct Token<R: TokenRoles> {
    caller: Caller,
    roles: PhantomData<R>,
}

impl<R: TokenRoles> Deref for Token<R> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<R: TokenRoles + 'static> FromRequest for Token<R> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        Box::pin(async move {
            let caller = caller.await?;
            caller.require(R::ALLOWED)?;
            Ok(Token {
                caller,
                roles: PhantomData,
            })
        })
    }
}

async fn openapi(_caller: Caller) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(include_str!("openapi.json"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    state: Option<String>,
    county: Option<String>,
    priority: Option<i32>,
    overdue: Option<bool>,
    project: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn list_cases(
    state: web::Data<WebState>,
    caller: Caller,
    q: web::Query<CaseQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    if let Some(s) = &q.state {
        if CaseState::parse(s).is_none() {
            return Err(ApiError::BadRequest(format!("unknown state {s:?}")));
        }
    }
    let page = q.page.unwrap_or(1);
    let per_page = q.per_page.unwrap_or(50);
    if page < 1 || !(1..=200).contains(&per_page) {
        return Err(ApiError::BadRequest(
            "page starts at 1; per_page is 1 to 200".into(),
        ));
    }
    let filter = CaseFilter {
        // Checked above.
        states: q
            .state
            .as_deref()
            .and_then(CaseState::parse)
            .map_or(States::Any, States::One),
        county: q.county,
        priority: q.priority,
        overdue: q.overdue,
        assigned_to: None,
        project: q.project,
        search: case_query::Search::None,
    };
    let today = state.config.today();
    let actor = caller.actor();
    let found = state
        .db
        .run(move |c| case_query::list(c, today, &filter, Order::Priority, page, per_page, &actor))
        .await?;
    let items: Vec<Value> = found
        .items
        .iter()
        .map(|l| {
            let c = &l.case;
            // Without reading the pauses: a received case without an acceptance deadline.
            let paused =
                c.accept_due.is_none() && c.state == crate::db::models::CaseState::Received;
            case_json(&state, c, l.project_code.as_deref(), paused)
        })
        .collect();
    let total = found.total;
    Ok(HttpResponse::Ok()
        .json(json!({ "items": items, "page": page, "per_page": per_page, "total": total })))
}

fn load_case(c: &mut DbConn, reference: &str) -> Result<Case, ApiError> {
    case_query::load(c, reference)?
        .ok_or_else(|| ApiError::NotFound(format!("no case {reference}")))
}

fn detail_json(
    state: &WebState,
    c: &mut DbConn,
    case: &Case,
    role: Role,
) -> Result<Value, ApiError> {
    let rows = crate::cases::complaints_with_contacts(c, &case.id)?;
    let complaints: Vec<Value> = rows
        .iter()
        .map(|(k, who)| {
            // Masked for everyone here; a liaison does not even see that much of an anonymous one.
            let phone = if k.anonymous && role == Role::Liaison { None } else { Some(mask_phone(&who.phone)) };
            json!({
                "id": k.id,
                "created_at": k.created_at,
                "employer": k.employer,
                "county": k.county,
                "workers": k.workers,
                "amount_yuan": k.amount_yuan,
                "months": k.months,
                "anonymous": k.anonymous,
                "language": k.language,
                "channel": k.channel_id,
                "complainant": { "contact_id": if role == Role::Liaison && k.anonymous { None } else { Some(&who.id) }, "phone_masked": phone },
                "representative": case.representative_id.as_deref() == Some(who.id.as_str()),
            })
        })
        .collect();
    let pauses: Vec<CasePause> = actions::pauses_of(c, &case.id)?;
    let timeline: Vec<Value> = audit_trail(c, &case.id)?
        .into_iter()
        .map(|e| {
            let detail = e.detail.as_deref().map(|d| {
                serde_json::from_str::<Value>(d).unwrap_or_else(|_| Value::String(d.to_string()))
            });
            json!({ "at": e.created_at, "actor": e.actor, "action": e.action, "detail": detail })
        })
        .collect();
    let paused = pauses.iter().any(|p| p.resumed_on.is_none());
    let code = case_query::project_code(c, case)?;
    let mut v = case_json(state, case, code.as_deref(), paused);
    v["complaints"] = Value::Array(complaints);
    v["pauses"] = serde_json::to_value(&pauses).unwrap_or_default();
    v["timeline"] = Value::Array(timeline);
    let today = state.config.today();
    let mut referrals = Vec::new();
    for r in crate::cases::referrals::for_case(c, &case.id)? {
        let updates: Vec<Value> = crate::cases::referrals::updates(c, &r.id)?
            .into_iter()
            .map(|u| json!({ "kind": u.kind, "author": u.author, "body": u.body, "at": u.created_at }))
            .collect();
        referrals.push(json!({
            "id": r.id,
            "department": r.department,
            "status": r.status,
            "reason": r.reason,
            "created_by": r.created_by,
            "created_at": r.created_at,
            "reminder_due": r.reminder_due,
            "reminders": r.reminders,
            "overdue": crate::cases::referrals::is_overdue(&r, today),
            "acknowledged_at": r.acknowledged_at,
            "answered_at": r.answered_at,
            "updates": updates,
        }));
    }
    v["referrals"] = Value::Array(referrals);
    Ok(v)
}

async fn case_detail(
    state: web::Data<WebState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reference = path.into_inner();
    let st = state.clone();
    let v = state
        .db
        .run(move |c| {
            let case = load_case(c, &reference)?;
            detail_json(&st, c, &case, caller.role)
        })
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Complainants' full numbers, for the bureau to call them. Every view is audited.
async fn complainants(
    state: web::Data<WebState>,
    caller: Token<CaseWorkers>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reference = path.into_inner();
    let actor = caller.actor();
    let r = reference.clone();
    let found = state
        .db
        .run(move |c| crate::cases::complainants_shown(c, &r, &actor, "api"))
        .await?;
    let (case, people) = found.ok_or_else(|| ApiError::NotFound(format!("no case {reference}")))?;
    let people: Vec<Value> = people
        .iter()
        .map(|(k, who)| json!({ "contact_id": who.id, "phone": who.phone, "anonymous": k.anonymous, "language": who.language }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "reference": case.reference, "complainants": people })))
}

async fn case_action(
    state: web::Data<WebState>,
    caller: Token<CaseWorkers>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let action: Action =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    if action == Action::Extend {
        // An extension needs the bureau head's approval.
        caller.require(Admins::ALLOWED)?;
    }
    let reference = path.into_inner();
    let actor = caller.actor();
    let role = caller.role;
    let st = state.clone();
    let v = state
        .db
        .run(move |c| {
            let case = actions::apply(&st, c, &reference, &actor, &action)?;
            detail_json(&st, c, &case, role)
        })
        .await?;
    state.outbox_wake.notify_one();
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectQuery {
    county: Option<String>,
    department: Option<String>,
}

async fn list_projects(
    state: web::Data<WebState>,
    _caller: Caller,
    q: web::Query<ProjectQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let rows: Vec<Project> = state
        .db
        .run(move |c| crate::projects::all(c, q.county.as_deref(), q.department.as_deref()))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": rows })))
}

async fn project_detail(
    state: web::Data<WebState>,
    _caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let p = state
        .db
        .run(move |c| crate::projects::get_by_code(c, &code).map(|p| (code, p)))
        .await?;
    match p {
        (_, Some(p)) => Ok(HttpResponse::Ok().json(p)),
        (code, None) => Err(ApiError::NotFound(format!("no project {code}"))),
    }
}

/// The same CSV as `hotline projects import`, as the request body (admin). All rows or none.
async fn import_projects(
    state: web::Data<WebState>,
    caller: Token<Admins>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.actor();
    let result = state
        .db
        .run(move |c| -> Result<_, ApiError> {
            match crate::projects::import_csv(c, &body[..]) {
                Ok(report) => {
                    let detail = json!({ "inserted": report.inserted, "updated": report.updated, "unchanged": report.unchanged });
                    audit(c, None, &actor, "projects_imported", Some(&detail.to_string()))?;
                    Ok(Ok(detail))
                }
                Err(crate::projects::ImportError::Invalid(problems)) => Ok(Err(problems)),
                Err(crate::projects::ImportError::Read(e)) => Err(ApiError::BadRequest(e.to_string())),
                Err(crate::projects::ImportError::Db(e)) => Err(e.into()),
            }
        })
        .await?;
    match result {
        Ok(report) => Ok(HttpResponse::Ok().json(report)),
        Err(problems) => Ok(HttpResponse::BadRequest().json(json!({
            "error": format!("{} problem(s) in the file, nothing was imported", problems.len()),
            "problems": problems.iter().map(|p| json!({ "line": p.line, "message": p.message })).collect::<Vec<_>>(),
        }))),
    }
}
