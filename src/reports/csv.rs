//! The report as one CSV file for the bureau's spreadsheet: UTF-8 with a byte-order mark (so
//! Excel reads Chinese right), CRLF line ends, one titled table after another with a blank
//! line between. Figures are plain numbers (no thousands separators) so they stay numbers.
//!
//! The case report's CSV is a fixed export format: its Chinese section titles and column
//! headers are part of the format, so they are here rather than in the console's templates.
//! The employment report's tables come in words already (`employment::Table::render`, from
//! the console's strings), the same the page shows, and are written the same way.

use csv::{Terminator, WriterBuilder};

use super::employment::Rendered;
use super::{DeadlineFigures, MonthlyReport, ReferralFigures};

const BOM: &str = "\u{FEFF}";

/// How the spreadsheet names each state (`CaseState::as_str`).
fn state_zh(code: &str) -> &str {
    match code {
        "received" => "已收到",
        "accepted" => "已立案",
        "refused" => "不予立案",
        "investigating" => "调查中",
        "resolved" => "已办结",
        "transferred" => "已移送",
        "closed" => "已结案",
        other => other,
    }
}

pub fn to_csv(r: &MonthlyReport) -> String {
    sheet([
        summary(r),
        by_county(r),
        by_state(r),
        deadlines(r),
        referrals(r),
    ])
}

/// The employment report's tables: each its title, its note if any, its header and rows.
pub fn tables_csv(tables: &[Rendered]) -> String {
    sheet(tables.iter().map(|t| {
        let mut rows: Vec<Vec<String>> = t.note.iter().map(|n| vec![n.clone()]).collect();
        rows.push(t.head.clone());
        rows.extend(t.rows.iter().cloned());
        table(&t.title, rows)
    }))
}

/// The file: a BOM, then the tables with a blank line between.
fn sheet(tables: impl IntoIterator<Item = String>) -> String {
    let mut out = String::from(BOM);
    out.push_str(&tables.into_iter().collect::<Vec<_>>().join("\r\n"));
    out
}

