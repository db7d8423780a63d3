//! Placements and subsidies in the console. Brokers record and see their own agency's
//! placements (numbers masked); officers and admins see all, and decide subsidy claims from
//! the monthly list (with its CSV for the finance office).

use actix_web::{web, HttpResponse};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use serde_json::{json, Value};

use super::guard::{NoticeUsers, Officer};
use super::notices::agency_of;
use super::{redirect, render, Authorized, ConsoleError, Form, Me};
use crate::accounts::users::UserRole;
use crate::db::DbError;
use crate::followups::placements::{self, PlacementInput, Rules};
use crate::followups::run::Followup;
use crate::followups::subsidies::{self, DecideError, Listed};
use crate::followups::{
    month_of, stats, ClaimStatus, FollowupStatus, PlacementSource, ScheduleKind, SubsidyKind,
};
use crate::text::mask_phone;
use crate::web::WebState;

type PlacementUser = Authorized<NoticeUsers>;

fn rules(state: &WebState) -> Rules<'_> {
    Rules {
        counties: &state.config.counties,
        trades: &state.config.alerts.trades,
        country_code: &state.config.default_country_code,
        today: state.config.local(state.time.now()).date(),
    }
}

/// `/console/placements`: the placements with their follow-ups, and the form to record one.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// 1: the placement just posted was recorded; 0: it was recorded before.
    recorded: Option<u8>,
}

pub async fn list(
    state: web::Data<WebState>,
    me: PlacementUser,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    page(
        &state,
        &me,
        &PlacementInput::default(),
        &[],
        q.recorded.map(|r| r == 1),
    )
    .await
}

async fn page(
    state: &WebState,
    me: &Me,
    input: &PlacementInput,
    errors: &[placements::FieldError],
    recorded: Option<bool>,
) -> Result<HttpResponse, ConsoleError> {
    let agency = agency_of(me)?;
    let a2 = agency.clone();
    let (rows, agencies) = state
        .db
        .run(move |c| -> Result<_, DbError> {
            let list = placements::list(c, a2.as_deref(), 300)?;
            Ok((with_steps(c, list)?, agencies(c)?))
        })
        .await?;
    let broker = agency.is_some();
    let officer = me.role.runs_alerts();
    let today = state.config.local(state.time.now()).date();
    let a3 = agency.clone();
    let since = state.time.now() - chrono::Duration::days(365);
    let (records, rates) = state
        .db
        .run(move |c| -> Result<_, DbError> {
            let records = stats::records(c, a3.as_deref(), today)?;
            let rates = if officer {
                stats::response_rates(c, since)?
            } else {
                Vec::new()
            };
            Ok((records, rates))
        })
        .await?;
    let records: Vec<Value> = records.iter().map(record_json).collect();
    let rates: Vec<Value> = rates
        .iter()
        .map(|r| {
            json!({
                "schedule": state.pages.t(&format!("schedule.{}", r.schedule)),
                "step": ScheduleKind::parse(&r.schedule)
                    .map(|k| step_label(state, k, &r.step))
                    .unwrap_or_else(|| r.step.clone()),
                "language": state.pages.t(&format!("language.{}", r.language)),
                "sent": r.sent,
                "delivered": r.delivered,
                "answered": r.answered,
                "answered_pct": stats::Share { of: r.sent, yes: r.answered }.percent(),
                "median": r.median_minutes.map(|m| duration_text(state, m)),
            })
        })
        .collect();
    let items = placement_rows(state, &rows, broker);
    let error_list: Vec<Value> = errors
        .iter()
        .map(|e| {
            json!({
                "field": e.field,
                "text": format!(
                    "{}：{}",
                    state.pages.t(&format!("placements.{}", e.field)),
                    state.pages.t(&format!("placement_errors.{}", e.code))
                ),
            })
        })
        .collect();
    render(
        state,
        Some(me),
        "placements",
        json!({
            "title": state.pages.t("placements.title"),
            "nav": "placements",
            "count": state.pages.t("placements.count").replace("{{n}}", &items.len().to_string()),
            "items": items,
            "agencies": agencies,
            "broker": broker,
            "agency": agency,
            "officer": officer,
            "records": records,
            "rates": rates,
            "errors": error_list,
            "recorded": recorded.map(|new| state.pages.t(if new { "placements.recorded" } else { "placements.known" })),
            "input": {
                "phone": input.phone, "employer": input.employer,
                "project_code": input.project_code, "notice_code": input.notice_code,
                "agency": input.agency, "county": input.county, "place_outside": input.place_outside,
                "trade": input.trade, "start_on": input.start_on,
            },
            "counties": state.config.counties.iter().map(|c| c.zh.as_str()).collect::<Vec<_>>(),
            "trades": state.config.alerts.trades.iter().map(|t| json!({ "code": t.code, "name": t.zh })).collect::<Vec<_>>(),
            "today": state.config.local(state.time.now()).date().to_string(),
        }),
    )
}

