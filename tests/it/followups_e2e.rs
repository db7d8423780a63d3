//! Follow-ups end to end (issue 11's "done when"), through a real Kannel (bearerbox + smsbox)
//! with fakesmsc as the carrier, on the test's database (SQLite or PostgreSQL). The whole
//! service runs in-process (`server::start`: HTTP for Kannel's get-url, the outbox
//! dispatcher, the job runner) over a state whose clock the test moves forward by months:
//!
//! - three workers placed by a broker with one government-invested project answer their
//!   one-month follow-up "not paid", one in Chinese and two in Tibetan (Tibetan digits, two
//!   answers in one message): an early-warning case opens, priority 2 by the usual rules,
//!   flagged in the console queue; one of them says yes to filing, confirms the complaint the
//!   follow-up filled in, and becomes the case's complainant;
//! - a fourth worker, placed by the same broker elsewhere, answers at 1, 3 and 6 months that
//!   they are still working and paid: they and their broker become eligible, and the officer's
//!   subsidy list (and its CSV) shows both claims with the dates and answers.
//!
//! Needs Kannel (kannel, kannel-extras): skipped without it, failed in CI.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use diesel::prelude::*;
use hotline::accounts::users::UserRole;
use hotline::config::Config;
use hotline::db::models::{Case, CaseSource};
use hotline::db::schema::{cases, complaints, contacts};
use hotline::AppState;

use crate::followups::{place, speaks};
use crate::kannel_e2e::{get_url, kannel_or_skip, SECRET};
use crate::support::app::{road_project, TestApp};
use crate::support::console::{add_user, ConsoleClient, PASSWORD};
use crate::support::db::TestDb;
use crate::support::kannel::{FakeMo, FakeSmsc, Kannel, KannelConfig};
use crate::support::process::free_port;

const A_ZH: &str = "8613900000801";
const B_BO: &str = "8613900000802";
const C_BO: &str = "8613900000803";
const D_ZH: &str = "8613900000804";
const AGENCY: &str = "拉萨诺布劳务有限公司";

fn config(tdb: &TestDb, kannel: &Kannel, port: u16) -> Config {
    let toml = format!(
        "database_url = \"{}\"\nlisten = \"127.0.0.1:{port}\"\n[alerts]\nsend_window = \"00:00-24:00\"\n\
         [[channels]]\nid = \"kannel\"\nkind = \"kannel\"\nnumber = \"12333\"\n\
         sendsms_url = \"{}\"\nusername = \"{}\"\npassword = \"{}\"\nsecret = \"{SECRET}\"\n",
        tdb.url,
        kannel.sendsms_base_url(),
        kannel.sendsms_user(),
        kannel.sendsms_password()
    );
    Config::from_sources(Some(&toml), None, Vec::new()).unwrap()
}

/// The texts fakesmsc received for `phone` (digits, no +), in order.
fn texts_to(smsc: &FakeSmsc, phone: &str) -> Vec<String> {
    smsc.received()
        .into_iter()
        .filter(|m| m.to.trim_start_matches('+') == phone)
        .map(|m| m.text)
        .collect()
}

