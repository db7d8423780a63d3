//! End to end through a real Kannel: fakesmsc (the fake carrier) → bearerbox → smsbox →
//! hotline's receive route; hotline's replies → sendsms → fakesmsc; delivery reports →
//! hotline's status route. Runs on the backend TEST_DATABASE_URL selects.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use hotline::db::models::{Language, Message};
use hotline::db::schema::messages;
use hotline::templates::Templates;
use serde_json::json;

use crate::support::db::TestDb;
use crate::support::kannel::{
    kannel_available, FakeMo, FakeSmsc, Kannel, KannelConfig, INSTALL_HINT,
};
use crate::support::process::{free_port, Hotline};

pub(crate) const SECRET: &str = "e2e-secret-0123456789";

/// Kannel is required in CI; elsewhere the test says it was skipped.
pub(crate) fn kannel_or_skip() -> bool {
    if kannel_available() {
        return true;
    }
    crate::support::skips::skip("Kannel", INSTALL_HINT);
    false
}

pub(crate) fn get_url(port: u16) -> String {
    format!(
        "http://127.0.0.1:{port}/channels/kannel/receive?secret={SECRET}&from=%p&to=%P&text=%b&id=%I&coding=%c&charset=%C&ts=%T&smsc=%i"
    )
}

fn hotline_config(db_url: &str, kannel: &Kannel, extra_channel: &str, extra: &str) -> String {
    format!(
        "database_url = \"{db_url}\"\n[alerts]\nsend_window = \"00:00-24:00\"\n{extra}\n[[channels]]\nid = \"kannel\"\nkind = \"kannel\"\nnumber = \"12333\"\n\
         sendsms_url = \"{}\"\nusername = \"{}\"\npassword = \"{}\"\nsecret = \"{SECRET}\"\n{extra_channel}\n",
        kannel.sendsms_base_url(),
        kannel.sendsms_user(),
        kannel.sendsms_password()
    )
}

fn outgoing(tdb: &TestDb) -> Vec<Message> {
    messages::table
        .filter(messages::direction.eq("out"))
        .select(Message::as_select())
        .load(&mut *tdb.db.get().unwrap())
        .unwrap()
}

fn digits(phone: &str) -> String {
    phone.trim_start_matches('+').to_string()
}

/// Kannel with fakesmsc, and the hotline binary on a fresh database behind it. The directory
/// and Kannel must live as long as the test.
fn kannel_and_hotline() -> (TestDb, tempfile::TempDir, Kannel, Hotline, FakeSmsc) {
    let tdb = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let kannel = Kannel::start(KannelConfig::new(get_url(port))).unwrap();
    let hotline = Hotline::start(dir.path(), port, &hotline_config(&tdb.url, &kannel, "", ""));
    let smsc = FakeSmsc::start(&kannel, &[]).unwrap();
    (tdb, dir, kannel, hotline, smsc)
}

