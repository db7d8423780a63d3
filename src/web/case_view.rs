//! A case as JSON, the same for the API and the console's pages: its facts and its clock
//! (`cases::query::CaseClock`).

use serde_json::{json, Value};

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

pub fn case_json(state: &AppState, c: &Case, project_code: Option<&str>, paused: bool) -> Value {
    let clock = CaseClock::of(
        &clock(state),
        c,
        paused,
        state.config.cases.due_soon_working_days,
    );
    json!({
        "reference": c.reference,
        "state": c.state,
        "priority": c.priority,
        "employer": c.employer,
        "project_code": project_code,
        "county": c.county,
        "collective": c.collective,
        "workers": c.workers,
        "amount_yuan": c.amount_yuan,
        "received_on": c.received_on,
        "accept_due": c.accept_due,
        "accepted_on": c.accepted_on,
        "finish_due": c.finish_due,
        "extension_days": c.extension_days,
        "clock": clock,
        "assigned_to": c.assigned_to,
        "refusal_reason": c.refusal_reason,
        "recovered_yuan": c.recovered_yuan,
        "transferred_to": c.transferred_to,
        "closed_at": c.closed_at,
    })
}
