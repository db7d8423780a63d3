//! The project registry: construction projects a worker can name by the code on the site's
//! notice board (维权信息告示牌). Officers keep it as a spreadsheet and import it as CSV; the
//! whole file is checked before anything is written, and one bad row writes nothing.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::models::{NewProject, Project};
use crate::db::schema::projects;
use crate::db::{self, new_id, now, DbConn, DbError};
use crate::text::keyword::fold_width;
use crate::text::sheet::{Column, FirstLines, Header, Sheet};

/// A problem with one line of an import file (every import's).
pub use crate::text::sheet::Problem;

/// Sector departments a project can belong to (保障农民工工资支付条例).
pub const DEPARTMENTS: [&str; 9] = [
    "住建",
    "交通",
    "水利",
    "发改",
    "财政",
    "公安",
    "市场监管",
    "人社",
    "其他",
];

const CODE_LEN: std::ops::RangeInclusive<usize> = 2..=32;

const CODE: usize = 0;
const NAME_ZH: usize = 1;
const NAME_BO: usize = 2;
const COUNTY: usize = 3;
const DEPARTMENT: usize = 4;
const OWNER: usize = 5;
const CONTRACTOR: usize = 6;
const GOVERNMENT_INVESTED: usize = 7;

const COLUMNS: [Column; 8] = [
    Column::required("代码", "code"),
    Column::required("名称", "name_zh"),
    Column::optional("藏文名称", "name_bo"),
    Column::required("区县", "county"),
    Column::required("主管部门", "department"),
    Column::optional("建设单位", "owner"),
    Column::optional("施工总承包", "contractor"),
    Column::required("政府投资", "government_invested"),
];

/// One valid row of an import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRow {
    /// Line of the file the row starts on (the header is line 1).
    pub line: u64,
    pub code: String,
    pub name_zh: String,
    pub name_bo: Option<String>,
    pub county: String,
    pub department: String,
    pub owner: Option<String>,
    pub contractor: Option<String>,
    pub government_invested: bool,
}

impl ProjectRow {
    fn matches(&self, p: &Project) -> bool {
        self.code == p.code
            && self.name_zh == p.name_zh
            && self.name_bo == p.name_bo
            && self.county == p.county
            && self.department == p.department
            && self.owner == p.owner
            && self.contractor == p.contractor
            && self.government_invested == p.government_invested
    }

    fn as_new<'a>(
        &'a self,
        id: &'a str,
        created_at: chrono::NaiveDateTime,
        updated_at: chrono::NaiveDateTime,
    ) -> NewProject<'a> {
        NewProject {
            id,
            code: &self.code,
            name_zh: &self.name_zh,
            name_bo: self.name_bo.as_deref(),
            county: &self.county,
            department: &self.department,
            owner: self.owner.as_deref(),
            contractor: self.contractor.as_deref(),
            government_invested: self.government_invested,
            created_at,
            updated_at,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file has bad rows (or a bad header); nothing was written.
    #[error("{} problem(s) in the file, nothing was imported:{}", .0.len(), lines(.0))]
    Invalid(Vec<Problem>),
    #[error("cannot read the file: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

fn lines(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("\n{p}")).collect()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Codes not in the registry before.
    pub inserted: usize,
    /// Codes already registered whose details changed.
    pub updated: usize,
    /// Codes already registered with the same details (left untouched).
    pub unchanged: usize,
}

/// Imports a registry file: CSV, UTF-8 with or without a BOM, a header row naming the columns
/// in Chinese or English in any order. New codes are inserted and known codes updated, all in
/// one transaction; if any row is bad nothing is written and every bad line is reported.
pub fn import_csv<R: std::io::Read>(
    conn: &mut DbConn,
    mut reader: R,
) -> Result<ImportReport, ImportError> {
    // Registry files are small; reading them whole lets the BOM go before the CSV parser.
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let rows = parse_csv(&bytes).map_err(ImportError::Invalid)?;
    Ok(write(conn, &rows)?)
}

