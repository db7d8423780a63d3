//! The monthly report over a month of rows written straight into the database: complaints
//! either side of the month's edges in Asia/Shanghai, deadlines met and missed, referrals
//! acknowledged, answered, closed and overdue.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use hotline::db::models::{CaseSource, NewCase, NewComplaint, NewContact};
use hotline::db::schema::{cases, complaints, contacts, referrals};
use hotline::db::DbConn;
use hotline::reports::{self, svg, MonthlyReport};

use crate::support::db::TestDb;

const SHANGHAI: i32 = 8 * 3600;

fn d(m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, day).unwrap()
}

/// A UTC instant.
fn utc(m: u32, day: u32, h: u32, min: u32) -> NaiveDateTime {
    d(m, day).and_hms_opt(h, min, 0).unwrap()
}

struct CaseRow {
    reference: &'static str,
    county: &'static str,
    state: &'static str,
    received_on: NaiveDate,
    amount_yuan: i64,
    accept_due: Option<NaiveDate>,
    accepted_on: Option<NaiveDate>,
    finish_due: Option<NaiveDate>,
    finished_on: Option<NaiveDate>,
    recovered_yuan: Option<i64>,
}

impl Default for CaseRow {
    fn default() -> Self {
        CaseRow {
            reference: "",
            county: "城关区",
            state: "received",
            received_on: d(10, 1),
            amount_yuan: 0,
            accept_due: None,
            accepted_on: None,
            finish_due: None,
            finished_on: None,
            recovered_yuan: None,
        }
    }
}

fn case(conn: &mut DbConn, c: CaseRow) -> String {
    let id = c.reference.to_string();
    let t = c.received_on.and_hms_opt(4, 0, 0).unwrap();
    diesel::insert_into(cases::table)
        .values(NewCase {
            id: &id,
            reference: c.reference,
            state: c.state.parse().unwrap(),
            priority: 4,
            project_id: None,
            employer: "扎西建筑队",
            employer_key: &format!("name:{}", c.reference),
            county: c.county,
            collective: false,
            representative_id: None,
            workers: 1,
            amount_yuan: c.amount_yuan,
            received_on: c.received_on,
            accept_due: c.accept_due,
            extension_days: 0,
            created_at: t,
            updated_at: t,
            source: CaseSource::Complaint,
        })
        .execute(conn)
        .unwrap();
    diesel::update(cases::table.find(&id))
        .set((
            cases::accepted_on.eq(c.accepted_on),
            cases::finish_due.eq(c.finish_due),
            cases::finished_on.eq(c.finished_on),
            cases::recovered_yuan.eq(c.recovered_yuan),
        ))
        .execute(conn)
        .unwrap();
    id
}

fn complaint(
    conn: &mut DbConn,
    case_id: &str,
    county: &str,
    workers: i32,
    amount_yuan: i64,
    at: NaiveDateTime,
) {
    diesel::insert_into(complaints::table)
        .values(NewComplaint {
            id: &hotline::db::new_id(),
            case_id,
            contact_id: "worker",
            conversation_id: None,
            project_id: None,
            employer: "扎西建筑队",
            county,
            workers,
            amount_yuan,
            months: Some(2),
            anonymous: false,
            language: hotline::db::models::Language::Zh,
            channel_id: "log",
            created_at: at,
            needs_callback: false,
        })
        .execute(conn)
        .unwrap();
}

struct ReferralRow {
    case_id: &'static str,
    department: &'static str,
    status: &'static str,
    sent: NaiveDateTime,
    reminder_due: NaiveDate,
    acknowledged_at: Option<NaiveDateTime>,
    answered_at: Option<NaiveDateTime>,
}

fn referral(conn: &mut DbConn, r: ReferralRow) {
    diesel::insert_into(referrals::table)
        .values((
            referrals::id.eq(hotline::db::new_id()),
            referrals::case_id.eq(r.case_id),
            referrals::department.eq(r.department),
            referrals::email.eq("dept@example.org"),
            referrals::reason.eq("项目欠薪"),
            referrals::status.eq(r.status),
            referrals::created_by.eq("inspector"),
            referrals::link_expires_at.eq(r.sent + chrono::Duration::days(30)),
            referrals::reminder_due.eq(r.reminder_due),
            referrals::reminders.eq(0),
            referrals::acknowledged_at.eq(r.acknowledged_at),
            referrals::answered_at.eq(r.answered_at),
            referrals::created_at.eq(r.sent),
            referrals::updated_at.eq(r.sent),
        ))
        .execute(conn)
        .unwrap();
}

