//! The monthly report the bureau files by the 5th of the next month: complaints by county,
//! cases by state, money owed and recovered, the legal deadlines met and missed, and the
//! joint-enforcement referrals by department. Pure reading and arithmetic; the console page,
//! the CSV (`csv.rs`) and the charts (`svg.rs`) render it.
//!
//! Months are the bureau's: timestamps (UTC) are shifted into its zone before they are placed
//! in a month, and dates (`received_on`, `accept_due`, …) are already local. Figures about the
//! present (still waiting, overdue, missed while not yet decided) are as of `today`.
//!
//! The employment side's monthly dispatch and quarterly bulletin (`employment.rs`) share the
//! periods (`Period`, `Span`), the CSV writer and the charts.

pub mod csv;
pub mod employment;
pub mod svg;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::cases::rules::CaseState;
use crate::db::schema::{cases, complaints, departments, referrals};
use crate::db::{DbConn, DbError};

pub use self::csv::to_csv;

/// Referral statuses, as `referrals.status` stores them.
const REFERRAL_CLOSED: &str = "closed";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlyReport {
    /// "2026-10".
    pub month: String,
    /// First and last day of the month.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The month is over: its figures no longer grow.
    pub complete: bool,
    /// The 5th of the next month, when the report is due.
    pub due_on: NaiveDate,
    /// The day the figures about the present are taken.
    pub as_of: NaiveDate,
    pub complaints: ComplaintSection,
    pub cases: CaseSection,
    pub money: Money,
    pub deadlines: Deadlines,
    pub referrals: ReferralSection,
}

