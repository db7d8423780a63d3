//! `hotline placements import` and `hotline trainings import`: placements and training courses
//! from the spreadsheets brokers and training providers hand the bureau, read as every import
//! is (`text::sheet`: CSV UTF-8, Chinese or English headers in any order). The whole file is
//! checked first, with the checks of the console and the API (`placements::check`); one bad row
//! writes nothing, and every problem is listed by its line, naming the column as the file does.
//! Then everything is recorded in one transaction. A placement or a trainee already recorded
//! is recorded once, so importing a file twice records nothing new.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};

use super::placements::{
    self, FieldError, PlacementInput, Rules, TrainingInput, Valid, MAX_DAYS_AHEAD, MAX_DAYS_BACK,
    MAX_NAME_CHARS, MAX_PLACE_CHARS,
};
use super::PlacementSource;
use crate::alerts::Trade;
use crate::db::{self, DbConn, DbError};
use crate::projects::{ImportError, Problem};
use crate::text::sheet::{column_of, parse_date, Column, FirstLines, Header, Row, Sheet};
use crate::AppState;

const PHONE: usize = 0;
const EMPLOYER: usize = 1;
const PROJECT_CODE: usize = 2;
const NOTICE_CODE: usize = 3;
const AGENCY: usize = 4;
const COUNTY: usize = 5;
const PLACE_OUTSIDE: usize = 6;
const TRADE: usize = 7;
const START_ON: usize = 8;

/// A placements file's columns. The English names are `PlacementInput`'s fields, so a check's
/// field names its column.
pub const PLACEMENT_COLUMNS: [Column; 9] = [
    Column::required("电话", "phone"),
    Column::optional("用工单位", "employer"),
    Column::optional("项目编号", "project_code"),
    Column::optional("招工信息编号", "notice_code"),
    Column::optional("经纪机构", "agency"),
    Column::optional("县区", "county"),
    Column::optional("外地务工地", "place_outside"),
    Column::optional("工种", "trade"),
    Column::required("开始日期", "start_on"),
];

const COURSE: usize = 0;
const PROVIDER: usize = 1;
const COURSE_TRADE: usize = 2;
const END_ON: usize = 3;
const TRAINEE_PHONE: usize = 4;

/// A trainings file's columns: one row per trainee.
pub const TRAINING_COLUMNS: [Column; 5] = [
    Column::required("培训项目", "course"),
    Column::required("培训机构", "provider"),
    Column::optional("工种", "trade"),
    Column::required("结业日期", "end_on"),
    Column::required("电话", "phone"),
];

/// What importing placements did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PlacementsImported {
    pub recorded: usize,
    /// The same placement (worker, employer, start) was recorded before.
    pub known: usize,
}

/// Imports a placements file: checks every row, then records them all in one transaction
/// (source `import`, by `actor`), each with its follow-ups.
pub fn placements<R: std::io::Read>(
    conn: &mut DbConn,
    state: &AppState,
    mut reader: R,
    actor: &str,
) -> Result<PlacementsImported, ImportError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let now = state.time.now();
    let rows =
        check_placements(conn, &Rules::at(state, now), &bytes)?.map_err(ImportError::Invalid)?;
    let cfg = &state.config.followups;
    let offset = state.config.utc_offset_secs();
    let done = db::transaction(conn, |conn| {
        let mut done = PlacementsImported::default();
        for v in &rows {
            let r = placements::record(conn, cfg, offset, v, PlacementSource::Import, actor, now)?;
            if r.created {
                done.recorded += 1;
            } else {
                done.known += 1;
            }
        }
        Ok::<_, DbError>(done)
    })?;
    Ok(done)
}

/// Checks a placements file against `rules` and the registry (project and notice codes),
/// writing nothing: the placements, or every problem found.
pub fn check_placements(
    conn: &mut DbConn,
    rules: &Rules,
    bytes: &[u8],
) -> Result<Result<Vec<Valid>, Vec<Problem>>, DbError> {
    let mut sheet = match Sheet::open(bytes, &PLACEMENT_COLUMNS) {
        Ok(s) => s,
        Err(problems) => return Ok(Err(problems)),
    };
    let mut seen = FirstLines::default();
    let mut rows = Vec::new();
    while let Some(r) = sheet.next_row() {
        let h = sheet.header();
        let checked = match h.extra_values(&r.cells) {
            Some(m) => Err(vec![m]),
            None => match placements::check(conn, rules, &placement_input(h, &r))? {
                Ok(v) => once_in_file(&mut seen, h, &r, v),
                Err(errors) => Err(errors
                    .iter()
                    .map(|e| placement_message(h, &r, rules, e))
                    .collect()),
            },
        };
        rows.extend(sheet.take(r.line, checked));
    }
    Ok(sheet.finish(rows))
}

