//! The wage-complaint dialog by SMS, as pure functions: which question comes next, and what an
//! answer means. Storage and replies are in `conversations::mod`.

pub use crate::cases::Answers;
use crate::text::{
    first_word, normalize_digits, normalize_keyword, parse_amount_yuan, parse_count, parse_months,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Employer,
    County,
    Workers,
    Amount,
    /// An amount under the floor: is it right?
    ConfirmAmount,
    Months,
    Anonymous,
    Confirm,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Employer,
        Step::County,
        Step::Workers,
        Step::Amount,
        Step::ConfirmAmount,
        Step::Months,
        Step::Anonymous,
        Step::Confirm,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Step::Employer => "employer",
            Step::County => "county",
            Step::Workers => "workers",
            Step::Amount => "amount",
            Step::ConfirmAmount => "confirm_amount",
            Step::Months => "months",
            Step::Anonymous => "anonymous",
            Step::Confirm => "confirm",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The message template that asks this question (each carries an example answer).
    pub fn template(&self) -> &'static str {
        match self {
            Step::Employer => "complaint_ask_employer",
            Step::County => "complaint_ask_county",
            Step::Workers => "complaint_ask_workers",
            Step::Amount => "complaint_ask_amount",
            Step::ConfirmAmount => "complaint_confirm_amount",
            Step::Months => "complaint_ask_months",
            Step::Anonymous => "complaint_ask_anonymous",
            Step::Confirm => "complaint_confirm",
        }
    }
}

pub use crate::places::{default_counties, County};

/// What the registry knows of a project code from a site notice board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRef {
    pub id: String,
    pub code: String,
    pub name_zh: String,
    pub name_bo: Option<String>,
    pub county: String,
}

