//! Job notices over the API: brokers create, change, submit and follow their agency's
//! notices; officers (and admins) see all, with the checks and the preview, and approve,
//! return, reject or cancel. Every route refuses the roles it is not for.

use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::schema::ErrorBody;
use super::{doc, ApiError, Caller, Token, TokenRoles};
use crate::accounts::tokens::Role;
use crate::alerts::notices::{
    self, Check, FieldError, Notice, NoticeError, NoticeInput, Targeting,
};
use crate::alerts::send::{self, Preview, Results, Shared};
use crate::alerts::NoticeStatus;
use crate::db::DbConn;
use crate::web::WebState;

/// Tokens that see job notices: brokers (their agency's), officers and admins.
pub struct NoticeRoles;
impl TokenRoles for NoticeRoles {
    const ALLOWED: &'static [Role] = &[Role::Admin, Role::Officer, Role::Broker];
}

/// Tokens that decide on notices: officers and admins.
pub struct OfficerRoles;
impl TokenRoles for OfficerRoles {
    const ALLOWED: &'static [Role] = &[Role::Admin, Role::Officer];
}

/// Broker tokens.
pub struct BrokerRoles;
impl TokenRoles for BrokerRoles {
    const ALLOWED: &'static [Role] = &[Role::Broker];
}

pub fn routes(scope: &mut web::ServiceConfig) {
    scope
        .route("/notices", web::get().to(list))
        .route("/notices", web::post().to(create))
        .route("/notices/{code}", web::get().to(get))
        .route("/notices/{code}", web::put().to(update))
        .route("/notices/{code}/submit", web::post().to(submit))
        .route("/notices/{code}/approve", web::post().to(approve))
        .route("/notices/{code}/return", web::post().to(send_back))
        .route("/notices/{code}/reject", web::post().to(reject))
        .route("/notices/{code}/cancel", web::post().to(cancel))
        .route("/notices/{code}/results", web::get().to(results));
}

impl From<NoticeError> for ApiError {
    fn from(e: NoticeError) -> Self {
        match e {
            NoticeError::NotFound => ApiError::NotFound("no such notice".into()),
            NoticeError::WrongStatus(s) => {
                ApiError::Conflict(format!("not allowed while the notice is {s}"))
            }
            NoticeError::NoReason => ApiError::BadRequest("give a reason".into()),
            NoticeError::Db(e) => e.into(),
        }
    }
}

/// A job notice as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    /// Digits a worker types back (`YX 101`).
    pub code: String,
    pub agency: String,
    /// draft, submitted, returned, approved, rejected or cancelled.
    pub status: String,
    pub title: String,
    pub employer: String,
    pub county: Option<String>,
    pub place_outside: Option<String>,
    pub trade: String,
    pub workers_wanted: i32,
    /// Yuan.
    pub wage: String,
    /// day, month or piece.
    pub wage_unit: String,
    pub pay_terms: String,
    pub start_on: String,
    pub duration: String,
    /// both, board, lodging or none.
    pub board_lodging: String,
    pub contact_phone: String,
    pub project_code: Option<String>,
    pub valid_until: String,
    pub text_zh: String,
    pub text_bo: Option<String>,
    /// The whole Chinese SMS a worker gets (signature, reply and opt-out lines).
    pub sms_zh: Option<String>,
    pub sms_bo: Option<String>,
    pub targeting: Targeting,
    /// The officer's reason when returned or rejected.
    pub decision_reason: Option<String>,
    #[serde(serialize_with = "crate::web::utc::option::serialize")]
    pub decided_at: Option<NaiveDateTime>,
    /// UTC; none: at once (inside the send window).
    #[serde(serialize_with = "crate::web::utc::option::serialize")]
    pub send_at: Option<NaiveDateTime>,
    /// Every alert is queued.
    pub queued: bool,
    #[serde(serialize_with = "crate::web::utc::serialize")]
    pub created_at: NaiveDateTime,
    /// For officers and admins: what to look at before approving.
    pub checks: Option<Vec<Check>>,
    /// For officers and admins, while submitted: who it would reach and the cost.
    pub preview: Option<Preview>,
}

