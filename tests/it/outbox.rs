//! The durable outbox: retries, refusals, expiry, priority, leases shared by two dispatchers,
//! and recovery of a send left in flight by a crash.

use std::collections::HashMap;

use diesel::prelude::*;
use hotline::conversations::inbound::contact_for;
use hotline::db::models::{PRIORITY_BULK, PRIORITY_REPLY};
use hotline::db::schema::messages;
use hotline::sms::outbox::{enqueue, Draft};

use crate::support::app::TestApp;
use crate::support::fake_gateway::FakeGateway;

fn queue(app: &TestApp, phone: &str, body: &str, priority: i32) -> String {
    let mut conn = app.conn();
    let contact = contact_for(&mut conn, phone).unwrap();
    enqueue(
        &mut conn,
        &app.state.config.outbox,
        &Draft {
            channel_id: "kannel".into(),
            contact_id: contact.id,
            phone: phone.into(),
            body: body.into(),
            priority,
            kind: None,
            in_reply_to: None,
        },
    )
    .unwrap()
}

fn fast_retries(c: &mut hotline::config::Config) {
    c.outbox.backoff_base_secs = 0;
    c.outbox.backoff_max_secs = 0;
}

#[actix_web::test]
async fn temporary_errors_are_retried_then_sent() {
    let gw = FakeGateway::start();
    gw.push_answers(&[(503, "Service unavailable"), (503, "Service unavailable")]);
    let app = TestApp::with_kannel(&gw.url, fast_retries);
    let id = queue(&app, "+8613900000001", "hello", PRIORITY_REPLY);
    app.dispatch_all(10).await;
    let m = &app.outgoing()[0];
    assert_eq!(m.status, "sent");
    assert_eq!(m.attempts, 3);
    assert_eq!(gw.requests().len(), 3);
    let history: Vec<String> = app
        .events(&id)
        .into_iter()
        .map(|e| e.status.to_string())
        .collect();
    assert_eq!(history, vec!["queued", "queued", "queued", "sent"]);
    assert!(app.events(&id)[1]
        .detail
        .as_deref()
        .unwrap()
        .contains("503"));
}

#[actix_web::test]
async fn a_refusal_is_not_retried() {
    let gw = FakeGateway::start();
    gw.push_answers(&[(403, "Authorization failed for sendsms")]);
    let app = TestApp::with_kannel(&gw.url, fast_retries);
    queue(&app, "+8613900000001", "hello", PRIORITY_REPLY);
    app.dispatch_all(10).await;
    let m = &app.outgoing()[0];
    assert_eq!(m.status, "failed");
    assert!(
        m.last_error.as_deref().unwrap().contains("403"),
        "{:?}",
        m.last_error
    );
    assert_eq!(gw.requests().len(), 1);
}

#[actix_web::test]
async fn backoff_delays_the_retry_and_attempts_run_out() {
    let gw = FakeGateway::start();
    gw.push_answers(&[(503, "busy"), (503, "busy"), (503, "busy"), (503, "busy")]);
    let app = TestApp::with_kannel(&gw.url, |c| {
        c.outbox.backoff_base_secs = 60;
        c.outbox.max_attempts = 2;
    });
    queue(&app, "+8613900000001", "hello", PRIORITY_REPLY);
    app.dispatch_all(1).await;
    let m = &app.outgoing()[0];
    assert_eq!((m.status.as_str(), m.attempts), ("queued", 1));
    assert!(m.next_attempt_at > hotline::db::now() + chrono::Duration::seconds(50));
    // pretend the minute has passed
    diesel::update(messages::table)
        .set(messages::next_attempt_at.eq(hotline::db::now()))
        .execute(&mut *app.conn())
        .unwrap();
    app.dispatch_all(5).await;
    let m = &app.outgoing()[0];
    assert_eq!((m.status.as_str(), m.attempts), ("failed", 2));
    assert_eq!(gw.requests().len(), 2);
}

