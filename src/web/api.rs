//! JSON API under `/api/v1/`, for bearer tokens (`hotline token create --role …`). Errors are
//! JSON with a reason. A complainant's full number appears only on the audited
//! `/complainants` route, and never to a liaison.
//!
//! The OpenAPI document at `/api/v1/openapi.json` is generated from this code: each handler's
//! `#[utoipa::path]`, the bodies in `schema`, and the list of operations in `doc`.

mod doc;
mod followups;
pub mod notices;
mod placements;
pub mod schema;
mod workers;

use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::accounts::tokens::{self, Role};
use crate::cases::actions::{self, Action, ActionError};
use crate::cases::query::{self as case_query, CaseFilter, Order, States};
use crate::cases::rules::CaseState;
use crate::cases::{audit, audit_trail};
use crate::db::models::Case;
use crate::db::{DbConn, DbError};
use crate::text::mask_phone;
use crate::web::case_view::case_view;
use crate::web::WebState;

pub use doc::ApiDoc;
use schema::{
    ActionRequest, CaseDetail, CaseList, Complainant, ComplainantList, ComplaintContact,
    ComplaintView, ErrorBody, ImportProblem, ImportProblems, ImportReport, PauseView, ProjectList,
    ProjectView, ReferralView, TimelineEvent,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            // A malformed query string gets the same JSON error as everything else.
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| ApiError::BadRequest(e.to_string()).into()),
            )
            // So does a JSON body that is malformed, of another content type, or has a field
            // its schema does not (every body type denies unknown fields).
            .app_data(web::JsonConfig::default().error_handler(|e, _| {
                ApiError::BadRequest(format!("body: {}", json_error(&e))).into()
            }))
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
            .configure(notices::routes)
            .configure(placements::routes)
            .configure(followups::routes)
            .route("/workers", web::get().to(workers::list_workers))
            .route("/workers/import", web::post().to(workers::import_workers))
            .route("/workers/{phone}", web::get().to(workers::get_worker))
            .route("/workers/{phone}", web::put().to(workers::put_worker))
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
        resp.json(ErrorBody {
            error: self.to_string(),
        })
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

/// Why a JSON body was refused, as the caller can act on it: serde's reason names an unknown
/// field, a missing one or a wrong type, with where it is.
fn json_error(e: &actix_web::error::JsonPayloadError) -> String {
    use actix_web::error::JsonPayloadError as E;
    match e {
        E::ContentType => "send it as Content-Type: application/json".into(),
        E::Deserialize(e) => e.to_string(),
        e => e.to_string(),
    }
}

/// A JSON body read by its type, which denies unknown fields: a 400 naming what is wrong.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("body: {e}")))
}

/// The holder of a valid bearer token, of any role.
pub struct Caller {
    pub name: String,
    pub role: Role,
    /// A broker token's agency.
    pub agency: Option<String>,
    /// A liaison token's department.
    pub department: Option<String>,
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
                agency: token.agency,
                department: token.department,
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

/// Tokens that read cases: admin, inspector, liaison (never an officer or a broker).
pub struct CaseReaders;
impl TokenRoles for CaseReaders {
    const ALLOWED: &'static [Role] = Role::CASES;
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

/// This document, generated from the code (any role).
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "api",
    responses(
        (status = 200, description = "The OpenAPI document", body = Object),
        (status = 401, response = doc::Unauthorized),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])),
)]
async fn openapi(_caller: Caller) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc::json())
}

/// Filters and paging for the case list; all optional.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// Only cases in this state.
    #[param(value_type = Option<crate::db::models::CaseState>)]
    state: Option<String>,
    /// Only cases in this county, e.g. 城关区.
    #[param(example = "城关区")]
    county: Option<String>,
    /// Only cases of this priority (1 most urgent).
    #[param(minimum = 1, maximum = 4)]
    priority: Option<i32>,
    /// true: past the deadline that applies now (acceptance while received, completion while
    /// accepted or investigating); false: not past it.
    overdue: Option<bool>,
    /// Only cases on this project, by its code in the registry.
    project: Option<String>,
    /// The page, from 1 (default 1).
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<i64>,
    /// Cases per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<i64>,
}