/// October 2026 in two counties, with rows just outside the month on both sides.
fn october(conn: &mut DbConn) {
    let t = utc(9, 1, 0, 0);
    diesel::insert_into(contacts::table)
        .values(NewContact {
            id: "worker",
            phone: "+8613900000009",
            language: hotline::db::models::Language::Zh,
            language_chosen: true,
            opted_out: false,
            created_at: t,
            updated_at: t,
        })
        .execute(conn)
        .unwrap();

    // Received in October.
    let c1 = case(
        conn,
        CaseRow {
            reference: "R-001",
            state: "accepted",
            received_on: d(10, 9),
            amount_yuan: 30_000,
            accept_due: Some(d(10, 16)),
            accepted_on: Some(d(10, 14)),
            finish_due: Some(d(12, 31)),
            ..Default::default()
        },
    );
    // Never decided: the acceptance deadline is missed.
    let c2 = case(
        conn,
        CaseRow {
            reference: "R-002",
            received_on: d(10, 12),
            amount_yuan: 5_000,
            accept_due: Some(d(10, 19)),
            ..Default::default()
        },
    );
    // Refused on time: a decision within the deadline.
    let c3 = case(
        conn,
        CaseRow {
            reference: "R-003",
            county: "达孜区",
            state: "refused",
            received_on: d(10, 20),
            amount_yuan: 8_000,
            accept_due: Some(d(10, 27)),
            finished_on: Some(d(10, 26)),
            ..Default::default()
        },
    );
    case(
        conn,
        CaseRow {
            reference: "R-008",
            received_on: d(10, 24),
            amount_yuan: 2_000,
            accept_due: Some(d(10, 30)),
            ..Default::default()
        },
    );
    // Accepted two days late.
    case(
        conn,
        CaseRow {
            reference: "R-009",
            county: "达孜区",
            state: "accepted",
            received_on: d(10, 13),
            amount_yuan: 4_000,
            accept_due: Some(d(10, 20)),
            accepted_on: Some(d(10, 22)),
            finish_due: Some(d(12, 20)),
            ..Default::default()
        },
    );
    // Received earlier; finished (on time) in October.
    case(
        conn,
        CaseRow {
            reference: "R-004",
            county: "达孜区",
            state: "resolved",
            received_on: d(8, 3),
            amount_yuan: 20_000,
            accept_due: Some(d(8, 10)),
            accepted_on: Some(d(8, 5)),
            finish_due: Some(d(10, 30)),
            finished_on: Some(d(10, 15)),
            recovered_yuan: Some(18_000),
        },
    );
    // Finish deadline in October, still investigating: missed.
    case(
        conn,
        CaseRow {
            reference: "R-005",
            state: "investigating",
            received_on: d(7, 1),
            amount_yuan: 9_000,
            accept_due: Some(d(7, 8)),
            accepted_on: Some(d(7, 6)),
            finish_due: Some(d(10, 21)),
            recovered_yuan: Some(3_000), // mediation so far: not finished, not counted
            ..Default::default()
        },
    );
    // Finished before October (counts to date) and after it (does not).
    case(
        conn,
        CaseRow {
            reference: "R-006",
            state: "closed",
            received_on: d(6, 1),
            finished_on: Some(d(9, 10)),
            recovered_yuan: Some(7_000),
            ..Default::default()
        },
    );
    case(
        conn,
        CaseRow {
            reference: "R-007",
            state: "resolved",
            received_on: d(11, 1),
            accept_due: Some(d(11, 6)),
            finished_on: Some(d(11, 2)),
            recovered_yuan: Some(1_000),
            ..Default::default()
        },
    );

    complaint(conn, &c1, "城关区", 2, 20_000, utc(10, 9, 3, 0));
    complaint(conn, &c1, "城关区", 1, 10_000, utc(10, 10, 5, 0));
    // 1 October 00:30 in Shanghai, still 30 September in UTC: October's.
    complaint(conn, &c2, "城关区", 1, 5_000, utc(9, 30, 16, 30));
    // 30 September 23:59 in Shanghai: September's.
    complaint(conn, &c2, "城关区", 1, 5_000, utc(9, 30, 15, 59));
    complaint(conn, &c3, "达孜区", 2, 8_000, utc(10, 20, 2, 0));
    // 31 October 17:00 UTC is 1 November 01:00 in Shanghai: November's.
    complaint(conn, &c3, "达孜区", 3, 9_000, utc(10, 31, 17, 0));

    // 住建: answered after two days; acknowledged the next local day (same UTC day).
    referral(
        conn,
        ReferralRow {
            case_id: "R-005",
            department: "住建",
            status: "answered",
            sent: utc(10, 5, 2, 0),
            reminder_due: d(10, 8),
            acknowledged_at: Some(utc(10, 7, 1, 0)),
            answered_at: Some(utc(10, 12, 8, 0)),
        },
    );
    referral(
        conn,
        ReferralRow {
            case_id: "R-001",
            department: "住建",
            status: "acknowledged",
            sent: utc(10, 10, 14, 0),
            reminder_due: d(10, 13),
            acknowledged_at: Some(utc(10, 10, 17, 0)),
            answered_at: None,
        },
    );
    // 公安: one unacknowledged past its reminder day (overdue), one not yet due.
    referral(
        conn,
        ReferralRow {
            case_id: "R-002",
            department: "公安",
            status: "sent",
            sent: utc(10, 20, 3, 0),
            reminder_due: d(10, 23),
            acknowledged_at: None,
            answered_at: None,
        },
    );
    referral(
        conn,
        ReferralRow {
            case_id: "R-009",
            department: "公安",
            status: "sent",
            sent: utc(10, 28, 3, 0),
            reminder_due: d(11, 10),
            acknowledged_at: None,
            answered_at: None,
        },
    );
    // Closed without acknowledgement: neither waiting nor overdue.
    referral(
        conn,
        ReferralRow {
            case_id: "R-008",
            department: "交通",
            status: "closed",
            sent: utc(10, 15, 3, 0),
            reminder_due: d(10, 18),
            acknowledged_at: None,
            answered_at: None,
        },
    );
    // 30 September 23:00 in Shanghai: not October's.
    referral(
        conn,
        ReferralRow {
            case_id: "R-004",
            department: "住建",
            status: "sent",
            sent: utc(9, 30, 15, 0),
            reminder_due: d(10, 3),
            acknowledged_at: None,
            answered_at: None,
        },
    );
}

