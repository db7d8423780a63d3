//! Case rules as pure functions: the life cycle, priority, and which complaints belong
//! together.

use crate::text::normalize_keyword;

pub use crate::db::models::CaseState;

impl CaseState {
    /// Still being worked: new complaints against the same employer join it.
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            CaseState::Received | CaseState::Accepted | CaseState::Investigating
        )
    }

    /// Where the case may go next.
    pub fn can_become(&self, next: CaseState) -> bool {
        use CaseState::*;
        matches!(
            (self, next),
            (Received, Accepted)
                | (Received, Refused)
                | (Received, Transferred)
                | (Accepted, Investigating)
                | (Accepted, Resolved)
                | (Accepted, Transferred)
                | (Investigating, Resolved)
                | (Investigating, Transferred)
                | (Refused, Closed)
                | (Resolved, Closed)
                | (Transferred, Closed)
        )
    }
}

/// What decides a case's priority. Each rule is one line the bureau can read.
#[derive(Debug, Clone, Default)]
pub struct PriorityFacts {
    pub government_invested: bool,
    pub workers: u32,
    pub amount_yuan: u64,
    /// The longest arrears any complainant reported, in months.
    pub months: u32,
}

/// Thresholds from configuration (the criminal thresholds are set per province; Tibet's are
/// not known here, so they are settings).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaseRules {
    /// Complaints against the same project or employer within this many days join one case.
    pub join_window_days: u32,
    /// Workers at which a case is collective (集体).
    pub collective_workers: u32,
    /// 拒不支付劳动报酬罪 hint: one worker owed this much for 3+ months…
    pub criminal_individual_yuan: u64,
    /// …or 10+ workers owed this much in total.
    pub criminal_collective_yuan: u64,
    /// Working days to decide on acceptance, to finish, and an extension's length.
    pub accept_working_days: u32,
    pub finish_working_days: u32,
    pub extension_working_days: u32,
    /// Deadlines this close (working days) show as due soon.
    pub due_soon_working_days: u32,
}

impl Default for CaseRules {
    fn default() -> Self {
        CaseRules {
            join_window_days: 30,
            collective_workers: 5,
            criminal_individual_yuan: 5_000,
            criminal_collective_yuan: 30_000,
            accept_working_days: 5,
            finish_working_days: 60,
            extension_working_days: 30,
            due_soon_working_days: 2,
        }
    }
}

impl CaseRules {
    /// Arrears that may be a crime and should be looked at for transfer to the police.
    pub fn criminal_hint(&self, f: &PriorityFacts) -> bool {
        (f.months >= 3 && f.amount_yuan >= self.criminal_individual_yuan)
            || (f.workers >= 10 && f.amount_yuan >= self.criminal_collective_yuan)
    }

    /// 1 (most urgent) to 4. Government-invested projects are the enforcement priority; then
    /// the number of workers, the amount, and a possible crime.
    pub fn priority(&self, f: &PriorityFacts) -> i32 {
        let mut score = 0;
        if f.government_invested {
            score += 3;
        }
        if f.workers >= 10 {
            score += 2;
        } else if f.workers >= self.collective_workers {
            score += 1;
        }
        if f.amount_yuan >= 100_000 {
            score += 2;
        } else if f.amount_yuan >= 30_000 {
            score += 1;
        }
        if self.criminal_hint(f) {
            score += 2;
        }
        match score {
            5.. => 1,
            3..=4 => 2,
            1..=2 => 3,
            _ => 4,
        }
    }
}

/// The key complaints are joined on: the project if registered, else the employer's name with
/// spacing, punctuation, width and case folded away.
pub fn employer_key(project_id: Option<&str>, employer: &str) -> String {
    match project_id {
        Some(p) => format!("project:{p}"),
        None => {
            let folded: String = normalize_keyword(employer)
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect();
            format!("name:{folded}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn life_cycle() {
        use CaseState::*;
        assert!(Received.can_become(Accepted));
        assert!(Received.can_become(Refused));
        assert!(Accepted.can_become(Investigating));
        assert!(Investigating.can_become(Resolved));
        assert!(Investigating.can_become(Transferred));
        assert!(Resolved.can_become(Closed));
        assert!(!Received.can_become(Resolved));
        assert!(!Closed.can_become(Received));
        assert!(!Refused.can_become(Accepted));
        assert!(Received.is_open() && !Closed.is_open() && !Refused.is_open());
    }

    #[test]
    fn priority_rules() {
        let r = CaseRules::default();
        let f = |gov, workers, amount, months| PriorityFacts {
            government_invested: gov,
            workers,
            amount_yuan: amount,
            months,
        };
        assert_eq!(r.priority(&f(false, 1, 2_000, 1)), 4);
        assert_eq!(r.priority(&f(false, 5, 20_000, 1)), 3);
        assert_eq!(r.priority(&f(true, 1, 2_000, 1)), 2);
        assert_eq!(r.priority(&f(true, 12, 150_000, 4)), 1);
        // one worker, 3 months, 6,000: a possible crime
        assert!(r.criminal_hint(&f(false, 1, 6_000, 3)));
        assert!(!r.criminal_hint(&f(false, 1, 6_000, 2)));
        assert_eq!(r.priority(&f(false, 1, 6_000, 3)), 3);
    }

    #[test]
    fn employer_keys_fold_writing_differences() {
        assert_eq!(
            employer_key(None, "扎西 建筑队"),
            employer_key(None, "扎西建筑队。")
        );
        assert_eq!(
            employer_key(None, "ABC Co."),
            employer_key(None, "ａｂｃ co")
        );
        assert_ne!(
            employer_key(None, "扎西建筑队"),
            employer_key(None, "次仁建筑队")
        );
        assert_eq!(employer_key(Some("p1"), "anything"), "project:p1");
    }
}