/// List cases, most urgent first (admin, inspector, liaison).
///
/// The last page a listing may ask for (a million cases at 1 a page).
pub(crate) const MAX_PAGE: i64 = 1_000_000;

/// Ordered by priority, then by the deadline that applies now.
#[utoipa::path(
    get,
    path = "/cases",
    operation_id = "listCases",
    tag = "cases",
    params(CaseQuery),
    responses(
        (status = 200, description = "A page of cases", body = CaseList),
        (status = 400, description = "A filter is malformed or unknown", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Officers and brokers do not read cases", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])),
)]
async fn list_cases(
    state: web::Data<WebState>,
    caller: Token<CaseReaders>,
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
    // A page past any possible listing is refused rather than wrapping round to the first.
    if !(1..=MAX_PAGE).contains(&page) || !(1..=200).contains(&per_page) {
        return Err(ApiError::BadRequest(format!(
            "page is 1 to {MAX_PAGE}; per_page is 1 to 200"
        )));
    }
    if q.priority.is_some_and(|p| !(1..=4).contains(&p)) {
        return Err(ApiError::BadRequest(
            "priority is 1 (most urgent) to 4".into(),
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
        // A liaison sees the cases referred to their department, as in the console.
        referred_to: liaison_department(&caller)?,
    };
    let today = state.config.today();
    let actor = caller.actor();
    let found = state
        .db
        .run(move |c| case_query::list(c, today, &filter, Order::Priority, page, per_page, &actor))
        .await?;
    let items = found
        .items
        .iter()
        .map(|l| {
            let c = &l.case;
            // Without reading the pauses: a received case without an acceptance deadline.
            let paused =
                c.accept_due.is_none() && c.state == crate::db::models::CaseState::Received;
            case_view(&state, c, l.project_code.as_deref(), paused)
        })
        .collect();
    Ok(HttpResponse::Ok().json(CaseList {
        items,
        page,
        per_page,
        total: found.total,
    }))
}

/// The department a liaison token is limited to; None for the other roles.
fn liaison_department(caller: &Caller) -> Result<Option<String>, ApiError> {
    match caller.role {
        Role::Liaison => caller
            .department
            .clone()
            .map(Some)
            .ok_or_else(|| ApiError::Forbidden("this liaison token has no department".into())),
        _ => Ok(None),
    }
}

fn load_case(c: &mut DbConn, reference: &str) -> Result<Case, ApiError> {
    case_query::load(c, reference)?
        .ok_or_else(|| ApiError::NotFound(format!("no case {reference}")))
}

fn case_detail_of(
    state: &WebState,
    c: &mut DbConn,
    case: &Case,
    role: Role,
    department: Option<&str>,
) -> Result<CaseDetail, ApiError> {
    let rows = crate::cases::complaints_with_contacts(c, &case.id)?;
    let complaints = rows
        .iter()
        .map(|(k, who)| {
            // Masked for everyone here; a liaison sees no complainant at all, as in the console.
            let hidden = role == Role::Liaison;
            ComplaintView {
                id: k.id.clone(),
                created_at: k.created_at,
                employer: k.employer.clone(),
                county: k.county.clone(),
                workers: k.workers,
                amount_yuan: k.amount_yuan,
                months: k.months,
                anonymous: k.anonymous,
                language: k.language.to_string(),
                channel: k.channel_id.clone(),
                complainant: ComplaintContact {
                    contact_id: (!hidden).then(|| who.id.to_string()),
                    phone_masked: (!hidden).then(|| mask_phone(&who.phone)),
                },
                representative: case.representative_id.as_deref() == Some(who.id.as_str()),
            }
        })
        .collect();
    let pauses = actions::pauses_of(c, &case.id)?;
    let paused = pauses.iter().any(|p| p.resumed_on.is_none());
    // The bureau's own trail is not a department's business.
    let timeline = if role == Role::Liaison {
        Vec::new()
    } else {
        audit_trail(c, &case.id)?
            .into_iter()
            .map(TimelineEvent::from)
            .collect()
    };
    let code = case_query::project_code(c, case)?;
    let today = state.config.today();
    let mut referrals = Vec::new();
    for r in crate::cases::referrals::for_case(c, &case.id)? {
        if department.is_some_and(|d| d != r.department) {
            continue;
        }
        let updates = crate::cases::referrals::updates(c, &r.id)?
            .into_iter()
            .map(Into::into)
            .collect();
        let overdue = crate::cases::referrals::is_overdue(&r, today);
        referrals.push(ReferralView::new(r, overdue, updates));
    }
    Ok(CaseDetail {
        case: case_view(state, case, code.as_deref(), paused),
        complaints,
        pauses: pauses.into_iter().map(PauseView::from).collect(),
        timeline,
        referrals,
    })
}

/// A case with its complaints, pauses, audit timeline and referrals (admin, inspector, liaison).
///
/// Complainants' numbers are masked; for a liaison, an anonymous complainant is not shown at
/// all.
#[utoipa::path(
    get,
    path = "/cases/{reference}",
    operation_id = "getCase",
    tag = "cases",
    params(doc::Reference),
    responses(
        (status = 200, description = "The case", body = CaseDetail),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Officers and brokers do not read cases", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])),
)]
async fn case_detail(
    state: web::Data<WebState>,
    caller: Token<CaseReaders>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reference = path.into_inner();
    let department = liaison_department(&caller)?;
    let st = state.clone();
    let v = state
        .db
        .run(move |c| {
            let case = load_case(c, &reference)?;
            // A liaison: only a case referred to their department; any other is not there.
            if let Some(d) = &department {
                let referred = crate::cases::referrals::for_case(c, &case.id)?
                    .iter()
                    .any(|r| &r.department == d);
                if !referred {
                    return Err(ApiError::NotFound(format!("no case {reference}")));
                }
            }
            case_detail_of(&st, c, &case, caller.role, department.as_deref())
        })
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Complainants' full phone numbers (admin, inspector); each view is an audit event.
///
/// For the bureau to call them. The view appears in the case's timeline as `identity_viewed`.
#[utoipa::path(
    get,
    path = "/cases/{reference}/complainants",
    operation_id = "getComplainants",
    tag = "cases",
    params(doc::Reference),
    responses(
        (status = 200, description = "The complainants", body = ComplainantList),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "A liaison may not see identities", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])),
)]
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
    let complainants = people
        .into_iter()
        .map(|(k, who)| Complainant {
            contact_id: who.id.to_string(),
            phone: who.phone,
            anonymous: k.anonymous,
            language: who.language.to_string(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(ComplainantList {
        reference: case.reference,
        complainants,
    }))
}

/// Act on a case (admin, inspector; extend: admin). Complainants get an SMS notice of every state change.
///
/// Answers with the case after the action.
#[utoipa::path(
    post,
    path = "/cases/{reference}/actions",
    operation_id = "actOnCase",
    tag = "cases",
    params(doc::Reference),
    request_body = ActionRequest,
    responses(
        (status = 200, description = "The case after the action", body = CaseDetail),
        (status = 400, description = "The body is malformed or lacks a reason, or the action was already taken (a second extension, a second request for information)", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "The role may not do this: a liaison never; an inspector may not extend", body = ErrorBody),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 409, description = "The life cycle does not allow this action now", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])),
)]
async fn case_action(
    state: web::Data<WebState>,
    caller: Token<CaseWorkers>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let action: Action = json_body::<ActionRequest>(&body)?.into();
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
            case_detail_of(&st, c, &case, role, None)
        })
        .await?;
    state.outbox_wake.notify_one();
    Ok(HttpResponse::Ok().json(v))
}

