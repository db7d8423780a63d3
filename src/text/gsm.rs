//! SMS length rules (3GPP TS 23.038, formerly GSM 03.38).
//!
//! A text goes out as GSM-7 if every character is in the default alphabet or
//! its extension table, otherwise as UCS-2 (really UTF-16). Concatenated
//! messages lose room to the user data header, so parts are smaller than a
//! single SMS.

use std::ops::Range;

/// How a message is encoded on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// GSM 03.38 7-bit default alphabet plus its extension table.
    Gsm7,
    /// UCS-2 / UTF-16, needed for anything outside the GSM alphabet.
    Ucs2,
}

impl Encoding {
    pub fn as_str(&self) -> &'static str {
        match self {
            Encoding::Gsm7 => "gsm7",
            Encoding::Ucs2 => "ucs2",
        }
    }

    /// Units that fit in a message sent as a single SMS.
    fn single_capacity(self) -> usize {
        match self {
            Encoding::Gsm7 => 160,
            Encoding::Ucs2 => 70,
        }
    }

    /// Units per part of a concatenated SMS (the 6-octet UDH takes the rest).
    fn part_capacity(self) -> usize {
        match self {
            Encoding::Gsm7 => 153,
            Encoding::Ucs2 => 67,
        }
    }
}

/// Size of a text as an SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsSize {
    pub encoding: Encoding,
    /// Septets for GSM-7 (extension characters count 2), UTF-16 code units
    /// for UCS-2.
    pub units: usize,
    /// Number of SMS parts; at least 1, even for an empty text.
    pub segments: usize,
    /// Capacity of one part given `segments`: 160/153 or 70/67.
    pub per_segment: usize,
}

/// Septets a character takes in GSM-7, or `None` if it is not encodable.
fn gsm7_septets(c: char) -> Option<usize> {
    match c {
        // Extension table: sent as ESC + code, so two septets.
        '\u{0C}' | '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '€' => Some(2),
        // The only printable ASCII character missing from the alphabet.
        '`' => None,
        '\n' | '\r' | ' '..='~' => Some(1),
        // Non-ASCII part of the default alphabet.
        '£' | '¥' | 'è' | 'é' | 'ù' | 'ì' | 'ò' | 'Ç' | 'Ø' | 'ø' | 'Å' | 'å' | 'Δ' | 'Φ' | 'Γ'
        | 'Λ' | 'Ω' | 'Π' | 'Ψ' | 'Σ' | 'Θ' | 'Ξ' | 'Æ' | 'æ' | 'ß' | 'É' | '¤' | '¡' | 'Ä'
        | 'Ö' | 'Ñ' | 'Ü' | '§' | '¿' | 'ä' | 'ö' | 'ñ' | 'ü' | 'à' => Some(1),
        _ => None,
    }
}

/// Total septets if the whole text is GSM-7 encodable.
fn gsm7_units(text: &str) -> Option<usize> {
    text.chars().map(gsm7_septets).sum()
}

/// The longest reply an inspector may send from the console: 5 UCS-2 segments (5 × 67).
pub const MAX_REPLY_CHARS: usize = 335;

/// True if the text can be sent in the GSM 03.38 alphabet (with extensions).
pub fn is_gsm7(text: &str) -> bool {
    gsm7_units(text).is_some()
}

fn measure(text: &str) -> (Encoding, usize) {
    match gsm7_units(text) {
        Some(units) => (Encoding::Gsm7, units),
        None => (Encoding::Ucs2, text.encode_utf16().count()),
    }
}

fn char_units(c: char, encoding: Encoding) -> usize {
    match encoding {
        // Only called for texts already known to be GSM-7.
        Encoding::Gsm7 => gsm7_septets(c).unwrap_or(1),
        Encoding::Ucs2 => c.len_utf16(),
    }
}

/// Byte ranges of the parts of a concatenated message. Parts are filled
/// greedily, and a character never straddles two parts: phones and gateways
/// move an escaped GSM character or a surrogate pair to the next part, which
/// can add a part compared to plain division.
fn part_ranges(text: &str, encoding: Encoding) -> Vec<Range<usize>> {
    let capacity = encoding.part_capacity();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, c) in text.char_indices() {
        let width = char_units(c, encoding);
        if used + width > capacity {
            parts.push(start..i);
            start = i;
            used = 0;
        }
        used += width;
    }
    if start < text.len() || parts.is_empty() {
        parts.push(start..text.len());
    }
    parts
}

/// Encoding, length and number of parts of a text sent as SMS.
pub fn sms_size(text: &str) -> SmsSize {
    let (encoding, units) = measure(text);
    let segments = if units <= encoding.single_capacity() {
        1
    } else {
        part_ranges(text, encoding).len()
    };
    let per_segment = if segments == 1 {
        encoding.single_capacity()
    } else {
        encoding.part_capacity()
    };
    SmsSize {
        encoding,
        units,
        segments,
        per_segment,
    }
}

