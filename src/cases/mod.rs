//! Complaints and the cases they form. A complaint joins the open case against the same
//! project or employer (within `join_window_days`), else opens a new one; every change is an
//! audit event.

pub mod actions;
pub mod departments;
pub mod query;
pub mod reference;
pub mod referrals;
pub mod rules;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::db::models::{
    AuditEvent, Case, CaseId, CaseSource, Complaint, Contact, ContactId, Language, NewAuditEvent,
    NewCase, NewComplaint,
};
use crate::db::schema::{audit_events, case_signals, cases, complaints, projects};
use crate::db::{new_id, now, DbConn, DbError};
use crate::metrics::CaseCounts;
use rules::{employer_key, CaseRules, CaseState, PriorityFacts};

/// What the worker has told us so far (stored as JSON on the conversation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    pub project_id: Option<String>,
    pub project_code: Option<String>,
    pub employer: Option<String>,
    /// The registered project's Tibetan name, for Tibetan replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer_bo: Option<String>,
    pub county: Option<String>,
    pub workers: Option<u32>,
    pub amount_yuan: Option<u64>,
    /// An amount under the dialog's floor, waiting for the worker to confirm it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_unconfirmed: Option<u64>,
    pub months: Option<u32>,
    pub anonymous: Option<bool>,
}

/// Who did something, for the audit trail. Workers appear by contact id, never by number.
pub fn worker_actor(contact: &Contact) -> String {
    format!("worker:{}", contact.id)
}

pub fn audit(
    conn: &mut DbConn,
    case_id: Option<&CaseId>,
    actor: &str,
    action: &str,
    detail: Option<&str>,
) -> Result<(), DbError> {
    diesel::insert_into(audit_events::table)
        .values(NewAuditEvent {
            id: &new_id(),
            case_id: case_id.map(|v| v.as_str()),
            actor,
            action,
            detail,
            created_at: now(),
            subject: None,
        })
        .execute(conn)?;
    Ok(())
}

/// An audit event about something other than a case (`notice:<id>`, `worker:<contact id>`).
pub fn audit_about(
    conn: &mut DbConn,
    subject: &str,
    actor: &str,
    action: &str,
    detail: Option<&str>,
) -> Result<(), DbError> {
    diesel::insert_into(audit_events::table)
        .values(NewAuditEvent {
            id: &new_id(),
            case_id: None,
            actor,
            action,
            detail,
            created_at: now(),
            subject: Some(subject),
        })
        .execute(conn)?;
    Ok(())
}

/// The audit events about `subject`, oldest first.
pub fn audit_of(conn: &mut DbConn, subject: &str) -> Result<Vec<AuditEvent>, DbError> {
    Ok(audit_events::table
        .filter(audit_events::subject.eq(subject))
        .order(audit_events::created_at)
        .select(AuditEvent::as_select())
        .load(conn)?)
}

pub fn audit_trail(conn: &mut DbConn, case_id: &CaseId) -> Result<Vec<AuditEvent>, DbError> {
    Ok(audit_events::table
        .filter(audit_events::case_id.eq(case_id))
        .order(audit_events::created_at)
        .select(AuditEvent::as_select())
        .load(conn)?)
}

/// Where the bureau's deadlines are computed: the calendar, its region, and today.
pub struct Clock<'a> {
    pub calendar: &'a Calendar,
    pub region: Option<&'a str>,
    pub today: NaiveDate,
}

/// What filing changed, for the replies and tests.
#[derive(Debug)]
pub struct Filed {
    pub case: Case,
    pub complaint: Complaint,
    /// Joined an existing case rather than opening one.
    pub joined: bool,
    /// This complaint made the case collective.
    pub became_collective: bool,
}

pub struct Filing<'a> {
    pub contact: &'a Contact,
    pub channel_id: &'a str,
    pub conversation_id: Option<&'a str>,
    pub answers: &'a Answers,
    pub language: Language,
    /// What a stalled dialog had when the worker gave up: kept, for the bureau to call back and
    /// complete.
    pub incomplete: bool,
}

