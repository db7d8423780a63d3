//! The labour-force register (officers and admins): the list with filters and an audited
//! search by phone, one worker's page (edit, consent proof, audit trail), the CSV export and
//! the one-time invitation. Brokers and inspectors get 403 on every page.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::guard::Officer;
use super::{redirect, render, Button, ConsoleError, Form};
use crate::alerts::register::{self, Filter, Listed, Search, COLUMNS};
use crate::alerts::Employment;
use crate::db::models::{ContactId, Language};
use crate::db::DbError;
use crate::text::mask_phone;
use crate::web::WebState;

const PER_PAGE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    county: String,
    #[serde(default)]
    trade: String,
    #[serde(default)]
    employment: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    consent: String,
    #[serde(default)]
    q: String,
    /// How many the invitation button just queued.
    invited: Option<i64>,
    page: Option<i64>,
}

impl ListQuery {
    fn filter(&self, country_code: &str) -> Result<Filter, ConsoleError> {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let bad = |what: &str, v: &str| ConsoleError::BadRequest(format!("{what} {v:?}"));
        Ok(Filter {
            county: some(&self.county),
            trade: some(&self.trade),
            employment: match self.employment.as_str() {
                "" => None,
                e => Some(Employment::parse(e).ok_or_else(|| bad("employment", e))?),
            },
            language: match self.language.as_str() {
                "" => None,
                l => Some(Language::parse(l).ok_or_else(|| bad("language", l))?),
            },
            consent: match self.consent.as_str() {
                "" => None,
                "1" => Some(true),
                "0" => Some(false),
                c => return Err(bad("consent", c)),
            },
            search: Search::parse(&self.q, country_code),
        })
    }
}

/// `/console/workers`: the register, 50 a page.
pub async fn list(
    state: web::Data<WebState>,
    me: Officer,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let filter = q.filter(&state.config.default_country_code)?;
    let page = q.page.unwrap_or(1).max(1);
    let actor = me.actor();
    let (found, counts) = state
        .db
        .run(move |c| -> Result<_, DbError> {
            let found = register::list(c, &filter, page, PER_PAGE, &actor)?;
            Ok((found, register::counts(c)?))
        })
        .await?;
    let items: Vec<Value> = found.items.iter().map(|l| row_json(&state, l)).collect();
    let pages = ((found.total + PER_PAGE - 1) / PER_PAGE).max(1);
    let counts_text = state
        .pages
        .t("workers.counts")
        .replace("{{workers}}", &counts.workers.to_string())
        .replace("{{seeking}}", &counts.seeking.to_string())
        .replace("{{consenting}}", &counts.consenting.to_string())
        .replace("{{to_invite}}", &counts.to_invite.to_string());
    render(
        &state,
        Some(&me),
        "workers",
        json!({
            "title": state.pages.t("workers.title"),
            "nav": "workers",
            "items": items,
            "total": found.total,
            "counts": counts,
            "page": page,
            "pages": pages,
            "prev": (page > 1).then(|| page - 1),
            "next": (page < pages).then(|| page + 1),
            "counties": counties(&state),
            "trades": trades(&state),
            "employments": employments(&state),
            "languages": languages(&state),
            "counts_text": counts_text,
            "total_text": state.pages.t("workers.total").replace("{{total}}", &found.total.to_string()),
            "invited_text": q.invited.map(|n| state.pages.t("workers.invited_now").replace("{{n}}", &n.to_string())),
        }),
    )
}

fn counties(state: &WebState) -> Vec<&str> {
    state
        .config
        .counties
        .iter()
        .map(|c| c.zh.as_str())
        .collect()
}

fn trades(state: &WebState) -> Vec<Value> {
    state
        .config
        .alerts
        .trades
        .iter()
        .map(|t| json!({ "code": t.code, "name": t.zh }))
        .collect()
}

fn employments(state: &WebState) -> Vec<Value> {
    Employment::ALL
        .iter()
        .map(|e| json!({ "value": e.as_str(), "name": state.pages.t(&format!("employment.{e}")) }))
        .collect()
}

fn languages(state: &WebState) -> Vec<Value> {
    Language::ALL
        .iter()
        .map(|l| json!({ "value": l.as_str(), "name": state.pages.t(&format!("language.{l}")) }))
        .collect()
}