fn write(conn: &mut DbConn, rows: &[ProjectRow]) -> Result<ImportReport, DbError> {
    db::transaction(conn, |conn| {
        // Two imports at once on PostgreSQL would both insert a new code; one waits instead.
        db::lock_key(conn, "projects:import")?;
        let known: HashMap<String, Project> = projects::table
            .select(Project::as_select())
            .load(conn)?
            .into_iter()
            .map(|p| (p.code.clone(), p))
            .collect();
        let t = now();
        let mut report = ImportReport::default();
        for row in rows {
            match known.get(&row.code) {
                None => {
                    diesel::insert_into(projects::table)
                        .values(row.as_new(&new_id(), t, t))
                        .execute(conn)?;
                    report.inserted += 1;
                }
                Some(p) if row.matches(p) => report.unchanged += 1,
                Some(p) => {
                    diesel::update(projects::table.find(&p.id))
                        .set(row.as_new(&p.id, p.created_at, t))
                        .execute(conn)?;
                    report.updated += 1;
                }
            }
        }
        Ok(report)
    })
}

/// Checks a whole file without touching the database: the rows, or every problem found.
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<ProjectRow>, Vec<Problem>> {
    let mut sheet = Sheet::open(bytes, &COLUMNS)?;
    let mut codes = FirstLines::default();
    let mut rows = Vec::new();
    while let Some(r) = sheet.next_row() {
        let checked = validate_row(sheet.header(), &r.cells, r.line).and_then(|row| {
            codes
                .once(row.code.clone(), r.line, || {
                    format!("code \"{}\"", row.code)
                })
                .map_err(|m| vec![m])?;
            Ok(row)
        });
        rows.extend(sheet.take(r.line, checked));
    }
    sheet.finish(rows)
}

/// The header as the tests read it.
#[cfg(test)]
fn parse_header(cells: &[&str]) -> Result<Header, Vec<String>> {
    Header::parse(&COLUMNS, cells)
}

