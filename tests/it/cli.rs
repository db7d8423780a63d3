//! The `hotline` binary as an operator runs it.

use std::time::Duration;

use crate::support::db::TestDb;
use crate::support::fake_gateway::FakeGateway;
use crate::support::process::{free_port, hotline_command as hotline, http_get, Hotline};

#[test]
fn version_prints() {
    let out = hotline().arg("version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("hotline {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = hotline()
        .current_dir(dir.path())
        .env("HOTLINE_LISTEN", "nowhere")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("listen") && err.contains("nowhere"), "{err}");

    std::fs::write(
        dir.path().join("hotline.toml"),
        "[[channels]]\nid = \"k\"\nkind = \"kannel\"\n",
    )
    .unwrap();
    let out = hotline().current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("channels[0].sendsms_url"), "{err}");
}

#[test]
fn migrate_applies_once() {
    let tdb = TestDb::new();
    // the test database is migrated already; a fresh SQLite file is not
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let out = hotline()
        .arg("migrate")
        .env("HOTLINE_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with(&format!("{migrations} migration(s) applied")),
        "{said}"
    );
    let out = hotline()
        .arg("migrate")
        .env("HOTLINE_DATABASE_URL", &tdb.url)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("0 migration(s) applied"));
}

#[test]
fn serves_then_stops_cleanly_on_sigterm() {
    let tdb = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Hotline::start(
        dir.path(),
        port,
        &format!("database_url = \"{}\"\n", tdb.url),
    );
    assert_eq!(
        http_get(&format!("{}/healthz", server.base())).unwrap(),
        (200, "ok".into())
    );
    let hc = hotline()
        .args(["healthcheck", "--url", &server.base()])
        .output()
        .unwrap();
    assert!(hc.status.success());
    let status = server.sigterm(30);
    assert!(status.success(), "{}", server.log());
    assert!(server.log().contains("stopped"), "{}", server.log());
    // the port is free again
    assert!(http_get(&format!("{}/healthz", server.base())).is_err());
}

/// SIGTERM while a slow gateway is being fed: every send already started is finished and
/// recorded, nothing stays claimed, and the rest waits in the queue for the next start.
#[test]
fn sigterm_finishes_sends_in_flight_and_leaves_nothing_claimed() {
    use diesel::prelude::*;
    use hotline::db::models::Message;
    use hotline::db::schema::messages;

    let tdb = TestDb::new();
    let gw = FakeGateway::start();
    gw.delay_ms.store(100, std::sync::atomic::Ordering::Relaxed);
    {
        let mut conn = tdb.db.get().unwrap();
        let cfg = hotline::sms::outbox::OutboxConfig::default();
        for i in 0..100 {
            let phone = format!("+86139{i:08}");
            let contact = hotline::conversations::inbound::contact_for(&mut conn, &phone).unwrap();
            let draft = hotline::sms::outbox::Draft {
                channel_id: "kannel".into(),
                contact_id: contact.id,
                phone,
                body: format!("notice {i}"),
                priority: hotline::db::models::PRIORITY_BULK,
                kind: None,
                in_reply_to: None,
            };
            hotline::sms::outbox::enqueue(&mut conn, &cfg, &draft).unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "database_url = \"{}\"\n[alerts]\nsend_window = \"00:00-24:00\"\n[[channels]]\nid = \"kannel\"\nkind = \"kannel\"\n\
         tps = 1000\nconcurrency = 3\nsendsms_url = \"{}\"\nusername = \"u\"\npassword = \"p\"\nsecret = \"{}\"\n",
        tdb.url,
        gw.url,
        crate::support::app::SECRET
    );
    let mut server = Hotline::start(dir.path(), free_port(), &config);
    while gw.requests().len() < 10 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = server.sigterm(30);
    assert!(status.success(), "{}", server.log());
    let rows: Vec<Message> = messages::table
        .select(Message::as_select())
        .load(&mut *tdb.db.get().unwrap())
        .unwrap();
    let sent = rows.iter().filter(|m| m.status == "sent").count();
    let queued = rows.iter().filter(|m| m.status == "queued").count();
    assert_eq!(
        sent,
        gw.requests().len(),
        "every request the gateway saw is recorded as sent"
    );
    assert_eq!(
        sent + queued,
        100,
        "nothing left claimed: {:?}",
        rows.iter().map(|m| &m.status).collect::<Vec<_>>()
    );
    assert!(queued > 0, "the test stopped too late to show anything");
    assert!(rows.iter().all(|m| m.lease_owner.is_none()));
}

/// `hotline demo` on an empty database: the printed logins work, the cases are at several
/// stages, a referral waits to be emailed; run again, it refuses and changes nothing.
#[test]
fn demo_fills_an_empty_database_once() {
    use diesel::prelude::*;
    use hotline::db::schema::{cases, jobs, referrals};
    let tdb = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let out = hotline()
        .current_dir(dir.path())
        .env("HOTLINE_DATABASE_URL", &tdb.url)
        .arg("demo")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let password = |user: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{user} ")))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or_else(|| panic!("no login for {user}:\n{stdout}"))
            .to_string()
    };
    let mut c = tdb.db.get().unwrap();
    for user in ["admin", "kezhang", "tashi", "fagai"] {
        let pw = password(user);
        assert!(pw.len() >= 10);
        assert!(
            hotline::accounts::users::authenticate(&mut c, user, &pw)
                .unwrap()
                .is_some(),
            "{user}"
        );
    }
    let states: Vec<String> = cases::table.select(cases::state).load(&mut *c).unwrap();
    for s in [
        "received",
        "accepted",
        "investigating",
        "resolved",
        "refused",
    ] {
        assert!(states.iter().any(|x| x == s), "a case {s}: {states:?}");
    }
    let n_referrals: i64 = referrals::table.count().get_result(&mut *c).unwrap();
    assert_eq!(n_referrals, 2);
    let queued: i64 = jobs::table.count().get_result(&mut *c).unwrap();
    assert_eq!(queued, 2, "the referral emails wait for SMTP");
    let languages: Vec<String> = hotline::db::schema::complaints::table
        .select(hotline::db::schema::complaints::language)
        .load(&mut *c)
        .unwrap();
    assert!(languages.iter().any(|l| l == "bo") && languages.iter().any(|l| l == "zh"));

    let again = hotline()
        .current_dir(dir.path())
        .env("HOTLINE_DATABASE_URL", &tdb.url)
        .arg("demo")
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
    let n: i64 = cases::table.count().get_result(&mut *c).unwrap();
    assert_eq!(n as usize, states.len());
}

