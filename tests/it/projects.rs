//! The project registry import, through the library and through `hotline projects import`,
//! on whichever backend TEST_DATABASE_URL chooses.

use diesel::prelude::*;
use hotline::db::models::Project;
use hotline::db::schema::projects;
use hotline::projects::{get_by_code, import_csv, list, ImportError, ImportReport};

use crate::support::db::TestDb;
use crate::support::process::hotline_command as hotline;

const EXAMPLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/projects.csv"
));
const EXAMPLE_ROWS: usize = 5;

/// Every row as stored, timestamps and ids included, in code order.
fn snapshot(tdb: &TestDb) -> Vec<serde_json::Value> {
    projects::table
        .order(projects::code)
        .select(Project::as_select())
        .load(&mut *tdb.db.get().unwrap())
        .unwrap()
        .iter()
        .map(|p| serde_json::to_value(p).unwrap())
        .collect()
}

fn import(tdb: &TestDb, csv: &str) -> Result<ImportReport, ImportError> {
    import_csv(&mut tdb.db.get().unwrap(), csv.as_bytes())
}

fn project(tdb: &TestDb, code: &str) -> Project {
    get_by_code(&mut tdb.db.get().unwrap(), code)
        .unwrap()
        .unwrap_or_else(|| panic!("{code} not registered"))
}

/// The example with P2026-003's contractor changed and a Tibetan name added.
fn example_with_p003_changed() -> String {
    let changed = EXAMPLE.replace(
        "P2026-003,曲水县农田水利灌溉工程,,曲水县,水利,曲水县水利局,西藏示例水电工程有限公司,是",
        "P2026-003,曲水县农田水利灌溉工程,ཆུ་ཤུར་ཞིང་ཆུ,曲水县,水利,曲水县水利局,西藏另一水电工程有限公司,是",
    );
    assert_ne!(changed, EXAMPLE, "the example no longer has that row");
    changed
}

/// Four kinds of bad row between good ones, one of them a change to a known project.
const BAD: &str = "\
代码,名称,藏文名称,区县,主管部门,建设单位,施工总承包,政府投资
P2026-001,拉萨北环路改造工程（改名）,,城关区,交通,,,是
P2026-101,新的好项目,,城关区,住建,,,否
P2026-102,坏的部门,,城关区,住房,,,是
P2026-001,重复的代码,,城关区,交通,,,是
P2026-103,,,曲水县,水利,,,是
P2026-104,政府投资写错,,达孜区,发改,,,也许
";

fn assert_bad_lines(problems: &[String]) {
    assert_eq!(
        problems,
        [
            "line 4: 主管部门 \"住房\" is not one of 住建, 交通, 水利, 发改, 财政, 公安, 市场监管, 人社, 其他",
            "line 5: code \"P2026-001\" appears twice (also line 2)",
            "line 6: 名称 is empty",
            "line 7: 政府投资 \"也许\" is not one of 是, 否, yes, no, true, false, 1, 0, Y, N",
        ]
    );
}

#[test]
fn importing_the_example_inserts_its_rows() {
    let tdb = TestDb::new();
    let report = import(&tdb, EXAMPLE).unwrap();
    assert_eq!(
        report,
        ImportReport {
            inserted: EXAMPLE_ROWS,
            updated: 0,
            unchanged: 0
        }
    );
    assert_eq!(snapshot(&tdb).len(), EXAMPLE_ROWS);

    // found as a worker would type it from the notice board
    let road = project(&tdb, " p2026-001 ");
    assert_eq!(road.code, "P2026-001");
    assert_eq!(road.name_zh, "拉萨北环路改造工程");
    assert_eq!(road.name_bo.as_deref(), Some("ལྷ་སའི་བྱང་ངོས་ལམ་བཟོ་བཅོས་ལས་གཞི།"));
    assert_eq!(road.county, "城关区");
    assert_eq!(road.department, "交通");
    assert_eq!(road.owner.as_deref(), Some("拉萨市交通运输局"));
    assert!(road.government_invested);
    let water = project(&tdb, "P2026-003");
    assert_eq!(
        (water.county.as_str(), water.department.as_str()),
        ("曲水县", "水利")
    );
    let private = project(&tdb, "P2026-005");
    assert!(!private.government_invested);

    let mut conn = tdb.db.get().unwrap();
    let chengguan = list(&mut conn, Some("城关区"), 50, 0).unwrap();
    assert_eq!(
        chengguan
            .iter()
            .map(|p| p.code.as_str())
            .collect::<Vec<_>>(),
        ["P2026-001", "P2026-005"]
    );
    let page2 = list(&mut conn, None, 2, 2).unwrap();
    assert_eq!(
        page2.iter().map(|p| p.code.as_str()).collect::<Vec<_>>(),
        ["P2026-003", "P2026-004"]
    );
}