/// Checks one data row (starting on `line`) against the header.
fn validate_row<S: AsRef<str>>(
    header: &Header,
    fields: &[S],
    line: u64,
) -> Result<ProjectRow, Vec<String>> {
    let mut problems: Vec<String> = header.extra_values(fields).into_iter().collect();
    let value = |field: usize| header.value(fields, field);
    let optional = |field: usize| {
        Some(value(field))
            .filter(|v| !v.is_empty())
            .map(String::from)
    };
    let mut required = |field: usize| -> String {
        let v = value(field);
        if v.is_empty() {
            problems.push(format!("{} is empty", header.name(field)));
        }
        v.to_string()
    };
    let code_raw = required(CODE);
    let name_zh = required(NAME_ZH);
    let county = required(COUNTY);
    let department = required(DEPARTMENT);
    let invested_raw = required(GOVERNMENT_INVESTED);

    let code = normalize_code(&code_raw);
    if !code_raw.is_empty() {
        if let Err(m) = check_code(&code) {
            problems.push(format!("{} \"{code_raw}\" {m}", header.name(CODE)));
        }
    }
    if !department.is_empty() && !DEPARTMENTS.contains(&department.as_str()) {
        problems.push(format!(
            "{} \"{department}\" is not one of {}",
            header.name(DEPARTMENT),
            DEPARTMENTS.join(", ")
        ));
    }
    let government_invested = match parse_yes_no(&invested_raw) {
        Some(b) => b,
        None => {
            if !invested_raw.is_empty() {
                problems.push(format!(
                    "{} \"{invested_raw}\" is not one of 是, 否, yes, no, true, false, 1, 0, Y, N",
                    header.name(GOVERNMENT_INVESTED)
                ));
            }
            false
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(ProjectRow {
        line,
        code,
        name_zh,
        name_bo: optional(NAME_BO),
        county,
        department,
        owner: optional(OWNER),
        contractor: optional(CONTRACTOR),
        government_invested,
    })
}

/// A project code as stored and looked up: trimmed, full-width forms folded (as a Chinese input
/// method types them), upper case.
pub fn normalize_code(raw: &str) -> String {
    raw.trim()
        .chars()
        .map(fold_width)
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Whether a normalised code is one a worker can type back: 2–32 of A–Z, 0–9 and `-`.
fn check_code(code: &str) -> Result<(), String> {
    if !code
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("may contain only letters A-Z, digits 0-9 and \"-\"".into());
    }
    if !CODE_LEN.contains(&code.len()) {
        return Err(format!(
            "must be {} to {} characters long",
            CODE_LEN.start(),
            CODE_LEN.end()
        ));
    }
    Ok(())
}

/// 是/否, yes/no, true/false, 1/0, Y/N (Latin in any case).
pub(crate) fn parse_yes_no(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "是" | "yes" | "true" | "1" | "y" => Some(true),
        "否" | "no" | "false" | "0" | "n" => Some(false),
        _ => None,
    }
}

/// The registry entry for a code a worker typed from a site notice board.
pub fn get_by_code(conn: &mut DbConn, code: &str) -> Result<Option<Project>, DbError> {
    Ok(projects::table
        .filter(projects::code.eq(normalize_code(code)))
        .select(Project::as_select())
        .first(conn)
        .optional()?)
}

/// A project by its id.
pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<Project>, DbError> {
    Ok(projects::table
        .find(id)
        .select(Project::as_select())
        .first(conn)
        .optional()?)
}

/// The codes of these projects, by id, in one query.
pub fn codes_of(conn: &mut DbConn, ids: &[&str]) -> Result<HashMap<String, String>, DbError> {
    Ok(projects::table
        .filter(projects::id.eq_any(ids))
        .select((projects::id, projects::code))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// Every project, by code, of a county and of a department when given.
pub fn all(
    conn: &mut DbConn,
    county: Option<&str>,
    department: Option<&str>,
) -> Result<Vec<Project>, DbError> {
    let mut b = projects::table.into_boxed();
    if let Some(county) = county {
        b = b.filter(projects::county.eq(county));
    }
    if let Some(d) = department {
        b = b.filter(projects::department.eq(d));
    }
    Ok(b.order(projects::code)
        .select(Project::as_select())
        .load(conn)?)
}

/// Projects by code, optionally of one county, `limit` at a time from `offset`.
pub fn list(
    conn: &mut DbConn,
    county: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Project>, DbError> {
    let mut q = projects::table
        .select(Project::as_select())
        .order(projects::code)
        .limit(limit)
        .offset(offset)
        .into_boxed();
    if let Some(c) = county {
        q = q.filter(projects::county.eq(c));
    }
    Ok(q.load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER_ZH: &str = "代码,名称,藏文名称,区县,主管部门,建设单位,施工总承包,政府投资";

    fn header(cells: &str) -> Header {
        parse_header(&cells.split(',').collect::<Vec<_>>()).unwrap()
    }

    fn row(h: &Header, line: &str) -> Result<ProjectRow, Vec<String>> {
        validate_row(h, &line.split(',').collect::<Vec<_>>(), 0)
    }

    fn messages(csv: &str) -> Vec<String> {
        parse_csv(csv.as_bytes())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn codes_are_normalised_and_checked() {
        assert_eq!(normalize_code("  p2026-001 "), "P2026-001");
        assert_eq!(normalize_code("ｐ２０２６－００１"), "P2026-001");
        assert!(check_code("P2026-001").is_ok());
        assert!(check_code("AB").is_ok());
        assert!(check_code(&"A".repeat(32)).is_ok());
        assert!(check_code("A").unwrap_err().contains("2 to 32"));
        assert!(check_code(&"A".repeat(33)).unwrap_err().contains("2 to 32"));
        for bad in ["P 001", "P_001", "P/001", "项目1", "P.1"] {
            assert!(
                check_code(bad).unwrap_err().contains("only letters"),
                "{bad}"
            );
        }
    }

    #[test]
    fn yes_and_no_in_every_accepted_form() {
        for yes in ["是", "yes", "YES", "True", "1", "y", "Y", " 是 "] {
            assert_eq!(parse_yes_no(yes), Some(true), "{yes}");
        }
        for no in ["否", "no", "No", "FALSE", "0", "n", "N"] {
            assert_eq!(parse_yes_no(no), Some(false), "{no}");
        }
        for bad in ["", "maybe", "对", "不是", "2", "yes!"] {
            assert_eq!(parse_yes_no(bad), None, "{bad}");
        }
    }

    #[test]
    fn headers_in_chinese_or_english_in_any_order() {
        let zh = header(HEADER_ZH);
        let en = header("Government_Invested,department,county,name_zh,code");
        let r_zh = row(&zh, "p-1,北环路,,城关区,交通,,,是").unwrap();
        let r_en = row(&en, "yes,交通,城关区,北环路,p-1").unwrap();
        assert_eq!(r_zh, r_en);
        assert_eq!(
            r_zh,
            ProjectRow {
                line: 0,
                code: "P-1".into(),
                name_zh: "北环路".into(),
                name_bo: None,
                county: "城关区".into(),
                department: "交通".into(),
                owner: None,
                contractor: None,
                government_invested: true,
            }
        );
    }

    #[test]
    fn a_bad_header_names_what_is_missing_unknown_or_twice() {
        let e = parse_header(&["代码", "code", "名称", "备注", "", "区县"]).unwrap_err();
        assert!(
            e.iter().any(|m| m.contains("\"代码\" and \"code\"")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.contains("unknown column \"备注\"")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m == "no column 主管部门 (department)"),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|m| m.contains("政府投资 (government_invested)")),
            "{e:?}"
        );
        assert!(
            !e.iter().any(|m| m.starts_with("no column 藏文名称")),
            "optional: {e:?}"
        );
    }

    #[test]
    fn every_problem_of_a_row_is_named_with_the_files_column_name() {
        let zh = header(HEADER_ZH);
        let e = row(&zh, "P 1,,,城关区,住房,,,maybe").unwrap_err();
        assert_eq!(
            e,
            vec![
                "名称 is empty".to_string(),
                "代码 \"P 1\" may contain only letters A-Z, digits 0-9 and \"-\"".into(),
                "主管部门 \"住房\" is not one of 住建, 交通, 水利, 发改, 财政, 公安, 市场监管, 人社, 其他"
                    .into(),
                "政府投资 \"maybe\" is not one of 是, 否, yes, no, true, false, 1, 0, Y, N".into(),
            ]
        );
        let en = header("code,name_zh,county,department,government_invested");
        assert_eq!(
            row(&en, "P-1,北环路,城关区,交通,").unwrap_err(),
            vec!["government_invested is empty".to_string()]
        );
        assert!(row(&en, "P-1,北环路,城关区,交通,是,,").is_ok());
        assert_eq!(
            row(&en, "P-1,北环路,城关区,交通,是,extra").unwrap_err(),
            vec![
                "6 values but the header has 5 columns (a value with a comma needs quotes)"
                    .to_string()
            ]
        );
    }

    #[test]
    fn departments_are_accepted_exactly() {
        let en = header("code,name_zh,county,department,government_invested");
        for d in DEPARTMENTS {
            assert_eq!(row(&en, &format!("P-1,x,y,{d},否")).unwrap().department, d);
        }
        for bad in ["住房", "住建局", "交通运输", "other", "人社局"] {
            assert!(row(&en, &format!("P-1,x,y,{bad},否")).is_err(), "{bad}");
        }
        // surrounding spaces are not part of the value
        assert_eq!(row(&en, "P-1,x,y, 水利 ,否").unwrap().department, "水利");
    }

    #[test]
    fn lines_are_counted_in_the_file_with_bom_blank_rows_and_quoted_newlines() {
        let csv = "\u{FEFF}代码,名称,区县,主管部门,政府投资\n\
                   P-1,北环路,城关区,交通,是\n\
                   \n\
                   P-2,\"两行\n的名称\",城关区,住建,否\n\
                   ,,,,\n\
                   p-1,又一个,城关区,住房,是\n\
                   \r\n\
                   \r\n\
                   P-3,,城关区,水利,否\r\n";
        assert_eq!(
            messages(csv),
            vec![
                "line 7: 主管部门 \"住房\" is not one of 住建, 交通, 水利, 发改, 财政, 公安, 市场监管, 人社, 其他",
                "line 10: 名称 is empty",
            ]
        );
        let ok = "\u{FEFF}代码,名称,区县,主管部门,政府投资\n\
                  P-1,北环路,城关区,交通,是\n\
                  \n\
                  P-2,\"两行\n的名称\",城关区,住建,否\n";
        let rows = parse_csv(ok.as_bytes()).unwrap();
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 4]);
        assert_eq!(rows[1].name_zh, "两行\n的名称");
    }

    #[test]
    fn a_code_twice_names_both_lines_even_in_other_case() {
        let csv = "code,name_zh,county,department,government_invested\n\
                   P-001,a,b,交通,是\n\
                   P-002,a,b,交通,是\n\
                   p-001 ,c,d,水利,否\n";
        assert_eq!(
            messages(csv),
            ["line 4: code \"P-001\" appears twice (also line 2)"]
        );
    }

    #[test]
    fn files_that_are_not_a_registry() {
        assert_eq!(parse_csv(b"").unwrap(), vec![], "nothing to import");
        // GBK, as Excel saves "CSV" on a Chinese Windows
        let gbk: &[u8] = b"\xb4\xfa\xc2\xeb,\xc3\xfb\xb3\xc6\n";
        let e = parse_csv(gbk).unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(e[0].to_string().starts_with("line 1: not UTF-8"), "{e:?}");
        // a header alone is an empty registry, not an error
        assert_eq!(parse_csv(HEADER_ZH.as_bytes()).unwrap(), vec![]);
    }
}
