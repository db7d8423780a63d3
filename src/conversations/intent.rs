//! What an incoming text asks for, and in which language to answer. Pure functions; the
//! effects happen in `inbound`.
//!
//! Order: STOP/START first (a worker's refusal always wins), then keywords, then the help menu
//! for anything unknown. Later capabilities (open dialogs, complaint keywords, menu digits)
//! slot in between.

use crate::db::models::{Contact, Language};
use crate::text::{detect_script, first_word, normalize_keyword, Script};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Stop,
    Start,
    Help,
    /// Start the wage-complaint dialog.
    Complaint,
    /// `QX <project code> <workers> <amount>` in one message.
    ComplaintInOne {
        code: String,
        workers: u32,
        amount: u64,
    },
    /// A case's status, by reference or (none given) the worker's own cases.
    Status(Option<String>),
    /// Job alerts: subscribe (the dialog), or, subscribed, the newest matching notices.
    Jobs,
    /// Change a job-alert subscription: the dialog again.
    ChangeJobs,
    /// Interest in a job notice: `YX <code>`, or (None) the "interested" word for the alert
    /// just received.
    Interest(Option<String>),
    /// Not understood: answered with the help menu.
    Unknown,
}

/// Words that opt a worker out of bulk messages. Tibetan: མཚམས་འཇོག "stop" (native review).
const STOP: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "T",
    "TD",
    "退订",
    "退定",
    "停止",
    "取消订阅",
    "TUIDING",
    "མཚམས་འཇོག",
];
/// Words that opt back in. Tibetan: འགོ་འཛུགས "start" (native review).
const START: &[&str] = &[
    "START",
    "SUBSCRIBE",
    "UNSTOP",
    "恢复",
    "订阅",
    "开始",
    "འགོ་འཛུགས",
];
/// Words (and menu digit 1) that start a wage complaint. Tibetan: གླ་ཕོགས "wages" (native review).
const COMPLAINT: &[&str] = &[
    "1",
    "欠薪",
    "工资",
    "讨薪",
    "欠工资",
    "拖欠工资",
    "QX",
    "QIANXIN",
    "GONGZI",
    "TAOXIN",
    "WAGE",
    "WAGES",
    "གླ་ཕོགས",
    "གླ་ཕོགས་མ་སྤྲད",
];
/// Words (and menu digit 3) that ask for a case's status. Tibetan: འཚོལ་ཞིབ "look up" (native review).
const STATUS: &[&str] = &["3", "CX", "查询", "查", "CHAXUN", "STATUS", "འཚོལ་ཞིབ"];
/// Words (and menu digit 2) for job alerts. Tibetan: ལས་ཀ "work", ལས་ཀ་འཚོལ "look for work"
/// (native review).
const JOBS: &[&str] = &[
    "2",
    "工作",
    "找工作",
    "招工",
    "JOB",
    "JOBS",
    "GONGZUO",
    "ZHAOGONGZUO",
    "ལས་ཀ",
    "ལས་ཀ་འཚོལ",
];
/// Words that change a job-alert subscription. Tibetan: བསྒྱུར "change" (native review).
const CHANGE_JOBS: &[&str] = &["改", "修改", "CHANGE", "GAI", "XIUGAI", "བསྒྱུར"];
/// Words that say "I am interested" in the alert just received. Tibetan: འདོད "want", འདོད་ཡོད
/// "I want it" (native review).
const INTEREST: &[&str] = &["YX", "有意", "感兴趣", "YOUYI", "འདོད", "འདོད་ཡོད"];
/// Words that ask for the menu. Tibetan: རོགས་རམ "help".
const HELP: &[&str] = &[
    "HELP",
    "?",
    "MENU",
    "INFO",
    "帮助",
    "菜单",
    "求助",
    "帮忙",
    "BZ",
    "BANGZHU",
    "རོགས་རམ",
];

/// Keywords in pinyin: Latin letters from a worker who reads Chinese.
const PINYIN: &[&str] = &[
    "BANGZHU",
    "QIANXIN",
    "GONGZI",
    "TAOXIN",
    "CHAXUN",
    "TUIDING",
    "GONGZUO",
    "ZHAOGONGZUO",
    "XIUGAI",
    "YOUYI",
];

