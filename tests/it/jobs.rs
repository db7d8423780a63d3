//! The job queue and email sending against a real SMTP server on loopback: what arrives, retries
//! after temporary refusals, failures, deduplication, leases, concurrent claimers, and a
//! missing mail server.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::prelude::*;
use hotline::config::Config;
use hotline::db::models::Job;
use hotline::db::schema::jobs;
use hotline::mail::SendEmail;
use hotline::mail::SmtpSecurity;
use hotline::mail::{queue, Email};
use hotline::secret::Secret;
use hotline::work::jobs::complete;
use hotline::work::BackgroundJob;
use hotline::AppState;

use crate::support::app::TestApp;
use crate::support::smtp::SmtpServer;

const SUBJECT: &str = "关于拉萨北环路改造工程欠薪案件的联合执法协查函";
const FROM: &str = "劳动保障监察大队 <jiancha@labour.example.gov.cn>";
const TO: [&str; 2] = ["zjj@lasa.example.gov.cn", "rsj@lasa.example.gov.cn"];
const USER: &str = "jiancha";
const PASSWORD: &str = "Zx9-secret-pa55";

fn email() -> Email {
    Email {
        to: TO.iter().map(|s| s.to_string()).collect(),
        subject: SUBJECT.into(),
        text: "拉萨市住房和城乡建设局：\n涉及欠薪人数 23 人，金额 ¥412,560.00。\nབཀྲ་ཤིས་བདེ་ལེགས།"
            .into(),
        html: "<p>拉萨市住房和城乡建设局：</p>\n<p>涉及欠薪人数 <b>23</b> 人。</p>".into(),
    }
}

/// Plain SMTP to the test server, fast retries.
fn smtp_to(server: &SmtpServer) -> impl FnOnce(&mut Config) {
    let port = server.port();
    let host = server.host();
    move |c| {
        c.smtp.host = Some(host);
        c.smtp.port = port;
        c.smtp.security = SmtpSecurity::None;
        c.smtp.from = FROM.into();
        c.smtp.timeout_secs = 10;
        c.jobs.backoff_base_secs = 0;
        c.jobs.backoff_max_secs = 0;
    }
}

fn queue_email(app: &TestApp, dedupe_key: Option<&str>) -> Option<String> {
    queue(
        &mut app.conn(),
        &app.state.config.jobs,
        &email(),
        dedupe_key,
    )
    .unwrap()
}

fn job(app: &TestApp, id: &str) -> Job {
    jobs::table
        .find(id)
        .select(Job::as_select())
        .first(&mut app.conn())
        .unwrap()
}

fn all_jobs(app: &TestApp) -> Vec<Job> {
    jobs::table
        .select(Job::as_select())
        .load(&mut app.conn())
        .unwrap()
}

/// Makes a queued job due now, as if its backoff had passed.
fn make_due(app: &TestApp, id: &str) {
    diesel::update(jobs::table.find(id))
        .set(jobs::run_at.eq(hotline::db::now() - chrono::Duration::seconds(1)))
        .execute(&mut app.conn())
        .unwrap();
}

#[actix_web::test]
async fn an_email_arrives_with_its_subject_parts_and_message_id() {
    let server = SmtpServer::with_auth(USER, PASSWORD).unwrap();
    let app = TestApp::with_config(|c| {
        smtp_to(&server)(c);
        c.smtp.username = Some(USER.into());
        c.smtp.password = Some(Secret::new(PASSWORD));
    });
    let id = queue_email(&app, None).unwrap();
    assert_eq!(run_due(&app.state).await, 1);
    let mails = server.wait_for(1, Duration::from_secs(5));
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.from, "jiancha@labour.example.gov.cn");
    assert_eq!(m.to, TO);
    assert_eq!(m.subject().as_deref(), Some(SUBJECT));
    assert_eq!(m.text_part().as_deref(), Some(email().text.as_str()));
    assert_eq!(m.html_part().as_deref(), Some(email().html.as_str()));
    assert_eq!(
        m.header("Message-ID").as_deref(),
        Some(format!("<{id}@labour.example.gov.cn>").as_str())
    );
    assert!(m
        .header("Content-Type")
        .unwrap()
        .contains("multipart/alternative"));
    let j = job(&app, &id);
    assert_eq!(j.status, "done");
    assert_eq!(j.attempts, 1);
    assert!(j.done_at.is_some());
    assert!(j.lease_owner.is_none());
    // Done is done: nothing is sent again.
    assert_eq!(run_due(&app.state).await, 0);
    assert_eq!(server.messages().len(), 1);
}

