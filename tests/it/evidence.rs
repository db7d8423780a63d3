//! What holds up as evidence: every worker's message kept as it came (its gateway's time too),
//! nothing doubled by a gateway's repeats, and a hash chain that shows any later change to the
//! record (issue 13, defects 5 and item 7).

use actix_web::http::StatusCode;
use diesel::prelude::*;
use hotline::db::schema::{audit_events, complaints, contacts, ledger as entries, messages};
use hotline::ledger::{self, seal_all, verify};

use crate::support::app::{form, road_project, TestApp, SECRET};
use crate::support::console::{add_user, ConsoleClient, PASSWORD};
use crate::support::fake_gateway::FakeGateway;
use crate::support::process::run_hotline;
use hotline::accounts::users::UserRole;

fn kannel_app() -> TestApp {
    TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {})
}

async fn mo(app: &TestApp, pairs: &[(&str, &str)]) -> (StatusCode, String) {
    let mut all = vec![("secret", SECRET), ("to", "12333")];
    all.extend_from_slice(pairs);
    app.get(&format!("/channels/kannel/receive?{}", form(&all)))
        .await
}

/// The same gateway id from another number is another worker's message: stored and answered,
/// not taken for a retry (it was: the second worker's SMS was lost and a contact left behind
/// with no message).
#[actix_web::test]
async fn a_gateway_id_repeated_by_another_sender_is_another_message() {
    let app = kannel_app();
    let (s, body) = mo(
        &app,
        &[("from", "8613900000001"), ("text", "帮助"), ("id", "7")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = mo(
        &app,
        &[("from", "8613900000002"), ("text", "帮助"), ("id", "7")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.starts_with("accepted"), "{body}");
    let incoming = app.incoming();
    assert_eq!(incoming.len(), 2);
    assert_eq!(app.outgoing().len(), 2, "both answered");
    // A real retry (same id, same sender) is still one message.
    let (s, body) = mo(
        &app,
        &[("from", "8613900000002"), ("text", "帮助"), ("id", "7")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.starts_with("duplicate"), "{body}");
    assert_eq!(app.incoming().len(), 2);
    // Every contact has its message: none left orphaned.
    let orphans: i64 = contacts::table
        .filter(diesel::dsl::not(diesel::dsl::exists(
            messages::table.filter(messages::contact_id.eq(contacts::id)),
        )))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(orphans, 0);
}

/// A gateway's time outside a plausible window (a week back, five minutes ahead) is not taken
/// as the time the worker wrote: the stored time is ours, the gateway's value is kept as given.
#[actix_web::test]
async fn an_implausible_gateway_time_is_kept_but_not_believed() {
    let app = kannel_app();
    let before = hotline::db::now();
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).timestamp();
    let hour_ago_s = hour_ago.to_string();
    for (i, ts) in ["0", "253402300800", "not-a-time", hour_ago_s.as_str()]
        .iter()
        .enumerate()
    {
        let id = format!("t-{i}");
        let (s, body) = mo(
            &app,
            &[
                ("from", "8613900000001"),
                ("text", "帮助"),
                ("id", &id),
                ("ts", ts),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{ts}: {body}");
    }
    let rows: Vec<(Option<String>, chrono::NaiveDateTime)> = messages::table
        .filter(messages::direction.eq("in"))
        .order(messages::gateway_id)
        .select((messages::gateway_time, messages::created_at))
        .load(&mut *app.conn())
        .unwrap();
    let after = hotline::db::now();
    assert_eq!(rows.len(), 4);
    for (given, at) in &rows[..3] {
        assert!(
            *at >= before && *at <= after,
            "{given:?} stored as received at {at}"
        );
    }
    let given: Vec<Option<&str>> = rows.iter().map(|(g, _)| g.as_deref()).collect();
    assert_eq!(
        given,
        vec![
            Some("0"),
            Some("253402300800"),
            Some("not-a-time"),
            Some(hour_ago_s.as_str())
        ]
    );
    // An hour's queueing at the gateway is believed.
    assert_eq!(rows[3].1.and_utc().timestamp(), hour_ago);
}

/// An 8-bit data message (Kannel coding 1) is stored as hex and not answered: it was read as
/// text and got the help menu.
#[actix_web::test]
async fn a_binary_sms_is_stored_and_not_answered() {
    let app = kannel_app();
    let (s, body) = mo(
        &app,
        &[
            ("from", "8613900000001"),
            ("text", "\u{1}\u{2}\u{ff}"),
            ("coding", "1"),
            ("id", "bin-1"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let incoming = app.incoming();
    assert_eq!(incoming.len(), 1);
    assert_eq!(incoming[0].encoding, "binary");
    // form() sends UTF-8: U+00FF is two bytes.
    assert_eq!(incoming[0].body, "0102c3bf");
    assert!(app.outgoing().is_empty(), "no reply to data");
}

/// A gateway repeating one delivery report word for word adds one history row, not one per
/// repeat.
#[actix_web::test]
async fn an_identical_delivery_report_repeated_is_recorded_once() {
    let gw = FakeGateway::start();
    let app = TestApp::with_kannel(&gw.url, |_| {});
    app.kannel_mo("8613900000001", "帮助", "k-1").await;
    app.dispatch_all(10).await;
    let out = app.outgoing()[0].id.clone();
    let url =
        format!("/channels/kannel/status?secret={SECRET}&msg={out}&status=1&answer=DELIVRD&ts=2");
    for _ in 0..5 {
        let (s, body) = app.get(&url).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let events = app.events(&out);
    let delivered = events.iter().filter(|e| e.status == "delivered").count();
    assert_eq!(delivered, 1, "{events:?}");
    // A different report (another answer) is still recorded.
    let (s, _) = app
        .get(&format!(
            "/channels/kannel/status?secret={SECRET}&msg={out}&status=1&answer=DELIVRD2&ts=3"
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.events(&out).len(), events.len() + 1);
}

/// A complaint through Kannel: a case, its audit events, the worker's messages.
async fn one_case(app: &TestApp) -> String {
    road_project(&mut app.conn(), "P2026-001");
    let (s, body) = app
        .kannel_mo("8613900000001", "QX P2026-001 12 48000", "c-1")
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    hotline::db::schema::cases::table
        .select(hotline::db::schema::cases::id)
        .first(&mut *app.conn())
        .unwrap()
}

/// An audit event's columns: id, case, actor, action, detail, time, subject, ledger position.
type AuditRow = (
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    chrono::NaiveDateTime,
    Option<String>,
    Option<i64>,
);

fn what(r: &ledger::Report) -> Vec<(&'static str, String)> {
    r.problems
        .iter()
        .map(|p| (p.what, p.kind.clone()))
        .collect()
}

/// Sealed, the record verifies; each kind of tampering is found, and says where.
#[actix_web::test]
async fn the_ledger_finds_every_change_to_the_sealed_record() {
    let app = kannel_app();
    let case_id = one_case(&app).await;
    let mut c = app.conn();
    let (n, (seq, hash)) = seal_all(&mut c).unwrap();
    assert!(n >= 3, "an audit event, a complaint, a message: {n}");
    assert_eq!(seq as usize, n);
    let r = verify(&mut c, Some((seq, &hash))).unwrap();
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!((r.entries, r.unsealed), (n as i64, 0));
    assert!(ledger::verify_case(&mut c, &case_id).unwrap().ok());
    // New rows after sealing are only "not sealed yet", never a problem.
    hotline::cases::audit(&mut c, None, "user:x", "noted", None).unwrap();
    let r = verify(&mut c, None).unwrap();
    assert!(r.ok() && r.unsealed == 1, "{r:?}");
    seal_all(&mut c).unwrap();

    // 1. The amount of a complaint changed in the database.
    diesel::update(complaints::table)
        .set(complaints::amount_yuan.eq(4800))
        .execute(&mut *c)
        .unwrap();
    let r = verify(&mut c, None).unwrap();
    assert_eq!(what(&r), vec![("row-changed", "complaint".to_string())]);
    let cr = ledger::verify_case(&mut c, &case_id).unwrap();
    assert!(!cr.ok());
    diesel::update(complaints::table)
        .set(complaints::amount_yuan.eq(48000))
        .execute(&mut *c)
        .unwrap();
    assert!(verify(&mut c, None).unwrap().ok(), "put back, it verifies");

    // 2. A worker's message rewritten.
    diesel::update(messages::table.filter(messages::direction.eq("in")))
        .set(messages::body.eq("QX P2026-001 1 480"))
        .execute(&mut *c)
        .unwrap();
    assert_eq!(
        what(&verify(&mut c, None).unwrap()),
        vec![("row-changed", "message".to_string())]
    );
    diesel::update(messages::table.filter(messages::direction.eq("in")))
        .set(messages::body.eq("QX P2026-001 12 48000"))
        .execute(&mut *c)
        .unwrap();

    // 3. An audit event deleted.
    let victim: AuditRow = audit_events::table
        .filter(audit_events::case_id.eq(&case_id))
        .select((
            audit_events::id,
            audit_events::case_id,
            audit_events::actor,
            audit_events::action,
            audit_events::detail,
            audit_events::created_at,
            audit_events::subject,
            audit_events::ledger_seq,
        ))
        .first(&mut *c)
        .unwrap();
    diesel::delete(audit_events::table.find(&victim.0))
        .execute(&mut *c)
        .unwrap();
    assert_eq!(
        what(&verify(&mut c, None).unwrap()),
        vec![("row-deleted", "audit".to_string())]
    );
    assert!(!ledger::verify_case(&mut c, &case_id).unwrap().ok());

    // 4. ...and put back with another actor, marked sealed: still found.
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(&victim.0),
            audit_events::case_id.eq(&victim.1),
            audit_events::actor.eq("user:someone-else"),
            audit_events::action.eq(&victim.3),
            audit_events::detail.eq(&victim.4),
            audit_events::created_at.eq(victim.5),
            audit_events::subject.eq(&victim.6),
            audit_events::ledger_seq.eq(victim.7),
        ))
        .execute(&mut *c)
        .unwrap();
    assert_eq!(
        what(&verify(&mut c, None).unwrap()),
        vec![("row-changed", "audit".to_string())]
    );
    diesel::update(audit_events::table.find(&victim.0))
        .set(audit_events::actor.eq(&victim.2))
        .execute(&mut *c)
        .unwrap();
    assert!(verify(&mut c, None).unwrap().ok());

    // 5. An event slipped in afterwards, claiming to be sealed.
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq("forged"),
            audit_events::case_id.eq(Some(&case_id)),
            audit_events::actor.eq("user:x"),
            audit_events::action.eq("closed"),
            audit_events::created_at.eq(victim.5),
            audit_events::ledger_seq.eq(Some(2i64)),
        ))
        .execute(&mut *c)
        .unwrap();
    assert_eq!(
        what(&verify(&mut c, None).unwrap()),
        vec![("row-not-in-ledger", "audit".to_string())]
    );
    assert!(!ledger::verify_case(&mut c, &case_id).unwrap().ok());
    diesel::delete(audit_events::table.find("forged"))
        .execute(&mut *c)
        .unwrap();

    // 6. The ledger itself edited to match a changed row: its hash gives it away, and
    //    recomputing that hash breaks the next link.
    diesel::update(complaints::table)
        .set(complaints::amount_yuan.eq(4800))
        .execute(&mut *c)
        .unwrap();
    let (cid, cseq): (String, i64) = complaints::table
        .select((complaints::id, complaints::ledger_seq.assume_not_null()))
        .first(&mut *c)
        .unwrap();
    let now_digest = ledger::current_digest(&mut c, ledger::COMPLAINT, &cid)
        .unwrap()
        .unwrap();
    diesel::update(entries::table.find(cseq))
        .set(entries::digest.eq(&now_digest))
        .execute(&mut *c)
        .unwrap();
    let r = verify(&mut c, None).unwrap();
    assert_eq!(what(&r), vec![("entry-altered", "complaint".to_string())]);
    let entry: hotline::ledger::Entry = entries::table
        .find(cseq)
        .select(hotline::ledger::Entry::as_select())
        .first(&mut *c)
        .unwrap();
    diesel::update(entries::table.find(cseq))
        .set(entries::hash.eq(entry.expected_hash()))
        .execute(&mut *c)
        .unwrap();
    let r = verify(&mut c, None).unwrap();
    assert!(
        what(&r).iter().any(|(w, _)| *w == "link-broken"),
        "{:?}",
        r.problems
    );

    // 7. The whole chain rewritten from there on: only the anchor kept outside shows it.
    let entries: Vec<hotline::ledger::Entry> = entries::table
        .filter(entries::seq.gt(cseq))
        .order(entries::seq)
        .select(hotline::ledger::Entry::as_select())
        .load(&mut *c)
        .unwrap();
    let mut prev = entry.expected_hash();
    for mut e in entries {
        e.prev_hash = prev;
        e.hash = e.expected_hash();
        prev = e.hash.clone();
        diesel::update(entries::table.find(e.seq))
            .set((
                entries::prev_hash.eq(&e.prev_hash),
                entries::hash.eq(&e.hash),
            ))
            .execute(&mut *c)
            .unwrap();
    }
    assert!(
        verify(&mut c, None).unwrap().ok(),
        "a full rewrite links up"
    );
    let r = verify(&mut c, Some((seq, &hash))).unwrap();
    assert_eq!(what(&r), vec![("anchor-mismatch", "message".to_string())]);
    // An anchor past the end (the chain cut short) is found too.
    let r = verify(&mut c, Some((seq + 100, &hash))).unwrap();
    assert_eq!(what(&r), vec![("anchor-mismatch", String::new())]);
}

/// `hotline audit verify` as a sysadmin runs it: exit 0 and the head when intact, exit 1
/// naming what changed; the case page says the same to the inspector.
#[actix_web::test]
async fn audit_verify_and_the_case_page_report_tampering() {
    let app = kannel_app();
    let _ = one_case(&app).await;
    let reference: String = hotline::db::schema::cases::table
        .select(hotline::db::schema::cases::reference)
        .first(&mut *app.conn())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = app._tdb.url.clone();
    let (ok, out, err) = run_hotline(dir.path(), &url, &["audit", "seal"]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run_hotline(dir.path(), &url, &["audit", "verify"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("intact"), "{out}");
    let head = out
        .split("head ")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .unwrap()
        .to_string();
    let (ok, out, err) = run_hotline(dir.path(), &url, &["audit", "verify", "--anchor", &head]);
    assert!(ok, "{out}{err}");

    add_user(&app, "dorje", UserRole::Inspector, None);
    let mut console = ConsoleClient::login(&app, "dorje", PASSWORD).await;
    let page = console.get(&format!("/console/cases/{reference}")).await;
    assert!(page.body.contains("记录完整"), "{}", page.body);

    diesel::update(complaints::table)
        .set(complaints::workers.eq(2))
        .execute(&mut *app.conn())
        .unwrap();
    let (ok, out, err) = run_hotline(dir.path(), &url, &["audit", "verify"]);
    assert!(!ok);
    assert!(out.contains("row-changed complaint"), "{out}");
    assert!(err.contains("altered"), "{err}");
    let page = console.get(&format!("/console/cases/{reference}")).await;
    assert!(page.body.contains("记录被改动"), "{}", page.body);
    assert!(page.body.contains("投诉 · 内容被修改"), "{}", page.body);
}