#[test]
fn reimporting_with_one_changed_row_updates_only_it() {
    let tdb = TestDb::new();
    import(&tdb, EXAMPLE).unwrap();
    let before = snapshot(&tdb);
    let old = project(&tdb, "P2026-003");

    let report = import(&tdb, &example_with_p003_changed()).unwrap();
    assert_eq!(
        report,
        ImportReport {
            inserted: 0,
            updated: 1,
            unchanged: EXAMPLE_ROWS - 1
        }
    );
    let new = project(&tdb, "P2026-003");
    assert_eq!(new.contractor.as_deref(), Some("西藏另一水电工程有限公司"));
    assert_eq!(new.name_bo.as_deref(), Some("ཆུ་ཤུར་ཞིང་ཆུ"));
    assert_eq!((&new.id, new.created_at), (&old.id, old.created_at));
    assert!(new.updated_at >= old.updated_at);

    // the other rows are untouched, timestamps included
    let after = snapshot(&tdb);
    assert_eq!(after.len(), EXAMPLE_ROWS);
    for (b, a) in before.iter().zip(&after) {
        if a["code"] != "P2026-003" {
            assert_eq!(a, b);
        }
    }

    // the same file again changes nothing
    let report = import(&tdb, &example_with_p003_changed()).unwrap();
    assert_eq!((report.inserted, report.updated), (0, 0));
    assert_eq!(snapshot(&tdb), after);
}

#[test]
fn a_file_with_bad_rows_names_each_line_and_changes_nothing() {
    let tdb = TestDb::new();
    import(&tdb, EXAMPLE).unwrap();
    let before = snapshot(&tdb);

    let problems = match import(&tdb, BAD) {
        Err(ImportError::Invalid(p)) => p,
        other => panic!("expected the rows rejected, got {other:?}"),
    };
    assert_bad_lines(&problems.iter().map(ToString::to_string).collect::<Vec<_>>());
    // neither the good new row nor the renamed one was written
    assert_eq!(snapshot(&tdb), before);

    // a header that is not ours: nothing read, nothing written
    let err = import(&tdb, "代码,名称,区县\nP-1,x,y\n").unwrap_err();
    let said = err.to_string();
    assert!(
        said.contains("line 1: no column 主管部门 (department)"),
        "{said}"
    );
    assert_eq!(snapshot(&tdb), before);
}

#[test]
fn cli_imports_then_updates() {
    let tdb = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("projects.csv");
    std::fs::write(&file, EXAMPLE).unwrap();
    let run = || {
        hotline()
            .current_dir(dir.path())
            .env("HOTLINE_DATABASE_URL", &tdb.url)
            .args(["projects", "import"])
            .arg(&file)
            .output()
            .unwrap()
    };

    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("imported {}: {EXAMPLE_ROWS} new, 0 updated", file.display())
    );
    assert_eq!(snapshot(&tdb).len(), EXAMPLE_ROWS);

    std::fs::write(&file, example_with_p003_changed()).unwrap();
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("imported {}: 0 new, 1 updated", file.display())
    );
    assert_eq!(
        project(&tdb, "P2026-003").contractor.as_deref(),
        Some("西藏另一水电工程有限公司")
    );
}

#[test]
fn cli_rejects_a_bad_file_with_each_line_and_a_nonzero_exit() {
    let tdb = TestDb::new();
    import(&tdb, EXAMPLE).unwrap();
    let before = snapshot(&tdb);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.csv");
    // as Excel writes it: BOM and CRLF
    std::fs::write(&file, format!("\u{FEFF}{}", BAD.replace('\n', "\r\n"))).unwrap();

    let out = hotline()
        .current_dir(dir.path())
        .env("HOTLINE_DATABASE_URL", &tdb.url)
        .args(["projects", "import"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("4 problem(s) in the file, nothing was imported"),
        "{err}"
    );
    let lines: Vec<String> = err
        .lines()
        .filter(|l| l.starts_with("line "))
        .map(String::from)
        .collect();
    assert_bad_lines(&lines);
    assert_eq!(snapshot(&tdb), before);

    // a file that is not there: non-zero, named
    let out = hotline()
        .current_dir(dir.path())
        .env("HOTLINE_DATABASE_URL", &tdb.url)
        .args(["projects", "import", "missing.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.csv"));
}