#[actix_web::test]
async fn a_temporary_refusal_is_retried_after_the_backoff_and_sent_once() {
    let server = SmtpServer::start().unwrap();
    let app = TestApp::with_config(|c| {
        smtp_to(&server)(c);
        c.jobs.backoff_base_secs = 60;
        c.jobs.backoff_max_secs = 3600;
    });
    server.fail_next(1);
    let id = queue_email(&app, None).unwrap();
    let before = hotline::db::now();
    assert_eq!(run_due(&app.state).await, 1);
    let j = job(&app, &id);
    assert_eq!(j.status, "queued");
    assert_eq!(j.attempts, 1);
    assert!(j.run_at >= before + chrono::Duration::seconds(59), "{j:?}");
    assert!(j.last_error.as_deref().unwrap().contains("451"), "{j:?}");
    assert!(server.messages().is_empty());
    // Not due yet.
    assert_eq!(run_due(&app.state).await, 0);
    make_due(&app, &id);
    assert_eq!(run_due(&app.state).await, 1);
    assert_eq!(server.wait_for(1, Duration::from_secs(5)).len(), 1);
    let j = job(&app, &id);
    assert_eq!(j.status, "done");
    assert_eq!(j.attempts, 2);
    assert_eq!(j.last_error, None);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(server.messages().len(), 1, "sent twice");
}

#[actix_web::test]
async fn a_permanent_refusal_fails_at_once() {
    // The server wants authentication and gets none: 530 at MAIL FROM.
    let server = SmtpServer::with_auth(USER, PASSWORD).unwrap();
    let app = TestApp::with_config(smtp_to(&server));
    let id = queue_email(&app, None).unwrap();
    assert_eq!(run_due(&app.state).await, 1);
    let j = job(&app, &id);
    assert_eq!(j.status, "failed");
    assert_eq!(j.attempts, 1);
    assert!(j.last_error.as_deref().unwrap().contains("530"), "{j:?}");
    assert_eq!(run_due(&app.state).await, 0);
    assert!(server.messages().is_empty());
}

#[actix_web::test]
async fn an_admin_retry_sends_a_failed_job() {
    let server = SmtpServer::with_auth(USER, PASSWORD).unwrap();
    let app = TestApp::with_config(smtp_to(&server));
    let id = queue_email(&app, None).unwrap();
    run_due(&app.state).await;
    assert_eq!(job(&app, &id).status, "failed");
    // The settings are fixed, then the admin retries.
    let fixed = AppState::with_db(
        Config {
            smtp: hotline::mail::SmtpConfig {
                username: Some(USER.into()),
                password: Some(Secret::new(PASSWORD)),
                ..app.state.config.smtp.clone()
            },
            ..(*app.state.config).clone()
        },
        app.state.db.clone(),
    )
    .unwrap();
    assert!(!hotline::work::jobs::retry(&mut app.conn(), "no-such-job").unwrap());
    assert!(hotline::work::jobs::retry(&mut app.conn(), &id).unwrap());
    assert_eq!(run_due(&fixed).await, 1);
    assert_eq!(server.wait_for(1, Duration::from_secs(5)).len(), 1);
    assert_eq!(job(&app, &id).status, "done");
    // Only failed jobs are retried.
    assert!(!hotline::work::jobs::retry(&mut app.conn(), &id).unwrap());
}

