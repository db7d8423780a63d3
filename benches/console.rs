//! Load test of the inspector console under a bureau-sized case load: seeds a fresh database
//! with years of cases (most finished, ~15% open with deadlines around today), starts the
//! release `hotline` binary over it, signs in as an inspector the way a browser does, and has
//! concurrent clients page through the queue, filter it and open case pages. Reports requests
//! per second, latency percentiles per kind of page, seeding time, the server's CPU per request
//! and its peak memory.
//!
//!   cargo bench --bench console                       # SQLite, 20,000 cases, 8 clients
//!   cargo bench --bench console -- --postgres postgres://postgres@127.0.0.1:5432/test
//!   cargo bench --bench console -- --cases 50000 --clients 16 --requests 5000
//!   cargo bench --bench console -- --analyze          # SQLite with planner statistics
//!   cargo bench --bench console -- --keep             # leave the database, print its URL
//!
//! Only 127.0.0.1 is used; the run is bounded by --requests.

#[path = "support/process.rs"]
mod process;
use process::{cpu_secs, peak_rss_kib, Server};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::Connection;
use hotline::db::schema::{audit_events, cases, complaints, contacts, messages, projects};
use hotline::db::{Db, DbConn};
use reqwest::blocking::Client;

const USERNAME: &str = "bench.inspector";
const PASSWORD: &str = "bench-password-0123456789";

struct Args {
    cases: usize,
    clients: usize,
    requests: usize,
    postgres: Option<String>,
    keep: bool,
    analyze: bool,
}

fn args() -> Args {
    let mut a = Args {
        cases: 20_000,
        clients: 8,
        requests: 2000,
        postgres: None,
        keep: false,
        analyze: false,
    };
    let mut it = std::env::args().skip(1);
    let num = |v: Option<String>, name: &str| -> usize {
        v.and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} N"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--cases" => a.cases = num(it.next(), "--cases"),
            "--clients" => a.clients = num(it.next(), "--clients").max(1),
            "--requests" => a.requests = num(it.next(), "--requests"),
            "--postgres" => a.postgres = Some(it.next().expect("--postgres URL")),
            "--keep" => a.keep = true,
            "--analyze" => a.analyze = true,
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    // References are Q + five-digit serial + check digit.
    assert!(a.cases < 100_000, "--cases must stay below 100,000");
    a
}

/// splitmix64: the same database on every run, without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn days(&mut self, n: u64) -> chrono::Duration {
        chrono::Duration::days(self.below(n) as i64)
    }
}

#[derive(Insertable)]
#[diesel(table_name = projects, treat_none_as_default_value = false)]
struct ProjectRow {
    id: String,
    code: String,
    name_zh: String,
    name_bo: Option<String>,
    county: String,
    department: String,
    owner: Option<String>,
    contractor: Option<String>,
    government_invested: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = contacts, treat_none_as_default_value = false)]
struct ContactRow {
    id: String,
    phone: String,
    language: &'static str,
    language_chosen: bool,
    opted_out: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = cases, treat_none_as_default_value = false)]
struct CaseRow {
    id: String,
    reference: String,
    state: &'static str,
    priority: i32,
    project_id: Option<String>,
    employer: String,
    employer_key: String,
    county: String,
    collective: bool,
    representative_id: Option<String>,
    workers: i32,
    amount_yuan: i64,
    received_on: NaiveDate,
    accept_due: Option<NaiveDate>,
    accepted_on: Option<NaiveDate>,
    finish_due: Option<NaiveDate>,
    extension_days: i32,
    refusal_reason: Option<String>,
    recovered_yuan: Option<i64>,
    transferred_to: Option<String>,
    assigned_to: Option<String>,
    closed_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    finished_on: Option<NaiveDate>,
}