fn report(tdb: &TestDb, year: i32, month: u32, today: NaiveDate) -> MonthlyReport {
    let mut conn = tdb.db.get().unwrap();
    reports::monthly(&mut conn, year, month, today, SHANGHAI).unwrap()
}

fn seeded() -> TestDb {
    let tdb = TestDb::new();
    october(&mut tdb.db.get().unwrap());
    tdb
}

#[test]
fn october_after_the_month() {
    let tdb = seeded();
    let r = report(&tdb, 2026, 10, d(11, 3));
    assert_eq!(r.month, "2026-10");
    assert_eq!((r.from, r.to), (d(10, 1), d(10, 31)));
    assert!(r.complete);
    assert_eq!(r.due_on, d(11, 5));

    // Complaints, placed by Shanghai's calendar.
    let by_county: Vec<_> = r
        .complaints
        .by_county
        .iter()
        .map(|c| {
            let f = &c.figures;
            (
                c.county.as_str(),
                f.complaints,
                f.cases,
                f.workers,
                f.amount_yuan,
            )
        })
        .collect();
    assert_eq!(
        by_county,
        [("城关区", 3, 2, 4, 35_000), ("达孜区", 1, 1, 2, 8_000)]
    );
    let t = &r.complaints.total;
    assert_eq!(
        (t.complaints, t.cases, t.workers, t.amount_yuan),
        (4, 3, 6, 43_000)
    );

    // Cases received in October, by their state now.
    assert_eq!(r.cases.received, 5);
    let by_state: Vec<_> = r
        .cases
        .by_state
        .iter()
        .map(|s| (s.state, s.cases))
        .collect();
    assert_eq!(
        by_state,
        [
            ("received", 2),
            ("accepted", 2),
            ("refused", 1),
            ("investigating", 0),
            ("resolved", 0),
            ("transferred", 0),
            ("closed", 0)
        ]
    );
    assert_eq!(r.cases.states[0], "received");
    let grid: Vec<_> = r
        .cases
        .by_county
        .iter()
        .map(|c| (c.county.as_str(), c.counts.clone(), c.total))
        .collect();
    assert_eq!(
        grid,
        [
            ("城关区", vec![2, 1, 0, 0, 0, 0, 0], 3),
            ("达孜区", vec![0, 1, 1, 0, 0, 0, 0], 2)
        ]
    );

    // Money.
    assert_eq!(r.money.owed_yuan, 49_000);
    assert_eq!(r.money.finished_cases, 2);
    assert_eq!(r.money.recovered_yuan, 18_000);
    assert_eq!(r.money.recovered_to_date_yuan, 25_000);

    // Deadlines.
    let a = &r.deadlines.accept;
    assert_eq!((a.due, a.met, a.missed, a.pending), (5, 2, 3, 0));
    assert_eq!(a.missed_cases, ["R-002", "R-008", "R-009"]);
    let f = &r.deadlines.finish;
    assert_eq!((f.due, f.met, f.missed, f.pending), (2, 1, 1, 0));
    assert_eq!(f.missed_cases, ["R-005"]);

    // Referrals: every active department listed; 住建's second acknowledgement came the next
    // day in Shanghai though the same day in UTC.
    let figures = |code: &str| {
        let d = r
            .referrals
            .by_department
            .iter()
            .find(|d| d.department == code)
            .unwrap_or_else(|| panic!("no {code}"));
        let f = &d.figures;
        (
            f.sent,
            f.acknowledged,
            f.answered,
            f.waiting,
            f.overdue,
            f.median_days_to_acknowledge,
        )
    };
    assert_eq!(figures("住建"), (2, 2, 1, 1, 0, Some(1.5)));
    assert_eq!(figures("公安"), (2, 0, 0, 2, 1, None));
    assert_eq!(figures("交通"), (1, 0, 0, 0, 0, None));
    assert_eq!(figures("水利"), (0, 0, 0, 0, 0, None));
    assert_eq!(r.referrals.by_department.len(), 7);
    let zj = r
        .referrals
        .by_department
        .iter()
        .find(|d| d.department == "住建")
        .unwrap();
    assert_eq!(zj.name, "住房和城乡建设局");
    let t = &r.referrals.total;
    assert_eq!(
        (t.sent, t.acknowledged, t.answered, t.waiting, t.overdue),
        (5, 2, 1, 3, 1)
    );
    assert_eq!(t.median_days_to_acknowledge, Some(1.5));
    assert_eq!(r.referrals.overdue_cases, ["R-002"]);
}

