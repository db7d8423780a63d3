//! A job notice survives the process being killed: hotline runs as a process in front of a
//! real Kannel with fakesmsc, and gets SIGKILL (a) half-way through queuing a notice's
//! alerts and (b) half-way through sending them. After a restart every matching worker's
//! alert exists once and reaches the fake carrier once. Runs on the backend
//! TEST_DATABASE_URL selects; fails in CI when Kannel is missing.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use hotline::alerts::notices::{self, Notice, Targeting};
use hotline::config::Config;
use hotline::db::schema::{messages, notices as notices_t};
use hotline::AppState;

use crate::support::db::TestDb;
use crate::support::kannel::{kannel_available, FakeSmsc, Kannel, KannelConfig, INSTALL_HINT};
use crate::support::process::{free_port, Hotline};

const SECRET: &str = "kill-secret-0123456789";
/// Workers on the register the notice reaches.
const MATCHING: usize = 3000;
/// Register rows (matching or not) gone through per transaction: seven batches.
const BATCH: usize = 500;

/// Kannel is required in CI; elsewhere the test says it was skipped.
fn kannel_or_skip() -> bool {
    if kannel_available() {
        return true;
    }
    crate::support::skips::skip("Kannel", INSTALL_HINT);
    false
}

/// hotline.toml without `listen`. The outbox settings are kannel_e2e's crash settings: a
/// message left `sending` by the killed process is sent again only after its lease (6 s) and
/// the grace (4 s) have passed without a delivery report, and Kannel retries the report every
/// second (60 times) while hotline is down, so a message that did reach Kannel has its report
/// long before then and is never sent twice.
fn config(db_url: &str, kannel: &Kannel) -> String {
    format!(
        "database_url = \"{db_url}\"\n\
         [alerts]\nsend_window = \"00:00-24:00\"\nqueue_batch = {BATCH}\nmax_per_week = 10\n{}",
        crash_settings(kannel)
    )
}

/// The outbox's crash settings and the Kannel channel, for a process the test kills.
pub(crate) fn crash_settings(kannel: &Kannel) -> String {
    format!(
        "[outbox]\nlease_secs = 6\nsend_timeout_secs = 3\nin_flight_grace_secs = 4\npoll_interval_ms = 100\n\
         [[channels]]\nid = \"kannel\"\nkind = \"kannel\"\nnumber = \"12333\"\ntps = 1000\nconcurrency = 4\n\
         sendsms_url = \"{}\"\nusername = \"{}\"\npassword = \"{}\"\nsecret = \"{SECRET}\"\n",
        kannel.sendsms_base_url(),
        kannel.sendsms_user(),
        kannel.sendsms_password()
    )
}

/// Kannel in front of hotline on `port`, retrying every second (60 times) a callback it could
/// not deliver while the process is down.
pub(crate) fn kannel_for_kills(port: u16) -> Kannel {
    let mut kcfg = KannelConfig::new(format!(
        "http://127.0.0.1:{port}/channels/kannel/receive?secret={SECRET}&from=%p&to=%P&text=%b&id=%I&coding=%c&charset=%C&ts=%T&smsc=%i"
    ));
    kcfg.http_request_retry = 60;
    kcfg.http_queue_delay_secs = 1;
    Kannel::start(kcfg).unwrap()
}

struct Setup {
    tdb: TestDb,
    dir: tempfile::TempDir,
    port: u16,
    kannel: Kannel,
    state: AppState,
    /// Phones (without +) of the workers the notice matches.
    matching: HashSet<String>,
    notice: Notice,
}

/// The register (MATCHING matching workers in zh, bo and both, plus some the notice must not
/// reach), Kannel, and a submitted notice; hotline is not started yet.
fn setup() -> Setup {
    let tdb = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let kannel = kannel_for_kills(port);
    let cfg_text = config(&tdb.url, &kannel);
    let cfg = Config::from_sources(Some(&cfg_text), None, Vec::<(String, String)>::new()).unwrap();
    let state = AppState::with_db(cfg, tdb.db.clone()).unwrap();
    let counties = ["城关区", "达孜区", "林周县", "当雄县"];
    let langs = ["zh", "bo", "both"];
    let mut matching = HashSet::new();
    {
        let mut conn = tdb.db.get().unwrap();
        hotline::db::transaction(&mut conn, |c| -> Result<(), hotline::db::DbError> {
            for i in 0..MATCHING + 300 {
                let phone = format!("+86139{i:08}");
                let (trades, consent) = match i {
                    i if i < MATCHING => (",construction,", true),
                    i if i < MATCHING + 150 => (",catering,", true),
                    _ => (",construction,", false),
                };
                crate::alerts::worker(
                    c,
                    &phone,
                    langs[i % 3],
                    counties[i % counties.len()],
                    trades,
                    consent,
                );
                if i < MATCHING {
                    matching.insert(phone[1..].to_string());
                }
            }
            Ok(())
        })
        .unwrap();
    }
    let env = notices::Env::of(&state);
    let v = notices::validate(&env, &crate::alerts::input(env.today))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let notice = {
        let mut conn = tdb.db.get().unwrap();
        let n = notices::create(&mut conn, &v, "安居劳务", "user:broker").unwrap();
        notices::submit(&mut conn, &n.id, "user:broker").unwrap()
    };
    let preview =
        hotline::alerts::send::preview(&mut tdb.db.get().unwrap(), &state, &notice).unwrap();
    assert_eq!(preview.recipients_total as usize, MATCHING, "{preview:?}");
    Setup {
        tdb,
        dir,
        port,
        kannel,
        state,
        matching,
        notice,
    }
}

