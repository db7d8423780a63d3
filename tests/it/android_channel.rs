//! The android channel over its real routes, against a stand-in for the SMS Gateway for
//! Android app's server: signed webhooks in (as the app signs and re-sends them), messages out
//! with Basic auth and our id, a phone that goes away and comes back.

use actix_web::http::StatusCode;
use hotline::db::models::MessageStatus;
use hotline::sms::channels::android::signature;
use hotline::sms::channels::ChannelConfig;
use serde_json::json;

use crate::support::app::TestApp;
use crate::support::fake_gateway::FakeGateway;

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

#[actix_web::test]
async fn a_worker_texts_a_county_phone_and_the_reply_goes_out_through_it() {
    let gw = FakeGateway::start();
    let base = gw.url.trim_end_matches("/cgi-bin/sendsms").to_string();
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
    let gw = FakeGateway::start();
    let base = gw.url.trim_end_matches("/cgi-bin/sendsms").to_string();
    let app = TestApp::with_config(|c| c.channels = vec![android_channel(&base)]);
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