/// A row as the form and the API would give it. A date as a spreadsheet writes it
/// (`2026/3/1`) is passed on as `2026-03-01`.
fn placement_input(h: &Header, r: &Row) -> PlacementInput {
    let text = |c| h.value(&r.cells, c).to_string();
    let given = |c| Some(text(c)).filter(|v| !v.is_empty());
    let start_on = text(START_ON);
    PlacementInput {
        phone: text(PHONE),
        employer: text(EMPLOYER),
        project_code: given(PROJECT_CODE),
        notice_code: given(NOTICE_CODE),
        agency: given(AGENCY),
        county: given(COUNTY),
        place_outside: given(PLACE_OUTSIDE),
        trade: given(TRADE),
        start_on: parse_date(&start_on).map_or(start_on, |d| d.to_string()),
    }
}

/// A placement on an earlier line too (the same worker, employer and start) is a problem: the
/// second would be recorded as the first.
fn once_in_file(
    seen: &mut FirstLines,
    h: &Header,
    r: &Row,
    v: Valid,
) -> Result<Valid, Vec<String>> {
    let employer = crate::cases::rules::employer_key(v.project_id.as_deref(), &v.employer);
    seen.once(
        format!("{} {employer} {}", v.phone, v.start_on),
        r.line,
        || {
            format!(
                "{} \"{}\" with {} from {}",
                h.name(PHONE),
                h.value(&r.cells, PHONE),
                v.employer,
                v.start_on
            )
        },
    )
    .map_err(|m| vec![m])?;
    Ok(v)
}

/// A check's code as a sentence naming the column as the file does.
fn placement_message(h: &Header, r: &Row, rules: &Rules, e: &FieldError) -> String {
    // The checks' field names are the columns' English names.
    let Some(c) = column_of(&PLACEMENT_COLUMNS, e.field) else {
        return format!("{}: {}", e.field, e.code);
    };
    let name = h.name(c);
    let raw = h.value(&r.cells, c);
    match (e.code, c) {
        ("required", EMPLOYER) => format!(
            "{name} is empty, and no {} or {} names the employer",
            h.name(PROJECT_CODE),
            h.name(NOTICE_CODE)
        ),
        ("required", _) => format!("{name} is empty"),
        ("bad_phone", _) => match crate::text::normalize_phone(raw, rules.country_code) {
            Err(why) => format!("{name} \"{raw}\" is not a phone number: {why}"),
            Ok(_) => format!("{name} \"{raw}\" is not a phone number"),
        },
        ("too_long", PLACE_OUTSIDE) => {
            format!("{name} is longer than {MAX_PLACE_CHARS} characters")
        }
        ("too_long", _) => format!("{name} is longer than {MAX_NAME_CHARS} characters"),
        ("unknown_project", _) => format!(
            "{name} \"{raw}\" is not in the project registry (hotline projects import adds it)"
        ),
        ("unknown_notice", _) => format!("{name} \"{raw}\" is not the code of a job notice"),
        ("unknown_county", _) if raw.is_empty() => format!(
            "the county of {} \"{}\" is not one of the counties ({}); give {}",
            h.name(PROJECT_CODE),
            h.value(&r.cells, PROJECT_CODE),
            counties(rules),
            name
        ),
        ("unknown_county", _) => {
            format!("{name} \"{raw}\" is not one of the counties: {}", counties(rules))
        }
        ("place_needed", _) => format!(
            "say where: {name} (one of the counties) or {} (a place outside Tibet)",
            h.name(PLACE_OUTSIDE)
        ),
        ("county_or_outside", _) => format!(
            "{} and {name} are both given: the work is in one of the counties or outside Tibet, not both",
            h.name(COUNTY)
        ),
        ("unknown_trade", _) => trade_message(name, raw, rules),
        ("too_far", _) => format!("{name} \"{raw}\" is more than {MAX_DAYS_AHEAD} days ahead"),
        ("too_old", _) => format!("{name} \"{raw}\" is more than two years ago"),
        ("bad_date", _) => format!("{name} \"{raw}\" is not a date like 2026-03-01"),
        (code, _) => format!("{name} \"{raw}\": {code}"),
    }
}

