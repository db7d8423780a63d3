//! The labour-force register over the API (admin and officer tokens; brokers, inspectors and
//! liaisons get 403): list and search, one worker by phone, create or update one, import the
//! register CSV. The checks are the import's (`alerts::register::check`).

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::schema::{
    ErrorBody, FieldErrors, ImportProblems, ImportReport, WorkerInput, WorkerList, WorkerSaved,
    WorkerView,
};
use super::{doc, ApiError, Token, TokenRoles};
use crate::accounts::tokens::Role;
use crate::alerts::register::{self, Filter, Saved, Search, COLUMNS};
use crate::alerts::Employment;
use crate::db::models::Language;
use crate::db::DbError;
use crate::web::WebState;

/// Tokens that keep the register: admin and officer.
pub struct Officers;
impl TokenRoles for Officers {
    const ALLOWED: &'static [Role] = &[Role::Admin, Role::Officer];
}

/// Filters and paging for the register; all optional.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkerQuery {
    /// Only workers of this county, e.g. 城关区.
    county: Option<String>,
    /// Only workers of this trade, by code (`construction`).
    trade: Option<String>,
    /// `seeking`, `working` or `not_seeking`.
    employment: Option<String>,
    /// `bo`, `zh` or `both` (the worker's chosen language).
    language: Option<String>,
    /// true: consenting to job alerts; false: not.
    consent: Option<bool>,
    /// A phone number (the search is an audit event) or part of a name.
    q: Option<String>,
    /// The page, from 1 (default 1).
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<i64>,
    /// Workers per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    per_page: Option<i64>,
}

/// The register, by county and name (admin, officer); numbers masked.
#[utoipa::path(
    get,
    path = "/workers",
    operation_id = "listWorkers",
    tag = "workers",
    params(WorkerQuery),
    responses(
        (status = 200, description = "A page of workers", body = WorkerList),
        (status = 400, description = "A filter is malformed or unknown", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Only admins and officers read the register", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])),
)]
pub async fn list_workers(
    state: web::Data<WebState>,
    caller: Token<Officers>,
    q: web::Query<WorkerQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let page = q.page.unwrap_or(1);
    let per_page = q.per_page.unwrap_or(50);
    // A page past any possible register is refused: its offset would overflow.
    if !(1..=super::MAX_PAGE).contains(&page) || !(1..=500).contains(&per_page) {
        return Err(ApiError::BadRequest(format!(
            "page is 1 to {}; per_page is 1 to 500",
            super::MAX_PAGE
        )));
    }
    let bad = |what: &str, v: &str| ApiError::BadRequest(format!("unknown {what} {v:?}"));
    let filter = Filter {
        county: q.county,
        trade: q.trade,
        employment: match q.employment.as_deref() {
            None => None,
            Some(e) => Some(Employment::parse(e).ok_or_else(|| bad("employment", e))?),
        },
        language: match q.language.as_deref() {
            None => None,
            Some(l) => Some(Language::parse(l).ok_or_else(|| bad("language", l))?),
        },
        consent: q.consent,
        search: Search::parse(
            q.q.as_deref().unwrap_or(""),
            &state.config.default_country_code,
        ),
    };
    let actor = caller.actor();
    let found = state
        .db
        .run(move |c| register::list(c, &filter, page, per_page, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(WorkerList {
        items: found
            .items
            .iter()
            .map(|l| WorkerView::new(l, true))
            .collect(),
        page,
        per_page,
        total: found.total,
    }))
}

fn phone_of(state: &WebState, raw: &str) -> Result<String, ApiError> {
    crate::text::normalize_phone(raw, &state.config.default_country_code)
        .map_err(|e| ApiError::BadRequest(format!("{raw:?} is not a phone number: {e}")))
}

/// One worker by phone number (admin, officer); the look-up is an audit event.
#[utoipa::path(
    get,
    path = "/workers/{phone}",
    operation_id = "getWorker",
    tag = "workers",
    params(("phone" = String, Path, description = "The worker's phone number, in any usual form", example = "13900000001")),
    responses(
        (status = 200, description = "The worker, with the whole number", body = WorkerView),
        (status = 400, description = "Not a phone number", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Only admins and officers read the register", body = ErrorBody),
        (status = 404, description = "Not on the register", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])),
)]
pub async fn get_worker(
    state: web::Data<WebState>,
    caller: Token<Officers>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let phone = phone_of(&state, &path.into_inner())?;
    let actor = caller.actor();
    let p = phone.clone();
    let found = state
        .db
        .run(move |c| -> Result<_, DbError> {
            let filter = Filter {
                search: Search::Phone(p),
                ..Filter::default()
            };
            // Audited as a search by number.
            Ok(register::list(c, &filter, 1, 1, &actor)?.items.pop())
        })
        .await?;
    match found {
        Some(l) => Ok(HttpResponse::Ok().json(WorkerView::new(&l, false))),
        None => Err(ApiError::NotFound(format!(
            "{phone} is not on the register"
        ))),
    }
}

