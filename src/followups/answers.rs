//! A worker's answers to a follow-up, and what they change: the placement ends when the
//! worker left, the register follows what they said, unpaid wages feed the early warning, a
//! placement confirmed at six months earns its subsidies, and a "yes, I started" records the
//! placement.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::Value;

use super::placements::{self, Placement, Valid};
use super::questions::{self, Answers, Question, Taken};
use super::run::{about, Followup, RunError};
use super::{EndReason, FollowupStatus, PlacementSource};
use crate::alerts::register::{self, Subscription};
use crate::alerts::Employment;
use crate::cases::{self, Clock, NewCaseFacts, Signal, Warning};
use crate::db::models::CaseSource;
use crate::db::schema::{
    followups, notice_responses, placements as placements_t, trainees, trainings, workers,
};
use crate::db::DbConn;
use crate::AppState;

/// What to say next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Ask this question.
    Ask(Question),
    /// Not an answer: ask again, with an example.
    Again(Question),
    /// Complete: thank the worker (`followup_thanks`, or `followup_thanks_unpaid` when wages
    /// were unpaid and they did not file).
    Thanks(&'static str),
    /// The worker wants to complain now: the complaint dialog starts with what the placement
    /// and the answers already say.
    File(cases::Answers),
    /// Too many unreadable answers: closed with what was answered.
    GaveUp,
}

/// The outcome of one message.
#[derive(Debug, Clone)]
pub struct Applied {
    pub next: Next,
    /// What the texts name (employer, course).
    pub about: Value,
    /// An early-warning case the answers opened or joined.
    pub case_reference: Option<String>,
}

/// The bureau's clock at `now`: its calendar and today in its zone.
fn clock<'a>(state: &'a AppState, now: NaiveDateTime) -> Clock<'a> {
    Clock {
        calendar: &state.calendar,
        region: state.config.region.as_deref(),
        today: state.config.local(now).date(),
    }
}

/// Takes `tokens` (numbers in ASCII digits; a yes/no word already as `1`/`2`) as answers to
/// follow-up `f`, which is open. Call inside a transaction.
pub fn apply(
    conn: &mut DbConn,
    state: &AppState,
    f: &Followup,
    tokens: &[String],
    now: NaiveDateTime,
) -> Result<Applied, RunError> {
    let about = about(conn, f)?;
    let Some(asked) = f.asked() else {
        return Ok(Applied {
            next: Next::Thanks("followup_thanks"),
            about,
            case_reference: None,
        });
    };
    let subscribed = register::get(conn, &f.contact_id)?.is_some_and(|w| w.alerts_consent);
    let before = f.answers();
    let mut a = before.clone();
    if questions::take(f.schedule, &mut a, asked, tokens, subscribed) == Taken::Unreadable {
        a.failures += 1;
        let gave_up = a.failures >= state.config.dialog.max_failures;
        let status = if gave_up {
            if f.answered_at.is_some() {
                FollowupStatus::Done
            } else {
                FollowupStatus::Unanswered
            }
        } else {
            FollowupStatus::Open
        };
        diesel::update(followups::table.find(&f.id))
            .set((
                followups::answers.eq(serde_json::to_string(&a).unwrap_or_default()),
                followups::status.eq(status.as_str()),
                followups::note.eq(gave_up.then_some(super::run::NOTE_UNREADABLE)),
                followups::closed_at.eq(gave_up.then_some(now)),
                followups::updated_at.eq(now),
            ))
            .execute(conn)?;
        return Ok(Applied {
            next: if gave_up {
                Next::GaveUp
            } else {
                Next::Again(asked)
            },
            about,
            case_reference: None,
        });
    }
    let placement = match &f.placement_id {
        Some(id) => placements::get(conn, id)?,
        None => None,
    };
    // What the answers change.
    if let (Some(p), None, Some(w)) = (&placement, before.working, a.working) {
        end_or_confirm(conn, state, f, p, w, now)?;
    }
    if let (None, Some(s)) = (before.status, a.status) {
        let employment = match s {
            1 | 2 => Employment::Working,
            3 => Employment::Seeking,
            _ => Employment::NotSeeking,
        };
        set_employment(conn, f, employment, now)?;
    }
    if before.alerts.is_none() && a.alerts == Some(1) {
        subscribe_trainee(conn, f)?;
    }
    if before.started.is_none() && a.started == Some(1) {
        record_start(conn, state, f, now)?;
    }
    let mut case_reference = None;
    if a.unpaid() {
        if let Some(p) = &placement {
            case_reference = warn(conn, state, f, p, &a, now)?;
        }
    }
    let next = questions::next(f.schedule, &a, subscribed);
    let status = match next {
        Some(_) => FollowupStatus::Open,
        None => FollowupStatus::Done,
    };
    diesel::update(followups::table.find(&f.id))
        .set((
            followups::answers.eq(serde_json::to_string(&a).unwrap_or_default()),
            followups::question.eq(next.map(|q| q.as_str())),
            followups::status.eq(status.as_str()),
            followups::unpaid.eq(a.unpaid()),
            followups::first_answered_at.eq(f.first_answered_at.unwrap_or(now)),
            followups::answered_at.eq(now),
            followups::closed_at.eq(next.is_none().then_some(now)),
            followups::updated_at.eq(now),
        ))
        .execute(conn)?;
    let next = match next {
        Some(q) => Next::Ask(q),
        None if a.file == Some(1) => match &placement {
            Some(p) => Next::File(complaint_answers(conn, p, &a)?),
            None => Next::Thanks("followup_thanks_unpaid"),
        },
        None if a.unpaid() => Next::Thanks("followup_thanks_unpaid"),
        None => Next::Thanks("followup_thanks"),
    };
    Ok(Applied {
        next,
        about,
        case_reference,
    })
}

