//! The employment side's monthly dispatch (月调度) and quarterly bulletin (季度通报), due by the
//! 5th like the case report: the labour-force register, new placements (in Tibet and outside),
//! follow-up coverage and answers, retention at 3 and 6 months, unpaid wages and early
//! warnings, subsidies. A quarter is its three months side by side, then the whole quarter.
//!
//! Pure reading and arithmetic over the register's and the follow-ups' tables (retention is
//! the broker records' own rule, `followups::stats::retained`). `tables` lays the figures out
//! once, for the console page and the CSV alike; their words are keys of the console's strings.
//!
//! The register keeps no history of a worker's status: its size, counties and trades are
//! counted over the workers registered by the period's end (`created_at`), with the county
//! and trades they have now; the employment status is the one they have now (`as_of`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::{Period, Span};
use crate::alerts::{split_codes, Employment, Trade};
use crate::db::models::CaseSource;
use crate::db::schema::{cases, followups, placements, subsidy_claims, workers};
use crate::db::{DbConn, DbError};
use crate::followups::placements::Placement;
use crate::followups::run::Followup;
use crate::followups::stats::{self, Share};
use crate::followups::{ClaimStatus, FollowupStatus, SubsidyKind};
use crate::places::County;

/// A county or trade that was not given, in `by_county` and `by_trade`.
pub const NONE: &str = "";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmploymentReport {
    /// "2027-06" or "2027-Q2".
    pub period: String,
    pub quarter: bool,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The period is over: its figures no longer grow.
    pub complete: bool,
    /// The 5th of the month after the period.
    pub due_on: NaiveDate,
    /// The day the figures about the present are taken (statuses, retention answers).
    pub as_of: NaiveDate,
    /// A month: that month. A quarter: its three months, then the whole quarter.
    pub columns: Vec<Figures>,
}

impl EmploymentReport {
    /// The figures of the whole period (the last column).
    pub fn whole(&self) -> &Figures {
        &self.columns[self.columns.len() - 1]
    }
}

/// The figures of one month or of the whole quarter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub period: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub register: RegisterFigures,
    pub placements: PlacementFigures,
    pub followups: Coverage,
    pub retention_3m: Retention,
    pub retention_6m: Retention,
    /// Distinct workers whose follow-up answer said wages were paid partly or not at all,
    /// answered in the period.
    pub unpaid_workers: i64,
    /// References of the early-warning cases opened in the period, in order.
    pub early_warnings: Vec<String>,
    /// One per subsidy kind, in `SubsidyKind::ALL` order.
    pub subsidies: Vec<SubsidyFigures>,
}

/// The workers registered by the period's end.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RegisterFigures {
    pub total: i64,
    /// Every status, in `Employment::ALL` order, as of `as_of`.
    pub by_status: Vec<StatusCount>,
    /// By county (`NONE`: not given).
    pub by_county: BTreeMap<String, i64>,
    /// By trade code; a worker of several trades counts in each (`NONE`: no trade).
    pub by_trade: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusCount {
    pub status: &'static str,
    pub workers: i64,
}

/// Placements starting in the period (`start_on`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PlacementFigures {
    pub total: i64,
    pub in_tibet: i64,
    pub outside: i64,
    /// By the worker's county on the register (else, for work in Tibet, the work's county).
    pub by_county: BTreeMap<String, InOut>,
    /// By trade code (`NONE`: not given).
    pub by_trade: BTreeMap<String, InOut>,
    /// Work outside Tibet by where it is.
    pub by_destination: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct InOut {
    pub in_tibet: i64,
    pub outside: i64,
}

/// Follow-ups due in the period (`due_at`, bureau's calendar), whatever their schedule, and
/// what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    pub due: i64,
    /// Asked (the question was queued).
    pub asked: i64,
    /// At least one answer.
    pub answered: i64,
    /// Closed without an answer after the reminder.
    pub unanswered: i64,
    /// Fell silent: the worker had left, a case asks its own questions, or a STOP.
    pub silenced: i64,
    /// Not asked yet, or asked and still waiting for the answer.
    pub waiting: i64,
}

impl Coverage {
    /// Of the follow-ups due that still made sense (not silenced: a worker who had left is
    /// not missed), how many were asked.
    pub fn asked_share(&self) -> Share {
        Share {
            of: self.due - self.silenced,
            yes: self.asked,
        }
    }