/// Filters for the project registry; both optional.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProjectQuery {
    /// Only projects in this county.
    county: Option<String>,
    /// Only projects of this department in charge.
    department: Option<String>,
}

/// The project registry (any role).
#[utoipa::path(
    get,
    path = "/projects",
    operation_id = "listProjects",
    tag = "projects",
    params(ProjectQuery),
    responses(
        (status = 200, description = "Projects", body = ProjectList),
        (status = 400, description = "An unknown filter", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])),
)]
async fn list_projects(
    state: web::Data<WebState>,
    _caller: Caller,
    q: web::Query<ProjectQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let rows = state
        .db
        .run(move |c| crate::projects::all(c, q.county.as_deref(), q.department.as_deref()))
        .await?;
    Ok(HttpResponse::Ok().json(ProjectList {
        items: rows.into_iter().map(ProjectView::from).collect(),
    }))
}

/// One project by the code on its site notice board (any role).
///
/// The code is matched without regard to case.
#[utoipa::path(
    get,
    path = "/projects/{code}",
    operation_id = "getProject",
    tag = "projects",
    params(("code" = String, Path, description = "The project's code", example = "P2026-001")),
    responses(
        (status = 200, description = "The project", body = ProjectView),
        (status = 401, response = doc::Unauthorized),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])),
)]
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
        (_, Some(p)) => Ok(HttpResponse::Ok().json(ProjectView::from(p))),
        (code, None) => Err(ApiError::NotFound(format!("no project {code}"))),
    }
}