/// How a worker answers the language question: 1 Tibetan, 2 Chinese (any digits).
pub fn picked_language(text: &str) -> Option<Language> {
    match crate::text::normalize_digits(&normalize_keyword(text)).as_str() {
        "1" => Some(Language::Bo),
        "2" => Some(Language::Zh),
        _ => None,
    }
}

pub fn classify(text: &str) -> Intent {
    let norm = normalize_keyword(text);
    let (first, _) = first_word(&norm);
    let is = |list: &[&str]| list.contains(&norm.as_str()) || list.contains(&first);
    // The whole text must be the keyword for single letters, so "T恤" or "T 123" is not a
    // refusal but "t" and "Ｔ" are.
    let stop = STOP.iter().any(|k| *k == norm)
        || STOP.iter().any(|k| k.chars().count() > 1 && *k == first);
    if stop {
        return Intent::Stop;
    }
    if is(START) {
        return Intent::Start;
    }
    if is(HELP) {
        return Intent::Help;
    }
    if let Some((code, workers, amount)) = crate::conversations::complaint::one_message(text) {
        return Intent::ComplaintInOne {
            code,
            workers,
            amount,
        };
    }
    if COMPLAINT.contains(&norm.as_str()) {
        return Intent::Complaint;
    }
    if let Some(code) = notice_code(&norm) {
        return Intent::Interest(Some(code));
    }
    if INTEREST.contains(&norm.as_str()) {
        return Intent::Interest(None);
    }
    if JOBS.contains(&norm.as_str()) {
        return Intent::Jobs;
    }
    if CHANGE_JOBS.contains(&norm.as_str()) {
        return Intent::ChangeJobs;
    }
    let (_, rest) = first_word(&norm);
    if STATUS.contains(&norm.as_str()) {
        return Intent::Status(None);
    }
    if STATUS.contains(&first) {
        if looks_like_reference(rest) {
            return Intent::Status(Some(rest.to_string()));
        }
        // "3 个", "༣ མི": a number with a word, not a menu choice and a case reference.
        if first.bytes().all(|b| b.is_ascii_digit()) {
            return Intent::Unknown;
        }
        // "查询 我的案子": the worker's own cases.
        return Intent::Status(None);
    }
    // "CX123456" typed without the space, or a bare reference.
    if let Some(r) = norm
        .strip_prefix("CX")
        .filter(|r| crate::cases::reference::parse(r).is_some())
    {
        return Intent::Status(Some(r.to_string()));
    }
    if norm.starts_with('Q') && crate::cases::reference::parse(&norm).is_some() {
        return Intent::Status(Some(norm.clone()));
    }
    Intent::Unknown
}

/// `YX 1234`, `yx1234`, `YX ༡༢༣༤` (normalised): the notice code, digits only.
fn notice_code(norm: &str) -> Option<String> {
    let code = norm.strip_prefix("YX")?.trim_start();
    (!code.is_empty() && code.len() <= 12 && code.bytes().all(|b| b.is_ascii_digit()))
        .then(|| code.to_string())
}

