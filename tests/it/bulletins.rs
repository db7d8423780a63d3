//! The employment side's monthly dispatch and quarterly bulletin over a quarter lived through
//! day by day (the service's time moved forward): placements in and outside Tibet, follow-ups
//! answered, unanswered and silenced, unpaid wages that open an early-warning case, retention
//! at 3 and 6 months, subsidies earned and approved; then the figures of a month and of the
//! quarter, the CSV, the charts and who may see them.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use chrono::{Datelike, Months, NaiveDate};
use diesel::prelude::*;
use hotline::accounts::users::UserRole;
use hotline::alerts::register::{self, WorkerRow};
use hotline::alerts::Employment;
use hotline::db::schema::workers;
use hotline::followups::placements::PlacementInput;
use hotline::followups::{subsidies, SubsidyKind};
use hotline::reports::employment::{self, EmploymentReport, Figures, InOut};
use hotline::reports::Period;

use crate::followups::{app, at, record, says, speaks};
use crate::support::app::TestApp;
use crate::support::console::{add_user, ConsoleClient, PASSWORD};

/// Placed six months before the 5th of the quarter's second month: answers "still there"
/// each time, so the 6-month step earns the subsidies (through a broker, in Tibet).
const SIX: &str = "+8613900000811";
/// Placed three months before the 8th of the second month; back home after one month.
const LEFT: &str = "+8613900000812";
/// Three workers of one employer, placed in the first month, not paid: the early warning.
const E1: &str = "+8613900000813";
const E2: &str = "+8613900000814";
const E3: &str = "+8613900000815";
/// Placed in the first month; never answers.
const SILENT: &str = "+8613900000816";
/// Placed in the second month: A (registered from 当雄县) in Tibet, answers; B in Tibet,
/// C (registered from 林周县) and D outside Tibet, never answer.
const A: &str = "+8613900000817";
const B: &str = "+8613900000818";
const C: &str = "+8613900000819";
const D: &str = "+8613900000820";
/// Placed outside Tibet in the third month.
const H: &str = "+8613900000821";
/// On the register only: W in the third month, X after the quarter.
const W: &str = "+8613900000822";
const X: &str = "+8613900000823";

const AGENCY: &str = "拉萨诺布劳务有限公司";

/// The quarter: far enough back that every placement's date is one the checks accept.
struct Quarter {
    first: NaiveDate,
}

impl Quarter {
    fn new(today: NaiveDate) -> Quarter {
        let d = today - chrono::Duration::days(400);
        Quarter {
            first: NaiveDate::from_ymd_opt(d.year(), (d.month() - 1) / 3 * 3 + 1, 1).unwrap(),
        }
    }

    /// Day `day` of the `k`-th month from the quarter's first (0, 1, 2 are its months).
    fn day(&self, k: i32, day: u32) -> NaiveDate {
        let first = if k >= 0 {
            self.first.checked_add_months(Months::new(k as u32))
        } else {
            self.first.checked_sub_months(Months::new((-k) as u32))
        };
        first.unwrap().with_day(day).unwrap()
    }

    fn period(&self) -> Period {
        Period::Quarter(self.first.year(), (self.first.month() - 1) / 3 + 1)
    }

    fn month(&self, k: usize) -> Period {
        self.period().months()[k]
    }
}

struct Placed<'a> {
    phone: &'a str,
    employer: &'a str,
    county: Option<&'a str>,
    outside: Option<&'a str>,
    trade: &'a str,
    agency: Option<&'a str>,
    start: NaiveDate,
}

fn place(app: &TestApp, p: Placed) -> String {
    speaks(&app.state, p.phone, "zh");
    record(
        &app.state,
        PlacementInput {
            phone: p.phone.into(),
            employer: p.employer.into(),
            agency: p.agency.map(String::from),
            county: p.county.map(String::from),
            place_outside: p.outside.map(String::from),
            trade: Some(p.trade.into()),
            start_on: p.start.to_string(),
            ..PlacementInput::default()
        },
    )
}

