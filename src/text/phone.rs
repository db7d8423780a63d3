//! Phone numbers to E.164, and masking them for logs and staff screens.

use std::fmt;

use super::digits::ascii_digit_or_self;
use super::keyword::fold_width;

const CHINA: &str = "86";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneError {
    Empty,
    InvalidCharacter(char),
    TooShort,
    TooLong,
    BadChineseMobile,
    /// A simulator number on a real gateway, or a real number in the simulator.
    Reserved,
}

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhoneError::Empty => f.write_str("the phone number is empty"),
            PhoneError::InvalidCharacter(c) => {
                write!(f, "the phone number has an invalid character {c:?}")
            }
            PhoneError::TooShort => f.write_str("the phone number is too short"),
            PhoneError::TooLong => f.write_str("the phone number is too long"),
            PhoneError::BadChineseMobile => {
                f.write_str("a Chinese mobile number must have exactly 11 digits")
            }
            PhoneError::Reserved => f.write_str(
                "the console's simulator numbers (+86 100000 NNNNN) and real numbers never mix",
            ),
        }
    }
}

impl std::error::Error for PhoneError {}

/// Characters people put between digits.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '.' | '(' | ')' | '\u{2010}'..='\u{2015}' | '\u{2212}'
        )
}

/// The digits of a number and whether it started with '+'. Full-width and
/// Tibetan digits count as digits; '+' is only allowed before the first digit.
fn clean(raw: &str) -> Result<(bool, String), PhoneError> {
    let mut plus = false;
    let mut digits = String::new();
    for original in raw.chars() {
        let c = ascii_digit_or_self(fold_width(original));
        if c.is_ascii_digit() {
            digits.push(c);
        } else if c == '+' && !plus && digits.is_empty() {
            plus = true;
        } else if !is_separator(c) {
            return Err(PhoneError::InvalidCharacter(original));
        }
    }
    Ok((plus, digits))
}

/// The configured country code without '+': 1 to 3 digits, not starting
/// with 0. A malformed one is reported like a malformed number.
fn country_code(cc: &str) -> Result<&str, PhoneError> {
    let cc = cc.trim();
    let cc = cc.strip_prefix('+').unwrap_or(cc);
    if let Some(bad) = cc.chars().find(|c| !c.is_ascii_digit()) {
        return Err(PhoneError::InvalidCharacter(bad));
    }
    match cc.len() {
        0 => Err(PhoneError::Empty),
        4.. => Err(PhoneError::TooLong),
        _ if cc.starts_with('0') => Err(PhoneError::InvalidCharacter('0')),
        _ => Ok(cc),
    }
}

/// Adds the country code to a number written without an international prefix.
fn national_to_international(digits: &str, default_cc: &str) -> Result<String, PhoneError> {
    let cc = country_code(default_cc)?;
    // People often drop the '+' but keep the 86 in front of a mobile.
    if cc == CHINA && digits.len() == 13 && digits.starts_with("861") {
        return Ok(digits.to_owned());
    }
    // The trunk prefix 0 is only dialled inside the country.
    let national = digits.strip_prefix('0').unwrap_or(digits);
    Ok(format!("{cc}{national}"))
}

/// Length rules for a Chinese national significant number.
fn check_chinese(nsn: &str) -> Result<(), PhoneError> {
    // Mobiles are 13x–19x; "10" is Beijing's area code, not a mobile.
    let is_mobile = nsn.starts_with('1') && matches!(nsn.as_bytes().get(1), Some(b'3'..=b'9'));
    if is_mobile {
        return if nsn.len() == 11 {
            Ok(())
        } else {
            Err(PhoneError::BadChineseMobile)
        };
    }
    // Landlines: a 2–3 digit area code and a 7–8 digit local number.
    match nsn.len() {
        ..=8 => Err(PhoneError::TooShort),
        12.. => Err(PhoneError::TooLong),
        _ => Ok(()),
    }
}