fn counties(rules: &Rules) -> String {
    rules
        .counties
        .iter()
        .map(|c| c.zh.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn trade_message(name: &str, raw: &str, rules: &Rules) -> String {
    format!(
        "{name} \"{raw}\" is not a trade; the trades are {}",
        Trade::names(rules.trades)
    )
}

/// What importing trainings did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TrainingsImported {
    /// Courses in the file (a course is its name, provider and end date).
    pub courses: usize,
    pub trainees_recorded: usize,
    /// Already recorded on that course.
    pub trainees_known: usize,
}

/// Imports a trainings file: checks every row, then records each course with its trainees in
/// one transaction (by `actor`), scheduling each new trainee's follow-ups.
pub fn trainings<R: std::io::Read>(
    conn: &mut DbConn,
    state: &AppState,
    mut reader: R,
    actor: &str,
) -> Result<TrainingsImported, ImportError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let now = state.time.now();
    let courses = parse_trainings(&Rules::at(state, now), &bytes).map_err(ImportError::Invalid)?;
    let cfg = &state.config.followups;
    let offset = state.config.utc_offset_secs();
    let done = db::transaction(conn, |conn| {
        let mut done = TrainingsImported {
            courses: courses.len(),
            ..TrainingsImported::default()
        };
        for t in &courses {
            let r = placements::record_training(conn, cfg, offset, t, actor, now)?;
            done.trainees_recorded += r.trainees_added;
            done.trainees_known += r.trainees_known;
        }
        Ok::<_, DbError>(done)
    })?;
    Ok(done)
}

/// One checked row of a trainings file.
struct Trainee {
    course: String,
    provider: String,
    trade: Option<String>,
    end_on: NaiveDate,
    phone: String,
}

/// Checks a trainings file without touching the database: its courses, rows of the same
/// course, provider and end date together, in the order they first appear; or every problem.
pub fn parse_trainings(rules: &Rules, bytes: &[u8]) -> Result<Vec<TrainingInput>, Vec<Problem>> {
    let mut sheet = Sheet::open(bytes, &TRAINING_COLUMNS)?;
    let mut courses: Vec<TrainingInput> = Vec::new();
    // Each course's place in `courses`, with the line it first appears on and its trade there.
    let mut course_at: HashMap<(String, String, NaiveDate), (usize, u64, String)> = HashMap::new();
    let mut seen = FirstLines::default();
    while let Some(r) = sheet.next_row() {
        let h = sheet.header();
        let checked = check_trainee(rules, h, &r).and_then(|t| {
            let key = (t.course.clone(), t.provider.clone(), t.end_on);
            seen.once(
                format!("{:?}", (&t.course, &t.provider, t.end_on, &t.phone)),
                r.line,
                || {
                    format!(
                        "{} \"{}\" on {} ({}, ending {})",
                        h.name(TRAINEE_PHONE),
                        h.value(&r.cells, TRAINEE_PHONE),
                        t.course,
                        t.provider,
                        t.end_on
                    )
                },
            )
            .map_err(|m| vec![m])?;
            match course_at.get(&key) {
                Some((i, first, trade)) if courses[*i].trade != t.trade => Err(vec![format!(
                    "{} \"{}\" is not line {first}'s \"{trade}\" for the same course",
                    h.name(COURSE_TRADE),
                    h.value(&r.cells, COURSE_TRADE),
                )]),
                _ => Ok((key, t)),
            }
        });
        if let Some((key, t)) = sheet.take(r.line, checked) {
            let trade = sheet.header().value(&r.cells, COURSE_TRADE).to_string();
            let i = course_at
                .entry(key)
                .or_insert_with(|| {
                    courses.push(TrainingInput {
                        course: t.course,
                        provider: t.provider,
                        trade: t.trade,
                        end_on: t.end_on,
                        phones: Vec::new(),
                    });
                    (courses.len() - 1, r.line, trade)
                })
                .0;
            courses[i].phones.push(t.phone);
        }
    }
    sheet.finish(courses)
}