/// Files a complete complaint. Call inside the caller's transaction.
pub fn file_complaint(
    conn: &mut DbConn,
    rules: &CaseRules,
    clock: &Clock,
    f: &Filing,
) -> Result<Filed, DbError> {
    let a = f.answers;
    let employer = a.employer.clone().unwrap_or_default();
    let county = a.county.clone().unwrap_or_default();
    let key = match (&a.project_id, &a.employer) {
        // Nothing names the employer yet: a case of its own, not one with every other unnamed.
        (None, None) => format!("callback:{}", new_id()),
        _ => employer_key(a.project_id.as_deref(), &employer),
    };
    // Two workers of one site filing at the same moment must land in one case.
    crate::db::lock_key(conn, &key)?;
    let existing = open_case_on(conn, rules, clock, &key)?;
    let actor = worker_actor(f.contact);
    let (case_id, joined) = match existing {
        Some(c) => (c.id, true),
        None => {
            let opened = open_case(
                conn,
                rules,
                clock,
                &NewCaseFacts {
                    key: &key,
                    employer: &employer,
                    county: &county,
                    project_id: a.project_id.as_deref(),
                    source: CaseSource::Complaint,
                },
                &actor,
            )?;
            (opened, false)
        }
    };
    let t = now();
    let complaint_id = new_id();
    diesel::insert_into(complaints::table)
        .values(NewComplaint {
            id: &complaint_id,
            case_id: &case_id,
            contact_id: &f.contact.id,
            conversation_id: f.conversation_id,
            project_id: a.project_id.as_deref(),
            employer: &employer,
            county: &county,
            workers: a.workers.unwrap_or(1) as i32,
            amount_yuan: a.amount_yuan.unwrap_or(0) as i64,
            months: a.months.map(|m| m as i32),
            anonymous: a.anonymous.unwrap_or(true),
            language: f.language,
            channel_id: f.channel_id,
            created_at: t,
            needs_callback: f.incomplete,
        })
        .execute(conn)?;
    audit(
        conn,
        Some(&case_id),
        &actor,
        if f.incomplete {
            "complaint_kept_for_callback"
        } else {
            "complaint_filed"
        },
        Some(&format!("complaint {complaint_id}")),
    )?;
    let before: Case = cases::table
        .find(&case_id)
        .select(Case::as_select())
        .first(conn)?;
    let after = recompute(conn, rules, &before)?;
    let became_collective = after.collective && !before.collective;
    if became_collective {
        audit(
            conn,
            Some(&case_id),
            "system",
            "became_collective",
            Some(&format!(
                "{} workers; representative {}",
                after.workers,
                after.representative_id.as_deref().unwrap_or("-")
            )),
        )?;
    }
    let complaint = complaints::table
        .find(&complaint_id)
        .select(Complaint::as_select())
        .first(conn)?;
    Ok(Filed {
        case: after,
        complaint,
        joined,
        became_collective,
    })
}

/// A follow-up answer saying a worker was not paid (or only partly), as evidence on a case.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = case_signals)]
pub struct CaseSignal {
    pub id: String,
    pub case_id: CaseId,
    pub contact_id: ContactId,
    pub followup_id: String,
    /// `partly` or `none`.
    pub paid: String,
    pub months: Option<i32>,
    pub amount_yuan: Option<i64>,
    pub answered_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// One worker's answer for an early warning.
#[derive(Debug, Clone)]
pub struct Signal {
    pub contact_id: ContactId,
    pub followup_id: String,
    pub paid: &'static str,
    pub months: Option<u32>,
    pub amount_yuan: Option<u64>,
    pub answered_at: NaiveDateTime,
}

/// Several workers placed with one employer or project said they were not paid in full.
pub struct Warning<'a> {
    pub facts: NewCaseFacts<'a>,
    /// Every such answer within the warning window, one worker possibly several times.
    pub signals: &'a [Signal],
    /// Distinct workers at which a case opens before anyone complained.
    pub threshold: usize,
}

