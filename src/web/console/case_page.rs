//! The case page: facts, complaints, the worker conversation, the audit timeline,
//! deadlines, what may be done next, referrals and the reply box.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{render, CaseWorker, ConsoleError, Me};
use crate::accounts::users::{self, UserRole};
use crate::cases::actions;
use crate::cases::audit_trail;
use crate::cases::query as case_query;
use crate::cases::rules::{CaseState, PriorityFacts};
use crate::db::models::{CaseId, Department, Referral, ReferralUpdate};
use crate::db::{DbConn, DbError};
use crate::sms::channels::SIMULATOR;
use crate::text::{mask_phone, thousands};
use crate::web::case_view::case_json;
use crate::web::WebState;

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    ok: Option<String>,
    /// Back from asking to see the complainants' numbers (shown if that was audited just now).
    shown: Option<String>,
}

pub async fn page(
    state: web::Data<WebState>,
    me: CaseWorker,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let flash = q.ok.as_deref().map(|a| {
        let name = state.pages.t(&format!("action.{a}"));
        json!({ "ok": true, "text": state.pages.t("action.done").replace("{{name}}", &name) })
    });
    case_page(
        &state,
        &me,
        &path.into_inner(),
        flash,
        q.shown.is_some(),
        StatusCode::OK,
    )
    .await
}

/// Renders the case page; `reveal`: show complainants' full numbers if this user asked for
/// them within `IDENTITY_SHOWN_MINUTES` (audited then).
pub async fn case_page(
    state: &web::Data<WebState>,
    me: &CaseWorker,
    reference: &str,
    flash: Option<Value>,
    reveal: bool,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let st = state.clone();
    let reference = reference.to_string();
    let me2 = me.me().clone();
    let data = state
        .db
        .run(move |c| case_data(&st, c, &me2, &reference, reveal))
        .await?;
    let mut data = data;
    data["flash"] = flash.unwrap_or(Value::Null);
    data["nav"] = json!("queue");
    let mut resp = render(state, Some(me.me()), "case", data)?;
    *resp.status_mut() = status;
    Ok(resp)
}

