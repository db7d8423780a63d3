//! Joint-enforcement referrals: a case sent to another department (住建, 发改, 公安 …) by
//! email with a signed link, tracked until the department answers, reminded when it does not.
//!
//! Which departments to suggest follows 保障农民工工资支付条例 (rules in `suggested`; their
//! wording in templates/referral_rules.zh.toml). A department sees the case summary only:
//! never a complainant's name or number, anonymous or not.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;

use super::audit;
use super::rules::PriorityFacts;
use crate::db::models::{Case, Department, Project, Referral, ReferralUpdate};
use crate::db::models::{CaseId, CaseState, ReferralStatus, ReferralUpdateKind};
use crate::db::schema::{cases, complaints, departments, projects, referral_updates, referrals};
use crate::db::{new_id, now, DbConn, DbError};
use crate::templates::TemplateError;
use crate::AppState;

/// Longest update a department may post, in characters.
pub const MAX_UPDATE_CHARS: usize = 4000;

/// A department the inspector might refer the case to, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Suggestion {
    /// Department code (`住建`, `发改` …).
    pub department: String,
    /// Suggested reason, in Chinese, for the inspector to edit.
    pub reason: String,
    /// Which rule suggested it: `government_funding`, `government_sector`, `criminal`, `sector`.
    pub rule: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum ReferralError {
    #[error("no case {0}")]
    CaseNotFound(String),
    #[error("no referral {0}")]
    NotFound(String),
    #[error("no department {0}")]
    UnknownDepartment(String),
    #[error("department {0} has no email address: an administrator must add one before cases can be referred to it")]
    NoEmail(String),
    #[error("department {0} is inactive")]
    Inactive(String),
    #[error("the case is already referred to {0} and the referral is still open")]
    AlreadyOpen(String),
    #[error("the referral is closed")]
    Closed,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ReferralError {
    fn from(e: diesel::result::Error) -> Self {
        ReferralError::Db(DbError::Query(e))
    }
}

// ---------------------------------------------------------------------------------------------
// Suggestions

/// The wording file: reasons per rule, and how case states read to a department.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleTexts {
    reasons: std::collections::BTreeMap<String, String>,
    case_states: std::collections::BTreeMap<String, String>,
}

fn rule_texts() -> &'static RuleTexts {
    static CELL: OnceLock<RuleTexts> = OnceLock::new();
    // Compiled in and checked by a unit test, so a bad file fails the build's tests, not a
    // request.
    CELL.get_or_init(|| {
        toml::from_str(include_str!("../../templates/referral_rules.zh.toml"))
            .expect("templates/referral_rules.zh.toml is valid")
    })
}

/// How the case's state reads in an email or on the acknowledgement page.
pub fn state_label(state: CaseState) -> String {
    rule_texts()
        .case_states
        .get(state.as_str())
        .cloned()
        .unwrap_or_else(|| state.to_string())
}

/// What the rules look at.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub government_invested: bool,
    /// The registered project's department, if the case has a project.
    pub project_department: Option<String>,
    /// Arrears past the criminal threshold (`CaseRules::criminal_hint`).
    pub criminal: bool,
}

/// Which departments, by which rule, before skipping those that cannot or need not get one:
/// `known` are the active departments, `open` those already holding an open referral.
pub fn suggested(facts: &Facts, known: &[String], open: &[String]) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    let sector = facts
        .project_department
        .as_deref()
        // 人社 is us; 公安 and 发改 come from their own rules.
        .filter(|d| !matches!(*d, "人社" | "其他" | "公安" | "发改"));
    if facts.government_invested {
        out.push(("发改".into(), "government_funding"));
        if let Some(d) = sector {
            out.push((d.into(), "government_sector"));
        }
    } else if let Some(d) = sector {
        out.push((d.into(), "sector"));
    }
    // 拒不支付劳动报酬罪. The schema records no "employer evaded" fact yet (transferred assets,
    // absconded), so the amount threshold alone suggests it; the reason asks 公安 to check.
    if facts.criminal {
        out.push(("公安".into(), "criminal"));
    }
    let mut seen = Vec::new();
    out.retain(|(d, _)| {
        let keep = known.contains(d) && !open.contains(d) && !seen.contains(d);
        seen.push(d.clone());
        keep
    });
    out
}