/// What an early warning did.
#[derive(Debug)]
pub struct Warned {
    pub case: Case,
    /// A new case (source `early_warning`), rather than evidence on an open one.
    pub opened: bool,
}

/// The early warning of arrears: the signals join the open case against the employer, if there
/// is one; otherwise, once `threshold` distinct workers have signalled, a case opens with
/// them as its evidence (source `early_warning`, no complainant), its priority by the usual
/// rules. A signal already on the case is updated (the worker answered months or amount
/// later). None: below the threshold, and no case. Call inside the caller's transaction.
pub fn early_warning(
    conn: &mut DbConn,
    rules: &CaseRules,
    clock: &Clock,
    w: &Warning,
) -> Result<Option<Warned>, DbError> {
    crate::db::lock_key(conn, w.facts.key)?;
    let (case_id, opened) = match open_case_on(conn, rules, clock, w.facts.key)? {
        Some(c) => (c.id, false),
        None => {
            let mut who: Vec<&ContactId> = w.signals.iter().map(|s| &s.contact_id).collect();
            who.sort();
            who.dedup();
            if who.len() < w.threshold {
                return Ok(None);
            }
            let id = open_case(conn, rules, clock, &w.facts, "system:early_warning")?;
            audit(
                conn,
                Some(&id),
                "system:early_warning",
                "early_warning",
                Some(&format!(
                    "{} workers placed with {} said they were not paid in full",
                    who.len(),
                    w.facts.employer
                )),
            )?;
            (id, true)
        }
    };
    let t = now();
    for s in w.signals {
        let months = s.months.map(|m| m as i32);
        let amount = s.amount_yuan.map(|a| a as i64);
        let updated = diesel::update(
            case_signals::table
                .filter(case_signals::case_id.eq(&case_id))
                .filter(case_signals::followup_id.eq(&s.followup_id)),
        )
        .set((
            case_signals::paid.eq(s.paid),
            case_signals::months.eq(months),
            case_signals::amount_yuan.eq(amount),
        ))
        .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(case_signals::table)
                .values((
                    case_signals::id.eq(new_id()),
                    case_signals::case_id.eq(&case_id),
                    case_signals::contact_id.eq(&s.contact_id),
                    case_signals::followup_id.eq(&s.followup_id),
                    case_signals::paid.eq(s.paid),
                    case_signals::months.eq(months),
                    case_signals::amount_yuan.eq(amount),
                    case_signals::answered_at.eq(s.answered_at),
                    case_signals::created_at.eq(t),
                ))
                .execute(conn)?;
            if !opened {
                audit(
                    conn,
                    Some(&case_id),
                    "system:early_warning",
                    "signal_added",
                    Some(&format!("follow-up {}", s.followup_id)),
                )?;
            }
        }
    }
    let before: Case = cases::table
        .find(&case_id)
        .select(Case::as_select())
        .first(conn)?;
    let case = recompute(conn, rules, &before)?;
    Ok(Some(Warned { case, opened }))
}

/// A case's follow-up signals with the workers who gave them, oldest first.
pub fn signals_with_contacts(
    conn: &mut DbConn,
    case_id: &CaseId,
) -> Result<Vec<(CaseSignal, Contact)>, DbError> {
    Ok(case_signals::table
        .inner_join(crate::db::schema::contacts::table)
        .filter(case_signals::case_id.eq(case_id))
        .order(case_signals::answered_at)
        .select((CaseSignal::as_select(), Contact::as_select()))
        .load(conn)?)
}

/// A case's follow-up signals, oldest first.
pub fn signals_of(conn: &mut DbConn, case_id: &CaseId) -> Result<Vec<CaseSignal>, DbError> {
    Ok(case_signals::table
        .filter(case_signals::case_id.eq(case_id))
        .order(case_signals::answered_at)
        .select(CaseSignal::as_select())
        .load(conn)?)
}

