//! The data files (`calendar/national/YYYY.toml`, `calendar/regions/REGION/YYYY.toml`):
//! their format, the copies compiled into the binary, and the checks every file passes
//! before the calendar uses it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use serde::{de, Deserialize, Deserializer};

use super::CalendarError;

/// A data file compiled into the binary.
pub(super) struct Builtin {
    pub region: Option<&'static str>,
    pub year: i32,
    pub file: &'static str,
    pub text: &'static str,
}

/// The defaults. A new built-in year needs a line here (and a release); an officer can
/// instead drop the file into the calendar folder given to `Calendar::load`.
pub(super) const BUILTIN: &[Builtin] = &[
    Builtin {
        region: None,
        year: 2025,
        file: "calendar/national/2025.toml",
        text: include_str!("../../calendar/national/2025.toml"),
    },
    Builtin {
        region: None,
        year: 2026,
        file: "calendar/national/2026.toml",
        text: include_str!("../../calendar/national/2026.toml"),
    },
    Builtin {
        region: Some("xizang"),
        year: 2025,
        file: "calendar/regions/xizang/2025.toml",
        text: include_str!("../../calendar/regions/xizang/2025.toml"),
    },
    Builtin {
        region: Some("xizang"),
        year: 2026,
        file: "calendar/regions/xizang/2026.toml",
        text: include_str!("../../calendar/regions/xizang/2026.toml"),
    },
];

/// One file as written. Unknown keys are refused so that a misspelt `last_day_off`
/// cannot silently turn a ten-day break into a one-day one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    #[serde(default)]
    region: Option<String>,
    source: String,
    #[serde(default)]
    holiday: Vec<HolidayEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayEntry {
    name: String,
    #[serde(default)]
    first_day_off: Option<DateText>,
    #[serde(default)]
    last_day_off: Option<DateText>,
    #[serde(default)]
    workdays: Vec<DateText>,
}

/// A date as written: a quoted "2026-02-14" or TOML's bare 2026-02-14, which an officer
/// may well type; both are checked later so the error can name the holiday.
struct DateText(String);

impl<'de> Deserialize<'de> for DateText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match toml::Value::deserialize(deserializer)? {
            toml::Value::String(text) => Ok(DateText(text)),
            toml::Value::Datetime(datetime) => Ok(DateText(datetime.to_string())),
            other => Err(de::Error::custom(format!(
                "expected a date \"YYYY-MM-DD\", found {}",
                other.type_str()
            ))),
        }
    }
}

/// One checked year of one layer: the days it declares off and the days it declares
/// working. Days in neither follow the layer below (or the weekday rule).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct YearRules {
    pub off: BTreeSet<NaiveDate>,
    pub work: BTreeSet<NaiveDate>,
}

impl YearRules {
    /// What this layer says about `date`, if anything.
    pub fn says(&self, date: NaiveDate) -> Option<bool> {
        if self.work.contains(&date) {
            Some(true)
        } else if self.off.contains(&date) {
            Some(false)
        } else {
            None
        }
    }
}

/// Parses and checks one file. `year` is the year its file name gives; `region` the
/// folder it sits in (None for national files).
pub(super) fn parse_year(
    file: &str,
    text: &str,
    year: i32,
    region: Option<&str>,
) -> Result<YearRules, CalendarError> {
    let parsed: YearFile = toml::from_str(text).map_err(|source| CalendarError::Parse {
        file: file.to_string(),
        source,
    })?;
    let invalid = |problem: String| CalendarError::Invalid {
        file: file.to_string(),
        problem,
    };
    check_header(&parsed, year, region).map_err(invalid)?;
    collect_days(&parsed).map_err(invalid)
}

fn check_header(parsed: &YearFile, year: i32, region: Option<&str>) -> Result<(), String> {
    if parsed.year != year {
        return Err(format!(
            "year = {} but the file is named {year}.toml",
            parsed.year
        ));
    }
    if parsed.source.trim().is_empty() {
        return Err("`source` is empty; name the notice the days come from".to_string());
    }
    match (region, parsed.region.as_deref()) {
        (None, Some(written)) => Err(format!(
            "region = {written:?} in a national file; regional files go in regions/{written}/"
        )),
        (Some(folder), Some(written)) if folder != written => Err(format!(
            "region = {written:?} but the file is in the folder of region {folder:?}"
        )),
        _ => Ok(()),
    }
}

/// Turns the holiday blocks into sets of days, refusing days outside the file's year,
/// ranges that run backwards and days that are both off and working.
fn collect_days(parsed: &YearFile) -> Result<YearRules, String> {
    // Which holiday claimed each day, to name both sides of a conflict.
    let mut off: BTreeMap<NaiveDate, &str> = BTreeMap::new();
    let mut work: BTreeMap<NaiveDate, &str> = BTreeMap::new();
    for holiday in &parsed.holiday {
        let name = holiday.name.as_str();
        for day in off_days(holiday, parsed.year)? {
            off.entry(day).or_insert(name);
        }
        for text in &holiday.workdays {
            let day = parse_date(text, name, "workdays", parsed.year)?;
            work.entry(day).or_insert(name);
        }
    }
    if let Some((day, off_name)) = off.iter().find(|(day, _)| work.contains_key(day)) {
        let work_name = work.get(day).copied().unwrap_or_default();
        return Err(format!(
            "{day} is both a day off (holiday {off_name:?}) and a working day (holiday {work_name:?})"
        ));
    }
    Ok(YearRules {
        off: off.into_keys().collect(),
        work: work.into_keys().collect(),
    })
}

fn off_days(holiday: &HolidayEntry, year: i32) -> Result<Vec<NaiveDate>, String> {
    let name = holiday.name.as_str();
    let first = match &holiday.first_day_off {
        Some(text) => parse_date(text, name, "first_day_off", year)?,
        None if holiday.last_day_off.is_some() => {
            return Err(format!(
                "holiday {name:?} has last_day_off but no first_day_off"
            ))
        }
        None if holiday.workdays.is_empty() => {
            return Err(format!(
                "holiday {name:?} lists no days (give first_day_off and/or workdays)"
            ))
        }
        None => return Ok(Vec::new()),
    };
    let last = match &holiday.last_day_off {
        Some(text) => parse_date(text, name, "last_day_off", year)?,
        None => first,
    };
    if last < first {
        return Err(format!(
            "holiday {name:?}: last_day_off {last} is before first_day_off {first}"
        ));
    }
    Ok(first.iter_days().take_while(|day| *day <= last).collect())
}

fn parse_date(text: &DateText, holiday: &str, key: &str, year: i32) -> Result<NaiveDate, String> {
    let written = text.0.as_str();
    // The length check refuses forms chrono would accept but an officer did not mean,
    // such as "2026-2-14" next to a typo.
    let date = NaiveDate::parse_from_str(written, "%Y-%m-%d")
        .ok()
        .filter(|_| written.len() == 10)
        .ok_or_else(|| {
            format!("holiday {holiday:?}: {key} {written:?} is not a date written YYYY-MM-DD")
        })?;
    if date.year() != year {
        return Err(format!(
            "holiday {holiday:?}: {key} {date} is not in {year}, the year of this file"
        ));
    }
    Ok(date)
}

/// A region id is a folder name and part of error messages: keep it plain.
pub(super) fn valid_region_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The year a data file's name stands for: "2027.toml" gives 2027.
pub(super) fn year_from_file_name(name: &str) -> Option<i32> {
    let stem = name.strip_suffix(".toml")?;
    if stem.len() == 4 && stem.chars().all(|c| c.is_ascii_digit()) {
        stem.parse().ok()
    } else {
        None
    }
}
