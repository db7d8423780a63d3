//! `application/x-www-form-urlencoded` pairs with values kept as bytes: a gateway may send
//! UTF-16BE text, which a UTF-8 decoder would mangle before we know the charset.

use percent_encoding::percent_decode;

/// Splits `a=1&b=%E4%BD%A0` into pairs; `+` means a space byte.
pub fn parse(raw: &[u8]) -> Vec<(String, Vec<u8>)> {
    raw.split(|b| *b == b'&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = match part.iter().position(|b| *b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &[][..]),
            };
            (String::from_utf8_lossy(&decode(k)).into_owned(), decode(v))
        })
        .collect()
}

fn decode(s: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = s
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_decode(&spaced).collect()
}

/// The first value of `key`.
pub fn get<'a>(pairs: &'a [(String, Vec<u8>)], key: &str) -> Option<&'a [u8]> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_slice())
}

/// The first value of `key` as UTF-8 text.
pub fn get_str(pairs: &[(String, Vec<u8>)], key: &str) -> Option<String> {
    get(pairs, key).map(|v| String::from_utf8_lossy(v).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_bytes_and_decodes_plus() {
        let p = parse(b"text=%0F%40%0F%42&from=%2B86139+1&empty=&flag");
        assert_eq!(get(&p, "text"), Some(&[0x0f, 0x40, 0x0f, 0x42][..]));
        assert_eq!(get_str(&p, "from").as_deref(), Some("+86139 1"));
        assert_eq!(get_str(&p, "empty").as_deref(), Some(""));
        assert_eq!(get_str(&p, "flag").as_deref(), Some(""));
        assert_eq!(get(&p, "nope"), None);
    }
}
