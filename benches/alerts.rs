//! Job alerts at register size: seeds a fresh database with N workers on the labour-force
//! register (all consenting, seeking, construction; mixed languages and counties), starts the
//! release `hotline` binary over it, approves one notice that matches every one of them, and
//! measures how long the server takes to queue the alerts (approval until the notice's
//! `queued_at` is set and every alert exists), its peak memory, and how `/readyz`, the Kannel
//! receive route and a console page answer meanwhile. A second, smaller run drains an alert
//! through a real Kannel (bearerbox + smsbox + fakesmsc) at the channel's rate while workers
//! text HELP, and measures MO to reply MT: replies must overtake the queued alerts.
//!
//!   cargo bench --bench alerts                       # SQLite, 1,000,000 workers
//!   cargo bench --bench alerts -- --postgres postgres://postgres@127.0.0.1:5432/test
//!   cargo bench --bench alerts -- --workers 200000 --drain-workers 20000 --helps 50
//!   cargo bench --bench alerts -- --only queue       # or --only drain
//!   cargo bench --bench alerts -- --queue-batch 5000 # override alerts.queue_batch
//!   cargo bench --bench alerts -- --keep             # leave the databases, print where
//!
//! Only 127.0.0.1 is used. The drain part needs Kannel (`apt-get install kannel
//! kannel-extras`); without it that part is skipped with a note.

#[allow(dead_code)]
#[path = "../tests/it/support/fake_gateway.rs"]
mod fake_gateway;
#[path = "../tests/it/support/kannel.rs"]
mod kannel;
#[allow(dead_code)]
#[path = "../tests/it/support/ports.rs"]
mod ports;
#[path = "support/process.rs"]
mod process;
use process::{cpu_secs, peak_rss_kib, Server};

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use hotline::alerts::notices::{self, NoticeInput, Targeting};
use hotline::alerts::send;
use hotline::config::Config;
use hotline::db::schema::{messages, notices as notices_t};
use hotline::db::{Db, DbConn};
use hotline::AppState;
use reqwest::blocking::Client;

const SECRET: &str = "bench-secret-0123456789";
const ADMIN: &str = "bench.admin";
const PASSWORD: &str = "bench-password-0123456789";

struct Args {
    workers: usize,
    drain_workers: usize,
    helps: usize,
    tps: u32,
    drain_tps: u32,
    queue_batch: Option<u32>,
    postgres: Option<String>,
    only: Option<String>,
    keep: bool,
}