/// A worker as the list and the page show them: the number masked.
fn row_json(state: &WebState, l: &Listed) -> Value {
    let w = &l.worker;
    json!({
        "id": w.contact_id,
        "phone": mask_phone(&l.contact.phone),
        "name": w.name,
        "county": w.county,
        "township": w.township,
        "village": w.village,
        "gender": w.gender,
        "gender_name": w.gender.as_deref().map(|g| state.pages.t(&format!("gender.{g}"))),
        "birth_year": w.birth_year,
        "trades": w.trade_codes(),
        "trades_name": register::trades_zh(&state.config.alerts.trades, &w.trade_codes()),
        "training": w.training,
        "employment": w.employment,
        "employment_name": state.pages.t(&format!("employment.{}", w.employment)),
        "language": l.contact.language_chosen.then_some(l.contact.language.as_str()),
        "language_name": l.contact.language_chosen
            .then(|| state.pages.t(&format!("language.{}", l.contact.language))),
        "opted_out": l.contact.opted_out,
        "consent": w.alerts_consent,
        "consent_at": w.consent_at.map(|t| state.config.local_minute(t)),
        "consent_source": w.consent_source,
        "invited_at": w.invited_at.map(|t| state.config.local_minute(t)),
        "created_at": state.config.local_minute(w.created_at),
        "updated_at": state.config.local_minute(w.updated_at),
    })
}

