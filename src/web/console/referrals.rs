//! Referrals in the console: an inspector sees them all; a liaison sees only those sent to
//! their department, with the case summary and never a complainant's identity, and answers
//! them here as a department would through the emailed link.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::case_page::referral_json;
use super::{redirect, render, ConsoleError, Form, Me};
use crate::accounts::users::UserRole;
use crate::db::models::{Case, Department, Referral, ReferralUpdate};
use crate::db::DbConn;
use crate::text::thousands;
use crate::web::WebState;

/// The department a liaison is limited to; None for roles that see every referral.
fn scope(me: &Me) -> Result<Option<String>, ConsoleError> {
    match me.role {
        UserRole::Liaison => me
            .user
            .department
            .clone()
            .map(Some)
            .ok_or(ConsoleError::Forbidden),
        r if r.works_cases() => Ok(None),
        _ => Err(ConsoleError::Forbidden),
    }
}

pub async fn list(state: web::Data<WebState>, me: Me) -> Result<HttpResponse, ConsoleError> {
    let dept = scope(&me)?;
    let st = state.clone();
    let rows = state
        .db
        .run(move |c| -> Result<Vec<Value>, ConsoleError> {
            let found = crate::cases::referrals::listing(c, dept.as_deref(), 500)?;
            let today = st.config.today();
            let mut rows = Vec::with_capacity(found.len());
            for (r, d, k) in &found {
                let mut v = referral_json(&st, r, d, &[], today);
                if dept.is_none() {
                    super::case_page::add_email_state(&st, c, &mut v, &r.id)?;
                }
                v["reference"] = json!(k.reference);
                v["employer"] = json!(k.employer);
                v["county"] = json!(k.county);
                rows.push(v);
            }
            Ok(rows)
        })
        .await?;
    render(
        &state,
        Some(&me),
        "referrals",
        json!({ "title": state.pages.t("referral.title"), "nav": "referrals", "items": rows }),
    )
}

/// A referral the user may see, with its department, case and history.
fn load(
    c: &mut DbConn,
    id: &str,
    dept: Option<&str>,
) -> Result<(Referral, Department, Case, Vec<ReferralUpdate>), ConsoleError> {
    let (r, d, k) = crate::cases::referrals::with_case(c, id)?.ok_or(ConsoleError::NotFound)?;
    if dept.is_some_and(|d| d != r.department) {
        // Another department's referral: as if it did not exist.
        return Err(ConsoleError::NotFound);
    }
    let updates = crate::cases::referrals::updates(c, &r.id)?;
    Ok((r, d, k, updates))
}

/// Back from one of the page's forms: `?ok=ack|update|close` says it went through.
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    ok: Option<String>,
}

pub async fn page(
    state: web::Data<WebState>,
    me: Me,
    path: web::Path<String>,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let dept = scope(&me)?;
    let id = path.into_inner();
    let st = state.clone();
    let data = state
        .db
        .run(move |c| -> Result<Value, ConsoleError> {
            let (r, d, k, updates) = load(c, &id, dept.as_deref())?;
            let code = crate::cases::query::project_code(c, &k)?;
            let mut v = referral_json(&st, &r, &d, &updates, st.config.today());
            if dept.is_none() {
                super::case_page::add_email_state(&st, c, &mut v, &r.id)?;
            }
            // The case as a department sees it: no complainant, not even masked.
            v["case"] = json!({
                "reference": k.reference,
                "employer": k.employer,
                "project_code": code,
                "county": k.county,
                "workers": k.workers,
                "amount": thousands(k.amount_yuan),
                "received_on": k.received_on,
                "state_name": st.pages.t(&format!("state.{}", k.state)),
            });
            Ok(v)
        })
        .await?;
    let mut data = data;
    data["title"] = json!(state.pages.t("referral.title"));
    data["nav"] = json!("referrals");
    data["flash"] = match q.ok.as_deref() {
        Some(a @ ("ack" | "update" | "close")) => {
            json!({ "ok": true, "text": state.pages.t(&format!("referral.done_{a}")) })
        }
        _ => Value::Null,
    };
    render(&state, Some(&me), "referral", data)
}

#[derive(Debug, Deserialize)]
pub struct ReferralForm {
    action: String,
    #[serde(default)]
    body: String,
}

pub async fn post(
    state: web::Data<WebState>,
    me: Me,
    path: web::Path<String>,
    form: Form<ReferralForm>,
) -> Result<HttpResponse, ConsoleError> {
    let dept = scope(&me)?;
    let id = path.into_inner();
    let form = form.into_inner();
    let actor = me.actor();
    let liaison = me.role == UserRole::Liaison;
    let i = id.clone();
    let done = match form.action.as_str() {
        "ack" => "ack",
        "update" => "update",
        _ => "close",
    };
    state
        .db
        .run(move |c| -> Result<(), ConsoleError> {
            let (r, ..) = load(c, &i, dept.as_deref())?;
            let result = match form.action.as_str() {
                "ack" if liaison => {
                    crate::cases::referrals::acknowledge(c, &r.id, &actor).map(|_| ())
                }
                "update" if liaison => {
                    if form.body.trim().is_empty() {
                        return Err(ConsoleError::BadRequest(form.action.clone()));
                    }
                    crate::cases::referrals::post_update(c, &r.id, &actor, form.body.trim())
                        .map(|_| ())
                }
                "close" if !liaison => {
                    let note = Some(form.body.trim()).filter(|b| !b.is_empty());
                    crate::cases::referrals::close(c, &r.id, &actor, note).map(|_| ())
                }
                _ => return Err(ConsoleError::Forbidden),
            };
            result.map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
            Ok(())
        })
        .await?;
    Ok(redirect(&format!("/console/referrals/{id}?ok={done}")))
}