impl Setup {
    fn start(&self) -> Hotline {
        Hotline::start(
            self.dir.path(),
            self.port,
            &config(&self.tdb.url, &self.kannel),
        )
    }

    fn approve(&self) {
        notices::approve(
            &mut self.state.db.get().unwrap(),
            &self.notice.id,
            &Targeting::default(),
            None,
            "user:officer",
        )
        .unwrap();
    }

    /// (queued_through, queued_at is set)
    fn cursor(&self) -> (Option<String>, bool) {
        let (through, at): (Option<String>, Option<chrono::NaiveDateTime>) = notices_t::table
            .find(&self.notice.id)
            .select((notices_t::queued_through, notices_t::queued_at))
            .first(&mut *self.tdb.db.get().unwrap())
            .unwrap();
        (through, at.is_some())
    }

    /// The notice's alerts: (phone without +, status).
    fn alerts(&self) -> Vec<(String, String)> {
        messages::table
            .filter(messages::notice_id.eq(&self.notice.id))
            .select((messages::phone, messages::status))
            .load::<(String, String)>(&mut *self.tdb.db.get().unwrap())
            .unwrap()
            .into_iter()
            .map(|(p, s)| (p.trim_start_matches('+').to_string(), s))
            .collect()
    }

    /// Every matching worker has exactly one alert, and nobody else has one.
    fn assert_each_alert_once(&self) {
        let mut per: HashMap<String, usize> = HashMap::new();
        for (phone, _) in self.alerts() {
            *per.entry(phone).or_default() += 1;
        }
        let twice: Vec<_> = per.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "alerts queued twice: {twice:?}");
        let stray: Vec<_> = per.keys().filter(|p| !self.matching.contains(*p)).collect();
        assert!(
            stray.is_empty(),
            "alerts for workers not matched: {stray:?}"
        );
        let missing = self
            .matching
            .iter()
            .filter(|p| !per.contains_key(*p))
            .count();
        assert_eq!(missing, 0, "{missing} matching workers without an alert");
    }

    fn wait_queued(&self, hotline: &Hotline, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.cursor().1 {
            assert!(
                Instant::now() < deadline,
                "not queued within {secs} s: {:?}\n{}",
                self.cursor(),
                hotline.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn sigkill_while_queuing_a_notice_queues_each_alert_once() {
    if !kannel_or_skip() {
        return;
    }
    let s = setup();
    let mut first = s.start();
    s.approve();
    // The job runner picks the notice up within 2 s; kill as soon as a batch is committed
    // and the notice is not finished.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (through, done) = s.cursor();
        assert!(
            !done,
            "queued completely before the kill could happen: {through:?}"
        );
        if through.is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "queuing did not start\n{}",
            first.log()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    first.sigkill();
    let (through, done) = s.cursor();
    let at_kill = s.alerts().len();
    assert!(
        !done,
        "killed after the notice was fully queued: {through:?}"
    );
    assert!(
        at_kill > 0 && at_kill < MATCHING,
        "{at_kill} alerts at the kill: not half-way"
    );
    drop(first);

    let second = Hotline::restart(s.dir.path(), s.port);
    s.wait_queued(&second, 60);
    s.assert_each_alert_once();
    eprintln!("killed with {at_kill} of {MATCHING} alerts queued; each queued once after restart");
    drop(second);
}

#[test]
fn sigkill_while_sending_a_notice_sends_each_alert_once() {
    if !kannel_or_skip() {
        return;
    }
    let s = setup();
    let smsc = FakeSmsc::start(&s.kannel, &[]).unwrap();
    let mut first = s.start();
    s.approve();
    let deadline = Instant::now() + Duration::from_secs(60);
    while smsc.received_count() < MATCHING / 4 {
        assert!(
            Instant::now() < deadline,
            "sending did not start: {} received\n{}",
            smsc.received_count(),
            first.log()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    first.sigkill();
    let at_kill = smsc.received_count();
    assert!(at_kill < MATCHING, "all sent before the kill");
    let in_flight = s.alerts().iter().filter(|(_, st)| st == "sending").count();
    drop(first);

    let second = Hotline::restart(s.dir.path(), s.port);
    s.wait_queued(&second, 60);
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let pending = s
            .alerts()
            .iter()
            .filter(|(_, st)| st == "queued" || st == "sending")
            .count();
        if pending == 0 && smsc.received_count() >= MATCHING {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} alerts still pending, {} at fakesmsc\n{}",
            smsc.received_count(),
            second.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // anything sent twice (an in-flight alert sent again) would arrive within moments
    std::thread::sleep(Duration::from_secs(3));
    s.assert_each_alert_once();
    let mut per: HashMap<String, usize> = HashMap::new();
    for m in smsc.received() {
        assert_eq!(m.from, "12333");
        *per.entry(m.to.trim_start_matches('+').to_string())
            .or_default() += 1;
    }
    let twice: Vec<_> = per.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "received twice at fakesmsc: {twice:?}");
    let stray: Vec<_> = per.keys().filter(|p| !s.matching.contains(*p)).collect();
    assert!(stray.is_empty(), "alerts to workers not matched: {stray:?}");
    assert_eq!(
        per.len(),
        MATCHING,
        "killed after {at_kill}, {in_flight} in flight"
    );
    let statuses: HashSet<String> = s.alerts().into_iter().map(|(_, st)| st).collect();
    assert!(
        statuses.iter().all(|st| st == "sent" || st == "delivered"),
        "{statuses:?}"
    );
    eprintln!(
        "killed after {at_kill} of {MATCHING} alerts with {in_flight} in flight; each reached fakesmsc once"
    );
    drop(second);
}