#[test]
fn the_complaint_after_midnight_in_shanghai_is_novembers() {
    let tdb = seeded();
    let r = report(&tdb, 2026, 11, d(11, 3));
    assert!(!r.complete);
    assert_eq!(r.due_on, d(12, 5));
    let t = &r.complaints.total;
    assert_eq!((t.complaints, t.workers, t.amount_yuan), (1, 3, 9_000));
    assert_eq!(r.complaints.by_county[0].county, "达孜区");
    // and September keeps its 23:59 complaint and 23:00 referral
    let sep = report(&tdb, 2026, 9, d(11, 3));
    assert_eq!(sep.complaints.total.complaints, 1);
    assert_eq!(sep.referrals.total.sent, 1);
    assert_eq!(sep.referrals.overdue_cases, ["R-004"]);
}

#[test]
fn during_the_month_undecided_cases_are_pending_not_missed() {
    let tdb = seeded();
    let r = report(&tdb, 2026, 10, d(10, 25));
    assert!(!r.complete);
    let a = &r.deadlines.accept;
    // R-008 is due on the 30th: not yet missed.
    assert_eq!((a.met, a.missed, a.pending), (2, 2, 1));
    assert_eq!(a.missed_cases, ["R-002", "R-009"]);
    // 公安's second referral is not overdue, and the first is.
    assert_eq!(r.referrals.total.overdue, 1);
}

#[test]
fn an_empty_month_reports_zeros() {
    let tdb = TestDb::new();
    let r = report(&tdb, 2026, 2, d(3, 1));
    assert!(r.complete);
    assert_eq!(r.due_on, d(3, 5));
    assert_eq!(r.to, d(2, 28));
    assert!(r.complaints.by_county.is_empty());
    assert_eq!(r.complaints.total.complaints, 0);
    assert_eq!(r.cases.received, 0);
    assert_eq!(r.cases.by_state.len(), 7);
    assert_eq!(r.referrals.total.median_days_to_acknowledge, None);
    let labels: Vec<(&str, i64)> = r
        .cases
        .by_state
        .iter()
        .map(|s| (s.state, s.cases))
        .collect();
    assert!(svg::bar_chart("按状态", &labels).contains("chart-empty"));
    // no month 13
    let mut conn = tdb.db.get().unwrap();
    assert!(reports::monthly(&mut conn, 2026, 13, d(3, 1), SHANGHAI).is_err());
}

#[test]
fn csv_and_charts_of_a_real_month() {
    let tdb = seeded();
    let r = report(&tdb, 2026, 10, d(11, 3));
    let csv = reports::to_csv(&r);
    assert!(csv.starts_with('\u{FEFF}'));
    assert!(csv.contains("城关区,3,2,4,35000\r\n"), "{csv}");
    assert!(
        csv.contains("受理,5,2,3,0,R-002、R-008、R-009\r\n"),
        "{csv}"
    );
    assert!(csv.contains("公安,公安局,2,0,0,2,1,\r\n"), "{csv}");
    assert_eq!(
        reports::month_csv_filename(2026, 10),
        "hotline-report-2026-10.csv"
    );
    // The caller names the bars; the figures come from the report.
    let a = &r.deadlines.accept;
    let chart = svg::grouped_bars(
        "期限",
        &["按期", "逾期"],
        &[
            ("受理", vec![a.met, a.missed]),
            (
                "办结",
                vec![r.deadlines.finish.met, r.deadlines.finish.missed],
            ),
        ],
    );
    assert!(chart.contains("<desc>受理: 按期 2, 逾期 3; 办结: 按期 1, 逾期 1</desc>"));
}
