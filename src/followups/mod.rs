//! Follow-ups: short numeric questions by SMS at set times after a placement (is the worker
//! still there, were they paid) or a training course (are they working now), and after a
//! worker showed interest in a notice (did they start). Their answers keep the register
//! true, prove subsidy eligibility, and reveal unpaid wages early.
//!
//! - `placements`: placements and trainings, and the follow-up rows each one schedules;
//! - `import`: placements and training courses from CSV files;
//! - `questions`: what is asked and what an answer means, as pure functions;
//! - `run`: the periodic work: ask what is due (inside the send window), remind once, close
//!   what was not answered, silence what no longer makes sense;
//! - `answers`: taking a worker's answer, ending a placement, the early warning of arrears;
//! - `subsidies`: what a placement confirmed at six months earns, and the officer's decision;
//! - `stats`: response rates per step and language, and each broker's record.
//!
//! A follow-up is a row (`followups`) before anything is sent: one per subject and step (a
//! unique index), created with all its steps when the placement or training is recorded,
//! under the schedule then in force. Editing the schedule later changes nothing already
//! scheduled, so no step fires twice; a step whose time passed while the service was down is
//! asked at the next run inside the window.

pub mod answers;
pub mod import;
pub mod placements;
pub mod questions;
pub mod run;
pub mod stats;
pub mod subsidies;

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

crate::text_enum! {
    /// A follow-up's life: `scheduled` (a row, nothing sent), `open` (asked; answers
    /// awaited), `done` (answered), `unanswered` (no answer after the reminder), `silenced`
    /// (no longer made sense when its time came: the worker left, a case asks its own
    /// questions, the worker opted out).
    pub enum FollowupStatus {
        Scheduled = "scheduled",
        Open = "open",
        Done = "done",
        Unanswered = "unanswered",
        Silenced = "silenced",
    }
}

crate::text_enum! {
    /// Which schedule a follow-up belongs to.
    pub enum ScheduleKind {
        Placement = "placement",
        Training = "training",
        /// 7 days after a worker showed interest in a notice: did they start?
        Start = "start",
    }
}

crate::text_enum! {
    /// How a placement was recorded.
    pub enum PlacementSource {
        Console = "console",
        Api = "api",
        Import = "import",
        /// The worker said yes to "did you start?".
        Worker = "worker",
    }
}

crate::text_enum! {
    /// What a follow-up said of a worker who is no longer with the employer.
    pub enum EndReason {
        ChangedJob = "changed_job",
        BackHome = "back_home",
        Looking = "looking",
    }
}

crate::text_enum! {
    /// A subsidy a lasting placement earns (DOMAIN.md): the worker's job-seeking subsidy, the
    /// broker's placement subsidy, the worker's one-off travel subsidy for organised work
    /// outside Tibet.
    pub enum SubsidyKind {
        JobSeeking = "job_seeking",
        Placement = "placement",
        Travel = "travel",
    }
}

crate::text_enum! {
    /// An officer's decision on a subsidy claim.
    pub enum ClaimStatus {
        Eligible = "eligible",
        Approved = "approved",
        Rejected = "rejected",
    }
}

/// One step of a schedule: `months` (and `days`) after the placement's start or the
/// training's end, asked at `hour` (bureau time) or at the next opening of the send window.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// Short and stable: `1m`, `3m`, `6m`. A step's name is how a follow-up is known once
    /// scheduled.
    pub name: String,
    #[serde(default)]
    pub months: u32,
    #[serde(default)]
    pub days: u32,
    /// `HH:MM`, bureau time; the send window still applies.
    #[serde(default = "default_hour")]
    pub hour: String,
}

fn default_hour() -> String {
    "10:00".into()
}

