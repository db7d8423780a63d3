//! Working-day calendar for labour-inspection deadlines.
//!
//! The law counts deadlines in working days of the official schedule: the State
//! Council's yearly notice (national layer, with 调休 make-up days that are often a
//! Saturday or Sunday) plus each region's own holidays, such as Losar in Xizang
//! (regional layer, overriding the national one). Both are data files under
//! `calendar/` so an officer can add a year without a new release; see the comments at
//! the top of those files for their format.
//!
//! Counting convention, as in the law: the day an act happens (receipt, acceptance)
//! does not count; the n-th working day after it is the last day of the period.

mod data;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, Weekday};

use data::{parse_year, valid_region_id, year_from_file_name, YearRules, BUILTIN};

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("cannot read calendar data {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("calendar file {file} does not parse: {source}")]
    Parse {
        file: String,
        #[source]
        source: toml::de::Error,
    },
    /// The file parses but its days are inconsistent, or the set of files is.
    #[error("calendar file {file}: {problem}")]
    Invalid { file: String, problem: String },
    /// `what` is a date ("2027-01-04") or, from `days`, a year ("year 2027").
    #[error(
        "{what} is outside the calendar data ({first}–{last}); add calendar/national/{year}.toml"
    )]
    OutOfRange {
        what: String,
        year: i32,
        first: i32,
        last: i32,
    },
    #[error("{what} is outside the calendar data for region {region} ({covered}); add calendar/regions/{region}/{year}.toml")]
    RegionOutOfRange {
        what: String,
        year: i32,
        region: String,
        covered: String,
    },
    #[error("unknown region {region:?}; the calendar has: {known}")]
    UnknownRegion { region: String, known: String },
    #[error("pause from {from} to {to} ends before it starts")]
    BadPause { from: NaiveDate, to: NaiveDate },
}

/// A stretch during which the bureau waits for the worker (e.g. to supply missing
/// facts) and the case clock stops. Both ends are inclusive: no day from `from` to `to`
/// counts. `to = None` means the bureau is still waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
}

impl Pause {
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.from <= day && self.to.is_none_or(|to| day <= to)
    }
}

/// National years plus regional overrides, every file checked when loaded.
#[derive(Debug, Clone)]
pub struct Calendar {
    national: BTreeMap<i32, YearRules>,
    regions: BTreeMap<String, BTreeMap<i32, YearRules>>,
}

/// The years of one region, when a region was asked for.
type RegionYears<'a> = Option<(&'a str, &'a BTreeMap<i32, YearRules>)>;

impl Calendar {
    /// The data compiled into the binary (`calendar/` in the source tree).
    pub fn builtin() -> Result<Calendar, CalendarError> {
        let mut calendar = Calendar {
            national: BTreeMap::new(),
            regions: BTreeMap::new(),
        };
        for file in BUILTIN {
            let rules = parse_year(file.file, file.text, file.year, file.region)?;
            calendar.insert(file.region, file.year, rules);
        }
        calendar.check_years("calendar (built in)")?;
        Ok(calendar)
    }

    /// The built-in data, then every `dir/national/YYYY.toml` and
    /// `dir/regions/REGION/YYYY.toml`, each adding a year or replacing a built-in one.
    pub fn load(dir: Option<&Path>) -> Result<Calendar, CalendarError> {
        let mut calendar = Calendar::builtin()?;
        if let Some(dir) = dir {
            calendar.add_dir(dir)?;
            calendar.check_years(&dir.display().to_string())?;
        }
        Ok(calendar)
    }

    /// First and last year of national data.
    pub fn years(&self) -> (i32, i32) {
        let first = self.national.keys().next().copied().unwrap_or_default();
        let last = self
            .national
            .keys()
            .next_back()
            .copied()
            .unwrap_or_default();
        (first, last)
    }

    /// Region ids that have overrides, e.g. `["xizang"]`.
    pub fn regions(&self) -> Vec<String> {
        self.regions.keys().cloned().collect()
    }

    /// Whether `date` is a working day, in `region` if given (its overrides win), else
    /// nationally.
    pub fn is_working_day(
        &self,
        date: NaiveDate,
        region: Option<&str>,
    ) -> Result<bool, CalendarError> {
        let region_years = self.region_years(region)?;
        self.working(date, region_years)
    }

    /// The `n`-th working day after `from` (`from` itself does not count; n = 0 gives
    /// `from`).
    pub fn add_working_days(
        &self,
        from: NaiveDate,
        n: u32,
        region: Option<&str>,
    ) -> Result<NaiveDate, CalendarError> {
        let region_years = self.region_years(region)?;
        let mut day = from;
        let mut left = n;
        while left > 0 {
            day = self.next_day(day)?;
            if self.working(day, region_years)? {
                left -= 1;
            }
        }
        Ok(day)
    }