#[actix_web::test]
async fn temporary_failures_until_max_attempts_fail_the_job() {
    // Nothing listens on this port: connection refused, a temporary failure.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app = TestApp::with_config(|c| {
        c.smtp.host = Some("127.0.0.1".into());
        c.smtp.port = port;
        c.smtp.security = SmtpSecurity::None;
        c.jobs.max_attempts = 3;
        c.jobs.backoff_base_secs = 0;
        c.jobs.backoff_max_secs = 0;
    });
    let id = queue_email(&app, None).unwrap();
    for (attempt, status) in [(1, "queued"), (2, "queued"), (3, "failed")] {
        assert_eq!(run_due(&app.state).await, 1);
        let j = job(&app, &id);
        assert_eq!((j.attempts, j.status.as_str()), (attempt, status), "{j:?}");
        assert!(
            j.last_error.as_deref().unwrap().contains("onnection"),
            "{j:?}"
        );
    }
    assert_eq!(run_due(&app.state).await, 0);
    let counts = hotline::work::jobs::counts(&mut app.conn()).unwrap();
    let counts: Vec<(String, i64)> = counts.iter().map(|(s, n)| (s.to_string(), *n)).collect();
    assert_eq!(counts, vec![("failed".to_string(), 1)]);
    let recent = hotline::work::jobs::recent(&mut app.conn(), 10).unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].id, id);
}

#[actix_web::test]
async fn a_dedupe_key_queues_once() {
    let server = SmtpServer::start().unwrap();
    let app = TestApp::with_config(smtp_to(&server));
    assert!(queue_email(&app, Some("referral:r1:reminder:1")).is_some());
    assert!(queue_email(&app, Some("referral:r1:reminder:1")).is_none());
    assert!(queue_email(&app, Some("referral:r1:reminder:2")).is_some());
    assert_eq!(all_jobs(&app).len(), 2);
    assert_eq!(run_due(&app.state).await, 2);
    // Still once after the first was sent.
    assert!(queue_email(&app, Some("referral:r1:reminder:1")).is_none());
    assert_eq!(run_due(&app.state).await, 0);
    assert_eq!(server.wait_for(2, Duration::from_secs(5)).len(), 2);
}

#[actix_web::test]
async fn an_expired_lease_is_reclaimed() {
    let app = TestApp::new();
    let id = queue_email(&app, None).unwrap();
    let mut conn = app.conn();
    let a = claim(&mut conn, "runner-a", chrono::Duration::seconds(60), 10).unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].id, id);
    // Leased: nobody else gets it.
    assert!(
        claim(&mut conn, "runner-b", chrono::Duration::seconds(60), 10)
            .unwrap()
            .is_empty()
    );
    // Runner a dies; its lease runs out.
    diesel::update(jobs::table.find(&id))
        .set(jobs::lease_until.eq(hotline::db::now() - chrono::Duration::seconds(1)))
        .execute(&mut conn)
        .unwrap();
    let b = claim(&mut conn, "runner-b", chrono::Duration::seconds(60), 10).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].attempts, 2);
    assert_eq!(b[0].lease_owner.as_deref(), Some("runner-b"));
    // Runner a comes back: its result no longer counts.
    assert!(!complete(&mut conn, &a[0], "runner-a").unwrap());
    assert!(complete(&mut conn, &b[0], "runner-b").unwrap());
    assert_eq!(job(&app, &id).status, "done");
}

#[actix_web::test]
async fn concurrent_claimers_never_share_a_job() {
    let app = TestApp::new();
    const N: usize = 120;
    for _ in 0..N {
        queue_email(&app, None).unwrap();
    }
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let db = app.state.db.clone();
            let seen = seen.clone();
            std::thread::spawn(move || loop {
                let mut conn = db.get().unwrap();
                let owner = format!("runner-{t}");
                let got = claim(&mut conn, &owner, chrono::Duration::seconds(60), 3).unwrap();
                if got.is_empty() {
                    break;
                }
                seen.lock().unwrap().extend(got.into_iter().map(|j| j.id));
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let seen = seen.lock().unwrap();
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), N, "a job was claimed twice or not at all");
    assert_eq!(unique.len(), N);
    assert!(all_jobs(&app)
        .iter()
        .all(|j| j.status == "running" && j.attempts == 1));
}

