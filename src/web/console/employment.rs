//! The employment side's monthly dispatch (月调度) and quarterly bulletin (季度通报), for
//! officers and admins, beside the case report: `/console/reports/employment?month=2027-06`
//! or `?quarter=2027-Q2` (last month's when neither is given), and the same as CSV at
//! `/console/reports/employment/{period}.csv`. The page and the CSV show the same tables
//! (`reports::employment::tables`); the page adds the charts.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::guard::Officer;
use super::report::period_of;
use super::{csv_download, render, ConsoleError};
use crate::followups::stats::Share;
use crate::reports::employment::{self, EmploymentReport, Figures, Table};
use crate::reports::{csv::tables_csv, svg, Period};
use crate::web::WebState;

#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    month: Option<String>,
    quarter: Option<String>,
}

/// How many quarters the page offers to choose from, back from the current one.
const QUARTERS_OFFERED: i32 = 8;

fn today(state: &WebState) -> chrono::NaiveDate {
    state.config.local(state.time.now()).date()
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `?month=` or `?quarter=`, not both.
/// `?month=` or `?quarter=`, not both, and not one that has not begun.
fn period(state: &WebState, q: &PeriodQuery) -> Result<Period, ConsoleError> {
    let today = today(state);
    let bad = || ConsoleError::BadRequest(state.pages.t("bulletin.note.bad_period"));
    let p = match (given(&q.month), given(&q.quarter)) {
        (Some(_), Some(_)) => return Err(bad()),
        (Some(m), None) => period_of(today, Some(m), false).map_err(|_| bad())?,
        (None, Some(quarter)) => match period_of(today, Some(quarter), true).map_err(|_| bad())? {
            p @ Period::Quarter(..) => p,
            Period::Month(..) => return Err(bad()),
        },
        (None, None) => period_of(today, None, false)?,
    };
    if p.bounds().is_none_or(|(first, _)| first > today) {
        return Err(bad());
    }
    Ok(p)
}

/// A chart's groups from owned labels.
fn groups(g: &[(String, Vec<i64>)]) -> Vec<(&str, Vec<i64>)> {
    g.iter().map(|(l, v)| (l.as_str(), v.clone())).collect()
}

async fn load(
    state: &WebState,
    period: Period,
) -> Result<(EmploymentReport, Vec<Table>), ConsoleError> {
    let (today, offset) = (today(state), state.config.utc_offset_secs());
    let r = state
        .db
        .run(move |c| employment::employment(c, period, today, offset))
        .await?;
    let tables = employment::tables(&r, &state.config.counties, &state.config.alerts.trades);
    Ok((r, tables))
}

/// Bars by county and by trade (in Tibet vs outside), a quarter's months side by side, the
/// register by status, follow-ups, subsidies.
fn charts(state: &WebState, r: &EmploymentReport, tables: &[Table]) -> Vec<String> {
    let t = |k: &str| state.pages.t(k);
    let (inside, outside) = (t("bulletin.col.in_tibet"), t("bulletin.col.outside"));
    let in_out = [inside.as_str(), outside.as_str()];
    // The whole period's two columns of a placement breakdown, in the table's order.
    let whole_in_out = |id: &str| -> Vec<(String, Vec<i64>)> {
        tables
            .iter()
            .find(|table| table.id == id)
            .map(|table| table.last_counts(2, &t))
            .unwrap_or_default()
    };
    let w = r.whole();
    let mut out = vec![
        svg::grouped_bars(
            &t("bulletin.chart.placements_county"),
            &in_out,
            &groups(&whole_in_out("placements_county")),
        ),
        svg::grouped_bars(
            &t("bulletin.chart.placements_trade"),
            &in_out,
            &groups(&whole_in_out("placements_trade")),
        ),
    ];
    let months: &[Figures] = &r.columns[..r.columns.len() - 1];
    if !months.is_empty() {
        out.push(svg::grouped_bars(
            &t("bulletin.chart.placements_months"),
            &in_out,
            &months
                .iter()
                .map(|f| {
                    (
                        f.period.as_str(),
                        vec![f.placements.in_tibet, f.placements.outside],
                    )
                })
                .collect::<Vec<_>>(),
        ));
    }
    let statuses: Vec<(String, i64)> = w
        .register
        .by_status
        .iter()
        .map(|s| (t(&format!("employment.{}", s.status)), s.workers))
        .collect();
    out.push(svg::bar_chart(
        &t("bulletin.chart.register_status"),
        &statuses
            .iter()
            .map(|(l, n)| (l.as_str(), *n))
            .collect::<Vec<_>>(),
    ));
    let (due, asked, answered, unanswered) = (
        t("bulletin.row.due"),
        t("bulletin.row.asked"),
        t("bulletin.row.answered"),
        t("bulletin.row.unanswered"),
    );
    out.push(svg::grouped_bars(
        &t("bulletin.chart.followups"),
        &[&due, &asked, &answered, &unanswered],
        &r.columns
            .iter()
            .map(|f| {
                let c = &f.followups;
                (
                    f.period.as_str(),
                    vec![c.due, c.asked, c.answered, c.unanswered],
                )
            })
            .collect::<Vec<_>>(),
    ));
    let kinds: Vec<(String, Vec<i64>)> = w
        .subsidies
        .iter()
        .map(|s| {
            (
                t(&format!("subsidy_kind.{}", s.kind)),
                vec![s.eligible, s.approved],
            )
        })
        .collect();
    let (eligible, approved) = (t("bulletin.col.eligible"), t("bulletin.col.approved"));
    out.push(svg::grouped_bars(
        &t("bulletin.chart.subsidies"),
        &[&eligible, &approved],
        &groups(&kinds),
    ));
    out
}

/// `/console/reports/employment`: the figures, the charts and every table.
pub async fn page(
    state: web::Data<WebState>,
    me: Officer,
    q: web::Query<PeriodQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let period = period(&state, &q)?;
    let (r, tables) = load(&state, period).await?;
    let t = |k: &str| state.pages.t(k);
    let charts = charts(&state, &r, &tables);
    let tables: Vec<_> = tables.iter().map(|table| table.render(&t)).collect();
    let w = r.whole();
    let current = Period::previous_month(today(&state)).step(1).quarter();
    let mut quarters: Vec<Period> = (0..QUARTERS_OFFERED).map(|i| current.step(-i)).collect();
    if period.is_quarter() && !quarters.contains(&period) {
        quarters.push(period);
    }
    let code = r.period.clone();
    let (title, provisional) = if period.is_quarter() {
        (
            t("bulletin.title_quarter"),
            t("bulletin.provisional_quarter"),
        )
    } else {
        (t("bulletin.title_month"), t("report.provisional"))
    };
    render(
        &state,
        Some(me.me()),
        "employment",
        json!({
            "title": format!("{title} {code}"),
            "nav": "reports",
            "report": "employment",
            "action": "/console/reports/employment",
            "provisional": provisional,
            "month": match period { Period::Month(..) => code.clone(), Period::Quarter(..) => String::new() },
            "quarters": quarters.iter().map(|p| json!({ "code": p.code(), "selected": *p == period })).collect::<Vec<_>>(),
            "csv": format!("/console/reports/employment/{code}.csv"),
            "prev": step_link(period.step(-1)),
            "next": step_link(period.step(1)),
            "r": r,
            "w": w,
            // As text, so that 0 % shows (handlebars takes the number 0 for false).
            "coverage": percent(w.followups.asked_share()),
            "answer_rate": percent(w.followups.answered_share()),
            "retained_3m": percent(w.retention_3m.retained),
            "retained_6m": percent(w.retention_6m.retained),
            "early_warnings": w.early_warnings.len(),
            "eligible": w.subsidies.iter().map(|s| s.eligible).sum::<i64>(),
            "approved": w.subsidies.iter().map(|s| s.approved).sum::<i64>(),
            "charts": charts,
            "tables": tables,
        }),
    )
}

fn percent(s: Share) -> Option<String> {
    s.percent().map(|p| p.to_string())
}

fn step_link(p: Period) -> String {
    let key = if p.is_quarter() { "quarter" } else { "month" };
    format!("/console/reports/employment?{key}={}", p.code())
}

/// `/console/reports/employment/2027-06.csv`, `…/2027-Q2.csv`: the page's tables for a
/// spreadsheet (UTF-8 with a BOM, Chinese headers from the console's strings).
pub async fn csv(
    state: web::Data<WebState>,
    _: Officer,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let asked = path.into_inner();
    let period = period_of(today(&state), Some(&asked), true)?;
    let (_, tables) = load(&state, period).await?;
    let t = |k: &str| state.pages.t(k);
    let words: Vec<_> = tables.iter().map(|table| table.render(&t)).collect();
    Ok(csv_download(
        &period.csv_filename("employment"),
        tables_csv(&words),
    ))
}
