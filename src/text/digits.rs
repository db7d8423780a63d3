//! Digits and numbers as workers type them: Tibetan and full-width digits,
//! Chinese and Tibetan magnitude words, currency marks and units before or after the
//! number, and numbers in words (`numerals`).

use super::numerals::{chinese_number, tibetan_number};

/// 1234567 → "1,234,567", the way the bureau writes amounts of yuan.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// Maps Tibetan digits ༠–༩ and full-width digits ０–９ to ASCII. Tibetan
/// half-digits (U+0F2A–U+0F33) are not ordinary digits and are left alone,
/// as is everything else.
pub fn normalize_digits(s: &str) -> String {
    s.chars().map(ascii_digit_or_self).collect()
}

/// ASCII digits as Tibetan digits ༠–༩, for numbers and dates in Tibetan texts; everything
/// else stays.
pub fn tibetan_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) if c.is_ascii_digit() => char::from_u32(0x0F20 + d).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// One character of [`normalize_digits`].
pub(crate) fn ascii_digit_or_self(c: char) -> char {
    let offset = match c {
        '\u{0F20}'..='\u{0F29}' => u32::from(c) - 0x0F20,
        '\u{FF10}'..='\u{FF19}' => u32::from(c) - 0xFF10,
        _ => return c,
    };
    char::from_digit(offset, 10).unwrap_or(c)
}

/// Strips `suffix` from the end of `s`, ignoring ASCII case.
fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    if s.get(cut..)?.eq_ignore_ascii_case(suffix) {
        s.get(..cut)
    } else {
        None
    }
}

/// Strips `prefix` from the start of `s`, ignoring ASCII case.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if s.get(..prefix.len())?.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// Removes the first matching suffix in `list` (longer variants must come
/// first), then surrounding whitespace.
fn strip_any_suffix<'a>(s: &'a str, list: &[&str]) -> &'a str {
    list.iter()
        .find_map(|suffix| strip_suffix_ci(s, suffix))
        .unwrap_or(s)
        .trim()
}

fn strip_any_prefix<'a>(s: &'a str, list: &[&str]) -> &'a str {
    list.iter()
        .find_map(|prefix| strip_prefix_ci(s, prefix))
        .unwrap_or(s)
        .trim()
}

/// Words that may follow a head count. "མི" is Tibetan for "person".
const COUNT_UNITS: &[&str] = &[
    "个人",
    "個人",
    "人",
    "个",
    "個",
    "名",
    "位",
    "people",
    "persons",
    "person",
    "ppl",
    "workers",
    "worker",
    "མི་",
    "མི",
];

/// Parses a head count such as "5", " 12人 ", "5 people", "༥", "༥ མི", "མི་ལྔ", "三个",
/// "十二" or "གསུམ". Only whole numbers: no sign, no decimals, no thousands separators.
pub fn parse_count(s: &str) -> Option<u32> {
    let s = normalize_digits(s);
    let s = trim_tibetan_end(&s);
    let number = strip_any_suffix(s, COUNT_UNITS);
    // Tibetan puts the noun first: མི་ལྔ, "people, five".
    let number = strip_any_prefix(number, &["མི་", "མི"]);
    whole_number(number)?.try_into().ok()
}

/// Digits, Chinese numerals or Tibetan number words, as a whole number.
fn whole_number(s: &str) -> Option<u64> {
    let s = s.trim();
    if is_ascii_digits(s) {
        return s.parse().ok();
    }
    if s.bytes().any(|b| b.is_ascii_digit()) && !s.chars().any(is_chinese_numeral) {
        return None;
    }
    chinese_number(s).or_else(|| tibetan_number(s))
}

fn is_chinese_numeral(c: char) -> bool {
    chinese_number(&c.to_string()).is_some() || matches!(c, '十' | '百' | '千' | '万' | '萬')
}

/// Drops a trailing tsheg or shad (and the spaces around them): "གསུམ།" is "གསུམ".
fn trim_tibetan_end(s: &str) -> &str {
    s.trim().trim_end_matches(['་', '།', '༎']).trim()
}

/// Words that may stand with a number of months: 3个月, ཟླ་བ་༣, ༣ ཟླ་བ, 3 months.
const MONTH_UNITS: &[&str] = &[
    "个月",
    "個月",
    "月",
    "months",
    "month",
    "ཟླ་བ་",
    "ཟླ་བ",
    "ཟླ་",
    "ཟླ",
];