    /// Of those asked, how many were answered.
    pub fn answered_share(&self) -> Share {
        Share {
            of: self.asked,
            yes: self.answered,
        }
    }
}

/// Placements that reached 3 (or 6) months in the period, by `as_of`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Retention {
    pub reached: i64,
    /// Of those an answer or an end tells about (`of`), still working there (`yes`).
    pub retained: Share,
}

/// Claims that became eligible in the period, and decisions taken in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubsidyFigures {
    pub kind: &'static str,
    pub eligible: i64,
    pub approved: i64,
    pub rejected: i64,
}

/// A placement starting in the period, as counted.
#[derive(Queryable)]
struct Placed {
    start_on: NaiveDate,
    county: Option<String>,
    place_outside: Option<String>,
    trade: Option<String>,
    /// The worker's county on the register.
    home: Option<String>,
}

/// What the period's figures are counted from, loaded once for all its columns.
struct Rows {
    register: Vec<(Option<String>, String, Employment, NaiveDateTime)>,
    placed: Vec<Placed>,
    due: Vec<(
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        FollowupStatus,
    )>,
    /// Placements old enough to reach 3 or 6 months in the period, with their follow-ups.
    aged: Vec<Placement>,
    aged_followups: Vec<Followup>,
    unpaid: Vec<(String, NaiveDateTime)>,
    warnings: Vec<(String, NaiveDate)>,
    claims: Vec<(SubsidyKind, ClaimStatus, NaiveDate, Option<NaiveDateTime>)>,
}

/// The dispatch of a month or the bulletin of a quarter. `today` and `utc_offset_secs` are
/// the bureau's.
pub fn employment(
    conn: &mut DbConn,
    period: Period,
    today: NaiveDate,
    utc_offset_secs: i32,
) -> Result<EmploymentReport, DbError> {
    let whole = period.span(utc_offset_secs).ok_or_else(|| {
        DbError::Query(diesel::result::Error::QueryBuilderError(
            format!("no period {}", period.code()).into(),
        ))
    })?;
    let rows = load(conn, &whole)?;
    let mut spans: Vec<(Period, Span)> = Vec::new();
    if period.is_quarter() {
        for m in period.months() {
            if let Some(s) = m.span(utc_offset_secs) {
                spans.push((m, s));
            }
        }
    }
    spans.push((period, whole));
    Ok(EmploymentReport {
        period: period.code(),
        quarter: period.is_quarter(),
        from: whole.from,
        to: whole.to,
        complete: today > whole.to,
        due_on: whole.due_on(),
        as_of: today,
        columns: spans
            .iter()
            .map(|(p, s)| figures(&rows, *p, s, today))
            .collect(),
    })
}

fn load(conn: &mut DbConn, whole: &Span) -> Result<Rows, DbError> {
    let register = workers::table
        .filter(workers::created_at.lt(whole.end))
        .select((
            workers::county,
            workers::trades,
            workers::employment,
            workers::created_at,
        ))
        .load(conn)?;
    let placed: Vec<Placed> = placements::table
        .left_join(workers::table.on(workers::contact_id.eq(placements::contact_id)))
        .filter(placements::start_on.between(whole.from, whole.to))
        .select((
            placements::start_on,
            placements::county,
            placements::place_outside,
            placements::trade,
            workers::county.nullable(),
        ))
        .load(conn)?;
    let due = followups::table
        .filter(followups::due_at.ge(whole.start))
        .filter(followups::due_at.lt(whole.end))
        .select((
            followups::due_at,
            followups::sent_at,
            followups::first_answered_at,
            followups::status,
        ))
        .load(conn)?;
    // Those that can reach 6 months after the period's start or 3 months by its end. A month
    // step clamps to a shorter month's last day (30 November + 3 months is 28 February), which
    // moves a mark back by at most 3 days.
    let oldest = whole
        .from
        .checked_sub_months(Months::new(6))
        .unwrap_or(whole.from);
    let newest = whole
        .to
        .checked_sub_months(Months::new(3))
        .map_or(whole.to, |d| d + chrono::Duration::days(3));
    let aged: Vec<Placement> = placements::table
        .filter(placements::start_on.between(oldest, newest))
        .select(Placement::as_select())
        .load(conn)?;
    // By a join rather than a list of ids: a busy half-year is more ids than SQLite binds.
    let aged_followups = followups::table
        .inner_join(placements::table)
        .filter(placements::start_on.between(oldest, newest))
        .order(followups::due_at)
        .select(Followup::as_select())
        .load(conn)?;
    let unpaid = followups::table
        .filter(followups::unpaid.eq(true))
        .filter(followups::answered_at.ge(whole.start))
        .filter(followups::answered_at.lt(whole.end))
        .select((
            followups::contact_id,
            followups::answered_at.assume_not_null(),
        ))
        .load(conn)?;
    let warnings = cases::table
        .filter(cases::source.eq(CaseSource::EarlyWarning.as_str()))
        .filter(cases::received_on.between(whole.from, whole.to))
        .order(cases::reference)
        .select((cases::reference, cases::received_on))
        .load(conn)?;
    let claims = subsidy_claims::table
        .filter(
            subsidy_claims::eligible_on
                .between(whole.from, whole.to)
                .or(subsidy_claims::decided_at
                    .ge(whole.start)
                    .and(subsidy_claims::decided_at.lt(whole.end))),
        )
        .select((
            subsidy_claims::kind,
            subsidy_claims::status,
            subsidy_claims::eligible_on,
            subsidy_claims::decided_at,
        ))
        .load(conn)?;
    Ok(Rows {
        register,
        placed,
        due,
        aged,
        aged_followups,
        unpaid,
        warnings,
        claims,
    })
}