/// Departments the inspector might refer `case` to, with a reason to start from.
pub fn suggest(
    conn: &mut DbConn,
    state: &AppState,
    case: &Case,
) -> Result<Vec<Suggestion>, DbError> {
    let project = project_of(conn, case)?;
    let months = max_months(conn, &case.id)?;
    let facts = Facts {
        government_invested: project.as_ref().is_some_and(|p| p.government_invested),
        project_department: project.as_ref().map(|p| p.department.clone()),
        criminal: state.config.cases.criminal_hint(&PriorityFacts {
            government_invested: project.as_ref().is_some_and(|p| p.government_invested),
            workers: case.workers.max(0) as u32,
            amount_yuan: case.amount_yuan.max(0) as u64,
            months: months.unwrap_or(0).max(0) as u32,
        }),
    };
    let active: Vec<Department> = departments::table
        .filter(departments::active.eq(true))
        .select(Department::as_select())
        .load(conn)?;
    let known: Vec<String> = active.iter().map(|d| d.code.clone()).collect();
    let open = open_departments(conn, &case.id)?;
    let data = json!({
        "project_code": project.as_ref().map(|p| p.code.clone()).unwrap_or_default(),
        "project_name": project.as_ref().map(|p| p.name_zh.clone()).unwrap_or_default(),
        "employer": case.employer,
        "county": case.county,
        "workers": case.workers,
        "amount": crate::text::thousands(case.amount_yuan),
    });
    let mut hb = handlebars::Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    let mut out = Vec::new();
    for (code, rule) in suggested(&facts, &known, &open) {
        let name = active
            .iter()
            .find(|d| d.code == code)
            .map(|d| d.name_zh.clone())
            .unwrap_or_default();
        let mut d = data.clone();
        d["department_name"] = name.into();
        let text = rule_texts()
            .reasons
            .get(rule)
            .map(String::as_str)
            .unwrap_or("");
        let reason = match hb.render_template(text, &d) {
            Ok(r) => r.trim().to_string(),
            Err(e) => {
                // A wording mistake must not hide the suggestion itself.
                tracing::error!(rule, error = %e, "referral reason template");
                String::new()
            }
        };
        out.push(Suggestion {
            department: code,
            reason,
            rule,
        });
    }
    Ok(out)
}

fn project_of(conn: &mut DbConn, case: &Case) -> Result<Option<Project>, DbError> {
    Ok(match &case.project_id {
        Some(p) => projects::table
            .find(p)
            .select(Project::as_select())
            .first(conn)
            .optional()?,
        None => None,
    })
}

fn max_months(conn: &mut DbConn, case_id: &CaseId) -> Result<Option<i32>, DbError> {
    Ok(complaints::table
        .filter(complaints::case_id.eq(case_id))
        .select(diesel::dsl::max(complaints::months))
        .first::<Option<i32>>(conn)?)
}

fn open_departments(conn: &mut DbConn, case_id: &CaseId) -> Result<Vec<String>, DbError> {
    Ok(referrals::table
        .filter(referrals::case_id.eq(case_id))
        .filter(referrals::status.ne(ReferralStatus::Closed))
        .select(referrals::department)
        .load(conn)?)
}

// ---------------------------------------------------------------------------------------------
// Creating, answering, closing