/// Waits until `phone` has received more than `seen` messages; returns the newest.
fn next_to(smsc: &FakeSmsc, phone: &str, seen: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = texts_to(smsc, phone);
        if got.len() > seen {
            return got.last().cloned().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "{phone}: nothing after {seen} messages; all: {:?}",
            smsc.received()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A worker texts `text` and gets one reply.
fn say(smsc: &FakeSmsc, phone: &str, text: &str) -> String {
    let seen = texts_to(smsc, phone).len();
    smsc.send_mo(&FakeMo::new(phone, "12333", text)).unwrap();
    next_to(smsc, phone, seen)
}

/// Moves the service's clock to `days` after `start` (noon in Lhasa) and lets the follow-ups
/// run (the job runner would, within 5 seconds; the test does not wait for it).
fn months_later(state: &AppState, start: NaiveDate, days: i64) {
    state.time.set(
        (start + chrono::Duration::days(days))
            .and_hms_opt(4, 0, 0)
            .unwrap(),
    );
    let mut c = state.db.get().unwrap();
    hotline::followups::run::run(&mut c, state, state.time.now()).unwrap();
    state.outbox_wake.notify_one();
}

#[test]
fn follow_ups_through_kannel_warn_of_arrears_and_prove_subsidies() {
    if !kannel_or_skip() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tdb = TestDb::new();
    let port = free_port();
    let kannel = Kannel::start(KannelConfig::new(get_url(port))).unwrap();
    let state = AppState::with_db(config(&tdb, &kannel, port), tdb.db.clone()).unwrap();
    let app = TestApp::over(state.clone(), tdb);
    let running = rt.block_on(hotline::server::start(state.clone())).unwrap();
    let smsc = FakeSmsc::start(&kannel, &[]).unwrap();

    road_project(&mut app.conn(), "LS-2026-001");
    for (p, l) in [(A_ZH, "zh"), (B_BO, "bo"), (C_BO, "bo"), (D_ZH, "zh")] {
        speaks(&state, &format!("+{p}"), l);
    }
    let start = state.config.today();
    for p in [A_ZH, B_BO, C_BO] {
        place(
            &state,
            &format!("+{p}"),
            "",
            Some("LS-2026-001"),
            Some(AGENCY),
            None,
            start,
        );
    }
    place(
        &state,
        &format!("+{D_ZH}"),
        "堆龙德庆区物流园装卸队",
        None,
        Some(AGENCY),
        None,
        start,
    );

    // One month later: each worker gets the first question, in their language.
    months_later(&state, start, 31);
    let a = next_to(&smsc, A_ZH, 0);
    assert!(
        a.contains("回访") && a.contains("保密") && a.contains("拉萨北环路改造工程"),
        "{a}"
    );
    let b = next_to(&smsc, B_BO, 0);
    assert!(b.contains("ལན་གསང") && b.contains("ལྷ་སའི་བྱང་ངོས་ལམ"), "{b}");
    assert!(
        !b.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)),
        "{b}"
    );
    next_to(&smsc, C_BO, 0);
    next_to(&smsc, D_ZH, 0);

    // Not paid: A in Chinese, B in Tibetan digits, C two answers in one message.
    assert!(say(&smsc, A_ZH, "1").contains("工资"));
    assert!(say(&smsc, A_ZH, "3").contains("几个月"));
    say(&smsc, B_BO, "༡");
    let months_bo = say(&smsc, B_BO, "༣");
    assert!(months_bo.contains("ཟླ་བ"), "{months_bo}");
    say(&smsc, C_BO, "༡ ༢");
    let case: Case = cases::table
        .select(Case::as_select())
        .first(&mut *app.conn())
        .expect("an early-warning case");
    assert_eq!(case.source, CaseSource::EarlyWarning);
    assert_eq!(
        (case.workers, case.priority),
        (3, 2),
        "government-invested: +3"
    );

    // A files: two months, 1,000–5,000 yuan, yes; the complaint is filled in, A confirms.
    say(&smsc, A_ZH, "2");
    assert!(say(&smsc, A_ZH, "2").contains("投诉"));
    let summary = say(&smsc, A_ZH, "1");
    assert!(
        summary.contains("拉萨北环路改造工程") && summary.contains("回复1提交"),
        "{summary}"
    );
    let filed = say(&smsc, A_ZH, "1");
    assert!(filed.contains(&case.reference), "{filed}");
    let complainants: Vec<String> = complaints::table
        .inner_join(contacts::table)
        .filter(complaints::case_id.eq(&case.id))
        .select(contacts::phone)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(complainants, vec![format!("+{A_ZH}")]);

    // The inspector's queue flags the case; its page shows the workers' answers.
    add_user(&app, "inspector1", UserRole::Inspector, None);
    add_user(&app, "officer1", UserRole::Officer, None);
    let (queue, case_page) = rt.block_on(async {
        let mut inspector = ConsoleClient::login(&app, "inspector1", PASSWORD).await;
        let q = inspector.get("/console/").await;
        let p = inspector
            .get(&format!("/console/cases/{}", case.reference))
            .await;
        (q, p)
    });
    assert!(queue.body.contains("回访预警"), "{}", queue.body);
    assert!(case_page.body.contains("id=\"signals\"") && case_page.body.contains("没发"));

    // D: still working and paid at 1, 3 and 6 months.
    say(&smsc, D_ZH, "1");
    assert!(say(&smsc, D_ZH, "1").contains("谢谢"));
    months_later(&state, start, 92);
    next_to(&smsc, D_ZH, 3);
    say(&smsc, D_ZH, "1 1");
    months_later(&state, start, 184);
    next_to(&smsc, D_ZH, 5);
    assert!(say(&smsc, D_ZH, "11").contains("谢谢"));

    // The officer's subsidy list for that month shows the worker's and the broker's claims.
    let month = hotline::followups::month_of(state.config.local(state.time.now()).date());
    let (list, csv) = rt.block_on(async {
        let mut officer = ConsoleClient::login(&app, "officer1", PASSWORD).await;
        let l = officer
            .get(&format!("/console/subsidies?month={month}"))
            .await;
        let c = officer
            .get(&format!("/console/subsidies/{month}.csv"))
            .await;
        (l, c)
    });
    assert_eq!(list.status, 200, "{}", list.body);
    for want in [
        &format!("+{D_ZH}"),
        AGENCY,
        "求职补贴（工人）",
        "职业介绍补贴（经纪机构）",
        "堆龙德庆区物流园装卸队",
    ] {
        assert!(
            list.body.contains(want),
            "{want} not in the list: {}",
            list.body
        );
    }
    assert!(
        !list.body.contains(&format!("+{A_ZH}")),
        "A's placement has not lasted"
    );
    let rows: Vec<&str> = csv.body.lines().collect();
    assert_eq!(rows.len(), 3, "a header and two claims: {}", csv.body);
    assert!(
        rows[1].contains("第1个月") && rows[1].contains("第3个月") && rows[1].contains("第6个月")
    );

    rt.block_on(running.stop()).unwrap();
}