/// A case reference as a worker types it, check digit right or wrong: `Q123459`, `123459`.
fn looks_like_reference(s: &str) -> bool {
    let digits = s.strip_prefix('Q').unwrap_or(s);
    (5..=8).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A command that, inside a dialog, goes to its own handler rather than being taken as an
/// answer: a status query by word or with a reference (not a bare menu digit, which may be an
/// answer: `3` workers).
pub fn interrupts_dialog(text: &str, intent: &Intent) -> bool {
    match intent {
        Intent::Interest(Some(_)) => true,
        Intent::Status(Some(_)) => true,
        Intent::Status(None) => !normalize_keyword(text).bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

/// Greetings and commands that, after a long pause, mean the worker has something else in
/// mind, not that they are answering the question left open.
pub fn is_greeting_or_command(text: &str) -> bool {
    const GREETINGS: &[&str] = &[
        "你好",
        "您好",
        "在吗",
        "HELLO",
        "HI",
        "NIHAO",
        "བཀྲ་ཤིས་བདེ་ལེགས",
        "ཨ་ཅག",
    ];
    let norm = normalize_keyword(text);
    GREETINGS.contains(&norm.as_str())
        || !matches!(classify(text), Intent::Unknown) && !norm.bytes().all(|b| b.is_ascii_digit())
}

/// The script a text is written in, as a language; None when it says nothing (digits, Latin,
/// or a number with a one-character Chinese unit: a Tibetan worker answers `5000元` too).
pub fn language_of(text: &str) -> Option<Language> {
    match detect_script(text) {
        Script::Tibetan => Some(Language::Bo),
        Script::Chinese if is_number_with_unit(text) => None,
        Script::Chinese => Some(Language::Zh),
        Script::Latin if is_pinyin_keyword(text) => Some(Language::Zh),
        Script::Latin | Script::Unknown => None,
    }
}

fn is_pinyin_keyword(text: &str) -> bool {
    let norm = normalize_keyword(text);
    let (first, _) = first_word(&norm);
    PINYIN.contains(&first)
}

/// Digits (any script) and at most one other character besides spaces and punctuation.
fn is_number_with_unit(text: &str) -> bool {
    let digits = crate::text::normalize_digits(text);
    let has_digit = digits.chars().any(|c| c.is_ascii_digit());
    let others = digits
        .chars()
        .filter(|c| !c.is_ascii_digit() && !c.is_whitespace() && !c.is_ascii_punctuation())
        .count();
    has_digit && others <= 1
}

/// The language to answer in: the worker's own choice if they made one, else the script of
/// this message, else what we last saw from them (both languages for a stranger).
pub fn reply_language(contact: &Contact, text: &str) -> Language {
    if contact.language_chosen {
        return contact.lang();
    }
    language_of(text).unwrap_or_else(|| contact.lang())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(lang: &str, chosen: bool) -> Contact {
        let t = chrono::NaiveDateTime::default();
        Contact {
            id: "c".into(),
            phone: "+8613900000001".into(),
            language: lang.parse().unwrap(),
            language_chosen: chosen,
            opted_out: false,
            opt_changed_at: None,
            opt_changed_via: None,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn pinyin_keywords_are_understood_and_mean_chinese() {
        assert_eq!(classify("bangzhu"), Intent::Help);
        assert_eq!(classify("qianxin"), Intent::Complaint);
        assert_eq!(classify("gongzi"), Intent::Complaint);
        assert_eq!(classify("chaxun"), Intent::Status(None));
        assert_eq!(
            classify("chaxun Q123459"),
            Intent::Status(Some("Q123459".into()))
        );
        assert_eq!(classify("tuiding"), Intent::Stop);
        assert_eq!(language_of("bangzhu"), Some(Language::Zh));
        assert_eq!(language_of("help"), None);
        assert_eq!(picked_language("1"), Some(Language::Bo));
        assert_eq!(picked_language("༢"), Some(Language::Zh));
        assert_eq!(picked_language("２"), Some(Language::Zh));
        assert_eq!(picked_language("3"), None);
    }

    #[test]
    fn a_query_word_with_something_else_is_not_a_reference() {
        assert_eq!(classify("3 个"), Intent::Unknown);
        assert_eq!(classify("༣ མི"), Intent::Unknown);
        assert_eq!(classify("3"), Intent::Status(None));
        assert_eq!(
            classify("CX Q123459"),
            Intent::Status(Some("Q123459".into()))
        );
        assert_eq!(
            classify("查询 Q123450"),
            Intent::Status(Some("Q123450".into()))
        );
        assert_eq!(classify("查询 我的案子"), Intent::Status(None));
        assert!(interrupts_dialog("CX Q123459", &classify("CX Q123459")));
        assert!(interrupts_dialog("查询", &classify("查询")));
        assert!(!interrupts_dialog("3", &classify("3")));
        assert!(is_greeting_or_command("你好"));
        assert!(is_greeting_or_command("欠薪"));
        assert!(!is_greeting_or_command("扎西建筑队"));
        assert!(!is_greeting_or_command("5"));
    }

    #[test]
    fn a_number_with_a_chinese_unit_keeps_the_language() {
        assert_eq!(language_of("5000元"), None);
        assert_eq!(language_of("５０００元"), None);
        assert_eq!(language_of("3个"), None);
        assert_eq!(language_of("5000"), None);
        assert_eq!(language_of("帮助"), Some(Language::Zh));
        assert_eq!(language_of("5000块钱"), Some(Language::Zh));
        assert_eq!(language_of("༥༠༠༠ སྒོར"), Some(Language::Bo));
        let tibetan = contact("bo", false);
        assert_eq!(reply_language(&tibetan, "5000元"), Language::Bo);
    }

    #[test]
    fn stop_words_in_every_form() {
        for t in [
            "STOP",
            "stop",
            "Stop!",
            "ＳＴＯＰ",
            "T",
            "t",
            "Ｔ",
            "TD",
            "退订",
            "退订。",
            "མཚམས་འཇོག",
            "མཚམས་འཇོག།",
            "stop please",
        ] {
            assert_eq!(classify(t), Intent::Stop, "{t}");
        }
        for t in ["T恤", "T 123", "tomorrow", "stopwatch"] {
            assert_ne!(classify(t), Intent::Stop, "{t}");
        }
    }

    #[test]
    fn start_help_unknown() {
        assert_eq!(classify("start"), Intent::Start);
        assert_eq!(classify("ＳＴＡＲＴ"), Intent::Start);
        assert_eq!(classify("HELP"), Intent::Help);
        assert_eq!(classify("帮助"), Intent::Help);
        assert_eq!(classify("?"), Intent::Help);
        assert_eq!(classify("？"), Intent::Help);
        assert_eq!(classify("རོགས་རམ"), Intent::Help);
        assert_eq!(classify("རོགས་རམ་"), Intent::Help);
        assert_eq!(classify("老板不给钱"), Intent::Unknown);
        assert_eq!(classify(""), Intent::Unknown);
    }

    #[test]
    fn complaint_and_status_words() {
        for t in ["欠薪", "1", "１", "༡", "qx", "工资", "གླ་ཕོགས", "WAGE"] {
            assert_eq!(classify(t), Intent::Complaint, "{t}");
        }
        assert_eq!(
            classify("QX P2026-001 5 3000"),
            Intent::ComplaintInOne {
                code: "P2026-001".into(),
                workers: 5,
                amount: 3000
            }
        );
        let r = crate::cases::reference::make(4242);
        assert_eq!(classify("CX"), Intent::Status(None));
        assert_eq!(classify("3"), Intent::Status(None));
        assert_eq!(
            classify(&format!("cx {r}")),
            Intent::Status(Some(r.clone()))
        );
        assert_eq!(
            classify(&format!("查询 {r}")),
            Intent::Status(Some(r.clone()))
        );
        assert_eq!(
            classify(&format!("CX{}", &r[1..])),
            Intent::Status(Some(r[1..].to_string()))
        );
        assert_eq!(classify(&r), Intent::Status(Some(r.clone())));
        assert_eq!(classify("2"), Intent::Jobs);
        assert_eq!(classify("4"), Intent::Unknown);
    }

    #[test]
    fn job_words_and_notice_codes() {
        for t in [
            "工作",
            "找工作",
            "job",
            "JOBS",
            "gongzuo",
            "ZhaoGongzuo",
            "ལས་ཀ",
            "ལས་ཀ་འཚོལ།",
            "2",
            "༢",
            "２",
        ] {
            assert_eq!(classify(t), Intent::Jobs, "{t}");
        }
        for t in ["改", "change", "བསྒྱུར"] {
            assert_eq!(classify(t), Intent::ChangeJobs, "{t}");
        }
        for t in ["YX 1234", "yx1234", "ＹＸ １２３４", "YX ༡༢༣༤", "yx  1234 "] {
            assert_eq!(classify(t), Intent::Interest(Some("1234".into())), "{t}");
        }
        assert_eq!(classify("YX"), Intent::Interest(None));
        assert_eq!(classify("འདོད"), Intent::Interest(None));
        assert_eq!(classify("YX abc"), Intent::Unknown);
        assert_eq!(language_of("gongzuo"), Some(Language::Zh));
        assert!(interrupts_dialog("YX 1234", &classify("YX 1234")));
        assert!(!interrupts_dialog("2", &classify("2")));
    }

    #[test]
    fn language_follows_script_unless_chosen() {
        assert_eq!(
            reply_language(&contact("both", false), "帮助"),
            Language::Zh
        );
        assert_eq!(
            reply_language(&contact("both", false), "རོགས་རམ"),
            Language::Bo
        );
        assert_eq!(
            reply_language(&contact("both", false), "HELP"),
            Language::Both
        );
        assert_eq!(reply_language(&contact("bo", false), "STOP"), Language::Bo);
        assert_eq!(reply_language(&contact("bo", true), "帮助"), Language::Bo);
    }
}
