//! The monthly report page (figures, tables, SVG charts) and its CSV. The report for a month
//! is due by the 5th of the next, so the page opens on the previous month. The employment
//! side's dispatch and bulletin (`employment.rs`) share the period bar (`report_period.hbs`)
//! and the way a period is read.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{csv_download, render, CaseWorker, ConsoleError};
use crate::reports::{self, svg, Period};
use crate::web::WebState;

#[derive(Debug, Default, Deserialize)]
pub struct ReportQuery {
    month: Option<String>,
}

/// The period a page or a CSV asks for (`2026-10`, or `2027-Q2` where `quarters` are allowed),
/// or, asked for none, last month: the one whose report is due.
pub(super) fn period_of(
    today: chrono::NaiveDate,
    asked: Option<&str>,
    quarters: bool,
) -> Result<Period, ConsoleError> {
    match asked.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Period::parse(s)
            .filter(|p| quarters || !p.is_quarter())
            .ok_or_else(|| ConsoleError::BadRequest(s.to_string())),
        None => Ok(Period::previous_month(today)),
    }
}

fn month_of(state: &WebState, q: Option<&str>) -> Result<(i32, u32), ConsoleError> {
    match period_of(state.config.today(), q, false)? {
        Period::Month(y, m) => Ok((y, m)),
        Period::Quarter(..) => Err(ConsoleError::BadRequest(q.unwrap_or_default().into())),
    }
}

async fn load(state: &WebState, y: i32, m: u32) -> Result<reports::MonthlyReport, ConsoleError> {
    let (today, offset) = (state.config.today(), state.config.utc_offset_secs());
    Ok(state
        .db
        .run(move |c| reports::monthly(c, y, m, today, offset))
        .await?)
}

pub async fn page(
    state: web::Data<WebState>,
    me: CaseWorker,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let (y, m) = month_of(&state, q.month.as_deref())?;
    let r = load(&state, y, m).await?;
    let t = |k: &str| state.pages.t(k);
    let counties: Vec<(&str, i64)> = r
        .complaints
        .by_county
        .iter()
        .map(|c| (c.county.as_str(), c.figures.complaints))
        .collect();
    let state_names: Vec<String> = r
        .cases
        .by_state
        .iter()
        .map(|s| t(&format!("state.{}", s.state)))
        .collect();
    let by_state: Vec<(&str, i64)> = r
        .cases
        .by_state
        .iter()
        .zip(&state_names)
        .map(|(s, name)| (name.as_str(), s.cases))
        .collect();
    let (met, missed, pending) = (t("report.met"), t("report.missed"), t("report.pending"));
    let (accept, finish) = (t("clock.accept_due"), t("clock.finish_due"));
    let d = &r.deadlines;
    let deadlines = svg::grouped_bars(
        &t("report.deadlines"),
        &[&met, &missed, &pending],
        &[
            (
                accept.as_str(),
                vec![d.accept.met, d.accept.missed, d.accept.pending],
            ),
            (
                finish.as_str(),
                vec![d.finish.met, d.finish.missed, d.finish.pending],
            ),
        ],
    );
    let (sent, acked, answered, overdue) = (
        t("report.sent"),
        t("report.acknowledged"),
        t("report.answered"),
        t("report.overdue"),
    );
    let referral_groups: Vec<(&str, Vec<i64>)> = r
        .referrals
        .by_department
        .iter()
        .filter(|d| d.figures.sent > 0)
        .map(|d| {
            let f = &d.figures;
            (
                d.department.as_str(),
                vec![f.sent, f.acknowledged, f.answered, f.overdue],
            )
        })
        .collect();
    let charts = vec![
        svg::bar_chart(&t("report.chart_county"), &counties),
        svg::bar_chart(&t("report.chart_state"), &by_state),
        deadlines,
        svg::grouped_bars(
            &t("report.referrals"),
            &[&sent, &acked, &answered, &overdue],
            &referral_groups,
        ),
    ];
    let month = format!("{y:04}-{m:02}");
    render(
        &state,
        Some(me.me()),
        "report",
        json!({
            "title": format!("{} {month}", t("report.title")),
            "nav": "reports",
            "report": "cases",
            "action": "/console/reports",
            "provisional": t("report.provisional"),
            "quarters": [],
            "month": month,
            "r": r,
            "charts": charts,
            "owed": crate::text::thousands(r.money.owed_yuan),
            "recovered": crate::text::thousands(r.money.recovered_yuan),
            "recovered_to_date": crate::text::thousands(r.money.recovered_to_date_yuan),
            "csv": format!("/console/reports/{month}.csv"),
        }),
    )
}

pub async fn csv(
    state: web::Data<WebState>,
    _: CaseWorker,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let (y, m) = month_of(&state, Some(&path.into_inner()))?;
    let r = load(&state, y, m).await?;
    Ok(csv_download(
        &reports::month_csv_filename(y, m),
        reports::to_csv(&r),
    ))
}