/// `/console/workers/{id}`: one worker, the edit form, the consent proof, the audit trail.
pub async fn page(
    state: web::Data<WebState>,
    me: Officer,
    path: web::Path<String>,
    q: web::Query<SavedQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let flash = q
        .saved
        .then(|| json!({ "ok": true, "texts": [state.pages.t("workers.saved")] }));
    worker_page(&state, &me, path.into_inner().into(), flash, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: bool,
}

async fn worker_page(
    state: &web::Data<WebState>,
    me: &Officer,
    id: ContactId,
    flash: Option<Value>,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let subject = register::subject(&id);
    let (found, trail, names) = state
        .db
        .run(move |c| -> Result<_, DbError> {
            let found = register::get_listed(c, &id)?;
            let trail = crate::cases::audit_of(c, &subject)?;
            let placed = match &found {
                Some(l) => {
                    let list = crate::followups::placements::of_worker(c, &id)?
                        .into_iter()
                        .map(|p| (p, l.contact.clone()))
                        .collect();
                    super::followups::with_steps(c, list)?
                }
                None => Vec::new(),
            };
            Ok((
                found,
                (trail, placed),
                crate::accounts::users::display_names(c)?,
            ))
        })
        .await?;
    let (trail, placed) = trail;
    let Some(found) = found else {
        return Err(ConsoleError::NotFound);
    };
    let timeline: Vec<Value> = trail
        .iter()
        .rev()
        .map(|e| {
            let detail: Value = e
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or(Value::Null);
            json!({
                "at": state.config.local_minute(e.created_at),
                "actor": super::case_page::actor_name(state, &names, &e.actor),
                "action_name": state.pages.t(&format!("action.{}", e.action)),
                "changes": changes(state, &detail),
            })
        })
        .collect();
    let worker = row_json(state, &found);
    let mut resp = render(
        state,
        Some(me),
        "worker",
        json!({
            "title": state.pages.t("workers.page_title").replace("{{phone}}", worker["phone"].as_str().unwrap_or_default()),
            "nav": "workers",
            "worker": worker,
            "timeline": timeline,
            "items": super::followups::placement_rows(state, &placed, false),
            "counties": counties(state),
            "trades": trades(state),
            "employments": employments(state),
            "languages": languages(state),
            "flash": flash,
        }),
    )?;
    *resp.status_mut() = status;
    Ok(resp)
}

/// An audit event's changed fields, as `field: before → after` lines.
fn changes(state: &WebState, detail: &Value) -> Vec<String> {
    let Some(map) = detail["changes"].as_object() else {
        return Vec::new();
    };
    map.iter()
        .map(|(field, c)| {
            // Stored codes as the page names them.
            let show = |v: &Value| match (field.as_str(), v) {
                (_, Value::Null) => state.pages.t("workers.empty"),
                ("trades", Value::String(s)) => {
                    register::trades_zh(&state.config.alerts.trades, &crate::alerts::split_codes(s))
                }
                ("gender" | "employment" | "language", Value::String(s)) => {
                    state.pages.t(&format!("{field}.{s}"))
                }
                (_, Value::String(s)) => s.clone(),
                (_, other) => other.to_string(),
            };
            state
                .pages
                .t("workers.change")
                .replace(
                    "{{field}}",
                    &state.pages.t(&format!("workers.field.{field}")),
                )
                .replace("{{before}}", &show(&c["before"]))
                .replace("{{after}}", &show(&c["after"]))
        })
        .collect()
}

/// Saves the edit form of `/console/workers/{id}`: the same checks as an import; every change
/// audited with its before and after.
pub async fn save(
    state: web::Data<WebState>,
    me: Officer,
    path: web::Path<String>,
    form: Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    let id: ContactId = path.into_inner().into();
    let pairs = form.into_inner();
    let field = |name: &str| -> String {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
            .join("、")
    };
    let values: Vec<Option<String>> = COLUMNS
        .iter()
        .map(|c| (c.en != "phone").then(|| field(c.en)))
        .collect();
    let rules = state.config.register_rules();
    let actor = me.actor();
    let key = id.clone();
    let outcome = state
        .db
        .run(
            move |c| -> Result<Option<Result<(), Vec<usize>>>, DbError> {
                let Some(found) = register::get_listed(c, &key)? else {
                    return Ok(None);
                };
                let mut v: [Option<&str>; 13] = std::array::from_fn(|i| values[i].as_deref());
                v[register::PHONE] = Some(found.contact.phone.as_str());
                match register::check(&rules, &v) {
                    Err(problems) => Ok(Some(Err(problems.into_iter().map(|(c, _)| c).collect()))),
                    Ok(row) => {
                        crate::db::transaction(c, |c| register::save(c, &row, &actor, "console"))?;
                        Ok(Some(Ok(())))
                    }
                }
            },
        )
        .await?;
    match outcome {
        None => Err(ConsoleError::NotFound),
        Some(Ok(())) => Ok(redirect(&format!("/console/workers/{id}?saved=true"))),
        Some(Err(columns)) => {
            let texts: Vec<String> = columns
                .iter()
                .map(|&c| {
                    let en = COLUMNS[c].en;
                    state
                        .pages
                        .t("workers.invalid_field")
                        .replace("{{field}}", &state.pages.t(&format!("workers.field.{en}")))
                        .replace(
                            "{{reason}}",
                            &state.pages.t(&format!("workers.invalid.{en}")),
                        )
                })
                .collect();
            let flash = json!({ "ok": false, "texts": texts });
            worker_page(&state, &me, id, Some(flash), StatusCode::BAD_REQUEST).await
        }
    }
}

/// The one-time invitation to every worker without consent, never invited, not opted out.
pub async fn invite(
    state: web::Data<WebState>,
    me: Officer,
    _: Button,
) -> Result<HttpResponse, ConsoleError> {
    let actor = me.actor();
    let app = (**state).clone();
    let n = state
        .db
        .run(move |c| {
            register::invite(&app, c, &actor).map_err(|e| {
                tracing::error!(error = %e, "invitations not queued");
                ConsoleError::Unavailable
            })
        })
        .await?;
    Ok(redirect(&format!("/console/workers?invited={n}")))
}

/// `/console/workers.csv`: the whole register, full numbers; audited.
pub async fn csv(state: web::Data<WebState>, me: Officer) -> Result<HttpResponse, ConsoleError> {
    let actor = me.actor();
    let trades = state.config.alerts.trades.clone();
    let bytes = state
        .db
        .run(move |c| -> Result<_, DbError> {
            let bytes = register::export_csv(c, &trades)?;
            crate::cases::audit_about(c, "workers", &actor, "workers_exported", None)?;
            Ok(bytes)
        })
        .await?;
    let file = format!("workers-{}.csv", state.config.today());
    Ok(super::csv_download(&file, bytes))
}