/// A worker on the register, from a county, with trades and a status.
fn register(app: &TestApp, phone: &str, county: &str, trade: &str, employment: Employment) {
    let row = WorkerRow {
        phone: phone.into(),
        county: Some(Some(county.into())),
        trades: Some(vec![trade.into()]),
        employment: Some(employment),
        ..WorkerRow::default()
    };
    let mut c = app.conn();
    hotline::db::transaction(&mut c, |c| {
        register::save(c, &row, "officer:yangjin", "test")
    })
    .unwrap();
}

/// When the worker was put on the register (noon in Lhasa that day).
fn registered_on(app: &TestApp, phone: &str, day: NaiveDate) {
    let id = app.contact(phone).unwrap().id;
    diesel::update(workers::table.find(id))
        .set(workers::created_at.eq(day.and_hms_opt(4, 0, 0).unwrap()))
        .execute(&mut *app.conn())
        .unwrap();
}

/// Lives the quarter (and the months before it that its retention looks back on) day by day,
/// at noon in Lhasa; the service's time ends on the 3rd of the month after it.
async fn a_lived_quarter() -> (TestApp, Quarter) {
    let app = app();
    let s = &app.state;
    let q = Quarter::new(s.config.today());
    let origin = q.day(-5, 5);
    s.time.set(origin.and_hms_opt(4, 0, 0).unwrap());
    register(&app, A, "当雄县", "catering", Employment::Seeking);
    register(&app, C, "林周县", "construction", Employment::Seeking);
    let mut placed = vec![
        place(
            &app,
            Placed {
                phone: SIX,
                employer: "达孜区工业园建材厂",
                county: Some("达孜区"),
                outside: None,
                trade: "transport",
                agency: Some(AGENCY),
                start: origin,
            },
        ),
        place(
            &app,
            Placed {
                phone: LEFT,
                employer: "苏州电子厂",
                county: None,
                outside: Some("江苏省苏州市"),
                trade: "construction",
                agency: None,
                start: q.day(-2, 8),
            },
        ),
    ];
    for phone in [E1, E2, E3] {
        placed.push(place(
            &app,
            Placed {
                phone,
                employer: "拉萨城投建筑工地",
                county: Some("城关区"),
                outside: None,
                trade: "construction",
                agency: None,
                start: q.day(0, 2),
            },
        ));
    }
    for p in [
        Placed {
            phone: SILENT,
            employer: "堆龙物流园",
            county: Some("堆龙德庆区"),
            outside: None,
            trade: "transport",
            agency: None,
            start: q.day(0, 2),
        },
        Placed {
            phone: A,
            employer: "城关区雪域餐厅",
            county: Some("城关区"),
            outside: None,
            trade: "catering",
            agency: None,
            start: q.day(1, 3),
        },
        Placed {
            phone: B,
            employer: "达孜区工业园建材厂",
            county: Some("达孜区"),
            outside: None,
            trade: "construction",
            agency: None,
            start: q.day(1, 10),
        },
        Placed {
            phone: C,
            employer: "苏州电子厂",
            county: None,
            outside: Some("江苏省苏州市"),
            trade: "construction",
            agency: Some(AGENCY),
            start: q.day(1, 12),
        },
        Placed {
            phone: D,
            employer: "宁波港务公司",
            county: None,
            outside: Some("浙江省宁波市"),
            trade: "transport",
            agency: None,
            start: q.day(1, 15),
        },
        Placed {
            phone: H,
            employer: "成都建工集团",
            county: None,
            outside: Some("四川省成都市"),
            trade: "construction",
            agency: None,
            start: q.day(2, 1),
        },
    ] {
        placed.push(place(&app, p));
    }
    register(&app, W, "尼木县", "handicraft", Employment::Seeking);
    register(&app, X, "尼木县", "handicraft", Employment::Seeking);
    // The register's dates: a placed worker joined it on their start; A and C before the
    // quarter; W in its last month; X after it.
    for (phone, day) in [
        (SIX, origin),
        (LEFT, q.day(-2, 8)),
        (E1, q.day(0, 2)),
        (E2, q.day(0, 2)),
        (E3, q.day(0, 2)),
        (SILENT, q.day(0, 2)),
        (A, q.day(0, 1)),
        (C, q.day(0, 1)),
        (B, q.day(1, 10)),
        (D, q.day(1, 15)),
        (H, q.day(2, 1)),
        (W, q.day(2, 20)),
    ] {
        registered_on(&app, phone, day);
    }

    let mut answers: BTreeMap<NaiveDate, Vec<(&str, &str)>> = BTreeMap::new();
    for (day, phone, text) in [
        // Still there, paid: at one, three and six months.
        (q.day(-4, 5), SIX, "1 1"),
        (q.day(-2, 5), SIX, "1 1"),
        (q.day(1, 5), SIX, "1 1"),
        // Back home after a month, paid: the placement ends; its 3-month step falls silent.
        (q.day(-1, 8), LEFT, "3 1"),
        // Not paid (not at all, partly, not at all): two months, 1,000–5,000 yuan, no
        // complaint; the third opens the early warning.
        (q.day(1, 2), E1, "1 3 2 2 2"),
        (q.day(1, 2), E2, "1 2 1 1 2"),
        (q.day(1, 2), E3, "1 3 1 1 2"),
        (q.day(2, 3), A, "1 1"),
    ] {
        answers.entry(day).or_default().push((phone, text));
    }
    let end = q.day(3, 3);
    let mut day = origin;
    while day <= end {
        at(s, day, 0);
        for (phone, text) in answers.get(&day).into_iter().flatten() {
            says(&app, phone, text).await;
        }
        if day == q.day(1, 20) || day == q.day(2, 5) {
            // The officer approves the placement subsidy in the second month, the worker's
            // job-seeking subsidy in the third.
            let kind = if day == q.day(1, 20) {
                SubsidyKind::Placement
            } else {
                SubsidyKind::JobSeeking
            };
            let mut c = app.conn();
            let claim = subsidies::list(&mut c, Some(kind), origin, end)
                .unwrap()
                .pop()
                .expect("the claim");
            subsidies::decide(
                &mut c,
                &claim.claim.id,
                true,
                None,
                "officer:yangjin",
                s.time.now(),
            )
            .unwrap();
        }
        day += chrono::Duration::days(1);
    }
    assert_eq!(placed.len(), 11);
    (app, q)
}