#[test]
fn tibetan_and_chinese_help_and_stop_through_kannel() {
    if !kannel_or_skip() {
        return;
    }
    let (tdb, _dir, _kannel, hotline, smsc) = kannel_and_hotline();

    let defaults = hotline::config::Config::default();
    let t = Templates::load(None, &defaults.sender_name)
        .unwrap()
        .with_sender_bo(&defaults.sender_name_bo);
    let render = |lang, name| t.render(lang, name, &json!({})).unwrap();
    let cases = [
        ("8613900000001", "རོགས་རམ", render(Language::Bo, "help")),
        ("8613900000002", "帮助", render(Language::Zh, "help")),
        // Latin letters say nothing of the worker's language: one short SMS asks for it.
        (
            "8613900000003",
            "HELP",
            render(Language::Both, "language_pick"),
        ),
        ("8613900000004", "退订", render(Language::Zh, "stopped")),
        ("8613900000005", "མཚམས་འཇོག", render(Language::Bo, "stopped")),
        (
            "8613900000006",
            "ＳＴＯＰ",
            render(Language::Both, "stopped"),
        ),
    ];
    for (from, text, _) in &cases {
        smsc.send_mo(&FakeMo::new(*from, "12333", *text)).unwrap();
    }
    let got = smsc.wait_for(cases.len(), Duration::from_secs(30));
    assert_eq!(
        got.len(),
        cases.len(),
        "replies: {got:?}\n{}",
        hotline.log()
    );
    let by_phone: HashMap<String, String> = got
        .iter()
        .map(|m| (digits(&m.to), m.text.clone()))
        .collect();
    for (from, text, want) in &cases {
        assert_eq!(
            by_phone.get(*from),
            Some(want),
            "reply to {text:?} from {from}"
        );
    }
    for m in &got {
        assert_eq!(m.from, "12333");
    }

    // delivery reports come back through smsbox and are stored
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = outgoing(&tdb);
        if out.len() == cases.len() && out.iter().all(|m| m.status == "delivered") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all delivered: {:?}",
            out.iter().map(|m| &m.status).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // each report is kept as evidence in the message's history
    let mut conn = tdb.db.get().unwrap();
    for m in outgoing(&tdb) {
        let details: Vec<Option<String>> = hotline::db::schema::message_events::table
            .filter(hotline::db::schema::message_events::message_id.eq(&m.id))
            .select(hotline::db::schema::message_events::detail)
            .load(&mut *conn)
            .unwrap();
        assert!(
            details
                .iter()
                .any(|d| d.as_deref().is_some_and(|d| d.starts_with("kannel dlr 1"))),
            "{details:?}"
        );
    }

    // the STOPs took effect
    let opted_out: Vec<String> = hotline::db::schema::contacts::table
        .filter(hotline::db::schema::contacts::opted_out.eq(true))
        .select(hotline::db::schema::contacts::phone)
        .order(hotline::db::schema::contacts::phone)
        .load(&mut *conn)
        .unwrap();
    assert_eq!(
        opted_out,
        vec!["+8613900000004", "+8613900000005", "+8613900000006"]
    );
}