fn view(state: &WebState, n: &Notice) -> NoticeView {
    let texts = send::Texts::of(state, n).ok();
    NoticeView {
        code: n.code.clone(),
        agency: n.agency.clone(),
        status: n.status.as_str().into(),
        title: n.title.clone(),
        employer: n.employer.clone(),
        county: n.county.clone(),
        place_outside: n.place_outside.clone(),
        trade: n.trade.clone(),
        workers_wanted: n.workers_wanted,
        wage: n.wage_yuan(),
        wage_unit: n.wage_unit.as_str().into(),
        pay_terms: n.pay_terms.clone(),
        start_on: n.start_on.to_string(),
        duration: n.duration.clone(),
        board_lodging: n.board_lodging.as_str().into(),
        contact_phone: n.contact_phone.clone(),
        project_code: n.project_code.clone(),
        valid_until: n.valid_until.to_string(),
        text_zh: n.text_zh.clone(),
        text_bo: n.text_bo.clone(),
        sms_zh: texts.as_ref().map(|t| t.zh.clone()),
        sms_bo: texts.and_then(|t| t.bo),
        targeting: n.targeting(),
        decision_reason: n.decision_reason.clone(),
        decided_at: n.decided_at,
        send_at: n.send_at,
        queued: n.queued_at.is_some(),
        created_at: n.created_at,
        checks: None,
        preview: None,
    }
}

/// The agency a caller is limited to; None for officers and admins.
pub(super) fn agency_of(caller: &Caller) -> Result<Option<String>, ApiError> {
    match caller.role {
        Role::Broker => caller
            .agency
            .clone()
            .map(Some)
            .ok_or_else(|| ApiError::Forbidden("this broker token has no agency".into())),
        _ => Ok(None),
    }
}

fn load(c: &mut DbConn, code: &str, agency: Option<&str>) -> Result<Notice, ApiError> {
    match notices::by_code(c, code)? {
        Some(n) if agency.is_none_or(|a| a == n.agency) => Ok(n),
        // Another agency's notice: as if it did not exist.
        _ => Err(ApiError::NotFound("no such notice".into())),
    }
}

fn env(state: &WebState) -> notices::Env<'_> {
    notices::Env::of(state)
}

/// A notice's fields did not pass: each bad field with a code and detail; nothing saved.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblems {
    pub error: String,
    /// Absent when the body could not be read at all (not JSON, a field it should not have):
    /// then `error` says why.
    #[schema(required = false)]
    pub fields: Vec<FieldError>,
}

/// A notice as a broker sends it. Numbers may be JSON numbers or strings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeBody {
    #[serde(flatten)]
    pub fields: NoticeInput,
    /// Draft empty texts from the fields (`job_alert.hbs`), Tibetan too; else an empty
    /// Tibetan text means none.
    #[serde(default)]
    pub draft: bool,
}

fn validated(state: &WebState, body: NoticeBody) -> Result<notices::Valid, Box<HttpResponse>> {
    let e = env(state);
    let mut v = notices::validate(&e, &body.fields).map_err(|fields| {
        Box::new(HttpResponse::BadRequest().json(FieldProblems {
            error: "some fields are not right; nothing was saved".into(),
            fields,
        }))
    })?;
    if body.draft && v.text_bo.is_none() {
        v.text_bo = notices::draft(&e, &v, "bo").ok();
    }
    Ok(v)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NoticeQuery {
    /// Only notices in this status.
    status: Option<String>,
}

/// The notices list.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeList {
    pub items: Vec<NoticeView>,
}

/// Notices, newest first: a broker's agency's, or all for officers and admins.
#[utoipa::path(get, path = "/notices", operation_id = "listNotices", tag = "notices",
    params(NoticeQuery),
    responses(
        (status = 200, description = "Notices", body = NoticeList),
        (status = 400, description = "An unknown status", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Inspectors and liaisons do not see notices", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<WebState>,
    caller: Token<NoticeRoles>,
    q: web::Query<NoticeQuery>,
) -> Result<HttpResponse, ApiError> {
    let agency = agency_of(&caller)?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(
            NoticeStatus::parse(s).ok_or_else(|| ApiError::BadRequest(format!("status {s:?}")))?,
        ),
    };
    let st = state.clone();
    let items = state
        .db
        .run(move |c| -> Result<Vec<NoticeView>, ApiError> {
            Ok(notices::list(c, agency.as_deref(), status, 500)?
                .iter()
                .map(|n| view(&st, n))
                .collect())
        })
        .await?;
    Ok(HttpResponse::Ok().json(NoticeList { items }))
}

/// A broker's new notice (a draft; submit it for approval).
#[utoipa::path(post, path = "/notices", operation_id = "createNotice", tag = "notices",
    request_body = NoticeBody,
    responses(
        (status = 201, description = "Created as a draft", body = NoticeView),
        (status = 400, description = "Bad fields, each named; or a body that is not a JSON notice or has a field it should not (named in `error`); nothing saved", body = FieldProblems),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Only brokers post notices", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<WebState>,
    caller: Token<BrokerRoles>,
    body: web::Json<NoticeBody>,
) -> Result<HttpResponse, ApiError> {
    let agency = agency_of(&caller)?.unwrap_or_default();
    let v = match validated(&state, body.into_inner()) {
        Ok(v) => v,
        Err(resp) => return Ok(*resp),
    };
    let actor = caller.actor();
    let st = state.clone();
    let n = state
        .db
        .run(move |c| -> Result<NoticeView, ApiError> {
            Ok(view(&st, &notices::create(c, &v, &agency, &actor)?))
        })
        .await?;
    Ok(HttpResponse::Created().json(n))
}

