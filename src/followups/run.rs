//! The periodic work of follow-ups, every few seconds on the job runner: schedule the "did you
//! start?" question a week after a worker showed interest in a notice; close what was not
//! answered after the reminder; and, inside the send window, remind once and ask what is due.
//!
//! Asking is one transaction per follow-up: the row moves from `scheduled` to `open` (only if
//! it is still `scheduled`) in the same transaction that queues its SMS in the outbox, so a
//! crash, a restart or a second process never asks twice nor loses a step. A step whose time
//! passed while the service was down is asked at the next run inside the window.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::questions::{self, Answers, Question};
use super::{FollowupStatus, ScheduleKind};
use crate::db::models::{
    CaseState, Contact, ContactId, ConversationStatus, Language, PRIORITY_NOTICE,
};
use crate::db::schema::{
    cases, contacts, conversations, followups, notice_responses, placements, trainees, trainings,
};
use crate::db::{DbConn, DbError};
use crate::sms::outbox::{self, Draft};
use crate::templates::TemplateError;
use crate::AppState;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = followups)]
pub struct Followup {
    pub id: String,
    pub contact_id: ContactId,
    pub subject: String,
    pub placement_id: Option<String>,
    pub schedule: ScheduleKind,
    pub step: String,
    pub due_at: NaiveDateTime,
    pub status: FollowupStatus,
    pub question: Option<String>,
    pub answers: String,
    pub language: Option<String>,
    pub channel_id: Option<String>,
    pub sent_at: Option<NaiveDateTime>,
    pub message_id: Option<String>,
    pub reminded_at: Option<NaiveDateTime>,
    pub first_answered_at: Option<NaiveDateTime>,
    pub answered_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub note: Option<String>,
    pub case_id: Option<String>,
    pub unpaid: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Followup {
    pub fn answers(&self) -> Answers {
        serde_json::from_str(&self.answers).unwrap_or_default()
    }

    pub fn asked(&self) -> Option<Question> {
        self.question.as_deref().and_then(Question::parse)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Template(#[from] TemplateError),
}

impl From<diesel::result::Error> for RunError {
    fn from(e: diesel::result::Error) -> Self {
        RunError::Db(DbError::Query(e))
    }
}

/// Notes kept on a follow-up that was silenced or closed early.
pub const NOTE_OPTED_OUT: &str = "opted_out";
pub const NOTE_LEFT: &str = "left";
pub const NOTE_UNREADABLE: &str = "unreadable";

/// A text in both languages goes as one SMS up to this many segments, else one per language.
pub const BOTH_SEGMENTS: u32 = 3;

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ran {
    pub scheduled: usize,
    pub asked: usize,
    pub reminded: usize,
    pub closed: usize,
    pub silenced: usize,
}

/// The job runner's task.
pub async fn periodic(state: AppState) {
    let st = state.clone();
    let ran = state.db.run(move |c| run(c, &st, st.time.now())).await;
    match ran {
        Ok(r) => {
            if r.asked + r.reminded > 0 {
                state.outbox_wake.notify_one();
            }
            if r != Ran::default() {
                tracing::info!(
                    asked = r.asked,
                    reminded = r.reminded,
                    closed = r.closed,
                    silenced = r.silenced,
                    scheduled = r.scheduled,
                    "follow-ups"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "follow-ups: run failed"),
    }
}

/// One run at `now` (tests pass a moment months ahead).
pub fn run(conn: &mut DbConn, state: &AppState, now: NaiveDateTime) -> Result<Ran, RunError> {
    let mut ran = Ran {
        scheduled: schedule_start_checks(conn, state, now)?,
        closed: close_unanswered(conn, state, now)?,
        ..Ran::default()
    };
    if !state.config.bulk_window().is_open(now) {
        return Ok(ran);
    }
    ran.reminded = remind(conn, state, now)?;
    let due: Vec<String> = followups::table
        .filter(followups::status.eq(FollowupStatus::Scheduled.as_str()))
        .filter(followups::due_at.le(now))
        .order(followups::due_at)
        .limit(state.config.followups.batch as i64)
        .select(followups::id)
        .load(conn)?;
    for id in due {
        match crate::db::transaction(conn, |c| ask(c, state, &id, now))? {
            Asking::Sent => ran.asked += 1,
            Asking::Silenced => ran.silenced += 1,
            Asking::Later => {}
        }
    }
    Ok(ran)
}

/// A week (`start_check_days`) after a worker showed interest in a notice, asks whether they
/// started, unless a placement already says so. Interest older than a month more is left.
fn schedule_start_checks(
    conn: &mut DbConn,
    state: &AppState,
    now: NaiveDateTime,
) -> Result<usize, RunError> {
    let days = state.config.followups.start_check_days as i64;
    let until = now - Duration::days(days);
    let since = until - Duration::days(30);
    let candidates: Vec<(String, ContactId, String)> = notice_responses::table
        .filter(notice_responses::created_at.le(until))
        .filter(notice_responses::created_at.gt(since))
        .select((
            notice_responses::id,
            notice_responses::contact_id,
            notice_responses::notice_id,
        ))
        .load(conn)?;
    if candidates.is_empty() {
        return Ok(0);
    }
    // Every run looks at a month of interest: what is already asked or placed is found in two
    // queries, not two a worker.
    let subjects: Vec<String> = candidates
        .iter()
        .map(|(id, _, _)| format!("interest:{id}"))
        .collect();
    let mut asked = std::collections::HashSet::new();
    for chunk in subjects.chunks(500) {
        asked.extend(
            followups::table
                .filter(followups::subject.eq_any(chunk))
                .select(followups::subject)
                .load::<String>(conn)?,
        );
    }
    let notice_ids: std::collections::BTreeSet<&str> =
        candidates.iter().map(|(_, _, n)| n.as_str()).collect();
    let notice_ids: Vec<&str> = notice_ids.into_iter().collect();
    let placed: std::collections::HashSet<(ContactId, Option<String>)> = placements::table
        .filter(placements::notice_id.eq_any(&notice_ids))
        .select((placements::contact_id, placements::notice_id))
        .load(conn)?
        .into_iter()
        .collect();
    let mut n = 0;
    for ((_, contact_id, notice_id), subject) in candidates.into_iter().zip(subjects) {
        if asked.contains(&subject) || placed.contains(&(contact_id.clone(), Some(notice_id))) {
            continue;
        }
        super::placements::insert_followup(
            conn,
            &contact_id,
            &subject,
            None,
            ScheduleKind::Start,
            "start",
            now,
            now,
        )?;
        n += 1;
    }
    Ok(n)
}

enum Asking {
    Sent,
    Silenced,
    /// Not now (the worker is in another dialog, or answering another follow-up).
    Later,
}

/// Why a follow-up no longer makes sense, if it does not, as the note kept on it: `opted_out`,
/// `left`, or `case:<reference>` (a case is open against the employer).
fn silence_reason(
    conn: &mut DbConn,
    f: &Followup,
    contact: &Contact,
) -> Result<Option<String>, DbError> {
    if contact.opted_out {
        return Ok(Some(NOTE_OPTED_OUT.into()));
    }
    let Some(pid) = &f.placement_id else {
        return Ok(None);
    };
    let Some(p) = super::placements::get(conn, pid)? else {
        return Ok(None);
    };
    if p.ended_on.is_some() {
        return Ok(Some(NOTE_LEFT.into()));
    }
    let open: Vec<&str> = CaseState::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| s.as_str())
        .collect();
    let case: Option<String> = cases::table
        .filter(cases::employer_key.eq(&p.employer_key))
        .filter(cases::state.eq_any(&open))
        .select(cases::reference)
        .first(conn)
        .optional()?;
    Ok(case.map(|r| format!("case:{r}")))
}

fn ask(
    conn: &mut DbConn,
    state: &AppState,
    id: &str,
    now: NaiveDateTime,
) -> Result<Asking, RunError> {
    let Some(f) = followups::table
        .find(id)
        .filter(followups::status.eq(FollowupStatus::Scheduled.as_str()))
        .select(Followup::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(Asking::Later);
    };
    let contact: Contact = contacts::table
        .find(&f.contact_id)
        .select(Contact::as_select())
        .first(conn)?;
    if let Some(why) = silence_reason(conn, &f, &contact)? {
        diesel::update(followups::table.find(&f.id))
            .set((
                followups::status.eq(FollowupStatus::Silenced.as_str()),
                followups::note.eq(&why),
                followups::closed_at.eq(now),
                followups::updated_at.eq(now),
            ))
            .execute(conn)?;
        return Ok(Asking::Silenced);
    }
    // One conversation at a time: not while another follow-up waits for answers, nor while
    // the worker is in the middle of a dialog.
    let busy: i64 = followups::table
        .filter(followups::contact_id.eq(&f.contact_id))
        .filter(followups::status.eq(FollowupStatus::Open.as_str()))
        .count()
        .get_result(conn)?;
    let idle = Duration::minutes(state.config.dialog.idle_reminder_minutes as i64);
    let talking: i64 = conversations::table
        .filter(conversations::contact_id.eq(&f.contact_id))
        .filter(conversations::status.eq(ConversationStatus::Open))
        .filter(conversations::updated_at.gt(now - idle))
        .count()
        .get_result(conn)?;
    if busy > 0 || talking > 0 {
        return Ok(Asking::Later);
    }
    let subscribed =
        crate::alerts::register::get(conn, &contact.id)?.is_some_and(|w| w.alerts_consent);
    let Some(first) = questions::next(f.schedule, &Answers::default(), subscribed) else {
        return Ok(Asking::Later);
    };
    let lang = contact.lang();
    let about = about(conn, &f)?;
    let channel = channel_for(conn, state, &contact)?;
    let bodies = state.templates.render_parts(
        lang,
        &[("followup_intro", &about), (&first.template(), &about)],
        BOTH_SEGMENTS,
    )?;
    let kind = format!("followup_{}", f.schedule.as_str());
    let first_message = queue(conn, state, &contact, &channel, bodies, &kind)?;
    diesel::update(followups::table.find(&f.id))
        .set((
            followups::status.eq(FollowupStatus::Open.as_str()),
            followups::question.eq(first.as_str()),
            followups::language.eq(lang.as_str()),
            followups::channel_id.eq(&channel),
            followups::sent_at.eq(now),
            followups::message_id.eq(first_message),
            followups::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(Asking::Sent)
}

/// Queues a follow-up's SMS (one, or one per language) to the worker; returns the first's id.
fn queue(
    conn: &mut DbConn,
    state: &AppState,
    contact: &Contact,
    channel: &str,
    bodies: Vec<String>,
    kind: &str,
) -> Result<Option<String>, RunError> {
    let mut first = None;
    for body in bodies {
        let id = outbox::enqueue(
            conn,
            &state.config.outbox,
            &Draft {
                channel_id: channel.to_string(),
                contact_id: contact.id.clone(),
                phone: contact.phone.clone(),
                body,
                priority: PRIORITY_NOTICE,
                kind: Some(kind.to_string()),
                in_reply_to: None,
            },
        )?;
        first.get_or_insert(id);
    }
    Ok(first)
}

/// What the texts name: the employer (and its Tibetan name), the course, the notice.
pub fn about(conn: &mut DbConn, f: &Followup) -> Result<serde_json::Value, DbError> {
    let (kind, id) = f.subject.split_once(':').unwrap_or(("", ""));
    Ok(match kind {
        "placement" => {
            let p = super::placements::get(conn, id)?;
            let employer = p.as_ref().map(|p| p.employer.clone()).unwrap_or_default();
            let employer_bo = match p.as_ref().and_then(|p| p.project_id.clone()) {
                Some(pid) => crate::db::schema::projects::table
                    .find(pid)
                    .select(crate::db::schema::projects::name_bo)
                    .first::<Option<String>>(conn)
                    .optional()?
                    .flatten(),
                None => None,
            };
            // The Tibetan name without its final shad: the question puts its own after it.
            let employer_bo = employer_bo.unwrap_or(employer.clone());
            json!({
                "employer": employer,
                "employer_bo": employer_bo.trim_end_matches('།').trim_end(),
            })
        }
        "trainee" => {
            let course: Option<String> = trainees::table
                .inner_join(trainings::table)
                .filter(trainees::id.eq(id))
                .select(trainings::course)
                .first(conn)
                .optional()?;
            json!({ "course": course })
        }
        _ => {
            let notice: Option<(String, String)> = notice_responses::table
                .inner_join(crate::db::schema::notices::table)
                .filter(notice_responses::id.eq(id))
                .select((
                    crate::db::schema::notices::employer,
                    crate::db::schema::notices::code,
                ))
                .first(conn)
                .optional()?;
            let (employer, code) = notice.unwrap_or_default();
            json!({ "employer": employer, "employer_bo": employer, "code": code })
        }
    })
}

/// The channel a follow-up goes by, as for every bulk message: the channel of the worker's
/// county on the register, else the default.
fn channel_for(conn: &mut DbConn, state: &AppState, contact: &Contact) -> Result<String, DbError> {
    let county = crate::alerts::register::get(conn, &contact.id)?.and_then(|w| w.county);
    Ok(state.channels.for_county(county.as_deref()).to_string())
}

/// One reminder: the question asked again, `remind_after_days` after it was last asked.
fn remind(conn: &mut DbConn, state: &AppState, now: NaiveDateTime) -> Result<usize, RunError> {
    let before = now - Duration::days(state.config.followups.remind_after_days as i64);
    let due: Vec<Followup> = followups::table
        .filter(followups::status.eq(FollowupStatus::Open.as_str()))
        .filter(followups::reminded_at.is_null())
        .filter(followups::updated_at.le(before))
        .limit(state.config.followups.batch as i64)
        .select(Followup::as_select())
        .load(conn)?;
    let mut n = 0;
    for f in due {
        n += crate::db::transaction(conn, |c| -> Result<usize, RunError> {
            let taken = diesel::update(
                followups::table
                    .find(&f.id)
                    .filter(followups::status.eq(FollowupStatus::Open.as_str()))
                    .filter(followups::reminded_at.is_null()),
            )
            .set((
                followups::reminded_at.eq(now),
                followups::updated_at.eq(now),
            ))
            .execute(c)?;
            if taken == 0 {
                return Ok(0);
            }
            let contact: Contact = contacts::table
                .find(&f.contact_id)
                .select(Contact::as_select())
                .first(c)?;
            if contact.opted_out {
                return Ok(0);
            }
            let Some(q) = f.asked() else { return Ok(0) };
            let lang = f
                .language
                .as_deref()
                .and_then(Language::parse)
                .unwrap_or(contact.lang());
            let about = about(c, &f)?;
            let channel = f
                .channel_id
                .clone()
                .unwrap_or_else(|| state.channels.default_id().to_string());
            let bodies = state.templates.render_parts(
                lang,
                &[("followup_reminder", &about), (&q.template(), &about)],
                BOTH_SEGMENTS,
            )?;
            queue(c, state, &contact, &channel, bodies, "followup_reminder")?;
            Ok(1)
        })?;
    }
    Ok(n)
}

/// Follow-ups still open `unanswered_after_days` after their reminder: `unanswered` when
/// nothing was answered, `done` with what was.
fn close_unanswered(
    conn: &mut DbConn,
    state: &AppState,
    now: NaiveDateTime,
) -> Result<usize, RunError> {
    let before = now - Duration::days(state.config.followups.unanswered_after_days as i64);
    let stale: Vec<Followup> = followups::table
        .filter(followups::status.eq(FollowupStatus::Open.as_str()))
        .filter(followups::reminded_at.le(before))
        .filter(followups::updated_at.le(before))
        .select(Followup::as_select())
        .load(conn)?;
    for f in &stale {
        let status = if f.answered_at.is_some() {
            FollowupStatus::Done
        } else {
            FollowupStatus::Unanswered
        };
        diesel::update(
            followups::table
                .find(&f.id)
                .filter(followups::status.eq(FollowupStatus::Open.as_str())),
        )
        .set((
            followups::status.eq(status.as_str()),
            followups::question.eq(None::<String>),
            followups::closed_at.eq(now),
            followups::updated_at.eq(now),
        ))
        .execute(conn)?;
    }
    Ok(stale.len())
}

/// The follow-up waiting for this worker's answers, if any.
pub fn open_for(conn: &mut DbConn, contact_id: &ContactId) -> Result<Option<Followup>, DbError> {
    Ok(followups::table
        .filter(followups::contact_id.eq(contact_id))
        .filter(followups::status.eq(FollowupStatus::Open.as_str()))
        .order(followups::updated_at.desc())
        .select(Followup::as_select())
        .first(conn)
        .optional()?)
}

/// The worker opted out: the follow-up waiting for their answers closes (with what they
/// answered), and the scheduled ones fall silent.
pub fn opted_out(
    conn: &mut DbConn,
    contact_id: &ContactId,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    for f in followups::table
        .filter(followups::contact_id.eq(contact_id))
        .filter(followups::status.eq(FollowupStatus::Open.as_str()))
        .select(Followup::as_select())
        .load(conn)?
    {
        let status = if f.answered_at.is_some() {
            FollowupStatus::Done
        } else {
            FollowupStatus::Silenced
        };
        diesel::update(followups::table.find(&f.id))
            .set((
                followups::status.eq(status.as_str()),
                followups::question.eq(None::<String>),
                followups::note.eq(NOTE_OPTED_OUT),
                followups::closed_at.eq(now),
                followups::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    silence_scheduled(conn, Some(contact_id), None, NOTE_OPTED_OUT, now)?;
    Ok(())
}

/// Silences, with `note`, the follow-ups still scheduled for a worker or for a placement.
pub fn silence_scheduled(
    conn: &mut DbConn,
    contact_id: Option<&ContactId>,
    placement_id: Option<&str>,
    note: &str,
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    let mut q = diesel::update(followups::table)
        .filter(followups::status.eq(FollowupStatus::Scheduled.as_str()))
        .into_boxed();
    if let Some(c) = contact_id {
        q = q.filter(followups::contact_id.eq(c));
    }
    if let Some(p) = placement_id {
        q = q.filter(followups::placement_id.eq(p));
    }
    Ok(q.set((
        followups::status.eq(FollowupStatus::Silenced.as_str()),
        followups::note.eq(note),
        followups::closed_at.eq(now),
        followups::updated_at.eq(now),
    ))
    .execute(conn)?)
}