#[derive(Insertable)]
#[diesel(table_name = complaints, treat_none_as_default_value = false)]
struct ComplaintRow {
    id: String,
    case_id: String,
    contact_id: String,
    project_id: Option<String>,
    employer: String,
    county: String,
    workers: i32,
    amount_yuan: i64,
    months: Option<i32>,
    anonymous: bool,
    language: &'static str,
    channel_id: &'static str,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = messages, treat_none_as_default_value = false)]
struct MessageRow {
    id: String,
    channel_id: &'static str,
    direction: &'static str,
    contact_id: String,
    phone: String,
    our_number: Option<&'static str>,
    body: String,
    encoding: &'static str,
    segments: i32,
    status: &'static str,
    priority: i32,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
    sent_at: Option<NaiveDateTime>,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
struct AuditRow {
    id: String,
    case_id: Option<String>,
    actor: String,
    action: &'static str,
    detail: Option<String>,
    created_at: NaiveDateTime,
}

#[derive(Default)]
struct Batch {
    contacts: Vec<ContactRow>,
    cases: Vec<CaseRow>,
    complaints: Vec<ComplaintRow>,
    messages: Vec<MessageRow>,
    audit: Vec<AuditRow>,
}

/// Multi-row INSERTs, a few hundred rows each (well under both backends' bind limits).
macro_rules! insert_chunks {
    ($conn:expr, $table:expr, $rows:expr) => {
        for chunk in $rows.chunks(300) {
            hotline::per_backend!(&mut *$conn, c => diesel::insert_into($table).values(chunk).execute(c))?;
        }
    };
}

fn insert_batch(conn: &mut DbConn, b: &Batch) -> QueryResult<()> {
    conn.transaction(|conn| {
        insert_chunks!(conn, contacts::table, b.contacts);
        insert_chunks!(conn, cases::table, b.cases);
        insert_chunks!(conn, complaints::table, b.complaints);
        insert_chunks!(conn, messages::table, b.messages);
        insert_chunks!(conn, audit_events::table, b.audit);
        Ok(())
    })
}

fn at(day: NaiveDate, minutes: u64) -> NaiveDateTime {
    // 09:00 in the bureau (UTC+8) is 01:00 UTC.
    day.and_time(NaiveTime::from_hms_opt(1, 0, 0).unwrap())
        + chrono::Duration::minutes(minutes as i64)
}

fn state_change(from: &str, to: &str) -> Option<String> {
    Some(format!(
        r#"{{"before":{{"state":"{from}"}},"after":{{"state":"{to}"}},"action":{{}}}}"#
    ))
}

struct Seeded {
    /// References of the open cases, whose pages inspectors open.
    open: Vec<String>,
    rows: usize,
}

/// Fills the database like a bureau after a few years: most cases finished, ~15% open.
fn seed(db: &Db, n: usize, today: NaiveDate, counties: &[String], analyze: bool) -> Seeded {
    let mut rng = Rng(20_261_201);
    let mut pooled = db.get().expect("database connection");
    let conn: &mut DbConn = &mut pooled;
    let t0 = at(today, 0);
    let departments = ["住建", "交通", "水利", "住建", "住建", "其他"];
    let project_rows: Vec<ProjectRow> = (0..300)
        .map(|i| ProjectRow {
            id: format!("p{i:05}"),
            code: format!("LS-{:04}", 1000 + i),
            name_zh: format!("{}第{}标段工程", counties[i % counties.len()], i + 1),
            name_bo: None,
            county: counties[i % counties.len()].clone(),
            department: departments[i % departments.len()].into(),
            owner: Some("拉萨市城市建设投资有限公司".into()),
            contractor: Some(format!("西藏第{}建筑工程有限公司", i % 40 + 1)),
            government_invested: i % 3 == 0,
            created_at: t0,
            updated_at: t0,
        })
        .collect();
    conn.transaction(|conn| -> QueryResult<()> {
        insert_chunks!(conn, projects::table, project_rows);
        Ok(())
    })
    .expect("projects inserted");

    let mut open = Vec::new();
    let mut rows = project_rows.len();
    let mut contact_n = 0usize;
    let mut b = Batch::default();
    let inspectors = ["inspector.a", "inspector.b", "inspector.c", USERNAME];
    for i in 0..n {
        let id = format!("c{i:07}");
        let reference = hotline::cases::reference::make(i as u32 + 1);
        let state: &'static str = match rng.below(1000) {
            0..=39 => "received",
            40..=89 => "accepted",
            90..=149 => "investigating",
            150..=629 => "resolved",
            630..=879 => "closed",
            880..=959 => "refused",
            _ => "transferred",
        };
        let is_open = matches!(state, "received" | "accepted" | "investigating");
        let county = counties[rng.below(counties.len() as u64) as usize].clone();
        let project = (rng.below(10) < 4).then(|| format!("p{:05}", rng.below(300)));
        let employer = format!("{}第{}建筑劳务有限公司", county, rng.below(400) + 1);
        let workers = match rng.below(10) {
            0..=5 => 1 + rng.below(3),
            6..=8 => 3 + rng.below(10),
            _ => 10 + rng.below(60),
        } as i32;
        let amount = workers as i64 * (2_000 + rng.below(18_000) as i64);
        let (received_on, accepted_on) = match state {
            // Accept-by dates from five days overdue to a week ahead.
            "received" => (today - rng.days(12), None),
            // Finish-by dates from two weeks overdue to three months ahead.
            "accepted" | "investigating" => {
                let acc = today - rng.days(100) - chrono::Duration::days(1);
                (acc - rng.days(6), Some(acc))
            }
            "refused" => (today - rng.days(1100) - chrono::Duration::days(30), None),
            _ => {
                let rec = today - rng.days(1100) - chrono::Duration::days(100);
                (rec, Some(rec + rng.days(6)))
            }
        };
        let accept_due = Some(received_on + chrono::Duration::days(7));
        let finish_due = accepted_on.map(|d| d + chrono::Duration::days(84));
        let finished_on = match state {
            "resolved" | "closed" | "transferred" => accepted_on.map(|d| d + rng.days(80)),
            "refused" => Some(received_on + rng.days(5)),
            _ => None,
        };
        let created = at(received_on, rng.below(480));
        let complaints_n = match rng.below(20) {
            0..=11 => 1,
            12..=16 => 2,
            _ => 3,
        };
        // One case in a hundred is training data typed into the simulator.
        let channel = if rng.below(100) == 0 {
            "simulator"
        } else {
            "kannel"
        };
        let mut case_contacts: Vec<usize> = Vec::new();
        for k in 0..complaints_n {
            // Some workers complain again about another employer: reuse their contact.
            let who = if contact_n > 100 && rng.below(10) == 0 {
                let c = rng.below(contact_n as u64) as usize;
                if case_contacts.contains(&c) {
                    None
                } else {
                    Some(c)
                }
            } else {
                None
            };
            let who = who.unwrap_or_else(|| {
                let c = contact_n;
                contact_n += 1;
                let lang = if c % 3 == 0 { "zh" } else { "bo" };
                b.contacts.push(ContactRow {
                    id: format!("k{c:08}"),
                    phone: format!("+86139{:08}", c),
                    language: lang,
                    language_chosen: true,
                    opted_out: false,
                    created_at: created,
                    updated_at: created,
                });
                c
            });
            case_contacts.push(who);
            let contact_id = format!("k{who:08}");
            let phone = format!("+86139{:08}", who);
            let filed = created + chrono::Duration::hours(k as i64 * 30);
            b.complaints.push(ComplaintRow {
                id: format!("{id}-{k}"),
                case_id: id.clone(),
                contact_id: contact_id.clone(),
                project_id: project.clone(),
                employer: employer.clone(),
                county: county.clone(),
                workers: if k == 0 { workers } else { 1 },
                amount_yuan: if k == 0 {
                    amount
                } else {
                    amount / workers as i64
                },
                months: Some(1 + rng.below(6) as i32),
                anonymous: rng.below(10) == 0,
                language: "bo",
                channel_id: channel,
                created_at: filed,
            });
            // The intake dialog: a question and an answer per step.
            let dialog = [
                "老板欠我工资",
                "请选择县区：1 城关区 2 堆龙德庆区 …",
                "1",
                "请输入欠薪单位名称",
                employer.as_str(),
                "拖欠多少钱？",
                "30000",
            ];
            for (m, body) in dialog.iter().enumerate() {
                let incoming = m % 2 == 0;
                let t = filed + chrono::Duration::seconds(m as i64 * 40);
                b.messages.push(MessageRow {
                    id: format!("{id}-{k}-m{m}"),
                    channel_id: channel,
                    direction: if incoming { "in" } else { "out" },
                    contact_id: contact_id.clone(),
                    phone: phone.clone(),
                    our_number: Some("12333"),
                    body: body.to_string(),
                    encoding: "ucs2",
                    segments: 1,
                    status: if incoming { "received" } else { "delivered" },
                    priority: if incoming { 0 } else { 1 },
                    attempts: if incoming { 0 } else { 1 },
                    next_attempt_at: t,
                    created_at: t,
                    sent_at: (!incoming).then_some(t),
                    updated_at: t,
                });
            }
            b.audit.push(AuditRow {
                id: format!("{id}-{k}-a"),
                case_id: Some(id.clone()),
                actor: "system".into(),
                action: if k == 0 {
                    "case_opened"
                } else {
                    "complaint_filed"
                },
                detail: None,
                created_at: filed,
            });
        }
        let assignee = if !is_open || rng.below(10) < 7 {
            Some(inspectors[rng.below(inspectors.len() as u64) as usize].to_string())
        } else {
            None
        };
        let actor = format!("user:{}", assignee.as_deref().unwrap_or("inspector.a"));
        let mut event = |action: &'static str, day: NaiveDate, detail: Option<String>| {
            b.audit.push(AuditRow {
                id: format!("{id}-{action}"),
                case_id: Some(id.clone()),
                actor: actor.clone(),
                action,
                detail,
                created_at: at(day, 120),
            });
        };
        if let Some(acc) = accepted_on {
            event("accept", acc, state_change("received", "accepted"));
            if state != "accepted" {
                event(
                    "investigate",
                    acc + chrono::Duration::days(2),
                    state_change("accepted", "investigating"),
                );
            }
        }
        if let Some(fin) = finished_on {
            let from = if state == "refused" {
                "received"
            } else {
                "investigating"
            };
            let action = match state {
                "resolved" | "closed" => "resolve",
                "refused" => "refuse",
                _ => "transfer",
            };
            let to = if state == "closed" { "resolved" } else { state };
            event(action, fin, state_change(from, to));
            if state == "closed" {
                event(
                    "close",
                    fin + chrono::Duration::days(10),
                    state_change("resolved", "closed"),
                );
            }
        }
        if is_open {
            open.push(reference.clone());
        }
        b.cases.push(CaseRow {
            id: id.clone(),
            reference,
            state,
            priority: 1 + rng.below(4) as i32,
            employer_key: hotline::cases::rules::employer_key(project.as_deref(), &employer),
            project_id: project,
            employer,
            county,
            collective: case_contacts.len() > 1 || workers >= 10,
            representative_id: (case_contacts.len() > 1)
                .then(|| format!("k{:08}", case_contacts[0])),
            workers,
            amount_yuan: amount,
            received_on,
            accept_due,
            accepted_on,
            finish_due,
            extension_days: 0,
            refusal_reason: (state == "refused").then(|| "不属于劳动保障监察管辖范围".into()),
            recovered_yuan: matches!(state, "resolved" | "closed")
                .then(|| amount * (50 + rng.below(51) as i64) / 100),
            transferred_to: (state == "transferred").then(|| "公安".into()),
            assigned_to: assignee,
            closed_at: (state == "closed")
                .then(|| at(finished_on.unwrap() + chrono::Duration::days(10), 200)),
            created_at: created,
            updated_at: created,
            finished_on,
        });
        if b.cases.len() == 1000 || i + 1 == n {
            insert_batch(conn, &b).expect("seed batch inserted");
            rows += b.contacts.len()
                + b.cases.len()
                + b.complaints.len()
                + b.messages.len()
                + b.audit.len();
            b = Batch::default();
        }
    }
    hotline::accounts::users::create(
        conn,
        &hotline::accounts::users::NewUser {
            username: USERNAME,
            display_name: "压测 检查员",
            role: hotline::accounts::users::UserRole::Inspector,
            department: None,
            agency: None,
            password: PASSWORD,
        },
    )
    .expect("console user created");
    // PostgreSQL's autovacuum analyzes new tables within a minute. Nothing runs ANALYZE on
    // SQLite, so by default its planner goes without statistics, as in production.
    match conn {
        DbConn::Pg(c) => c.batch_execute("ANALYZE").unwrap(),
        DbConn::Sqlite(c) if analyze => c.batch_execute("ANALYZE").unwrap(),
        DbConn::Sqlite(_) => {}
    }
    Seeded { open, rows }
}

