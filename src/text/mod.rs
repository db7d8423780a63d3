//! Text handling for incoming and outgoing SMS: message length and
//! segmentation, digit and money parsing, script detection, phone number
//! normalisation and keyword normalisation; and the spreadsheets (CSV) officers import.
//!
//! Everything here is pure (no I/O, no database) so it can be tested in isolation.

pub mod digits;
pub mod gsm;
pub mod keyword;
pub mod numerals;
pub mod phone;
pub mod script;
pub mod sheet;

pub use digits::{
    normalize_digits, parse_amount_yuan, parse_count, parse_months, thousands, tibetan_digits,
};
pub use gsm::{is_gsm7, sms_size, split_segments, Encoding, SmsSize};
pub use keyword::{first_word, normalize_keyword};
pub use phone::{mask_phone, normalize_phone, recipient_of, PhoneError};
pub use script::{detect_script, Script};

/// What a gateway sends, made storable on every backend: NUL (which PostgreSQL's text refuses)
/// and the other control characters but tab, line feed and carriage return (C0, DEL, C1) are
/// removed; everything else is kept as sent. The README states the rule.
pub fn storable(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect()
}

#[cfg(test)]
mod storable_tests {
    use super::storable;

    #[test]
    fn control_characters_go_and_text_stays() {
        assert_eq!(storable("help\u{0}"), "help");
        assert_eq!(storable("a\u{1}b\u{7f}c\u{85}d"), "abcd");
        assert_eq!(storable("欠薪\n第二行\tཀ"), "欠薪\n第二行\tཀ");
    }
}
