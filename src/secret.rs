//! A credential that never prints, compared in constant time.

use std::fmt;

use serde::Deserialize;
use subtle::ConstantTimeEq;

/// A credential. Debug and Display never show it, so it cannot leak into logs.
#[derive(Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Compares in constant time, so a webhook secret cannot be guessed byte by byte.
    pub fn matches(&self, candidate: &str) -> bool {
        // `subtle` answers early only on a length mismatch, which a secret's length (fixed by
        // the configuration's rules) does not turn into a hint.
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_same_text_and_never_prints() {
        let s = Secret::new("s3cret-value-0123");
        assert!(s.matches("s3cret-value-0123"));
        assert!(!s.matches("s3cret-value-0124"));
        assert!(!s.matches("s3cret"));
        assert_eq!(format!("{s} {s:?}"), "*** \"***\"");
    }
}