/// The first question not yet answered. A project from the registry already names its county.
pub fn next_step(a: &Answers) -> Step {
    if a.employer.is_none() {
        Step::Employer
    } else if a.county.is_none() {
        Step::County
    } else if a.workers.is_none() {
        Step::Workers
    } else if a.amount_unconfirmed.is_some() {
        Step::ConfirmAmount
    } else if a.amount_yuan.is_none() {
        Step::Amount
    } else if a.months.is_none() {
        Step::Months
    } else if a.anonymous.is_none() {
        Step::Anonymous
    } else {
        Step::Confirm
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// The answer was taken; ask `next_step`.
    Taken,
    /// The worker confirmed the summary: file it.
    Confirmed,
    /// Not an answer to this question.
    Invalid,
}

/// Words that abandon the dialog at any step. Tibetan ཕྱིར་འཐེན "withdraw" (native review).
const CANCEL: &[&str] = &["取消", "0", "CANCEL", "QUXIAO", "ཕྱིར་འཐེན"];
const YES: &[&str] = &[
    "1",
    "是",
    "是的",
    "对",
    "好",
    "Y",
    "YES",
    "OK",
    "ཡིན",
    "ཡོད",
    "འགྲིག",
];
const NO: &[&str] = &["2", "否", "不", "不是", "不要", "N", "NO", "མིན", "མེད"];

pub fn is_cancel(text: &str) -> bool {
    CANCEL.contains(&normalize_keyword(text).as_str())
}

pub fn yes_no(text: &str) -> Option<bool> {
    let k = normalize_keyword(text);
    if YES.contains(&k.as_str()) {
        Some(true)
    } else if NO.contains(&k.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// Applies the worker's answer to `step`. An amount under `min_amount_yuan` (a slip of the
/// keypad, or the amount of one day) is asked back before it is taken.
pub fn take_answer(
    step: Step,
    a: &mut Answers,
    text: &str,
    counties: &[County],
    min_amount_yuan: u64,
    find_project: &dyn Fn(&str) -> Option<ProjectRef>,
) -> Turn {
    let trimmed = text.trim();
    match step {
        Step::Employer => {
            let code = normalize_keyword(trimmed);
            if let Some(p) = find_project(&code) {
                a.project_id = Some(p.id);
                a.project_code = Some(p.code);
                a.employer = Some(p.name_zh);
                a.employer_bo = p.name_bo;
                a.county = Some(p.county);
                return Turn::Taken;
            }
            // A name, kept as given; a bare number or a single character is not one.
            let letters = trimmed.chars().filter(|c| c.is_alphabetic()).count();
            if letters < 2 || trimmed.chars().count() > 100 {
                return Turn::Invalid;
            }
            a.employer = Some(trimmed.to_string());
            Turn::Taken
        }
        Step::County => match county_choice(trimmed, counties) {
            Some(c) => {
                a.county = Some(c);
                Turn::Taken
            }
            None => Turn::Invalid,
        },
        Step::Workers => match parse_count(trimmed).filter(|n| (1..=10_000).contains(n)) {
            Some(n) => {
                a.workers = Some(n);
                Turn::Taken
            }
            None => Turn::Invalid,
        },
        Step::Amount => {
            match parse_amount_yuan(trimmed).filter(|n| (1..=100_000_000).contains(n)) {
                Some(n) if n < min_amount_yuan => {
                    a.amount_unconfirmed = Some(n);
                    Turn::Taken
                }
                Some(n) => {
                    a.amount_yuan = Some(n);
                    Turn::Taken
                }
                None => Turn::Invalid,
            }
        }
        Step::ConfirmAmount => match yes_no(trimmed) {
            Some(true) => {
                a.amount_yuan = a.amount_unconfirmed.take();
                Turn::Taken
            }
            Some(false) => {
                a.amount_unconfirmed = None;
                Turn::Taken
            }
            // Another amount instead: taken as an answer to the amount question.
            None => {
                let before = a.amount_unconfirmed.take();
                match take_answer(
                    Step::Amount,
                    a,
                    text,
                    counties,
                    min_amount_yuan,
                    find_project,
                ) {
                    Turn::Invalid => {
                        a.amount_unconfirmed = before;
                        Turn::Invalid
                    }
                    turn => turn,
                }
            }
        },
        Step::Months => match parse_months(trimmed) {
            Some(n) => {
                a.months = Some(n);
                Turn::Taken
            }
            None => Turn::Invalid,
        },
        Step::Anonymous => match yes_no(trimmed) {
            Some(b) => {
                a.anonymous = Some(b);
                Turn::Taken
            }
            None => Turn::Invalid,
        },
        Step::Confirm => match yes_no(trimmed) {
            Some(true) => Turn::Confirmed,
            _ => Turn::Invalid,
        },
    }
}

/// A county by its number in the list or by its name in either language.
fn county_choice(text: &str, counties: &[County]) -> Option<String> {
    let norm = normalize_digits(text);
    if let Ok(n) = norm.trim().parse::<usize>() {
        return counties.get(n.checked_sub(1)?).map(|c| c.zh.clone());
    }
    let t = text.trim().trim_end_matches(['་', '།']);
    counties
        .iter()
        .find(|c| {
            !t.is_empty()
                && (c.zh == t
                    || c.zh.trim_end_matches(['县', '区', '市']) == t
                    || c.bo.trim_end_matches(['་', '།']) == t)
        })
        .map(|c| c.zh.clone())
}

/// Months owed: "3", "3个月", "三个月" is not read (digits only), "半年" neither.
/// The one-message form for experienced users and brokers: `QX <project code> <workers> <amount>`.
pub fn one_message(text: &str) -> Option<(String, u32, u64)> {
    let norm = normalize_keyword(text);
    let (kw, rest) = first_word(&norm);
    if kw != "QX" && kw != "欠薪" {
        return None;
    }
    let parts: Vec<&str> = rest.split_whitespace().collect();
    if parts.len() != 3 {
        return None;
    }
    let workers = parse_count(parts[1]).filter(|n| (1..=10_000).contains(n))?;
    let amount = parse_amount_yuan(parts[2]).filter(|n| *n >= 1)?;
    Some((parts[0].to_string(), workers, amount))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counties() -> Vec<County> {
        vec![
            County {
                zh: "城关区".into(),
                bo: "ཁྲིན་ཀོན་ཆུས།".into(),
            },
            County {
                zh: "堆龙德庆区".into(),
                bo: "སྟོད་ལུང་བདེ་ཆེན་ཆུས།".into(),
            },
        ]
    }

    fn registry(code: &str) -> Option<ProjectRef> {
        (code == "P2026-001").then(|| ProjectRef {
            id: "p1".into(),
            code: "P2026-001".into(),
            name_zh: "拉萨北环路改造工程".into(),
            name_bo: None,
            county: "城关区".into(),
        })
    }

    #[test]
    fn a_project_code_fills_employer_and_county() {
        let mut a = Answers::default();
        assert_eq!(
            take_answer(
                Step::Employer,
                &mut a,
                "p2026-001",
                &counties(),
                0,
                &registry
            ),
            Turn::Taken
        );
        assert_eq!(a.employer.as_deref(), Some("拉萨北环路改造工程"));
        assert_eq!(a.county.as_deref(), Some("城关区"));
        assert_eq!(next_step(&a), Step::Workers);
    }

    #[test]
    fn a_free_name_is_kept_and_the_county_asked() {
        let mut a = Answers::default();
        assert_eq!(
            take_answer(
                Step::Employer,
                &mut a,
                " 扎西建筑队 ",
                &counties(),
                0,
                &registry
            ),
            Turn::Taken
        );
        assert_eq!(a.employer.as_deref(), Some("扎西建筑队"));
        assert_eq!(next_step(&a), Step::County);
        assert_eq!(
            take_answer(
                Step::Employer,
                &mut Answers::default(),
                "5",
                &counties(),
                0,
                &registry
            ),
            Turn::Invalid
        );
    }

    #[test]
    fn counties_by_number_or_name() {
        let c = counties();
        let mut a = Answers::default();
        for (text, want) in [
            ("2", Some("堆龙德庆区")),
            ("２", Some("堆龙德庆区")),
            ("༡", Some("城关区")),
            ("城关", Some("城关区")),
            ("ཁྲིན་ཀོན་ཆུས", Some("城关区")),
            ("3", None),
            ("0x", None),
        ] {
            a.county = None;
            let t = take_answer(Step::County, &mut a, text, &c, 0, &registry);
            assert_eq!(a.county.as_deref(), want, "{text}");
            assert_eq!(t == Turn::Taken, want.is_some(), "{text}");
        }
    }

    #[test]
    fn numbers_amounts_months_and_yes_no() {
        let (c, r) = (counties(), registry);
        let mut a = Answers::default();
        assert_eq!(
            take_answer(Step::Workers, &mut a, "༥", &c, 0, &r),
            Turn::Taken
        );
        assert_eq!(a.workers, Some(5));
        assert_eq!(
            take_answer(Step::Workers, &mut a, "很多", &c, 0, &r),
            Turn::Invalid
        );
        for (t, v) in [
            ("3千", 3000),
            ("3000元", 3000),
            ("¥3,000", 3000),
            ("３０００", 3000),
        ] {
            assert_eq!(
                take_answer(Step::Amount, &mut a, t, &c, 0, &r),
                Turn::Taken,
                "{t}"
            );
            assert_eq!(a.amount_yuan, Some(v));
        }
        assert_eq!(
            take_answer(Step::Amount, &mut a, "不知道", &c, 0, &r),
            Turn::Invalid
        );
        assert_eq!(
            take_answer(Step::Months, &mut a, "3个月", &c, 0, &r),
            Turn::Taken
        );
        assert_eq!(a.months, Some(3));
        assert_eq!(
            take_answer(Step::Months, &mut a, "500", &c, 0, &r),
            Turn::Invalid
        );
        assert_eq!(
            take_answer(Step::Anonymous, &mut a, "是", &c, 0, &r),
            Turn::Taken
        );
        assert_eq!(a.anonymous, Some(true));
        assert_eq!(
            take_answer(Step::Anonymous, &mut a, "2", &c, 0, &r),
            Turn::Taken
        );
        assert_eq!(a.anonymous, Some(false));
        assert_eq!(
            take_answer(Step::Confirm, &mut a, "1", &c, 0, &r),
            Turn::Confirmed
        );
        assert_eq!(
            take_answer(Step::Confirm, &mut a, "hm", &c, 0, &r),
            Turn::Invalid
        );
    }

    #[test]
    fn cancel_words() {
        for t in ["取消", "0", "０", "cancel", "ཕྱིར་འཐེན།"] {
            assert!(is_cancel(t), "{t}");
        }
        assert!(!is_cancel("10"));
    }

    #[test]
    fn one_message_form() {
        assert_eq!(
            one_message("QX P2026-001 5 3000"),
            Some(("P2026-001".into(), 5, 3000))
        );
        assert_eq!(
            one_message("qx p2026-001 ５ 3千"),
            Some(("P2026-001".into(), 5, 3000))
        );
        assert_eq!(one_message("QX"), None);
        assert_eq!(one_message("QX P1 five 3000"), None);
        assert_eq!(one_message("hello P1 5 3000"), None);
    }

    #[test]
    fn a_small_amount_is_read_back_before_it_is_taken() {
        let (c, r) = (counties(), |_: &str| None);
        let mut a = Answers {
            employer: Some("扎西建筑队".into()),
            county: Some("城关区".into()),
            workers: Some(3),
            ..Default::default()
        };
        assert_eq!(
            take_answer(Step::Amount, &mut a, "30", &c, 100, &r),
            Turn::Taken
        );
        assert_eq!((a.amount_yuan, a.amount_unconfirmed), (None, Some(30)));
        assert_eq!(next_step(&a), Step::ConfirmAmount);
        // another amount instead
        assert_eq!(
            take_answer(Step::ConfirmAmount, &mut a, "3000", &c, 100, &r),
            Turn::Taken
        );
        assert_eq!((a.amount_yuan, a.amount_unconfirmed), (Some(3000), None));
        // or yes: the small amount stands
        a.amount_yuan = None;
        take_answer(Step::Amount, &mut a, "༥༠", &c, 100, &r);
        assert_eq!(
            take_answer(Step::ConfirmAmount, &mut a, "1", &c, 100, &r),
            Turn::Taken
        );
        assert_eq!((a.amount_yuan, a.amount_unconfirmed), (Some(50), None));
        assert_eq!(next_step(&a), Step::Months);
        // no: asked again
        a.amount_yuan = None;
        take_answer(Step::Amount, &mut a, "50", &c, 100, &r);
        assert_eq!(
            take_answer(Step::ConfirmAmount, &mut a, "2", &c, 100, &r),
            Turn::Taken
        );
        assert_eq!(next_step(&a), Step::Amount);
        // nonsense: still waiting
        take_answer(Step::Amount, &mut a, "50", &c, 100, &r);
        assert_eq!(
            take_answer(Step::ConfirmAmount, &mut a, "不知道", &c, 100, &r),
            Turn::Invalid
        );
        assert_eq!(a.amount_unconfirmed, Some(50));
    }
}