/// `hotline channels test ID --to PHONE` sends one SMS through the channel and says what the
/// gateway answered; a gateway's refusal is an error exit with its words.
#[test]
fn channels_test_sends_one_sms_and_reports_the_gateways_answer() {
    let gw = FakeGateway::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hotline.toml"),
        format!(
            "[[channels]]\nid = \"relay\"\nkind = \"json\"\nsecret = \"json-secret-0123456789\"\n\
             send_url = \"{}\"\n",
            gw.url
        ),
    )
    .unwrap();
    gw.push_answers(&[(202, "{\"id\":\"r-1\"}"), (400, "no such number")]);
    let run = || {
        hotline()
            .current_dir(dir.path())
            .args(["channels", "test", "relay", "--to", "13900000091"])
            .output()
            .unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("relay (json): accepted for +86139****0091"),
        "{stdout}"
    );
    let (_, body) = gw.json_bodies().remove(0);
    assert_eq!(body["to"], "+8613900000091");
    assert!(
        body["text"].as_str().unwrap().contains("测试短信"),
        "{body}"
    );
    let out = run();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("400 no such number"), "{err}");
    let out = hotline()
        .current_dir(dir.path())
        .args(["channels", "test", "nope", "--to", "13900000091"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("configured: relay"));
}

/// A liaison's token belongs to an active department, named by its code.
#[test]
fn a_liaison_token_names_its_department() {
    let tdb = crate::support::db::TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| crate::support::process::run_hotline(dir.path(), &tdb.url, args);
    let (ok, _, err) = run(&["token", "create", "--role", "liaison", "--name", "交通局"]);
    assert!(!ok && err.contains("--department"), "{err}");
    let (ok, _, err) = run(&[
        "token",
        "create",
        "--role",
        "liaison",
        "--name",
        "x",
        "--department",
        "没有",
    ]);
    assert!(!ok && err.contains("no active department"), "{err}");
    let (ok, out, err) = run(&[
        "token",
        "create",
        "--role",
        "liaison",
        "--name",
        "交通局",
        "--department",
        "交通",
    ]);
    assert!(ok, "{err}");
    assert!(out.trim().starts_with("hl_"), "{out}");
}

/// `hotline calendar` counts as the service does (the configured region, Tibet's Losar
/// included) unless told `--region national`, and `| head` ends it quietly: it used to panic
/// on the closed pipe.
#[test]
fn the_calendar_command_counts_as_the_service_and_stops_quietly_at_a_closed_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = hotline()
            .current_dir(dir.path())
            .arg("calendar")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    // Five working days from the Friday before Losar 2026: the national calendar alone
    // skips the Spring Festival; Tibet's adds Losar's days.
    let regional = run(&["--from", "2026-02-13", "--add", "5"]);
    let national = run(&["--from", "2026-02-13", "--add", "5", "--region", "national"]);
    assert_eq!(regional, "2026-03-03");
    assert_ne!(regional, national);
    assert_eq!(
        regional,
        run(&["--from", "2026-02-13", "--add", "5", "--region", "xizang"])
    );

    let mut child = hotline()
        .current_dir(dir.path())
        .args(["calendar", "--list", "2026"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader is gone before the first line (as `head` is after its lines).
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