/// "Still working there?": any answer but yes ends the placement (the pending steps fall
/// silent); a yes at the subsidy step earns the subsidies.
fn end_or_confirm(
    conn: &mut DbConn,
    state: &AppState,
    f: &Followup,
    p: &Placement,
    working: u32,
    now: NaiveDateTime,
) -> Result<(), RunError> {
    let today = state.config.local(now).date();
    let reason = match working {
        1 => None,
        2 => Some(EndReason::ChangedJob),
        3 => Some(EndReason::BackHome),
        _ => Some(EndReason::Looking),
    };
    match reason {
        Some(reason) => {
            if p.ended_on.is_none() {
                diesel::update(placements_t::table.find(&p.id))
                    .set((
                        placements_t::ended_on.eq(Some(today)),
                        placements_t::end_reason.eq(Some(reason.as_str())),
                        placements_t::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                super::run::silence_scheduled(conn, None, Some(&p.id), super::run::NOTE_LEFT, now)?;
                cases::audit_about(
                    conn,
                    &format!("placement:{}", p.id),
                    &format!("worker:{}", f.contact_id),
                    "placement_ended",
                    Some(&format!("follow-up {}: {}", f.step, reason.as_str())),
                )?;
            }
            let employment = match reason {
                EndReason::ChangedJob => Employment::Working,
                EndReason::BackHome => Employment::NotSeeking,
                EndReason::Looking => Employment::Seeking,
            };
            set_employment(conn, f, employment, now)?;
        }
        None => {
            let months = state.config.followups.subsidy_months;
            let lasted = p
                .start_on
                .checked_add_months(chrono::Months::new(months))
                .is_some_and(|d| f.due_at.date() + Duration::days(1) >= d);
            if lasted && p.ended_on.is_none() {
                super::subsidies::grant(conn, p, f, today, now)?;
            }
        }
    }
    Ok(())
}

fn set_employment(
    conn: &mut DbConn,
    f: &Followup,
    employment: Employment,
    now: NaiveDateTime,
) -> Result<(), RunError> {
    diesel::update(workers::table.find(&f.contact_id))
        .set((
            workers::employment.eq(employment),
            workers::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A trainee looking for work said yes to alerts in the trade they trained for.
fn subscribe_trainee(conn: &mut DbConn, f: &Followup) -> Result<(), RunError> {
    let id = f.subject.trim_start_matches("trainee:");
    let trade: Option<String> = trainees::table
        .inner_join(trainings::table)
        .filter(trainees::id.eq(id))
        .select(trainings::trade)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten();
    let county = register::get(conn, &f.contact_id)?.and_then(|w| w.county);
    register::subscribe(
        conn,
        &f.contact_id,
        &Subscription {
            alert_county: county,
            outside_ok: false,
            trades: trade.into_iter().collect(),
        },
        &format!("follow-up {} answered 1", f.id),
    )?;
    Ok(())
}

/// "Did you start?" answered yes: the placement, from the notice, starting on the notice's
/// start date (today if that is still ahead).
fn record_start(
    conn: &mut DbConn,
    state: &AppState,
    f: &Followup,
    now: NaiveDateTime,
) -> Result<(), RunError> {
    let response = f.subject.trim_start_matches("interest:");
    let notice_id: Option<String> = notice_responses::table
        .find(response)
        .select(notice_responses::notice_id)
        .first(conn)
        .optional()?;
    let Some(notice) = (match notice_id {
        Some(id) => crate::alerts::notices::get(conn, &id)?,
        None => None,
    }) else {
        return Ok(());
    };
    let phone: String = crate::db::schema::contacts::table
        .find(&f.contact_id)
        .select(crate::db::schema::contacts::phone)
        .first(conn)?;
    let today = state.config.local(now).date();
    let project_id = match &notice.project_code {
        Some(code) => crate::projects::get_by_code(conn, code)?.map(|p| p.id),
        None => None,
    };
    let v = Valid {
        phone,
        employer: notice.employer.clone(),
        project_id,
        notice_id: Some(notice.id.clone()),
        agency: Some(notice.agency.clone()),
        county: notice.county.clone(),
        place_outside: notice.place_outside.clone(),
        trade: Some(notice.trade.clone()),
        start_on: notice.start_on.min(today),
    };
    placements::record(
        conn,
        &state.config.followups,
        state.config.utc_offset_secs(),
        &v,
        PlacementSource::Worker,
        &format!("worker:{}", f.contact_id),
        now,
    )?;
    Ok(())
}

/// Unpaid wages at `p`'s employer: with the other workers placed there who said so within the
/// warning window, an early warning (see `cases::early_warning`). Returns the case's reference
/// when there is one.
fn warn(
    conn: &mut DbConn,
    state: &AppState,
    f: &Followup,
    p: &Placement,
    a: &Answers,
    now: NaiveDateTime,
) -> Result<Option<String>, RunError> {
    let cfg = &state.config.followups;
    let since = now - Duration::days(cfg.warning_window_days as i64);
    let others: Vec<Followup> = followups::table
        .inner_join(placements_t::table)
        .filter(placements_t::employer_key.eq(&p.employer_key))
        .filter(followups::unpaid.eq(true))
        .filter(followups::answered_at.ge(since))
        .filter(followups::id.ne(&f.id))
        .select(Followup::as_select())
        .load(conn)?;
    let signal = |f: &Followup, a: &Answers, at: NaiveDateTime| Signal {
        contact_id: f.contact_id.clone(),
        followup_id: f.id.clone(),
        paid: if a.paid == Some(2) { "partly" } else { "none" },
        months: a.months,
        amount_yuan: a.amount_yuan(),
        answered_at: at,
    };
    let mut signals: Vec<Signal> = others
        .iter()
        .map(|o| signal(o, &o.answers(), o.answered_at.unwrap_or(now)))
        .collect();
    signals.push(signal(f, a, f.answered_at.unwrap_or(now)));
    let county = p
        .county
        .clone()
        .or_else(|| p.place_outside.clone())
        .unwrap_or_default();
    let warned = cases::early_warning(
        conn,
        &state.config.cases,
        &clock(state, now),
        &Warning {
            facts: NewCaseFacts {
                key: &p.employer_key,
                employer: &p.employer,
                county: &county,
                project_id: p.project_id.as_deref(),
                source: CaseSource::EarlyWarning,
            },
            signals: &signals,
            threshold: cfg.warning_workers as usize,
        },
    )?;
    let Some(w) = warned else { return Ok(None) };
    let ids: Vec<&str> = signals.iter().map(|s| s.followup_id.as_str()).collect();
    diesel::update(followups::table.filter(followups::id.eq_any(&ids)))
        .set(followups::case_id.eq(Some(w.case.id.as_str())))
        .execute(conn)?;
    Ok(Some(w.case.reference))
}

/// The complaint a follow-up's answers already make: the placement's employer, project and
/// county, the worker alone, the months and the rough amount, kept anonymous.
fn complaint_answers(
    conn: &mut DbConn,
    p: &Placement,
    a: &Answers,
) -> Result<cases::Answers, RunError> {
    let project = match &p.project_id {
        Some(id) => crate::db::schema::projects::table
            .find(id)
            .select((
                crate::db::schema::projects::code,
                crate::db::schema::projects::name_bo,
            ))
            .first::<(String, Option<String>)>(conn)
            .optional()?,
        None => None,
    };
    Ok(cases::Answers {
        project_id: p.project_id.clone(),
        project_code: project.as_ref().map(|(c, _)| c.clone()),
        employer: Some(p.employer.clone()),
        employer_bo: project.and_then(|(_, bo)| bo),
        county: Some(
            p.county
                .clone()
                .or_else(|| p.place_outside.clone())
                .unwrap_or_default(),
        ),
        workers: Some(1),
        amount_yuan: a.amount_yuan(),
        amount_unconfirmed: None,
        months: a.months,
        anonymous: Some(true),
    })
}