/// Records a placement from the form: a broker's always for their own agency.
pub async fn create(
    state: web::Data<WebState>,
    me: PlacementUser,
    form: Form<PlacementInput>,
) -> Result<HttpResponse, ConsoleError> {
    let mut input = form.into_inner();
    if let Some(a) = agency_of(&me)? {
        input.agency = Some(a);
    }
    let actor = me.actor();
    let st = state.clone();
    let i2 = input.clone();
    let outcome = state
        .db
        .run(move |c| -> Result<_, DbError> {
            let valid = match placements::check(c, &rules(&st), &i2)? {
                Ok(v) => v,
                Err(errors) => return Ok(Err(errors)),
            };
            let recorded = crate::db::transaction(c, |c| {
                placements::record(
                    c,
                    &st.config.followups,
                    st.config.utc_offset_secs(),
                    &valid,
                    PlacementSource::Console,
                    &actor,
                    st.time.now(),
                )
            })?;
            Ok(Ok(recorded.created))
        })
        .await?;
    match outcome {
        // Back to the list by GET, so reloading it posts nothing again.
        Ok(created) => Ok(redirect(&format!(
            "/console/placements?recorded={}",
            created as u8
        ))),
        Err(errors) => page(&state, &me, &input, &errors, None).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct SubsidyQuery {
    #[serde(default)]
    month: String,
    #[serde(default)]
    kind: String,
    /// The decision just made (`approved`, `rejected`), for the confirmation.
    #[serde(default)]
    decided: String,
}

/// A month (`2027-06`), or this month: its first day and the next month's.
fn month_range(text: &str, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let first = if text.is_empty() {
        today.with_day(1)?
    } else {
        NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").ok()?
    };
    let next = first.checked_add_months(chrono::Months::new(1))?;
    Some((first, next))
}

fn kind_of(text: &str) -> Result<Option<SubsidyKind>, ConsoleError> {
    match text {
        "" => Ok(None),
        k => SubsidyKind::parse(k)
            .map(Some)
            .ok_or_else(|| ConsoleError::BadRequest(format!("kind {k:?}"))),
    }
}

async fn claims(
    state: &WebState,
    q: &SubsidyQuery,
) -> Result<(NaiveDate, Option<SubsidyKind>, Vec<Listed>), ConsoleError> {
    let today = state.config.local(state.time.now()).date();
    let (from, until) = month_range(&q.month, today)
        .ok_or_else(|| ConsoleError::BadRequest(state.pages.t("subsidies.bad_month")))?;
    let kind = kind_of(&q.kind)
        .map_err(|_| ConsoleError::BadRequest(state.pages.t("subsidies.bad_kind")))?;
    let rows = state
        .db
        .run(move |c| subsidies::list(c, kind, from, until))
        .await?;
    Ok((from, kind, rows))
}

/// `/console/subsidies`: the claims that became eligible in a month, with their evidence.
pub async fn subsidies_page(
    state: web::Data<WebState>,
    me: Officer,
    q: web::Query<SubsidyQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let flash = match q.decided.as_str() {
        "" => None,
        d => Some(json!({ "ok": true, "text": state.pages.t(&format!("subsidies.done_{d}")) })),
    };
    subsidies_view(&state, &me, &q, flash, actix_web::http::StatusCode::OK).await
}

async fn subsidies_view(
    state: &WebState,
    me: &Me,
    q: &SubsidyQuery,
    flash: Option<Value>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let (first, kind, rows) = claims(state, q).await?;
    let waiting = state.db.run(subsidies::waiting_by_month).await?;
    let t = |k: &str| state.pages.t(k);
    let items: Vec<Value> = rows
        .iter()
        .map(|l| {
            json!({
                "id": l.claim.id,
                "kind": t(&format!("subsidy_kind.{}", l.claim.kind.as_str())),
                "phone": l.contact.phone,
                "agency": l.placement.agency,
                "employer": l.placement.employer,
                "place": l.placement.county.clone().or(l.placement.place_outside.clone()),
                "start_on": l.placement.start_on.to_string(),
                "eligible_on": l.claim.eligible_on.to_string(),
                "status": l.claim.status.as_str(),
                "status_name": t(&format!("claim_status.{}", l.claim.status.as_str())),
                "open": l.claim.status == ClaimStatus::Eligible,
                "reason": l.claim.reason,
                "evidence": l.evidence.iter().map(|e| json!({
                    "step": step_label(state, ScheduleKind::Placement, &e.step),
                    "answered": e.answered_at.map(|a| state.config.local(a).date().to_string()),
                    "working": e.working.map(|w| t(&format!("followup_working.{w}"))),
                    "paid": e.paid.map(|p| t(&format!("followup_paid.{p}"))),
                    "status": t(&format!("followup_status.{}", e.status)),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let month = month_of(first);
    let prev = month_of(first - chrono::Duration::days(1));
    let next = month_of(first + chrono::Duration::days(32));
    let kind_q = kind
        .map(|k| format!("&kind={}", k.as_str()))
        .unwrap_or_default();
    let waiting: Vec<Value> = waiting
        .iter()
        .filter(|(m, _)| *m != month)
        .map(|(m, n)| {
            json!({
                "month": m,
                "text": t("subsidies.waiting").replace("{{month}}", m).replace("{{n}}", &n.to_string()),
            })
        })
        .collect();
    let mut resp = render(
        state,
        Some(me),
        "subsidies",
        json!({
            "title": t("subsidies.title"),
            "nav": "placements",
            "month": month,
            "prev": prev,
            "next": next,
            "kind_q": kind_q,
            "kind": kind.map(|k| k.as_str()),
            "kinds": SubsidyKind::ALL.iter().map(|k| json!({ "value": k.as_str(), "name": t(&format!("subsidy_kind.{}", k.as_str())) })).collect::<Vec<_>>(),
            "items": items,
            "waiting": waiting,
            "flash": flash,
            "csv": format!("/console/subsidies/{month}.csv{}", kind.map(|k| format!("?kind={}", k.as_str())).unwrap_or_default()),
        }),
    )?;
    *resp.status_mut() = status;
    Ok(resp)
}

/// The month's claims as CSV for the finance office.
pub async fn subsidies_csv(
    state: web::Data<WebState>,
    me: Officer,
    path: web::Path<String>,
    q: web::Query<SubsidyQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let q = SubsidyQuery {
        month: path.into_inner(),
        kind: q.into_inner().kind,
        decided: String::new(),
    };
    let (first, _, rows) = claims(&state, &q).await?;
    let st = state.clone();
    let label = move |section: &str, key: &str| match section {
        "step" => step_label(&st, ScheduleKind::Placement, key),
        _ => st.pages.t(&format!("{section}.{key}")),
    };
    let bytes = subsidies::csv(&rows, &label, state.config.utc_offset_secs());
    let actor = me.actor();
    let month = month_of(first);
    let m2 = month.clone();
    state
        .db
        .run(move |c| {
            crate::cases::audit_about(c, "subsidies", &actor, "subsidies_exported", Some(&m2))
        })
        .await?;
    Ok(super::csv_download(
        &format!("subsidies-{month}.csv"),
        bytes,
    ))
}

#[derive(Debug, Deserialize)]
pub struct Decision {
    op: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    month: String,
    #[serde(default)]
    kind: String,
}

/// The officer approves or rejects a claim; back to the month's list, with the outcome.
pub async fn decide(
    state: web::Data<WebState>,
    me: Officer,
    path: web::Path<String>,
    form: Form<Decision>,
) -> Result<HttpResponse, ConsoleError> {
    let id = path.into_inner();
    let d = form.into_inner();
    let approve = match d.op.as_str() {
        "approve" => true,
        "reject" => false,
        op => return Err(ConsoleError::BadRequest(op.to_string())),
    };
    let actor = me.actor();
    let now = state.time.now();
    // An approval carries no reason, whatever the form held.
    let reason = (!approve).then(|| d.reason.clone());
    let decided = state
        .db
        .run(move |c| {
            Ok::<_, DbError>(subsidies::decide(
                c,
                &id,
                approve,
                reason.as_deref(),
                &actor,
                now,
            ))
        })
        .await?;
    let q = SubsidyQuery {
        month: d.month.clone(),
        kind: d.kind.clone(),
        decided: String::new(),
    };
    let refused = |key: &str| json!({ "ok": false, "text": state.pages.t(key) });
    match decided {
        Ok(c) => Ok(redirect(&format!(
            "/console/subsidies?month={}&kind={}&decided={}",
            d.month,
            d.kind,
            c.status.as_str()
        ))),
        Err(DecideError::NotFound) => Err(ConsoleError::NotFound),
        Err(DecideError::Db(e)) => Err(e.into()),
        Err(DecideError::ReasonNeeded) => {
            subsidies_view(
                &state,
                &me,
                &q,
                Some(refused("subsidies.reason_needed")),
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(DecideError::Decided(_)) => {
            subsidies_view(
                &state,
                &me,
                &q,
                Some(refused("subsidies.already")),
                actix_web::http::StatusCode::CONFLICT,
            )
            .await
        }
    }
}

/// A placement, its worker, and its follow-ups in the order they are due.
pub type PlacementRow = (
    crate::followups::placements::Placement,
    crate::db::models::Contact,
    Vec<Followup>,
);

/// The follow-ups of each placement.
pub fn with_steps(
    c: &mut crate::db::DbConn,
    list: Vec<(
        crate::followups::placements::Placement,
        crate::db::models::Contact,
    )>,
) -> Result<Vec<PlacementRow>, DbError> {
    use crate::db::schema::followups;
    use diesel::prelude::*;
    let ids: Vec<&str> = list.iter().map(|(p, _)| p.id.as_str()).collect();
    let mut by: std::collections::HashMap<String, Vec<Followup>> = Default::default();
    for chunk in ids.chunks(500) {
        let steps: Vec<Followup> = followups::table
            .filter(followups::placement_id.eq_any(chunk))
            .order(followups::due_at)
            .select(Followup::as_select())
            .load(c)?;
        for f in steps {
            by.entry(f.placement_id.clone().unwrap_or_default())
                .or_default()
                .push(f);
        }
    }
    Ok(list
        .into_iter()
        .map(|(p, contact)| {
            let steps = by.remove(&p.id).unwrap_or_default();
            (p, contact, steps)
        })
        .collect())
}

/// Placements as the `placement_table` partial shows them. For a broker (`broker`) the
/// worker's number is masked and the answers are not shown, only whether each step was
/// answered: workers are told their answers stay confidential.
pub fn placement_rows(state: &WebState, rows: &[PlacementRow], broker: bool) -> Vec<Value> {
    rows.iter()
        .map(|(p, contact, steps)| {
            json!({
                "phone": if broker { mask_phone(&contact.phone) } else { contact.phone.clone() },
                "employer": p.employer,
                "agency": if broker { None } else { p.agency.clone() },
                "place": p.county.clone().or(p.place_outside.clone()),
                "outside": p.place_outside.is_some(),
                "trade": p.trade.as_deref().and_then(|t| state.config.alerts.trade(t)).map(|t| t.zh.clone()),
                "start_on": p.start_on.to_string(),
                "ended_on": if broker { None } else { p.ended_on.map(|d| d.to_string()) },
                "end_reason": if broker { None } else { p.end_reason.as_deref().map(|r| state.pages.t(&format!("end_reason.{r}"))) },
                "source": state.pages.t(&format!("placement_source.{}", p.source.as_str())),
                "steps": steps.iter().map(|f| {
                    let a = f.answers();
                    let waiting = matches!(f.status, FollowupStatus::Scheduled | FollowupStatus::Open);
                    json!({
                        "step": f.step,
                        "label": step_label(state, f.schedule, &f.step),
                        "due": waiting.then(|| state.config.local(f.due_at).date().to_string()),
                        "status": f.status.as_str(),
                        "status_name": state.pages.t(&format!("followup_status.{}", f.status.as_str())),
                        "note": f.note.as_deref().filter(|_| !broker).map(|n| note_label(state, n)),
                        "unpaid": !broker && f.unpaid,
                        "working": if broker { None } else { a.working.map(|w| state.pages.t(&format!("followup_working.{w}"))) },
                    })
                }).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// A step as the console names it: 第1个月, 第14天, 是否到岗; a step no longer in the
/// configuration by its name.
pub fn step_label(state: &WebState, kind: ScheduleKind, step: &str) -> String {
    if kind == ScheduleKind::Start {
        return state.pages.t("step.start");
    }
    match state
        .config
        .followups
        .steps(kind)
        .iter()
        .find(|s| s.name == step)
    {
        Some(s) if s.months > 0 => state
            .pages
            .t("step.months")
            .replace("{{n}}", &s.months.to_string()),
        Some(s) => state
            .pages
            .t("step.days")
            .replace("{{n}}", &s.days.to_string()),
        None => step.to_string(),
    }
}

/// Why a follow-up stopped, in the console's words.
fn note_label(state: &WebState, note: &str) -> String {
    match note.split_once(':') {
        Some(("case", reference)) => state
            .pages
            .t("followup_note.case")
            .replace("{{reference}}", reference),
        _ => state.pages.t(&format!("followup_note.{note}")),
    }
}

/// The agencies an officer picks from: the brokers' and those already on placements.
fn agencies(c: &mut crate::db::DbConn) -> Result<Vec<String>, DbError> {
    use crate::db::schema::{placements as p_t, users};
    use diesel::prelude::*;
    let mut all: Vec<String> = users::table
        .filter(users::role.eq(UserRole::Broker.as_str()))
        .select(users::agency)
        .load::<Option<String>>(c)?
        .into_iter()
        .flatten()
        .collect();
    all.extend(
        p_t::table
            .select(p_t::agency)
            .distinct()
            .load::<Option<String>>(c)?
            .into_iter()
            .flatten(),
    );
    all.sort();
    all.dedup();
    Ok(all)
}

/// A broker's record as the console shows it (percentages, and the counts behind them).
pub fn record_json(r: &stats::Record) -> Value {
    let share = |s: &stats::Share| json!({ "pct": s.percent(), "yes": s.yes, "of": s.of });
    json!({
        "agency": r.agency,
        "notices": r.notices,
        "placements": r.placements,
        "retained_3m": share(&r.retained_3m),
        "retained_6m": share(&r.retained_6m),
        "paid_in_full": share(&r.paid_in_full),
        "answered": share(&r.answered),
        "cases": r.cases,
        "early_warnings": r.early_warnings,
        "warn": r.early_warnings > 0 || r.paid_in_full.percent().is_some_and(|p| p < 80),
    })
}

/// Minutes as the console says them: `45分钟`, `5小时`, `2天`.
fn duration_text(state: &WebState, minutes: i64) -> String {
    let (n, unit) = match minutes {
        m if m < 120 => (m, "minutes"),
        m if m < 48 * 60 => (m / 60, "hours"),
        m => (m / (24 * 60), "days"),
    };
    state
        .pages
        .t(&format!("duration.{unit}"))
        .replace("{{n}}", &n.to_string())
}
