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

use fantoccini::Locator;

use crate::support::app::form;
use crate::support::browser::{browser_or_skip, run, Browser};
use crate::support::db::TestDb;
use crate::support::process::{free_port, http_get, Hotline};
use crate::support::smtp::SmtpServer;

const SECRET: &str = "console-e2e-secret-0123";
const WORKER: &str = "+8613908905555";
const INSPECTOR_PASSWORD: &str = "inspector-pass-2026";

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
            agency: None,
            password: INSPECTOR_PASSWORD,
        },
    )
    .unwrap();
}

async fn shot(b: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("SCREENSHOT_DIR") {
        b.screenshot_png(std::path::Path::new(&dir).join(name))
            .await;
    }
}

fn css(selector: &str) -> Locator<'_> {
    Locator::Css(selector)
}

/// Signs in on the login page `b` shows.
async fn sign_in(b: &Browser, user: &str, password: &str) {
    b.find(css("#username"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    b.find(css("#password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    b.find(css("#login")).await.unwrap().click().await.unwrap();
}

#[test]
fn an_inspector_accepts_and_refers_a_case_and_the_department_acknowledges_by_email_link() {
    if !browser_or_skip("console_e2e") {
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
    let query = form(&[
        ("secret", SECRET),
        ("from", WORKER),
        ("to", "12333"),
        ("text", "QX LS-2026-014 12 36000"),
        ("id", "e2e-1"),
    ]);
    let (status, body) = http_get(&format!("{base}/channels/log/receive?{query}")).unwrap();
    assert_eq!(status, 200, "{body}");

    let reference = run(async {
        let b = Browser::start(1280, 900).await;
        b.goto(&format!("{base}/console/")).await.unwrap();
        sign_in(&b, "tashi", INSPECTOR_PASSWORD).await;
        let row = b
            .wait_for_text("#queue tbody tr", "拉萨北环路", Duration::from_secs(10))
            .await;
        let reference = row.attr("data-reference").await.unwrap().unwrap();
        let cookies = b.get_all_cookies().await.unwrap();
        let session = cookies
            .iter()
            .find(|c| c.name() == "hotline_session")
            .unwrap();
        assert_eq!(session.http_only(), Some(true), "HttpOnly");
        shot(&b, "console-queue.png").await;

        b.find(css(&format!("#queue a[href='/console/cases/{reference}']")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        b.wait_for_text("#case-state", "待受理", Duration::from_secs(10))
            .await;
        b.find(css("#do-accept"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        b.wait_for_text("#case-state", "已立案", Duration::from_secs(10))
            .await;
        b.wait_for_text("#flash", "立案", Duration::from_secs(5))
            .await;

        // The reply box counts segments as the inspector types.
        b.find(css("#reply-text"))
            .await
            .unwrap()
            .send_keys("请保留考勤记录")
            .await
            .unwrap();
        let meter = b.find(css("#reply-meter")).await.unwrap();
        assert_eq!(
            meter.attr("data-encoding").await.unwrap().as_deref(),
            Some("ucs2")
        );
        assert_eq!(
            meter.attr("data-count").await.unwrap().as_deref(),
            Some("1")
        );

        // A government-invested project: 发改 is suggested and already ticked.
        let fagai = b
            .find(css("#refer-form input[value='发改']"))
            .await
            .unwrap();
        assert_eq!(
            fagai.prop("checked").await.unwrap().as_deref(),
            Some("true")
        );
        b.find(css("#refer-reason"))
            .await
            .unwrap()
            .send_keys("政府投资项目拖欠农民工工资，请核查项目资金拨付情况。")
            .await
            .unwrap();
        b.find(css("#do-refer"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        b.wait_for_text("#referrals", "发展和改革委员会", Duration::from_secs(10))
            .await;
        shot(&b, "console-case.png").await;

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
        let dept = Browser::start(390, 844).await;
        dept.goto(&link).await.unwrap();
        dept.wait_for_text("body", &reference, Duration::from_secs(10))
            .await;
        dept.find(css("#ack")).await.unwrap().click().await.unwrap();
        dept.wait_for_text("body", "已确认", Duration::from_secs(10))
            .await;
        assert!(!dept.source().await.unwrap().contains("13908905555"));

        // The inspector sees the acknowledgement on the case page.
        b.goto(&format!("{base}/console/cases/{reference}"))
            .await
            .unwrap();
        b.wait_for_text(
            "#referrals .referral-status",
            "已确认",
            Duration::from_secs(10),
        )
        .await;
        reference
    });

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
    let path = std::path::Path::new(&out_dir);
    run(async {
        let b = Browser::start(1280, 1000).await;
        b.goto(&format!("{base}/console/")).await.unwrap();
        sign_in(&b, "tashi", &pw).await;
        b.find(css("#queue")).await.unwrap();
        b.screenshot_png(path.join("console-queue.png")).await;
        let row = b
            .wait_for_text("#queue tbody tr", "北环路", Duration::from_secs(5))
            .await;
        let reference = row.attr("data-reference").await.unwrap().unwrap();
        let tall = Browser::start(1280, 2300).await;
        tall.goto(&format!("{base}/console/login")).await.unwrap();
        sign_in(&tall, "tashi", &pw).await;
        tall.find(css("#queue")).await.unwrap();
        tall.goto(&format!("{base}/console/cases/{reference}"))
            .await
            .unwrap();
        tall.find(css("#referrals")).await.unwrap();
        tall.screenshot_png(path.join("console-case.png")).await;
        let phone = Browser::start(390, 844).await;
        phone.goto(&format!("{base}/console/login")).await.unwrap();
        sign_in(&phone, "tashi", &pw).await;
        phone.find(css("#queue")).await.unwrap();
        phone
            .screenshot_png(path.join("console-queue-phone.png"))
            .await;
    });
}
