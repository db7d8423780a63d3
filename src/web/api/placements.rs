//! Placements over the API: officers and admins list and record every placement; a broker
//! lists and records only their agency's (what they post is their agency's, whatever the body
//! says), and another agency's placement is, to them, not there. The checks are the console's
//! and the import's (`followups::placements::check`).

use std::collections::{BTreeMap, HashMap};

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::notices::agency_of;
use super::schema::ErrorBody;
use super::{doc, ApiError, Token, TokenRoles};
use crate::accounts::tokens::Role;
use crate::db::models::Contact;
use crate::db::{DbConn, DbError};
use crate::followups::placements::{self, Placement, PlacementInput, Rules};
use crate::followups::questions::Question;
use crate::followups::run::Followup;
use crate::followups::PlacementSource;
use crate::web::WebState;

/// Tokens that see placements: brokers (their agency's), officers and admins.
pub struct PlacementRoles;
impl TokenRoles for PlacementRoles {
    const ALLOWED: &'static [Role] = &[Role::Admin, Role::Officer, Role::Broker];
}

pub fn routes(scope: &mut web::ServiceConfig) {
    scope
        .route("/placements", web::get().to(list))
        .route("/placements", web::post().to(create))
        .route("/placements/{id}", web::get().to(get));
}

/// A placement: a worker placed with an employer from a start date, followed up by SMS at set
/// times after it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Placement)]
pub struct PlacementView {
    pub id: String,
    /// The worker's number, masked (`+86139****0001`).
    pub phone: String,
    pub employer: String,
    /// The project in the registry, by the code on its notice board.
    pub project_code: Option<String>,
    /// The job notice the worker was placed through.
    pub notice_code: Option<String>,
    /// The broker's agency.
    pub agency: Option<String>,
    /// One of the bureau's counties, for work in Tibet…
    pub county: Option<String>,
    /// …or where outside Tibet.
    pub place_outside: Option<String>,
    /// A trade code (`construction`).
    pub trade: Option<String>,
    pub start_on: NaiveDate,
    /// How it was recorded: console, api, import, or worker (they answered that they started).
    pub source: String,
    /// Who recorded it (`token:NAME`, `cli`, a console user).
    pub recorded_by: String,
    /// When a follow-up said the worker had left, and why: changed_job, back_home, looking.
    pub ended_on: Option<NaiveDate>,
    pub end_reason: Option<String>,
    #[serde(serialize_with = "crate::web::utc::serialize")]
    pub created_at: NaiveDateTime,
}

/// One follow-up of a placement: a step of its schedule.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowupView {
    /// The step's name in the schedule (`1m`, `3m`, `6m`), or `start` for "did you start?".
    pub step: String,
    /// When it is asked (UTC), or next inside the send window.
    #[serde(serialize_with = "crate::web::utc::serialize")]
    pub due_at: NaiveDateTime,
    /// scheduled, open (asked, answers awaited), done, unanswered or silenced.
    pub status: String,
    #[serde(serialize_with = "crate::web::utc::option::serialize")]
    pub sent_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::web::utc::option::serialize")]
    pub answered_at: Option<NaiveDateTime>,
    /// The digit answered to each question asked so far: working (1 yes, 2 changed job, 3 back
    /// home, 4 looking for work), paid (1 in full, 2 partly, 3 not at all), months, amount (1
    /// under 1,000 yuan … 4 over 20,000), file (1 yes, 2 no), started (1 yes, 2 no). Workers
    /// are told their answers stay confidential: null for a broker.
    #[schema(value_type = Option<Object>, example = json!({"working": 1, "paid": 2}))]
    pub answers: Option<BTreeMap<String, u32>>,
}

impl FollowupView {
    fn new(f: &Followup, answers_shown: bool) -> FollowupView {
        let a = f.answers();
        FollowupView {
            step: f.step.clone(),
            due_at: f.due_at,
            status: f.status.as_str().into(),
            sent_at: f.sent_at,
            answered_at: f.answered_at,
            answers: answers_shown.then(|| {
                Question::ALL
                    .into_iter()
                    .filter_map(|q| Some((q.as_str().to_string(), a.get(q)?)))
                    .collect()
            }),
        }
    }
}

/// A placement with its follow-ups, soonest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlacementDetail {
    #[serde(flatten)]
    pub placement: PlacementView,
    pub followups: Vec<FollowupView>,
}

/// The placements list, newest start first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlacementList {
    pub items: Vec<PlacementView>,
}

/// A field that did not pass the checks: the field and a code.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlacementFieldError {
    /// `phone`, `employer`, `project_code`, `notice_code`, `agency`, `county`,
    /// `place_outside`, `trade` or `start_on`; or the name of a field the body should not have.
    pub field: String,
    /// With a 422: required, bad_phone, too_long, unknown_project, unknown_notice,
    /// unknown_county, place_needed, county_or_outside, unknown_trade, bad_date, too_far (over
    /// 90 days ahead), too_old (over two years ago). With a 400: unknown_field, not_text.
    pub code: String,
}

