//! The console end to end, in headless Chromium against the real `hotline` binary, a real
//! SMTP server on loopback and the test's database (SQLite or PostgreSQL): a worker texts a
//! complaint; an inspector signs in, finds the case in the queue, accepts it and refers it
//! to 发改; the email arrives; the department follows its link and acknowledges; the case page
//! shows it; the worker's SMS notices are in the outbox.
//!
//! Needs Debian's chromium and chromium-driver (CI installs them): skipped without them,
//! failed in CI. With `SCREENSHOT_DIR` set, the queue and case pages are saved there as PNG
//! (the README's screenshots come from this test).

use std::time::Duration;

use diesel::prelude::*;
use hotline::accounts::users::{NewUser, UserRole};
use hotline::db::models::Message;
use hotline::db::schema::{departments, messages};

use crate::support::app::enc;
use crate::support::browser::{browser_available, Browser, INSTALL_HINT};
use crate::support::db::TestDb;
use crate::support::process::{free_port, http_get, Hotline};
use crate::support::smtp::SmtpServer;

const SECRET: &str = "console-e2e-secret-0123";
const WORKER: &str = "+8613908905555";
const INSPECTOR_PASSWORD: &str = "inspector-pass-2026";

fn browser_or_skip() -> bool {
    if browser_available() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("Chromium is required in CI: {INSTALL_HINT}");
    }
    eprintln!("SKIPPED: Chromium not installed ({INSTALL_HINT})");
    false
}

fn seed(tdb: &TestDb) {
    let mut c = tdb.db.get().unwrap();
    crate::support::app::road_project(&mut c, "LS-2026-014");
    diesel::update(departments::table.find("发改"))
        .set(departments::email.eq(Some("fagai@bureau.example")))
        .execute(&mut *c)
        .unwrap();
    hotline::accounts::users::create(
        &mut c,
        &NewUser {
            username: "tashi",
            display_name: "扎西",
            role: UserRole::Inspector,
            department: None,
            password: INSPECTOR_PASSWORD,
        },
    )
    .unwrap();
}

fn shot(b: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("SCREENSHOT_DIR") {
        let path = std::path::Path::new(&dir).join(name);
        b.screenshot_png(&path).unwrap();
    }
}

#[test]
fn an_inspector_accepts_and_refers_a_case_and_the_department_acknowledges_by_email_link() {
    if !browser_or_skip() {
        return;
    }
    let tdb = TestDb::new();
    seed(&tdb);
    let smtp = SmtpServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "database_url = \"{}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
         [[channels]]\nid = \"log\"\nkind = \"log\"\nsecret = \"{SECRET}\"\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"拉萨市劳动保障监察支队 <jiancha@bureau.example>\"\n\
         [jobs]\npoll_interval_ms = 200\n",
        tdb.url,
        smtp.port()
    );
    let hotline = Hotline::start(dir.path(), port, &config);
    let base = hotline.base();

    // A worker texts the code on the site's notice board.
    let (status, body) = http_get(&format!(
        "{base}/channels/log/receive?secret={SECRET}&from={}&to=12333&text={}&id=e2e-1",
        enc(WORKER),
        enc("QX LS-2026-014 12 36000")
    ))
    .unwrap();
    assert_eq!(status, 200, "{body}");

    let mut b = Browser::start().unwrap();
    b.set_find_timeout(Duration::from_secs(10));
    b.goto(&format!("{base}/console/")).unwrap();
    b.find("#username").unwrap().send_keys("tashi").unwrap();
    b.find("#password")
        .unwrap()
        .send_keys(INSPECTOR_PASSWORD)
        .unwrap();
    b.find("#login").unwrap().click().unwrap();
    let row = b
        .wait_for_text("#queue tbody tr", "拉萨北环路", Duration::from_secs(10))
        .unwrap();
    let reference = row.attribute("data-reference").unwrap().unwrap();
    let cookies = b.cookies().unwrap();
    let session = cookies.iter().find(|c| c.0 == "hotline_session").unwrap();
    assert!(session.2, "HttpOnly");
    shot(&b, "console-queue.png");

    b.find(&format!("#queue a[href='/console/cases/{reference}']"))
        .unwrap()
        .click()
        .unwrap();
    b.wait_for_text("#case-state", "待受理", Duration::from_secs(10))
        .unwrap();
    b.find("#do-accept").unwrap().click().unwrap();
    b.wait_for_text("#case-state", "已立案", Duration::from_secs(10))
        .unwrap();
    b.wait_for_text("#flash", "立案", Duration::from_secs(5))
        .unwrap();

    // The reply box counts segments as the inspector types.
    b.find("#reply-text")
        .unwrap()
        .send_keys("请保留考勤记录")
        .unwrap();
    let meter = b.find("#reply-meter").unwrap();
    assert_eq!(
        meter.attribute("data-encoding").unwrap().as_deref(),
        Some("ucs2")
    );
    assert_eq!(meter.attribute("data-count").unwrap().as_deref(), Some("1"));

    // A government-invested project: 发改 is suggested and already ticked.
    let fagai = b.find("#refer-form input[value='发改']").unwrap();
    assert_eq!(fagai.property("checked").unwrap(), serde_json::json!(true));
    b.find("#refer-reason")
        .unwrap()
        .send_keys("政府投资项目拖欠农民工工资，请核查项目资金拨付情况。")
        .unwrap();
    b.find("#do-refer").unwrap().click().unwrap();
    b.wait_for_text("#referrals", "发展和改革委员会", Duration::from_secs(10))
        .unwrap();
    shot(&b, "console-case.png");

    // The email reaches the department: the case, the link, and no complainant.
    let mail = smtp.wait_for(1, Duration::from_secs(20));
    assert_eq!(mail.len(), 1, "one referral email: {:?}", smtp.transcript());
    let email = &mail[0];
    assert!(
        email.subject().unwrap().contains(&reference),
        "{:?}",
        email.subject()
    );
    let text = email.text_part().expect("a text part");
    let html = email.html_part().expect("an HTML part");
    assert!(text.contains("拉萨北环路改造工程") && html.contains("拉萨北环路改造工程"));
    for part in [&text, &html] {
        assert!(
            !part.contains("13908905555") && !part.contains("5555"),
            "no complainant in the email"
        );
    }
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/console/ack/"))
        .expect("a link in the text part")
        .to_string();
    assert!(link.starts_with(&format!("{base}/console/ack/")), "{link}");

    // The department follows the link (no account) and acknowledges.
    let dept = Browser::start_with_size(390, 844).unwrap();
    dept.goto(&link).unwrap();
    dept.wait_for_text("body", &reference, Duration::from_secs(10))
        .unwrap();
    dept.find("#ack").unwrap().click().unwrap();
    dept.wait_for_text("body", "已确认", Duration::from_secs(10))
        .unwrap();
    assert!(!dept.page_source().unwrap().contains("13908905555"));

    // The inspector sees the acknowledgement on the case page.
    b.goto(&format!("{base}/console/cases/{reference}"))
        .unwrap();
    b.wait_for_text(
        "#referrals .referral-status",
        "已确认",
        Duration::from_secs(10),
    )
    .unwrap();

    // The worker was told by SMS: complaint filed, then accepted.
    let mut c = tdb.db.get().unwrap();
    let to_worker: Vec<Message> = messages::table
        .filter(messages::phone.eq(WORKER))
        .filter(messages::direction.eq("out"))
        .order(messages::created_at)
        .select(Message::as_select())
        .load(&mut *c)
        .unwrap();
    assert!(
        to_worker.iter().any(|m| m.body.contains(&reference)),
        "the filing reply"
    );
    assert!(
        to_worker
            .iter()
            .any(|m| m.kind.as_deref() == Some("case_notice")),
        "the acceptance notice: {:?}",
        to_worker
            .iter()
            .map(|m| (&m.kind, &m.body))
            .collect::<Vec<_>>()
    );
    drop(hotline);
}