/// Checks the digits of an international number and adds the '+'.
fn finish(digits: &str) -> Result<String, PhoneError> {
    // Country codes never start with 0, so "+0…" is a typo.
    if digits.starts_with('0') {
        return Err(PhoneError::InvalidCharacter('0'));
    }
    // "+86 (0)891 …" is a common way to write Chinese numbers; the 0 is the
    // trunk prefix and no Chinese number starts with 0 after the 86. Every
    // leading 0 goes, so a normalised number normalises to itself (fuzzing
    // found "00860086007777" giving "+86086007777", which did not).
    let china = digits
        .strip_prefix(CHINA)
        .map(|nsn| nsn.trim_start_matches('0'));
    let digits = match china {
        Some(nsn) => format!("{CHINA}{nsn}"),
        None => digits.to_owned(),
    };
    match digits.len() {
        ..=4 => return Err(PhoneError::TooShort),
        16.. => return Err(PhoneError::TooLong),
        _ => {}
    }
    if let Some(nsn) = digits.strip_prefix(CHINA) {
        check_chinese(nsn)?;
    }
    Ok(format!("+{digits}"))
}

/// Normalises a phone number to E.164 ("+8613900000001").
///
/// Accepts "+86 139 0000 0001", "008613900000001", "8613900000001",
/// "13900000001", "0891-6331234" (trunk 0 dropped) and foreign numbers with
/// '+', with spaces, dashes, dots, parentheses and full-width characters.
/// `default_country_code` ("86" or "+86") applies to numbers written without
/// an international prefix.
pub fn normalize_phone(raw: &str, default_country_code: &str) -> Result<String, PhoneError> {
    let (plus, digits) = clean(raw)?;
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else {
        national_to_international(&digits, default_country_code)?
    };
    finish(&international)
}

/// Two-digit E.164 country codes; 1 and 7 are one digit, the rest three.
const TWO_DIGIT_CODES: &[&str] = &[
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47",
    "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65",
    "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
];

fn country_code_len(digits: &str) -> usize {
    if digits.starts_with(['1', '7']) {
        1
    } else if TWO_DIGIT_CODES.iter().any(|cc| digits.starts_with(cc)) {
        2
    } else {
        3
    }
}

/// A Chinese number as dialled at home ("+8613900000001" → "13900000001"); others stay
/// E.164.
pub fn national(e164: &str) -> String {
    match e164.strip_prefix("+86") {
        Some(n) if n.starts_with('1') => n.to_string(),
        Some(n) => format!("0{n}"),
        None => e164.to_string(),
    }
}

/// Masks a number for display: "+8613900000001" -> "+86139****0001".
/// Keeps the country code, the first 3 and the last 4 national digits. When
/// that would hide fewer than 2 digits, or the input is not E.164, everything
/// but the last 2 characters is masked.
pub fn mask_phone(e164: &str) -> String {
    if let Some(digits) = e164.strip_prefix('+') {
        if digits.bytes().all(|b| b.is_ascii_digit()) {
            let (cc, nsn) = digits.split_at(country_code_len(digits).min(digits.len()));
            if nsn.len() >= 9 {
                let (head, rest) = nsn.split_at(3);
                let (middle, tail) = rest.split_at(rest.len() - 4);
                return format!("+{cc}{head}{}{tail}", "*".repeat(middle.len()));
            }
        }
        return format!("+{}", mask_all_but_last_two(digits));
    }
    mask_all_but_last_two(e164)
}