fn args() -> Args {
    let mut a = Args {
        workers: 1_000_000,
        drain_workers: 20_000,
        helps: 50,
        tps: 100,
        drain_tps: 100,
        queue_batch: None,
        postgres: None,
        only: None,
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    let num = |v: Option<String>, name: &str| -> usize {
        v.and_then(|v| v.replace([',', '_'], "").parse().ok())
            .unwrap_or_else(|| panic!("{name} N"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--workers" => a.workers = num(it.next(), "--workers"),
            "--drain-workers" => a.drain_workers = num(it.next(), "--drain-workers"),
            "--helps" => a.helps = num(it.next(), "--helps").max(1),
            "--tps" => a.tps = num(it.next(), "--tps").max(1) as u32,
            "--drain-tps" => a.drain_tps = num(it.next(), "--drain-tps").max(1) as u32,
            "--queue-batch" => a.queue_batch = Some(num(it.next(), "--queue-batch").max(1) as u32),
            "--postgres" => a.postgres = Some(it.next().expect("--postgres URL")),
            "--only" => a.only = Some(it.next().expect("--only queue|drain")),
            "--keep" => a.keep = true,
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(
        a.workers < 100_000_000,
        "--workers must stay below 100,000,000"
    );
    a
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server's hotline.toml: one Kannel channel, the send window open all day.
fn server_config(port: u16, db_url: &str, queue_batch: Option<u32>, channel: &str) -> String {
    let batch = queue_batch
        .map(|b| format!("queue_batch = {b}\n"))
        .unwrap_or_default();
    format!(
        "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"{db_url}\"\nlog = \"warn\"\n\
         [alerts]\nsend_window = \"00:00-24:00\"\n{batch}\
         [[channels]]\nid = \"kannel\"\nkind = \"kannel\"\nnumber = \"12333\"\nsecret = \"{SECRET}\"\n{channel}\n"
    )
}

/// The same configuration in this process, to write the notice as the console would.
fn state_for(db: &Db, toml: &str) -> AppState {
    let config = Config::from_sources(Some(toml), None, Vec::<(String, String)>::new())
        .expect("bench configuration");
    AppState::with_db(config, db.clone()).expect("application state")
}

fn counties_case(expr: &str, counties: &[String]) -> String {
    let mut s = format!("CASE {expr} % {} ", counties.len());
    for (i, c) in counties.iter().enumerate() {
        s.push_str(&format!("WHEN {i} THEN '{c}' "));
    }
    s.push_str("END");
    s
}

/// N register workers, 100,000 per transaction, generated by the database itself (a series
/// turned into rows), so the bench holds nothing in memory. Worker i has phone
/// +86139 and i in eight digits; language zh, bo, both in turn; county i mod 8; every fourth
/// also registered for transport.
fn seed(db: &Db, n: usize, counties: &[String]) -> Duration {
    let started = Instant::now();
    let mut pooled = db.get().expect("database connection");
    let conn: &mut DbConn = &mut pooled;
    let t = hotline::db::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let county = counties_case("CAST(substr(phone, 7) AS INTEGER)", counties);
    const CHUNK: usize = 100_000;
    let mut a = 0;
    while a < n {
        let b = (a + CHUNK).min(n);
        let contacts = match conn {
            DbConn::Sqlite(_) => format!(
                "WITH RECURSIVE s(i) AS (SELECT {a} UNION ALL SELECT i + 1 FROM s WHERE i + 1 < {b}) \
                 INSERT INTO contacts (id, phone, language, language_chosen, opted_out, created_at, updated_at) \
                 SELECT lower(hex(randomblob(16))), '+86139' || printf('%08d', i), \
                 CASE i % 3 WHEN 0 THEN 'zh' WHEN 1 THEN 'bo' ELSE 'both' END, TRUE, FALSE, '{t}', '{t}' FROM s"
            ),
            DbConn::Pg(_) => format!(
                "INSERT INTO contacts (id, phone, language, language_chosen, opted_out, created_at, updated_at) \
                 SELECT gen_random_uuid()::text, '+86139' || lpad(i::text, 8, '0'), \
                 CASE i % 3 WHEN 0 THEN 'zh' WHEN 1 THEN 'bo' ELSE 'both' END, TRUE, FALSE, '{t}', '{t}' \
                 FROM generate_series({a}, {}) AS s(i)",
                b - 1
            ),
        };
        let workers = format!(
            "INSERT INTO workers (contact_id, county, trades, employment, outside_ok, alerts_consent, \
             consent_at, consent_source, created_at, updated_at) \
             SELECT id, {county}, \
             CASE CAST(substr(phone, 7) AS INTEGER) % 4 WHEN 0 THEN ',construction,transport,' ELSE ',construction,' END, \
             'seeking', FALSE, TRUE, '{t}', 'bench', '{t}', '{t}' FROM contacts \
             WHERE phone >= '+86139{a:08}' AND phone < '+86139{b:08}'"
        );
        let sql = format!("BEGIN; {contacts}; {workers}; COMMIT;");
        crate_batch(conn, &sql);
        a = b;
    }
    if let DbConn::Pg(c) = conn {
        // As autovacuum would within a minute of such a load.
        c.batch_execute("ANALYZE contacts; ANALYZE workers")
            .unwrap();
    }
    started.elapsed()
}

fn crate_batch(conn: &mut DbConn, sql: &str) {
    match conn {
        DbConn::Sqlite(c) => c.batch_execute(sql),
        DbConn::Pg(c) => c.batch_execute(sql),
    }
    .expect("seed batch");
}

fn notice_input(today: NaiveDate) -> NoticeInput {
    NoticeInput {
        title: "拉萨工地招钢筋工".into(),
        employer: "拉萨市城关区安居建筑公司".into(),
        county: "城关区".into(),
        trade: "construction".into(),
        workers_wanted: "200".into(),
        wage: "260".into(),
        wage_unit: "day".into(),
        pay_terms: "月结，每月10日前发".into(),
        start_on: (today + chrono::Duration::days(7)).to_string(),
        duration: "3个月".into(),
        board_lodging: "both".into(),
        contact_phone: "13908910001".into(),
        project_code: String::new(),
        valid_until: (today + chrono::Duration::days(14)).to_string(),
        text_zh: String::new(),
        text_bo: "ལྷ་སར་ལས་མི་༢༠༠དགོས། ཉིན་གླ་སྒོར་༢༦༠། ཁ་པར་13908910001".into(),
        place_outside: String::new(),
    }
}

/// A submitted notice, as a broker leaves it; returns it with its preview time and count.
fn submitted_notice(state: &AppState) -> (notices::Notice, Duration, i64) {
    let env = notices::Env::of(state);
    let v = notices::validate(&env, &notice_input(env.today)).unwrap_or_else(|e| panic!("{e:?}"));
    let mut conn = state.db.get().unwrap();
    let n = notices::create(&mut conn, &v, "安居劳务", "user:bench").unwrap();
    let n = notices::submit(&mut conn, &n.id, "user:bench").unwrap();
    let t = Instant::now();
    let p = send::preview(&mut conn, state, &n).unwrap();
    (n, t.elapsed(), p.recipients_total)
}

fn approve(state: &AppState, id: &str) {
    notices::approve(
        &mut state.db.get().unwrap(),
        id,
        &Targeting::default(),
        None,
        "user:bench.officer",
    )
    .unwrap();
}

fn queued_at(db: &Db, id: &str) -> Option<chrono::NaiveDateTime> {
    notices_t::table
        .find(id)
        .select(notices_t::queued_at)
        .first::<Option<chrono::NaiveDateTime>>(&mut *db.get().unwrap())
        .unwrap()
}

fn alerts_count(db: &Db, id: &str, status: Option<&str>) -> i64 {
    let mut conn = db.get().unwrap();
    let q = messages::table.filter(messages::notice_id.eq(id));
    match status {
        Some(s) => q
            .filter(messages::status.eq(s.to_string()))
            .count()
            .get_result(&mut *conn),
        None => q.count().get_result(&mut *conn),
    }
    .unwrap()
}

fn wait_ready(base: &str) {
    let http = client();
    let deadline = Instant::now() + Duration::from_secs(60);
    while http
        .get(format!("{base}/readyz"))
        .send()
        .map(|r| r.status().as_u16())
        .ok()
        != Some(200)
    {
        assert!(Instant::now() < deadline, "server did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn client() -> Client {
    Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Signs in through the login form the way a browser does; returns the session cookie.
fn sign_in(base: &str) -> String {
    let http = client();
    let page = http
        .get(format!("{base}/console/login"))
        .send()
        .expect("login form")
        .text()
        .unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("csrf field in the login form") + marker.len();
    let csrf = &page[start..start + page[start..].find('"').unwrap()];
    let r = http
        .post(format!("{base}/console/login"))
        .form(&[
            ("csrf", csrf),
            ("username", ADMIN),
            ("password", PASSWORD),
            ("next", "/console/channels"),
        ])
        .send()
        .expect("login submitted");
    assert_eq!(r.status(), 303, "login");
    let session = r
        .cookies()
        .find(|c| c.name() == "hotline_session")
        .map(|c| c.value().to_string());
    session.expect("hotline_session cookie")
}

/// Latencies of one kind of request, and how many failed.
#[derive(Default)]
struct Probe {
    lat: Vec<Duration>,
    failed: usize,
    first_error: Option<String>,
}

impl Probe {
    fn pct(&self, p: f64) -> f64 {
        if self.lat.is_empty() {
            return f64::NAN;
        }
        let mut l = self.lat.clone();
        l.sort();
        l[((l.len() as f64 * p).ceil() as usize)
            .saturating_sub(1)
            .min(l.len() - 1)]
        .as_secs_f64()
            * 1000.0
    }
    fn max(&self) -> f64 {
        self.lat
            .iter()
            .max()
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    }
}

/// Requests `url(i)` one after another, 100 ms apart, until `stop`.
fn probe(
    stop: Arc<AtomicBool>,
    url: impl Fn(usize) -> String + Send + 'static,
    cookie: Option<String>,
) -> std::thread::JoinHandle<Probe> {
    std::thread::spawn(move || {
        let http = client();
        let mut p = Probe::default();
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            let mut req = http.get(url(i));
            if let Some(c) = &cookie {
                req = req.header("Cookie", format!("hotline_session={c}"));
            }
            let t = Instant::now();
            match req.send() {
                Ok(r) if r.status().as_u16() == 200 => {
                    let _ = r.bytes();
                    p.lat.push(t.elapsed());
                }
                Ok(r) => {
                    p.failed += 1;
                    p.first_error.get_or_insert(format!(
                        "{} {}",
                        r.status(),
                        r.text().unwrap_or_default()
                    ));
                }
                Err(e) => {
                    p.failed += 1;
                    p.first_error.get_or_insert(e.to_string());
                }
            }
            i += 1;
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    })
}

struct QueueReport {
    seeding: Duration,
    preview: Duration,
    recipients: i64,
    queued: Duration,
    alerts: i64,
    batch: u32,
    sent_meanwhile: usize,
    rss_mib: f64,
    cpu: f64,
    rss: Rss,
    probes: Vec<(&'static str, Probe)>,
}

/// The largest parts of the server's resident memory seen while queuing (sampled every
/// 50 ms), in KiB: heap and other anonymous memory, mapped files, shared memory (SQLite's
/// WAL index).
#[derive(Default)]
struct Rss {
    anon: u64,
    file: u64,
    shmem: u64,
}

impl Rss {
    fn sample(&mut self, pid: u32) {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return;
        };
        for line in status.lines() {
            let mut f = line.split_whitespace();
            let (Some(k), Some(v)) = (f.next(), f.next().and_then(|v| v.parse::<u64>().ok()))
            else {
                continue;
            };
            match k {
                "RssAnon:" => self.anon = self.anon.max(v),
                "RssFile:" => self.file = self.file.max(v),
                "RssShmem:" => self.shmem = self.shmem.max(v),
                _ => {}
            }
        }
    }
}

fn queue_run(a: &Args, backend_db: &process::BenchDb, dir: &Path) -> QueueReport {
    let db = Db::connect(&backend_db.url, 2).expect("database");
    db.migrate().expect("migrations");
    let counties: Vec<String> = Config::default()
        .counties
        .iter()
        .map(|c| c.zh.clone())
        .collect();
    eprintln!("seeding {} workers…", a.workers);
    let seeding = seed(&db, a.workers, &counties);
    eprintln!("seeded in {:.1} s", seeding.as_secs_f64());

    let gateway = fake_gateway::FakeGateway::start();
    let port = free_port();
    let toml = server_config(
        port,
        &backend_db.url,
        a.queue_batch,
        &format!(
            "tps = {}\nconcurrency = 4\nsendsms_url = \"{}\"\nusername = \"bench\"\npassword = \"pw\"\n",
            a.tps, gateway.url
        ),
    );
    let state = state_for(&db, &toml);
    hotline::accounts::users::create(
        &mut db.get().unwrap(),
        &hotline::accounts::users::NewUser {
            username: ADMIN,
            display_name: "压测 管理员",
            role: hotline::accounts::users::UserRole::Admin,
            department: None,
            agency: None,
            password: PASSWORD,
        },
    )
    .expect("console user created");
    let (notice, preview, recipients) = submitted_notice(&state);
    assert_eq!(
        recipients as usize, a.workers,
        "the notice matches every worker"
    );

    let server = Server::start(dir, &toml);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base);
    let session = sign_in(&base);

    let stop = Arc::new(AtomicBool::new(false));
    let b = base.clone();
    let ready = probe(stop.clone(), move |_| format!("{b}/readyz"), None);
    let b = base.clone();
    let receive = probe(
        stop.clone(),
        move |i| {
            format!(
                "{b}/channels/kannel/receive?secret={SECRET}&from=%2B86138{i:08}&to=12333\
                 &text=%E5%B8%AE%E5%8A%A9&id=probe-{i}&coding=0&charset=UTF-8"
            )
        },
        None,
    );
    let b = base.clone();
    let console = probe(
        stop.clone(),
        move |_| format!("{b}/console/channels"),
        Some(session),
    );

    eprintln!("approving the notice…");
    let started = Instant::now();
    approve(&state, &notice.id);
    let deadline = started + Duration::from_secs(900);
    let pid = server.child.id();
    let mut rss = Rss::default();
    while queued_at(&db, &notice.id).is_none() {
        assert!(Instant::now() < deadline, "not queued within 900 s");
        rss.sample(pid);
        std::thread::sleep(Duration::from_millis(50));
    }
    let queued = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let probes = vec![
        ("GET /readyz", ready.join().unwrap()),
        ("Kannel MO (receive route)", receive.join().unwrap()),
        ("console /console/channels", console.join().unwrap()),
    ];
    let alerts = alerts_count(&db, &notice.id, None);
    let report = QueueReport {
        seeding,
        preview,
        recipients,
        queued,
        alerts,
        batch: state.config.alerts.queue_batch,
        sent_meanwhile: gateway.requests.lock().unwrap().len(),
        rss_mib: peak_rss_kib(pid).unwrap_or(0) as f64 / 1024.0,
        cpu: cpu_secs(pid).unwrap_or(0.0),
        rss,
        probes,
    };
    drop(server);
    report
}

struct DrainReport {
    workers: usize,
    tps: u32,
    seeding: Duration,
    queued: Duration,
    helps: usize,
    answered: usize,
    lat: Probe,
    alerts_during: usize,
    window: Duration,
    queued_after: i64,
}

fn drain_run(a: &Args, backend_db: &process::BenchDb, dir: &Path) -> Option<DrainReport> {
    use kannel::{FakeMo, FakeSmsc, Kannel, KannelConfig};
    if !kannel::kannel_available() {
        if std::env::var_os("CI").is_some() {
            panic!("Kannel is required in CI: {}", kannel::INSTALL_HINT);
        }
        eprintln!(
            "drain part skipped: Kannel not installed ({})",
            kannel::INSTALL_HINT
        );
        return None;
    }
    let db = Db::connect(&backend_db.url, 2).expect("database");
    db.migrate().expect("migrations");
    let counties: Vec<String> = Config::default()
        .counties
        .iter()
        .map(|c| c.zh.clone())
        .collect();
    let seeding = seed(&db, a.drain_workers, &counties);
    let port = free_port();
    let kannel = Kannel::start(KannelConfig::new(format!(
        "http://127.0.0.1:{port}/channels/kannel/receive?secret={SECRET}&from=%p&to=%P&text=%b&id=%I&coding=%c&charset=%C&ts=%T&smsc=%i"
    )))
    .expect("Kannel started");
    let toml = server_config(
        port,
        &backend_db.url,
        a.queue_batch,
        &format!(
            "tps = {}\nconcurrency = 4\nsendsms_url = \"{}\"\nusername = \"{}\"\npassword = \"{}\"\n",
            a.drain_tps,
            kannel.sendsms_base_url(),
            kannel.sendsms_user(),
            kannel.sendsms_password()
        ),
    );
    let state = state_for(&db, &toml);
    let (notice, _, recipients) = submitted_notice(&state);
    assert_eq!(recipients as usize, a.drain_workers);
    let server = Server::start(dir, &toml);
    wait_ready(&format!("http://127.0.0.1:{port}"));
    let smsc = FakeSmsc::start(&kannel, &[]).expect("fakesmsc connected");

    let started = Instant::now();
    approve(&state, &notice.id);
    let deadline = started + Duration::from_secs(300);
    while queued_at(&db, &notice.id).is_none() {
        assert!(Instant::now() < deadline, "not queued within 300 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let queued = started.elapsed();
    // Alerts are flowing through Kannel before the first HELP.
    let want = (a.drain_tps as usize).min(a.drain_workers / 10).max(1);
    while smsc.received_count() < want {
        assert!(
            Instant::now() < deadline,
            "alerts did not reach fakesmsc:\n{}",
            kannel.log_tail()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let phones: Vec<String> = (0..a.helps).map(|i| format!("8613700{i:06}")).collect();
    let sent: Mutex<HashMap<String, Instant>> = Mutex::new(HashMap::new());
    let arrived: Mutex<HashMap<String, Instant>> = Mutex::new(HashMap::new());
    let alerts_during = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let window_start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut seen = smsc.received_count();
            loop {
                let new = smsc.received_since(seen);
                let now = Instant::now();
                seen += new.len();
                for m in new {
                    let to = m.to.trim_start_matches('+').to_string();
                    if phones.contains(&to) {
                        arrived.lock().unwrap().entry(to).or_insert(now);
                    } else {
                        alerts_during.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        for p in &phones {
            sent.lock().unwrap().insert(p.clone(), Instant::now());
            smsc.send_mo(&FakeMo::new(p.as_str(), "12333", "帮助"))
                .expect("MO sent");
            std::thread::sleep(Duration::from_millis(100));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while arrived.lock().unwrap().len() < phones.len() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::Relaxed);
    });
    let window = window_start.elapsed();
    let (sent, arrived) = (sent.into_inner().unwrap(), arrived.into_inner().unwrap());
    let mut lat = Probe::default();
    for (p, t) in &sent {
        match arrived.get(p) {
            Some(at) => lat.lat.push(at.duration_since(*t)),
            None => lat.failed += 1,
        }
    }
    let queued_after = alerts_count(&db, &notice.id, Some("queued"));
    drop(smsc);
    drop(server);
    drop(kannel);
    Some(DrainReport {
        workers: a.drain_workers,
        tps: a.drain_tps,
        seeding,
        queued,
        helps: a.helps,
        answered: arrived.len(),
        lat,
        alerts_during: alerts_during.into_inner(),
        window,
        queued_after,
    })
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "MISSED"
    }
}

fn main() {
    let a = args();
    let run_queue = a.only.as_deref() != Some("drain");
    let run_drain = a.only.as_deref() != Some("queue");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let mut backend = "sqlite";
    let q = run_queue.then(|| {
        let qdir = dir.join("queue");
        std::fs::create_dir_all(&qdir).unwrap();
        let db = process::BenchDb::new(a.postgres.as_deref(), &qdir, "hotline_bench_alerts");
        backend = db.backend;
        let r = queue_run(&a, &db, &qdir);
        if a.keep {
            println!("kept: {}", db.url);
            std::mem::forget(db);
        }
        r
    });
    let d = if run_drain {
        let ddir = dir.join("drain");
        std::fs::create_dir_all(&ddir).unwrap();
        let db = process::BenchDb::new(a.postgres.as_deref(), &ddir, "hotline_bench_drain");
        backend = db.backend;
        let r = drain_run(&a, &db, &ddir);
        if a.keep {
            println!("kept: {}", db.url);
            std::mem::forget(db);
        }
        r
    } else {
        None
    };

    println!();
    println!("backend: {backend}");
    if let Some(q) = &q {
        let queued_ok = q.queued.as_secs_f64() <= 30.0 && q.alerts == q.recipients;
        println!(
            "register: {} workers, all matching; alerts.queue_batch = {}",
            a.workers, q.batch
        );
        println!(
            "  seeding (bench, not measured)        {:>8.1} s",
            q.seeding.as_secs_f64()
        );
        println!(
            "  preview before approval              {:>8.1} s   ({} recipients)",
            q.preview.as_secs_f64(),
            q.recipients
        );
        println!(
            "  approve → all alerts queued          {:>8.1} s   ({} alerts, {:.0}/s; ≤ 30 s: {})",
            q.queued.as_secs_f64(),
            q.alerts,
            q.alerts as f64 / q.queued.as_secs_f64(),
            verdict(queued_ok)
        );
        println!(
            "  server peak RSS                      {:>8.1} MiB (≤ 150 MB: {})   largest seen: anon {:.1}, file {:.1}, shmem {:.1} MiB",
            q.rss_mib,
            verdict(q.rss_mib * 1024.0 * 1024.0 <= 150e6),
            q.rss.anon as f64 / 1024.0,
            q.rss.file as f64 / 1024.0,
            q.rss.shmem as f64 / 1024.0
        );
        println!(
            "  server CPU, start to queued          {:>8.1} s   ({} alerts handed to the stand-in gateway meanwhile, tps {})",
            q.cpu, q.sent_meanwhile, a.tps
        );
        println!("  while queuing (one request per 100 ms each):");
        println!(
            "    {:<28} {:>5} {:>6} {:>9} {:>9} {:>9}",
            "", "ok", "failed", "p50 ms", "p99 ms", "max ms"
        );
        for (name, p) in &q.probes {
            println!(
                "    {:<28} {:>5} {:>6} {:>9.1} {:>9.1} {:>9.1}",
                name,
                p.lat.len(),
                p.failed,
                p.pct(0.50),
                p.pct(0.99),
                p.max()
            );
            if let Some(e) = &p.first_error {
                println!("      first failure: {e}");
            }
        }
    }
    if let Some(d) = &d {
        let p99 = d.lat.pct(0.99);
        println!(
            "drain: {} workers through real Kannel + fakesmsc, channel tps {}",
            d.workers, d.tps
        );
        println!(
            "  seeding {:.1} s; approve → queued {:.1} s",
            d.seeding.as_secs_f64(),
            d.queued.as_secs_f64()
        );
        println!(
            "  HELP MO → reply MT at fakesmsc       {}/{} answered   p50 {:.0} ms   p99 {:.0} ms   max {:.0} ms   (p99 ≤ 2 s: {})",
            d.answered,
            d.helps,
            d.lat.pct(0.50),
            p99,
            d.lat.max(),
            verdict(d.answered == d.helps && p99 <= 2000.0)
        );
        println!(
            "  alerts reaching fakesmsc meanwhile   {} in {:.1} s ({:.1}/s); still queued after: {}",
            d.alerts_during,
            d.window.as_secs_f64(),
            d.alerts_during as f64 / d.window.as_secs_f64(),
            d.queued_after
        );
    }
    if a.keep {
        let _ = tmp.keep();
    }
}