/// Parses a number of months (1 to 120): "3", "3个月", "三个月", "ཟླ་བ་༣", "༣ ཟླ་བ", "ཟླ་བ་གསུམ".
pub fn parse_months(s: &str) -> Option<u32> {
    let s = normalize_digits(s);
    let s = trim_tibetan_end(&s);
    let number = strip_any_suffix(s, MONTH_UNITS);
    let number = strip_any_prefix(number, MONTH_UNITS);
    let n: u32 = whole_number(trim_tibetan_end(number))?.try_into().ok()?;
    (1..=120).contains(&n).then_some(n)
}

fn is_ascii_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Before the number: signs, and the Tibetan unit, which workers write first (སྒོར་མོ་༥༠༠༠).
const CURRENCY_PREFIXES: &[&str] = &["¥", "￥", "RMB", "CNY", "སྒོར་མོ་", "སྒོར་མོ", "སྒོར་", "སྒོར"];

/// "སྒོར་མོ" / "སྒོར" are Tibetan for yuan (a round coin).
const CURRENCY_SUFFIXES: &[&str] = &[
    "块钱",
    "塊錢",
    "元",
    "圆",
    "圓",
    "块",
    "塊",
    "RMB",
    "CNY",
    "yuan",
    "སྒོར་མོ་",
    "སྒོར་མོ",
    "སྒོར་",
    "སྒོར",
];

/// Magnitude suffixes as powers of ten. "w" is the common shorthand for 万; ཁྲི (ten
/// thousand), སྟོང (thousand) and འབུམ (hundred thousand) are the Tibetan words.
const MAGNITUDES: &[(&str, u32)] = &[
    ("千", 3),
    ("k", 3),
    ("万", 4),
    ("萬", 4),
    ("w", 4),
    ("འབུམ", 5),
    ("ཁྲི", 4),
    ("སྟོང་ཕྲག", 3),
    ("སྟོང", 3),
];

/// Reads an amount of money in whole yuan: "3000", "¥3,000", "3千元", "1.5万", "3k",
/// "RMB 3000", "3,000.00", "༣༠༠༠", "སྒོར་མོ་༥༠༠༠", "༥༠༠༠ སྒོར", "༣ ཁྲི" (30,000), "两千",
/// "三万五" (35,000)... Fractions of a yuan are dropped. Returns `None` for anything else,
/// including negatives and amounts that overflow.
pub fn parse_amount_yuan(s: &str) -> Option<u64> {
    let s = normalize_digits(s);
    let rest = trim_tibetan_end(&s);
    let rest = strip_any_prefix(rest, CURRENCY_PREFIXES);
    let rest = trim_tibetan_end(strip_any_suffix(rest, CURRENCY_SUFFIXES));
    let (number, zeros) = MAGNITUDES
        .iter()
        .find_map(|&(suffix, zeros)| Some((strip_suffix_ci(rest, suffix)?.trim_end(), zeros)))
        .unwrap_or((rest, 0));
    parse_scaled(trim_tibetan_end(number), zeros).or_else(|| {
        // Words: 两千, 三万五, ཁྲི་གསུམ; digits with Chinese units between them (3千5).
        let n = chinese_number(rest).or_else(|| tibetan_number(rest))?;
        (n > 0 || rest.contains(['零', '〇'])).then_some(n)
    })
}

/// Parses "1,234.56" and multiplies by 10^zeros, rounding down.
fn parse_scaled(s: &str, zeros: u32) -> Option<u64> {
    let (int_part, frac_part) = match s.split_once('.') {
        Some((int_part, frac_part)) => (int_part, Some(frac_part)),
        None => (s, None),
    };
    let mut value = parse_grouped(int_part)?.checked_mul(10u64.checked_pow(zeros)?)?;
    if let Some(frac) = frac_part {
        if !is_ascii_digits(frac) {
            return None;
        }
        // Only the first `zeros` decimals can reach whole yuan; pad short
        // fractions with zeros ("1.5万" -> 5000).
        let mut place = 10u64.pow(zeros);
        for b in frac.bytes().take(zeros as usize) {
            place /= 10;
            value = value.checked_add(u64::from(b - b'0') * place)?;
        }
    }
    Some(value)
}