/// The JSON body as the CSV row it stands for: each known field's text (trades' list joined,
/// the birth year's number and the consent's boolean written out, null as empty); unknown
/// fields, and values of another type, are errors.
fn values_of(body: &Value) -> Result<Vec<Option<String>>, BTreeMap<String, String>> {
    let Some(map) = body.as_object() else {
        return Err(BTreeMap::from([(
            "body".to_string(),
            "must be a JSON object".to_string(),
        )]));
    };
    let mut values: Vec<Option<String>> = vec![None; COLUMNS.len()];
    let mut errors = BTreeMap::new();
    for (k, v) in map {
        let column = COLUMNS
            .iter()
            .position(|c| c.en == k)
            .filter(|&i| i != register::PHONE);
        let Some(i) = column else {
            errors.insert(k.clone(), "unknown field".to_string());
            continue;
        };
        let text = match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            // A number is a year, a boolean a consent: elsewhere they are not text (a village
            // of `false` was stored as "no").
            Value::Number(n) if i == register::BIRTH_YEAR => n.to_string(),
            Value::Bool(b) if i == register::CONSENT => if *b { "yes" } else { "no" }.to_string(),
            // Only trades are a list, of texts. Before, any field took a list and stored its
            // items written out (`[null, 1]` as "null、1").
            Value::Array(a) if i == register::TRADES && a.iter().all(Value::is_string) => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("、"),
            Value::Array(_) if i == register::TRADES => {
                errors.insert(k.clone(), "must be a list of texts".to_string());
                continue;
            }
            Value::Number(_) | Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
                let what = match i {
                    register::BIRTH_YEAR => "must be a year",
                    register::CONSENT => "must be true or false",
                    _ => "must be text",
                };
                errors.insert(k.clone(), what.to_string());
                continue;
            }
        };
        values[i] = Some(text);
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// Create or update one worker (admin, officer), with the checks of an import; the change is
/// audited with the fields' before and after.
///
/// Consent is recorded only from `consent: true` with `consent_source`, and never removed here.
#[utoipa::path(
    put,
    path = "/workers/{phone}",
    operation_id = "putWorker",
    tag = "workers",
    params(("phone" = String, Path, description = "The worker's phone number, in any usual form", example = "13900000001")),
    request_body = WorkerInput,
    responses(
        (status = 200, description = "The worker as saved", body = WorkerSaved),
        (status = 400, description = "Fields that did not pass the checks, each with its reason; nothing written", body = FieldErrors),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Only admins and officers keep the register", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])),
)]
pub async fn put_worker(
    state: web::Data<WebState>,
    caller: Token<Officers>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let raw_phone = path.into_inner();
    let field_errors = |fields: BTreeMap<String, String>| {
        HttpResponse::BadRequest().json(FieldErrors {
            error: format!(
                "{} field(s) did not pass the checks, nothing was written",
                fields.len()
            ),
            fields,
        })
    };
    let body: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let mut values = match values_of(&body) {
        Ok(v) => v,
        Err(fields) => return Ok(field_errors(fields)),
    };
    values[register::PHONE] = Some(raw_phone);
    let v: [Option<&str>; 13] = std::array::from_fn(|i| values[i].as_deref());
    let row = match register::check(&state.config.register_rules(), &v) {
        Ok(row) => row,
        Err(problems) => {
            return Ok(field_errors(
                problems
                    .into_iter()
                    .map(|(c, m)| (COLUMNS[c].en.to_string(), m))
                    .collect(),
            ))
        }
    };
    let actor = caller.actor();
    let via = format!("api {actor}");
    let (saved, found) = state
        .db
        .run(move |c| -> Result<_, DbError> {
            let (saved, id) = crate::db::transaction(c, |c| register::save(c, &row, &actor, &via))?;
            Ok((saved, register::get_listed(c, &id)?))
        })
        .await?;
    let found = found.ok_or_else(|| ApiError::Unavailable("the worker was not saved".into()))?;
    Ok(HttpResponse::Ok().json(WorkerSaved {
        created: saved == Saved::Inserted,
        worker: WorkerView::new(&found, false),
    }))
}

/// Add and update workers from the register CSV (admin, officer): the columns of `hotline workers import`; if any row is bad nothing is written and every bad line is listed.
#[utoipa::path(
    post,
    path = "/workers/import",
    operation_id = "importWorkers",
    tag = "workers",
    request_body(
        // No body is an empty file, which imports nothing (`doc::OPTIONAL_BODIES`).
        content = String,
        content_type = "text/csv",
        description = "The register CSV, with a header row (Chinese or English column names); 电话/phone required. An empty file (or none), or a header alone, imports nothing.",
        example = "电话,姓名,县区,工种,就业状态\n13900000001,扎西,城关区,建筑、运输,求职\n",
    ),
    responses(
        (status = 200, description = "Imported", body = ImportReport),
        (status = 400, description = "Bad rows, each listed with its line and column; nothing written. A file that cannot be read at all gets an `Error` alone.", body = ImportProblems),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Only admins and officers import", body = ErrorBody),
        (status = 503, response = doc::Unavailable),
    ),
    security(("bearer" = [])),
)]
pub async fn import_workers(
    state: web::Data<WebState>,
    caller: Token<Officers>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let actor = caller.actor();
    let rules = state.config.register_rules();
    let result = state
        .db
        .run(move |c| -> Result<_, ApiError> {
            let file = format!("API upload ({actor})");
            match register::import_csv(c, &rules, &body[..], &file, &actor) {
                Ok(report) => Ok(Ok(ImportReport::from(report))),
                Err(e) => super::import_failed(e),
            }
        })
        .await?;
    Ok(super::import_answer(result))
}