/// One table: a title row, then the rows.
fn table(title: &str, rows: Vec<Vec<String>>) -> String {
    let mut w = WriterBuilder::new()
        .flexible(true)
        .terminator(Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to memory cannot fail, and every field is a valid String.
    let _ = w.write_record([title]);
    for row in rows {
        let _ = w.write_record(&row);
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

fn row<const N: usize>(cells: [&dyn ToString; N]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "是"
    } else {
        "否"
    }
}

fn summary(r: &MonthlyReport) -> String {
    let c = &r.complaints.total;
    let m = &r.money;
    table(
        "汇总",
        vec![
            row([&"项目", &"数值"]),
            row([&"月份", &r.month]),
            row([&"起始日", &r.from]),
            row([&"截止日", &r.to]),
            row([&"本月已结束", &yes_no(r.complete)]),
            row([&"报送期限", &r.due_on]),
            row([&"统计日期", &r.as_of]),
            row([&"投诉件数", &c.complaints]),
            row([&"涉及案件数", &c.cases]),
            row([&"涉及人数", &c.workers]),
            row([&"投诉拖欠金额（元）", &c.amount_yuan]),
            row([&"本月收到案件数", &r.cases.received]),
            row([&"本月收到案件拖欠金额（元）", &m.owed_yuan]),
            row([&"本月办结案件数", &m.finished_cases]),
            row([&"本月办结案件追回金额（元）", &m.recovered_yuan]),
            row([&"累计追回金额（元）", &m.recovered_to_date_yuan]),
        ],
    )
}

fn by_county(r: &MonthlyReport) -> String {
    let mut rows = vec![row([
        &"区县",
        &"投诉件数",
        &"案件数",
        &"涉及人数",
        &"拖欠金额（元）",
    ])];
    for c in &r.complaints.by_county {
        let f = &c.figures;
        rows.push(row([
            &c.county,
            &f.complaints,
            &f.cases,
            &f.workers,
            &f.amount_yuan,
        ]));
    }
    let t = &r.complaints.total;
    rows.push(row([
        &"合计",
        &t.complaints,
        &t.cases,
        &t.workers,
        &t.amount_yuan,
    ]));
    table("按区县", rows)
}

fn by_state(r: &MonthlyReport) -> String {
    let cs = &r.cases;
    let mut rows = vec![row([&"状态", &"案件数"])];
    for s in &cs.by_state {
        rows.push(row([&state_zh(s.state), &s.cases]));
    }
    rows.push(row([&"合计", &cs.received]));
    rows.push(Vec::new());
    let mut head = vec!["区县".to_string()];
    head.extend(cs.states.iter().map(|s| state_zh(s).to_string()));
    head.push("合计".into());
    rows.push(head);
    for c in &cs.by_county {
        let mut line = vec![c.county.clone()];
        line.extend(c.counts.iter().map(|n| n.to_string()));
        line.push(c.total.to_string());
        rows.push(line);
    }
    table("按状态", rows)
}

fn deadlines(r: &MonthlyReport) -> String {
    let line = |name: &str, f: &DeadlineFigures| {
        row([
            &name,
            &f.due,
            &f.met,
            &f.missed,
            &f.pending,
            &f.missed_cases.join("、"),
        ])
    };
    table(
        "期限",
        vec![
            row([
                &"期限",
                &"本月到期",
                &"按期",
                &"逾期",
                &"未到期",
                &"逾期案件",
            ]),
            line("受理", &r.deadlines.accept),
            line("办结", &r.deadlines.finish),
        ],
    )
}

fn referrals(r: &MonthlyReport) -> String {
    let line = |code: &str, name: &str, f: &ReferralFigures| {
        row([
            &code,
            &name,
            &f.sent,
            &f.acknowledged,
            &f.answered,
            &f.waiting,
            &f.overdue,
            &f.median_days_to_acknowledge
                .map(|d| d.to_string())
                .unwrap_or_default(),
        ])
    };
    let mut rows = vec![row([
        &"部门代码",
        &"部门",
        &"转办",
        &"已签收",
        &"已答复",
        &"待答复",
        &"逾期未签收",
        &"签收天数中位数",
    ])];
    for d in &r.referrals.by_department {
        rows.push(line(&d.department, &d.name, &d.figures));
    }
    rows.push(line("合计", "", &r.referrals.total));
    rows.push(row([
        &"逾期未签收案件",
        &r.referrals.overdue_cases.join("、"),
    ]));
    table("联合执法转办", rows)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::super::*;
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn report() -> MonthlyReport {
        let f = |complaints, cases, workers, amount_yuan| ComplaintFigures {
            complaints,
            cases,
            workers,
            amount_yuan,
        };
        MonthlyReport {
            month: "2026-10".into(),
            from: d(10, 1),
            to: d(10, 31),
            complete: true,
            due_on: d(11, 5),
            as_of: d(11, 3),
            complaints: ComplaintSection {
                by_county: vec![
                    CountyComplaints {
                        county: "城关区".into(),
                        figures: f(3, 2, 7, 45_000),
                    },
                    CountyComplaints {
                        county: "堆龙德庆区, \"东\"".into(),
                        figures: f(1, 1, 1, 3_000),
                    },
                ],
                total: f(4, 3, 8, 48_000),
            },
            cases: CaseSection {
                received: 3,
                states: CaseState::ALL.iter().map(|s| s.as_str()).collect(),
                by_state: CaseState::ALL
                    .iter()
                    .map(|s| StateCount {
                        state: s.as_str(),
                        cases: if *s == CaseState::Received { 2 } else { 0 }
                            + (*s == CaseState::Resolved) as i64,
                    })
                    .collect(),
                by_county: vec![CountyStates {
                    county: "城关区".into(),
                    counts: vec![2, 0, 0, 0, 1, 0, 0],
                    total: 3,
                }],
            },
            money: Money {
                owed_yuan: 48_000,
                finished_cases: 1,
                recovered_yuan: 12_000,
                recovered_to_date_yuan: 90_000,
            },
            deadlines: Deadlines {
                accept: DeadlineFigures {
                    due: 3,
                    met: 1,
                    missed: 2,
                    pending: 0,
                    missed_cases: vec!["A1".into(), "B2".into()],
                },
                finish: DeadlineFigures::default(),
            },
            referrals: ReferralSection {
                by_department: vec![DepartmentReferrals {
                    department: "住建".into(),
                    name: "住房和城乡建设局".into(),
                    figures: ReferralFigures {
                        sent: 2,
                        acknowledged: 1,
                        answered: 0,
                        waiting: 2,
                        overdue: 1,
                        median_days_to_acknowledge: Some(2.5),
                    },
                }],
                total: ReferralFigures {
                    sent: 2,
                    acknowledged: 1,
                    answered: 0,
                    waiting: 2,
                    overdue: 1,
                    median_days_to_acknowledge: Some(2.5),
                },
                overdue_cases: vec!["B2".into()],
            },
        }
    }

    fn records(csv: &str) -> Vec<Vec<String>> {
        ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(csv.trim_start_matches(BOM).as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect()
    }

    fn find<'a>(rows: &'a [Vec<String>], first: &str) -> &'a [String] {
        rows.iter()
            .find(|r| r.first().map(String::as_str) == Some(first))
            .unwrap_or_else(|| panic!("no row {first}"))
    }

    #[test]
    fn starts_with_a_bom_and_has_every_section_in_order() {
        let csv = to_csv(&report());
        assert!(csv.as_bytes().starts_with(&[0xEF, 0xBB, 0xBF]));
        assert_eq!(csv.matches(BOM).count(), 1);
        let rows = records(&csv);
        let titles: Vec<&str> = rows
            .iter()
            .filter(|r| r.len() == 1 && !r[0].is_empty())
            .map(|r| r[0].as_str())
            .collect();
        assert_eq!(titles, ["汇总", "按区县", "按状态", "期限", "联合执法转办"]);
        assert!(
            csv.contains("\r\n\r\n按区县\r\n"),
            "a blank line between tables"
        );
    }

    #[test]
    fn figures_land_under_their_headers() {
        let rows = records(&to_csv(&report()));
        assert_eq!(find(&rows, "月份"), ["月份", "2026-10"]);
        assert_eq!(find(&rows, "报送期限"), ["报送期限", "2026-11-05"]);
        assert_eq!(find(&rows, "本月已结束"), ["本月已结束", "是"]);
        assert_eq!(find(&rows, "累计追回金额（元）")[1], "90000");
        assert_eq!(
            find(&rows, "区县"),
            ["区县", "投诉件数", "案件数", "涉及人数", "拖欠金额（元）"]
        );
        assert_eq!(find(&rows, "城关区"), ["城关区", "3", "2", "7", "45000"]);
        // a county with a comma and quotes survives the round trip
        assert_eq!(find(&rows, "堆龙德庆区, \"东\"")[4], "3000");
        assert_eq!(find(&rows, "合计"), ["合计", "4", "3", "8", "48000"]);
        assert_eq!(find(&rows, "已收到"), ["已收到", "2"]);
        assert_eq!(find(&rows, "已办结"), ["已办结", "1"]);
        let grid = rows
            .iter()
            .find(|r| r[0] == "区县" && r.len() == 9)
            .unwrap();
        assert_eq!(grid[1], "已收到");
        assert_eq!(grid[8], "合计");
        assert_eq!(find(&rows, "受理"), ["受理", "3", "1", "2", "0", "A1、B2"]);
        assert_eq!(
            find(&rows, "住建"),
            ["住建", "住房和城乡建设局", "2", "1", "0", "2", "1", "2.5"]
        );
        assert_eq!(find(&rows, "逾期未签收案件")[1], "B2");
    }
}