/// Complaints received in the month (by `complaints.created_at` in the bureau's zone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComplaintSection {
    /// By the county the worker named, in name order.
    pub by_county: Vec<CountyComplaints>,
    pub total: ComplaintFigures,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ComplaintFigures {
    pub complaints: i64,
    /// Distinct cases the complaints joined or opened.
    pub cases: i64,
    /// Workers the complaints speak for.
    pub workers: i64,
    /// Wages owed, as the workers reported them.
    pub amount_yuan: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountyComplaints {
    pub county: String,
    #[serde(flatten)]
    pub figures: ComplaintFigures,
}

/// Cases received in the month (`cases.received_on`), by the state they are in now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseSection {
    pub received: i64,
    /// State codes (`CaseState::as_str`) in life-cycle order: the columns of `by_county`.
    pub states: Vec<&'static str>,
    /// Every state, zeros included, in the order of `states`.
    pub by_state: Vec<StateCount>,
    /// One row per county, `counts` in the order of `states`.
    pub by_county: Vec<CountyStates>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateCount {
    pub state: &'static str,
    pub cases: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountyStates {
    pub county: String,
    pub counts: Vec<i64>,
    pub total: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Money {
    /// Owed on the cases received in the month.
    pub owed_yuan: i64,
    /// Cases that finished in the month (`finished_on`: resolved, transferred or refused)…
    pub finished_cases: i64,
    /// …and what was recovered on them.
    pub recovered_yuan: i64,
    /// Recovered on every case finished by the month's last day.
    pub recovered_to_date_yuan: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadlines {
    /// Decide on acceptance (`accept_due`): met by accepting, refusing or transferring the
    /// case on or before the day.
    pub accept: DeadlineFigures,
    /// Finish the investigation (`finish_due`): met when `finished_on` is on or before it.
    pub finish: DeadlineFigures,
}

/// Deadlines falling in the month.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeadlineFigures {
    pub due: i64,
    pub met: i64,
    /// Done late, or not done and the day has passed.
    pub missed: i64,
    /// Not done and not yet past (only in the current month).
    pub pending: i64,
    /// References of the missed cases, in order.
    pub missed_cases: Vec<String>,
}

/// Referrals sent in the month (`referrals.created_at` in the bureau's zone).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferralSection {
    /// Every active department, and any other that was sent a referral, by code.
    pub by_department: Vec<DepartmentReferrals>,
    pub total: ReferralFigures,
    /// Case references of the overdue referrals.
    pub overdue_cases: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReferralFigures {
    pub sent: i64,
    /// The department acknowledged receipt (or answered, which implies it).
    pub acknowledged: i64,
    pub answered: i64,
    /// No answer yet and not closed: the bureau still waits for the department.
    pub waiting: i64,
    /// Not acknowledged, not closed, and past `reminder_due`.
    pub overdue: i64,
    /// Median calendar days from sending to acknowledgement (bureau's zone), over the
    /// acknowledged ones; None when none was acknowledged.
    pub median_days_to_acknowledge: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DepartmentReferrals {
    pub department: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: ReferralFigures,
}

/// First and last day of a month; None for a month that does not exist.
pub fn month_bounds(year: i32, month: u32) -> Option<(NaiveDate, NaiveDate)> {
    let from = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = from.checked_add_months(Months::new(1))?;
    Some((from, next - Duration::days(1)))
}

/// Reads "2026-10" (what the console's URL carries) as (2026, 10).
pub fn parse_month(s: &str) -> Option<(i32, u32)> {
    let (y, m) = s.trim().split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let (y, m) = (y.parse().ok()?, m.parse().ok()?);
    month_bounds(y, m).map(|_| (y, m))
}

/// The month before the one `today` is in: the one a report is due for.
pub fn previous_month(today: NaiveDate) -> (i32, u32) {
    let last = today.with_day(1).unwrap_or(today) - Duration::days(1);
    (last.year(), last.month())
}

pub fn month_csv_filename(year: i32, month: u32) -> String {
    Period::Month(year, month).csv_filename("report")
}

/// What a report covers: a month (the monthly report, 月调度) or a quarter (季度通报).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month(i32, u32),
    /// A year and its quarter, 1 to 4.
    Quarter(i32, u32),
}

impl Period {
    /// Reads "2027-06" or "2027-Q2" (what the console's URLs carry); None for a period that
    /// does not exist.
    pub fn parse(s: &str) -> Option<Period> {
        let s = s.trim();
        if let Some((y, q)) = s.split_once("-Q").or_else(|| s.split_once("-q")) {
            if y.len() != 4 || q.len() != 1 || !y.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let (y, q): (i32, u32) = (y.parse().ok()?, q.parse().ok()?);
            return ((1..=4).contains(&q) && month_bounds(y, 1).is_some())
                .then_some(Period::Quarter(y, q));
        }
        parse_month(s).map(|(y, m)| Period::Month(y, m))
    }

    /// The report due now: last month's (due by the 5th of this one).
    pub fn previous_month(today: NaiveDate) -> Period {
        let (y, m) = previous_month(today);
        Period::Month(y, m)
    }

    /// As the console's URLs and the CSV name it: "2027-06", "2027-Q2".
    pub fn code(self) -> String {
        match self {
            Period::Month(y, m) => format!("{y:04}-{m:02}"),
            Period::Quarter(y, q) => format!("{y:04}-Q{q}"),
        }
    }

    pub fn is_quarter(self) -> bool {
        matches!(self, Period::Quarter(..))
    }

    /// The months it covers, in order.
    pub fn months(self) -> Vec<Period> {
        match self {
            Period::Month(..) => vec![self],
            Period::Quarter(y, q) => (1..=3).map(|i| Period::Month(y, (q - 1) * 3 + i)).collect(),
        }
    }

    /// First and last day.
    pub fn bounds(self) -> Option<(NaiveDate, NaiveDate)> {
        let months = self.months();
        let (first, last) = (months.first()?, months.last()?);
        match (first, last) {
            (Period::Month(y1, m1), Period::Month(y2, m2)) => {
                Some((month_bounds(*y1, *m1)?.0, month_bounds(*y2, *m2)?.1))
            }
            _ => None,
        }
    }

    /// Its days in the bureau's zone.
    pub fn span(self, utc_offset_secs: i32) -> Option<Span> {
        self.bounds()
            .map(|(from, to)| Span::new(from, to, utc_offset_secs))
    }

    /// The period before or after this one (`by` = -1 or 1), of the same kind.
    pub fn step(self, by: i32) -> Period {
        match self {
            Period::Month(y, m) => {
                let n = y * 12 + m as i32 - 1 + by;
                Period::Month(n.div_euclid(12), n.rem_euclid(12) as u32 + 1)
            }
            Period::Quarter(y, q) => {
                let n = y * 4 + q as i32 - 1 + by;
                Period::Quarter(n.div_euclid(4), n.rem_euclid(4) as u32 + 1)
            }
        }
    }

    /// The quarter a month is in (a quarter is its own).
    pub fn quarter(self) -> Period {
        match self {
            Period::Month(y, m) => Period::Quarter(y, (m - 1) / 3 + 1),
            q => q,
        }
    }

    /// `hotline-{what}-{code}.csv`.
    pub fn csv_filename(self, what: &str) -> String {
        format!("hotline-{what}-{}.csv", self.code())
    }
}

/// The bureau's days `from` to `to` (inclusive), and the UTC instants they span: a stored
/// timestamp belongs to the span by the bureau's calendar, not UTC's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// When `from` begins, UTC.
    pub start: NaiveDateTime,
    /// When the day after `to` begins, UTC.
    pub end: NaiveDateTime,
}

impl Span {
    pub fn new(from: NaiveDate, to: NaiveDate, utc_offset_secs: i32) -> Span {
        Span {
            from,
            to,
            start: local_midnight_utc(from, utc_offset_secs),
            end: local_midnight_utc(to + Duration::days(1), utc_offset_secs),
        }
    }

    pub fn has_day(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    /// A stored (UTC) timestamp falls on one of its days.
    pub fn has(&self, t: NaiveDateTime) -> bool {
        self.start <= t && t < self.end
    }

    /// The 5th of the next month: when the report on it is due.
    pub fn due_on(&self) -> NaiveDate {
        let next = self.to + Duration::days(1);
        next.with_day(5).unwrap_or(next)
    }
}

/// The UTC instant a local day begins.
fn local_midnight_utc(day: NaiveDate, utc_offset_secs: i32) -> NaiveDateTime {
    day.and_time(NaiveTime::MIN) - Duration::seconds(utc_offset_secs as i64)
}

fn local_date(t: NaiveDateTime, utc_offset_secs: i32) -> NaiveDate {
    (t + Duration::seconds(utc_offset_secs as i64)).date()
}

/// The monthly report for `year`-`month`. `today` and `utc_offset_secs` are the bureau's
/// (`Config::today()`, `Config::utc_offset_secs()`). A month that does not exist is an error
/// (check with `parse_month` first).
pub fn monthly(
    conn: &mut DbConn,
    year: i32,
    month: u32,
    today: NaiveDate,
    utc_offset_secs: i32,
) -> Result<MonthlyReport, DbError> {
    let (from, to) = month_bounds(year, month).ok_or_else(|| {
        DbError::Query(diesel::result::Error::QueryBuilderError(
            format!("no month {year}-{month:02}").into(),
        ))
    })?;
    let span = Span::new(from, to, utc_offset_secs);
    let (start, end) = (span.start, span.end);

    let complaint_rows: Vec<(String, String, i32, i64)> = complaints::table
        .filter(complaints::created_at.ge(start))
        .filter(complaints::created_at.lt(end))
        .select((
            complaints::county,
            complaints::case_id,
            complaints::workers,
            complaints::amount_yuan,
        ))
        .load(conn)?;

    let received: Vec<(String, String, i64)> = cases::table
        .filter(cases::received_on.between(from, to))
        .select((cases::county, cases::state, cases::amount_yuan))
        .load(conn)?;

    let finished: Vec<Option<i64>> = cases::table
        .filter(cases::finished_on.between(from, to))
        .select(cases::recovered_yuan)
        .load(conn)?;
    let to_date: Vec<Option<i64>> = cases::table
        .filter(cases::finished_on.le(to))
        .filter(cases::recovered_yuan.is_not_null())
        .select(cases::recovered_yuan)
        .load(conn)?;

    type DueRow = (
        String,
        Option<NaiveDate>,
        Option<NaiveDate>,
        Option<NaiveDate>,
    );
    let accept_rows: Vec<DueRow> = cases::table
        .filter(cases::accept_due.between(from, to))
        .order(cases::reference)
        .select((
            cases::reference,
            cases::accept_due,
            cases::accepted_on,
            cases::finished_on,
        ))
        .load(conn)?;
    let finish_rows: Vec<(String, Option<NaiveDate>, Option<NaiveDate>)> = cases::table
        .filter(cases::finish_due.between(from, to))
        .order(cases::reference)
        .select((cases::reference, cases::finish_due, cases::finished_on))
        .load(conn)?;

    let referral_rows: Vec<ReferralRow> = referrals::table
        .inner_join(cases::table)
        .filter(referrals::created_at.ge(start))
        .filter(referrals::created_at.lt(end))
        .order((referrals::department, cases::reference))
        .select((
            referrals::department,
            cases::reference,
            referrals::status,
            referrals::reminder_due,
            referrals::acknowledged_at,
            referrals::answered_at,
            referrals::created_at,
        ))
        .load(conn)?;
    let depts: Vec<(String, String, bool)> = departments::table
        .order(departments::code)
        .select((departments::code, departments::name_zh, departments::active))
        .load(conn)?;

    let accept = deadline_figures(
        accept_rows.into_iter().map(|(r, due, accepted, finished)| {
            // Refusing or transferring an unaccepted case is also the decision the clock asks for.
            (r, due, accepted.or(finished))
        }),
        today,
    );
    let finish = deadline_figures(finish_rows, today);

    Ok(MonthlyReport {
        month: format!("{year:04}-{month:02}"),
        from,
        to,
        complete: today > to,
        due_on: span.due_on(),
        as_of: today,
        complaints: complaint_section(&complaint_rows),
        cases: case_section(&received),
        money: Money {
            owed_yuan: received.iter().map(|r| r.2).sum(),
            finished_cases: finished.len() as i64,
            recovered_yuan: finished.iter().flatten().sum(),
            recovered_to_date_yuan: to_date.iter().flatten().sum(),
        },
        deadlines: Deadlines { accept, finish },
        referrals: referral_section(&referral_rows, &depts, today, utc_offset_secs),
    })
}

fn complaint_section(rows: &[(String, String, i32, i64)]) -> ComplaintSection {
    #[derive(Default)]
    struct Acc<'a> {
        complaints: i64,
        cases: BTreeSet<&'a str>,
        workers: i64,
        amount: i64,
    }
    impl Acc<'_> {
        fn figures(&self) -> ComplaintFigures {
            ComplaintFigures {
                complaints: self.complaints,
                cases: self.cases.len() as i64,
                workers: self.workers,
                amount_yuan: self.amount,
            }
        }
    }
    let mut by_county: BTreeMap<&str, Acc> = BTreeMap::new();
    let mut total = Acc::default();
    for (county, case_id, workers, amount) in rows {
        for acc in [by_county.entry(county.as_str()).or_default(), &mut total] {
            acc.complaints += 1;
            acc.cases.insert(case_id);
            acc.workers += *workers as i64;
            acc.amount += amount;
        }
    }
    ComplaintSection {
        by_county: by_county
            .iter()
            .map(|(county, acc)| CountyComplaints {
                county: county.to_string(),
                figures: acc.figures(),
            })
            .collect(),
        total: total.figures(),
    }
}

fn case_section(rows: &[(String, String, i64)]) -> CaseSection {
    let index = |state: &str| CaseState::ALL.iter().position(|s| s.as_str() == state);
    let mut by_state = vec![0i64; CaseState::ALL.len()];
    let mut by_county: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (county, state, _) in rows {
        let Some(i) = index(state) else {
            tracing::warn!(state = %state, "case in an unknown state left out of the report");
            continue;
        };
        by_state[i] += 1;
        by_county
            .entry(county.as_str())
            .or_insert_with(|| vec![0; CaseState::ALL.len()])[i] += 1;
    }
    CaseSection {
        received: by_state.iter().sum(),
        states: CaseState::ALL.iter().map(|s| s.as_str()).collect(),
        by_state: CaseState::ALL
            .iter()
            .zip(&by_state)
            .map(|(s, n)| StateCount {
                state: s.as_str(),
                cases: *n,
            })
            .collect(),
        by_county: by_county
            .into_iter()
            .map(|(county, counts)| CountyStates {
                county: county.to_string(),
                total: counts.iter().sum(),
                counts,
            })
            .collect(),
    }
}

/// `(reference, due, done_on)` for deadlines in the month, in reference order.
fn deadline_figures(
    rows: impl IntoIterator<Item = (String, Option<NaiveDate>, Option<NaiveDate>)>,
    today: NaiveDate,
) -> DeadlineFigures {
    let mut f = DeadlineFigures::default();
    for (reference, due, done) in rows {
        let Some(due) = due else { continue };
        f.due += 1;
        match done {
            Some(d) if d <= due => f.met += 1,
            Some(_) => f.missed_cases.push(reference),
            None if due < today => f.missed_cases.push(reference),
            None => f.pending += 1,
        }
    }
    f.missed = f.missed_cases.len() as i64;
    f
}

type ReferralRow = (
    String,
    String,
    String,
    NaiveDate,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

fn referral_section(
    rows: &[ReferralRow],
    depts: &[(String, String, bool)],
    today: NaiveDate,
    utc_offset_secs: i32,
) -> ReferralSection {
    #[derive(Default)]
    struct Acc {
        f: ReferralFigures,
        days: Vec<i64>,
    }
    impl Acc {
        fn done(mut self) -> ReferralFigures {
            self.f.median_days_to_acknowledge = median(&mut self.days);
            self.f
        }
    }
    let mut by_dept: BTreeMap<&str, Acc> = depts
        .iter()
        .filter(|d| d.2)
        .map(|d| (d.0.as_str(), Acc::default()))
        .collect();
    let mut total = Acc::default();
    let mut overdue_cases = Vec::new();
    for (dept, reference, status, reminder_due, acked, answered, sent) in rows {
        let closed = status == REFERRAL_CLOSED;
        let acked_at = acked.or(*answered);
        let overdue = acked_at.is_none() && !closed && *reminder_due < today;
        if overdue {
            overdue_cases.push(reference.clone());
        }
        let days = acked_at.map(|a| {
            (local_date(a, utc_offset_secs) - local_date(*sent, utc_offset_secs)).num_days()
        });
        for acc in [by_dept.entry(dept.as_str()).or_default(), &mut total] {
            acc.f.sent += 1;
            acc.f.acknowledged += acked_at.is_some() as i64;
            acc.f.answered += answered.is_some() as i64;
            acc.f.waiting += (answered.is_none() && !closed) as i64;
            acc.f.overdue += overdue as i64;
            acc.days.extend(days);
        }
    }
    let name_of = |code: &str| {
        depts
            .iter()
            .find(|d| d.0 == code)
            .map_or_else(|| code.to_string(), |d| d.1.clone())
    };
    ReferralSection {
        by_department: by_dept
            .into_iter()
            .map(|(code, acc)| DepartmentReferrals {
                department: code.to_string(),
                name: name_of(code),
                figures: acc.done(),
            })
            .collect(),
        total: total.done(),
        overdue_cases,
    }
}

fn median(xs: &mut [i64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_unstable();
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2] as f64
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) as f64 / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn months_and_their_edges() {
        assert_eq!(month_bounds(2026, 2), Some((d(2026, 2, 1), d(2026, 2, 28))));
        assert_eq!(
            month_bounds(2026, 12),
            Some((d(2026, 12, 1), d(2026, 12, 31)))
        );
        assert_eq!(month_bounds(2026, 13), None);
        assert_eq!(month_bounds(2026, 0), None);
        assert_eq!(parse_month("2026-10"), Some((2026, 10)));
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("2026-1"), None);
        assert_eq!(parse_month("../etc"), None);
        assert_eq!(previous_month(d(2026, 1, 3)), (2025, 12));
        assert_eq!(previous_month(d(2026, 11, 30)), (2026, 10));
        assert_eq!(month_csv_filename(2026, 3), "hotline-report-2026-03.csv");
        // Shanghai's October begins at 16:00 UTC on 30 September.
        assert_eq!(
            local_midnight_utc(d(2026, 10, 1), 8 * 3600),
            d(2026, 9, 30).and_hms_opt(16, 0, 0).unwrap()
        );
    }

    #[test]
    fn months_and_quarters_as_periods() {
        assert_eq!(Period::parse("2027-06"), Some(Period::Month(2027, 6)));
        assert_eq!(Period::parse("2027-Q2"), Some(Period::Quarter(2027, 2)));
        assert_eq!(Period::parse("2027-q4"), Some(Period::Quarter(2027, 4)));
        for bad in [
            "2027-Q5", "2027-Q0", "2027-Q", "27-Q2", "-202-Q1", "2027-Q12", "2027-13",
        ] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
        let q = Period::Quarter(2027, 2);
        assert_eq!(q.code(), "2027-Q2");
        assert_eq!(
            q.months(),
            [
                Period::Month(2027, 4),
                Period::Month(2027, 5),
                Period::Month(2027, 6)
            ]
        );
        assert_eq!(q.bounds(), Some((d(2027, 4, 1), d(2027, 6, 30))));
        assert_eq!(q.span(8 * 3600).unwrap().due_on(), d(2027, 7, 5));
        assert_eq!(Period::Quarter(2027, 4).step(1), Period::Quarter(2028, 1));
        assert_eq!(Period::Quarter(2027, 1).step(-1), Period::Quarter(2026, 4));
        assert_eq!(Period::Month(2027, 1).step(-1), Period::Month(2026, 12));
        assert_eq!(Period::Month(2027, 12).step(1), Period::Month(2028, 1));
        assert_eq!(Period::Month(2027, 8).quarter(), Period::Quarter(2027, 3));
        assert_eq!(
            Period::previous_month(d(2027, 7, 3)),
            Period::Month(2027, 6)
        );
        assert_eq!(
            q.csv_filename("employment"),
            "hotline-employment-2027-Q2.csv"
        );
        // A span is the bureau's days: Shanghai's 1 April begins at 16:00 UTC on 31 March.
        let s = Span::new(d(2027, 4, 1), d(2027, 4, 30), 8 * 3600);
        assert!(s.has(d(2027, 3, 31).and_hms_opt(16, 0, 0).unwrap()));
        assert!(!s.has(d(2027, 3, 31).and_hms_opt(15, 59, 0).unwrap()));
        assert!(!s.has(d(2027, 4, 30).and_hms_opt(16, 0, 0).unwrap()));
        assert!(s.has_day(d(2027, 4, 30)) && !s.has_day(d(2027, 5, 1)));
    }

    #[test]
    fn deadlines_met_missed_pending() {
        let today = d(2026, 10, 20);
        let rows = vec![
            (
                "A".to_string(),
                Some(d(2026, 10, 10)),
                Some(d(2026, 10, 10)),
            ),
            (
                "B".to_string(),
                Some(d(2026, 10, 10)),
                Some(d(2026, 10, 11)),
            ),
            ("C".to_string(), Some(d(2026, 10, 19)), None),
            ("D".to_string(), Some(d(2026, 10, 20)), None),
            ("E".to_string(), None, None),
        ];
        let f = deadline_figures(rows, today);
        assert_eq!((f.due, f.met, f.missed, f.pending), (4, 1, 2, 1));
        assert_eq!(f.missed_cases, ["B", "C"]);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5, 1, 3]), Some(3.0));
        assert_eq!(median(&mut [4, 1, 2, 3]), Some(2.5));
    }
}
