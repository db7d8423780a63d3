//! Follow-ups survive the process being killed: hotline runs as a process in front of a real
//! Kannel with fakesmsc; four hundred placements' one-month follow-ups are due (the placements
//! started 35 days ago, so no clock is moved); hotline gets SIGKILL while it is asking them,
//! some asked and sent, some scheduled and not yet asked. After a restart every worker is asked
//! exactly once: one follow-up row each, open, with one SMS that reached the carrier once.
//! Runs on the backend TEST_DATABASE_URL selects; fails in CI when Kannel is missing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use hotline::config::Config;
use hotline::db::schema::{followups, messages};
use hotline::followups::placements::{self, Valid};
use hotline::followups::PlacementSource;
use hotline::AppState;

use crate::alerts_kill::{crash_settings, kannel_for_kills};
use crate::kannel_e2e::kannel_or_skip;
use crate::support::db::TestDb;
use crate::support::kannel::{FakeSmsc, Kannel};
use crate::support::process::{free_port, Hotline};

const WORKERS: usize = 400;

/// hotline.toml without `listen`: follow-ups every second, 20 a run, so asking them all takes
/// about 20 runs; the outbox's crash settings as in alerts_kill.
fn config(db_url: &str, kannel: &Kannel) -> String {
    format!(
        "database_url = \"{db_url}\"\n\
         [alerts]\nsend_window = \"00:00-24:00\"\n\
         [followups]\nbatch = 20\nevery_secs = 1\n[jobs]\npoll_interval_ms = 200\n{}",
        crash_settings(kannel)
    )
}

fn statuses(tdb: &TestDb) -> HashMap<String, usize> {
    let all: Vec<String> = followups::table
        .select(followups::status)
        .load(&mut *tdb.db.get().unwrap())
        .unwrap();
    let mut by = HashMap::new();
    for s in all {
        *by.entry(s).or_default() += 1;
    }
    by
}

#[test]
fn sigkill_between_scheduling_and_sending_asks_each_worker_once() {
    if !kannel_or_skip() {
        return;
    }
    let tdb = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let kannel = kannel_for_kills(port);
    let cfg = Config::from_sources(Some(&config(&tdb.url, &kannel)), None, Vec::new()).unwrap();
    let state = AppState::with_db(cfg, tdb.db.clone()).unwrap();
    let t0 = Instant::now();
    let start = state.config.today() - chrono::Duration::days(35);
    {
        let mut c = tdb.db.get().unwrap();
        hotline::db::transaction(&mut c, |c| -> Result<(), hotline::db::DbError> {
            for i in 0..WORKERS {
                let v = Valid {
                    phone: format!("+86137{i:08}"),
                    employer: "达孜区工业园建材厂".into(),
                    project_id: None,
                    notice_id: None,
                    agency: None,
                    county: Some("达孜区".into()),
                    place_outside: None,
                    trade: None,
                    start_on: start,
                };
                placements::record(
                    c,
                    &state.config.followups,
                    state.config.utc_offset_secs(),
                    &v,
                    PlacementSource::Import,
                    "test",
                    state.time.now(),
                )?;
            }
            Ok(())
        })
        .unwrap();
    }
    assert_eq!(statuses(&tdb).get("scheduled"), Some(&(WORKERS * 3)));
    eprintln!("{WORKERS} placements recorded in {:?}", t0.elapsed());
    let smsc = FakeSmsc::start(&kannel, &[]).unwrap();
    let mut first = Hotline::start(dir.path(), port, &config(&tdb.url, &kannel));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let open = statuses(&tdb).get("open").copied().unwrap_or(0);
        if open >= WORKERS / 4 && smsc.received_count() > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "asking did not start\n{}",
            first.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    first.sigkill();
    eprintln!("killed at {:?}", t0.elapsed());
    let at_kill = statuses(&tdb);
    let asked = at_kill.get("open").copied().unwrap_or(0);
    assert!(asked < WORKERS, "all asked before the kill: {at_kill:?}");
    drop(first);

    let second = Hotline::restart(dir.path(), port);
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let open = statuses(&tdb).get("open").copied().unwrap_or(0);
        let pending: i64 = messages::table
            .filter(messages::direction.eq("out"))
            .filter(messages::status.eq_any(["queued", "sending"]))
            .count()
            .get_result(&mut *tdb.db.get().unwrap())
            .unwrap();
        if open == WORKERS && pending == 0 && smsc.received_count() >= WORKERS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} asked, {pending} pending, {} at fakesmsc\n{}",
            smsc.received_count(),
            second.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("all asked at {:?}", t0.elapsed());
    std::thread::sleep(Duration::from_secs(3));
    // One SMS a worker, in the outbox and at the carrier; the later steps still scheduled.
    let per_worker: Vec<(String, i64)> = messages::table
        .filter(messages::kind.eq("followup_placement"))
        .group_by(messages::phone)
        .select((messages::phone, diesel::dsl::count_star()))
        .load(&mut *tdb.db.get().unwrap())
        .unwrap();
    assert_eq!(per_worker.len(), WORKERS);
    assert!(
        per_worker.iter().all(|(_, n)| *n == 1),
        "a worker asked twice"
    );
    let mut at_carrier: HashMap<String, usize> = HashMap::new();
    for m in smsc.received() {
        *at_carrier
            .entry(m.to.trim_start_matches('+').to_string())
            .or_default() += 1;
    }
    assert_eq!(at_carrier.len(), WORKERS);
    let twice: Vec<_> = at_carrier.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "received twice at fakesmsc: {twice:?}");
    assert_eq!(statuses(&tdb).get("scheduled"), Some(&(WORKERS * 2)));
    eprintln!("killed with {asked} of {WORKERS} asked; each asked once after restart");
    drop(second);
}
