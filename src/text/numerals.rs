//! Numbers written in words, the way workers write them when they do not use digits: Chinese
//! numerals (三, 十二, 两千, 一百零五, 三万五 = 35,000) and Tibetan number words (གསུམ 3,
//! བཅུ 10, བཅུ་གཉིས 12, ཉི་ཤུ་རྩ་ལྔ 25), and Tibetan magnitude words after digits (༣ ཁྲི =
//! 30,000). The Tibetan words await a native speaker's review (README, open questions).

/// A number in Chinese numerals, or None. Accepts the everyday forms: 三, 十, 十二, 二十,
/// 一百零五, 两千, 三千五百, 三万五 (a trailing digit after a unit is one tenth of it:
/// 35,000), 1万2 (12,000), 2千 (2,000) and the financial forms 壹贰叁….
pub fn chinese_number(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total: u64 = 0; // whole 万 groups already closed
    let mut section: u64 = 0; // below 万
    let mut digit: Option<u64> = None; // the digit waiting for its unit
    let mut last_unit: u64 = 0; // the unit just used, for 三万五 / 两千五
    let mut ascii = String::new(); // ASCII digits read as one number (1万2)
    let mut saw_any = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if digit.is_some() {
                return None;
            }
            ascii.push(c);
            continue;
        }
        if !ascii.is_empty() {
            digit = Some(ascii.parse().ok()?);
            ascii.clear();
        }
        if c == '零' || c == '〇' {
            // A gap (一百零五): no digit of its own.
            if digit.is_some() {
                return None;
            }
            saw_any = true;
            continue;
        }
        if let Some(d) = chinese_digit(c) {
            if digit.is_some() {
                return None; // 三三
            }
            digit = Some(d);
            saw_any = true;
            continue;
        }
        let unit = chinese_unit(c)?;
        saw_any = true;
        match unit {
            10 | 100 | 1000 => {
                // 十 alone means 一十.
                let d = digit.take().unwrap_or(1);
                section = section.checked_add(d.checked_mul(unit)?)?;
                last_unit = unit;
            }
            _ => {
                // 万, 亿: close the section below it.
                let d = digit.take().unwrap_or(0);
                let group = section.checked_add(d)?;
                if group == 0 {
                    return None; // 万 with nothing before it
                }
                total = total.checked_add(group)?.checked_mul(unit)?;
                section = 0;
                last_unit = unit;
            }
        }
    }
    if !ascii.is_empty() {
        if digit.is_some() {
            return None;
        }
        digit = Some(ascii.parse().ok()?);
        saw_any = true;
    }
    if !saw_any {
        return None;
    }
    let tail = match digit {
        // 三万五, 两千五: the trailing digit counts in the next unit down.
        Some(d) if last_unit >= 100 && d < 10 && !s.contains(['零', '〇']) => {
            d.checked_mul(last_unit / 10)?
        }
        Some(d) => d,
        None => 0,
    };
    total.checked_add(section)?.checked_add(tail)
}