    /// Working days in (from, to]; 0 when `to` is not after `from`.
    pub fn working_days_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        region: Option<&str>,
    ) -> Result<u32, CalendarError> {
        self.counted_days(from, to, &[], region)
    }

    /// Due date of a period of `working_days` starting the day after `start`, skipping
    /// days inside `pauses`. None while an open pause has stopped the clock before the
    /// period ran out; once the worker answers (the pause gets its `to`), the date is
    /// known again.
    pub fn deadline(
        &self,
        start: NaiveDate,
        working_days: u32,
        pauses: &[Pause],
        region: Option<&str>,
    ) -> Result<Option<NaiveDate>, CalendarError> {
        check_pauses(pauses)?;
        let region_years = self.region_years(region)?;
        let mut day = start;
        let mut left = working_days;
        while left > 0 {
            day = self.next_day(day)?;
            if pauses.iter().any(|p| p.to.is_none() && p.from <= day) {
                return Ok(None);
            }
            if !paused(pauses, day) && self.working(day, region_years)? {
                left -= 1;
            }
        }
        Ok(Some(day))
    }

    /// Working days left on `today` of a period of `working_days` after `start`: 0 on the
    /// due date, negative once it is past. Days inside `pauses` (an open one runs through
    /// `today`) are not used up.
    pub fn remaining(
        &self,
        start: NaiveDate,
        working_days: u32,
        pauses: &[Pause],
        today: NaiveDate,
        region: Option<&str>,
    ) -> Result<i64, CalendarError> {
        check_pauses(pauses)?;
        let used = self.counted_days(start, today, pauses, region)?;
        Ok(i64::from(working_days) - i64::from(used))
    }

    /// Every day of `year` and whether it is a working day, in order.
    pub fn days(
        &self,
        year: i32,
        region: Option<&str>,
    ) -> Result<Vec<(NaiveDate, bool)>, CalendarError> {
        let region_years = self.region_years(region)?;
        let what = || format!("year {year}");
        self.national_year(year, &what)?;
        self.region_year(year, region_years, &what)?;
        let Some(first) = NaiveDate::from_ymd_opt(year, 1, 1) else {
            return Err(self.out_of_range(what(), year));
        };
        first
            .iter_days()
            .take_while(|day| day.year() == year)
            .map(|day| Ok((day, self.working(day, region_years)?)))
            .collect()
    }

    /// Working days in (from, to] outside `pauses`.
    fn counted_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        pauses: &[Pause],
        region: Option<&str>,
    ) -> Result<u32, CalendarError> {
        let region_years = self.region_years(region)?;
        let mut count = 0;
        let mut day = from;
        while day < to {
            day = self.next_day(day)?;
            if !paused(pauses, day) && self.working(day, region_years)? {
                count += 1;
            }
        }
        Ok(count)
    }

    /// The rule: the region's file, then the national file, then Monday–Friday.
    /// As `deadline`, but a count that runs past the calendar data goes on instead of failing:
    /// with the national layer where only the region's file is missing, else with plain
    /// weekdays. The flag says the date is provisional: until the officer adds next year's
    /// schedule, an estimate is more use to an inspector than no date at all.
    pub fn deadline_estimate(
        &self,
        start: NaiveDate,
        working_days: u32,
        pauses: &[Pause],
        region: Option<&str>,
    ) -> Result<Option<(NaiveDate, bool)>, CalendarError> {
        check_pauses(pauses)?;
        let region_years = self.region_years(region)?;
        let (_, last) = self.years();
        let mut day = start;
        let mut left = working_days;
        let mut provisional = false;
        while left > 0 {
            day = self.next_day(day)?;
            if pauses.iter().any(|p| p.to.is_none() && p.from <= day) {
                return Ok(None);
            }
            if paused(pauses, day) {
                continue;
            }
            let working = match self.working(day, region_years) {
                Ok(w) => w,
                Err(CalendarError::RegionOutOfRange { .. }) if day.year() <= last => {
                    provisional = true;
                    self.working(day, None)?
                }
                Err(CalendarError::OutOfRange { .. } | CalendarError::RegionOutOfRange { .. })
                    if day.year() > last =>
                {
                    provisional = true;
                    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
                }
                Err(e) => return Err(e),
            };
            if working {
                left -= 1;
            }
        }
        Ok(Some((day, provisional)))
    }

    fn working(&self, date: NaiveDate, region_years: RegionYears) -> Result<bool, CalendarError> {
        let what = || date.to_string();
        let national = self.national_year(date.year(), &what)?;
        let regional = self.region_year(date.year(), region_years, &what)?;
        let said = regional
            .and_then(|rules| rules.says(date))
            .or_else(|| national.says(date));
        Ok(said.unwrap_or_else(|| !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)))
    }

    fn national_year(
        &self,
        year: i32,
        what: &dyn Fn() -> String,
    ) -> Result<&YearRules, CalendarError> {
        self.national
            .get(&year)
            .ok_or_else(|| self.out_of_range(what(), year))
    }

    /// A region's year must exist when the region is asked for: a missing file would
    /// otherwise silently drop its holidays (Losar) and shorten deadlines.
    fn region_year<'a>(
        &self,
        year: i32,
        region_years: RegionYears<'a>,
        what: &dyn Fn() -> String,
    ) -> Result<Option<&'a YearRules>, CalendarError> {
        let Some((region, years)) = region_years else {
            return Ok(None);
        };
        match years.get(&year) {
            Some(rules) => Ok(Some(rules)),
            None => Err(CalendarError::RegionOutOfRange {
                what: what(),
                year,
                region: region.to_string(),
                covered: describe_years(years.keys().copied()),
            }),
        }
    }

    fn region_years(&self, region: Option<&str>) -> Result<RegionYears<'_>, CalendarError> {
        let Some(region) = region else {
            return Ok(None);
        };
        match self.regions.get_key_value(region) {
            Some((id, years)) => Ok(Some((id.as_str(), years))),
            None => Err(CalendarError::UnknownRegion {
                region: region.to_string(),
                known: self.regions().join(", "),
            }),
        }
    }

    fn out_of_range(&self, what: String, year: i32) -> CalendarError {
        let (first, last) = self.years();
        CalendarError::OutOfRange {
            what,
            year,
            first,
            last,
        }
    }

    fn next_day(&self, day: NaiveDate) -> Result<NaiveDate, CalendarError> {
        day.succ_opt()
            .ok_or_else(|| self.out_of_range(day.to_string(), day.year()))
    }

    fn insert(&mut self, region: Option<&str>, year: i32, rules: YearRules) {
        match region {
            None => self.national.insert(year, rules),
            Some(region) => self
                .regions
                .entry(region.to_string())
                .or_default()
                .insert(year, rules),
        };
    }

    fn add_dir(&mut self, dir: &Path) -> Result<(), CalendarError> {
        let national = dir.join("national");
        let regions = dir.join("regions");
        if !dir.is_dir() || !(national.is_dir() || regions.is_dir()) {
            return Err(CalendarError::Invalid {
                file: dir.display().to_string(),
                problem: "not a folder with national/ or regions/ in it".to_string(),
            });
        }
        if national.is_dir() {
            self.add_year_files(&national, None)?;
        }
        if regions.is_dir() {
            for (region_dir, name) in list_dir(&regions)? {
                if !region_dir.is_dir() {
                    continue;
                }
                if !valid_region_id(&name) {
                    return Err(CalendarError::Invalid {
                        file: region_dir.display().to_string(),
                        problem: "a region folder is named in lowercase letters, digits, - and _ (e.g. xizang)".to_string(),
                    });
                }
                self.add_year_files(&region_dir, Some(&name))?;
            }
        }
        Ok(())
    }

    /// Reads every YYYY.toml in `folder`; other .toml names are refused so that a
    /// mistyped "2027.toml" is not silently skipped. Non-.toml files (notes, editor
    /// backups) are left alone.
    fn add_year_files(&mut self, folder: &Path, region: Option<&str>) -> Result<(), CalendarError> {
        for (path, name) in list_dir(folder)? {
            if !name.ends_with(".toml") || !path.is_file() {
                continue;
            }
            let file = path.display().to_string();
            let Some(year) = year_from_file_name(&name) else {
                return Err(CalendarError::Invalid {
                    file,
                    problem: "a calendar file is named after its year, e.g. 2027.toml".to_string(),
                });
            };
            let text = fs::read_to_string(&path).map_err(|source| CalendarError::Read {
                path: path.clone(),
                source,
            })?;
            let rules = parse_year(&file, &text, year, region)?;
            self.insert(region, year, rules);
        }
        Ok(())
    }

    /// National years must follow each other (a gap would make counting across it
    /// fail halfway), and each region's year needs the national year under it.
    fn check_years(&self, origin: &str) -> Result<(), CalendarError> {
        let invalid = |problem: String| CalendarError::Invalid {
            file: origin.to_string(),
            problem,
        };
        let (first, last) = self.years();
        if self.national.is_empty() {
            return Err(invalid("no national year at all".to_string()));
        }
        if let Some(missing) = (first..=last).find(|year| !self.national.contains_key(year)) {
            return Err(invalid(format!(
                "national years {first}–{last} have a gap: add national/{missing}.toml"
            )));
        }
        for (region, years) in &self.regions {
            if let Some(year) = years.keys().find(|year| !self.national.contains_key(year)) {
                return Err(invalid(format!(
                    "regions/{region}/{year}.toml has no national/{year}.toml under it"
                )));
            }
        }
        Ok(())
    }
}