/// The placement did not pass the checks; nothing was recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlacementProblems {
    pub error: String,
    /// Absent when the body is not JSON at all: then `error` says why.
    #[schema(required = false)]
    pub fields: Vec<PlacementFieldError>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlacementQuery {
    /// How many, newest start first: 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// Views of placements, with their project and notice codes looked up once each.
fn views(c: &mut DbConn, rows: &[(Placement, Contact)]) -> Result<Vec<PlacementView>, DbError> {
    let project_ids: Vec<&str> = rows
        .iter()
        .filter_map(|(p, _)| p.project_id.as_deref())
        .collect();
    let projects = crate::projects::codes_of(c, &project_ids)?;
    let mut notices: HashMap<String, Option<String>> = HashMap::new();
    for id in rows.iter().filter_map(|(p, _)| p.notice_id.as_ref()) {
        if !notices.contains_key(id) {
            let code = crate::alerts::notices::get(c, id)?.map(|n| n.code);
            notices.insert(id.clone(), code);
        }
    }
    Ok(rows
        .iter()
        .map(|(p, who)| PlacementView {
            id: p.id.clone(),
            phone: crate::text::mask_phone(&who.phone),
            employer: p.employer.clone(),
            project_code: p
                .project_id
                .as_ref()
                .and_then(|id| projects.get(id).cloned()),
            notice_code: p
                .notice_id
                .as_ref()
                .and_then(|id| notices.get(id).cloned().flatten()),
            agency: p.agency.clone(),
            county: p.county.clone(),
            place_outside: p.place_outside.clone(),
            trade: p.trade.clone(),
            start_on: p.start_on,
            source: p.source.as_str().into(),
            recorded_by: p.recorded_by.clone(),
            ended_on: p.ended_on,
            end_reason: p.end_reason.clone(),
            created_at: p.created_at,
        })
        .collect())
}

fn view(c: &mut DbConn, p: Placement, who: Contact) -> Result<PlacementView, DbError> {
    Ok(views(c, &[(p, who)])?.remove(0))
}

/// Placements, newest start first: a broker's agency's, or all for officers and admins.
#[utoipa::path(get, path = "/placements", operation_id = "listPlacements", tag = "placements",
    params(PlacementQuery),
    responses(
        (status = 200, description = "Placements, numbers masked", body = PlacementList),
        (status = 400, description = "A malformed or unknown parameter", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Inspectors and liaisons do not see placements", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<WebState>,
    caller: Token<PlacementRoles>,
    q: web::Query<PlacementQuery>,
) -> Result<HttpResponse, ApiError> {
    let agency = agency_of(&caller)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::BadRequest("limit is 1 to 500".into()));
    }
    let items = state
        .db
        .run(move |c| -> Result<_, DbError> {
            let rows = placements::list(c, agency.as_deref(), limit)?;
            views(c, &rows)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PlacementList { items }))
}

/// The fields a body may have: `PlacementInput`'s.
const FIELDS: [&str; 9] = [
    "phone",
    "employer",
    "project_code",
    "notice_code",
    "agency",
    "county",
    "place_outside",
    "trade",
    "start_on",
];

