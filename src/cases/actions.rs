//! What the bureau does to a case: accept (立案), refuse, investigate, ask the worker for
//! missing facts (the clock pauses), extend, resolve, transfer, close, assign. Each action
//! checks the life cycle, recomputes the legal deadlines, writes an audit event with the state
//! before and after, and tells the complainants in their language.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;

use super::rules::CaseState;
use super::{audit, Clock};
use crate::calendar::Pause;
use crate::db::models::{Case, CaseId, CasePause, PRIORITY_NOTICE};
use crate::db::schema::{case_pauses, cases};
use crate::db::{new_id, now, DbConn, DbError};
use crate::sms::outbox::{self, Draft};
use crate::templates::TemplateError;
use crate::AppState;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// 立案.
    Accept,
    Refuse {
        reason: String,
    },
    Investigate,
    /// Ask the worker for missing facts; the clock stops until `info_received`.
    RequestInfo {
        reason: String,
    },
    InfoReceived,
    /// An inspector asks for the extension; a supervisor grants it with `extend`.
    RequestExtension {
        reason: String,
    },
    /// +30 working days, once, with the bureau head's approval.
    Extend,
    /// A mediation session and what the employer has paid so far (the running total).
    RecordMediation {
        note: String,
        recovered_yuan: u64,
    },
    Resolve {
        recovered_yuan: u64,
    },
    /// To the police (涉嫌拒不支付劳动报酬罪) or another office.
    Transfer {
        to: String,
    },
    Close,
    Assign {
        to: String,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Refuse { .. } => "refuse",
            Action::Investigate => "investigate",
            Action::RequestInfo { .. } => "request_info",
            Action::InfoReceived => "info_received",
            Action::RequestExtension { .. } => "request_extension",
            Action::Extend => "extend",
            Action::RecordMediation { .. } => "record_mediation",
            Action::Resolve { .. } => "resolve",
            Action::Transfer { .. } => "transfer",
            Action::Close => "close",
            Action::Assign { .. } => "assign",
        }
    }

    /// The state this action moves the case to, if it moves it.
    fn target(&self) -> Option<CaseState> {
        match self {
            Action::Accept => Some(CaseState::Accepted),
            Action::Refuse { .. } => Some(CaseState::Refused),
            Action::Investigate => Some(CaseState::Investigating),
            Action::Resolve { .. } => Some(CaseState::Resolved),
            Action::Transfer { .. } => Some(CaseState::Transferred),
            Action::Close => Some(CaseState::Closed),
            Action::RequestInfo { .. }
            | Action::InfoReceived
            | Action::RequestExtension { .. }
            | Action::Extend
            | Action::RecordMediation { .. }
            | Action::Assign { .. } => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("no case {0}")]
    NotFound(String),
    #[error("a case that is {from} cannot be {action}")]
    NotAllowed { from: String, action: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Template(#[from] TemplateError),
}

impl From<diesel::result::Error> for ActionError {
    fn from(e: diesel::result::Error) -> Self {
        ActionError::Db(DbError::Query(e))
    }
}

pub fn pauses_of(conn: &mut DbConn, case_id: &CaseId) -> Result<Vec<CasePause>, DbError> {
    Ok(case_pauses::table
        .filter(case_pauses::case_id.eq(case_id))
        .order(case_pauses::paused_on)
        .select(CasePause::as_select())
        .load(conn)?)
}

/// The legal deadlines given the pauses: None while an open pause stops the clock (or when
/// the calendar has no data that far).
pub fn deadlines(
    case: &Case,
    pauses: &[CasePause],
    rules: &super::rules::CaseRules,
    clock: &Clock,
) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let p: Vec<Pause> = pauses
        .iter()
        .map(|p| Pause {
            from: p.paused_on,
            to: p.resumed_on,
        })
        .collect();
    let due = |start: NaiveDate, days: u32| match clock.calendar.deadline_estimate(
        start,
        days,
        &p,
        clock.region,
    ) {
        Ok(d) => d.map(|(d, _)| d),
        Err(e) => {
            tracing::error!(case = %case.reference, error = %e, "deadline not computed");
            None
        }
    };
    let accept = due(case.received_on, rules.accept_working_days);
    let finish = case.accepted_on.and_then(|d| {
        due(
            d,
            rules.finish_working_days + case.extension_days.max(0) as u32,
        )
    });
    (accept, finish)
}

/// Applies `action` to the case `reference` on behalf of `actor`. Runs in one transaction;
/// the notices to complainants are queued in it.
pub fn apply(
    state: &AppState,
    conn: &mut DbConn,
    reference: &str,
    actor: &str,
    action: &Action,
) -> Result<Case, ActionError> {
    crate::db::transaction(conn, |conn| {
        // Lock the row (PostgreSQL) so two inspectors acting at once see each other's change.
        diesel::update(cases::table.filter(cases::reference.eq(reference)))
            .set(cases::updated_at.eq(cases::updated_at))
            .execute(conn)?;
        let before: Case = cases::table
            .filter(cases::reference.eq(reference))
            .select(Case::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| ActionError::NotFound(reference.to_string()))?;
        let from = before.state;
        let refuse = || ActionError::NotAllowed {
            from: from.as_str().into(),
            action: action.name().into(),
        };
        if let Some(to) = action.target() {
            if !from.can_become(to) {
                return Err(refuse());
            }
        }
        let clock = Clock {
            calendar: &state.calendar,
            region: state.config.region.as_deref(),
            today: state.config.today(),
        };
        let today = clock.today;
        let t = now();
        let id = before.id.clone();
        let set_state = |conn: &mut DbConn, s: CaseState| {
            diesel::update(cases::table.find(&id))
                .set((cases::state.eq(s.as_str()), cases::updated_at.eq(t)))
                .execute(conn)
        };
        // Once, while the case is being worked (劳动保障监察条例 art. 17).
        let extendable = || {
            if !matches!(from, CaseState::Accepted | CaseState::Investigating) {
                return Err(refuse());
            }
            if before.extension_days > 0 {
                return Err(ActionError::Invalid(
                    "the case was extended already; the law allows one extension".into(),
                ));
            }
            Ok(())
        };
        let mut notice: Option<(&str, serde_json::Value)> = None;
        match action {
            Action::Accept => {
                set_state(conn, CaseState::Accepted)?;
                diesel::update(cases::table.find(&id))
                    .set(cases::accepted_on.eq(Some(today)))
                    .execute(conn)?;
            }
            Action::Refuse { reason } => {
                let reason =
                    non_empty(reason, "a refusal needs the reason the worker will be told")?;
                set_state(conn, CaseState::Refused)?;
                diesel::update(cases::table.find(&id))
                    .set((
                        cases::refusal_reason.eq(Some(reason)),
                        cases::finished_on.eq(Some(today)),
                    ))
                    .execute(conn)?;
            }
            Action::Investigate => {
                set_state(conn, CaseState::Investigating)?;
            }
            Action::RequestInfo { reason } => {
                let reason = non_empty(reason, "say which facts the worker should supply")?;
                if !from.is_open() {
                    return Err(refuse());
                }
                let pauses = pauses_of(conn, &id)?;
                if pauses.iter().any(|p| p.resumed_on.is_none()) {
                    return Err(ActionError::Invalid(
                        "already waiting for the worker".into(),
                    ));
                }
                diesel::insert_into(case_pauses::table)
                    .values((
                        case_pauses::id.eq(new_id()),
                        case_pauses::case_id.eq(&id),
                        case_pauses::paused_on.eq(today),
                        case_pauses::reason.eq(reason),
                        case_pauses::created_at.eq(t),
                    ))
                    .execute(conn)?;
                notice = Some((
                    "case_info_needed",
                    json!({ "reference": before.reference, "reason": reason }),
                ));
            }
            Action::InfoReceived => {
                let n = diesel::update(
                    case_pauses::table
                        .filter(case_pauses::case_id.eq(&id))
                        .filter(case_pauses::resumed_on.is_null()),
                )
                .set(case_pauses::resumed_on.eq(Some(today)))
                .execute(conn)?;
                if n == 0 {
                    return Err(ActionError::Invalid(
                        "the case is not waiting for the worker".into(),
                    ));
                }
            }
            Action::RequestExtension { reason } => {
                non_empty(reason, "say why the case needs more time")?;
                extendable()?;
                diesel::update(cases::table.find(&id))
                    .set(cases::extension_requested_by.eq(Some(actor)))
                    .execute(conn)?;
            }
            Action::RecordMediation {
                note,
                recovered_yuan,
            } => {
                non_empty(note, "say what the mediation achieved")?;
                let recovered = yuan(*recovered_yuan)?;
                if !from.is_open() {
                    return Err(refuse());
                }
                diesel::update(cases::table.find(&id))
                    .set(cases::recovered_yuan.eq(Some(recovered)))
                    .execute(conn)?;
            }
            Action::Extend => {
                extendable()?;
                diesel::update(cases::table.find(&id))
                    .set(cases::extension_days.eq(state.config.cases.extension_working_days as i32))
                    .execute(conn)?;
            }
            Action::Resolve { recovered_yuan } => {
                let recovered = yuan(*recovered_yuan)?;
                set_state(conn, CaseState::Resolved)?;
                diesel::update(cases::table.find(&id))
                    .set((
                        cases::recovered_yuan.eq(Some(recovered)),
                        cases::finished_on.eq(Some(today)),
                    ))
                    .execute(conn)?;
            }
            Action::Transfer { to } => {
                let to = non_empty(to, "say where the case goes (公安, …)")?;
                set_state(conn, CaseState::Transferred)?;
                diesel::update(cases::table.find(&id))
                    .set((
                        cases::transferred_to.eq(Some(to)),
                        cases::finished_on.eq(Some(today)),
                    ))
                    .execute(conn)?;
            }
            Action::Close => {
                set_state(conn, CaseState::Closed)?;
                diesel::update(cases::table.find(&id))
                    .set(cases::closed_at.eq(Some(t)))
                    .execute(conn)?;
            }
            Action::Assign { to } => {
                let to = non_empty(to, "say who the case is assigned to")?;
                diesel::update(cases::table.find(&id))
                    .set(cases::assigned_to.eq(Some(to)))
                    .execute(conn)?;
            }
        }
        // Deadlines follow from the dates and pauses; recomputed on every change.
        let mid: Case = cases::table
            .find(&id)
            .select(Case::as_select())
            .first(conn)?;
        let (accept_due, finish_due) =
            deadlines(&mid, &pauses_of(conn, &id)?, &state.config.cases, &clock);
        diesel::update(cases::table.find(&id))
            .set((
                cases::accept_due.eq(accept_due),
                cases::finish_due.eq(finish_due),
            ))
            .execute(conn)?;
        let after: Case = cases::table
            .find(&id)
            .select(Case::as_select())
            .first(conn)?;
        let detail = json!({
            "before": { "state": before.state, "accept_due": before.accept_due, "finish_due": before.finish_due, "assigned_to": before.assigned_to },
            "after": { "state": after.state, "accept_due": after.accept_due, "finish_due": after.finish_due, "assigned_to": after.assigned_to },
            "action": serde_json::to_value(ActionView(action)).unwrap_or_default(),
        });
        audit(
            conn,
            Some(&id),
            actor,
            action.name(),
            Some(&detail.to_string()),
        )?;
        if after.state != before.state {
            notify(state, conn, &after, None)?;
        } else if let Some((template, data)) = notice {
            notify(state, conn, &after, Some((template, data)))?;
        }
        Ok(after)
    })
}

/// The action as recorded in the audit trail.
struct ActionView<'a>(&'a Action);

