//! Case references workers type back on a keypad: `Q` and six digits, the last a Damm check
//! digit, so a single mistyped digit or two swapped neighbours are caught instead of answering
//! about somebody else's case.

use crate::text::normalize_digits;

const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

fn damm(digits: &str) -> u8 {
    digits
        .bytes()
        .fold(0, |interim, d| DAMM[interim as usize][(d - b'0') as usize])
}

/// A reference from a five-digit serial.
pub fn make(serial: u32) -> String {
    let body = format!("{:05}", serial % 100_000);
    format!("Q{body}{}", damm(&body))
}

/// Reads what a worker typed ("q12345 6", "１２３４５６", Tibetan digits, with or without
/// the Q) into the canonical reference, or None if the check digit is wrong.
pub fn parse(input: &str) -> Option<String> {
    let digits: String = normalize_digits(input)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let digits = digits
        .strip_prefix('Q')
        .or_else(|| digits.strip_prefix('q'))
        .or_else(|| digits.strip_prefix('Ｑ'))
        .or_else(|| digits.strip_prefix('ｑ'))
        .unwrap_or(&digits);
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    (damm(digits) == 0).then(|| format!("Q{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip_in_any_script() {
        let r = make(12345);
        assert_eq!(r.len(), 7);
        assert_eq!(parse(&r).as_deref(), Some(r.as_str()));
        assert_eq!(parse(&r.to_lowercase()).as_deref(), Some(r.as_str()));
        let digits = &r[1..];
        assert_eq!(parse(digits).as_deref(), Some(r.as_str()));
        let fullwidth: String = digits
            .chars()
            .map(|c| char::from_u32(c as u32 - 0x30 + 0xFF10).unwrap())
            .collect();
        assert_eq!(parse(&fullwidth).as_deref(), Some(r.as_str()));
        let tibetan: String = digits
            .chars()
            .map(|c| char::from_u32(c as u32 - 0x30 + 0x0F20).unwrap())
            .collect();
        assert_eq!(parse(&format!("Q {tibetan}")).as_deref(), Some(r.as_str()));
    }

    #[test]
    fn typos_are_caught() {
        for serial in [0, 1, 12345, 99999, 40404] {
            let r = make(serial);
            let d: Vec<u8> = r[1..].bytes().collect();
            for i in 0..6 {
                for wrong in b'0'..=b'9' {
                    if wrong == d[i] {
                        continue;
                    }
                    let mut t = d.clone();
                    t[i] = wrong;
                    assert_eq!(
                        parse(std::str::from_utf8(&t).unwrap()),
                        None,
                        "{r} with digit {i} changed"
                    );
                }
                if i < 5 && d[i] != d[i + 1] {
                    let mut t = d.clone();
                    t.swap(i, i + 1);
                    assert_eq!(
                        parse(std::str::from_utf8(&t).unwrap()),
                        None,
                        "{r} with {i} swapped"
                    );
                }
            }
        }
        assert_eq!(parse("Q1234"), None);
        assert_eq!(parse("hello"), None);
    }
}