#[derive(QueryableByName)]
struct PlanRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

/// How the database runs the queue's first page (the query the console sends, as SQL), so a
/// slow queue can be told apart from a slow page.
fn explain_queue(db: &Db) {
    let due = "(CASE WHEN cases.state = 'received' THEN cases.accept_due \
               WHEN cases.state IN ('accepted', 'investigating') THEN cases.finish_due END)";
    let mut conn = db.get().expect("database connection");
    // As the console sends it: SQLite gets the unary `+` that keeps it on the queue index.
    let plus = if matches!(&*conn, DbConn::Sqlite(_)) {
        "+"
    } else {
        ""
    };
    let query = format!(
        "SELECT cases.id FROM cases WHERE {plus}cases.state IN ('received', 'accepted', 'investigating') \
         ORDER BY {due} IS NULL, {due}, cases.priority, cases.received_on, cases.reference LIMIT 25"
    );
    let plan: Vec<String> = match &mut *conn {
        DbConn::Sqlite(c) => diesel::sql_query(format!("EXPLAIN QUERY PLAN {query}"))
            .load::<PlanRow>(c)
            .expect("query plan")
            .into_iter()
            .map(|r| r.detail)
            .collect(),
        DbConn::Pg(c) => {
            #[derive(QueryableByName)]
            struct PgPlan {
                #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
                line: String,
            }
            diesel::sql_query(format!("EXPLAIN {query}"))
                .load::<PgPlan>(c)
                .expect("query plan")
                .into_iter()
                .map(|r| r.line.trim().to_string())
                .collect()
        }
    };
    println!("queue plan: {}", plan.join(" / "));
}

