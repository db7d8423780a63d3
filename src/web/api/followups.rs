//! What follow-ups show over the API: each broker's record (a broker sees their own agency's
//! only), the response rate of each step and language, and the subsidy claims with the
//! officer's decision.

use actix_web::{web, HttpResponse};
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::notices::{agency_of, OfficerRoles};
use super::placements::PlacementRoles;
use super::schema::ErrorBody;
use super::{doc, ApiError, Token};
use crate::db::DbError;
use crate::followups::stats::{self, Record, StepRate};
use crate::followups::subsidies::{self, DecideError};
use crate::followups::SubsidyKind;
use crate::web::WebState;

pub fn routes(scope: &mut web::ServiceConfig) {
    scope
        .route("/agencies/records", web::get().to(records))
        .route("/followups/rates", web::get().to(rates))
        .route("/subsidies", web::get().to(list_subsidies))
        .route("/subsidies/{id}/decision", web::post().to(decide));
}

/// Brokers' records.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordList {
    pub items: Vec<Record>,
}

/// Every agency's record as of today (a broker: their own): notices, placements, retention
/// at 3 and 6 months, pay answered "in full and on time", follow-up answer rate, and cases
/// (early warnings among them) against the employers it placed workers with.
#[utoipa::path(get, path = "/agencies/records", operation_id = "agencyRecords", tag = "placements",
    responses(
        (status = 200, description = "One record per agency", body = RecordList),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Inspectors and liaisons", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn records(
    state: web::Data<WebState>,
    caller: Token<PlacementRoles>,
) -> Result<HttpResponse, ApiError> {
    let agency = agency_of(&caller)?;
    let today = state.config.local(state.time.now()).date();
    let items = state
        .db
        .run(move |c| stats::records(c, agency.as_deref(), today))
        .await?;
    Ok(HttpResponse::Ok().json(RecordList { items }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RatesQuery {
    /// Follow-ups asked on or after this day (default: a year ago).
    since: Option<NaiveDate>,
}

/// Response rates.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateList {
    pub items: Vec<StepRate>,
}

/// Per schedule step and language: follow-ups asked, delivered, answered, and the median
/// minutes to the first answer (officer, admin).
#[utoipa::path(get, path = "/followups/rates", operation_id = "followupRates", tag = "placements",
    params(RatesQuery),
    responses(
        (status = 200, description = "One row per step and language", body = RateList),
        (status = 400, description = "`since` is not a date (YYYY-MM-DD), or an unknown parameter", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Officers and admins only", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn rates(
    state: web::Data<WebState>,
    _caller: Token<OfficerRoles>,
    q: web::Query<RatesQuery>,
) -> Result<HttpResponse, ApiError> {
    let since: NaiveDateTime = match q.since {
        Some(d) => d.and_hms_opt(0, 0, 0).unwrap_or_default(),
        None => state.time.now() - chrono::Duration::days(365),
    };
    let items = state
        .db
        .run(move |c| stats::response_rates(c, since))
        .await?;
    Ok(HttpResponse::Ok().json(RateList { items }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SubsidyQuery {
    /// `2027-06`; default this month.
    month: Option<String>,
    /// `job_seeking`, `placement` or `travel`; default all.
    kind: Option<String>,
}

/// A subsidy claim with its evidence.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimView {
    pub id: String,
    /// job_seeking (the worker), placement (the broker's agency), travel (the worker, work
    /// outside Tibet).
    pub kind: String,
    /// The worker's number.
    pub phone: String,
    pub agency: Option<String>,
    pub employer: String,
    pub start_on: NaiveDate,
    pub eligible_on: NaiveDate,
    /// eligible (waiting for the officer), approved or rejected.
    pub status: String,
    pub reason: Option<String>,
    pub evidence: Vec<EvidenceView>,
}

/// One follow-up of the placement: when it was answered, and what the worker said.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceView {
    pub step: String,
    #[serde(serialize_with = "crate::web::utc::option::serialize")]
    pub sent_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::web::utc::option::serialize")]
    pub answered_at: Option<NaiveDateTime>,
    /// 1 still working there, 2 changed job, 3 back home, 4 looking for work.
    pub working: Option<u32>,
    /// 1 paid in full and on time, 2 partly, 3 not at all.
    pub paid: Option<u32>,
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimList {
    pub items: Vec<ClaimView>,
}

/// The claims that became eligible in a month (officer, admin).
#[utoipa::path(get, path = "/subsidies", operation_id = "listSubsidies", tag = "placements",
    params(SubsidyQuery),
    responses(
        (status = 200, description = "The month's claims, oldest first", body = ClaimList),
        (status = 400, description = "A bad month or kind", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Officers and admins only", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn list_subsidies(
    state: web::Data<WebState>,
    _caller: Token<OfficerRoles>,
    q: web::Query<SubsidyQuery>,
) -> Result<HttpResponse, ApiError> {
    let today = state.config.local(state.time.now()).date();
    let first = match q.month.as_deref() {
        None | Some("") => today.with_day(1),
        Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok(),
    }
    .ok_or_else(|| ApiError::BadRequest("month is like 2027-06".into()))?;
    let until = first
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(|| ApiError::BadRequest("month out of range".into()))?;
    let kind = match q.kind.as_deref() {
        None | Some("") => None,
        Some(k) => Some(SubsidyKind::parse(k).ok_or_else(|| {
            ApiError::BadRequest("kind is job_seeking, placement or travel".into())
        })?),
    };
    let rows = state
        .db
        .run(move |c| subsidies::list(c, kind, first, until))
        .await?;
    let items = rows
        .into_iter()
        .map(|l| ClaimView {
            id: l.claim.id,
            kind: l.claim.kind.as_str().into(),
            phone: l.contact.phone,
            agency: l.placement.agency,
            employer: l.placement.employer,
            start_on: l.placement.start_on,
            eligible_on: l.claim.eligible_on,
            status: l.claim.status.as_str().into(),
            reason: l.claim.reason,
            evidence: l
                .evidence
                .into_iter()
                .map(|e| EvidenceView {
                    step: e.step,
                    sent_at: e.sent_at,
                    answered_at: e.answered_at,
                    working: e.working,
                    paid: e.paid,
                    status: e.status,
                })
                .collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(ClaimList { items }))
}

/// The officer's decision on a claim.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub approve: bool,
    /// Required to reject.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Approve a claim, or reject it with a reason (officer, admin); audited.
#[utoipa::path(post, path = "/subsidies/{id}/decision", operation_id = "decideSubsidy", tag = "placements",
    params(("id" = String, Path, description = "The claim's id")),
    request_body = Decision,
    responses(
        (status = 200, description = "Decided", body = ClaimStatusView),
        (status = 400, description = "The body is not a JSON `Decision`, or has a field it should not (named)", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Officers and admins only", body = ErrorBody),
        (status = 404, description = "No such claim", body = ErrorBody),
        (status = 409, description = "Already decided", body = ErrorBody),
        (status = 422, description = "A rejection without a reason", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn decide(
    state: web::Data<WebState>,
    caller: Token<OfficerRoles>,
    path: web::Path<String>,
    body: web::Json<Decision>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let d = body.into_inner();
    let actor = caller.actor();
    let now = state.time.now();
    let decided = state
        .db
        .run(move |c| {
            Ok::<_, DbError>(subsidies::decide(
                c,
                &id,
                d.approve,
                d.reason.as_deref(),
                &actor,
                now,
            ))
        })
        .await?;
    match decided {
        Ok(claim) => Ok(HttpResponse::Ok().json(ClaimStatusView {
            id: claim.id,
            status: claim.status.as_str().into(),
        })),
        Err(DecideError::NotFound) => Err(ApiError::NotFound("no such claim".into())),
        Err(DecideError::Decided(s)) => Err(ApiError::Conflict(format!("already {s}"))),
        Err(DecideError::ReasonNeeded) => Ok(HttpResponse::UnprocessableEntity().json(ErrorBody {
            error: "a rejection needs a reason".into(),
        })),
        Err(DecideError::Db(e)) => Err(e.into()),
    }
}

/// A claim's status after the decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimStatusView {
    pub id: String,
    pub status: String,
}
