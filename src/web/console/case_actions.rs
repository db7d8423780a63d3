//! What an inspector does from the case page: an action on the case, a reply SMS to its
//! complainants, a referral to departments, a look at the complainants' full numbers. A
//! refusal shows the case page again with the reason (`case_page::turned_back`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::case_page::turned_back;
use super::guard::{Roles, Supervisors};
use super::{redirect, Button, CaseWorker, ConsoleError, Form};
use crate::cases::actions::{self, Action, ActionError};
use crate::cases::referrals::ReferralError;
use crate::web::WebState;

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    recovered_yuan: String,
}

fn parse_action(f: &ActionForm) -> Result<Action, String> {
    let amount = || {
        crate::text::parse_amount_yuan(f.recovered_yuan.trim())
            .or_else(|| f.recovered_yuan.trim().parse().ok())
            .ok_or_else(|| "recovered_yuan".to_string())
    };
    Ok(match f.action.as_str() {
        "accept" => Action::Accept,
        "refuse" => Action::Refuse {
            reason: f.reason.clone(),
        },
        "investigate" => Action::Investigate,
        "request_info" => Action::RequestInfo {
            reason: f.reason.clone(),
        },
        "info_received" => Action::InfoReceived,
        "request_extension" => Action::RequestExtension {
            reason: f.reason.clone(),
        },
        "extend" => Action::Extend,
        "record_mediation" => Action::RecordMediation {
            note: f.note.clone(),
            recovered_yuan: amount()?,
        },
        "resolve" => Action::Resolve {
            recovered_yuan: amount()?,
        },
        "transfer" => Action::Transfer { to: f.to.clone() },
        "close" => Action::Close,
        "assign" => Action::Assign { to: f.to.clone() },
        other => return Err(format!("action {other:?}")),
    })
}

