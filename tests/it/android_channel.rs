//! The android channel over its real routes, against a stand-in for the SMS Gateway for
//! Android app's server: signed webhooks in (as the app signs and re-sends them), messages out
//! with Basic auth and our id, a phone that goes away and comes back; bulk alerts with one
//! text in one call to several numbers, each message with its own reports.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use hotline::db::models::{MessageStatus, PRIORITY_BULK, PRIORITY_REPLY};
use hotline::sms::channels::android::signature;
use hotline::sms::channels::ChannelConfig;
use serde_json::json;

use crate::support::android_app::{AndroidApp, Webhook};
use crate::support::app::TestApp;

const KEY: &str = "phone-signing-key-0123";
const WORKER: &str = "+8613900000081";

fn android_channel(base_url: &str) -> ChannelConfig {
    let toml = format!(
        "[[channels]]\nid = \"phone\"\nkind = \"android\"\ntps = 1000\nbase_url = \"{base_url}\"\n\
         username = \"sms\"\npassword = \"phone-pass\"\nsigning_key = \"{KEY}\"\nsim_number = 1\n"
    );
    hotline::config::Config::from_sources(Some(&toml), None, Vec::new())
        .unwrap()
        .channels
        .remove(0)
}

/// A webhook as the app sends it: the envelope, signed with the key and the time.
async fn webhook(
    app: &TestApp,
    path: &str,
    key: Option<&str>,
    age_secs: i64,
    event: &str,
    payload: serde_json::Value,
) -> (StatusCode, String) {
    let body = json!({
        "id": format!("ev-{}", hotline::db::new_id()),
        "webhookId": "wh-1",
        "event": event,
        "deviceId": "dev-1",
        "payload": payload,
    })
    .to_string();
    let ts = (chrono::Utc::now().timestamp() - age_secs).to_string();
    let mut headers = Vec::new();
    let sig = key.map(|k| signature(k, body.as_bytes(), &ts));
    if let Some(s) = &sig {
        headers.push(("x-signature", s.as_str()));
        headers.push(("x-timestamp", ts.as_str()));
    }
    app.request_with(
        "POST",
        path,
        &headers,
        Some(("application/json", body.into_bytes())),
    )
    .await
}

fn received(text: &str) -> serde_json::Value {
    json!({"messageId": "in-1", "message": text, "sender": WORKER, "recipient": "+8612333", "simNumber": 1, "receivedAt": "2026-12-01T08:00:00+08:00"})
}

fn phone() -> AndroidApp {
    AndroidApp::start("phone", "sms", "phone-pass")
}

