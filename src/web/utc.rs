//! Timestamps over the API: stored as UTC without a zone, written as RFC 3339 with its `Z`
//! (`2026-12-01T11:52:12.003418232Z`), as the OpenAPI document's `date-time` says. A
//! timestamp sent to the API may carry any offset (`…+08:00`) and is turned into UTC; one
//! without an offset is taken as UTC.

use chrono::{DateTime, NaiveDateTime, SecondsFormat};
use serde::{Deserialize, Deserializer, Serializer};

/// `#[serde(serialize_with = "crate::web::utc::serialize")]`
pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&text(t))
}

/// The RFC 3339 text of a stored (UTC) timestamp.
pub fn text(t: &NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// For `Option<NaiveDateTime>` fields.
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&text(t)),
            None => s.serialize_none(),
        }
    }

    /// RFC 3339 with any offset, or without one (UTC).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        let Some(v) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        parse(&v).map(Some).map_err(serde::de::Error::custom)
    }
}

/// A timestamp as a client writes it.
pub fn parse(v: &str) -> Result<NaiveDateTime, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.naive_utc());
    }
    v.parse::<NaiveDateTime>()
        .map_err(|_| format!("{v:?} is not a date-time like 2026-12-02T09:00:00+08:00"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_goes_out_with_its_zone_and_offsets_come_in_as_utc() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(11, 52, 12)
            .unwrap();
        assert_eq!(text(&t), "2026-12-01T11:52:12Z");
        assert_eq!(parse("2026-12-01T19:52:12+08:00").unwrap(), t);
        assert_eq!(parse("2026-12-01T11:52:12Z").unwrap(), t);
        assert_eq!(parse("2026-12-01T11:52:12").unwrap(), t);
        assert!(parse("yesterday").is_err());
    }
}