/// The parts a text is cut into, by the same rules as [`sms_size`], so
/// `split_segments(t).len() == sms_size(t).segments` (an empty text gives one
/// empty part). Parts are cut at character boundaries only, not at words or
/// Tibetan syllables.
pub fn split_segments(text: &str) -> Vec<String> {
    let (encoding, units) = measure(text);
    if units <= encoding.single_capacity() {
        return vec![text.to_owned()];
    }
    part_ranges(text, encoding)
        .into_iter()
        .filter_map(|range| text.get(range).map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(text: &str) -> (Encoding, usize, usize, usize) {
        let s = sms_size(text);
        (s.encoding, s.units, s.segments, s.per_segment)
    }

    #[test]
    fn encoding_names() {
        assert_eq!(Encoding::Gsm7.as_str(), "gsm7");
        assert_eq!(Encoding::Ucs2.as_str(), "ucs2");
    }

    #[test]
    fn gsm7_alphabet_membership() {
        assert!(is_gsm7(
            "Hello @£$¥ èéùìòÇØøÅå_ ΔΦΓΛΩΠΨΣΘΞ ÆæßÉ ¤¡ÄÖÑÜ§¿äöñüà\r\n"
        ));
        assert!(is_gsm7("{}[]~|^\\€\u{0C}"));
        assert!(is_gsm7(""));
        assert!(!is_gsm7("`"));
        assert!(!is_gsm7("\t"));
        // Only capital C-cedilla is in the alphabet, and not every accent is.
        assert!(!is_gsm7("ç"));
        assert!(!is_gsm7("á"));
        assert!(!is_gsm7("中"));
        assert!(!is_gsm7("ཀ"));
    }

    #[test]
    fn gsm7_single_and_concatenated_boundaries() {
        assert_eq!(size(&"a".repeat(160)), (Encoding::Gsm7, 160, 1, 160));
        assert_eq!(size(&"a".repeat(161)), (Encoding::Gsm7, 161, 2, 153));
        assert_eq!(size(&"a".repeat(306)), (Encoding::Gsm7, 306, 2, 153));
        assert_eq!(size(&"a".repeat(307)), (Encoding::Gsm7, 307, 3, 153));
    }

    #[test]
    fn gsm7_extension_counts_two() {
        assert_eq!(size("€"), (Encoding::Gsm7, 2, 1, 160));
        assert_eq!(size(&"€".repeat(80)), (Encoding::Gsm7, 160, 1, 160));
        // 159 plain + one escaped char no longer fits one SMS.
        let text = format!("{}€", "a".repeat(159));
        assert_eq!(size(&text), (Encoding::Gsm7, 161, 2, 153));
    }

    #[test]
    fn gsm7_extension_not_split_across_parts() {
        // 306 septets would be 2 parts by division, but the euro cannot sit
        // on septets 153/154, so it moves and a third part is needed.
        let text = format!("{}€{}", "a".repeat(152), "b".repeat(152));
        assert_eq!(size(&text), (Encoding::Gsm7, 306, 3, 153));
        let parts = split_segments(&text);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "a".repeat(152));
        assert!(parts[1].starts_with('€'));
        assert_eq!(parts[2], "b");
    }

    #[test]
    fn ucs2_chinese_boundaries() {
        assert_eq!(size(&"中".repeat(70)), (Encoding::Ucs2, 70, 1, 70));
        assert_eq!(size(&"中".repeat(71)), (Encoding::Ucs2, 71, 2, 67));
        assert_eq!(size(&"中".repeat(134)), (Encoding::Ucs2, 134, 2, 67));
        assert_eq!(size(&"中".repeat(135)), (Encoding::Ucs2, 135, 3, 67));
    }

    #[test]
    fn tibetan_sentence() {
        // "Tashi delek. I need work." — 32 code points, all in the BMP.
        let text = "བཀྲ་ཤིས་བདེ་ལེགས། ང་ལ་ལས་ཀ་དགོས།";
        assert_eq!(size(text), (Encoding::Ucs2, 32, 1, 70));
        // Three times that (with separating spaces) needs two parts.
        let long = [text, text, text].join(" ");
        assert_eq!(size(&long), (Encoding::Ucs2, 98, 2, 67));
        assert_eq!(split_segments(&long).concat(), long);
    }

    #[test]
    fn emoji_counts_two_units() {
        assert_eq!(size("😀"), (Encoding::Ucs2, 2, 1, 70));
        assert_eq!(size("hi 😀"), (Encoding::Ucs2, 5, 1, 70));
    }

    #[test]
    fn surrogate_pair_not_split_across_parts() {
        let text = format!("{}😀{}", "中".repeat(66), "中".repeat(66));
        assert_eq!(size(&text), (Encoding::Ucs2, 134, 3, 67));
        let parts = split_segments(&text);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "中".repeat(66));
        assert!(parts[1].starts_with('😀'));
        assert_eq!(parts[1].encode_utf16().count(), 67);
    }

    #[test]
    fn one_chinese_char_switches_to_ucs2() {
        assert_eq!(size(&"a".repeat(100)), (Encoding::Gsm7, 100, 1, 160));
        let text = format!("{}中", "a".repeat(100));
        assert_eq!(size(&text), (Encoding::Ucs2, 101, 2, 67));
    }

    #[test]
    fn empty_text_is_one_empty_segment() {
        assert_eq!(size(""), (Encoding::Gsm7, 0, 1, 160));
        assert_eq!(split_segments(""), vec![String::new()]);
    }

    #[test]
    fn split_matches_size_and_round_trips() {
        let samples = [
            "short".to_owned(),
            "x".repeat(161),
            "y".repeat(459),
            "中".repeat(200),
            format!("{}€{}", "a".repeat(300), "[]".repeat(40)),
        ];
        for text in &samples {
            let parts = split_segments(text);
            let s = sms_size(text);
            assert_eq!(parts.len(), s.segments, "{text}");
            assert_eq!(parts.concat(), *text);
            for part in &parts {
                assert!(sms_size(part).units <= s.per_segment);
            }
        }
    }
}
