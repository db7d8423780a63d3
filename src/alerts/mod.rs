//! Job alerts: the labour-force register (`register`), brokers' job notices and their
//! moderation (`notices`), who a notice reaches (`targeting`), queuing and the sending rules
//! (`send`), and what came of each notice (`results`).
//!
//! A worker is a contact with a register row (`workers`). An alert is an outgoing message
//! with its `notice_id`: at most one per worker and notice (a unique index), so a notice
//! queued twice, or after a crash, still reaches each worker once.

pub mod interest;
pub mod notices;
pub mod register;
pub mod send;

use chrono::{NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

crate::text_enum! {
    /// Whether a worker is looking for work (the register's 就业状态).
    pub enum Employment {
        Seeking = "seeking",
        Working = "working",
        NotSeeking = "not_seeking",
    }
}

crate::text_enum! {
    /// As the register records it; never used to target a notice.
    pub enum Gender {
        Female = "f",
        Male = "m",
    }
}

crate::text_enum! {
    /// A job notice's life: a broker's draft, submitted for approval, sent back for changes
    /// (`returned`, editable again), `approved` (queued and sending), `rejected`, or
    /// `cancelled` after approval (unsent alerts stop).
    pub enum NoticeStatus {
        Draft = "draft",
        Submitted = "submitted",
        Returned = "returned",
        Approved = "approved",
        Rejected = "rejected",
        Cancelled = "cancelled",
    }
}

crate::text_enum! {
    /// What a notice's wage is counted in.
    pub enum WageUnit {
        Day = "day",
        Month = "month",
        Piece = "piece",
    }
}

crate::text_enum! {
    /// Board and lodging.
    pub enum BoardLodging {
        Both = "both",
        Board = "board",
        Lodging = "lodging",
        None = "none",
    }
}

/// A trade workers register for and notices are posted in: a code, and its names.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Trade {
    pub code: String,
    pub zh: String,
    pub bo: String,
}

impl Trade {
    /// The trade a file or a form names: by its Chinese or Tibetan name, or its code (any case).
    pub fn find<'a>(trades: &'a [Trade], word: &str) -> Option<&'a Trade> {
        trades.iter().find(|t| {
            t.zh == word
                || t.code.eq_ignore_ascii_case(word)
                || t.bo.trim_end_matches('།') == word.trim_end_matches('།')
        })
    }

    /// The trades' Chinese names, as a message lists them: 建筑、运输、…
    pub fn names(trades: &[Trade]) -> String {
        trades
            .iter()
            .map(|t| t.zh.as_str())
            .collect::<Vec<_>>()
            .join("、")
    }
}

/// The trades the seed policy names, in the order a worker picks them by number.
/// Tibetan names: native review (README).
pub fn default_trades() -> Vec<Trade> {
    [
        ("construction", "建筑", "བཟོ་སྐྲུན།"),
        ("transport", "运输", "སྐྱེལ་འདྲེན།"),
        ("domestic", "家政", "ཁྱིམ་ཞབས།"),
        ("handicraft", "民族手工艺", "ལག་ཤེས།"),
        ("catering", "餐饮", "ཟ་ཁང་།"),
        ("security", "保安保洁", "སྲུང་སྐྱོབ་དང་གཙང་སྦྲ།"),
        ("farming", "农牧", "ཞིང་འབྲོག"),
        ("tourism", "旅游", "ཡུལ་སྐོར།"),
        ("other", "其他", "གཞན།"),
    ]
    .into_iter()
    .map(|(code, zh, bo)| Trade {
        code: code.into(),
        zh: zh.into(),
        bo: bo.into(),
    })
    .collect()
}

/// The legal minimum wage notices are checked against, in yuan.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MinimumWage {
    pub month: u32,
    pub day: u32,
    pub hour: u32,
}