fn step(name: &str, months: u32) -> StepConfig {
    StepConfig {
        name: name.into(),
        months,
        days: 0,
        hour: default_hour(),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FollowupsConfig {
    /// After a placement's start: by default 1, 3 and 6 months.
    pub placement: Vec<StepConfig>,
    /// After a training's end: by default 1 and 3 months (the policy's "at least twice
    /// within 3 months").
    pub training: Vec<StepConfig>,
    /// Days after a worker showed interest in a notice before they are asked whether they
    /// started.
    pub start_check_days: u32,
    /// One reminder this many days after an unanswered question…
    pub remind_after_days: u32,
    /// …and this many days after the reminder the follow-up counts as unanswered.
    pub unanswered_after_days: u32,
    /// Distinct workers placed with one employer or project answering "paid partly" or "not
    /// at all" within `warning_window_days` that open an early-warning case.
    pub warning_workers: u32,
    pub warning_window_days: u32,
    /// A placement confirmed at this many months earns the subsidies.
    pub subsidy_months: u32,
    /// Follow-ups asked per run, at most (the rest wait for the next run, seconds later).
    pub batch: u32,
    /// Seconds between runs.
    pub every_secs: u32,
}

impl Default for FollowupsConfig {
    fn default() -> Self {
        FollowupsConfig {
            placement: vec![step("1m", 1), step("3m", 3), step("6m", 6)],
            training: vec![step("1m", 1), step("3m", 3)],
            start_check_days: 7,
            remind_after_days: 2,
            unanswered_after_days: 2,
            warning_workers: 3,
            warning_window_days: 30,
            subsidy_months: 6,
            batch: 500,
            every_secs: 5,
        }
    }
}

impl FollowupsConfig {
    /// A problem with these settings, as `(key, message)`.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (key, steps) in [
            ("followups.placement", &self.placement),
            ("followups.training", &self.training),
        ] {
            let mut names = std::collections::BTreeSet::new();
            for s in steps.iter() {
                if s.name.is_empty() || s.name.len() > 20 || !names.insert(&s.name) {
                    return Err((
                        key,
                        format!("{:?}: each step needs its own short name", s.name),
                    ));
                }
                if s.months == 0 && s.days == 0 {
                    return Err((key, format!("{}: give months or days after", s.name)));
                }
                if s.months > 60 || s.days > 366 {
                    return Err((key, format!("{}: too far ahead", s.name)));
                }
                if NaiveTime::parse_from_str(&s.hour, "%H:%M").is_err() {
                    return Err((key, format!("{}: hour {:?} is not HH:MM", s.name, s.hour)));
                }
            }
        }
        if self
            .training
            .iter()
            .filter(|s| within_three_months(s))
            .count()
            < 2
        {
            return Err((
                "followups.training",
                "the policy asks for at least two follow-ups within 3 months of a training".into(),
            ));
        }
        if self.remind_after_days == 0 || self.unanswered_after_days == 0 {
            return Err((
                "followups.remind_after_days",
                "reminder and closing need at least a day each".into(),
            ));
        }
        if self.warning_workers < 2 {
            return Err(("followups.warning_workers", "must be at least 2".into()));
        }
        if self.warning_window_days == 0 {
            return Err(("followups.warning_window_days", "must be at least 1".into()));
        }
        if self.batch == 0 {
            return Err(("followups.batch", "must be at least 1".into()));
        }
        if self.every_secs == 0 || self.every_secs > 3600 {
            return Err(("followups.every_secs", "between 1 and 3600".into()));
        }
        Ok(())
    }

    pub fn steps(&self, kind: ScheduleKind) -> &[StepConfig] {
        match kind {
            ScheduleKind::Placement => &self.placement,
            ScheduleKind::Training => &self.training,
            ScheduleKind::Start => &[],
        }
    }

    /// The schedule's version: a digest of its steps, kept on each placement and training so
    /// the console can say which schedule one follows.
    pub fn version(&self, kind: ScheduleKind) -> String {
        let text = serde_json::to_string(self.steps(kind)).unwrap_or_default();
        let digest = Sha256::digest(text.as_bytes());
        digest[..4].iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn within_three_months(s: &StepConfig) -> bool {
    s.months < 3 || (s.months == 3 && s.days == 0)
}

/// When `step` is due after `from` (a start or an end date): that day at the step's hour,
/// bureau time, as UTC. A month that has no such day ends on its last (31 Jan + 1 month is 28
/// or 29 Feb).
pub fn due_at(from: NaiveDate, step: &StepConfig, utc_offset_secs: i32) -> NaiveDateTime {
    let day = from
        .checked_add_months(Months::new(step.months))
        .unwrap_or(from)
        + Duration::days(step.days as i64);
    let hour = NaiveTime::parse_from_str(&step.hour, "%H:%M")
        .unwrap_or_else(|_| NaiveTime::from_hms_opt(10, 0, 0).unwrap_or_default());
    day.and_time(hour) - Duration::seconds(utc_offset_secs as i64)
}

/// The month a date falls in, as the reports name it: `2027-06`.
pub fn month_of(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_is_the_policys() {
        let c = FollowupsConfig::default();
        assert!(c.validate().is_ok());
        let months: Vec<u32> = c.placement.iter().map(|s| s.months).collect();
        assert_eq!(months, vec![1, 3, 6]);
        assert_eq!(c.training.len(), 2);
    }

    #[test]
    fn steps_fall_on_the_placements_own_date_at_the_bureaus_hour() {
        let start = NaiveDate::from_ymd_opt(2027, 1, 31).unwrap();
        let due = due_at(start, &step("1m", 1), 8 * 3600);
        // 28 Feb 2027 at 10:00 in Lhasa is 02:00 UTC.
        assert_eq!(due.to_string(), "2027-02-28 02:00:00");
        let six = due_at(start, &step("6m", 6), 8 * 3600);
        assert_eq!(six.date(), NaiveDate::from_ymd_opt(2027, 7, 31).unwrap());
    }

    #[test]
    fn a_changed_schedule_is_another_version() {
        let a = FollowupsConfig::default();
        let mut b = FollowupsConfig::default();
        assert_eq!(
            a.version(ScheduleKind::Placement),
            b.version(ScheduleKind::Placement)
        );
        b.placement.push(step("12m", 12));
        assert_ne!(
            a.version(ScheduleKind::Placement),
            b.version(ScheduleKind::Placement)
        );
    }

    #[test]
    fn a_training_needs_two_follow_ups_within_three_months() {
        let c = FollowupsConfig {
            training: vec![step("1m", 1), step("6m", 6)],
            ..FollowupsConfig::default()
        };
        assert_eq!(c.validate().unwrap_err().0, "followups.training");
    }
}