/// One notice; officers also get the checks and, while it is submitted, the preview.
#[utoipa::path(get, path = "/notices/{code}", operation_id = "getNotice", tag = "notices",
    params(("code" = String, Path, description = "The notice's code")),
    responses(
        (status = 200, description = "The notice", body = NoticeView),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Inspectors and liaisons do not see notices", body = ErrorBody),
        (status = 404, description = "No such notice (or another agency's)", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<WebState>,
    caller: Token<NoticeRoles>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let agency = agency_of(&caller)?;
    let officer = caller.role != Role::Broker;
    let code = path.into_inner();
    let st = state.clone();
    let v = state
        .db
        .run(move |c| -> Result<NoticeView, ApiError> {
            let n = load(c, &code, agency.as_deref())?;
            let mut v = view(&st, &n);
            if officer {
                v.checks = Some(notices::checks(c, &st.config.alerts, &n)?);
                if n.status == NoticeStatus::Submitted {
                    v.preview = Some(send::preview(c, &st, &n)?);
                }
            }
            Ok(v)
        })
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Changes a draft or a returned notice (the broker's own).
#[utoipa::path(put, path = "/notices/{code}", operation_id = "updateNotice", tag = "notices",
    params(("code" = String, Path, description = "The notice's code")),
    request_body = NoticeBody,
    responses(
        (status = 200, description = "Changed", body = NoticeView),
        (status = 400, description = "Bad fields, each named; or a body that is not a JSON notice or has a field it should not (named in `error`); nothing saved", body = FieldProblems),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Only brokers change notices", body = ErrorBody),
        (status = 404, description = "No such notice (or another agency's)", body = ErrorBody),
        (status = 409, description = "Submitted or decided: no longer editable", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<WebState>,
    caller: Token<BrokerRoles>,
    path: web::Path<String>,
    body: web::Json<NoticeBody>,
) -> Result<HttpResponse, ApiError> {
    let agency = agency_of(&caller)?;
    let v = match validated(&state, body.into_inner()) {
        Ok(v) => v,
        Err(resp) => return Ok(*resp),
    };
    let code = path.into_inner();
    let actor = caller.actor();
    let st = state.clone();
    let n = state
        .db
        .run(move |c| -> Result<NoticeView, ApiError> {
            let n = load(c, &code, agency.as_deref())?;
            Ok(view(&st, &notices::update(c, &n.id, &v, &actor)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(n))
}

/// Asks for approval (the broker's own draft or returned notice).
#[utoipa::path(post, path = "/notices/{code}/submit", operation_id = "submitNotice", tag = "notices",
    params(("code" = String, Path, description = "The notice's code")),
    responses(
        (status = 200, description = "Submitted", body = NoticeView),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Only brokers submit", body = ErrorBody),
        (status = 404, description = "No such notice (or another agency's)", body = ErrorBody),
        (status = 409, description = "Not a draft or returned notice", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn submit(
    state: web::Data<WebState>,
    caller: Token<BrokerRoles>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    decision(state, &caller, path.into_inner(), |c, n, actor| {
        notices::submit(c, &n.id, actor)
    })
    .await
}

/// An officer's approval: who it goes to, and when.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ApproveBody {
    pub targeting: Targeting,
    /// UTC, e.g. `2026-12-02T01:00:00`; none: at once. Alerts go out only inside
    /// `alerts.send_window` either way.
    #[serde(default, deserialize_with = "crate::web::utc::option::deserialize")]
    pub send_at: Option<NaiveDateTime>,
}

/// Approves a submitted notice; its alerts are queued at once and go out inside the send
/// window.
#[utoipa::path(post, path = "/notices/{code}/approve", operation_id = "approveNotice", tag = "notices",
    params(("code" = String, Path, description = "The notice's code")),
    // No body approves with every default: `doc::OPTIONAL_BODIES` says so in the document.
    request_body(content = ApproveBody, description = "Who and when; no body: every default"),
    responses(
        (status = 200, description = "Approved", body = NoticeView),
        (status = 400, description = "The body is not a JSON `ApproveBody`, or has a field it should not (named); nothing decided", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Only officers and admins approve", body = ErrorBody),
        (status = 404, description = "No such notice", body = ErrorBody),
        (status = 409, description = "Not submitted", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn approve(
    state: web::Data<WebState>,
    caller: Token<OfficerRoles>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // No body: every default. A body is read as any other, so a bad one is refused rather
    // than approved with the defaults.
    let body: ApproveBody = if body.iter().all(u8::is_ascii_whitespace) {
        ApproveBody::default()
    } else {
        super::json_body(&body)?
    };
    let resp = decision(
        state.clone(),
        &caller,
        path.into_inner(),
        move |c, n, actor| notices::approve(c, &n.id, &body.targeting, body.send_at, actor),
    )
    .await;
    state.jobs_wake.notify_one();
    resp
}

/// A reason the broker sees.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

/// Sends a submitted notice back to the broker for changes.
#[utoipa::path(post, path = "/notices/{code}/return", operation_id = "returnNotice", tag = "notices",
    params(("code" = String, Path, description = "The notice's code")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "Returned to the broker", body = NoticeView),
        (status = 400, description = "No reason given, or the body is not a JSON `ReasonBody` or has a field it should not (named); nothing decided", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Only officers and admins", body = ErrorBody),
        (status = 404, description = "No such notice", body = ErrorBody),
        (status = 409, description = "Not submitted", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn send_back(
    state: web::Data<WebState>,
    caller: Token<OfficerRoles>,
    path: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    let reason = body.into_inner().reason;
    decision(state, &caller, path.into_inner(), move |c, n, actor| {
        notices::send_back(c, &n.id, &reason, actor)
    })
    .await
}

/// Refuses a submitted notice for good.
#[utoipa::path(post, path = "/notices/{code}/reject", operation_id = "rejectNotice", tag = "notices",
    params(("code" = String, Path, description = "The notice's code")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "Rejected", body = NoticeView),
        (status = 400, description = "No reason given, or the body is not a JSON `ReasonBody` or has a field it should not (named); nothing decided", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Only officers and admins", body = ErrorBody),
        (status = 404, description = "No such notice", body = ErrorBody),
        (status = 409, description = "Not submitted", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn reject(
    state: web::Data<WebState>,
    caller: Token<OfficerRoles>,
    path: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    let reason = body.into_inner().reason;
    decision(state, &caller, path.into_inner(), move |c, n, actor| {
        notices::reject(c, &n.id, &reason, actor)
    })
    .await
}

/// Cancels a notice (a broker their own, officers any): alerts not yet sent never go.
#[utoipa::path(post, path = "/notices/{code}/cancel", operation_id = "cancelNotice", tag = "notices",
    params(("code" = String, Path, description = "The notice's code")),
    responses(
        (status = 200, description = "Cancelled", body = NoticeView),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Inspectors and liaisons", body = ErrorBody),
        (status = 404, description = "No such notice (or another agency's)", body = ErrorBody),
        (status = 409, description = "Already rejected or cancelled", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn cancel(
    state: web::Data<WebState>,
    caller: Token<NoticeRoles>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    decision(state, &caller, path.into_inner(), |c, n, actor| {
        notices::cancel(c, &n.id, actor).map(|(n, _)| n)
    })
    .await
}

/// Applies `f` to the notice the caller may see, and answers with it.
async fn decision<F>(
    state: web::Data<WebState>,
    caller: &Caller,
    code: String,
    f: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(&mut DbConn, &Notice, &str) -> Result<Notice, NoticeError> + Send + 'static,
{
    let agency = agency_of(caller)?;
    let actor = caller.actor();
    let st = state.clone();
    let v = state
        .db
        .run(move |c| -> Result<NoticeView, ApiError> {
            let n = load(c, &code, agency.as_deref())?;
            Ok(view(&st, &f(c, &n, &actor)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// What came of a notice, and the workers who agreed to share their number.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeResults {
    pub results: Results,
    /// Only workers who said yes to their number going to the broker.
    pub shared: Vec<Shared>,
}

/// A notice's results: recipients, sent, delivered, failed, expired, cancelled, opted out
/// within 24 h, segments and cost, by language and county; interest and shared numbers.
#[utoipa::path(get, path = "/notices/{code}/results", operation_id = "noticeResults", tag = "notices",
    params(("code" = String, Path, description = "The notice's code")),
    responses(
        (status = 200, description = "Results", body = NoticeResults),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Inspectors and liaisons", body = ErrorBody),
        (status = 404, description = "No such notice (or another agency's)", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn results(
    state: web::Data<WebState>,
    caller: Token<NoticeRoles>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let agency = agency_of(&caller)?;
    let code = path.into_inner();
    let price = state.config.alerts.price_per_segment;
    let r = state
        .db
        .run(move |c| -> Result<NoticeResults, ApiError> {
            let n = load(c, &code, agency.as_deref())?;
            Ok(NoticeResults {
                results: send::results(c, price, &n.id)?,
                shared: send::shared_with_broker(c, &n.id)?,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(r))
}
