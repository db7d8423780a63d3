//! Normalising an incoming message so the router can compare it with keyword
//! lists ("STOP", "退订", "མཚམས་འཇོག", ...) however it was typed.

use super::digits::normalize_digits;

/// Maps full-width ASCII (U+FF01–U+FF5E, typed by Chinese input methods) to
/// ASCII and the ideographic space to a plain space.
pub(crate) fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Invisible characters that copy-paste and some keyboards slip in.
fn is_zero_width(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

/// Punctuation stripped from either end of the text.
fn is_edge_punct(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            // 、。〃, CJK brackets 〈〉《》「」『』【】, 〔〕〖〗〘〙〚〛〜〝〞〟
            '\u{3001}'..='\u{3003}'
                | '\u{3008}'..='\u{3011}'
                | '\u{3014}'..='\u{301F}'
                // Curly quotes, ellipsis, middle dots.
                | '\u{2018}'..='\u{201F}'
                | '\u{2026}'
                | '\u{00B7}'
                | '\u{30FB}'
                // Half-width CJK punctuation ｡｢｣､･
                | '\u{FF61}'..='\u{FF65}'
        )
}

/// Tibetan tsheg, tsheg bstar and the shad family (U+0F0B–U+0F12). A word
/// may be written with or without a final tsheg or shad, so these go at the
/// end of a word; at the start they would be part of the text.
fn is_tibetan_end_mark(c: char) -> bool {
    matches!(c, '\u{0F0B}'..='\u{0F12}')
}

/// Normalises a message for keyword matching: full-width ASCII folded,
/// Tibetan and full-width digits made ASCII, zero-width characters removed,
/// whitespace trimmed and collapsed, ASCII letters uppercased, punctuation
/// stripped from both ends (Tibetan tsheg/shad from the end of every word).
/// A text that is only question marks (and other punctuation) becomes "?".
pub fn normalize_keyword(s: &str) -> String {
    let folded: String = s
        .chars()
        .filter(|&c| !is_zero_width(c))
        .map(fold_width)
        .collect();
    let folded = normalize_digits(&folded);
    // Trimming tsheg/shad per word, not only at the very end, so that
    // "རོགས་རམ་ P123" still yields the keyword "རོགས་རམ" from first_word.
    let mut text = folded
        .split_whitespace()
        .map(|word| word.trim_end_matches(is_tibetan_end_mark))
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    text.make_ascii_uppercase();
    let stripped = text
        .trim_start_matches(|c| c == ' ' || is_edge_punct(c))
        .trim_end_matches(|c| c == ' ' || is_edge_punct(c) || is_tibetan_end_mark(c));
    if stripped.is_empty() && text.contains('?') {
        // A bare "?" is a request for help, not noise.
        return "?".to_owned();
    }
    stripped.to_owned()
}

/// Splits a normalised text at the first space into (first word, rest).
/// Either part may be empty.
pub fn first_word(s: &str) -> (&str, &str) {
    let s = s.trim();
    match s.split_once(char::is_whitespace) {
        Some((first, rest)) => (first, rest.trim_start()),
        None => (s, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(normalize_keyword(input), expected, "input {input:?}");
    }

    #[test]
    fn latin_keywords() {
        check("ｓｔｏｐ", "STOP");
        check(" help! ", "HELP");
        check("Ｔ", "T");
        check("stop", "STOP");
        check("Help me.", "HELP ME");
        check("\"join\"", "JOIN");
        check("help !", "HELP");
        check("\u{3000}ｈｅｌｐ\u{3000}", "HELP");
    }

    #[test]
    fn question_mark_alone_is_kept() {
        check("？", "?");
        check("?", "?");
        check(" ? ", "?");
        check("??", "?");
        check("help?", "HELP");
        check("!", "");
        check("", "");
        check("   ", "");
    }

    #[test]
    fn chinese_punctuation() {
        check("退订。", "退订");
        check("退订！", "退订");
        check("“退订”", "退订");
        check("【帮助】", "帮助");
        check("、退订，", "退订");
    }

    #[test]
    fn tibetan_final_tsheg_and_shad() {
        check("མཚམས་འཇོག་", "མཚམས་འཇོག");
        check("རོགས་རམ་", "རོགས་རམ");
        check("རོགས་རམ།", "རོགས་རམ");
        check("རོགས་རམ་།", "རོགས་རམ");
        check("རོགས་རམ༎", "རོགས་རམ");
        check("རོགས་རམ", "རོགས་རམ");
        check(" རོགས་རམ་! ", "རོགས་རམ");
        // Inner tsheg is part of the spelling; a leading one is not stripped.
        check("་ཀ", "་ཀ");
        // Per word, so the router sees the same first word with arguments.
        check("རོགས་རམ་ p123", "རོགས་རམ P123");
        check("རོགས་རམ། ༥", "རོགས་རམ 5");
    }

    #[test]
    fn digits_whitespace_and_zero_width() {
        check("qx  P123   5 3000", "QX P123 5 3000");
        check("qx\tp123\n５ ༣༠༠༠", "QX P123 5 3000");
        check("S\u{200B}TOP", "STOP");
        check("\u{FEFF}help\u{200D}", "HELP");
        // Internal punctuation stays; only the ends are stripped.
        check("qx,p123,5", "QX,P123,5");
        // Only ASCII letters change case.
        check("café", "CAFé");
    }

    #[test]
    fn first_word_splits_once() {
        assert_eq!(first_word("QX P123 5 3000"), ("QX", "P123 5 3000"));
        assert_eq!(first_word("STOP"), ("STOP", ""));
        assert_eq!(first_word(""), ("", ""));
        assert_eq!(first_word("རོགས་རམ P123"), ("རོགས་རམ", "P123"));
        assert_eq!(first_word(" A  B "), ("A", "B"));
    }

    #[test]
    fn fold_width_maps_range_ends() {
        assert_eq!(fold_width('！'), '!');
        assert_eq!(fold_width('～'), '~');
        assert_eq!(fold_width('\u{3000}'), ' ');
        assert_eq!(fold_width('中'), '中');
    }
}