/// One trainee's row: the course, its provider and trade (a code), its end, the phone.
fn check_trainee(rules: &Rules, h: &Header, r: &Row) -> Result<Trainee, Vec<String>> {
    if let Some(m) = h.extra_values(&r.cells) {
        return Err(vec![m]);
    }
    let mut problems = Vec::new();
    let value = |c| h.value(&r.cells, c);
    let mut name = |c| {
        let v = value(c);
        if v.is_empty() {
            problems.push(format!("{} is empty", h.name(c)));
        } else if v.chars().count() > MAX_NAME_CHARS {
            problems.push(format!(
                "{} is longer than {MAX_NAME_CHARS} characters",
                h.name(c)
            ));
        }
        v.to_string()
    };
    let course = name(COURSE);
    let provider = name(PROVIDER);
    let trade = match value(COURSE_TRADE) {
        "" => None,
        v => {
            let t = Trade::find(rules.trades, v);
            if t.is_none() {
                problems.push(trade_message(h.name(COURSE_TRADE), v, rules));
            }
            t.map(|t| t.code.clone())
        }
    };
    let end_on = match value(END_ON) {
        "" => {
            problems.push(format!("{} is empty", h.name(END_ON)));
            None
        }
        v => match parse_date(v) {
            None => {
                problems.push(format!(
                    "{} \"{v}\" is not a date like 2026-03-01",
                    h.name(END_ON)
                ));
                None
            }
            Some(d) if d > rules.today + Duration::days(MAX_DAYS_AHEAD) => {
                problems.push(format!(
                    "{} \"{v}\" is more than {MAX_DAYS_AHEAD} days ahead",
                    h.name(END_ON)
                ));
                None
            }
            Some(d) if d < rules.today - Duration::days(MAX_DAYS_BACK) => {
                problems.push(format!(
                    "{} \"{v}\" is more than two years ago",
                    h.name(END_ON)
                ));
                None
            }
            d => d,
        },
    };
    let phone = match value(TRAINEE_PHONE) {
        "" => {
            problems.push(format!("{} is empty", h.name(TRAINEE_PHONE)));
            String::new()
        }
        v => match crate::text::normalize_phone(v, rules.country_code) {
            Ok(p) => p,
            Err(why) => {
                problems.push(format!(
                    "{} \"{v}\" is not a phone number: {why}",
                    h.name(TRAINEE_PHONE)
                ));
                String::new()
            }
        },
    };
    match end_on {
        Some(end_on) if problems.is_empty() => Ok(Trainee {
            course,
            provider,
            trade,
            end_on,
            phone,
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> (Vec<crate::places::County>, Vec<crate::alerts::Trade>) {
        (
            crate::places::default_counties(),
            crate::alerts::default_trades(),
        )
    }

    fn parse(csv: &str) -> Result<Vec<TrainingInput>, Vec<String>> {
        let (counties, trades) = rules();
        let rules = Rules {
            counties: &counties,
            trades: &trades,
            country_code: "86",
            today: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        };
        parse_trainings(&rules, csv.as_bytes())
            .map_err(|ps| ps.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn trainees_of_one_course_make_one_course_in_either_language() {
        let zh = "培训项目,培训机构,工种,结业日期,电话\n\
                  挖掘机操作,拉萨市职业技能培训中心,建筑,2026-05-30,13900000001\n\
                  藏式家具制作,曲水县职校,民族手工艺,2026/5/20,13900000002\n\
                  挖掘机操作,拉萨市职业技能培训中心,建筑,2026-05-30,139 0000 0003\n";
        let en = "Phone,end_on,course,provider,trade\n\
                  +8613900000001,2026-05-30,挖掘机操作,拉萨市职业技能培训中心,construction\n\
                  13900000002,2026年5月20日,藏式家具制作,曲水县职校,handicraft\n\
                  13900000003,2026.05.30,挖掘机操作,拉萨市职业技能培训中心,construction\n";
        let a = parse(zh).unwrap();
        let b = parse(en).unwrap();
        for courses in [&a, &b] {
            assert_eq!(courses.len(), 2);
            assert_eq!(courses[0].course, "挖掘机操作");
            assert_eq!(courses[0].trade.as_deref(), Some("construction"));
            assert_eq!(courses[0].phones, ["+8613900000001", "+8613900000003"]);
            assert_eq!(
                courses[1].end_on,
                NaiveDate::from_ymd_opt(2026, 5, 20).unwrap()
            );
            assert_eq!(courses[1].phones, ["+8613900000002"]);
        }
    }

    #[test]
    fn every_bad_trainee_row_is_named_by_line_and_column() {
        let csv = "培训项目,培训机构,工种,结业日期,电话\n\
                   挖掘机操作,拉萨市职业技能培训中心,建筑,2026-05-30,13900000001\n\
                   ,拉萨市职业技能培训中心,挖掘,2026-13-01,12345\n\
                   挖掘机操作,拉萨市职业技能培训中心,运输,2026-05-30,13900000004\n\
                   挖掘机操作,拉萨市职业技能培训中心,建筑,2026-05-30,139-0000-0001\n\
                   挖掘机操作,拉萨市职业技能培训中心,建筑,2027-05-30,13900000005\n";
        assert_eq!(
            parse(csv).unwrap_err(),
            [
                "line 3: 培训项目 is empty",
                "line 3: 工种 \"挖掘\" is not a trade; the trades are 建筑、运输、家政、民族手工艺、餐饮、保安保洁、农牧、旅游、其他",
                "line 3: 结业日期 \"2026-13-01\" is not a date like 2026-03-01",
                "line 3: 电话 \"12345\" is not a phone number: the phone number is too short",
                "line 4: 工种 \"运输\" is not line 2's \"建筑\" for the same course",
                "line 5: 电话 \"139-0000-0001\" on 挖掘机操作 (拉萨市职业技能培训中心, ending 2026-05-30) appears twice (also line 2)",
                "line 6: 结业日期 \"2027-05-30\" is more than 90 days ahead",
            ]
        );
    }

    #[test]
    fn a_trainings_file_needs_its_columns() {
        assert_eq!(
            parse("course,phone\nx,13900000001\n").unwrap_err(),
            [
                "line 1: no column 培训机构 (provider)",
                "line 1: no column 结业日期 (end_on)",
            ]
        );
    }

    #[test]
    fn spreadsheet_dates_reach_the_checks_as_iso_dates() {
        let csv = "电话,开始日期,用工单位\n13900000001,2026/3/1,扎西建筑队\n";
        let mut sheet = Sheet::open(csv.as_bytes(), &PLACEMENT_COLUMNS).unwrap();
        let r = sheet.next_row().unwrap();
        let input = placement_input(sheet.header(), &r);
        assert_eq!(input.start_on, "2026-03-01");
        assert_eq!(input.county, None);
        assert_eq!(input.employer, "扎西建筑队");
    }

    #[test]
    fn every_check_reads_as_a_sentence_naming_the_files_column() {
        let (counties, trades) = rules();
        let rules = Rules {
            counties: &counties,
            trades: &trades,
            country_code: "86",
            today: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        };
        let csv = "phone,employer,county,place_outside,start_on,trade\n\
                   12,,拉萨县,成都,2030-01-01,挖掘\n";
        let mut sheet = Sheet::open(csv.as_bytes(), &PLACEMENT_COLUMNS).unwrap();
        let r = sheet.next_row().unwrap();
        let h = sheet.header();
        let say = |field, code| placement_message(h, &r, &rules, &FieldError { field, code });
        assert_eq!(
            say("phone", "bad_phone"),
            "phone \"12\" is not a phone number: the phone number is too short"
        );
        assert_eq!(
            say("employer", "required"),
            "employer is empty, and no 项目编号 (project_code) or 招工信息编号 (notice_code) names the employer"
        );
        assert!(say("county", "unknown_county")
            .starts_with("county \"拉萨县\" is not one of the counties: 城关区, 堆龙德庆区"));
        assert_eq!(
            say("place_outside", "county_or_outside"),
            "county and place_outside are both given: the work is in one of the counties or outside Tibet, not both"
        );
        assert_eq!(
            say("start_on", "too_far"),
            "start_on \"2030-01-01\" is more than 90 days ahead"
        );
        assert!(say("trade", "unknown_trade").starts_with("trade \"挖掘\" is not a trade"));
        assert_eq!(say("nothing", "odd"), "nothing: odd");
    }
}