impl serde::Serialize for ActionView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = match self.0 {
            Action::Refuse { reason }
            | Action::RequestInfo { reason }
            | Action::RequestExtension { reason } => {
                json!({ "name": self.0.name(), "reason": reason })
            }
            Action::RecordMediation {
                note,
                recovered_yuan,
            } => {
                json!({ "name": self.0.name(), "note": note, "recovered_yuan": recovered_yuan })
            }
            Action::Resolve { recovered_yuan } => {
                json!({ "name": self.0.name(), "recovered_yuan": recovered_yuan })
            }
            Action::Transfer { to } | Action::Assign { to } => {
                json!({ "name": self.0.name(), "to": to })
            }
            _ => json!({ "name": self.0.name() }),
        };
        v.serialize(s)
    }
}

/// The most a case may record as recovered: a trillion yuan, far above any case (a complaint
/// is at most 100 million) and far enough below `i64::MAX` that sums over every case in a
/// report cannot overflow.
pub const MAX_RECOVERED_YUAN: u64 = 1_000_000_000_000;

/// An amount recovered as stored. Before, one past `i64::MAX` was stored negative.
fn yuan(v: u64) -> Result<i64, ActionError> {
    if v > MAX_RECOVERED_YUAN {
        return Err(ActionError::Invalid(format!(
            "recovered_yuan is at most {MAX_RECOVERED_YUAN}"
        )));
    }
    Ok(v as i64)
}

