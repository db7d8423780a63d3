//! Console accounts: made from the CLI with the password on standard input, hashed with
//! argon2id, checked at login; disabled users cannot log in.

use std::io::Write;
use std::process::Stdio;

use hotline::accounts::users::{self, NewUser, UserRole};

use crate::support::db::TestDb;
use crate::support::process::hotline_command;

fn cli(tdb: &TestDb, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = hotline_command()
        .args(args)
        .env("HOTLINE_DATABASE_URL", &tdb.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `hotline user add` from "USERNAME NAME ROLE [DEPARTMENT]", with the password on stdin.
fn add(tdb: &TestDb, spec: &str, password: &str) -> (bool, String, String) {
    let p: Vec<&str> = spec.split_whitespace().collect();
    let mut args = vec![
        "user",
        "add",
        "--username",
        p[0],
        "--name",
        p[1],
        "--role",
        p[2],
    ];
    if let Some(d) = p.get(3) {
        args.extend(["--department", d]);
    }
    cli(tdb, &args, &format!("{password}\n"))
}

#[test]
fn users_are_added_from_the_cli_and_log_in_with_their_password() {
    let tdb = TestDb::new();
    let (ok, out, err) = add(
        &tdb,
        "Wang.Inspector 王监察员 inspector",
        "a-long-passphrase",
    );
    assert!(ok, "{err}");
    assert!(out.contains("added wang.inspector"), "{out}");
    let mut conn = tdb.db.get().unwrap();
    let u = users::authenticate(&mut conn, "wang.inspector", "a-long-passphrase")
        .unwrap()
        .expect("logs in");
    assert_eq!(
        (u.role.as_str(), u.display_name.as_str()),
        ("inspector", "王监察员")
    );
    assert!(u.password_hash.starts_with("$argon2id$"));
    assert!(
        users::authenticate(&mut conn, "wang.inspector", "a-long-passphrasE")
            .unwrap()
            .is_none()
    );
    assert!(
        users::authenticate(&mut conn, "nobody", "a-long-passphrase")
            .unwrap()
            .is_none()
    );

    // the same name twice, a short password, a liaison without a department, a bad role
    let (ok, _, err) = add(&tdb, "wang.inspector x admin", "another-long-one");
    assert!(!ok && err.contains("exists already"), "{err}");
    let (ok, _, err) = add(&tdb, "li 李 inspector", "short");
    assert!(!ok && err.contains("at least 10"), "{err}");
    let (ok, _, err) = add(&tdb, "zhao 赵 liaison", "a-long-passphrase");
    assert!(!ok && err.contains("department"), "{err}");
    let (ok, _, err) = add(&tdb, "root r god", "a-long-passphrase");
    assert!(!ok && err.contains("--role"), "{err}");
    let (ok, _, err) = add(&tdb, "zhao 赵 liaison 交委", "a-long-passphrase");
    assert!(
        !ok && err.contains("no department") && err.contains("交通"),
        "{err}"
    );
    let (ok, _, err) = add(&tdb, "zhao 赵 liaison 交通", "a-long-passphrase");
    assert!(ok, "{err}");

    // a new password, then disabled
    let (ok, _, err) = cli(
        &tdb,
        &["user", "passwd", "wang.inspector"],
        "the-new-passphrase\n",
    );
    assert!(ok, "{err}");
    assert!(
        users::authenticate(&mut conn, "wang.inspector", "a-long-passphrase")
            .unwrap()
            .is_none()
    );
    assert!(
        users::authenticate(&mut conn, "wang.inspector", "the-new-passphrase")
            .unwrap()
            .is_some()
    );
    let (ok, _, _) = cli(&tdb, &["user", "disable", "wang.inspector"], "");
    assert!(ok);
    assert!(
        users::authenticate(&mut conn, "wang.inspector", "the-new-passphrase")
            .unwrap()
            .is_none()
    );
    let (_, list, _) = cli(&tdb, &["user", "list"], "");
    assert!(
        list.contains("wang.inspector") && list.contains("disabled") && list.contains("交通"),
        "{list}"
    );
    assert!(!list.contains("argon2"), "no hashes printed: {list}");

    // the library refuses the same mistakes
    let liaison = NewUser {
        username: "z2",
        display_name: "z",
        role: UserRole::Liaison,
        department: None,
        agency: None,
        password: "a-long-passphrase",
    };
    assert!(users::create(&mut conn, &liaison).is_err());
}