/// The open case against `key` (a project or an employer) received within the join window,
/// if any.
pub fn open_case_on(
    conn: &mut DbConn,
    rules: &CaseRules,
    clock: &Clock,
    key: &str,
) -> Result<Option<Case>, DbError> {
    let since = clock.today - Duration::days(rules.join_window_days as i64);
    let open: Vec<&str> = CaseState::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| s.as_str())
        .collect();
    Ok(cases::table
        .filter(cases::employer_key.eq(key))
        .filter(cases::state.eq_any(&open))
        .filter(cases::received_on.ge(since))
        .order(cases::received_on.desc())
        .select(Case::as_select())
        .first(conn)
        .optional()?)
}

/// What a new case is about.
pub struct NewCaseFacts<'a> {
    pub key: &'a str,
    pub employer: &'a str,
    pub county: &'a str,
    pub project_id: Option<&'a str>,
    pub source: CaseSource,
}

/// Opens a case, received today, with its acceptance deadline; audited as `case_opened` by
/// `actor`. Its totals come from `recompute` once its complaints or signals are in.
fn open_case(
    conn: &mut DbConn,
    rules: &CaseRules,
    clock: &Clock,
    facts: &NewCaseFacts,
    actor: &str,
) -> Result<CaseId, DbError> {
    let id = CaseId::random();
    let reference = unused_reference(conn)?;
    let accept_due = match clock.calendar.deadline_estimate(
        clock.today,
        rules.accept_working_days,
        &[],
        clock.region,
    ) {
        Ok(d) => d.map(|(d, _)| d),
        Err(e) => {
            // A complaint is never refused for want of calendar data; the gap is audited.
            tracing::error!(error = %e, "no acceptance deadline: calendar data missing");
            audit(
                conn,
                None,
                "system",
                "calendar_missing",
                Some(&e.to_string()),
            )?;
            None
        }
    };
    let t = now();
    diesel::insert_into(cases::table)
        .values(NewCase {
            id: &id,
            reference: &reference,
            state: CaseState::Received,
            priority: 4,
            project_id: facts.project_id,
            employer: facts.employer,
            employer_key: facts.key,
            county: facts.county,
            collective: false,
            representative_id: None,
            workers: 0,
            amount_yuan: 0,
            received_on: clock.today,
            accept_due,
            extension_days: 0,
            created_at: t,
            updated_at: t,
            source: facts.source,
        })
        .execute(conn)?;
    audit(
        conn,
        Some(&id),
        actor,
        "case_opened",
        Some(&format!("reference {reference}")),
    )?;
    Ok(id)
}

