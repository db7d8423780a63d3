//! What a follow-up asks and what an answer means, as pure functions. Every answer is one
//! digit with its choices spelled out (the published experience: one fact per question,
//! numeric answers, five questions or fewer).

use serde::{Deserialize, Serialize};

use super::ScheduleKind;

/// A question, by the template that asks it (`followup_q_<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    /// Still working there? 1 yes, 2 changed job, 3 back home, 4 looking for work.
    Working,
    /// Paid in full and on time? 1 yes, 2 partly, 3 not at all.
    Paid,
    /// Months unpaid: a number, 1 to 12.
    Months,
    /// Roughly how much: 1 under 1,000 yuan, 2 1,000–5,000, 3 5,000–20,000, 4 over 20,000.
    Amount,
    /// File a complaint now? 1 yes, 2 no.
    File,
    /// Did you start the job? 1 yes, 2 no.
    Started,
    /// (after a training) Working now? 1 yes, in the trade trained for, 2 yes, other work,
    /// 3 looking for work, 4 not looking.
    Status,
    /// (after a training, looking for work) Get job alerts for the trade? 1 yes, 2 no.
    Alerts,
}

impl Question {
    pub const ALL: [Question; 8] = [
        Question::Working,
        Question::Paid,
        Question::Months,
        Question::Amount,
        Question::File,
        Question::Started,
        Question::Status,
        Question::Alerts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Question::Working => "working",
            Question::Paid => "paid",
            Question::Months => "months",
            Question::Amount => "amount",
            Question::File => "file",
            Question::Started => "started",
            Question::Status => "status",
            Question::Alerts => "alerts",
        }
    }

    pub fn parse(s: &str) -> Option<Question> {
        Question::ALL.into_iter().find(|q| q.as_str() == s)
    }

    pub fn template(self) -> String {
        format!("followup_q_{}", self.as_str())
    }

    /// The answers it takes.
    fn range(self) -> std::ops::RangeInclusive<u32> {
        match self {
            Question::Working | Question::Amount | Question::Status => 1..=4,
            Question::Paid => 1..=3,
            Question::Months => 1..=12,
            Question::File | Question::Started | Question::Alerts => 1..=2,
        }
    }

    /// A yes-or-no question (`是`, `ཡིན` … answer it as well as `1`).
    pub fn is_yes_no(self) -> bool {
        matches!(self, Question::File | Question::Started | Question::Alerts)
    }
}

/// What a worker answered so far (kept as JSON on the follow-up).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<u32>,
    /// Unreadable answers in a row.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Answers {
    fn slot(&mut self, q: Question) -> &mut Option<u32> {
        match q {
            Question::Working => &mut self.working,
            Question::Paid => &mut self.paid,
            Question::Months => &mut self.months,
            Question::Amount => &mut self.amount,
            Question::File => &mut self.file,
            Question::Started => &mut self.started,
            Question::Status => &mut self.status,
            Question::Alerts => &mut self.alerts,
        }
    }

    pub fn get(&self, q: Question) -> Option<u32> {
        self.clone().slot(q).to_owned()
    }

    /// Paid partly (2) or not at all (3).
    pub fn unpaid(&self) -> bool {
        matches!(self.paid, Some(2 | 3))
    }

    /// A rough figure for the amount owed, in yuan: the middle of the worker's bracket (the
    /// lowest bound of the last).
    pub fn amount_yuan(&self) -> Option<u64> {
        match self.amount? {
            1 => Some(500),
            2 => Some(3_000),
            3 => Some(10_000),
            _ => Some(20_000),
        }
    }
}

/// The next question of a follow-up, or None when it is complete. `subscribed`: the worker
/// already gets job alerts (a trainee looking for work is not asked again).
pub fn next(kind: ScheduleKind, a: &Answers, subscribed: bool) -> Option<Question> {
    match kind {
        ScheduleKind::Start => a.started.is_none().then_some(Question::Started),
        ScheduleKind::Training => {
            if a.status.is_none() {
                Some(Question::Status)
            } else if a.status == Some(3) && !subscribed && a.alerts.is_none() {
                Some(Question::Alerts)
            } else {
                None
            }
        }
        ScheduleKind::Placement => {
            if a.working.is_none() {
                Some(Question::Working)
            } else if a.paid.is_none() {
                Some(Question::Paid)
            } else if !a.unpaid() {
                None
            } else if a.months.is_none() {
                Some(Question::Months)
            } else if a.amount.is_none() {
                Some(Question::Amount)
            } else if a.file.is_none() {
                Some(Question::File)
            } else {
                None
            }
        }
    }
}

/// What a message did to a follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// This many answers were taken (a worker may answer several questions in one message:
    /// `1 3` or `13`).
    Answers(usize),
    /// Not an answer to the question asked.
    Unreadable,
}