/// 1,000 queued messages; the service is killed with SIGKILL mid-way and started again;
/// fakesmsc receives every message exactly once.
#[test]
fn sigkill_while_sending_1000_delivers_each_exactly_once() {
    if !kannel_or_skip() {
        return;
    }
    const N: usize = 1000;
    let tdb = TestDb::new();
    crate::faults::queue(&tdb.db, N, "job notice");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // smsbox retries a callback it could not deliver (our process is down) every second
    let mut kcfg = KannelConfig::new(get_url(port));
    kcfg.http_request_retry = 60;
    kcfg.http_queue_delay_secs = 1;
    let kannel = Kannel::start(kcfg).unwrap();
    let smsc = FakeSmsc::start(&kannel, &[]).unwrap();
    let config = hotline_config(
        &tdb.url,
        &kannel,
        "tps = 150\nconcurrency = 4\n",
        "[outbox]\nlease_secs = 6\nsend_timeout_secs = 3\nin_flight_grace_secs = 4\npoll_interval_ms = 100\n",
    );
    let mut first = Hotline::start(dir.path(), port, &config);
    let deadline = Instant::now() + Duration::from_secs(60);
    while smsc.received().len() < 250 {
        assert!(
            Instant::now() < deadline,
            "sending did not start:\n{}",
            first.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    first.sigkill();
    let at_kill = smsc.received().len();
    assert!(at_kill < N, "all sent before the kill");
    let in_flight = outgoing(&tdb)
        .iter()
        .filter(|m| m.status == "sending")
        .count();
    drop(first);

    let second = Hotline::restart(dir.path(), port);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = outgoing(&tdb);
        let pending = out
            .iter()
            .filter(|m| m.status == "queued" || m.status == "sending")
            .count();
        if pending == 0 && smsc.received().len() >= N {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} still pending, {} received\n{}",
            smsc.received().len(),
            second.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // anything sent twice would arrive within moments
    std::thread::sleep(Duration::from_secs(3));
    let mut count: HashMap<String, usize> = HashMap::new();
    for m in smsc.received() {
        *count.entry(m.text).or_default() += 1;
    }
    let dups: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "sent twice: {dups:?}");
    assert_eq!(
        count.len(),
        N,
        "killed after {at_kill}, {in_flight} in flight"
    );
    for i in 0..N {
        assert!(
            count.contains_key(&format!("job notice {i:04}")),
            "message {i} lost"
        );
    }
    let out = outgoing(&tdb);
    assert!(out
        .iter()
        .all(|m| m.status == "sent" || m.status == "delivered"));
    eprintln!(
        "killed after {at_kill} of {N} with {in_flight} in flight; all {N} delivered exactly once"
    );
}

/// A Tibetan worker files a wage complaint through Kannel writing numbers the way Tibetan
/// speakers do (units before and after the number, ཁྲི for ten thousand, number words, a
/// Chinese unit), and every reply stays in Tibetan.
#[test]
fn a_tibetan_complaint_written_as_workers_write_numbers_through_kannel() {
    if !kannel_or_skip() {
        return;
    }
    let (tdb, _dir, _kannel, hotline, smsc) = kannel_and_hotline();
    let mut seen = 0;
    let mut say = |from: &str, text: &str| -> String {
        smsc.send_mo(&FakeMo::new(from, "12333", text)).unwrap();
        seen += 1;
        let got = smsc.wait_for(seen, Duration::from_secs(30));
        assert_eq!(got.len(), seen, "no reply to {text:?}\n{}", hotline.log());
        got[seen - 1].text.clone()
    };
    let han = |s: &str| s.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c));
    for (from, steps, amount, workers, months) in [
        (
            "8613900000021",
            [
                ("གླ་ཕོགས", "༡/༦"),
                ("བཀྲ་ཤིས་ལས་ཁང་།", "༢/༦"),
                ("༢", "༣/༦"),
                ("མི་ལྔ", "༤/༦"),
                ("༣ ཁྲི", "༥/༦"),
                ("ཟླ་བ་གསུམ", "༦/༦"),
                ("༢", "ཞིབ་བཤེར"),
            ],
            30_000,
            5,
            3,
        ),
        (
            "8613900000022",
            [
                ("གླ་ཕོགས", "༡/༦"),
                ("ཚེ་རིང་བཟོ་སྐྲུན།", "༢/༦"),
                ("1", "༣/༦"),
                ("གསུམ", "༤/༦"),
                ("5000元", "༥/༦"),
                ("༣ ཟླ་བ", "༦/༦"),
                ("2", "ཞིབ་བཤེར"),
            ],
            5_000,
            3,
            3,
        ),
        (
            "8613900000023",
            [
                ("གླ་ཕོགས", "༡/༦"),
                ("ལྷ་ས་ལམ་བཟོ།", "༢/༦"),
                ("༡", "༣/༦"),
                ("བཅུ", "༤/༦"),
                ("སྒོར་མོ་༥༠༠༠", "༥/༦"),
                ("ཟླ་བ་༤", "༦/༦"),
                ("༢", "ཞིབ་བཤེར"),
            ],
            5_000,
            10,
            4,
        ),
    ] {
        for (text, want) in steps {
            let reply = say(from, text);
            assert!(reply.contains(want), "{text:?} → {reply}");
            assert!(!han(&reply), "{text:?} → a Chinese reply: {reply}");
        }
        let filed = say(from, "༡");
        assert!(filed.contains("ཐོ་འགོད་ཟིན"), "{filed}");
        let complaint: (i64, i32, Option<i32>, String) = hotline::db::schema::complaints::table
            .inner_join(hotline::db::schema::contacts::table)
            .filter(hotline::db::schema::contacts::phone.eq(format!("+{from}")))
            .select((
                hotline::db::schema::complaints::amount_yuan,
                hotline::db::schema::complaints::workers,
                hotline::db::schema::complaints::months,
                hotline::db::schema::complaints::language,
            ))
            .first(&mut *tdb.db.get().unwrap())
            .unwrap();
        assert_eq!(
            complaint,
            (amount, workers, Some(months), "bo".to_string()),
            "{from}"
        );
    }
}