/// A client like a browser tab's: one keep-alive connection, no redirects followed.
fn client(cookies: bool) -> Client {
    Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(cookies)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Signs in through the login form; returns the session cookie's value.
fn sign_in(base: &str) -> String {
    let http = client(true);
    let form = http
        .get(format!("{base}/console/login"))
        .send()
        .expect("login form");
    assert_eq!(form.status(), 200);
    let page = form.text().unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("csrf field in the login form") + marker.len();
    let csrf = &page[start..start + page[start..].find('"').unwrap()];
    let r = http
        .post(format!("{base}/console/login"))
        .form(&[
            ("csrf", csrf),
            ("username", USERNAME),
            ("password", PASSWORD),
            ("next", "/console/"),
        ])
        .send()
        .expect("login submitted");
    let session = r
        .cookies()
        .find(|c| c.name() == "hotline_session")
        .map(|c| c.value().to_string());
    assert_eq!(r.status(), 303, "login: {:?}", r.text());
    session.expect("hotline_session cookie")
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Queue,
    Filtered,
    Case,
}

const KINDS: [(Kind, &str); 3] = [
    (Kind::Queue, "queue /console/"),
    (Kind::Filtered, "queue filtered"),
    (Kind::Case, "case page"),
];

fn main() {
    let a = args();
    let dir = tempfile::tempdir().unwrap();
    let bench_db =
        process::BenchDb::new(a.postgres.as_deref(), dir.path(), "hotline_bench_console");
    let (db_url, backend) = (bench_db.url.clone(), bench_db.backend);
    let defaults = hotline::config::Config::default();
    let today = defaults.today();
    let counties: Vec<String> = defaults.counties.iter().map(|c| c.zh.clone()).collect();

    let db = Db::connect(&db_url, 2).expect("database");
    db.migrate().expect("migrations");
    let t = Instant::now();
    let seeded = seed(&db, a.cases, today, &counties, a.analyze);
    let seeding = t.elapsed();
    explain_queue(&db);
    drop(db);
    assert!(!seeded.open.is_empty(), "no open cases to open");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config =
        format!("listen = \"127.0.0.1:{port}\"\ndatabase_url = \"{db_url}\"\nlog = \"warn\"\n");
    let server = Server::start(dir.path(), &config);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = client(false);
    while ready
        .get(format!("{base}/readyz"))
        .send()
        .map(|r| r.status())
        .ok()
        != Some(reqwest::StatusCode::OK)
    {
        assert!(Instant::now() < deadline, "server did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    let session = sign_in(&base);

    let filters: Vec<String> = ["/console/?overdue=1".to_string(), "/console/?page=3".into()]
        .into_iter()
        .chain(counties.iter().map(|c| {
            let county: String = url::form_urlencoded::byte_serialize(c.as_bytes()).collect();
            format!("/console/?county={county}")
        }))
        .collect();
    let open = Arc::new(seeded.open);
    let filters = Arc::new(filters);
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = cpu_secs(server.child.id()).unwrap_or(0.0);
    let started = Instant::now();
    let workers: Vec<_> = (0..a.clients)
        .map(|w| {
            let (base, open, filters, next) =
                (base.clone(), open.clone(), filters.clone(), next.clone());
            let cookie = format!("hotline_session={session}");
            let total = a.requests;
            std::thread::spawn(move || {
                let mut rng = Rng(w as u64 + 1);
                let http = client(false);
                let mut lat: Vec<(Kind, Duration)> = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break lat;
                    }
                    // 3 in 10 the queue, 3 in 10 a filtered queue, 4 in 10 an open case.
                    let (kind, path, expect) = match i % 10 {
                        0..=2 => (Kind::Queue, "/console/".to_string(), None),
                        3..=5 => {
                            let f = &filters[rng.below(filters.len() as u64) as usize];
                            (Kind::Filtered, f.clone(), None)
                        }
                        _ => {
                            let r = &open[rng.below(open.len() as u64) as usize];
                            (Kind::Case, format!("/console/cases/{r}"), Some(r.clone()))
                        }
                    };
                    let t = Instant::now();
                    let r = http
                        .get(format!("{base}{path}"))
                        .header("cookie", &cookie)
                        .send()
                        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
                    let status = r.status();
                    let text = r.text().unwrap_or_else(|e| panic!("GET {path}: {e}"));
                    let took = t.elapsed();
                    if status != 200 {
                        panic!(
                            "GET {path} answered {status}: {}",
                            &text[..text.len().min(500)]
                        );
                    }
                    if let Some(reference) = expect {
                        assert!(text.contains(&reference), "GET {path}: not the case page");
                    }
                    lat.push((kind, took));
                }
            })
        })
        .collect();
    let mut lat: Vec<(Kind, Duration)> = Vec::new();
    for w in workers {
        lat.extend(w.join().expect("client thread"));
    }
    let took = started.elapsed();
    let cpu = cpu_secs(server.child.id()).map(|c| c - cpu_before);

    let stats = if a.analyze || a.postgres.is_some() {
        "analyzed"
    } else {
        "no planner statistics"
    };
    println!("backend: {backend}  ({stats})");
    println!(
        "cases: {}  ({} open)  rows seeded: {}  in {:.1} s",
        a.cases,
        open.len(),
        seeded.rows,
        seeding.as_secs_f64()
    );
    println!("requests: {}  clients: {}", a.requests, a.clients);
    println!(
        "console: {:.0} req/s",
        a.requests as f64 / took.as_secs_f64()
    );
    for (kind, name) in KINDS {
        let mut l: Vec<Duration> = lat
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, d)| *d)
            .collect();
        if l.is_empty() {
            continue;
        }
        l.sort();
        let pct =
            |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)].as_secs_f64() * 1000.0;
        println!(
            "  {name:<16} {:>5} req  p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
            l.len(),
            pct(0.50),
            pct(0.95),
            pct(0.99)
        );
    }
    if let Some(cpu) = cpu {
        println!(
            "server CPU: {cpu:.1} s  ({:.2} ms per request)",
            cpu * 1000.0 / a.requests as f64
        );
    }
    if let Some(kib) = peak_rss_kib(server.child.id()) {
        println!("server peak RSS: {:.1} MiB", kib as f64 / 1024.0);
    }
    drop(server);
    if a.keep {
        let kept = dir.keep();
        println!("kept: {db_url}  (config in {})", kept.display());
        // Left for the reader: not dropped.
        std::mem::forget(bench_db);
        return;
    }
    drop(bench_db);
}