/// Makes the README's screenshots from the demo data:
/// `SCREENSHOT_DIR=docs/screenshots cargo test --test it readme_screenshots -- --ignored`.
#[test]
#[ignore]
fn readme_screenshots() {
    let out_dir = std::env::var("SCREENSHOT_DIR").expect("set SCREENSHOT_DIR");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let out = crate::support::process::hotline_command()
        .current_dir(dir.path())
        .env("HOTLINE_DATABASE_URL", &db)
        .arg("demo")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let pw = stdout
        .lines()
        .find(|l| l.starts_with("tashi "))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap()
        .to_string();
    let hotline = Hotline::start(dir.path(), port, &format!("database_url = \"{db}\"\n"));
    let base = hotline.base();
    let b = Browser::start_with_size(1280, 1000).unwrap();
    b.goto(&format!("{base}/console/")).unwrap();
    b.find("#username").unwrap().send_keys("tashi").unwrap();
    b.find("#password").unwrap().send_keys(&pw).unwrap();
    b.find("#login").unwrap().click().unwrap();
    b.find("#queue").unwrap();
    let path = std::path::Path::new(&out_dir);
    b.screenshot_png(path.join("console-queue.png")).unwrap();
    let row = b
        .wait_for_text("#queue tbody tr", "北环路", Duration::from_secs(5))
        .unwrap();
    let reference = row.attribute("data-reference").unwrap().unwrap();
    let tall = Browser::start_with_size(1280, 2300).unwrap();
    tall.goto(&format!("{base}/console/login")).unwrap();
    tall.find("#username").unwrap().send_keys("tashi").unwrap();
    tall.find("#password").unwrap().send_keys(&pw).unwrap();
    tall.find("#login").unwrap().click().unwrap();
    tall.find("#queue").unwrap();
    tall.goto(&format!("{base}/console/cases/{reference}"))
        .unwrap();
    tall.find("#referrals").unwrap();
    tall.screenshot_png(path.join("console-case.png")).unwrap();
    let phone = Browser::start_with_size(390, 844).unwrap();
    phone.goto(&format!("{base}/console/login")).unwrap();
    phone.find("#username").unwrap().send_keys("tashi").unwrap();
    phone.find("#password").unwrap().send_keys(&pw).unwrap();
    phone.find("#login").unwrap().click().unwrap();
    phone.find("#queue").unwrap();
    phone
        .screenshot_png(path.join("console-queue-phone.png"))
        .unwrap();
}