/// Posts the app's webhooks to their routes, as the app does: each must be taken (2xx).
async fn deliver(app: &TestApp, hooks: &[Webhook]) -> Vec<String> {
    let mut answers = Vec::new();
    for h in hooks {
        let headers: Vec<(&str, &str)> = h
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (status, body) = app
            .request_with(
                "POST",
                &h.path,
                &headers,
                Some(("application/json", h.body.clone().into_bytes())),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{} {}: {body}", h.event, h.body);
        answers.push(body);
    }
    answers
}

/// Queues a message for `to` on the phone, as the alerts and the dialogs do.
fn queue(app: &TestApp, to: &str, body: &str, priority: i32) -> String {
    let mut conn = app.conn();
    let contact = hotline::conversations::inbound::contact_for(&mut conn, to).unwrap();
    hotline::sms::outbox::enqueue(
        &mut conn,
        &app.state.config.outbox,
        &hotline::sms::outbox::Draft {
            channel_id: "phone".into(),
            contact_id: contact.id,
            phone: to.into(),
            body: body.into(),
            priority,
            kind: Some(
                if priority >= PRIORITY_BULK {
                    "job_alert"
                } else {
                    "help"
                }
                .into(),
            ),
            in_reply_to: None,
        },
    )
    .unwrap()
}

#[actix_web::test]
async fn a_worker_texts_a_county_phone_and_the_reply_goes_out_through_it() {
    let phone = phone();
    let gw = &phone.gw;
    let base = phone.base_url.clone();
    let app = TestApp::with_config(|c| {
        c.channels = vec![android_channel(&base)];
        c.outbox.backoff_base_secs = 0;
        c.outbox.backoff_max_secs = 0;
    });
    let r = "/channels/phone/receive";
    // Unsigned, wrongly signed, replayed late: refused, nothing stored.
    assert_eq!(
        webhook(&app, r, None, 0, "sms:received", received("རོགས་རམ"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        webhook(
            &app,
            r,
            Some("wrong-key-0123456789"),
            0,
            "sms:received",
            received("རོགས་རམ")
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        webhook(&app, r, Some(KEY), 600, "sms:received", received("རོགས་རམ"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert!(app.messages().is_empty());
    // The app's heartbeat is welcome and stores nothing.
    assert_eq!(
        webhook(&app, r, Some(KEY), 0, "system:ping", json!({}))
            .await
            .0,
        StatusCode::OK
    );
    // The message, and the app sending it again under another event id: stored once.
    for _ in 0..2 {
        let (status, body) =
            webhook(&app, r, Some(KEY), 0, "sms:received", received("རོགས་རམ")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(app.incoming().len(), 1);

    // The phone is away (503), then back: it already has the message (409): sent once.
    gw.push_answers(&[(503, "{}"), (409, "{\"message\":\"exists\"}")]);
    app.dispatch_all(5).await;
    let sent = gw.json_bodies();
    assert_eq!(sent.len(), 2, "one failed try, one answered");
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("sms:phone-pass");
    let (auth, body) = &sent[1];
    assert_eq!(auth.as_deref(), Some(format!("Basic {basic}").as_str()));
    assert_eq!(gw.requests()[0], "/message");
    let out = app.outgoing().remove(0);
    assert_eq!(
        body["id"],
        out.id.as_str(),
        "our id is the phone's id for it"
    );
    assert_eq!(body["phoneNumbers"], json!([WORKER]));
    assert_eq!(body["simNumber"], 1);
    assert!(body["textMessage"]["text"]
        .as_str()
        .unwrap()
        .contains("གླ་ཕོགས"));
    assert_eq!(out.status, MessageStatus::Sent);
    assert_eq!(
        sent[0].1["id"], sent[1].1["id"],
        "the same message, never a second one"
    );

    // Reports: sent, then delivered once per segment; the status only moves forward.
    let s = "/channels/phone/status";
    assert_eq!(
        webhook(
            &app,
            s,
            Some("wrong-key-0123456789"),
            0,
            "sms:delivered",
            json!({"messageId": out.id})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    for event in ["sms:sent", "sms:delivered", "sms:delivered"] {
        let (status, body) = webhook(
            &app,
            s,
            Some(KEY),
            0,
            event,
            json!({"messageId": out.id, "phoneNumber": WORKER}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{event}: {body}");
    }
    assert_eq!(app.outgoing()[0].status, MessageStatus::Delivered);
}

/// A thousand malformed, forged and replayed webhooks: every one gets a 4xx and none is stored.
#[actix_web::test]
async fn a_thousand_bad_android_webhooks_are_refused_and_store_nothing() {
    let phone = phone();
    let gw = &phone.gw;
    let app = TestApp::with_config(|c| c.channels = vec![android_channel(&phone.base_url)]);
    for i in 0..1000i64 {
        let (path, key, age, event, payload) = match i % 7 {
            0 => (
                "/channels/phone/receive",
                None,
                0,
                "sms:received",
                received("帮助"),
            ),
            1 => (
                "/channels/phone/receive",
                Some("forged-key-0123456789"),
                0,
                "sms:received",
                received("帮助"),
            ),
            2 => (
                "/channels/phone/receive",
                Some(KEY),
                301 + i,
                "sms:received",
                received("帮助"),
            ),
            3 => (
                "/channels/phone/receive",
                Some(KEY),
                -(301 + i),
                "sms:received",
                received("帮助"),
            ),
            4 => (
                "/channels/phone/receive",
                Some(KEY),
                0,
                "sms:received",
                json!({"message": "帮助"}),
            ),
            5 => (
                "/channels/phone/receive",
                Some(KEY),
                0,
                "sms:delivered",
                json!({"messageId": "x"}),
            ),
            _ => (
                "/channels/phone/status",
                Some(KEY),
                0,
                "sms:delivered",
                json!({"messageId": format!("never-sent-{i}")}),
            ),
        };
        let (status, reason) = webhook(&app, path, key, age, event, payload).await;
        assert!(
            status.is_client_error(),
            "{i} {path} {event}: {status} {reason}"
        );
    }
    assert!(app.messages().is_empty(), "nothing stored");
    assert!(gw.requests().is_empty(), "nothing sent");
}

/// A job alert long enough for two segments in Chinese (UCS-2, 67 characters a part).
const ALERT: &str = "【劳动保障热线】招工：拉萨北环路改造工程招钢筋工10名，日薪350元，包吃住，\
                     工期三个月，城关区工地。回复YX 1234问联系电话，回复T退订";

/// Ten workers get the same alert on a phone that takes 4 numbers a call: it leaves in 3 calls
/// (a reply queued with them goes alone, under its own id). Each message keeps its row: sent
/// when the phone takes the call, then delivered or failed from the app's per-number reports,
/// which arrive twice as the app re-sends them and never move a status back.
#[actix_web::test]
async fn identical_alerts_leave_in_one_call_per_max_recipients_and_each_keeps_its_reports() {
    assert_eq!(hotline::text::sms_size(ALERT).segments, 2);
    let phone = phone();
    let base = phone.base_url.clone();
    let app = TestApp::with_config(|c| {
        let mut ch = android_channel(&base);
        ch.max_recipients = Some(4);
        c.channels = vec![ch];
    });
    let workers: Vec<String> = (0..10).map(|i| format!("+86139000001{i:02}")).collect();
    let alerts: Vec<String> = workers
        .iter()
        .map(|w| queue(&app, w, ALERT, PRIORITY_BULK))
        .collect();
    let reply = queue(
        &app,
        WORKER,
        "【劳动保障热线】回复1登记欠薪",
        PRIORITY_REPLY,
    );
    let unreachable = &workers[3];
    phone.fail(unreachable, "RESULT_ERROR_NO_SERVICE");
    app.dispatch_all(10).await;

    let taken = phone.taken();
    assert_eq!(taken.len(), 1 + 10usize.div_ceil(4), "{taken:?}");
    let alone = taken
        .iter()
        .find(|t| t.id == reply)
        .expect("the reply's call");
    assert_eq!(alone.numbers, [WORKER]);
    let calls: Vec<_> = taken.iter().filter(|t| t.id != reply).collect();
    let mut sizes: Vec<usize> = calls.iter().map(|t| t.numbers.len()).collect();
    sizes.sort();
    assert_eq!(sizes, [2, 4, 4]);
    assert!(calls.iter().all(|t| t.text == ALERT));
    let numbers: Vec<&String> = calls.iter().flat_map(|t| &t.numbers).collect();
    assert_eq!(numbers.len(), 10, "each number once");
    assert_eq!(
        numbers.into_iter().cloned().collect::<BTreeSet<_>>(),
        workers.iter().cloned().collect::<BTreeSet<_>>()
    );
    // What went to the phone: the app's fields, the batch's id, the SIM, a validity.
    let bodies = phone.gw.json_bodies();
    let batch = bodies
        .iter()
        .map(|(_, b)| b)
        .find(|b| b["phoneNumbers"].as_array().unwrap().len() == 4)
        .unwrap();
    assert_eq!(batch["textMessage"]["text"], ALERT);
    assert_eq!(batch["simNumber"], 1);
    assert_eq!(batch["withDeliveryReport"], true);
    assert!(batch["ttl"].as_u64().unwrap() > 60);
    assert!(
        !alerts.iter().any(|id| batch["id"] == id.as_str()),
        "the call has its own id"
    );

    let row = |id: &str| app.outgoing().into_iter().find(|m| m.id == id).unwrap();
    for (id, worker) in alerts.iter().zip(&workers) {
        let m = row(id);
        assert_eq!(m.status, MessageStatus::Sent, "{worker}");
        let call = calls.iter().find(|t| t.numbers.contains(worker)).unwrap();
        assert_eq!(m.batch_id.as_deref(), Some(call.id.as_str()), "{worker}");
        let history: Vec<String> = app
            .events(id)
            .iter()
            .map(|e| e.status.to_string())
            .collect();
        assert_eq!(history, ["queued", "sent"], "{worker}");
        // Its history says how it left, not to whom else.
        let detail = app.events(id)[1].detail.clone().unwrap();
        assert!(detail.starts_with("202 Pending, call "), "{detail}");
        assert!(
            !workers.iter().any(|w| detail.contains(&w[3..])),
            "{detail}"
        );
    }
    assert_eq!(row(&reply).status, MessageStatus::Sent);
    assert_eq!(row(&reply).batch_id, None);

    // The app's reports: one per number and event, delivered once per segment.
    let hooks = phone.webhooks(KEY);
    let count = |event: &str| hooks.iter().filter(|h| h.event == event).count();
    // Nine alerts of two segments and the reply of one reach their phones; one alert fails.
    assert_eq!(
        (
            count("sms:sent"),
            count("sms:delivered"),
            count("sms:failed")
        ),
        (9 + 1, 9 * 2 + 1, 1)
    );
    let answers = deliver(&app, &hooks).await;
    assert!(
        answers
            .iter()
            .any(|a| a == &format!("{} failed", alerts[3])),
        "{answers:?}"
    );
    // The app sends them all again (PROTOCOLS: the same event twice): nothing changes.
    deliver(&app, &phone.webhooks_again(KEY)).await;
    for (id, worker) in alerts.iter().zip(&workers) {
        let m = row(id);
        if worker == unreachable {
            assert_eq!(m.status, MessageStatus::Failed);
            let last = app.events(id).pop().unwrap();
            assert!(
                last.detail.unwrap().contains("RESULT_ERROR_NO_SERVICE"),
                "the phone's reason is kept"
            );
        } else {
            assert_eq!(m.status, MessageStatus::Delivered, "{worker}");
        }
    }
    assert_eq!(row(&reply).status, MessageStatus::Delivered);

    // A report of the call for a number that was not in it finds no message.
    let (status, _) = webhook(
        &app,
        "/channels/phone/status",
        Some(KEY),
        0,
        "sms:delivered",
        json!({"messageId": calls[0].id, "phoneNumber": "+8613900000999"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A batch whose call failed (the phone away: 503) goes again under the same id with the same
/// numbers; when the phone already has it (409: it took the call, then the answer was lost)
/// every message of it counts as sent, and none goes twice.
#[actix_web::test]
async fn a_batch_goes_again_under_its_id_and_a_409_means_the_phone_has_it() {
    let phone = phone();
    phone
        .gw
        .push_answers(&[(503, "{}"), (409, r#"{"message":"exists"}"#)]);
    let base = phone.base_url.clone();
    let app = TestApp::with_config(|c| {
        c.channels = vec![android_channel(&base)];
        c.outbox.backoff_base_secs = 0;
        c.outbox.backoff_max_secs = 0;
    });
    let ids: Vec<String> = (0..3)
        .map(|i| queue(&app, &format!("+861390000020{i}"), ALERT, PRIORITY_BULK))
        .collect();
    app.dispatch_all(10).await;
    let bodies = phone.gw.json_bodies();
    assert_eq!(bodies.len(), 2, "one failed call, one answered");
    let numbers = |b: &serde_json::Value| {
        let mut n: Vec<String> = b["phoneNumbers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        n.sort();
        n
    };
    assert_eq!(bodies[0].1["id"], bodies[1].1["id"]);
    assert_eq!(numbers(&bodies[0].1), numbers(&bodies[1].1));
    assert_eq!(numbers(&bodies[0].1).len(), 3);
    for id in &ids {
        let m = app.outgoing().into_iter().find(|m| &m.id == id).unwrap();
        assert_eq!((m.status, m.attempts), (MessageStatus::Sent, 2));
        assert_eq!(m.batch_id.as_deref(), bodies[0].1["id"].as_str());
    }
    assert!(
        phone.taken().is_empty(),
        "the 409 was scripted: nothing new"
    );
}

/// The channel's rate holds for batches, charged per number and segment: at 5 segments a
/// second, two calls of 5 single-segment alerts are a second apart.
#[actix_web::test]
async fn batches_keep_to_the_channels_rate_per_number() {
    let phone = phone();
    let base = phone.base_url.clone();
    let app = TestApp::with_config(|c| {
        let mut ch = android_channel(&base);
        ch.tps = 5;
        ch.max_recipients = Some(5);
        ch.concurrency = 2;
        c.channels = vec![ch];
    });
    for i in 0..10 {
        queue(
            &app,
            &format!("+86139000003{i:02}"),
            "Job: 10 rebar workers, Lhasa. YX 1234",
            PRIORITY_BULK,
        );
    }
    app.dispatch_all(10).await;
    let taken = phone.taken();
    assert_eq!(taken.len(), 2, "{taken:?}");
    assert!(taken.iter().all(|t| t.numbers.len() == 5));
    let gap = taken[1].at.duration_since(taken[0].at);
    assert!(gap >= std::time::Duration::from_millis(900), "{gap:?}");
    assert!(app
        .outgoing()
        .iter()
        .all(|m| m.status == MessageStatus::Sent));
}

/// A dispatcher died with a batch in flight. A number the phone reports on is settled by the
/// report; once the grace period is over the others go again, together and under the batch's
/// id, so a phone that took the call answers 409 and sends nothing twice.
#[actix_web::test]
async fn a_batch_left_in_flight_by_a_crash_goes_again_under_its_id() {
    use diesel::prelude::*;
    use hotline::db::schema::messages;
    let phone = phone();
    phone.gw.push_answers(&[(409, r#"{"message":"exists"}"#)]);
    let base = phone.base_url.clone();
    let app = TestApp::with_config(|c| {
        c.channels = vec![android_channel(&base)];
        c.outbox.in_flight_grace_secs = 60;
    });
    let workers: Vec<String> = (0..3).map(|i| format!("+861390000040{i}")).collect();
    let ids: Vec<String> = workers
        .iter()
        .map(|w| queue(&app, w, ALERT, PRIORITY_BULK))
        .collect();
    // Claimed as one batch by a process that then died; its lease ran out 30 s ago.
    let t = hotline::db::now();
    diesel::update(messages::table)
        .set((
            messages::status.eq("sending"),
            messages::lease_owner.eq("dead-process"),
            messages::lease_until.eq(t - chrono::Duration::seconds(30)),
            messages::attempts.eq(1),
            messages::batch_id.eq("batch-of-the-dead"),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    app.dispatch_all(1).await;
    assert!(
        phone.gw.requests().is_empty(),
        "within the grace period nothing goes"
    );
    let (status, body) = webhook(
        &app,
        "/channels/phone/status",
        Some(KEY),
        0,
        "sms:sent",
        json!({"messageId": "batch-of-the-dead", "phoneNumber": workers[0], "partsCount": 2}),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, format!("{} sent", ids[0])));
    diesel::update(messages::table.filter(messages::status.eq("sending")))
        .set(messages::lease_until.eq(t - chrono::Duration::seconds(120)))
        .execute(&mut *app.conn())
        .unwrap();
    app.dispatch_all(5).await;
    let bodies = phone.gw.json_bodies();
    assert_eq!(bodies.len(), 1, "one call for the two left");
    assert_eq!(bodies[0].1["id"], "batch-of-the-dead");
    let mut numbers: Vec<&str> = bodies[0].1["phoneNumbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(numbers, [&workers[1], &workers[2]]);
    for id in &ids {
        let m = app.outgoing().into_iter().find(|m| &m.id == id).unwrap();
        assert_eq!(m.status, MessageStatus::Sent, "{id}");
    }
}