/// Refers case `case_ref` to `department_code`, in one transaction: the referral, its `sent`
/// row, the case's `referred` audit event and the queued email. Wakes the job runner after
/// the commit itself, so callers need not.
pub fn create(
    state: &AppState,
    conn: &mut DbConn,
    case_ref: &str,
    department_code: &str,
    reason: &str,
    actor: &str,
) -> Result<Referral, ReferralError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ReferralError::Invalid(
            "say why the department should act on the case".into(),
        ));
    }
    let referral = crate::db::transaction(conn, |conn| {
        let case: Case = cases::table
            .filter(cases::reference.eq(case_ref))
            .select(Case::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| ReferralError::CaseNotFound(case_ref.to_string()))?;
        // Two inspectors referring the same case to the same department at once: one wins.
        crate::db::lock_key(conn, &format!("referral:{}:{department_code}", case.id))?;
        let dept: Department = departments::table
            .find(department_code)
            .select(Department::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| ReferralError::UnknownDepartment(department_code.to_string()))?;
        if !dept.active {
            return Err(ReferralError::Inactive(dept.name_zh));
        }
        let to = recipients(dept.email.as_deref());
        if to.is_empty() {
            return Err(ReferralError::NoEmail(dept.name_zh));
        }
        if open_departments(conn, &case.id)?.contains(&dept.code) {
            return Err(ReferralError::AlreadyOpen(dept.name_zh));
        }
        let t = now();
        let today = state.config.today();
        let id = new_id();
        let link_expires_at = t + Duration::days(state.config.referrals.link_valid_days as i64);
        let reminder_due = working_days_after(state, today);
        diesel::insert_into(referrals::table)
            .values((
                referrals::id.eq(&id),
                referrals::case_id.eq(&case.id),
                referrals::department.eq(&dept.code),
                referrals::email.eq(to.join(", ")),
                referrals::reason.eq(reason),
                referrals::status.eq(ReferralStatus::Sent),
                referrals::created_by.eq(actor),
                referrals::link_expires_at.eq(link_expires_at),
                referrals::reminder_due.eq(reminder_due),
                referrals::reminders.eq(0),
                referrals::created_at.eq(t),
                referrals::updated_at.eq(t),
            ))
            .execute(conn)?;
        add_update(conn, &id, ReferralUpdateKind::Sent, actor, None)?;
        let detail = json!({ "referral": id, "department": dept.code, "reason": reason });
        audit(
            conn,
            Some(&case.id),
            actor,
            "referred",
            Some(&detail.to_string()),
        )?;
        let referral = get(conn, &id)?;
        let data = email_data(state, conn, &case, &dept, &referral, None)?;
        let email = crate::mail::templates::render(&state.templates, "referral", to, &data)?;
        crate::mail::queue(
            conn,
            &state.config.jobs,
            &email,
            Some(&format!("referral:{id}")),
        )?;
        Ok(referral)
    })?;
    state.jobs_wake.notify_one();
    Ok(referral)
}

/// A department's address field may list several, separated by commas or semicolons.
fn recipients(field: Option<&str>) -> Vec<String> {
    field
        .unwrap_or("")
        .split([',', ';', '，', '；'])
        .map(str::trim)
        .filter(|s| s.contains('@'))
        .map(String::from)
        .collect()
}

/// The day a department is reminded: `remind_after_working_days` working days after `from`.
fn working_days_after(state: &AppState, from: NaiveDate) -> NaiveDate {
    let n = state.config.referrals.remind_after_working_days;
    match state
        .calendar
        .deadline_estimate(from, n, &[], state.config.region.as_deref())
    {
        Ok(Some((d, _))) => d,
        other => {
            // Never refuse a referral for want of calendar data; remind a little early instead.
            tracing::error!(result = ?other, "reminder date: calendar failed; counting calendar days");
            from + Duration::days(n as i64)
        }
    }
}