impl Default for MinimumWage {
    /// Tibet's: 2,100 yuan a month, 20 yuan an hour (西藏自治区人民政府, 2021 adjustment;
    /// README names the source); a day is the month over 21.75 working days, rounded up.
    fn default() -> Self {
        MinimumWage {
            month: 2100,
            day: 97,
            hour: 20,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Bulk alerts go out only between these bureau times, `HH:MM-HH:MM`.
    pub send_window: String,
    /// Alerts a worker gets in any 7 days at most.
    pub max_per_week: u32,
    /// What one SMS segment costs, in yuan (for the cost shown before approval).
    pub price_per_segment: f64,
    /// The most segments one alert may take; a worker who reads both languages gets both
    /// texts in one message only when they fit in this.
    pub max_segments: u32,
    pub minimum_wage: MinimumWage,
    /// The trades of the register and of notices, numbered from 1 in the SMS dialog.
    pub trades: Vec<Trade>,
    /// Words that signal a fee or deposit charged to workers (unlawful), looked for in every
    /// field of a notice.
    pub fee_words: Vec<String>,
    /// Workers queued per transaction when a notice is approved.
    pub queue_batch: u32,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            send_window: "08:00-21:00".into(),
            max_per_week: 3,
            price_per_segment: 0.05,
            max_segments: 4,
            minimum_wage: MinimumWage::default(),
            trades: default_trades(),
            fee_words: [
                "押金",
                "保证金",
                "报名费",
                "服装费",
                "培训费",
                "介绍费",
                "体检费",
                "中介费",
                "工装费",
                "manage fee",
                "deposit",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            queue_batch: 20_000,
        }
    }
}

impl AlertsConfig {
    /// The send window as two times; `validate` has checked the text.
    pub fn window(&self) -> (NaiveTime, NaiveTime) {
        parse_window(&self.send_window).unwrap_or((
            NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
            NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default(),
        ))
    }

    pub fn trade(&self, code: &str) -> Option<&Trade> {
        self.trades.iter().find(|t| t.code == code)
    }

    /// A problem with these settings, as `(key, message)`.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if parse_window(&self.send_window).is_none() {
            return Err((
                "alerts.send_window",
                format!("{:?} is not a window like 08:00-21:00", self.send_window),
            ));
        }
        if self.max_per_week == 0 {
            return Err(("alerts.max_per_week", "must be at least 1".into()));
        }
        if !(0.0..100.0).contains(&self.price_per_segment) {
            return Err(("alerts.price_per_segment", "give yuan, like 0.05".into()));
        }
        if self.max_segments == 0 || self.max_segments > 10 {
            return Err(("alerts.max_segments", "must be between 1 and 10".into()));
        }
        if self.trades.is_empty() || self.trades.len() > 20 {
            return Err(("alerts.trades", "list between 1 and 20 trades".into()));
        }
        for t in &self.trades {
            if t.code.is_empty()
                || !t
                    .code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err((
                    "alerts.trades",
                    format!("{:?}: a trade's code is a-z, 0-9 and _", t.code),
                ));
            }
        }
        if self.queue_batch == 0 {
            return Err(("alerts.queue_batch", "must be at least 1".into()));
        }
        Ok(())
    }
}

/// `HH:MM-HH:MM`; an end of `24:00` is midnight, so `00:00-24:00` is every hour.
fn parse_window(text: &str) -> Option<(NaiveTime, NaiveTime)> {
    let (a, b) = text.split_once('-')?;
    let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?;
    let b = match b.trim() {
        "24:00" => NaiveTime::from_hms_milli_opt(23, 59, 59, 999)?,
        b => NaiveTime::parse_from_str(b, "%H:%M").ok()?,
    };
    (a < b).then_some((a, b))
}

/// Codes kept between commas (",construction,transport,"), so that one `LIKE '%,code,%'`
/// finds a code; "," is the empty list.
pub fn join_codes<S: AsRef<str>>(codes: &[S]) -> String {
    let mut s = String::from(",");
    for c in codes {
        let c = c.as_ref().trim();
        if !c.is_empty() && !s.contains(&format!(",{c},")) {
            s.push_str(c);
            s.push(',');
        }
    }
    s
}

/// The codes of a `join_codes` text.
pub fn split_codes(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect()
}

/// Proof of a worker's consent or refusal: when, and how.
#[derive(Debug, Clone, Serialize)]
pub struct Consent {
    pub given: bool,
    pub at: Option<NaiveDateTime>,
    pub source: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_two_times_in_order() {
        assert!(parse_window("08:00-21:00").is_some());
        assert!(parse_window("21:00-08:00").is_none());
        assert!(parse_window("8-21").is_none());
        assert!(parse_window("00:00-24:00").is_some());
    }

    #[test]
    fn codes_round_trip_without_doubles() {
        let s = join_codes(&["construction", "transport", "construction", " "]);
        assert_eq!(s, ",construction,transport,");
        assert_eq!(split_codes(&s), vec!["construction", "transport"]);
        assert_eq!(join_codes::<&str>(&[]), ",");
        assert!(split_codes(",").is_empty());
    }

    #[test]
    fn the_default_trades_are_the_policys() {
        let c = AlertsConfig::default();
        assert_eq!(c.trades.len(), 9);
        assert!(c.validate().is_ok());
        assert_eq!(c.trade("domestic").map(|t| t.zh.as_str()), Some("家政"));
    }
}