/// Takes the answers in `tokens` (numbers, already in ASCII digits), starting with the
/// question asked. Several numbers answer the questions that follow, in order; a run of
/// digits (`13`) is read as several one-digit answers unless the question takes two digits.
pub fn take(
    kind: ScheduleKind,
    a: &mut Answers,
    asked: Question,
    tokens: &[String],
    subscribed: bool,
) -> Taken {
    let mut values: Vec<u32> = Vec::new();
    let mut q = Some(asked);
    let mut pending: Vec<String> = tokens.iter().rev().cloned().collect();
    let mut shadow = a.clone();
    while let (Some(question), Some(tok)) = (q, pending.pop()) {
        let whole: Option<u32> = tok.parse().ok();
        let value = match whole {
            Some(v) if question.range().contains(&v) => v,
            _ if tok.len() > 1 && tok.chars().all(|c| c.is_ascii_digit()) => {
                // `13`: one digit now, the rest for the next questions.
                let (first, rest) = tok.split_at(1);
                pending.push(rest.to_string());
                match first.parse::<u32>() {
                    Ok(v) if question.range().contains(&v) => v,
                    _ => break,
                }
            }
            _ => break,
        };
        *shadow.slot(question) = Some(value);
        values.push(value);
        q = next(kind, &shadow, subscribed);
    }
    if values.is_empty() {
        return Taken::Unreadable;
    }
    shadow.failures = 0;
    *a = shadow;
    Taken::Answers(values.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn a_worker_paid_in_full_answers_two_questions() {
        let mut a = Answers::default();
        let k = ScheduleKind::Placement;
        assert_eq!(next(k, &a, false), Some(Question::Working));
        assert_eq!(
            take(k, &mut a, Question::Working, &toks("1"), false),
            Taken::Answers(1)
        );
        assert_eq!(next(k, &a, false), Some(Question::Paid));
        take(k, &mut a, Question::Paid, &toks("1"), false);
        assert_eq!(next(k, &a, false), None);
        assert!(!a.unpaid());
    }

    #[test]
    fn unpaid_wages_lead_to_months_amount_and_the_offer_to_file() {
        let mut a = Answers::default();
        let k = ScheduleKind::Placement;
        take(k, &mut a, Question::Working, &toks("3"), false);
        take(k, &mut a, Question::Paid, &toks("3"), false);
        assert_eq!(next(k, &a, false), Some(Question::Months));
        take(k, &mut a, Question::Months, &toks("10"), false);
        assert_eq!(a.months, Some(10));
        take(k, &mut a, Question::Amount, &toks("2"), false);
        assert_eq!(a.amount_yuan(), Some(3_000));
        assert_eq!(next(k, &a, false), Some(Question::File));
        take(k, &mut a, Question::File, &toks("1"), false);
        assert_eq!(next(k, &a, false), None);
        // Five questions at most.
        assert_eq!(
            [a.working, a.paid, a.months, a.amount, a.file]
                .iter()
                .filter(|v| v.is_some())
                .count(),
            5
        );
    }

    #[test]
    fn several_answers_in_one_message_are_taken_in_order() {
        let mut a = Answers::default();
        let k = ScheduleKind::Placement;
        assert_eq!(
            take(k, &mut a, Question::Working, &toks("1 3 2"), false),
            Taken::Answers(3)
        );
        assert_eq!((a.working, a.paid, a.months), (Some(1), Some(3), Some(2)));
        let mut b = Answers::default();
        assert_eq!(
            take(k, &mut b, Question::Working, &toks("12"), false),
            Taken::Answers(2)
        );
        assert_eq!((b.working, b.paid), (Some(1), Some(2)));
    }

    #[test]
    fn a_digit_out_of_range_is_unreadable_and_nothing_is_kept() {
        let mut a = Answers::default();
        let k = ScheduleKind::Placement;
        assert_eq!(
            take(k, &mut a, Question::Paid, &toks("7"), false),
            Taken::Unreadable
        );
        assert_eq!(a, Answers::default());
        assert_eq!(
            take(k, &mut a, Question::Working, &[], false),
            Taken::Unreadable
        );
    }

    #[test]
    fn a_trainee_looking_for_work_is_offered_alerts_unless_subscribed() {
        let mut a = Answers::default();
        let k = ScheduleKind::Training;
        take(k, &mut a, Question::Status, &toks("3"), false);
        assert_eq!(next(k, &a, false), Some(Question::Alerts));
        assert_eq!(next(k, &a, true), None);
        let mut b = Answers::default();
        take(k, &mut b, Question::Status, &toks("1"), false);
        assert_eq!(next(k, &b, false), None);
    }
}