fn add_update(
    conn: &mut DbConn,
    referral_id: &str,
    kind: ReferralUpdateKind,
    author: &str,
    body: Option<&str>,
) -> Result<(), DbError> {
    diesel::insert_into(referral_updates::table)
        .values((
            referral_updates::id.eq(new_id()),
            referral_updates::referral_id.eq(referral_id),
            referral_updates::kind.eq(kind),
            referral_updates::author.eq(author),
            referral_updates::body.eq(body),
            referral_updates::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConn, referral_id: &str) -> Result<Referral, ReferralError> {
    referrals::table
        .find(referral_id)
        .select(Referral::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ReferralError::NotFound(referral_id.to_string()))
}

/// The case as a department sees it: no complainant's name or number, ever.
pub fn case_summary(state: &AppState, conn: &mut DbConn, case: &Case) -> Result<Value, DbError> {
    let project = project_of(conn, case)?;
    Ok(json!({
        "reference": case.reference,
        "employer": case.employer,
        "project": project.map(|p| json!({
            "code": p.code,
            "name": p.name_zh,
            "government_invested": p.government_invested,
        })),
        "county": case.county,
        "workers": case.workers,
        "amount": crate::text::thousands(case.amount_yuan),
        "months": max_months(conn, &case.id)?,
        "received_on": case.received_on.to_string(),
        "state_label": state_label(case.state),
        "remind_after": state.config.referrals.remind_after_working_days,
    }))
}

fn email_data(
    state: &AppState,
    conn: &mut DbConn,
    case: &Case,
    dept: &Department,
    r: &Referral,
    reminder: Option<i32>,
) -> Result<Value, DbError> {
    let mut d = case_summary(state, conn, case)?;
    d["department_name"] = dept.name_zh.clone().into();
    d["reason"] = r.reason.clone().into();
    d["link"] = link(state, &r.id, r.link_expires_at).into();
    d["link_expires_on"] = state
        .config
        .local(r.link_expires_at)
        .date()
        .to_string()
        .into();
    d["sent_on"] = state.config.local(r.created_at).date().to_string().into();
    d["today"] = state.config.today().to_string().into();
    d["reminder"] = reminder.unwrap_or(0).into();
    Ok(d)
}

/// Locks the referral row (PostgreSQL) and checks it is still open.
fn open_referral(conn: &mut DbConn, referral_id: &str) -> Result<Referral, ReferralError> {
    diesel::update(referrals::table.find(referral_id))
        .set(referrals::updated_at.eq(referrals::updated_at))
        .execute(conn)?;
    let r = get(conn, referral_id)?;
    if r.status == ReferralStatus::Closed {
        return Err(ReferralError::Closed);
    }
    Ok(r)
}

/// The department confirms receipt. `by` is who: `department:{code}` from the signed link, or
/// a liaison's `user:{name}` in the console. A second confirmation changes nothing.
pub fn acknowledge(
    conn: &mut DbConn,
    referral_id: &str,
    by: &str,
) -> Result<Referral, ReferralError> {
    crate::db::transaction(conn, |conn| {
        let r = open_referral(conn, referral_id)?;
        if r.status != ReferralStatus::Sent {
            return Ok(r);
        }
        let t = now();
        diesel::update(referrals::table.find(referral_id))
            .set((
                referrals::status.eq(ReferralStatus::Acknowledged),
                referrals::acknowledged_at.eq(Some(t)),
                referrals::updated_at.eq(t),
            ))
            .execute(conn)?;
        add_update(
            conn,
            referral_id,
            ReferralUpdateKind::Acknowledged,
            by,
            None,
        )?;
        let detail = json!({ "referral": r.id, "department": r.department });
        audit(
            conn,
            Some(&r.case_id),
            by,
            "referral_acknowledged",
            Some(&detail.to_string()),
        )?;
        get(conn, referral_id)
    })
}

/// The department reports progress (which also confirms receipt): status `answered`.
pub fn post_update(
    conn: &mut DbConn,
    referral_id: &str,
    by: &str,
    text: &str,
) -> Result<Referral, ReferralError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ReferralError::Invalid("the update is empty".into()));
    }
    if text.chars().count() > MAX_UPDATE_CHARS {
        return Err(ReferralError::Invalid(format!(
            "the update is longer than {MAX_UPDATE_CHARS} characters"
        )));
    }
    crate::db::transaction(conn, |conn| {
        let r = open_referral(conn, referral_id)?;
        let t = now();
        diesel::update(referrals::table.find(referral_id))
            .set((
                referrals::status.eq(ReferralStatus::Answered),
                referrals::acknowledged_at.eq(Some(r.acknowledged_at.unwrap_or(t))),
                referrals::answered_at.eq(Some(r.answered_at.unwrap_or(t))),
                referrals::updated_at.eq(t),
            ))
            .execute(conn)?;
        add_update(
            conn,
            referral_id,
            ReferralUpdateKind::Update,
            by,
            Some(text),
        )?;
        let detail = json!({ "referral": r.id, "department": r.department, "text": text });
        audit(
            conn,
            Some(&r.case_id),
            by,
            "referral_update",
            Some(&detail.to_string()),
        )?;
        get(conn, referral_id)
    })
}