/// Which of `numbers` (E.164, as we gave them to a gateway) a gateway's `reported` number is:
/// the same text, else the one whose digits end with the reported digits (the gateway wrote it
/// without '+', with 00, or as dialled at home). None when none, or more than one, fits.
pub fn recipient_of<'a>(numbers: &[&'a str], reported: &str) -> Option<&'a str> {
    if let Some(n) = numbers.iter().find(|n| **n == reported) {
        return Some(n);
    }
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let theirs = digits(reported);
    // International (00) and trunk (0) prefixes are not part of the number.
    let theirs = theirs.trim_start_matches('0');
    if theirs.len() < 7 {
        return None;
    }
    let mut fits = numbers.iter().filter(|n| digits(n).ends_with(theirs));
    match (fits.next(), fits.next()) {
        (Some(n), None) => Some(n),
        _ => None,
    }
}

fn mask_all_but_last_two(s: &str) -> String {
    let count = s.chars().count();
    // Showing 2 of 3 characters would hide almost nothing.
    let keep = if count >= 4 { 2 } else { 0 };
    let masked = "*".repeat(count - keep);
    let tail: String = s.chars().skip(count - keep).collect();
    masked + &tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cn(raw: &str) -> Result<String, PhoneError> {
        normalize_phone(raw, "86")
    }

    fn ok(raw: &str, expected: &str) {
        assert_eq!(cn(raw), Ok(expected.to_owned()), "input {raw:?}");
    }

    fn err(raw: &str, expected: PhoneError) {
        assert_eq!(cn(raw), Err(expected), "input {raw:?}");
    }

    /// Found by fuzzing (`fuzz/regressions/phone/`): a trunk 0 written twice after the
    /// country code gave a number that did not normalise to itself.
    #[test]
    fn a_normalised_number_normalises_to_itself() {
        for raw in [
            "00860086007777",
            "+86 00 891 633 1234",
            "0086 0 139 0000 0001",
        ] {
            if let Ok(once) = normalize_phone(raw, "86") {
                assert_eq!(normalize_phone(&once, "86"), Ok(once.clone()), "{raw}");
            }
        }
        assert_eq!(
            normalize_phone("0086 0 139 0000 0001", "86").as_deref(),
            Ok("+8613900000001")
        );
    }

    #[test]
    fn a_reported_number_is_found_among_the_ones_we_gave() {
        let ours = ["+8613900000001", "+8613900000002", "+868916331234"];
        for (reported, expected) in [
            ("+8613900000002", Some("+8613900000002")),
            ("8613900000002", Some("+8613900000002")),
            ("008613900000002", Some("+8613900000002")),
            ("13900000002", Some("+8613900000002")),
            ("+86 139 0000 0001", Some("+8613900000001")),
            ("0891-6331234", Some("+868916331234")),
            ("13900000003", None),
            ("0002", None),
            ("", None),
        ] {
            assert_eq!(recipient_of(&ours, reported), expected, "{reported:?}");
        }
        // Two numbers that end alike: only the exact one is certain.
        let alike = ["+8613900000001", "+4413900000001"];
        assert_eq!(recipient_of(&alike, "13900000001"), None);
        assert_eq!(
            recipient_of(&alike, "+4413900000001"),
            Some("+4413900000001")
        );
    }

    #[test]
    fn chinese_mobile_forms() {
        let e164 = "+8613900000001";
        for raw in [
            "+8613900000001",
            "+86 139 0000 0001",
            "+86-139-0000-0001",
            "+86 (139) 0000.0001",
            "008613900000001",
            "0086 139 0000 0001",
            "8613900000001",
            "13900000001",
            "139 0000 0001",
            "１３９００００００01",
            "＋８６ １３９ ００００ ０００１",
            "（139）0000－0001",
            "༡༣༩༠༠༠༠༠༠༠༡",
            "\u{3000}13900000001\u{00A0}",
            "+86 (0)139 0000 0001",
        ] {
            ok(raw, e164);
        }
    }

    #[test]
    fn chinese_landlines() {
        ok("0891-6331234", "+868916331234");
        ok("(0891) 633 1234", "+868916331234");
        ok("+86 891 6331234", "+868916331234");
        ok("+86 (0)891 6331234", "+868916331234");
        // Beijing's area code 10 must not be mistaken for a mobile prefix.
        ok("010-12345678", "+861012345678");
    }

    #[test]
    fn default_country_code_variants() {
        assert_eq!(
            normalize_phone("13900000001", "+86"),
            Ok("+8613900000001".into())
        );
        assert_eq!(
            normalize_phone("015112345678", "49"),
            Ok("+4915112345678".into())
        );
        assert_eq!(
            normalize_phone("13900000001", "x"),
            Err(PhoneError::InvalidCharacter('x'))
        );
        assert_eq!(normalize_phone("13900000001", ""), Err(PhoneError::Empty));
        // An explicit international number does not need the default.
        assert_eq!(
            normalize_phone("+8613900000001", ""),
            Ok("+8613900000001".into())
        );
    }

    #[test]
    fn foreign_numbers_kept() {
        ok("+4915112345678", "+4915112345678");
        ok("+49 151 1234 5678", "+4915112345678");
        ok("004915112345678", "+4915112345678");
        ok("+1 (202) 555-0123", "+12025550123");
        ok("+12345", "+12345");
        ok("+123456789012345", "+123456789012345");
    }

    #[test]
    fn rejected_numbers() {
        err("", PhoneError::Empty);
        err("  ", PhoneError::Empty);
        err("+", PhoneError::Empty);
        err("-()-", PhoneError::Empty);
        err("139abc00001", PhoneError::InvalidCharacter('a'));
        err("１３９ｘ", PhoneError::InvalidCharacter('ｘ'));
        err("tel:+8613900000001", PhoneError::InvalidCharacter('t'));
        err("139+0000001", PhoneError::InvalidCharacter('+'));
        err("++8613900000001", PhoneError::InvalidCharacter('+'));
        err("139/0000/0001", PhoneError::InvalidCharacter('/'));
        // Tibetan half-digits are not digits.
        err(
            "\u{0F2A}3900000001",
            PhoneError::InvalidCharacter('\u{0F2A}'),
        );
        err("+0123456789", PhoneError::InvalidCharacter('0'));
        err("000123456789", PhoneError::InvalidCharacter('0'));
        err("+1234", PhoneError::TooShort);
        err("+1234567890123456", PhoneError::TooLong);
        err("+86139000000", PhoneError::BadChineseMobile);
        err("1390000000", PhoneError::BadChineseMobile);
        err("139000000011", PhoneError::BadChineseMobile);
        err("+861390000000123", PhoneError::BadChineseMobile);
        // A local number without its area code cannot be placed.
        err("6331234", PhoneError::TooShort);
        err("12333", PhoneError::TooShort);
        err("+86891633123456", PhoneError::TooLong);
    }

    #[test]
    fn error_messages() {
        assert_eq!(PhoneError::Empty.to_string(), "the phone number is empty");
        assert_eq!(
            PhoneError::InvalidCharacter('a').to_string(),
            "the phone number has an invalid character 'a'"
        );
        assert_eq!(
            PhoneError::BadChineseMobile.to_string(),
            "a Chinese mobile number must have exactly 11 digits"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(PhoneError::TooLong);
        assert_eq!(boxed.to_string(), "the phone number is too long");
    }

    #[test]
    fn masking() {
        assert_eq!(mask_phone("+8613900000001"), "+86139****0001");
        assert_eq!(mask_phone("+868916331234"), "+86891***1234");
        assert_eq!(mask_phone("+4915112345678"), "+49151****5678");
        assert_eq!(mask_phone("+12025550123"), "+1202***0123");
        assert_eq!(mask_phone("+85291234567"), "+*********67");
        assert_eq!(mask_phone("+12345"), "+***45");
        assert_eq!(mask_phone("13900000001"), "*********01");
        assert_eq!(mask_phone("+12"), "+**");
        assert_eq!(mask_phone(""), "");
        assert_eq!(mask_phone("+"), "+");
        assert_eq!(mask_phone("+86abc"), "+***bc");
    }
}