fn report(app: &TestApp, period: Period) -> EmploymentReport {
    let s = &app.state;
    let today = s.config.local(s.time.now()).date();
    employment::employment(&mut app.conn(), period, today, s.config.utc_offset_secs()).unwrap()
}

fn io(in_tibet: i64, outside: i64) -> InOut {
    InOut { in_tibet, outside }
}

fn map<V: Clone>(pairs: &[(&str, V)]) -> BTreeMap<String, V> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn statuses(f: &Figures) -> Vec<(&str, i64)> {
    f.register
        .by_status
        .iter()
        .map(|s| (s.status, s.workers))
        .collect()
}

/// Due, asked, answered, unanswered, silenced, waiting.
fn coverage(f: &Figures) -> [i64; 6] {
    let c = &f.followups;
    [
        c.due,
        c.asked,
        c.answered,
        c.unanswered,
        c.silenced,
        c.waiting,
    ]
}

fn subsidies_of(f: &Figures) -> Vec<(&str, i64, i64, i64)> {
    f.subsidies
        .iter()
        .map(|s| (s.kind, s.eligible, s.approved, s.rejected))
        .collect()
}

/// The records of a CSV file, its BOM removed.
fn records(csv: &str) -> Vec<Vec<String>> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

/// The rows of the CSV's table titled `title`, header first (after the title and its note,
/// rows of one cell, up to the next table's).
fn csv_table(rows: &[Vec<String>], title: &str) -> Vec<Vec<String>> {
    let at = rows
        .iter()
        .position(|r| r.len() == 1 && r[0] == title)
        .unwrap_or_else(|| panic!("no table {title}"));
    rows[at + 1..]
        .iter()
        .skip_while(|r| r.len() == 1)
        .take_while(|r| r.len() > 1)
        .cloned()
        .collect()
}