#[actix_web::test]
async fn without_a_mail_server_emails_wait_and_go_out_once_configured() {
    let app = TestApp::new();
    let id = queue_email(&app, None).unwrap();
    assert_eq!(run_due(&app.state).await, 0);
    let j = job(&app, &id);
    assert_eq!((j.status.as_str(), j.attempts), ("queued", 0));
    assert_eq!(j.last_error, None);
    // The configuration is fixed and the service restarted over the same database.
    let server = SmtpServer::start().unwrap();
    let mut config = (*app.state.config).clone();
    smtp_to(&server)(&mut config);
    let fixed = AppState::with_db(config, app.state.db.clone()).unwrap();
    assert_eq!(run_due(&fixed).await, 1);
    assert_eq!(server.wait_for(1, Duration::from_secs(5)).len(), 1);
    assert_eq!(job(&app, &id).status, "done");
}

/// Collects log output in memory.
#[derive(Clone, Default)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[actix_web::test]
async fn the_smtp_password_is_neither_stored_nor_logged() {
    let server = SmtpServer::with_auth(USER, "the-right-one").unwrap();
    let app = TestApp::with_config(|c| {
        smtp_to(&server)(c);
        c.smtp.username = Some(USER.into());
        c.smtp.password = Some(Secret::new(PASSWORD));
    });
    let logs = LogBuf::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let id = queue_email(&app, None).unwrap();
    {
        // The test runtime is single-threaded: the runner logs on this thread.
        let _guard = tracing::subscriber::set_default(subscriber);
        tracing::info!(config = ?app.state.config.smtp, "smtp settings");
        assert_eq!(run_due(&app.state).await, 1);
    }
    let j = job(&app, &id);
    assert_eq!(j.status, "failed");
    let error = j.last_error.unwrap();
    assert!(error.contains("535"), "{error}");
    assert!(!error.contains(PASSWORD), "{error}");
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("job failed for good"), "{logs}");
    assert!(logs.contains("535"), "{logs}");
    assert!(!logs.contains(PASSWORD), "{logs}");
}

#[actix_web::test]
async fn the_runner_sends_when_woken_and_stops_on_shutdown() {
    let server = SmtpServer::start().unwrap();
    let app = TestApp::with_config(|c| {
        smtp_to(&server)(c);
        // Only a wake-up can make it send within the test's time.
        c.jobs.poll_interval_ms = 60_000;
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(run(app.state.clone(), stopped));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let id = queue_email(&app, None).unwrap();
    app.state.jobs_wake.notify_one();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while job(&app, &id).status != "done" && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(job(&app, &id).status, "done");
    assert_eq!(server.messages().len(), 1);
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), runner)
        .await
        .expect("the runner stops on shutdown")
        .unwrap();
}

/// Runs every job due now once, as `hotline serve`'s runner would.
async fn run_due(state: &hotline::AppState) -> usize {
    state.job_runner().run_due().await
}

/// The runner as `hotline serve` starts it, until `stop` turns true.
async fn run(state: hotline::AppState, stop: tokio::sync::watch::Receiver<bool>) {
    state.job_runner().run(stop).await
}

/// Claims emails, as a runner with a mail server does.
fn claim(
    conn: &mut hotline::db::DbConn,
    owner: &str,
    lease: chrono::Duration,
    limit: usize,
) -> Result<Vec<hotline::db::models::Job>, hotline::db::DbError> {
    hotline::work::jobs::claim(conn, owner, lease, limit, &[SendEmail::NAME])
}
