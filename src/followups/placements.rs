//! Placements and trainings, and the follow-ups each schedules when it is recorded.
//!
//! One set of checks (`check`) for the console form, the API and the CSV import. Recording the
//! same placement twice (same worker, employer and start date) records it once.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::{due_at, FollowupStatus, FollowupsConfig, PlacementSource, ScheduleKind};
use crate::alerts::register::{self, WorkerRow};
use crate::alerts::Employment;
use crate::db::models::{Contact, ContactId};
use crate::db::schema::{followups, placements, trainees, trainings};
use crate::db::{new_id, DbConn, DbError};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = placements)]
pub struct Placement {
    pub id: String,
    pub contact_id: ContactId,
    pub employer: String,
    pub employer_key: String,
    pub project_id: Option<String>,
    pub notice_id: Option<String>,
    pub agency: Option<String>,
    pub county: Option<String>,
    pub place_outside: Option<String>,
    pub trade: Option<String>,
    pub start_on: NaiveDate,
    pub source: PlacementSource,
    pub recorded_by: String,
    pub schedule_version: String,
    pub ended_on: Option<NaiveDate>,
    pub end_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Placement {
    /// Organised work outside Tibet (the travel subsidy's condition).
    pub fn outside(&self) -> bool {
        self.place_outside.is_some()
    }
}

/// What a placement form, an API body or a CSV row gives, as text.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct PlacementInput {
    /// The worker's phone number.
    pub phone: String,
    /// The employer's name; may be left out when a registered project code is given.
    #[serde(default)]
    pub employer: String,
    #[serde(default)]
    pub project_code: Option<String>,
    /// The job notice (its code, e.g. `1234`) the worker was placed through.
    #[serde(default)]
    pub notice_code: Option<String>,
    /// The broker's agency; a broker's own placements always carry theirs.
    #[serde(default)]
    pub agency: Option<String>,
    /// A county of the bureau (Chinese name), for work in Tibet…
    #[serde(default)]
    pub county: Option<String>,
    /// …or where outside Tibet.
    #[serde(default)]
    pub place_outside: Option<String>,
    /// A trade code (`construction`, …).
    #[serde(default)]
    pub trade: Option<String>,
    /// `YYYY-MM-DD`.
    pub start_on: String,
}

/// A placement that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valid {
    pub phone: String,
    pub employer: String,
    pub project_id: Option<String>,
    pub notice_id: Option<String>,
    pub agency: Option<String>,
    pub county: Option<String>,
    pub place_outside: Option<String>,
    pub trade: Option<String>,
    pub start_on: NaiveDate,
}

/// A field's problem: the field, and a code the console and the API translate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
}

/// What the checks compare against.
pub struct Rules<'a> {
    pub counties: &'a [crate::places::County],
    pub trades: &'a [crate::alerts::Trade],
    pub country_code: &'a str,
    pub today: NaiveDate,
}