/// A body as the form's fields: each known field's text (a number written out, null as
/// absent); a field it should not have, or one that is not text, is an error.
fn input_of(body: &Value) -> Result<PlacementInput, Vec<PlacementFieldError>> {
    let error = |field: &str, code: &str| PlacementFieldError {
        field: field.into(),
        code: code.into(),
    };
    let Some(map) = body.as_object() else {
        return Err(vec![error("body", "not_text")]);
    };
    let mut text: HashMap<&str, String> = HashMap::new();
    let mut errors = Vec::new();
    for (k, v) in map {
        let Some(field) = FIELDS.iter().find(|f| **f == k.as_str()) else {
            errors.push(error(k, "unknown_field"));
            continue;
        };
        match v {
            Value::Null => {}
            Value::String(s) => {
                text.insert(field, s.clone());
            }
            Value::Number(n) => {
                text.insert(field, n.to_string());
            }
            _ => errors.push(error(field, "not_text")),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut take = |f: &str| text.remove(f);
    Ok(PlacementInput {
        phone: take("phone").unwrap_or_default(),
        employer: take("employer").unwrap_or_default(),
        project_code: take("project_code"),
        notice_code: take("notice_code"),
        agency: take("agency"),
        county: take("county"),
        place_outside: take("place_outside"),
        trade: take("trade"),
        start_on: take("start_on").unwrap_or_default(),
    })
}

fn unprocessable(fields: Vec<PlacementFieldError>) -> HttpResponse {
    problems(StatusCode::UNPROCESSABLE_ENTITY, fields)
}

fn problems(status: StatusCode, fields: Vec<PlacementFieldError>) -> HttpResponse {
    HttpResponse::build(status).json(PlacementProblems {
        error: format!(
            "{} field(s) did not pass the checks; nothing was recorded",
            fields.len()
        ),
        fields,
    })
}

/// A posted placement as recorded, and whether it is new; or the fields that did not pass.
type Posted = Result<(PlacementView, bool), Vec<PlacementFieldError>>;

/// Record a placement and schedule its follow-ups (officer, admin; a broker for their own
/// agency, which the placement then carries whatever the body says).
///
/// The same worker, employer and start date is the same placement: posting it again answers
/// 200 with the placement as first recorded.
#[utoipa::path(post, path = "/placements", operation_id = "createPlacement", tag = "placements",
    request_body = PlacementInput,
    responses(
        (status = 201, description = "Recorded, with its follow-ups scheduled", body = PlacementView),
        (status = 200, description = "Recorded before (same worker, employer and start date); nothing changed", body = PlacementView),
        (status = 400, description = "The body is not a JSON object, or has a field it should not (each named, code `unknown_field`) or one that is not text (`not_text`); nothing recorded", body = PlacementProblems),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Inspectors and liaisons do not record placements", body = ErrorBody),
        (status = 409, description = "A broker posted a placement another agency recorded", body = ErrorBody),
        (status = 422, description = "Fields that did not pass the checks, each with a code; nothing recorded", body = PlacementProblems),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<WebState>,
    caller: Token<PlacementRoles>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let agency = agency_of(&caller)?;
    let body: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    // A field the body should not have, or one that is not text, is a malformed body (400),
    // as on every route; the checks of the values are 422.
    let mut input = match input_of(&body) {
        Ok(i) => i,
        Err(fields) => return Ok(problems(StatusCode::BAD_REQUEST, fields)),
    };
    if agency.is_some() {
        input.agency = agency.clone();
    }
    let actor = caller.actor();
    let st = state.clone();
    let posted = state
        .db
        .run(move |c| -> Result<Posted, ApiError> {
            let now = st.time.now();
            let v = match placements::check(c, &Rules::at(&st, now), &input)? {
                Ok(v) => v,
                Err(errors) => {
                    return Ok(Err(errors
                        .into_iter()
                        .map(|e| PlacementFieldError {
                            field: e.field.into(),
                            code: e.code.into(),
                        })
                        .collect()))
                }
            };
            // A broker names only their agency's notices; another's is as if it did not exist.
            if let (Some(a), Some(id)) = (&agency, &v.notice_id) {
                let theirs = crate::alerts::notices::get(c, id)?.is_some_and(|n| &n.agency == a);
                if !theirs {
                    return Ok(Err(vec![PlacementFieldError {
                        field: "notice_code".into(),
                        code: "unknown_notice".into(),
                    }]));
                }
            }
            let r = crate::db::transaction(c, |c| {
                placements::record(
                    c,
                    &st.config.followups,
                    st.config.utc_offset_secs(),
                    &v,
                    PlacementSource::Api,
                    &actor,
                    now,
                )
            })?;
            if agency.is_some() && r.placement.agency != agency {
                return Err(ApiError::Conflict(
                    "this placement (worker, employer, start date) was recorded by another agency"
                        .into(),
                ));
            }
            let (p, who) = placements::get_with_contact(c, &r.placement.id)?
                .ok_or_else(|| ApiError::Unavailable("the placement was not recorded".into()))?;
            Ok(Ok((view(c, p, who)?, r.created)))
        })
        .await?;
    Ok(match posted {
        Err(fields) => unprocessable(fields),
        Ok((v, true)) => HttpResponse::Created().json(v),
        Ok((v, false)) => HttpResponse::Ok().json(v),
    })
}

/// One placement with its follow-ups (officer, admin; a broker, their agency's).
#[utoipa::path(get, path = "/placements/{id}", operation_id = "getPlacement", tag = "placements",
    params(("id" = String, Path, description = "The placement's id")),
    responses(
        (status = 200, description = "The placement and its follow-ups; a broker does not see the answers", body = PlacementDetail),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Inspectors and liaisons do not see placements", body = ErrorBody),
        (status = 404, description = "No such placement (or another agency's)", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<WebState>,
    caller: Token<PlacementRoles>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let agency = agency_of(&caller)?;
    let id = path.into_inner();
    let detail = state
        .db
        .run(move |c| -> Result<PlacementDetail, ApiError> {
            let (p, who) = match placements::get_with_contact(c, &id)? {
                Some((p, who)) if agency.is_none() || p.agency == agency => (p, who),
                // Another agency's placement: as if it did not exist.
                _ => return Err(ApiError::NotFound("no such placement".into())),
            };
            let followups = placements::followups_of(c, &p.id)?
                .iter()
                .map(|f| FollowupView::new(f, agency.is_none()))
                .collect();
            Ok(PlacementDetail {
                placement: view(c, p, who)?,
                followups,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(detail))
}