/// The inspector closes the referral (the department's part is done, or no longer needed).
pub fn close(
    conn: &mut DbConn,
    referral_id: &str,
    actor: &str,
    note: Option<&str>,
) -> Result<Referral, ReferralError> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    crate::db::transaction(conn, |conn| {
        let r = open_referral(conn, referral_id)?;
        let t = now();
        diesel::update(referrals::table.find(referral_id))
            .set((
                referrals::status.eq(ReferralStatus::Closed),
                referrals::updated_at.eq(t),
            ))
            .execute(conn)?;
        add_update(conn, referral_id, ReferralUpdateKind::Closed, actor, note)?;
        let detail = json!({ "referral": r.id, "department": r.department, "note": note });
        audit(
            conn,
            Some(&r.case_id),
            actor,
            "referral_closed",
            Some(&detail.to_string()),
        )?;
        get(conn, referral_id)
    })
}

// ---------------------------------------------------------------------------------------------
// Lists

/// A case's referrals, oldest first.
pub fn for_case(conn: &mut DbConn, case_id: &CaseId) -> Result<Vec<Referral>, DbError> {
    Ok(referrals::table
        .filter(referrals::case_id.eq(case_id))
        .order(referrals::created_at)
        .select(Referral::as_select())
        .load(conn)?)
}

/// A case's referrals with their departments, oldest first.
pub fn for_case_with_departments(
    conn: &mut DbConn,
    case_id: &CaseId,
) -> Result<Vec<(Referral, Department)>, DbError> {
    Ok(referrals::table
        .inner_join(departments::table)
        .filter(referrals::case_id.eq(case_id))
        .order(referrals::created_at)
        .select((Referral::as_select(), Department::as_select()))
        .load(conn)?)
}

/// Referrals with their departments and cases, of one department when given: open ones
/// first, the nearest reminder first within; at most `limit`.
pub fn listing(
    conn: &mut DbConn,
    department: Option<&str>,
    limit: i64,
) -> Result<Vec<(Referral, Department, Case)>, DbError> {
    let mut q = referrals::table
        .inner_join(departments::table)
        .inner_join(cases::table)
        .into_boxed();
    if let Some(d) = department {
        q = q.filter(referrals::department.eq(d));
    }
    Ok(q.order((
        referrals::status.eq(ReferralStatus::Closed),
        referrals::reminder_due,
        referrals::created_at,
    ))
    .limit(limit)
    .select((
        Referral::as_select(),
        Department::as_select(),
        Case::as_select(),
    ))
    .load(conn)?)
}

/// A referral with its department and case.
pub fn with_case(
    conn: &mut DbConn,
    referral_id: &str,
) -> Result<Option<(Referral, Department, Case)>, DbError> {
    Ok(referrals::table
        .inner_join(departments::table)
        .inner_join(cases::table)
        .filter(referrals::id.eq(referral_id))
        .select((
            Referral::as_select(),
            Department::as_select(),
            Case::as_select(),
        ))
        .first(conn)
        .optional()?)
}

/// Of these cases, those with a department past its deadline to answer a referral
/// (`is_overdue`).
pub fn overdue_among(
    conn: &mut DbConn,
    case_ids: &[CaseId],
    today: NaiveDate,
) -> Result<Vec<CaseId>, DbError> {
    let waiting: Vec<Referral> = referrals::table
        .filter(referrals::case_id.eq_any(case_ids))
        .filter(referrals::status.eq(ReferralStatus::Sent))
        .select(Referral::as_select())
        .load(conn)?;
    Ok(waiting
        .into_iter()
        .filter(|r| is_overdue(r, today))
        .map(|r| r.case_id)
        .collect())
}

/// A department's referrals with their cases, open ones first, newest first within.
pub fn for_department(conn: &mut DbConn, code: &str) -> Result<Vec<(Referral, Case)>, DbError> {
    let mut rows: Vec<(Referral, Case)> = referrals::table
        .inner_join(cases::table)
        .filter(referrals::department.eq(code))
        .order(referrals::created_at.desc())
        .select((Referral::as_select(), Case::as_select()))
        .load(conn)?;
    rows.sort_by_key(|(r, _)| r.status == ReferralStatus::Closed);
    Ok(rows)
}