fn non_empty<'a>(s: &'a str, why: &str) -> Result<&'a str, ActionError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ActionError::Invalid(why.to_string()));
    }
    Ok(t)
}

/// Queues a short SMS to every complainant on the case, each in their language: the new
/// state (`case_notice`), or the given template. The caller wakes the dispatcher after commit.
pub fn notify(
    state: &AppState,
    conn: &mut DbConn,
    case: &Case,
    custom: Option<(&str, serde_json::Value)>,
) -> Result<usize, ActionError> {
    let rows = super::complainants(conn, &case.id)?;
    let told = rows.len();
    for (complaint, contact) in rows {
        let lang = if contact.language_chosen {
            contact.lang()
        } else {
            complaint.language
        };
        let (kind, body) = match &custom {
            Some((template, data)) => (template.to_string(), state.templates.render(lang, template, data)?),
            None => (
                "case_notice".to_string(),
                state.templates.render_with(lang, "case_notice", |l| {
                    Ok(json!({ "reference": case.reference, "state_text": state_text(state, l, case)? }))
                })?,
            ),
        };
        outbox::enqueue(
            conn,
            &state.config.outbox,
            &Draft {
                channel_id: complaint.channel_id.clone(),
                contact_id: contact.id.clone(),
                phone: contact.phone.clone(),
                body,
                priority: PRIORITY_NOTICE,
                kind: Some(kind),
                in_reply_to: None,
            },
        )?;
    }
    Ok(told)
}