/// A county, trade or place as counted: None and blanks are `NONE`.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn key(v: &Option<String>) -> String {
    given(v).unwrap_or(NONE).to_string()
}

fn figures(rows: &Rows, period: Period, span: &Span, today: NaiveDate) -> Figures {
    let mut register = RegisterFigures::default();
    let mut by_status = [0i64; Employment::ALL.len()];
    for (county, trades, status, created_at) in &rows.register {
        if *created_at >= span.end {
            continue;
        }
        register.total += 1;
        if let Some(i) = Employment::ALL.iter().position(|e| e == status) {
            by_status[i] += 1;
        }
        *register.by_county.entry(key(county)).or_default() += 1;
        let codes = split_codes(trades);
        if codes.is_empty() {
            *register.by_trade.entry(NONE.into()).or_default() += 1;
        }
        for code in codes {
            *register.by_trade.entry(code).or_default() += 1;
        }
    }
    register.by_status = Employment::ALL
        .iter()
        .zip(by_status)
        .map(|(e, workers)| StatusCount {
            status: e.as_str(),
            workers,
        })
        .collect();

    let mut placements = PlacementFigures::default();
    for p in rows.placed.iter().filter(|p| span.has_day(p.start_on)) {
        let outside = p.place_outside.is_some();
        placements.total += 1;
        let add = |io: &mut InOut| {
            if outside {
                io.outside += 1
            } else {
                io.in_tibet += 1
            }
        };
        let county = given(&p.home).or(given(&p.county)).unwrap_or(NONE);
        add(placements.by_county.entry(county.to_string()).or_default());
        add(placements.by_trade.entry(key(&p.trade)).or_default());
        if outside {
            placements.outside += 1;
            *placements
                .by_destination
                .entry(key(&p.place_outside))
                .or_default() += 1;
        } else {
            placements.in_tibet += 1;
        }
    }

    let mut followups = Coverage::default();
    for (due_at, sent_at, answered_at, status) in &rows.due {
        if !span.has(*due_at) {
            continue;
        }
        followups.due += 1;
        followups.asked += sent_at.is_some() as i64;
        followups.answered += answered_at.is_some() as i64;
        match status {
            FollowupStatus::Unanswered => followups.unanswered += 1,
            FollowupStatus::Silenced => followups.silenced += 1,
            FollowupStatus::Scheduled | FollowupStatus::Open => followups.waiting += 1,
            FollowupStatus::Done => {}
        }
    }

    let by_placement = stats::group_by_placement(&rows.aged_followups);
    let retention = |months: u32| {
        let mut r = Retention::default();
        for p in &rows.aged {
            let Some(at) = p.start_on.checked_add_months(Months::new(months)) else {
                continue;
            };
            if !span.has_day(at) || at > today {
                continue;
            }
            r.reached += 1;
            let fs = by_placement
                .get(p.id.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            if let Some(kept) = stats::retained(p, fs, months, today) {
                r.retained.of += 1;
                r.retained.yes += kept as i64;
            }
        }
        r
    };

    let unpaid_workers = rows
        .unpaid
        .iter()
        .filter(|(_, at)| span.has(*at))
        .map(|(contact, _)| contact.as_str())
        .collect::<BTreeSet<_>>()
        .len() as i64;

    let subsidies = SubsidyKind::ALL
        .iter()
        .map(|kind| {
            let mine = rows.claims.iter().filter(|c| c.0 == *kind);
            let decided = |status: ClaimStatus| {
                mine.clone()
                    .filter(|c| c.1 == status && c.3.is_some_and(|t| span.has(t)))
                    .count() as i64
            };
            SubsidyFigures {
                kind: kind.as_str(),
                eligible: mine.clone().filter(|c| span.has_day(c.2)).count() as i64,
                approved: decided(ClaimStatus::Approved),
                rejected: decided(ClaimStatus::Rejected),
            }
        })
        .collect();

    Figures {
        period: period.code(),
        from: span.from,
        to: span.to,
        register,
        placements,
        followups,
        retention_3m: retention(3),
        retention_6m: retention(6),
        unpaid_workers,
        early_warnings: rows
            .warnings
            .iter()
            .filter(|(_, on)| span.has_day(*on))
            .map(|(r, _)| r.clone())
            .collect(),
        subsidies,
    }
}

/// A table of the report as the page and the CSV show it. Its words are keys of the console's
/// strings (`bulletin.*`, `employment.*`, `subsidy_kind.*`); data (periods, counties, trades'
/// names, places) is shown as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Its id on the page; its title is the string `bulletin.table.{id}`.
    pub id: &'static str,
    /// A string that says how it is counted, shown under the title.
    pub note: Option<&'static str>,
    /// The string heading the rows' labels.
    pub corner: &'static str,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

/// A column: a period (a quarter's month, or the quarter), a measure, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub period: Option<String>,
    pub measure: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub label: Cell,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Count(i64),
    /// A share in whole percent; None when there was nothing to share.
    Percent(Option<i64>),
    Date(NaiveDate),
    /// A string of the console's.
    Key(&'static str),
    /// Data, as it is.
    Text(String),
}

/// A table in words: what the page shows and the CSV writes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rendered {
    pub id: &'static str,
    pub title: String,
    pub note: Option<String>,
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Cell {
    fn text(&self, t: &dyn Fn(&str) -> String) -> String {
        match self {
            Cell::Count(n) => n.to_string(),
            Cell::Percent(p) => p.map(|p| p.to_string()).unwrap_or_default(),
            Cell::Date(d) => d.to_string(),
            Cell::Key(k) => t(k),
            Cell::Text(s) => s.clone(),
        }
    }
}

impl Table {
    /// In words, `t` giving the console's string of a key.
    pub fn render(&self, t: &dyn Fn(&str) -> String) -> Rendered {
        let mut head = vec![t(self.corner)];
        head.extend(self.columns.iter().map(|c| match (&c.period, c.measure) {
            (Some(p), Some(m)) => format!("{p} {}", t(m)),
            (Some(p), None) => p.clone(),
            (None, Some(m)) => t(m),
            (None, None) => String::new(),
        }));
        Rendered {
            id: self.id,
            title: t(&format!("bulletin.table.{}", self.id)),
            note: self.note.map(t),
            head,
            rows: self
                .rows
                .iter()
                .map(|r| {
                    let mut line = vec![r.label.text(t)];
                    line.extend(r.cells.iter().map(|c| c.text(t)));
                    line
                })
                .collect(),
        }
    }

    /// Each row's label in words and its last `n` counts: the whole period's, for a chart.
    pub fn last_counts(&self, n: usize, t: &dyn Fn(&str) -> String) -> Vec<(String, Vec<i64>)> {
        self.rows
            .iter()
            .map(|r| {
                let last = &r.cells[r.cells.len().saturating_sub(n)..];
                let counts = last
                    .iter()
                    .map(|c| match c {
                        Cell::Count(n) => *n,
                        _ => 0,
                    })
                    .collect();
                (r.label.text(t), counts)
            })
            .collect()
    }

    /// Every string key it uses (for the test that each has its string).
    pub fn keys(&self) -> Vec<String> {
        let mut keys = vec![format!("bulletin.table.{}", self.id), self.corner.into()];
        keys.extend(self.note.map(String::from));
        keys.extend(
            self.columns
                .iter()
                .filter_map(|c| c.measure.map(String::from)),
        );
        for r in &self.rows {
            for c in std::iter::once(&r.label).chain(&r.cells) {
                if let Cell::Key(k) = c {
                    keys.push(k.to_string());
                }
            }
        }
        keys
    }
}

/// One figure of a period, as a table shows it.
type Figure = fn(&Figures) -> Cell;

/// In Tibet, outside Tibet: the measures of the placement breakdowns.
const IN_OUT: [&str; 2] = ["bulletin.col.in_tibet", "bulletin.col.outside"];
const SUBSIDY_MEASURES: [&str; 3] = [
    "bulletin.col.eligible",
    "bulletin.col.approved",
    "bulletin.col.rejected",
];

/// The report's tables, in order: the period, the register (size and status, by county, by
/// trade), placements (in Tibet and outside, by county, by trade, by destination), follow-ups,
/// retention, unpaid wages, subsidies. Counties and trades come in the configuration's order,
/// others after them by name, the ones not given last.
pub fn tables(r: &EmploymentReport, counties: &[County], trades: &[Trade]) -> Vec<Table> {
    let cols = &r.columns;
    // A month's single column is headed by its month; a quarter's by each month and the quarter.
    let periods: Vec<Column> = cols
        .iter()
        .map(|f| Column {
            period: Some(f.period.clone()),
            measure: None,
        })
        .collect();
    let measured = |measures: &[&'static str]| -> Vec<Column> {
        cols.iter()
            .flat_map(|f| {
                measures.iter().map(|m| Column {
                    period: r.quarter.then(|| f.period.clone()),
                    measure: Some(*m),
                })
            })
            .collect()
    };
    let row = |label: &'static str, value: &dyn Fn(&Figures) -> Cell| Row {
        label: Cell::Key(label),
        cells: cols.iter().map(value).collect(),
    };
    // One figure a row, a column per period.
    let figure_table = |id, note, figures: &[(&'static str, Figure)]| Table {
        id,
        note,
        corner: "bulletin.col.item",
        columns: periods.clone(),
        rows: figures
            .iter()
            .map(|(label, value)| row(label, value))
            .collect(),
    };
    let county_order: Vec<&str> = counties.iter().map(|c| c.zh.as_str()).collect();
    let trade_order: Vec<&str> = trades.iter().map(|t| t.code.as_str()).collect();
    let county_label = |k: &str| match k {
        NONE => Cell::Key("bulletin.row.none"),
        k => Cell::Text(k.to_string()),
    };
    let trade_label = |k: &str| match k {
        NONE => Cell::Key("bulletin.row.none"),
        k => Cell::Text(
            trades
                .iter()
                .find(|t| t.code == k)
                .map_or_else(|| k.to_string(), |t| t.zh.clone()),
        ),
    };
    let yes_no = |b: bool| Cell::Key(if b { "bulletin.yes" } else { "bulletin.no" });

    let mut out = vec![Table {
        id: "period",
        note: None,
        corner: "bulletin.col.item",
        columns: vec![Column {
            period: None,
            measure: Some("bulletin.col.value"),
        }],
        rows: [
            ("bulletin.row.period", Cell::Text(r.period.clone())),
            ("bulletin.row.from", Cell::Date(r.from)),
            ("bulletin.row.to", Cell::Date(r.to)),
            ("bulletin.row.complete", yes_no(r.complete)),
            ("bulletin.row.due_on", Cell::Date(r.due_on)),
            ("bulletin.row.as_of", Cell::Date(r.as_of)),
        ]
        .into_iter()
        .map(|(label, cell)| Row {
            label: Cell::Key(label),
            cells: vec![cell],
        })
        .collect(),
    }];

    let mut register = vec![row("bulletin.row.register_total", &|f| {
        Cell::Count(f.register.total)
    })];
    for (i, e) in Employment::ALL.iter().enumerate() {
        register.push(Row {
            label: Cell::Key(employment_key(*e)),
            cells: cols
                .iter()
                .map(|f| Cell::Count(f.register.by_status.get(i).map_or(0, |s| s.workers)))
                .collect(),
        });
    }
    out.push(Table {
        id: "register",
        note: Some("bulletin.note.register"),
        corner: "bulletin.col.item",
        columns: periods.clone(),
        rows: register,
    });
    let counts = |n: Option<&i64>| vec![Cell::Count(n.copied().unwrap_or(0))];
    out.push(keyed(
        ("register_county", "bulletin.col.county"),
        periods.clone(),
        cols,
        |f| &f.register.by_county,
        &county_order,
        &county_label,
        counts,
    ));
    out.push(keyed(
        ("register_trade", "bulletin.col.trade"),
        periods.clone(),
        cols,
        |f| &f.register.by_trade,
        &trade_order,
        &trade_label,
        counts,
    ));

    out.push(figure_table(
        "placements",
        None,
        &[
            ("bulletin.row.placements_total", |f| {
                Cell::Count(f.placements.total)
            }),
            ("bulletin.col.in_tibet", |f| {
                Cell::Count(f.placements.in_tibet)
            }),
            ("bulletin.col.outside", |f| {
                Cell::Count(f.placements.outside)
            }),
        ],
    ));
    let in_out = |io: Option<&InOut>| {
        let io = io.copied().unwrap_or_default();
        vec![Cell::Count(io.in_tibet), Cell::Count(io.outside)]
    };
    let mut by_county = keyed(
        ("placements_county", "bulletin.col.county"),
        measured(&IN_OUT),
        cols,
        |f| &f.placements.by_county,
        &county_order,
        &county_label,
        in_out,
    );
    by_county.note = Some("bulletin.note.placements_county");
    out.push(by_county);
    out.push(keyed(
        ("placements_trade", "bulletin.col.trade"),
        measured(&IN_OUT),
        cols,
        |f| &f.placements.by_trade,
        &trade_order,
        &trade_label,
        in_out,
    ));
    out.push(keyed(
        ("placements_destination", "bulletin.col.destination"),
        periods.clone(),
        cols,
        |f| &f.placements.by_destination,
        &[],
        &county_label,
        counts,
    ));

    out.push(figure_table(
        "followups",
        Some("bulletin.note.followups"),
        &[
            ("bulletin.row.due", |f| Cell::Count(f.followups.due)),
            ("bulletin.row.asked", |f| Cell::Count(f.followups.asked)),
            ("bulletin.row.answered", |f| {
                Cell::Count(f.followups.answered)
            }),
            ("bulletin.row.unanswered", |f| {
                Cell::Count(f.followups.unanswered)
            }),
            ("bulletin.row.silenced", |f| {
                Cell::Count(f.followups.silenced)
            }),
            ("bulletin.row.waiting", |f| Cell::Count(f.followups.waiting)),
            ("bulletin.row.coverage", |f| {
                Cell::Percent(f.followups.asked_share().percent())
            }),
            ("bulletin.row.answer_rate", |f| {
                Cell::Percent(f.followups.answered_share().percent())
            }),
        ],
    ));

    let mut retention = Vec::new();
    for (months, labels) in [
        (
            3,
            [
                "bulletin.row.reached_3m",
                "bulletin.row.known_3m",
                "bulletin.row.retained_3m",
                "bulletin.row.rate_3m",
            ],
        ),
        (
            6,
            [
                "bulletin.row.reached_6m",
                "bulletin.row.known_6m",
                "bulletin.row.retained_6m",
                "bulletin.row.rate_6m",
            ],
        ),
    ] {
        let get = |f: &Figures| {
            if months == 3 {
                f.retention_3m
            } else {
                f.retention_6m
            }
        };
        retention.push(row(labels[0], &|f| Cell::Count(get(f).reached)));
        retention.push(row(labels[1], &|f| Cell::Count(get(f).retained.of)));
        retention.push(row(labels[2], &|f| Cell::Count(get(f).retained.yes)));
        retention.push(row(labels[3], &|f| {
            Cell::Percent(get(f).retained.percent())
        }));
    }
    out.push(Table {
        id: "retention",
        note: Some("bulletin.note.retention"),
        corner: "bulletin.col.item",
        columns: periods.clone(),
        rows: retention,
    });

    out.push(figure_table(
        "arrears",
        None,
        &[
            ("bulletin.row.unpaid_workers", |f| {
                Cell::Count(f.unpaid_workers)
            }),
            ("bulletin.row.early_warnings", |f| {
                Cell::Count(f.early_warnings.len() as i64)
            }),
            ("bulletin.row.early_warning_cases", |f| {
                Cell::Text(f.early_warnings.join("、"))
            }),
        ],
    ));

    let mut subsidies: Vec<Row> = SubsidyKind::ALL
        .iter()
        .enumerate()
        .map(|(i, kind)| Row {
            label: Cell::Key(subsidy_key(*kind)),
            cells: cols
                .iter()
                .flat_map(|f| {
                    let s = &f.subsidies[i];
                    [s.eligible, s.approved, s.rejected].map(Cell::Count)
                })
                .collect(),
        })
        .collect();
    subsidies.push(Row {
        label: Cell::Key("bulletin.row.total"),
        cells: cols
            .iter()
            .flat_map(|f| {
                let sum = |g: fn(&SubsidyFigures) -> i64| f.subsidies.iter().map(g).sum::<i64>();
                [
                    sum(|s| s.eligible),
                    sum(|s| s.approved),
                    sum(|s| s.rejected),
                ]
                .map(Cell::Count)
            })
            .collect(),
    });
    out.push(Table {
        id: "subsidies",
        note: None,
        corner: "bulletin.col.subsidy",
        columns: measured(&SUBSIDY_MEASURES),
        rows: subsidies,
    });
    out
}

/// A table with a row per key (a county, a trade, a place) found in any column: `(id,
/// corner)`, its columns, where each column's figures keep the keys, the keys' order, their
/// labels, and a row's cells of one column.
fn keyed<V>(
    (id, corner): (&'static str, &'static str),
    columns: Vec<Column>,
    cols: &[Figures],
    map: impl Fn(&Figures) -> &BTreeMap<String, V>,
    order: &[&str],
    label: &dyn Fn(&str) -> Cell,
    cells: impl Fn(Option<&V>) -> Vec<Cell>,
) -> Table {
    Table {
        id,
        note: None,
        corner,
        columns,
        rows: ordered(cols.iter().flat_map(|f| map(f).keys()), order)
            .into_iter()
            .map(|k| Row {
                label: label(&k),
                cells: cols.iter().flat_map(|f| cells(map(f).get(&k))).collect(),
            })
            .collect(),
    }
}

/// The console's string of a status (`employment.*`).
fn employment_key(e: Employment) -> &'static str {
    match e {
        Employment::Seeking => "employment.seeking",
        Employment::Working => "employment.working",
        Employment::NotSeeking => "employment.not_seeking",
    }
}