/// Unacknowledged past the deadline: still `sent`, and either reminded already or due before
/// `today`. (A reminder moves `reminder_due` on, so `reminders > 0` keeps a reminded referral
/// overdue.) Oldest first.
/// The same rule as `overdue`, for one referral: not acknowledged, and past its first
/// deadline (a reminder moves `reminder_due` on, so a reminded one stays overdue).
pub fn is_overdue(r: &Referral, today: NaiveDate) -> bool {
    r.status == ReferralStatus::Sent && (r.reminders > 0 || r.reminder_due < today)
}

pub fn overdue(conn: &mut DbConn, today: NaiveDate) -> Result<Vec<(Referral, Case)>, DbError> {
    Ok(referrals::table
        .inner_join(cases::table)
        .filter(referrals::status.eq(ReferralStatus::Sent))
        .filter(
            referrals::reminders
                .gt(0)
                .or(referrals::reminder_due.lt(today)),
        )
        .order(referrals::created_at)
        .select((Referral::as_select(), Case::as_select()))
        .load(conn)?)
}

/// The case a referral is about and the department it went to.
pub fn case_and_department(conn: &mut DbConn, r: &Referral) -> Result<(Case, Department), DbError> {
    let case = cases::table
        .find(&r.case_id)
        .select(Case::as_select())
        .first(conn)?;
    let dept = departments::table
        .find(&r.department)
        .select(Department::as_select())
        .first(conn)?;
    Ok((case, dept))
}

/// What happened to a referral, oldest first.
pub fn updates(conn: &mut DbConn, referral_id: &str) -> Result<Vec<ReferralUpdate>, DbError> {
    Ok(referral_updates::table
        .filter(referral_updates::referral_id.eq(referral_id))
        .order(referral_updates::created_at)
        .select(ReferralUpdate::as_select())
        .load(conn)?)
}

// ---------------------------------------------------------------------------------------------
// Reminders

/// Periodic work: queues the reminders that are due today (`remind_due`) and wakes the job
/// runner to send them. Safe in several processes at once.
pub async fn remind(state: AppState) {
    let st = state.clone();
    let today = state.config.today();
    match state.db.run(move |c| remind_due(&st, c, today)).await {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(reminders = n, "referral reminders queued");
            state.jobs_wake.notify_one();
        }
        Err(e) => tracing::error!(error = %e, "referral reminders not queued"),
    }
}

/// Queues a reminder for each referral still `sent` whose `reminder_due` has come (up to
/// `max_reminders`), and moves its `reminder_due` on. Each reminder is claimed by a
/// conditional update on its count, so two runners, or two runs the same day, send one.
/// Returns how many were queued; wakes the job runner if any.
pub fn remind_due(
    state: &AppState,
    conn: &mut DbConn,
    today: NaiveDate,
) -> Result<usize, ReferralError> {
    let max = state.config.referrals.max_reminders as i32;
    let due: Vec<String> = referrals::table
        .filter(referrals::status.eq(ReferralStatus::Sent))
        .filter(referrals::reminder_due.le(today))
        .filter(referrals::reminders.lt(max))
        .select(referrals::id)
        .load(conn)?;
    let mut queued = 0;
    for id in due {
        let sent = crate::db::transaction(conn, |conn| -> Result<bool, ReferralError> {
            let r = get(conn, &id)?;
            let next = r.reminders + 1;
            let claimed = diesel::update(
                referrals::table
                    .find(&id)
                    .filter(referrals::status.eq(ReferralStatus::Sent))
                    .filter(referrals::reminders.eq(r.reminders))
                    .filter(referrals::reminder_due.le(today)),
            )
            .set((
                referrals::reminders.eq(next),
                referrals::reminder_due.eq(working_days_after(state, today)),
                referrals::updated_at.eq(now()),
            ))
            .execute(conn)?;
            if claimed == 0 {
                return Ok(false);
            }
            let (case, dept) = case_and_department(conn, &r)?;
            // The address may have been corrected since the referral was sent.
            let mut to = recipients(dept.email.as_deref());
            if to.is_empty() {
                to = recipients(Some(&r.email));
            }
            let data = email_data(state, conn, &case, &dept, &r, Some(next))?;
            let email =
                crate::mail::templates::render(&state.templates, "referral_reminder", to, &data)?;
            crate::mail::queue(
                conn,
                &state.config.jobs,
                &email,
                Some(&format!("referral:{id}:reminder:{next}")),
            )?;
            add_update(
                conn,
                &id,
                ReferralUpdateKind::Reminded,
                "system",
                Some(&next.to_string()),
            )?;
            Ok(true)
        })?;
        if sent {
            queued += 1;
        }
    }
    if queued > 0 {
        state.jobs_wake.notify_one();
    }
    Ok(queued)
}

