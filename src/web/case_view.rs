//! A case as JSON, the same for the API and the console's pages: its facts and its clock
//! (`cases::query::CaseClock`). The types here are also the API's OpenAPI schemas `Case` and
//! `Clock`, so their doc comments are the document's descriptions.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::cases::query::CaseClock;
use crate::cases::Clock;
use crate::db::models::Case;
use crate::AppState;

/// Where the bureau's deadlines are computed, today.
pub fn clock(state: &AppState) -> Clock<'_> {
    Clock {
        calendar: &state.calendar,
        region: state.config.region.as_deref(),
        today: state.config.today(),
    }
}

/// The deadline that applies to a case now, counted in working days on the official calendar
/// with the regional layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = Clock)]
pub struct ClockView {
    /// The deadline that applies now: acceptance while received, completion while accepted
    /// or investigating; none once the case is finished or while its clock is paused.
    pub due: Option<NaiveDate>,
    /// The clock is stopped: the bureau is waiting for facts from the worker.
    pub paused: bool,
    /// Working days to the deadline; negative when overdue.
    pub working_days_left: Option<i64>,
    /// Past the deadline.
    pub overdue: bool,
    /// Not past the deadline, and at most the configured number of working days from it.
    pub due_soon: bool,
    /// The date was counted past the calendar data with plain weekdays; add next year's
    /// schedule.
    pub provisional: bool,
}

impl From<CaseClock> for ClockView {
    fn from(c: CaseClock) -> ClockView {
        ClockView {
            due: c.due,
            paused: c.paused,
            working_days_left: c.working_days_left,
            overdue: c.overdue,
            due_soon: c.due_soon,
            provisional: c.provisional,
        }
    }
}

/// A wage-arrears case: one employer's unpaid wages, from one or more workers' complaints.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Case)]
pub struct CaseView {
    /// The reference the workers are told by SMS, e.g. `Q123459`.
    pub reference: String,
    #[schema(value_type = crate::db::models::CaseState)]
    pub state: String,
    /// `complaint`, or `early_warning`: opened from follow-up answers of several workers
    /// before anyone complained.
    #[schema(value_type = crate::db::models::CaseSource)]
    pub source: String,
    /// 1 most urgent, 4 least.
    #[schema(minimum = 1, maximum = 4)]
    pub priority: i32,
    pub employer: String,
    /// The project's code in the registry, when the complaint named one.
    pub project_code: Option<String>,
    pub county: String,
    /// Several workers complained together.
    pub collective: bool,
    /// How many workers are owed.
    pub workers: i32,
    /// Wages owed, in yuan.
    pub amount_yuan: i64,
    pub received_on: NaiveDate,
    /// The acceptance deadline (5 working days from receipt); none while paused.
    pub accept_due: Option<NaiveDate>,
    pub accepted_on: Option<NaiveDate>,
    /// The completion deadline (60 working days from acceptance, plus any extension).
    pub finish_due: Option<NaiveDate>,
    /// Working days added by an approved extension (0 or 30).
    pub extension_days: i32,
    pub clock: ClockView,
    /// The inspector working the case.
    pub assigned_to: Option<String>,
    /// Why the case was not accepted; the worker is told.
    pub refusal_reason: Option<String>,
    /// Wages recovered so far, in yuan.
    pub recovered_yuan: Option<i64>,
    /// Where the case was transferred: the police or another office.
    pub transferred_to: Option<String>,
    #[serde(serialize_with = "crate::web::utc::option::serialize")]
    pub closed_at: Option<NaiveDateTime>,
}

/// A case's facts and clock, for the API and the console.
pub fn case_view(state: &AppState, c: &Case, project_code: Option<&str>, paused: bool) -> CaseView {
    let clock = CaseClock::of(
        &clock(state),
        c,
        paused,
        state.config.cases.due_soon_working_days,
    );
    CaseView {
        reference: c.reference.clone(),
        // `to_string`: the state's text, whether the row holds it as a string or as an enum.
        state: c.state.to_string(),
        source: c.source.to_string(),
        priority: c.priority,
        employer: c.employer.clone(),
        project_code: project_code.map(str::to_string),
        county: c.county.clone(),
        collective: c.collective,
        workers: c.workers,
        amount_yuan: c.amount_yuan,
        received_on: c.received_on,
        accept_due: c.accept_due,
        accepted_on: c.accepted_on,
        finish_due: c.finish_due,
        extension_days: c.extension_days,
        clock: clock.into(),
        assigned_to: c.assigned_to.clone(),
        refusal_reason: c.refusal_reason.clone(),
        recovered_yuan: c.recovered_yuan,
        transferred_to: c.transferred_to.clone(),
        closed_at: c.closed_at,
    }
}

/// The same as `case_view`, as a JSON object the console's pages add to.
pub fn case_json(state: &AppState, c: &Case, project_code: Option<&str>, paused: bool) -> Value {
    serde_json::to_value(case_view(state, c, project_code, paused))
        .expect("a case serializes to JSON")
}