/// Totals, collectiveness, representative and priority from the case's complaints.
fn recompute(conn: &mut DbConn, rules: &CaseRules, case: &Case) -> Result<Case, DbError> {
    let all: Vec<Complaint> = complaints::table
        .filter(complaints::case_id.eq(&case.id))
        .order(complaints::created_at)
        .select(Complaint::as_select())
        .load(conn)?;
    let signals: Vec<CaseSignal> = case_signals::table
        .filter(case_signals::case_id.eq(&case.id))
        .select(CaseSignal::as_select())
        .load(conn)?;
    let mut complainants: Vec<&str> = all.iter().map(|c| c.contact_id.as_str()).collect();
    complainants.sort();
    complainants.dedup();
    // Workers who said so in a follow-up count as well; one who also complained counts once,
    // with the amount of their complaint.
    let mut people = complainants.clone();
    people.extend(signals.iter().map(|s| s.contact_id.as_str()));
    people.sort();
    people.dedup();
    // Reports overlap ("we are 8 people"), so the case has as many workers as the larger of the
    // distinct complainants and the largest group anyone reported.
    let reported = all.iter().map(|c| c.workers).max().unwrap_or(1);
    let workers = (people.len() as i32).max(reported);
    let signalled: i64 = signals
        .iter()
        .filter(|s| !complainants.contains(&s.contact_id.as_str()))
        .filter_map(|s| s.amount_yuan)
        .sum();
    let amount: i64 = all.iter().map(|c| c.amount_yuan).sum::<i64>() + signalled;
    let months = all
        .iter()
        .filter_map(|c| c.months)
        .chain(signals.iter().filter_map(|s| s.months))
        .max()
        .unwrap_or(0);
    let collective = workers >= rules.collective_workers as i32;
    let representative = match (&case.representative_id, collective) {
        (Some(r), _) => Some(r.clone()),
        (None, true) => all.first().map(|c| c.contact_id.clone()),
        (None, false) => None,
    };
    let government = match &case.project_id {
        Some(p) => projects::table
            .find(p)
            .select(projects::government_invested)
            .first::<bool>(conn)
            .optional()?
            .unwrap_or(false),
        None => false,
    };
    let priority = rules.priority(&PriorityFacts {
        government_invested: government,
        workers: workers as u32,
        amount_yuan: amount.max(0) as u64,
        months: months.max(0) as u32,
    });
    diesel::update(cases::table.find(&case.id))
        .set((
            cases::workers.eq(workers),
            cases::amount_yuan.eq(amount),
            cases::collective.eq(collective),
            cases::representative_id.eq(representative),
            cases::priority.eq(priority),
            cases::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(cases::table
        .find(&case.id)
        .select(Case::as_select())
        .first(conn)?)
}

fn unused_reference(conn: &mut DbConn) -> Result<String, DbError> {
    for _ in 0..50 {
        let serial = (uuid::Uuid::new_v4().as_u128() % 100_000) as u32;
        let r = reference::make(serial);
        let taken: i64 = cases::table
            .filter(cases::reference.eq(&r))
            .count()
            .get_result(conn)?;
        if taken == 0 {
            return Ok(r);
        }
    }
    Err(DbError::Pool(
        "no free case reference: widen the reference format".into(),
    ))
}

/// A case by reference, but only for a phone number that complained on it.
pub fn case_for_complainant(
    conn: &mut DbConn,
    reference: &str,
    contact_id: &ContactId,
) -> Result<Option<Case>, DbError> {
    let Some(case) = cases::table
        .filter(cases::reference.eq(reference))
        .select(Case::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let mine: i64 = complaints::table
        .filter(complaints::case_id.eq(&case.id))
        .filter(complaints::contact_id.eq(contact_id))
        .count()
        .get_result(conn)?;
    Ok((mine > 0).then_some(case))
}

/// SQL condition: past the deadline that applies now (acceptance while received, completion
/// while accepted or investigating). NULL for a case without one (paused, or finished).
pub fn overdue_on(
    today: NaiveDate,
) -> Box<
    dyn diesel::BoxableExpression<
        cases::table,
        <DbConn as diesel::Connection>::Backend,
        SqlType = diesel::sql_types::Nullable<diesel::sql_types::Bool>,
    >,
> {
    Box::new(
        cases::state
            .eq(CaseState::Received.as_str())
            .and(cases::accept_due.lt(today))
            .or(cases::state
                .eq_any([
                    CaseState::Accepted.as_str(),
                    CaseState::Investigating.as_str(),
                ])
                .and(cases::finish_due.lt(today))),
    )
}

/// What /metrics shows of the case load.
pub fn case_counts(conn: &mut DbConn, today: NaiveDate) -> Result<CaseCounts, DbError> {
    let by_state: Vec<(String, i64)> = cases::table
        .group_by(cases::state)
        .select((cases::state, diesel::dsl::count_star()))
        .load(conn)?;
    let overdue: i64 = cases::table
        .filter(overdue_on(today))
        .count()
        .get_result(conn)?;
    // Kept from a stalled dialog and not yet called back (done: `callback_done`).
    let callbacks_waiting: i64 = complaints::table
        .filter(complaints::needs_callback.eq(true))
        .count()
        .get_result(conn)?;
    Ok(CaseCounts {
        by_state,
        overdue,
        callbacks_waiting,
    })
}

/// A case's complaints with their complainants, oldest first.
pub fn complaints_with_contacts(
    conn: &mut DbConn,
    case_id: &CaseId,
) -> Result<Vec<(Complaint, Contact)>, DbError> {
    Ok(complaints::table
        .inner_join(crate::db::schema::contacts::table)
        .filter(complaints::case_id.eq(case_id))
        .order(complaints::created_at)
        .select((Complaint::as_select(), Contact::as_select()))
        .load(conn)?)
}

/// Each complainant on a case once, with their first complaint: the people a notice or a
/// reply goes to.
pub fn complainants(
    conn: &mut DbConn,
    case_id: &CaseId,
) -> Result<Vec<(Complaint, Contact)>, DbError> {
    let mut seen = std::collections::BTreeSet::new();
    Ok(complaints_with_contacts(conn, case_id)?
        .into_iter()
        .filter(|(_, who)| seen.insert(who.id.clone()))
        .collect())
}

/// The cases a worker complained on, newest first.
pub fn cases_of(conn: &mut DbConn, contact_id: &ContactId) -> Result<Vec<Case>, DbError> {
    let ids = complaints::table
        .filter(complaints::contact_id.eq(contact_id))
        .select(complaints::case_id);
    Ok(cases::table
        .filter(cases::id.eq_any(ids))
        .order(cases::created_at.desc())
        .select(Case::as_select())
        .load(conn)?)
}

/// A case and each of its complainants with their first complaint.
pub type CaseComplainants = (Case, Vec<(Complaint, Contact)>);

/// The case with this reference and its complainants, for someone about to see their full
/// numbers: the view is audited, with where it happened (`via`: `api`, `console`). None when
/// there is no such case. One transaction.
pub fn complainants_shown(
    conn: &mut DbConn,
    reference: &str,
    actor: &str,
    via: &str,
) -> Result<Option<CaseComplainants>, DbError> {
    crate::db::transaction(conn, |c| {
        let Some(case) = query::load(c, reference)? else {
            return Ok(None);
        };
        let people = complainants(c, &case.id)?;
        let detail = serde_json::json!({ "complainants": people.len(), "via": via });
        audit(
            c,
            Some(&case.id),
            actor,
            "identity_viewed",
            Some(&detail.to_string()),
        )?;
        Ok(Some((case, people)))
    })
}

/// How long a console user sees complainants' full numbers after asking (each ask audited).
pub const IDENTITY_SHOWN_MINUTES: i64 = 10;

/// Whether `actor` asked to see this case's complainants' numbers in the last
/// `IDENTITY_SHOWN_MINUTES`: the page shows them only then, so a reload or a link shows no
/// number that the audit trail does not account for.
pub fn identity_recently_viewed(
    conn: &mut DbConn,
    case_id: &CaseId,
    actor: &str,
) -> Result<bool, DbError> {
    let since = now() - chrono::Duration::minutes(IDENTITY_SHOWN_MINUTES);
    Ok(diesel::select(diesel::dsl::exists(
        audit_events::table
            .filter(audit_events::case_id.eq(case_id))
            .filter(audit_events::actor.eq(actor))
            .filter(audit_events::action.eq("identity_viewed"))
            .filter(audit_events::created_at.ge(since)),
    ))
    .get_result(conn)?)
}

/// An inspector called back the worker whose stalled dialog left this complaint half-filled,
/// and completed it by phone: the complaint no longer waits. False when the case has no such
/// complaint waiting. One transaction, audited.
pub fn callback_done(
    conn: &mut DbConn,
    reference: &str,
    complaint_id: &str,
    actor: &str,
) -> Result<bool, DbError> {
    crate::db::transaction(conn, |c| {
        let Some(case) = query::load(c, reference)? else {
            return Ok(false);
        };
        let n = diesel::update(
            complaints::table
                .filter(complaints::id.eq(complaint_id))
                .filter(complaints::case_id.eq(&case.id))
                .filter(complaints::needs_callback.eq(true)),
        )
        .set(complaints::needs_callback.eq(false))
        .execute(c)?;
        if n == 1 {
            audit(
                c,
                Some(&case.id),
                actor,
                "callback_done",
                Some(&format!("complaint {complaint_id}")),
            )?;
        }
        Ok(n == 1)
    })
}
