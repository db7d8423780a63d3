//! What follow-ups show of themselves and of brokers: the response rate of each step in each
//! language (so the bureau sees which questions workers do not answer), and each agency's
//! record (placements, retention at 3 and 6 months, wages paid in full, answer rate, cases
//! against the employers it placed workers with).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::placements::Placement;
use super::run::Followup;
use super::ScheduleKind;
use crate::db::models::{CaseSource, MessageStatus};
use crate::db::schema::{cases, followups, messages, notices, placements};
use crate::db::{DbConn, DbError};

/// One step of one schedule in one language.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StepRate {
    /// `placement`, `training` or `start`.
    pub schedule: String,
    pub step: String,
    /// `bo`, `zh` or `both`.
    pub language: String,
    /// Asked (the first SMS queued).
    pub sent: i64,
    /// The first SMS reached the phone (the gateway's delivery report).
    pub delivered: i64,
    /// At least one answer.
    pub answered: i64,
    /// Median minutes from asking to the first answer.
    pub median_minutes: Option<i64>,
}

/// Per step and language, for the follow-ups asked since `since`.
pub fn response_rates(conn: &mut DbConn, since: NaiveDateTime) -> Result<Vec<StepRate>, DbError> {
    let rows: Vec<(Followup, Option<String>)> = followups::table
        .left_join(messages::table.on(messages::id.nullable().eq(followups::message_id)))
        .filter(followups::sent_at.ge(since))
        .select((Followup::as_select(), messages::status.nullable()))
        .load(conn)?;
    let mut by: BTreeMap<(String, String, String), (StepRate, Vec<i64>)> = BTreeMap::new();
    for (f, status) in rows {
        let lang = f.language.clone().unwrap_or_else(|| "both".into());
        let key = (
            f.schedule.as_str().to_string(),
            f.step.clone(),
            lang.clone(),
        );
        let (rate, waits) = by.entry(key).or_insert_with(|| {
            (
                StepRate {
                    schedule: f.schedule.as_str().into(),
                    step: f.step.clone(),
                    language: lang,
                    ..StepRate::default()
                },
                Vec::new(),
            )
        });
        rate.sent += 1;
        if status.as_deref() == Some(MessageStatus::Delivered.as_str()) {
            rate.delivered += 1;
        }
        if let (Some(sent), Some(first)) = (f.sent_at, f.first_answered_at) {
            rate.answered += 1;
            waits.push((first - sent).num_minutes());
        }
    }
    Ok(by
        .into_values()
        .map(|(mut rate, mut waits)| {
            waits.sort_unstable();
            rate.median_minutes = (!waits.is_empty()).then(|| waits[waits.len() / 2]);
            rate
        })
        .collect())
}

/// A share: how many of how many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Share {
    pub of: i64,
    pub yes: i64,
}

impl Share {
    pub fn percent(&self) -> Option<i64> {
        (self.of > 0).then(|| (self.yes * 100 + self.of / 2) / self.of)
    }
}

/// An agency's record.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Record {
    pub agency: String,
    pub notices: i64,
    pub placements: i64,
    /// Of the placements old enough, still working there at 3 months (a placement that ended
    /// earlier counts as not).
    pub retained_3m: Share,
    pub retained_6m: Share,
    /// Follow-up answers about pay: paid in full and on time.
    pub paid_in_full: Share,
    /// Follow-ups asked, and answered.
    pub answered: Share,
    /// Cases against the employers this agency placed workers with, and how many of them
    /// were early warnings.
    pub cases: i64,
    pub early_warnings: i64,
}

/// Still working at `months` months: None when the placement is not that old yet or nothing
/// says either way. `fs` are the placement's follow-ups in the order they were due
/// (`group_by_placement`). Broker records and the bureau's bulletins count retention by it.
pub fn retained(p: &Placement, fs: &[&Followup], months: u32, today: NaiveDate) -> Option<bool> {
    let at = p.start_on.checked_add_months(Months::new(months))?;
    if at > today {
        return None;
    }
    if p.ended_on.is_some_and(|e| e < at) {
        return Some(false);
    }
    // The answer of the step due at (or after) that many months.
    fs.iter()
        .filter(|f| f.due_at.date() + chrono::Duration::days(1) >= at)
        .filter_map(|f| f.answers().working)
        .next()
        .map(|w| w == 1)
}

/// Follow-ups (in the order they were due) by placement id.
pub fn group_by_placement(fs: &[Followup]) -> BTreeMap<&str, Vec<&Followup>> {
    let mut by: BTreeMap<&str, Vec<&Followup>> = BTreeMap::new();
    for f in fs {
        if let Some(p) = &f.placement_id {
            by.entry(p.as_str()).or_default().push(f);
        }
    }
    by
}

/// Every agency's record (or one agency's), as of `today`.
pub fn records(
    conn: &mut DbConn,
    agency: Option<&str>,
    today: NaiveDate,
) -> Result<Vec<Record>, DbError> {
    let mut q = placements::table
        .filter(placements::agency.is_not_null())
        .select(Placement::as_select())
        .into_boxed();
    if let Some(a) = agency {
        q = q.filter(placements::agency.eq(a));
    }
    let ps: Vec<Placement> = q.load(conn)?;
    let ids: Vec<&str> = ps.iter().map(|p| p.id.as_str()).collect();
    let fs: Vec<Followup> = followups::table
        .filter(followups::placement_id.eq_any(&ids))
        .order(followups::due_at)
        .select(Followup::as_select())
        .load(conn)?;
    let by_placement = group_by_placement(&fs);
    let mut out: BTreeMap<String, (Record, BTreeSet<String>)> = BTreeMap::new();
    if let Some(a) = agency {
        out.insert(
            a.to_string(),
            (
                Record {
                    agency: a.to_string(),
                    ..Record::default()
                },
                BTreeSet::new(),
            ),
        );
    }
    for p in &ps {
        let a = p.agency.clone().unwrap_or_default();
        let (r, keys) = out.entry(a.clone()).or_insert_with(|| {
            (
                Record {
                    agency: a,
                    ..Record::default()
                },
                BTreeSet::new(),
            )
        });
        r.placements += 1;
        keys.insert(p.employer_key.clone());
        let mine: Vec<&Followup> = by_placement.get(p.id.as_str()).cloned().unwrap_or_default();
        for (months, share) in [(3, &mut r.retained_3m), (6, &mut r.retained_6m)] {
            if let Some(kept) = retained(p, &mine, months, today) {
                share.of += 1;
                share.yes += kept as i64;
            }
        }
        for f in &mine {
            if f.sent_at.is_some() && f.schedule == ScheduleKind::Placement {
                r.answered.of += 1;
                r.answered.yes += f.first_answered_at.is_some() as i64;
            }
            if let Some(paid) = f.answers().paid {
                r.paid_in_full.of += 1;
                r.paid_in_full.yes += (paid == 1) as i64;
            }
        }
    }
    for (agency, (r, keys)) in out.iter_mut() {
        r.notices = notices::table
            .filter(notices::agency.eq(agency.as_str()))
            .count()
            .get_result(conn)?;
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let found: Vec<CaseSource> = cases::table
            .filter(cases::employer_key.eq_any(&keys))
            .select(cases::source)
            .load(conn)?;
        r.cases = found.len() as i64;
        r.early_warnings = found
            .iter()
            .filter(|s| **s == CaseSource::EarlyWarning)
            .count() as i64;
    }
    Ok(out.into_values().map(|(r, _)| r).collect())
}