pub async fn action(
    state: web::Data<WebState>,
    me: CaseWorker,
    path: web::Path<String>,
    form: Form<ActionForm>,
) -> Result<HttpResponse, ConsoleError> {
    let reference = path.into_inner();
    let act = parse_action(&form).map_err(ConsoleError::BadRequest)?;
    if act == Action::Extend {
        // The bureau head's approval.
        me.require(Supervisors::ALLOWED)?;
    }
    let st = state.clone();
    let actor = me.actor();
    let (r, a) = (reference.clone(), act.clone());
    let done = state
        .db
        .run(move |c| actions::apply(&st, c, &r, &actor, &a))
        .await;
    match done {
        Ok(_) => {
            state.outbox_wake.notify_one();
            Ok(redirect(&format!(
                "/console/cases/{reference}?ok={}",
                act.name()
            )))
        }
        Err(ActionError::NotFound(_)) => Err(ConsoleError::NotFound),
        Err(e @ (ActionError::NotAllowed { .. } | ActionError::Invalid(_))) => {
            turned_back(
                &state,
                &me,
                &reference,
                action_error_text(&state, &e),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(ActionError::Db(e)) => Err(e.into()),
        Err(ActionError::Template(e)) => {
            tracing::error!(error = %e, "notice not rendered");
            Err(ConsoleError::Unavailable)
        }
    }
}

fn action_error_text(state: &WebState, e: &ActionError) -> String {
    match e {
        ActionError::NotAllowed { from, action } => format!(
            "{}（{}）：{}",
            state.pages.t(&format!("action.{action}")),
            state.pages.t(&format!("state.{from}")),
            state.pages.t("error.not_allowed")
        ),
        other => format!("{}：{other}", state.pages.t("error.invalid")),
    }
}

#[derive(Debug, Deserialize)]
pub struct ReplyForm {
    text: String,
}

/// Sends the inspector's SMS to every complainant on the case, on the channel each wrote in.
pub async fn reply(
    state: web::Data<WebState>,
    me: CaseWorker,
    path: web::Path<String>,
    form: Form<ReplyForm>,
) -> Result<HttpResponse, ConsoleError> {
    let text = form.text.trim().to_string();
    let reference = path.into_inner();
    if text.is_empty() || text.chars().count() > crate::text::gsm::MAX_REPLY_CHARS {
        return turned_back(
            &state,
            &me,
            &reference,
            state.pages.t("error.reply_length"),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let cfg = state.config.outbox.clone();
    let actor = me.actor();
    let r = reference.clone();
    let sent = state
        .db
        .run(move |c| actions::reply(c, &cfg, &r, &actor, &text))
        .await?;
    if sent.is_none() {
        return Err(ConsoleError::NotFound);
    }
    state.outbox_wake.notify_one();
    Ok(redirect(&format!("/console/cases/{reference}?ok=reply")))
}

/// Refers the case to each chosen department (`department=发改&department=住建`: the form is
/// read as pairs, as a struct would keep only one).
pub async fn refer(
    state: web::Data<WebState>,
    me: CaseWorker,
    path: web::Path<String>,
    form: Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    let mut reason = String::new();
    let mut departments = vec![];
    for (k, v) in form.into_inner() {
        match k.as_str() {
            "reason" => reason = v,
            "department" => departments.push(v),
            _ => {}
        }
    }
    let reference = path.into_inner();
    if departments.is_empty() || reason.trim().is_empty() {
        return turned_back(
            &state,
            &me,
            &reference,
            state.pages.t("error.refer_incomplete"),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let st = state.clone();
    let actor = me.actor();
    let r = reference.clone();
    let result = state
        .db
        .run(move |c| {
            crate::db::transaction(c, |c| {
                for d in &departments {
                    crate::cases::referrals::create(&st, c, &r, d, reason.trim(), &actor)?;
                }
                Ok::<_, ReferralError>(())
            })
        })
        .await;
    match result {
        Ok(()) => {
            state.jobs_wake.notify_one();
            Ok(redirect(&format!("/console/cases/{reference}?ok=refer")))
        }
        Err(ReferralError::Db(e)) => Err(e.into()),
        Err(e) => {
            turned_back(
                &state,
                &me,
                &reference,
                referral_error_text(&state, &e),
                StatusCode::CONFLICT,
            )
            .await
        }
    }
}

/// Why a referral could not be made, in the console's language.
fn referral_error_text(state: &WebState, e: &ReferralError) -> String {
    use ReferralError as E;
    let (key, dept) = match e {
        E::NoEmail(d) => ("referral_error.no_email", d.as_str()),
        E::Inactive(d) => ("referral_error.inactive", d.as_str()),
        E::AlreadyOpen(d) => ("referral_error.already_open", d.as_str()),
        E::UnknownDepartment(d) => ("referral_error.unknown", d.as_str()),
        E::Closed => ("referral_error.closed", ""),
        other => return format!("{}：{other}", state.pages.t("error.invalid")),
    };
    state.pages.t(key).replace("{{department}}", dept)
}

/// Shows complainants' full numbers, for the inspector to call them; audited.
pub async fn identity(
    state: web::Data<WebState>,
    me: CaseWorker,
    path: web::Path<String>,
    _: Button,
) -> Result<HttpResponse, ConsoleError> {
    let reference = path.into_inner();
    let actor = me.actor();
    let r = reference.clone();
    let found = state
        .db
        .run(move |c| {
            crate::cases::complainants_shown(c, &r, &actor, "console").map(|found| found.is_some())
        })
        .await?;
    if !found {
        return Err(ConsoleError::NotFound);
    }
    // Back to a GET: a reload shows the page again instead of asking (and auditing) anew.
    Ok(redirect(&format!(
        "/console/cases/{reference}?shown=1#complaints"
    )))
}

#[derive(Debug, Deserialize)]
pub struct CallbackForm {
    complaint: String,
}

/// The worker whose SMS dialog stalled was called back and the complaint completed by phone.
pub async fn callback_done(
    state: web::Data<WebState>,
    me: CaseWorker,
    path: web::Path<String>,
    form: Form<CallbackForm>,
) -> Result<HttpResponse, ConsoleError> {
    let reference = path.into_inner();
    let (r, actor, complaint) = (reference.clone(), me.actor(), form.complaint.clone());
    let done = state
        .db
        .run(move |c| crate::cases::callback_done(c, &r, &complaint, &actor))
        .await?;
    if !done {
        return Err(ConsoleError::NotFound);
    }
    Ok(redirect(&format!("/console/cases/{reference}")))
}