fn case_data(
    state: &WebState,
    c: &mut DbConn,
    me: &Me,
    reference: &str,
    reveal: bool,
) -> Result<Value, ConsoleError> {
    let case = case_query::load(c, reference)?.ok_or(ConsoleError::NotFound)?;
    let reveal = reveal && crate::cases::identity_recently_viewed(c, &case.id, &me.actor())?;
    let project = match &case.project_id {
        Some(p) => crate::projects::get(c, p)?,
        None => None,
    };
    let rows = crate::cases::complaints_with_contacts(c, &case.id)?;
    let signal_rows = crate::cases::signals_with_contacts(c, &case.id)?;
    let months = rows
        .iter()
        .filter_map(|(k, _)| k.months)
        .chain(signal_rows.iter().filter_map(|(s, _)| s.months))
        .max()
        .unwrap_or(0);
    let signals: Vec<Value> = signal_rows
        .iter()
        .map(|(s, who)| {
            json!({
                "answered_at": state.config.local_minute(s.answered_at),
                "phone": if reveal { who.phone.clone() } else { mask_phone(&who.phone) },
                "paid": state.pages.t(&format!("case.signal_{}", s.paid)),
                "months": s.months,
                "amount": s.amount_yuan.map(thousands),
            })
        })
        .collect();
    let complaints: Vec<Value> = rows
        .iter()
        .map(|(k, who)| {
            json!({
                "created_at": state.config.local_minute(k.created_at),
                "employer": k.employer,
                "county": k.county,
                "workers": k.workers,
                "amount": thousands(k.amount_yuan),
                "months": k.months,
                "anonymous": k.anonymous,
                "language": k.language,
                "phone": if reveal { who.phone.clone() } else { mask_phone(&who.phone) },
                "representative": case.representative_id.as_deref() == Some(who.id.as_str()),
                "simulated": k.channel_id == SIMULATOR,
                "needs_callback": k.needs_callback,
                "id": k.id,
            })
        })
        .collect();
    let contact_ids: Vec<crate::db::models::ContactId> =
        rows.iter().map(|(_, who)| who.id.clone()).collect();
    let conversation = crate::sms::outbox::conversation_of(c, &contact_ids, 100)?;
    let multi = {
        let mut ids = contact_ids.clone();
        ids.sort();
        ids.dedup();
        ids.len() > 1
    };
    let conversation: Vec<Value> = conversation
        .iter()
        .map(|m| {
            json!({
                "incoming": m.direction == crate::db::models::Direction::In,
                "body": m.body,
                "at": state.config.local_minute(m.created_at),
                "status": m.status,
                "who": if multi { Some(mask_phone(&m.phone)) } else { None },
            })
        })
        .collect();
    let pauses = actions::pauses_of(c, &case.id)?;
    let paused = pauses.iter().any(|p| p.resumed_on.is_none());
    let names = users::display_names(c)?;
    let timeline: Vec<Value> = audit_trail(c, &case.id)?
        .into_iter()
        .rev()
        .map(|e| {
            let detail: Value = e
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or(Value::Null);
            json!({
                "at": state.config.local_minute(e.created_at),
                "actor": actor_name(state, &names, &e.actor),
                "action": e.action,
                "action_name": state.pages.t(&format!("action.{}", e.action)),
                "summary": summary(state, &detail),
            })
        })
        .collect();
    let code = project.as_ref().map(|p| p.code.clone());
    let mut v = case_json(state, &case, code.as_deref(), paused);
    let from = case.state;
    let facts = PriorityFacts {
        government_invested: project.as_ref().is_some_and(|p| p.government_invested),
        workers: case.workers.max(0) as u32,
        amount_yuan: case.amount_yuan.max(0) as u64,
        months: months.max(0) as u32,
    };
    let supervisor = matches!(me.role, UserRole::Admin | UserRole::Supervisor);
    let working = matches!(from, CaseState::Accepted | CaseState::Investigating);
    let can = json!({
        "accept": from.can_become(CaseState::Accepted),
        "refuse": from.can_become(CaseState::Refused),
        "investigate": from.can_become(CaseState::Investigating),
        "request_info": from.is_open() && !paused,
        "info_received": paused,
        "request_extension": working && case.extension_days == 0 && case.extension_requested_by.is_none(),
        "extend": supervisor && working && case.extension_days == 0,
        "record_mediation": from.is_open(),
        "resolve": from.can_become(CaseState::Resolved),
        "transfer": from.can_become(CaseState::Transferred),
        "close": from.can_become(CaseState::Closed),
        "assign": from.is_open(),
        "refer": from.is_open() || from == CaseState::Transferred,
    });
    let refs = referral_rows(state, c, &case.id)?;
    let depts = crate::cases::departments::active(c)?;
    let suggestions = crate::cases::referrals::suggest(c, state, &case)?;
    let open_depts: Vec<String> = refs
        .iter()
        .filter(|r| r["open"] == json!(true))
        .filter_map(|r| r["department"].as_str().map(str::to_string))
        .collect();
    let dept_options: Vec<Value> = depts
        .iter()
        .filter(|d| !open_depts.contains(&d.code))
        .map(|d| {
            let s = suggestions.iter().find(|s| s.department == d.code);
            json!({
                "code": d.code,
                "name": d.name_zh,
                "has_email": d.email.as_deref().is_some_and(|e| !e.is_empty()),
                "suggested": s.is_some(),
                "why": s.map(|s| s.reason.clone()),
            })
        })
        .collect();
    let inspectors = users::case_workers(c)?;
    v["title"] = json!(format!(
        "{} {}",
        state.pages.t("case.title"),
        case.reference
    ));
    v["state_name"] = json!(state.pages.t(&format!("state.{}", case.state)));
    v["amount"] = json!(thousands(case.amount_yuan));
    v["recovered"] = json!(case.recovered_yuan.map(thousands));
    v["project"] = json!(project.as_ref().map(|p| json!({ "code": p.code, "name": p.name_zh, "name_bo": p.name_bo, "government_invested": p.government_invested, "department": p.department })));
    v["criminal_hint"] = json!(state.config.cases.criminal_hint(&facts));
    v["months"] = json!((months > 0).then_some(months));
    v["finished_on"] = json!(case.finished_on);
    v["extension_requested_by"] = json!(case.extension_requested_by);
    v["complaints"] = Value::Array(complaints);
    v["signals"] = Value::Array(signals);
    v["early_warning"] = json!(case.source == crate::db::models::CaseSource::EarlyWarning);
    v["revealed"] = json!(reveal);
    v["conversation"] = Value::Array(conversation);
    v["timeline"] = Value::Array(timeline);
    v["ledger"] = ledger_view(state, &crate::ledger::verify_case(c, case.id.as_str())?);
    v["pauses"] = serde_json::to_value(&pauses).unwrap_or_default();
    v["can"] = can;
    v["referral_email_failed"] = json!(refs.iter().any(|r| r["email"]["failed"] == json!(true)));
    v["referrals"] = Value::Array(refs);
    v["departments"] = Value::Array(dept_options);
    v["inspectors"] = json!(inspectors);
    v["reply_max"] = json!(crate::text::gsm::MAX_REPLY_CHARS);
    Ok(v)
}

