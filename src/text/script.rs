//! Guessing which script a message is written in, to pick the reply language.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Tibetan,
    Chinese,
    Latin,
    Unknown,
}

fn is_tibetan_letter(c: char) -> bool {
    // Consonants, subjoined consonants and vowel signs are all Alphabetic;
    // the tsheg, shad, digits and symbols in the block are not.
    matches!(c, '\u{0F00}'..='\u{0FFF}') && c.is_alphabetic()
}

fn is_han(c: char) -> bool {
    matches!(
        c,
        '\u{4E00}'..='\u{9FFF}'        // CJK Unified Ideographs
            | '\u{3400}'..='\u{4DBF}'  // Extension A
            | '\u{F900}'..='\u{FAFF}'  // Compatibility Ideographs
            | '\u{20000}'..='\u{323AF}' // Extensions B and later, supplementary compatibility
    )
}

fn is_latin_letter(c: char) -> bool {
    c.is_ascii_alphabetic()
        // Latin-1 Supplement letters through Latin Extended-B (× and ÷ are
        // not alphabetic), and Latin Extended Additional.
        || (matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}') && c.is_alphabetic())
        // Full-width Latin letters from Chinese input methods.
        || matches!(c, '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}')
}

/// The script with the most letters. On a tie Tibetan beats Chinese and
/// Chinese beats Latin, since a mixed message from this region is more likely
/// to want the local language. Text with no letters of these scripts
/// (digits, punctuation, emoji, other alphabets) is `Unknown`.
pub fn detect_script(s: &str) -> Script {
    let (mut tibetan, mut chinese, mut latin) = (0usize, 0usize, 0usize);
    for c in s.chars() {
        if is_tibetan_letter(c) {
            tibetan += 1;
        } else if is_han(c) {
            chinese += 1;
        } else if is_latin_letter(c) {
            latin += 1;
        }
    }
    let best = tibetan.max(chinese).max(latin);
    if best == 0 {
        Script::Unknown
    } else if tibetan == best {
        Script::Tibetan
    } else if chinese == best {
        Script::Chinese
    } else {
        Script::Latin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_scripts() {
        assert_eq!(detect_script("བཀྲ་ཤིས་བདེ་ལེགས།"), Script::Tibetan);
        assert_eq!(detect_script("我要投诉，老板不给工资。"), Script::Chinese);
        assert_eq!(detect_script("help me please"), Script::Latin);
        assert_eq!(detect_script("Café crème"), Script::Latin);
        assert_eq!(detect_script("ＳＴＯＰ"), Script::Latin);
    }

    #[test]
    fn cjk_extension_a_and_compatibility_are_chinese() {
        assert_eq!(detect_script("㐀"), Script::Chinese);
        assert_eq!(detect_script("豈"), Script::Chinese);
        assert_eq!(detect_script("𠀀"), Script::Chinese);
    }

    #[test]
    fn digits_and_punctuation_alone_are_unknown() {
        assert_eq!(detect_script(""), Script::Unknown);
        assert_eq!(detect_script("123 !?"), Script::Unknown);
        assert_eq!(detect_script("１２３"), Script::Unknown);
        assert_eq!(detect_script("，。！？、"), Script::Unknown);
        assert_eq!(detect_script("༣༠༠༠ ། ་"), Script::Unknown);
        assert_eq!(detect_script("😀 × ÷"), Script::Unknown);
        assert_eq!(detect_script("Привет"), Script::Unknown);
    }

    #[test]
    fn majority_wins() {
        assert_eq!(detect_script("QX P123 我要"), Script::Latin);
        assert_eq!(detect_script("QX P123 我要工作"), Script::Chinese);
        assert_eq!(detect_script("ང་ལ་ལས་ཀ་དགོས། 工作"), Script::Tibetan);
        assert_eq!(detect_script("ཀ 工作"), Script::Chinese);
    }

    #[test]
    fn ties() {
        assert_eq!(detect_script("ཀ中"), Script::Tibetan);
        assert_eq!(detect_script("中ཀ"), Script::Tibetan);
        assert_eq!(detect_script("a中"), Script::Chinese);
        assert_eq!(detect_script("aཀ"), Script::Tibetan);
    }
}