// ---------------------------------------------------------------------------------------------
// Signed links

type HmacSha256 = Hmac<Sha256>;

/// Why a link was refused. The page shows the same message for each: no oracle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("malformed link")]
    Malformed,
    #[error("link signature does not match")]
    Tampered,
    #[error("link expired")]
    Expired,
}

/// Versioned, so the format can change without old links verifying as something else.
const LINK_PREFIX: &str = "ack1";

fn mac(key: &str) -> HmacSha256 {
    HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes a key of any length")
}

/// The token: base64url("ack1:{referral_id}:{expires_unix}") "." base64url(HMAC-SHA256).
pub fn sign(key: &str, referral_id: &str, expires_at: NaiveDateTime) -> String {
    let payload = format!(
        "{LINK_PREFIX}:{referral_id}:{}",
        expires_at.and_utc().timestamp()
    );
    let mut m = mac(key);
    m.update(payload.as_bytes());
    let sig = m.finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(sig)
    )
}

/// The referral id a token names, if it was signed with `key` and has not expired at `now`.
pub fn check(key: &str, token: &str, now: NaiveDateTime) -> Result<String, LinkError> {
    let (p64, s64) = token.split_once('.').ok_or(LinkError::Malformed)?;
    let payload = URL_SAFE_NO_PAD
        .decode(p64)
        .map_err(|_| LinkError::Malformed)?;
    let sig = URL_SAFE_NO_PAD
        .decode(s64)
        .map_err(|_| LinkError::Malformed)?;
    let mut m = mac(key);
    m.update(&payload);
    // Constant-time comparison.
    m.verify_slice(&sig).map_err(|_| LinkError::Tampered)?;
    let payload = String::from_utf8(payload).map_err(|_| LinkError::Malformed)?;
    let mut parts = payload.splitn(3, ':');
    let (Some(LINK_PREFIX), Some(id), Some(exp)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(LinkError::Malformed);
    };
    let exp: i64 = exp.parse().map_err(|_| LinkError::Malformed)?;
    if id.is_empty() {
        return Err(LinkError::Malformed);
    }
    if now.and_utc().timestamp() >= exp {
        return Err(LinkError::Expired);
    }
    Ok(id.to_string())
}

/// `{public_url}/console/ack/{token}`: the link a department opens to answer.
pub fn link(state: &AppState, referral_id: &str, expires_at: NaiveDateTime) -> String {
    format!(
        "{}/console/ack/{}",
        state.config.public_base_url(),
        sign(state.link_key.expose(), referral_id, expires_at)
    )
}

/// The referral id of a link's token, refusing tampered, malformed and expired tokens.
pub fn verify(state: &AppState, token: &str, now: NaiveDateTime) -> Result<String, LinkError> {
    check(state.link_key.expose(), token, now)
}

/// Joint-enforcement referrals to other departments.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReferralConfig {
    /// Working days a department has to acknowledge before it is reminded (and shown overdue).
    pub remind_after_working_days: u32,
    /// Reminders sent before the referral is left to the inspector.
    pub max_reminders: u32,
    /// Days an acknowledgement link stays valid.
    pub link_valid_days: u32,
}