/// Whether the case's sealed record still matches its seals, in the bureau's words.
fn ledger_view(state: &WebState, r: &crate::ledger::CaseReport) -> Value {
    let t = |k: &str| state.pages.t(&format!("case.{k}"));
    let problems: Vec<Value> = r
        .problems
        .iter()
        .map(|p| {
            json!({
                "what": t(&format!("ledger_what_{}", p.what.replace('-', "_"))),
                "kind": t(&format!("ledger_kind_{}", p.kind)),
                "seq": p.seq,
            })
        })
        .collect();
    json!({
        "ok": r.ok(),
        "text": if r.ok() {
            t("ledger_intact").replace("{{n}}", &r.sealed.to_string())
        } else {
            t("ledger_altered")
        },
        "problems": problems,
    })
}

/// Who did it, as the bureau knows them: a user's name, a department, a worker, the system.
pub(super) fn actor_name(state: &WebState, names: &HashMap<String, String>, actor: &str) -> String {
    match actor.split_once(':') {
        Some(("user", u)) => names.get(u).cloned().unwrap_or_else(|| u.to_string()),
        Some(("department", d)) => format!("{d}（{}）", state.pages.t("actor.department")),
        Some(("token", t)) => format!("{t}（{}）", state.pages.t("actor.api")),
        Some(("worker", _)) | Some(("contact", _)) => state.pages.t("actor.worker"),
        _ => actor.to_string(),
    }
}

/// A line of the audit timeline: the reason, the destination, the amount… whatever the
/// event recorded, without identities.
fn summary(state: &WebState, d: &Value) -> String {
    let action = &d["action"];
    let mut parts = Vec::new();
    if let (Some(b), Some(a)) = (d["before"]["state"].as_str(), d["after"]["state"].as_str()) {
        if a != b {
            parts.push(format!(
                "{} → {}",
                state.pages.t(&format!("state.{b}")),
                state.pages.t(&format!("state.{a}"))
            ));
        }
    }
    for key in ["reason", "note", "to", "department", "text"] {
        if let Some(s) = action[key].as_str().or(d[key].as_str()) {
            parts.push(s.to_string());
        }
    }
    if let Some(n) = action["recovered_yuan"].as_u64() {
        parts.push(format!("¥{}", thousands(n as i64)));
    }
    parts.join(" · ")
}

/// The case's referrals with their department, history and clock.
pub fn referral_rows(
    state: &WebState,
    c: &mut DbConn,
    case_id: &CaseId,
) -> Result<Vec<Value>, DbError> {
    let rows = crate::cases::referrals::for_case_with_departments(c, case_id)?;
    let today = state.config.today();
    let mut out = Vec::new();
    for (r, d) in rows {
        let updates = crate::cases::referrals::updates(c, &r.id)?;
        let mut v = referral_json(state, &r, &d, &updates, today);
        add_email_state(state, c, &mut v, &r.id)?;
        out.push(v);
    }
    Ok(out)
}

/// Whether the referral's email really left: waiting in the queue, being sent, sent, or
/// failed with the server's reason. Not for a department's liaison (they have the email).
pub fn add_email_state(
    state: &WebState,
    c: &mut DbConn,
    v: &mut Value,
    referral_id: &str,
) -> Result<(), DbError> {
    use crate::db::models::JobStatus;
    let job = crate::work::jobs::by_key(c, &format!("referral:{referral_id}"))?;
    v["email"] = match job {
        Some(j) => json!({
            "state": j.status,
            "name": state.pages.t(&format!("referral.email_{}", j.status)),
            "failed": j.status == JobStatus::Failed,
            "sent": j.status == JobStatus::Done,
            "error": j.last_error,
            "attempts": j.attempts,
        }),
        None => Value::Null,
    };
    Ok(())
}

pub fn referral_json(
    state: &WebState,
    r: &Referral,
    d: &Department,
    updates: &[ReferralUpdate],
    today: NaiveDate,
) -> Value {
    json!({
        "id": r.id,
        "department": r.department,
        "department_name": d.name_zh,
        "status": r.status,
        "status_name": state.pages.t(&format!("referral.{}", r.status)),
        "reason": r.reason,
        "created_by": r.created_by,
        "sent_at": state.config.local_minute(r.created_at),
        "reminder_due": r.reminder_due,
        "reminders": r.reminders,
        "open": r.status != crate::db::models::ReferralStatus::Closed,
        "overdue": crate::cases::referrals::is_overdue(r, today),
        "updates": updates.iter().map(|u| json!({
            "kind": u.kind,
            "kind_name": state.pages.t(&format!("referral_kind.{}", u.kind)),
            "author": u.author,
            "body": u.body,
            "at": state.config.local_minute(u.created_at),
        })).collect::<Vec<_>>(),
    })
}

/// The case page again, with the reason an action was turned back.
pub async fn turned_back(
    state: &web::Data<WebState>,
    me: &CaseWorker,
    reference: &str,
    text: String,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let flash = json!({ "ok": false, "text": text });
    case_page(state, me, reference, Some(flash), false, status).await
}
