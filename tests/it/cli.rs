//! The `hotline` binary as an operator runs it.

use crate::support::db::TestDb;
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
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("1 migration(s) applied"));
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