impl Default for ReferralConfig {
    fn default() -> Self {
        ReferralConfig {
            remind_after_working_days: 5,
            max_reminders: 3,
            link_valid_days: 90,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn links_verify_and_refuse_tampering_and_expiry() {
        let exp = at("2027-02-01 00:00:00");
        let t = sign("k1", "ref-1", exp);
        assert!(t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        assert_eq!(
            check("k1", &t, at("2027-01-31 23:59:59")),
            Ok("ref-1".into())
        );
        assert_eq!(
            check("k1", &t, at("2027-02-01 00:00:00")),
            Err(LinkError::Expired)
        );
        assert_eq!(
            check("k2", &t, at("2026-01-01 00:00:00")),
            Err(LinkError::Tampered)
        );
        // another referral's id, or a later expiry, under the old signature
        let (_, sig) = t.split_once('.').unwrap();
        for payload in ["ack1:ref-2:1801440000", "ack1:ref-1:1999999999"] {
            let forged = format!("{}.{sig}", URL_SAFE_NO_PAD.encode(payload));
            assert_eq!(
                check("k1", &forged, at("2026-01-01 00:00:00")),
                Err(LinkError::Tampered),
                "{payload}"
            );
        }
        // one flipped character in the signature
        let mut bytes = t.clone().into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(bytes).unwrap();
        assert_eq!(
            check("k1", &flipped, at("2026-01-01 00:00:00")),
            Err(LinkError::Tampered)
        );
        let now = at("2026-01-01 00:00:00");
        for bad in ["", "abc", "a.b.c", "!!!.???", &t.replace('.', "")] {
            assert_eq!(check("k1", bad, now), Err(LinkError::Malformed), "{bad:?}");
        }
        // a well-signed payload of the wrong shape is still malformed
        let mut m = mac("k1");
        m.update(b"ack1:ref-1");
        let s = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
        let odd = format!("{}.{s}", URL_SAFE_NO_PAD.encode("ack1:ref-1"));
        assert_eq!(check("k1", &odd, now), Err(LinkError::Malformed));
    }

    fn known() -> Vec<String> {
        ["住建", "交通", "水利", "发改", "财政", "公安", "市场监管"]
            .map(String::from)
            .to_vec()
    }

    fn facts(gov: bool, dept: Option<&str>, criminal: bool) -> Facts {
        Facts {
            government_invested: gov,
            project_department: dept.map(String::from),
            criminal,
        }
    }

    #[test]
    fn suggestion_rules() {
        let s = |f: &Facts, open: &[&str]| {
            let open: Vec<String> = open.iter().map(|s| s.to_string()).collect();
            suggested(f, &known(), &open)
        };
        assert_eq!(
            s(&facts(true, Some("交通"), false), &[]),
            vec![
                ("发改".to_string(), "government_funding"),
                ("交通".to_string(), "government_sector")
            ]
        );
        assert_eq!(
            s(&facts(false, Some("水利"), true), &[]),
            vec![
                ("水利".to_string(), "sector"),
                ("公安".to_string(), "criminal")
            ]
        );
        // no project, small arrears: nobody
        assert!(s(&facts(false, None, false), &[]).is_empty());
        // no project, past the threshold: the police only
        assert_eq!(
            s(&facts(false, None, true), &[]),
            vec![("公安".to_string(), "criminal")]
        );
        // an open referral is not suggested again
        assert_eq!(
            s(&facts(true, Some("住建"), true), &["发改", "公安"]),
            vec![("住建".to_string(), "government_sector")]
        );
        // a 人社 or 其他 project has no sector department; a 发改 project is not doubled
        assert_eq!(
            s(&facts(true, Some("发改"), false), &[]),
            vec![("发改".to_string(), "government_funding")]
        );
        assert!(s(&facts(false, Some("其他"), false), &[]).is_empty());
        // an inactive (unknown) department is left out
        let only = vec!["公安".to_string()];
        assert_eq!(
            suggested(&facts(true, Some("交通"), true), &only, &[]),
            vec![("公安".to_string(), "criminal")]
        );
    }

    #[test]
    fn every_rule_has_a_reason_and_every_state_a_label() {
        for rule in [
            "government_funding",
            "government_sector",
            "criminal",
            "sector",
        ] {
            let text = rule_texts().reasons.get(rule).expect(rule);
            let mut hb = handlebars::Handlebars::new();
            hb.set_strict_mode(true);
            let data = json!({"project_code": "P", "project_name": "N", "employer": "E",
                "county": "C", "workers": 1, "amount": "1", "department_name": "D"});
            hb.render_template(text, &data)
                .unwrap_or_else(|e| panic!("{rule}: {e}"));
        }
        for s in super::super::rules::CaseState::ALL {
            assert_ne!(state_label(s), s.as_str(), "{}", s.as_str());
        }
    }
}