#[actix_web::test]
async fn an_old_message_expires_instead_of_going_out_late() {
    let gw = FakeGateway::start();
    let app = TestApp::with_kannel(&gw.url, |c| c.outbox.max_age_secs = 0);
    queue(&app, "+8613900000001", "too late", PRIORITY_REPLY);
    app.dispatch_all(5).await;
    assert_eq!(app.outgoing()[0].status, "expired");
    assert!(gw.requests().is_empty());
}

#[actix_web::test]
async fn a_reply_overtakes_queued_bulk_traffic() {
    let gw = FakeGateway::start();
    let app = TestApp::with_kannel(&gw.url, |c| c.channels[0].concurrency = 1);
    for i in 0..30 {
        queue(
            &app,
            &format!("+86139000001{i:02}"),
            &format!("bulk {i}"),
            PRIORITY_BULK,
        );
    }
    queue(&app, "+8613900000001", "reply", PRIORITY_REPLY);
    app.dispatch_all(10).await;
    assert_eq!(gw.requests().len(), 31);
    assert_eq!(gw.param(0, "text").as_deref(), Some("reply"));
    assert_eq!(gw.param(1, "text").as_deref(), Some("bulk 0"));
}

#[actix_web::test]
async fn two_dispatchers_on_one_database_never_send_a_message_twice() {
    let gw = FakeGateway::start();
    let app = TestApp::with_kannel(&gw.url, |c| c.channels[0].concurrency = 4);
    // a second process: its own state (pool, limiter, workers) over the same database
    let mut config2 = (*app.state.config).clone();
    config2.channels[0].concurrency = 4;
    let other = hotline::AppState::with_db(config2, app.state.db.clone()).unwrap();
    for i in 0..300 {
        queue(
            &app,
            &format!("+8613900{i:06}"),
            &format!("m{i}"),
            PRIORITY_BULK,
        );
    }
    let (tx, rx) = tokio::sync::watch::channel(false);
    let w2 = hotline::sms::outbox::dispatcher::spawn(&other, rx);
    app.dispatch_all(30).await;
    tx.send(true).unwrap();
    for w in w2 {
        w.await.unwrap();
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for i in 0..gw.requests().len() {
        *seen.entry(gw.param(i, "text").unwrap()).or_default() += 1;
    }
    assert_eq!(seen.len(), 300);
    assert!(
        seen.values().all(|n| *n == 1),
        "duplicates: {:?}",
        seen.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    assert!(app
        .outgoing()
        .iter()
        .all(|m| m.status == "sent" && m.lease_owner.is_none()));
}

/// A dispatcher died with a message in flight: it waits for the gateway's delivery report
/// for the grace period, and is sent again only if none came.
#[actix_web::test]
async fn a_send_left_in_flight_is_resolved_by_its_report_or_resent_after_grace() {
    let gw = FakeGateway::start();
    let app = TestApp::with_kannel(&gw.url, |c| {
        c.outbox.lease_secs = 5;
        c.outbox.send_timeout_secs = 2;
        c.outbox.in_flight_grace_secs = 60;
    });
    let reported = queue(&app, "+8613900000001", "reported", PRIORITY_REPLY);
    let silent = queue(&app, "+8613900000002", "silent", PRIORITY_REPLY);
    // both claimed by a dispatcher that then died (its lease ran out two minutes ago)
    let past = hotline::db::now() - chrono::Duration::seconds(120);
    diesel::update(messages::table)
        .set((
            messages::status.eq("sending"),
            messages::lease_owner.eq("dead-process"),
            messages::lease_until.eq(past + chrono::Duration::seconds(70)),
            messages::attempts.eq(1),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    // within the grace period nothing is resent
    app.dispatch_all(1).await;
    assert!(gw.requests().is_empty());
    // the gateway's report for one of them arrives
    let uri = format!(
        "/channels/kannel/status?secret={}&msg={reported}&status=8&answer=ok&ts=1",
        crate::support::app::SECRET
    );
    assert_eq!(app.get(&uri).await.0, actix_web::http::StatusCode::OK);
    // the grace period ends
    diesel::update(messages::table.filter(messages::status.eq("sending")))
        .set(messages::lease_until.eq(past))
        .execute(&mut *app.conn())
        .unwrap();
    app.dispatch_all(5).await;
    assert_eq!(gw.requests().len(), 1);
    assert_eq!(gw.param(0, "text").as_deref(), Some("silent"));
    let by_id = |id: &str| app.outgoing().into_iter().find(|m| m.id == id).unwrap();
    assert_eq!(by_id(&reported).status, "sent");
    assert_eq!(by_id(&silent).status, "sent");
    assert_eq!(by_id(&silent).attempts, 2);
}

/// A county phone that stops answering: after a few failures it counts as unreachable (on
/// /metrics and the channels page), it is asked less and less often, and once it has been
/// unreachable for `outbox.failover_after_secs` its waiting alerts and notices go through the
/// default channel; a reply stays with the channel the worker wrote to.
#[actix_web::test]
async fn an_unreachable_phone_hands_its_waiting_alerts_to_the_default_channel() {
    use hotline::db::models::{MessageStatus, PRIORITY_NOTICE};
    let gw = FakeGateway::start();
    let url = gw.url.clone();
    let app = TestApp::with_config(move |c| {
        let phone = hotline::config::Config::from_sources(
            Some(
                "[[channels]]\nid = \"phone\"\nkind = \"json\"\ntps = 100\nsecret = \"phone-secret-0123456789\"\n\
                 send_url = \"http://127.0.0.1:9/send\"\ncounties = [\"当雄县\"]\n",
            ),
            None,
            Vec::new(),
        )
        .unwrap()
        .channels
        .remove(0);
        c.channels = vec![crate::support::app::kannel_channel(&url), phone];
        c.outbox.backoff_base_secs = 1;
        c.outbox.failover_after_secs = 1;
    });
    let mut ids = Vec::new();
    for (i, priority) in [
        PRIORITY_REPLY,
        PRIORITY_NOTICE,
        PRIORITY_BULK,
        PRIORITY_BULK,
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = app.conn();
        let phone = format!("+86139000007{i:02}");
        let contact = hotline::conversations::inbound::contact_for(&mut c, &phone).unwrap();
        ids.push(
            hotline::sms::outbox::enqueue(
                &mut c,
                &app.state.config.outbox,
                &hotline::sms::outbox::Draft {
                    channel_id: "phone".into(),
                    contact_id: contact.id,
                    phone,
                    body: format!("message {i}"),
                    priority,
                    kind: None,
                    in_reply_to: None,
                },
            )
            .unwrap(),
        );
    }
    app.dispatch_all(8).await;
    let by_id = |id: &str| app.outgoing().into_iter().find(|m| m.id == id).unwrap();
    let reply = by_id(&ids[0]);
    assert_eq!(
        reply.channel_id, "phone",
        "a reply stays with the worker's channel"
    );
    assert_ne!(reply.status, MessageStatus::Sent);
    for id in &ids[1..] {
        let m = by_id(id);
        assert_eq!(
            (m.channel_id.as_str(), m.status),
            ("kannel", MessageStatus::Sent),
            "{id}"
        );
    }
    assert_eq!(gw.requests().len(), 3);
    let since = app.state.metrics.unreachable_since("phone");
    assert!(since.is_some());
    assert!(app.state.metrics.unreachable_since("kannel").is_none());
    let (_, metrics) = app.get("/metrics").await;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("hotline_channel_unreachable_since_seconds{channel=\"phone\"}"))
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(!line.ends_with(" 0"), "{line}");
    assert!(metrics.contains("hotline_channel_unreachable_since_seconds{channel=\"kannel\"} 0"));
}