fn line(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// Every chart of a page, each parsed as XML.
fn charts(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<svg") {
        let end = rest[i..].find("</svg>").expect("a closed chart") + i + "</svg>".len();
        let svg = &rest[i..end];
        let doc = roxmltree::Document::parse(svg)
            .unwrap_or_else(|e| panic!("a chart that is not well-formed XML: {e}\n{svg}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        out.push(svg.to_string());
        rest = &rest[end..];
    }
    out
}

#[actix_web::test]
async fn a_month_and_its_quarter_in_figures_csv_and_charts() {
    let (app, q) = a_lived_quarter().await;

    // The second month, the busy one.
    let r = report(&app, q.month(1));
    assert!(!r.quarter && r.complete);
    assert_eq!(r.columns.len(), 1);
    assert_eq!(r.due_on, q.day(2, 5));
    let m = r.whole();
    // The register by the month's end (SIX, LEFT, E1–E3, SILENT, A, C, then B and D), by
    // their status now: LEFT went home (not seeking); the rest were placed and work.
    assert_eq!(m.register.total, 10);
    assert_eq!(
        statuses(m),
        [("seeking", 0), ("working", 9), ("not_seeking", 1)]
    );
    assert_eq!(
        m.register.by_county,
        map(&[("", 8), ("当雄县", 1), ("林周县", 1)])
    );
    assert_eq!(
        m.register.by_trade,
        map(&[("", 8), ("catering", 1), ("construction", 1)])
    );
    // Placements starting in the month: A and B in Tibet, C and D outside; by the county the
    // register has for the worker (A's 当雄县, not the 城关区 they work in), else the work's.
    let p = &m.placements;
    assert_eq!((p.total, p.in_tibet, p.outside), (4, 2, 2));
    assert_eq!(
        p.by_county,
        map(&[
            ("", io(0, 1)),
            ("当雄县", io(1, 0)),
            ("林周县", io(0, 1)),
            ("达孜区", io(1, 0))
        ])
    );
    assert_eq!(
        p.by_trade,
        map(&[
            ("catering", io(1, 0)),
            ("construction", io(1, 1)),
            ("transport", io(0, 1))
        ])
    );
    assert_eq!(
        p.by_destination,
        map(&[("江苏省苏州市", 1), ("浙江省宁波市", 1)])
    );
    // Follow-ups due: E1–E3 and SILENT at one month, SIX at six, LEFT's 3-month step
    // (silent: they had left). Asked 5, answered 4, SILENT unanswered after the reminder.
    assert_eq!(coverage(m), [6, 5, 4, 1, 1, 0]);
    let f = &m.followups;
    // Coverage leaves out the silenced step: 5 of 5.
    assert_eq!(f.asked_share().percent(), Some(100));
    assert_eq!(f.answered_share().percent(), Some(80));
    // LEFT reached 3 months gone; SIX reached 6 months still there.
    assert_eq!(
        (
            m.retention_3m.reached,
            m.retention_3m.retained.of,
            m.retention_3m.retained.yes
        ),
        (1, 1, 0)
    );
    assert_eq!(
        (
            m.retention_6m.reached,
            m.retention_6m.retained.of,
            m.retention_6m.retained.yes
        ),
        (1, 1, 1)
    );
    assert_eq!(m.unpaid_workers, 3);
    assert_eq!(m.early_warnings.len(), 1);
    // SIX's subsidies: the worker's and the broker's (in Tibet: no travel subsidy); the
    // broker's approved this month.
    assert_eq!(
        subsidies_of(m),
        [
            ("job_seeking", 1, 0, 0),
            ("placement", 1, 1, 0),
            ("travel", 0, 0, 0)
        ]
    );

    // The quarter: its three months side by side, then the quarter.
    let r = report(&app, q.period());
    assert!(r.quarter && r.complete);
    assert_eq!(r.due_on, q.day(3, 5));
    let periods: Vec<&str> = r.columns.iter().map(|f| f.period.as_str()).collect();
    assert_eq!(
        periods,
        [
            q.month(0).code(),
            q.month(1).code(),
            q.month(2).code(),
            q.period().code()
        ]
    );
    let [m1, m2, m3, all] = &r.columns[..] else {
        panic!("four columns")
    };
    assert_eq!(m2, m, "the quarter's second month is that month");
    let totals: Vec<i64> = r.columns.iter().map(|f| f.register.total).collect();
    assert_eq!(
        totals,
        [8, 10, 12, 12],
        "W joined in the third month, X after"
    );
    assert_eq!(
        statuses(all),
        [("seeking", 1), ("working", 10), ("not_seeking", 1)]
    );
    let placed: Vec<(i64, i64, i64)> = r
        .columns
        .iter()
        .map(|f| {
            (
                f.placements.total,
                f.placements.in_tibet,
                f.placements.outside,
            )
        })
        .collect();
    assert_eq!(placed, [(4, 4, 0), (4, 2, 2), (1, 0, 1), (9, 6, 3)]);
    assert_eq!(
        all.placements.by_county,
        map(&[
            ("", io(0, 2)),
            ("城关区", io(3, 0)),
            ("堆龙德庆区", io(1, 0)),
            ("当雄县", io(1, 0)),
            ("林周县", io(0, 1)),
            ("达孜区", io(1, 0))
        ])
    );
    assert_eq!(
        all.placements.by_trade,
        map(&[
            ("catering", io(1, 0)),
            ("construction", io(4, 2)),
            ("transport", io(1, 1))
        ])
    );
    // The third month: A, B, C, D at one month; A answers, the others do not.
    assert_eq!(coverage(m3), [4, 4, 1, 3, 0, 0]);
    assert_eq!(coverage(m1), [0; 6]);
    assert_eq!(coverage(all), [10, 9, 5, 4, 1, 0]);
    assert_eq!(all.followups.answered_share().percent(), Some(56));
    assert_eq!(all.retention_3m.retained.of, 1);
    assert_eq!(all.retention_6m.retained.yes, 1);
    let unpaid: Vec<i64> = r.columns.iter().map(|f| f.unpaid_workers).collect();
    assert_eq!(unpaid, [0, 3, 0, 3]);
    assert_eq!(all.early_warnings, m2.early_warnings);
    assert_eq!(
        subsidies_of(m3),
        [
            ("job_seeking", 0, 1, 0),
            ("placement", 0, 0, 0),
            ("travel", 0, 0, 0)
        ]
    );
    assert_eq!(
        subsidies_of(all),
        [
            ("job_seeking", 1, 1, 0),
            ("placement", 1, 1, 0),
            ("travel", 0, 0, 0)
        ]
    );

    // The console: the officer's page, charts and CSV.
    add_user(&app, "yangjin", UserRole::Officer, None);
    let mut officer = ConsoleClient::login(&app, "yangjin", PASSWORD).await;
    let quarter = q.period().code();
    let page = officer
        .get(&format!("/console/reports/employment?quarter={quarter}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("就业季度通报"), "{}", page.body);
    assert!(page.body.contains("id=\"t-placements_county\""));
    assert!(
        page.body.contains("3 个月稳岗率</dt><dd>0%"),
        "none of one kept: 0 %, not a dash"
    );
    let svgs = charts(&page.body);
    assert_eq!(
        svgs.len(),
        6,
        "county, trade, months, status, follow-ups, subsidies"
    );
    assert!(
        svgs[0].contains("城关区: 区内 3, 区外 0") && svgs[0].contains("未填: 区内 0, 区外 2"),
        "{}",
        svgs[0]
    );
    assert!(svgs[1].contains("建筑: 区内 4, 区外 2"), "{}", svgs[1]);
    assert!(
        svgs[2].contains(&format!("{}: 区内 2, 区外 2", q.month(1).code())),
        "{}",
        svgs[2]
    );
    let month = q.month(1).code();
    let month_page = officer
        .get(&format!("/console/reports/employment?month={month}"))
        .await;
    assert_eq!(month_page.status, StatusCode::OK);
    assert!(month_page.body.contains("就业月调度"));
    assert_eq!(
        charts(&month_page.body).len(),
        5,
        "no months to set side by side"
    );
    // Last month's by default, and nonsense refused.
    let default = officer.get("/console/reports/employment").await;
    assert_eq!(default.status, StatusCode::OK);
    assert!(default
        .body
        .contains(&format!("就业月调度 {}", q.month(2).code())));
    for bad in [
        "month=2027-13",
        "quarter=2027-Q5",
        "quarter=2027-06",
        "month=2027-Q2",
        "month=2027-06&quarter=2027-Q2",
        // A period that has not begun.
        "month=2099-01",
        "quarter=2099-Q1",
    ] {
        let p = officer
            .get(&format!("/console/reports/employment?{bad}"))
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            p.body.contains("季度如 2026-Q4"),
            "says how to write one: {bad}"
        );
    }

    let csv = officer
        .get(&format!("/console/reports/employment/{quarter}.csv"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with('\u{feff}'), "a BOM for Excel");
    let rows = records(&csv.body);
    let (m1c, m2c, m3c) = (q.month(0).code(), q.month(1).code(), q.month(2).code());
    let titles: Vec<&str> = rows
        .iter()
        .filter(|r| {
            r.len() == 1 && !r[0].is_empty() && !r[0].contains('：') && !r[0].contains('。')
        })
        .map(|r| r[0].as_str())
        .collect();
    assert_eq!(
        titles,
        [
            "统计期",
            "劳动力台账",
            "劳动力台账（按区县）",
            "劳动力台账（按工种）",
            "新增就业安置",
            "新增就业安置（按区县，区内、区外）",
            "新增就业安置（按工种，区内、区外）",
            "区外务工地",
            "就业回访",
            "稳岗情况",
            "欠薪反映与回访预警",
            "就业补贴"
        ]
    );
    let placements = csv_table(&rows, "新增就业安置");
    assert_eq!(
        placements,
        [
            line(&["项目", &m1c, &m2c, &m3c, &quarter]),
            line(&["新增就业安置人数", "4", "4", "1", "9"]),
            line(&["区内", "4", "2", "0", "6"]),
            line(&["区外", "0", "2", "1", "3"]),
        ]
    );
    let by_county = csv_table(&rows, "新增就业安置（按区县，区内、区外）");
    assert_eq!(
        by_county[0],
        line(&[
            "区县",
            &format!("{m1c} 区内"),
            &format!("{m1c} 区外"),
            &format!("{m2c} 区内"),
            &format!("{m2c} 区外"),
            &format!("{m3c} 区内"),
            &format!("{m3c} 区外"),
            &format!("{quarter} 区内"),
            &format!("{quarter} 区外"),
        ])
    );
    // The configuration's order of counties, then the one not given.
    let counties: Vec<&str> = by_county[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        counties,
        ["城关区", "堆龙德庆区", "达孜区", "林周县", "当雄县", "未填"]
    );
    assert_eq!(
        by_county[1],
        line(&["城关区", "3", "0", "0", "0", "0", "0", "3", "0"])
    );
    let followups = csv_table(&rows, "就业回访");
    assert!(followups.contains(&line(&["应回访", "0", "6", "4", "10"])));
    assert!(followups.contains(&line(&["答复率（%）", "", "80", "25", "56"])));
    let arrears = csv_table(&rows, "欠薪反映与回访预警");
    assert!(arrears.contains(&line(&["回访中反映欠薪的工人", "0", "3", "0", "3"])));
    let subsidies = csv_table(&rows, "就业补贴");
    assert_eq!(subsidies[0][0], "补贴类别");
    assert_eq!(subsidies[0].len(), 1 + 4 * 3);
    assert_eq!(
        subsidies.last().unwrap(),
        &line(&["合计", "0", "0", "0", "2", "1", "0", "0", "1", "0", "2", "2", "0"])
    );
    let month_csv = officer
        .get(&format!("/console/reports/employment/{month}.csv"))
        .await;
    assert_eq!(month_csv.status, StatusCode::OK);
    let rows = records(&month_csv.body);
    assert_eq!(
        csv_table(&rows, "新增就业安置（按工种，区内、区外）"),
        [
            line(&["工种", "区内", "区外"]),
            line(&["建筑", "1", "1"]),
            line(&["运输", "0", "1"]),
            line(&["餐饮", "1", "0"]),
        ]
    );
}

#[actix_web::test]
async fn officers_and_admins_see_the_employment_reports_and_no_one_else() {
    let app = crate::support::app::TestApp::new();
    for (name, role, dept) in [
        ("yangjin", UserRole::Officer, None),
        ("admin", UserRole::Admin, None),
        ("tashi", UserRole::Inspector, None),
        ("kezhang", UserRole::Supervisor, None),
        ("norbu", UserRole::Broker, None),
        ("jiaotong", UserRole::Liaison, Some("交通")),
    ] {
        add_user(&app, name, role, dept);
    }
    let page = "/console/reports/employment?month=2026-06";
    let csv = "/console/reports/employment/2026-Q2.csv";
    for name in ["yangjin", "admin"] {
        let mut c = ConsoleClient::login(&app, name, PASSWORD).await;
        assert_eq!(c.get(page).await.status, StatusCode::OK, "{name}");
        let file = c.get(csv).await;
        assert_eq!(file.status, StatusCode::OK, "{name}");
        assert!(file.body.starts_with('\u{feff}'));
    }
    for name in ["tashi", "kezhang", "norbu", "jiaotong"] {
        let mut c = ConsoleClient::login(&app, name, PASSWORD).await;
        assert_eq!(c.get(page).await.status, StatusCode::FORBIDDEN, "{name}");
        assert_eq!(c.get(csv).await.status, StatusCode::FORBIDDEN, "{name}");
    }
    // How each finds their report: the officer from the menu; the admin from the case report.
    let mut officer = ConsoleClient::login(&app, "yangjin", PASSWORD).await;
    let home = officer.get("/console/workers").await;
    assert!(home.body.contains("href=\"/console/reports/employment\""));
    assert!(!home.body.contains("href=\"/console/reports\""));
    assert_eq!(
        officer.get("/console/reports").await.status,
        StatusCode::FORBIDDEN,
        "the case report is not the officer's"
    );
    let mut admin = ConsoleClient::login(&app, "admin", PASSWORD).await;
    let cases = admin.get("/console/reports?month=2026-09").await;
    assert_eq!(cases.status, StatusCode::OK);
    // The other report's tab keeps the month.
    assert!(cases
        .body
        .contains("href=\"/console/reports/employment?month=2026-09\""));
    let mut inspector = ConsoleClient::login(&app, "tashi", PASSWORD).await;
    let cases = inspector.get("/console/reports").await;
    assert_eq!(cases.status, StatusCode::OK);
    assert!(!cases.body.contains("/console/reports/employment"));
}