/// The console's string of a subsidy (`subsidy_kind.*`).
fn subsidy_key(k: SubsidyKind) -> &'static str {
    match k {
        SubsidyKind::JobSeeking => "subsidy_kind.job_seeking",
        SubsidyKind::Placement => "subsidy_kind.placement",
        SubsidyKind::Travel => "subsidy_kind.travel",
    }
}

/// Distinct keys: those of `order` first in its order, then the rest by name, `NONE` last.
fn ordered<'a>(keys: impl Iterator<Item = &'a String>, order: &[&str]) -> Vec<String> {
    let mut keys: Vec<&String> = keys.collect::<BTreeSet<_>>().into_iter().collect();
    keys.sort_by_key(|k| {
        (
            k.as_str() == NONE,
            order.iter().position(|o| o == k).unwrap_or(order.len()),
            k.as_str(),
        )
    });
    keys.into_iter().cloned().collect()
}

/// A quarter with a little of everything (the tests of the tables and of their strings).
#[cfg(test)]
pub(crate) fn sample_quarter() -> EmploymentReport {
    let d = |m: u32, day: u32| NaiveDate::from_ymd_opt(2027, m, day).unwrap();
    let f = |period: &str, total: i64, outside: i64| Figures {
        period: period.into(),
        from: d(4, 1),
        to: d(4, 30),
        register: RegisterFigures {
            total: 2,
            by_status: Employment::ALL
                .iter()
                .map(|e| StatusCount {
                    status: e.as_str(),
                    workers: 1,
                })
                .collect(),
            by_county: [("城关区".to_string(), 1), (NONE.to_string(), 1)].into(),
            by_trade: [("construction".to_string(), 2)].into(),
        },
        placements: PlacementFigures {
            total: total + outside,
            in_tibet: total,
            outside,
            by_county: [
                (
                    "城关区".to_string(),
                    InOut {
                        in_tibet: total,
                        outside: 0,
                    },
                ),
                (
                    NONE.to_string(),
                    InOut {
                        in_tibet: 0,
                        outside,
                    },
                ),
            ]
            .into(),
            by_trade: [(
                NONE.to_string(),
                InOut {
                    in_tibet: total,
                    outside,
                },
            )]
            .into(),
            by_destination: [("江苏省苏州市".to_string(), outside)].into(),
        },
        followups: Coverage {
            due: 3,
            asked: 2,
            answered: 1,
            ..Coverage::default()
        },
        retention_3m: Retention::default(),
        retention_6m: Retention::default(),
        unpaid_workers: 0,
        early_warnings: vec!["Q123".into()],
        subsidies: SubsidyKind::ALL
            .iter()
            .map(|k| SubsidyFigures {
                kind: k.as_str(),
                eligible: 1,
                approved: 0,
                rejected: 0,
            })
            .collect(),
    };
    EmploymentReport {
        period: "2027-Q2".into(),
        quarter: true,
        from: d(4, 1),
        to: d(6, 30),
        complete: true,
        due_on: d(7, 5),
        as_of: d(7, 2),
        columns: vec![
            f("2027-04", 1, 0),
            f("2027-05", 0, 0),
            f("2027-06", 2, 1),
            f("2027-Q2", 3, 1),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_the_configurations_order_then_by_name_then_none() {
        let keys = [
            "达孜区".to_string(),
            NONE.to_string(),
            "城关区".to_string(),
            "别处".to_string(),
            "城关区".to_string(),
        ];
        assert_eq!(
            ordered(keys.iter(), &["城关区", "堆龙德庆区", "达孜区"]),
            ["城关区", "达孜区", "别处", NONE]
        );
    }

    #[test]
    fn tables_render_in_words_with_a_column_per_month_and_the_quarter() {
        let r = sample_quarter();
        let t = |k: &str| format!("<{k}>");
        let all = tables(&r, &crate::places::default_counties(), &[]);
        let by_id = |id: &str| all.iter().find(|t| t.id == id).unwrap().render(&t);
        let p = by_id("placements_county");
        assert_eq!(p.title, "<bulletin.table.placements_county>");
        assert_eq!(p.head.len(), 1 + 4 * 2);
        assert_eq!(p.head[1], "2027-04 <bulletin.col.in_tibet>");
        assert_eq!(p.head[8], "2027-Q2 <bulletin.col.outside>");
        assert_eq!(
            p.rows,
            [
                ["城关区", "1", "0", "0", "0", "2", "0", "3", "0"],
                [
                    "<bulletin.row.none>",
                    "0",
                    "0",
                    "0",
                    "0",
                    "0",
                    "1",
                    "0",
                    "1"
                ]
            ]
        );
        assert_eq!(
            all.iter()
                .find(|t| t.id == "placements_county")
                .unwrap()
                .last_counts(2, &t),
            [
                ("城关区".to_string(), vec![3, 0]),
                ("<bulletin.row.none>".to_string(), vec![0, 1])
            ]
        );
        let fu = by_id("followups");
        assert_eq!(
            fu.head,
            [
                "<bulletin.col.item>",
                "2027-04",
                "2027-05",
                "2027-06",
                "2027-Q2"
            ]
        );
        let rate = fu
            .rows
            .iter()
            .find(|r| r[0] == "<bulletin.row.answer_rate>")
            .unwrap();
        assert_eq!(rate[1], "50");
        let s = by_id("subsidies");
        assert_eq!(s.rows.last().unwrap()[1], "3", "the total of the kinds");
        assert_eq!(by_id("period").rows[3][1], "<bulletin.yes>");
        // A month's columns are its measures alone.
        let mut month = r.clone();
        month.quarter = false;
        month.columns.truncate(1);
        let m = tables(&month, &[], &[]);
        let p = m
            .iter()
            .find(|t| t.id == "placements_trade")
            .unwrap()
            .render(&t);
        assert_eq!(
            p.head,
            [
                "<bulletin.col.trade>",
                "<bulletin.col.in_tibet>",
                "<bulletin.col.outside>"
            ]
        );
    }
}