fn paused(pauses: &[Pause], day: NaiveDate) -> bool {
    pauses.iter().any(|pause| pause.covers(day))
}

fn check_pauses(pauses: &[Pause]) -> Result<(), CalendarError> {
    for pause in pauses {
        if let Some(to) = pause.to.filter(|to| *to < pause.from) {
            return Err(CalendarError::BadPause {
                from: pause.from,
                to,
            });
        }
    }
    Ok(())
}

/// "2025–2026", or "2025, 2027" when there is a gap.
fn describe_years(years: impl Iterator<Item = i32>) -> String {
    let years: Vec<i32> = years.collect();
    match (years.first(), years.last()) {
        (Some(first), Some(last)) if i64::from(*last - *first) + 1 == years.len() as i64 => {
            format!("{first}–{last}")
        }
        _ => years
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Entries of a folder with their names, sorted so errors come in a stable order.
fn list_dir(folder: &Path) -> Result<Vec<(PathBuf, String)>, CalendarError> {
    let read_error = |source| CalendarError::Read {
        path: folder.to_path_buf(),
        source,
    };
    let mut entries = Vec::new();
    for entry in fs::read_dir(folder).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        entries.push((entry.path(), name));
    }
    entries.sort();
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
    }

    fn cal() -> Calendar {
        Calendar::builtin().expect("built-in calendar data")
    }

    fn write(dir: &Path, relative: &str, text: &str) {
        let path = dir.join(relative);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }

    /// Weekday holidays and weekend working days of 2025 and 2026 as the
    /// `chinesecalendar` package (1.11.0) lists them, typed in from its output rather
    /// than from our data files.
    const PACKAGE_WEEKDAYS_OFF: &[&str] = &[
        "2025-01-01",
        "2025-01-28",
        "2025-01-29",
        "2025-01-30",
        "2025-01-31",
        "2025-02-03",
        "2025-02-04",
        "2025-04-04",
        "2025-05-01",
        "2025-05-02",
        "2025-05-05",
        "2025-06-02",
        "2025-10-01",
        "2025-10-02",
        "2025-10-03",
        "2025-10-06",
        "2025-10-07",
        "2025-10-08",
        "2026-01-01",
        "2026-01-02",
        "2026-02-16",
        "2026-02-17",
        "2026-02-18",
        "2026-02-19",
        "2026-02-20",
        "2026-02-23",
        "2026-04-06",
        "2026-05-01",
        "2026-05-04",
        "2026-05-05",
        "2026-06-19",
        "2026-09-25",
        "2026-10-01",
        "2026-10-02",
        "2026-10-05",
        "2026-10-06",
        "2026-10-07",
    ];
    const PACKAGE_WEEKENDS_WORKED: &[&str] = &[
        "2025-01-26",
        "2025-02-08",
        "2025-04-27",
        "2025-09-28",
        "2025-10-11",
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ];

    fn package_says(day: NaiveDate) -> bool {
        let text = day.to_string();
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        if weekend {
            PACKAGE_WEEKENDS_WORKED.contains(&text.as_str())
        } else {
            !PACKAGE_WEEKDAYS_OFF.contains(&text.as_str())
        }
    }

    #[test]
    fn every_national_day_matches_the_package() {
        let calendar = cal();
        for year in [2025, 2026] {
            let days = calendar.days(year, None).expect("days");
            assert_eq!(days.len(), 365);
            for (day, working) in &days {
                assert_eq!(*working, package_says(*day), "{day}");
            }
            // chinese_calendar.is_workday counts 248 working days in each year.
            let working = days.iter().filter(|(_, working)| *working).count();
            assert_eq!(working, 248, "{year}");
        }
    }

    #[test]
    fn make_up_saturdays_are_working_days() {
        let calendar = cal();
        for day in ["2026-02-14", "2026-02-28", "2026-01-04", "2025-01-26"] {
            assert_ne!(d(day).weekday(), Weekday::Mon);
            assert!(calendar.is_working_day(d(day), None).expect(day), "{day}");
        }
        assert_eq!(d("2026-02-14").weekday(), Weekday::Sat);
        // An ordinary Saturday stays a day off, an ordinary Monday a working day.
        assert!(!calendar.is_working_day(d("2026-02-07"), None).expect("sat"));
        assert!(calendar.is_working_day(d("2026-03-02"), None).expect("mon"));
        // Spring Festival weekdays are off.
        assert!(!calendar.is_working_day(d("2026-02-16"), None).expect("mon"));
    }

    #[test]
    fn losar_2025_is_off_in_xizang_only() {
        let calendar = cal();
        assert_eq!(d("2025-02-27").weekday(), Weekday::Thu);
        for day in d("2025-02-27").iter_days().take(6) {
            let nationally = calendar.is_working_day(day, None).expect("national");
            let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
            assert_eq!(nationally, !weekend, "{day}");
            assert!(
                !calendar
                    .is_working_day(day, Some("xizang"))
                    .expect("xizang"),
                "{day}"
            );
        }
        for day in ["2025-02-26", "2025-03-05"] {
            assert!(calendar.is_working_day(d(day), Some("xizang")).expect(day));
        }
        // Outside its overrides the region follows the national schedule.
        assert!(!calendar
            .is_working_day(d("2025-10-08"), Some("xizang"))
            .expect("oct"));
        assert!(calendar
            .is_working_day(d("2025-10-11"), Some("xizang"))
            .expect("oct"));
    }

    #[test]
    fn lhasa_2026_merged_break_runs_to_feb_26() {
        let calendar = cal();
        for day in ["2026-02-24", "2026-02-25", "2026-02-26"] {
            assert!(calendar.is_working_day(d(day), None).expect(day), "{day}");
            assert!(
                !calendar.is_working_day(d(day), Some("xizang")).expect(day),
                "{day}"
            );
        }
        for day in ["2026-02-14", "2026-02-28"] {
            assert!(calendar.is_working_day(d(day), Some("xizang")).expect(day));
        }
        assert!(calendar
            .is_working_day(d("2026-02-27"), Some("xizang"))
            .expect("fri"));
    }

    #[test]
    fn regional_counts_lose_exactly_the_extra_days() {
        let calendar = cal();
        let count = |year, region| {
            let days = calendar.days(year, region).expect("days");
            days.iter().filter(|(_, working)| *working).count()
        };
        // 2025: Feb 27, 28, Mar 3, 4 are weekdays; 2026: Feb 24, 25, 26.
        assert_eq!(count(2025, Some("xizang")), 248 - 4);
        assert_eq!(count(2026, Some("xizang")), 248 - 3);
    }

    #[test]
    fn add_working_days_crosses_the_new_year() {
        let calendar = cal();
        // Dec 30, Dec 31, (Jan 1–3 off), Sun Jan 4 make-up, Jan 5, Jan 6.
        let due = calendar.add_working_days(d("2025-12-29"), 5, None);
        assert_eq!(due.expect("5"), d("2026-01-06"));
        let due = calendar.add_working_days(d("2025-11-01"), 60, None);
        assert_eq!(due.expect("60"), d("2026-01-26"));
        let due = calendar.add_working_days(d("2025-11-01"), 90, None);
        assert_eq!(due.expect("90"), d("2026-03-13"));
    }

    #[test]
    fn add_working_days_counts_from_the_day_after() {
        let calendar = cal();
        assert_eq!(
            calendar
                .add_working_days(d("2026-03-02"), 0, None)
                .expect("0"),
            d("2026-03-02")
        );
        // Receipt on a Friday: the first working day is Monday.
        assert_eq!(
            calendar
                .add_working_days(d("2026-03-06"), 1, None)
                .expect("1"),
            d("2026-03-09")
        );
        // The Losar week pushes a 5-day acceptance decision back in xizang.
        let start = d("2025-02-26");
        assert_eq!(
            calendar.add_working_days(start, 5, None).expect("nat"),
            d("2025-03-05")
        );
        let regional = calendar.add_working_days(start, 5, Some("xizang"));
        assert_eq!(regional.expect("xizang"), d("2025-03-11"));
        let regional = calendar.add_working_days(d("2026-01-20"), 60, Some("xizang"));
        assert_eq!(regional.expect("xizang 60"), d("2026-04-24"));
    }

    #[test]
    fn working_days_between_is_half_open() {
        let calendar = cal();
        let between = |from, to| {
            calendar
                .working_days_between(d(from), d(to), None)
                .expect("n")
        };
        assert_eq!(between("2026-03-02", "2026-03-02"), 0);
        assert_eq!(between("2026-03-02", "2026-03-09"), 5);
        assert_eq!(between("2026-03-09", "2026-03-02"), 0);
        assert_eq!(between("2025-12-29", "2026-01-06"), 5);
        assert_eq!(between("2025-12-31", "2026-12-31"), 248);
        // Inverse of add_working_days.
        let due = calendar
            .add_working_days(d("2025-11-01"), 60, None)
            .expect("due");
        assert_eq!(
            calendar
                .working_days_between(d("2025-11-01"), due, None)
                .expect("n"),
            60
        );
    }

    #[test]
    fn a_paused_week_moves_the_deadline_by_its_working_days() {
        let calendar = cal();
        let start = d("2025-11-01");
        let plain = calendar.deadline(start, 60, &[], None).expect("plain");
        assert_eq!(plain, Some(d("2026-01-26")));
        let week = Pause {
            from: d("2025-12-01"),
            to: Some(d("2025-12-07")),
        };
        let inside = calendar
            .working_days_between(d("2025-11-30"), d("2025-12-07"), None)
            .expect("inside");
        assert_eq!(inside, 5);
        let paused = calendar.deadline(start, 60, &[week], None).expect("paused");
        let moved = calendar
            .add_working_days(d("2026-01-26"), inside, None)
            .expect("moved");
        assert_eq!(paused, Some(moved));
        assert_eq!(paused, Some(d("2026-02-02")));
        // A pause over a weekend only moves nothing.
        let weekend = Pause {
            from: d("2025-12-06"),
            to: Some(d("2025-12-07")),
        };
        let unmoved = calendar
            .deadline(start, 60, &[weekend], None)
            .expect("weekend");
        assert_eq!(unmoved, plain);
    }

    #[test]
    fn an_open_pause_stops_the_clock() {
        let calendar = cal();
        let start = d("2025-11-01");
        let open = Pause {
            from: d("2025-12-01"),
            to: None,
        };
        assert_eq!(
            calendar.deadline(start, 60, &[open], None).expect("open"),
            None
        );
        // Remaining work is frozen while waiting: the same on Dec 1 and in February.
        let left = |today| {
            calendar
                .remaining(start, 60, &[open], d(today), None)
                .expect("left")
        };
        assert_eq!(left("2025-11-28"), left("2026-02-20"));
        assert_eq!(left("2025-11-28"), 40);
        // A pause opened after the period ran out does not bring the deadline back.
        let late = Pause {
            from: d("2026-02-02"),
            to: None,
        };
        let due = calendar.deadline(start, 60, &[late], None).expect("late");
        assert_eq!(due, Some(d("2026-01-26")));
    }

    #[test]
    fn remaining_is_zero_on_the_due_date_and_negative_after() {
        let calendar = cal();
        let start = d("2025-12-29");
        let left = |today| {
            calendar
                .remaining(start, 5, &[], d(today), None)
                .expect("left")
        };
        assert_eq!(left("2025-12-29"), 5);
        assert_eq!(left("2025-12-20"), 5);
        assert_eq!(left("2026-01-03"), 3);
        assert_eq!(left("2026-01-06"), 0);
        assert_eq!(left("2026-01-07"), -1);
        assert_eq!(left("2026-01-12"), -4);
        let week = Pause {
            from: d("2026-01-05"),
            to: Some(d("2026-01-09")),
        };
        let due = calendar
            .deadline(start, 5, &[week], None)
            .expect("due")
            .expect("date");
        assert_eq!(due, d("2026-01-13"));
        assert_eq!(
            calendar.remaining(start, 5, &[week], due, None).expect("0"),
            0
        );
    }

    #[test]
    fn a_pause_that_ends_before_it_starts_is_refused() {
        let bad = Pause {
            from: d("2026-03-10"),
            to: Some(d("2026-03-09")),
        };
        let err = cal()
            .deadline(d("2026-03-02"), 5, &[bad], None)
            .unwrap_err();
        assert!(matches!(err, CalendarError::BadPause { .. }), "{err}");
    }

    #[test]
    fn dates_outside_the_data_say_which_file_to_add() {
        let calendar = cal();
        assert_eq!(calendar.years(), (2025, 2026));
        let err = calendar.is_working_day(d("2027-01-04"), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "2027-01-04 is outside the calendar data (2025–2026); add calendar/national/2027.toml"
        );
        let err = calendar
            .is_working_day(d("2024-12-31"), Some("xizang"))
            .unwrap_err();
        assert!(
            err.to_string().contains("add calendar/national/2024.toml"),
            "{err}"
        );
        // A long period that runs past the data fails instead of guessing.
        let err = calendar
            .add_working_days(d("2026-12-01"), 60, None)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "2027-01-01 is outside the calendar data (2025–2026); add calendar/national/2027.toml"
        );
        let err = calendar.days(2027, None).unwrap_err();
        assert!(err.to_string().starts_with("year 2027 is outside"), "{err}");
    }

    #[test]
    fn an_unknown_region_is_refused() {
        let err = cal()
            .is_working_day(d("2026-03-02"), Some("tibet"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown region \"tibet\"; the calendar has: xizang"
        );
        assert_eq!(cal().regions(), vec!["xizang".to_string()]);
    }

    const OFFICER_2027: &str = r#"
year = 2027
source = "国务院办公厅关于2027年部分节假日安排的通知（test copy）"

[[holiday]]
name = "元旦"
first_day_off = 2027-01-01          # a bare TOML date works too
last_day_off = "2027-01-03"
workdays = []

[[holiday]]
name = "test make-up Saturday"
workdays = ["2027-01-09"]
"#;

    #[test]
    fn load_adds_a_year_an_officer_wrote() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "national/2027.toml", OFFICER_2027);
        write(dir.path(), "national/README.txt", "notes are ignored");
        let calendar = Calendar::load(Some(dir.path())).expect("load");
        assert_eq!(calendar.years(), (2025, 2027));
        assert!(!calendar
            .is_working_day(d("2027-01-01"), None)
            .expect("jan 1"));
        assert!(calendar
            .is_working_day(d("2027-01-04"), None)
            .expect("jan 4"));
        assert!(calendar.is_working_day(d("2027-01-09"), None).expect("sat"));
        // 5 working days from 2026-12-28 now run into 2027: Dec 29, 30, 31, Jan 4, 5.
        let due = calendar
            .add_working_days(d("2026-12-28"), 5, None)
            .expect("due");
        assert_eq!(due, d("2027-01-05"));
        // Built-in years are still there; xizang has no 2027 file, so it is refused
        // rather than counted without its regional holidays.
        assert!(calendar
            .is_working_day(d("2026-02-14"), None)
            .expect("2026"));
        let err = calendar
            .is_working_day(d("2027-01-04"), Some("xizang"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "2027-01-04 is outside the calendar data for region xizang (2025–2026); add calendar/regions/xizang/2027.toml"
        );
        write(
            dir.path(),
            "regions/xizang/2027.toml",
            "year = 2027\nregion = \"xizang\"\nsource = \"test\"\n",
        );
        let calendar = Calendar::load(Some(dir.path())).expect("load with region");
        assert!(calendar
            .is_working_day(d("2027-01-04"), Some("xizang"))
            .expect("x"));
    }

    #[test]
    fn load_replaces_a_built_in_year() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = "year = 2026\nregion = \"xizang\"\nsource = \"corrected\"\n\
                    [[holiday]]\nname = \"Losar\"\nfirst_day_off = \"2026-02-15\"\n\
                    last_day_off = \"2026-02-24\"\n";
        write(dir.path(), "regions/xizang/2026.toml", text);
        let calendar = Calendar::load(Some(dir.path())).expect("load");
        assert!(!calendar
            .is_working_day(d("2026-02-24"), Some("xizang"))
            .expect("24"));
        assert!(calendar
            .is_working_day(d("2026-02-25"), Some("xizang"))
            .expect("25"));
        // The national make-up day is still there under the replaced regional file.
        assert!(calendar
            .is_working_day(d("2026-02-28"), Some("xizang"))
            .expect("28"));
        assert_eq!(calendar.years(), (2025, 2026));
    }

    #[test]
    fn load_without_a_folder_is_the_built_in_data() {
        let calendar = Calendar::load(None).expect("load");
        assert_eq!(
            calendar.days(2026, None).expect("days"),
            cal().days(2026, None).expect("days")
        );
    }

    /// Loads a folder holding one file and returns the error text.
    fn refusal(relative: &str, text: &str) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), relative, text);
        let err = Calendar::load(Some(dir.path())).expect_err("should be refused");
        let file = dir.path().join(relative).display().to_string();
        let message = err.to_string();
        assert!(message.contains(&file), "no file name in: {message}");
        message
    }

    #[test]
    fn a_file_that_does_not_parse_is_refused_with_its_name() {
        let message = refusal("national/2027.toml", "year = 2027\nsource = \"x\n");
        assert!(message.contains("does not parse"), "{message}");
        let message = refusal(
            "national/2027.toml",
            "year = 2027\nsource = \"x\"\n[[holiday]]\nname = \"a\"\nfirst_day_off = \"2027-01-01\"\nlast_dayoff = \"2027-01-03\"\n",
        );
        assert!(message.contains("last_dayoff"), "{message}");
    }

    #[test]
    fn inconsistent_files_are_refused() {
        let holiday = |body: &str| {
            format!("year = 2027\nsource = \"x\"\n[[holiday]]\nname = \"h\"\n{body}\n")
        };
        let message = refusal(
            "national/2027.toml",
            &holiday("first_day_off = \"2026-12-31\"\nlast_day_off = \"2027-01-02\""),
        );
        assert!(message.contains("2026-12-31 is not in 2027"), "{message}");
        let message = refusal(
            "national/2027.toml",
            &holiday("first_day_off = \"2027-02-10\"\nlast_day_off = \"2027-02-03\""),
        );
        assert!(
            message.contains("last_day_off 2027-02-03 is before first_day_off 2027-02-10"),
            "{message}"
        );
        let message = refusal(
            "national/2027.toml",
            &holiday("first_day_off = \"2027-02-06\"\nlast_day_off = \"2027-02-12\"\nworkdays = [\"2027-02-07\"]"),
        );
        assert!(
            message.contains("2027-02-07 is both a day off"),
            "{message}"
        );
        let message = refusal(
            "national/2027.toml",
            &holiday("first_day_off = \"2027-02-30\""),
        );
        assert!(
            message.contains("\"2027-02-30\" is not a date"),
            "{message}"
        );
        let message = refusal("national/2028.toml", "year = 2027\nsource = \"x\"\n");
        assert!(
            message.contains("year = 2027 but the file is named 2028.toml"),
            "{message}"
        );
        let message = refusal("national/twenty27.toml", "year = 2027\nsource = \"x\"\n");
        assert!(message.contains("named after its year"), "{message}");
        let message = refusal(
            "regions/xizang/2026.toml",
            "year = 2026\nregion = \"qinghai\"\nsource = \"x\"\n",
        );
        assert!(message.contains("folder of region \"xizang\""), "{message}");
    }

    #[test]
    fn gaps_between_years_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "national/2028.toml",
            "year = 2028\nsource = \"x\"\n",
        );
        let err = Calendar::load(Some(dir.path())).unwrap_err();
        assert!(err.to_string().contains("add national/2027.toml"), "{err}");
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "regions/qinghai/2027.toml",
            "year = 2027\nsource = \"x\"\n",
        );
        let err = Calendar::load(Some(dir.path())).unwrap_err();
        assert!(
            err.to_string().contains("has no national/2027.toml"),
            "{err}"
        );
    }

    #[test]
    fn a_folder_without_calendar_data_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Calendar::load(Some(&dir.path().join("missing"))).unwrap_err();
        assert!(err.to_string().contains("national/ or regions/"), "{err}");
    }

    #[test]
    fn built_in_files_say_how_to_add_a_year() {
        for file in BUILTIN {
            assert!(file.text.contains("To add a new year"), "{}", file.file);
            if file.region.is_some() {
                assert!(file
                    .text
                    .contains("CHECK WITH THE REGIONAL GOVERNMENT'S NOTICE"));
            }
        }
    }

    #[test]
    fn estimates_run_past_the_data_and_say_so() {
        let cal = Calendar::builtin().unwrap();
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        // inside the data: the same as deadline, not provisional
        assert_eq!(
            cal.deadline_estimate(d(2026, 2, 10), 5, &[], Some("xizang"))
                .unwrap(),
            Some((
                cal.deadline(d(2026, 2, 10), 5, &[], Some("xizang"))
                    .unwrap()
                    .unwrap(),
                false
            ))
        );
        // 60 working days from late November 2026 end in 2027: weekdays, provisional
        let (due, provisional) = cal
            .deadline_estimate(d(2026, 11, 27), 60, &[], Some("xizang"))
            .unwrap()
            .unwrap();
        assert!(provisional);
        assert!(
            due.year() == 2027 && due.weekday() != Weekday::Sat && due.weekday() != Weekday::Sun,
            "{due}"
        );
        assert!(cal
            .deadline(d(2026, 11, 27), 60, &[], Some("xizang"))
            .is_err());
    }
}