/// The text describing a case's state, in one language.
pub fn state_text(state: &AppState, lang: &str, case: &Case) -> Result<String, TemplateError> {
    let st = case.state;
    let data = json!({
        "accept_due": case.accept_due.map(|d| d.to_string()),
        "finish_due": case.finish_due.map(|d| d.to_string()),
        "refusal_reason": case.refusal_reason.clone().unwrap_or_default(),
        "recovered": case.recovered_yuan,
        "transferred_to": case.transferred_to.clone().unwrap_or_default(),
    });
    state
        .templates
        .render_lang(lang, &format!("case_state_{}", st.as_str()), &data)
}

/// Sends an inspector's SMS to every complainant on the case who has not opted out, on the
/// channel each wrote in, and audits it. None when there is no such case. One transaction.
pub fn reply(
    conn: &mut DbConn,
    cfg: &outbox::OutboxConfig,
    reference: &str,
    actor: &str,
    text: &str,
) -> Result<Option<usize>, DbError> {
    crate::db::transaction(conn, |c| {
        let Some(case) = super::query::load(c, reference)? else {
            return Ok(None);
        };
        let told: Vec<_> = super::complainants(c, &case.id)?
            .into_iter()
            .filter(|(_, who)| !who.opted_out)
            .collect();
        for (k, who) in &told {
            outbox::enqueue(
                c,
                cfg,
                &Draft {
                    channel_id: k.channel_id.clone(),
                    contact_id: who.id.clone(),
                    phone: who.phone.clone(),
                    body: text.to_string(),
                    priority: crate::db::models::PRIORITY_REPLY,
                    kind: Some("inspector_reply".into()),
                    in_reply_to: None,
                },
            )?;
        }
        let size = crate::text::sms_size(text);
        audit(
            c,
            Some(&case.id),
            actor,
            "reply",
            Some(&json!({ "text": text, "recipients": told.len(), "segments": size.segments, "encoding": size.encoding.as_str() }).to_string()),
        )?;
        Ok(Some(told.len()))
    })
}