/// Parses digits with optional thousands separators. Groups after a comma
/// must be exactly three digits so "3,5" is not silently read as 35.
fn parse_grouped(s: &str) -> Option<u64> {
    let mut groups = s.split([',', '，']);
    let first = groups.next()?;
    if !is_ascii_digits(first) {
        return None;
    }
    let mut digits = first.to_owned();
    for group in groups {
        if first.len() > 3 || group.len() != 3 || !is_ascii_digits(group) {
            return None;
        }
        digits.push_str(group);
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ways workers write money in Tibetan and Chinese (issue 9): unit before or after
    /// the number, Tibetan magnitude words, numbers in words.
    #[test]
    fn amounts_as_workers_write_them() {
        for (input, yuan) in [
            ("སྒོར་མོ་༥༠༠༠", 5000),
            ("སྒོར་ ༥༠༠༠", 5000),
            ("སྒོར༥༠༠༠", 5000),
            ("༥༠༠༠ སྒོར", 5000),
            ("༥༠༠༠སྒོར་མོ།", 5000),
            ("༣ ཁྲི", 30_000),
            ("༣ཁྲི་", 30_000),
            ("3 ཁྲི སྒོར", 30_000),
            ("༥ སྟོང", 5000),
            ("ཁྲི་གསུམ", 30_000),
            ("5000元", 5000),
            ("两千", 2000),
            ("两千元", 2000),
            ("三万五", 35_000),
            ("三千", 3000),
            ("3千5", 3500),
            ("一万二千元", 12_000),
        ] {
            assert_eq!(parse_amount_yuan(input), Some(yuan), "{input:?}");
        }
    }

    #[test]
    fn counts_and_months_as_workers_write_them() {
        for (input, n) in [
            ("三个", 3),
            ("三个人", 3),
            ("十二", 12),
            ("十二人", 12),
            ("五", 5),
            ("གསུམ", 3),
            ("བཅུ", 10),
            ("མི་ལྔ", 5),
            ("མི་༥", 5),
            ("༥ མི།", 5),
        ] {
            assert_eq!(parse_count(input), Some(n), "{input:?}");
        }
        for (input, n) in [
            ("3", 3),
            ("3个月", 3),
            ("三个月", 3),
            ("３个月", 3),
            ("ཟླ་བ་༣", 3),
            ("ཟླ་བ་ ༣", 3),
            ("༣ ཟླ་བ", 3),
            ("༣ཟླ་བ།", 3),
            ("ཟླ་བ་གསུམ", 3),
            ("12 months", 12),
            ("十二个月", 12),
        ] {
            assert_eq!(parse_months(input), Some(n), "{input:?}");
        }
        for input in ["0", "121", "ཟླ་བ", "月", "三三个月", "abc"] {
            assert_eq!(parse_months(input), None, "{input:?}");
        }
    }

    mod written_any_way {
        use super::*;
        use proptest::prelude::*;

        fn digits_in(n: u64, script: u8) -> String {
            let ascii = n.to_string();
            match script {
                0 => ascii,
                1 => ascii
                    .chars()
                    .map(|c| char::from_u32(0x0F20 + c.to_digit(10).unwrap()).unwrap())
                    .collect(),
                _ => ascii
                    .chars()
                    .map(|c| char::from_u32(0xFF10 + c.to_digit(10).unwrap()).unwrap())
                    .collect(),
            }
        }

        /// A unit around a number, the ways workers put it.
        fn with_unit(number: &str, unit: u8, space: bool) -> String {
            let sp = if space { " " } else { "" };
            match unit {
                0 => number.to_string(),
                1 => format!("{number}{sp}元"),
                2 => format!("{number}{sp}块"),
                3 => format!("¥{sp}{number}"),
                4 => format!("སྒོར་མོ་{sp}{number}"),
                5 => format!("སྒོར{sp}{number}"),
                6 => format!("{number}{sp}སྒོར"),
                7 => format!("{number}{sp}སྒོར་མོ།"),
                8 => format!("RMB{sp}{number}"),
                _ => format!("{number}{sp}yuan"),
            }
        }

        proptest! {
            #[test]
            fn any_amount_in_any_digits_with_any_unit(n in 1u64..100_000_000, script in 0u8..3, unit in 0u8..10, space: bool) {
                let text = with_unit(&digits_in(n, script), unit, space);
                prop_assert_eq!(parse_amount_yuan(&text), Some(n), "{}", text);
            }

            #[test]
            fn any_amount_in_ten_thousands(n in 1u64..10_000, script in 0u8..3, tibetan: bool, space: bool) {
                let sp = if space { " " } else { "" };
                let word = if tibetan { "ཁྲི" } else { "万" };
                let text = format!("{}{sp}{word}", digits_in(n, script));
                prop_assert_eq!(parse_amount_yuan(&text), Some(n * 10_000), "{}", text);
            }

            #[test]
            fn any_count_in_any_digits(n in 1u32..10_000, script in 0u8..3, unit in 0u8..4) {
                let d = digits_in(n as u64, script);
                let text = match unit { 0 => d, 1 => format!("{d}人"), 2 => format!("{d} མི"), _ => format!("མི་{d}") };
                prop_assert_eq!(parse_count(&text), Some(n), "{}", text);
            }

            #[test]
            fn any_month_count_in_any_digits(n in 1u32..=120, script in 0u8..3, unit in 0u8..4) {
                let d = digits_in(n as u64, script);
                let text = match unit { 0 => d, 1 => format!("{d}个月"), 2 => format!("ཟླ་བ་{d}"), _ => format!("{d} ཟླ་བ") };
                prop_assert_eq!(parse_months(&text), Some(n), "{}", text);
            }
        }
    }

    #[test]
    fn amounts_read_with_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(800), "800");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(48_000), "48,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(-5_000), "-5,000");
        assert_eq!(thousands(-12345), "-12,345");
    }

    #[test]
    fn tibetan_and_fullwidth_digits_become_ascii() {
        assert_eq!(normalize_digits("༠༡༢༣༤༥༦༧༨༩"), "0123456789");
        assert_eq!(normalize_digits("０１２３４５６７８９"), "0123456789");
        assert_eq!(normalize_digits("P༡２3 ཀ"), "P123 ཀ");
        assert_eq!(normalize_digits(""), "");
    }

    #[test]
    fn ascii_digits_written_in_tibetan() {
        assert_eq!(tibetan_digits("2026-12-04"), "༢༠༢༦-༡༢-༠༤");
        assert_eq!(tibetan_digits("30000"), "༣༠༠༠༠");
        assert_eq!(
            normalize_digits(&tibetan_digits("0123456789")),
            "0123456789"
        );
    }

    #[test]
    fn tibetan_half_digits_are_untouched() {
        let halves: String = ('\u{0F2A}'..='\u{0F33}').collect();
        assert_eq!(normalize_digits(&halves), halves);
    }

    #[test]
    fn counts() {
        for input in [
            "5",
            " 5 ",
            "5人",
            "5 人",
            "5个",
            "5个人",
            "5名",
            "5 people",
            "5 People",
            "5ppl",
            "５人",
            "༥",
            "༥ མི",
            "\u{3000}5\u{3000}",
        ] {
            assert_eq!(parse_count(input), Some(5), "{input:?}");
        }
        assert_eq!(parse_count("12"), Some(12));
        assert_eq!(parse_count("0"), Some(0));
        assert_eq!(parse_count("4294967295"), Some(u32::MAX));
    }

    #[test]
    fn counts_rejected() {
        for input in [
            "",
            " ",
            "人",
            "-5",
            "+5",
            "5.5",
            "1,000",
            "abc",
            "5 apples",
            "4294967296",
            "5 5",
            "\u{0F2E}",
        ] {
            assert_eq!(parse_count(input), None, "{input:?}");
        }
    }

    #[test]
    fn amounts_of_three_thousand() {
        for input in [
            "3000",
            "3000元",
            "¥3,000",
            "￥3000",
            "3千",
            "3千元",
            "3k",
            "3K",
            "３０００",
            "༣༠༠༠",
            "3000块",
            "3000块钱",
            "RMB 3000",
            "rmb3000",
            "3000 RMB",
            "3,000.00",
            "3000.99",
            " ¥ 3000 元 ",
            "3000 yuan",
            "༣༠༠༠ སྒོར་མོ",
            "３，０００",
        ] {
            assert_eq!(parse_amount_yuan(input), Some(3000), "{input:?}");
        }
    }

    #[test]
    fn amounts_with_magnitudes() {
        assert_eq!(parse_amount_yuan("3万"), Some(30_000));
        assert_eq!(parse_amount_yuan("1.5万"), Some(15_000));
        assert_eq!(parse_amount_yuan("1.5万元"), Some(15_000));
        assert_eq!(parse_amount_yuan("2w"), Some(20_000));
        assert_eq!(parse_amount_yuan("0.5k"), Some(500));
        assert_eq!(parse_amount_yuan("2.345k"), Some(2_345));
        // Decimals beyond whole yuan are dropped, not rounded up.
        assert_eq!(parse_amount_yuan("1.23456万"), Some(12_345));
        assert_eq!(parse_amount_yuan("1,200.5k"), Some(1_200_500));
        assert_eq!(parse_amount_yuan("0"), Some(0));
    }

    #[test]
    fn amounts_rejected() {
        for input in [
            "",
            "  ",
            "元",
            "¥",
            "-3000",
            "¥-3000",
            "−3000",
            "abc",
            "3000abc",
            "3,00",
            "30,00",
            "3000,000",
            ",300",
            "3.",
            ".5",
            "3..0",
            "3.0.0",
            "3 000",
            "k",
            "18446744073709551616",
            "18446744073709551615万",
            "\u{0F2C}000",
            "སྒོར",
            "三三",
            "ཀཁ",
        ] {
            assert_eq!(parse_amount_yuan(input), None, "{input:?}");
        }
        assert_eq!(parse_amount_yuan("18446744073709551615"), Some(u64::MAX));
    }
}