fn chinese_digit(c: char) -> Option<u64> {
    Some(match c {
        '一' | '壹' | '幺' => 1,
        '二' | '两' | '兩' | '贰' | '貳' => 2,
        '三' | '叁' | '參' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' | '陸' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

fn chinese_unit(c: char) -> Option<u64> {
    Some(match c {
        '十' | '拾' => 10,
        '百' | '佰' => 100,
        '千' | '仟' => 1000,
        '万' | '萬' => 10_000,
        '亿' | '億' => 100_000_000,
        _ => return None,
    })
}

/// Tibetan words for one to nine.
const TIBETAN_UNITS: &[(&str, u64)] = &[
    ("གཅིག", 1),
    ("གཉིས", 2),
    ("གསུམ", 3),
    ("བཞི", 4),
    ("ལྔ", 5),
    ("དྲུག", 6),
    ("བདུན", 7),
    ("བརྒྱད", 8),
    ("དགུ", 9),
];

/// Tibetan tens, each with the connector syllable that joins a unit to it (ཉི་ཤུ་རྩ་ལྔ = 25).
const TIBETAN_TENS: &[(&str, u64, &str)] = &[
    ("ཉི་ཤུ", 20, "རྩ"),
    ("སུམ་ཅུ", 30, "སོ"),
    ("བཞི་བཅུ", 40, "ཞེ"),
    ("ལྔ་བཅུ", 50, "ང"),
    ("དྲུག་ཅུ", 60, "རེ"),
    ("བདུན་ཅུ", 70, "དོན"),
    ("བརྒྱད་ཅུ", 80, "གྱ"),
    ("དགུ་བཅུ", 90, "གོ"),
];

/// Ten to nineteen, with the spoken forms of 15 and 18.
const TIBETAN_TEENS: &[(&str, u64)] = &[("བཅོ་ལྔ", 15), ("བཅོ་བརྒྱད", 18), ("བཅུ", 10)];

/// Tibetan magnitude words and their value (ཕྲག, "-fold", may follow: སྟོང་ཕྲག).
pub(crate) const TIBETAN_MAGNITUDES: &[(&str, u64)] =
    &[("འབུམ", 100_000), ("ཁྲི", 10_000), ("སྟོང", 1_000), ("བརྒྱ", 100)];

/// Splits Tibetan text into syllables (tsheg- or space-separated, shad and spaces dropped).
fn syllables(s: &str) -> Vec<&str> {
    s.split(['་', '།', ' ', '\u{3000}', '༌'])
        .filter(|x| !x.is_empty())
        .collect()
}

/// A number in Tibetan words from one to ninety-nine (གསུམ, བཅུ་གཉིས, ཉི་ཤུ, ཉི་ཤུ་རྩ་ལྔ,
/// ཐམ་པ "exactly" allowed after a round number), optionally after a magnitude word
/// (ཁྲི་གསུམ = 30,000, སྟོང་ཕྲག་ལྔ = 5,000). None for anything else.
pub fn tibetan_number(s: &str) -> Option<u64> {
    let mut syl = syllables(s);
    if syl.last() == Some(&"པ") && syl.len() >= 2 && syl[syl.len() - 2] == "ཐམ" {
        syl.truncate(syl.len() - 2);
    }
    if syl.is_empty() {
        return None;
    }
    // ཁྲི་གསུམ: magnitude, then how many.
    if let Some(&(_, m)) = TIBETAN_MAGNITUDES.iter().find(|(w, _)| *w == syl[0]) {
        let rest = if syl.get(1) == Some(&"ཕྲག") {
            &syl[2..]
        } else {
            &syl[1..]
        };
        let n = if rest.is_empty() {
            1
        } else {
            below_hundred(rest)?
        };
        return n.checked_mul(m);
    }
    below_hundred(&syl)
}

fn below_hundred(syl: &[&str]) -> Option<u64> {
    let joined = syl.join("་");
    let unit = |w: &str| TIBETAN_UNITS.iter().find(|(u, _)| *u == w).map(|x| x.1);
    if syl.len() == 1 {
        if let Some(n) = unit(syl[0]) {
            return Some(n);
        }
    }
    if let Some(&(_, n)) = TIBETAN_TEENS.iter().find(|(w, _)| *w == joined) {
        return Some(n);
    }
    // བཅུ་གཉིས: ten and a unit.
    if syl.len() == 2 && syl[0] == "བཅུ" {
        return unit(syl[1]).map(|n| 10 + n);
    }
    for &(word, tens, connector) in TIBETAN_TENS {
        if joined == word {
            return Some(tens);
        }
        if let Some(rest) = joined.strip_prefix(word) {
            let rest: Vec<&str> = syllables(rest);
            // ཉི་ཤུ་རྩ་ལྔ, or without the connector ཉི་ཤུ་ལྔ.
            let unit_word = match rest.as_slice() {
                [c, u] if *c == connector => u,
                [u] => u,
                _ => return None,
            };
            return unit(unit_word).map(|n| tens + n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_numerals() {
        for (s, n) in [
            ("零", 0),
            ("三", 3),
            ("两", 2),
            ("十", 10),
            ("十二", 12),
            ("二十", 20),
            ("二十五", 25),
            ("一百", 100),
            ("一百零五", 105),
            ("两千", 2000),
            ("两千五", 2500),
            ("三千五百", 3500),
            ("三万", 30_000),
            ("三万五", 35_000),
            ("三万五千", 35_000),
            ("一万二", 12_000),
            ("一万零二百", 10_200),
            ("十万", 100_000),
            ("十二万", 120_000),
            ("1万2", 12_000),
            ("2千", 2000),
            ("叁仟", 3000),
            ("壹拾贰", 12),
        ] {
            assert_eq!(chinese_number(s), Some(n), "{s}");
        }
        for s in ["", "三三", "元", "三个", "abc", "万万万万万万万"] {
            assert_eq!(chinese_number(s), None, "{s}");
        }
    }

    #[test]
    fn tibetan_number_words() {
        for (s, n) in [
            ("གཅིག", 1),
            ("གསུམ", 3),
            ("གསུམ་", 3),
            ("གསུམ།", 3),
            ("བཅུ", 10),
            ("བཅུ་ཐམ་པ", 10),
            ("བཅུ་གཉིས", 12),
            ("བཅོ་ལྔ", 15),
            ("ཉི་ཤུ", 20),
            ("ཉི་ཤུ་རྩ་ལྔ", 25),
            ("སུམ་ཅུ", 30),
            ("སུམ་ཅུ་སོ་གཅིག", 31),
            ("ཁྲི་གསུམ", 30_000),
            ("སྟོང་ཕྲག་ལྔ", 5000),
            ("སྟོང", 1000),
        ] {
            assert_eq!(tibetan_number(s), Some(n), "{s}");
        }
        for s in ["", "ཀ", "གསུམ་གསུམ", "བཅུ་ཀ", "བཀྲ་ཤིས"]
        {
            assert_eq!(tibetan_number(s), None, "{s}");
        }
    }
}