/// Add and update projects from the registry CSV (admin): the same columns as `hotline projects import`; if any row is bad nothing is written and every bad line is listed.
#[utoipa::path(
    post,
    path = "/projects/import",
    operation_id = "importProjects",
    tag = "projects",
    request_body(
        // No body is an empty file, which imports nothing (`doc::OPTIONAL_BODIES`).
        content = String,
        content_type = "text/csv",
        description = "The registry CSV, with a header row (Chinese or English column names). An empty file (or none), or a header alone, imports nothing.",
        example = "代码,名称,区县,主管部门,政府投资\nP2026-001,拉萨北环路改造工程,城关区,交通,是\n",
    ),
    responses(
        (status = 200, description = "Imported", body = ImportReport),
        (status = 400, description = "Bad rows, each listed; nothing written. A file that cannot be read at all gets an `Error` alone.", body = ImportProblems),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Only an admin imports", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])),
)]
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
                    let report = ImportReport::from(report);
                    let detail = serde_json::to_value(report).unwrap_or_default();
                    audit(
                        c,
                        None,
                        &actor,
                        "projects_imported",
                        Some(&detail.to_string()),
                    )?;
                    Ok(Ok(report))
                }
                Err(e) => import_failed(e),
            }
        })
        .await?;
    Ok(import_answer(result))
}

/// An import that did not go through: bad rows are the caller's answer (`Ok(Err)`), an
/// unreadable body a 400, storage a 503.
pub(crate) fn import_failed<T>(
    e: crate::projects::ImportError,
) -> Result<Result<T, Vec<crate::projects::Problem>>, ApiError> {
    match e {
        crate::projects::ImportError::Invalid(problems) => Ok(Err(problems)),
        crate::projects::ImportError::Read(e) => Err(ApiError::BadRequest(e.to_string())),
        crate::projects::ImportError::Db(e) => Err(e.into()),
    }
}

/// The answer to an all-or-nothing CSV import: its report, or 400 with every bad line.
pub(crate) fn import_answer(
    result: Result<ImportReport, Vec<crate::projects::Problem>>,
) -> HttpResponse {
    match result {
        Ok(report) => HttpResponse::Ok().json(report),
        Err(problems) => HttpResponse::BadRequest().json(ImportProblems {
            error: format!(
                "{} problem(s) in the file, nothing was imported",
                problems.len()
            ),
            problems: problems
                .into_iter()
                .map(|p| ImportProblem {
                    line: p.line,
                    message: p.message,
                })
                .collect(),
        }),
    }
}
