//! Digits and numbers as workers type them: Tibetan and full-width digits,
//! Chinese magnitude suffixes and currency marks.

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

/// Parses a head count such as "5", " 12人 ", "5 people" or "༥".
/// Only plain whole numbers: no sign, no decimals, no thousands separators.
pub fn parse_count(s: &str) -> Option<u32> {
    let s = normalize_digits(s);
    let number = strip_any_suffix(s.trim(), COUNT_UNITS);
    if !is_ascii_digits(number) {
        return None;
    }
    number.parse().ok()
}

fn is_ascii_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

const CURRENCY_PREFIXES: &[&str] = &["¥", "￥", "RMB", "CNY"];

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

/// Magnitude suffixes as powers of ten. "w" is the common shorthand for 万.
const MAGNITUDES: &[(&str, u32)] = &[("千", 3), ("k", 3), ("万", 4), ("萬", 4), ("w", 4)];

/// Reads an amount of money in whole yuan: "3000", "¥3,000", "3千元",
/// "1.5万", "3k", "RMB 3000", "3,000.00", "༣༠༠༠"... Fractions of a yuan are
/// dropped. Returns `None` for anything else, including negatives and
/// amounts that overflow.
pub fn parse_amount_yuan(s: &str) -> Option<u64> {
    let s = normalize_digits(s);
    let rest = strip_any_prefix(s.trim(), CURRENCY_PREFIXES);
    let rest = strip_any_suffix(rest, CURRENCY_SUFFIXES);
    let (number, zeros) = MAGNITUDES
        .iter()
        .find_map(|&(suffix, zeros)| Some((strip_suffix_ci(rest, suffix)?.trim_end(), zeros)))
        .unwrap_or((rest, 0));
    parse_scaled(number, zeros)
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
            "五",
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
            "3千5",
            "三千",
            "3 000",
            "k",
            "18446744073709551616",
            "18446744073709551615万",
            "\u{0F2C}000",
        ] {
            assert_eq!(parse_amount_yuan(input), None, "{input:?}");
        }
        assert_eq!(parse_amount_yuan("18446744073709551615"), Some(u64::MAX));
    }
}