impl<'a> Rules<'a> {
    /// The configured counties, trades and country code, and the bureau's date at `now`.
    pub fn at(state: &'a crate::AppState, now: NaiveDateTime) -> Rules<'a> {
        Rules {
            counties: &state.config.counties,
            trades: &state.config.alerts.trades,
            country_code: &state.config.default_country_code,
            today: state.config.local(now).date(),
        }
    }
}

/// The longest employer or agency name, and place outside Tibet, in characters.
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_PLACE_CHARS: usize = 60;
/// How far from today a start (or a course's end) may be: recorded ahead of time, or late.
pub const MAX_DAYS_AHEAD: i64 = 90;
pub const MAX_DAYS_BACK: i64 = 366 * 2;

fn clean(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// Checks a placement; looks up its project and notice codes.
pub fn check(
    conn: &mut DbConn,
    rules: &Rules,
    input: &PlacementInput,
) -> Result<Result<Valid, Vec<FieldError>>, DbError> {
    let mut errors = Vec::new();
    let mut err = |field, code| errors.push(FieldError { field, code });
    let phone = match crate::text::normalize_phone(input.phone.trim(), rules.country_code) {
        Ok(p) => p,
        Err(_) if input.phone.trim().is_empty() => {
            err("phone", "required");
            String::new()
        }
        Err(_) => {
            err("phone", "bad_phone");
            String::new()
        }
    };
    let mut employer = input.employer.trim().to_string();
    let mut county = clean(&input.county);
    let mut project_id = None;
    if let Some(code) = clean(&input.project_code) {
        match crate::projects::get_by_code(conn, &code)? {
            Some(p) => {
                if employer.is_empty() {
                    employer = p.name_zh.clone();
                }
                if county.is_none() && input.place_outside.is_none() {
                    county = Some(p.county.clone());
                }
                project_id = Some(p.id);
            }
            None => err("project_code", "unknown_project"),
        }
    }
    let mut notice_id = None;
    let mut outside_from_notice = None;
    let mut trade = clean(&input.trade);
    if let Some(code) = clean(&input.notice_code) {
        let code = crate::text::normalize_keyword(&code);
        let code = code.trim_start_matches("YX").trim();
        match crate::alerts::notices::by_code(conn, code)? {
            Some(n) => {
                if employer.is_empty() {
                    employer = n.employer.clone();
                }
                if trade.is_none() {
                    trade = Some(n.trade.clone());
                }
                // The notice's project, so the placement joins that project's early warning
                // and its follow-ups fall silent when a case on the project is open.
                if project_id.is_none() {
                    if let Some(code) = &n.project_code {
                        if let Some(p) = crate::projects::get_by_code(conn, code)? {
                            if county.is_none() && clean(&input.place_outside).is_none() {
                                county = n.county.clone().or(Some(p.county.clone()));
                            }
                            project_id = Some(p.id);
                        }
                    }
                }
                if county.is_none() && clean(&input.place_outside).is_none() {
                    county = n.county.clone();
                    outside_from_notice = n.place_outside.clone();
                }
                notice_id = Some(n.id);
            }
            None => err("notice_code", "unknown_notice"),
        }
    }
    if employer.is_empty() {
        err("employer", "required");
    } else if employer.chars().count() > MAX_NAME_CHARS {
        err("employer", "too_long");
    }
    let place_outside = clean(&input.place_outside).or(outside_from_notice);
    match (&county, &place_outside) {
        (Some(c), None) if !rules.counties.iter().any(|k| &k.zh == c) => {
            err("county", "unknown_county")
        }
        (Some(_), Some(_)) => err("place_outside", "county_or_outside"),
        (None, None) => err("county", "place_needed"),
        (None, Some(p)) if p.chars().count() > MAX_PLACE_CHARS => err("place_outside", "too_long"),
        _ => {}
    }
    if let Some(t) = &trade {
        if !rules.trades.iter().any(|k| &k.code == t || k.zh == *t) {
            err("trade", "unknown_trade");
        }
    }
    let trade = trade.map(|t| {
        rules
            .trades
            .iter()
            .find(|k| k.zh == t)
            .map(|k| k.code.clone())
            .unwrap_or(t)
    });
    let start_on = match NaiveDate::parse_from_str(input.start_on.trim(), "%Y-%m-%d") {
        Ok(d) if d > rules.today + Duration::days(MAX_DAYS_AHEAD) => {
            err("start_on", "too_far");
            None
        }
        Ok(d) if d < rules.today - Duration::days(MAX_DAYS_BACK) => {
            err("start_on", "too_old");
            None
        }
        Ok(d) => Some(d),
        Err(_) if input.start_on.trim().is_empty() => {
            err("start_on", "required");
            None
        }
        Err(_) => {
            err("start_on", "bad_date");
            None
        }
    };
    let agency = clean(&input.agency);
    if agency
        .as_ref()
        .is_some_and(|a| a.chars().count() > MAX_NAME_CHARS)
    {
        err("agency", "too_long");
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    Ok(Ok(Valid {
        phone,
        employer,
        project_id,
        notice_id,
        agency,
        county,
        place_outside,
        trade,
        start_on: start_on.unwrap_or(rules.today),
    }))
}

/// What follow-ups are scheduled about: a placement, or a trainee of a course.
pub struct Subject<'a> {
    pub contact_id: &'a ContactId,
    /// `placement:<id>` or `trainee:<id>`.
    pub subject: &'a str,
    pub placement_id: Option<&'a str>,
    pub kind: ScheduleKind,
    /// The placement's start, or the training's end.
    pub from: NaiveDate,
}

/// Creates the follow-up rows of one subject: one per step of its schedule, each due
/// `step` after its date. Rows already there stay as they are.
pub fn schedule(
    conn: &mut DbConn,
    cfg: &FollowupsConfig,
    utc_offset_secs: i32,
    s: &Subject,
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    let mut n = 0;
    for step in cfg.steps(s.kind) {
        let exists: i64 = followups::table
            .filter(followups::subject.eq(s.subject))
            .filter(followups::step.eq(&step.name))
            .count()
            .get_result(conn)?;
        if exists > 0 {
            continue;
        }
        insert_followup(
            conn,
            s.contact_id,
            s.subject,
            s.placement_id,
            s.kind,
            &step.name,
            due_at(s.from, step, utc_offset_secs),
            now,
        )?;
        n += 1;
    }
    Ok(n)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn insert_followup(
    conn: &mut DbConn,
    contact_id: &ContactId,
    subject: &str,
    placement_id: Option<&str>,
    kind: ScheduleKind,
    step: &str,
    due_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::insert_into(followups::table)
        .values((
            followups::id.eq(new_id()),
            followups::contact_id.eq(contact_id),
            followups::subject.eq(subject),
            followups::placement_id.eq(placement_id),
            followups::schedule.eq(kind.as_str()),
            followups::step.eq(step),
            followups::due_at.eq(due_at),
            followups::status.eq(FollowupStatus::Scheduled.as_str()),
            followups::answers.eq("{}"),
            followups::unpaid.eq(false),
            followups::created_at.eq(now),
            followups::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The register row of a placed worker: created if they had none, marked working.
fn mark_working(conn: &mut DbConn, phone: &str, actor: &str, via: &str) -> Result<(), DbError> {
    let row = WorkerRow {
        phone: phone.to_string(),
        employment: Some(Employment::Working),
        ..WorkerRow::default()
    };
    register::save(conn, &row, actor, via)?;
    Ok(())
}

/// What recording did.
#[derive(Debug)]
pub struct Recorded {
    pub placement: Placement,
    /// False: the same placement was recorded before; nothing changed.
    pub created: bool,
}

/// Records a placement and schedules its follow-ups under the schedule in force now. Call
/// inside a transaction.
#[allow(clippy::too_many_arguments)]
pub fn record(
    conn: &mut DbConn,
    cfg: &FollowupsConfig,
    utc_offset_secs: i32,
    v: &Valid,
    source: PlacementSource,
    actor: &str,
    now: NaiveDateTime,
) -> Result<Recorded, DbError> {
    let employer_key = crate::cases::rules::employer_key(v.project_id.as_deref(), &v.employer);
    crate::db::lock_key(conn, &format!("placement:{}", v.phone))?;
    let contact: Contact = register::contact_of(conn, &v.phone)?;
    let existing = placements::table
        .filter(placements::contact_id.eq(&contact.id))
        .filter(placements::employer_key.eq(&employer_key))
        .filter(placements::start_on.eq(v.start_on))
        .select(Placement::as_select())
        .first(conn)
        .optional()?;
    if let Some(placement) = existing {
        return Ok(Recorded {
            placement,
            created: false,
        });
    }
    mark_working(conn, &v.phone, actor, source.as_str())?;
    let id = new_id();
    diesel::insert_into(placements::table)
        .values((
            placements::id.eq(&id),
            placements::contact_id.eq(&contact.id),
            placements::employer.eq(&v.employer),
            placements::employer_key.eq(&employer_key),
            placements::project_id.eq(&v.project_id),
            placements::notice_id.eq(&v.notice_id),
            placements::agency.eq(&v.agency),
            placements::county.eq(&v.county),
            placements::place_outside.eq(&v.place_outside),
            placements::trade.eq(&v.trade),
            placements::start_on.eq(v.start_on),
            placements::source.eq(source.as_str()),
            placements::recorded_by.eq(actor),
            placements::schedule_version.eq(cfg.version(ScheduleKind::Placement)),
            placements::created_at.eq(now),
            placements::updated_at.eq(now),
        ))
        .execute(conn)?;
    let subject = format!("placement:{id}");
    schedule(
        conn,
        cfg,
        utc_offset_secs,
        &Subject {
            contact_id: &contact.id,
            subject: &subject,
            placement_id: Some(&id),
            kind: ScheduleKind::Placement,
            from: v.start_on,
        },
        now,
    )?;
    crate::cases::audit_about(
        conn,
        &subject,
        actor,
        "placement_recorded",
        Some(&format!("{} from {}", v.employer, v.start_on)),
    )?;
    let placement = get(conn, &id)?.ok_or(diesel::result::Error::NotFound)?;
    Ok(Recorded {
        placement,
        created: true,
    })
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<Placement>, DbError> {
    Ok(placements::table
        .find(id)
        .select(Placement::as_select())
        .first(conn)
        .optional()?)
}

/// A placement with its worker's contact.
pub fn get_with_contact(
    conn: &mut DbConn,
    id: &str,
) -> Result<Option<(Placement, Contact)>, DbError> {
    Ok(placements::table
        .find(id)
        .inner_join(crate::db::schema::contacts::table)
        .select((Placement::as_select(), Contact::as_select()))
        .first(conn)
        .optional()?)
}

/// A placement's follow-ups, soonest first.
pub fn followups_of(
    conn: &mut DbConn,
    placement_id: &str,
) -> Result<Vec<super::run::Followup>, DbError> {
    Ok(followups::table
        .filter(followups::placement_id.eq(placement_id))
        .order((followups::due_at, followups::step))
        .select(super::run::Followup::as_select())
        .load(conn)?)
}

/// The placements a listing shows: all, or one agency's; newest start first.
pub fn list(
    conn: &mut DbConn,
    agency: Option<&str>,
    limit: i64,
) -> Result<Vec<(Placement, Contact)>, DbError> {
    let mut q = placements::table
        .inner_join(crate::db::schema::contacts::table)
        .select((Placement::as_select(), Contact::as_select()))
        .order((placements::start_on.desc(), placements::created_at.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(a) = agency {
        q = q.filter(placements::agency.eq(a));
    }
    Ok(q.load(conn)?)
}

/// A worker's placements, newest first.
pub fn of_worker(conn: &mut DbConn, contact_id: &ContactId) -> Result<Vec<Placement>, DbError> {
    Ok(placements::table
        .filter(placements::contact_id.eq(contact_id))
        .order(placements::start_on.desc())
        .select(Placement::as_select())
        .load(conn)?)
}

/// A training course as `hotline trainings import` reads it.
#[derive(Debug, Clone)]
pub struct TrainingInput {
    pub course: String,
    pub provider: String,
    pub trade: Option<String>,
    pub end_on: NaiveDate,
    /// E.164 numbers of the trainees.
    pub phones: Vec<String>,
}

/// What recording a training did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TrainingRecorded {
    pub training_id: String,
    pub trainees_added: usize,
    pub trainees_known: usize,
}

/// Records a course (once: the same course, provider and end date is the same course) and its
/// trainees, and schedules each new trainee's follow-ups. Call inside a transaction.
pub fn record_training(
    conn: &mut DbConn,
    cfg: &FollowupsConfig,
    utc_offset_secs: i32,
    t: &TrainingInput,
    actor: &str,
    now: NaiveDateTime,
) -> Result<TrainingRecorded, DbError> {
    crate::db::lock_key(conn, "trainings:import")?;
    let existing: Option<String> = trainings::table
        .filter(trainings::course.eq(&t.course))
        .filter(trainings::provider.eq(&t.provider))
        .filter(trainings::end_on.eq(t.end_on))
        .select(trainings::id)
        .first(conn)
        .optional()?;
    let training_id = match existing {
        Some(id) => id,
        None => {
            let id = new_id();
            diesel::insert_into(trainings::table)
                .values((
                    trainings::id.eq(&id),
                    trainings::course.eq(&t.course),
                    trainings::provider.eq(&t.provider),
                    trainings::trade.eq(&t.trade),
                    trainings::end_on.eq(t.end_on),
                    trainings::schedule_version.eq(cfg.version(ScheduleKind::Training)),
                    trainings::recorded_by.eq(actor),
                    trainings::created_at.eq(now),
                ))
                .execute(conn)?;
            crate::cases::audit_about(
                conn,
                &format!("training:{id}"),
                actor,
                "training_recorded",
                Some(&format!(
                    "{} ({}) ending {}",
                    t.course, t.provider, t.end_on
                )),
            )?;
            id
        }
    };
    let mut out = TrainingRecorded {
        training_id: training_id.clone(),
        ..TrainingRecorded::default()
    };
    for phone in &t.phones {
        let contact = register::contact_of(conn, phone)?;
        let known: Option<String> = trainees::table
            .filter(trainees::training_id.eq(&training_id))
            .filter(trainees::contact_id.eq(&contact.id))
            .select(trainees::id)
            .first(conn)
            .optional()?;
        if known.is_some() {
            out.trainees_known += 1;
            continue;
        }
        let id = new_id();
        diesel::insert_into(trainees::table)
            .values((
                trainees::id.eq(&id),
                trainees::training_id.eq(&training_id),
                trainees::contact_id.eq(&contact.id),
                trainees::created_at.eq(now),
            ))
            .execute(conn)?;
        if register::get(conn, &contact.id)?.is_none() {
            let row = WorkerRow {
                phone: phone.clone(),
                training: Some(Some(t.course.clone())),
                ..WorkerRow::default()
            };
            register::save(conn, &row, actor, "training import")?;
        }
        schedule(
            conn,
            cfg,
            utc_offset_secs,
            &Subject {
                contact_id: &contact.id,
                subject: &format!("trainee:{id}"),
                placement_id: None,
                kind: ScheduleKind::Training,
                from: t.end_on,
            },
            now,
        )?;
        out.trainees_added += 1;
    }
    Ok(out)
}
