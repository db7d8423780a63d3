//! The generic JSON channel over its real routes: bearer-authenticated webhooks in (messages
//! and delivery reports), JSON POSTs out to a stand-in integration.

use actix_web::http::StatusCode;
use hotline::db::models::MessageStatus;
use hotline::sms::channels::ChannelConfig;
use serde_json::json;

use crate::support::app::TestApp;
use crate::support::fake_gateway::FakeGateway;

const SECRET: &str = "json-secret-0123456789";

fn json_channel(send_url: &str) -> ChannelConfig {
    let toml = format!(
        "[[channels]]\nid = \"json\"\nkind = \"json\"\ntps = 1000\n\
         secret = \"{SECRET}\"\nsend_url = \"{send_url}\"\nsend_token = \"out-token-987\"\n"
    );
    hotline::config::Config::from_sources(Some(&toml), None, Vec::new())
        .unwrap()
        .channels
        .remove(0)
}

async fn post(app: &TestApp, path: &str, auth: Option<&str>, body: &str) -> (StatusCode, String) {
    let mut headers = Vec::new();
    let bearer = auth.map(|a| format!("Bearer {a}"));
    if let Some(b) = &bearer {
        headers.push(("authorization", b.as_str()));
    }
    app.request_with(
        "POST",
        path,
        &headers,
        Some(("application/json", body.as_bytes().to_vec())),
    )
    .await
}

#[actix_web::test]
async fn a_worker_texts_through_a_json_integration_and_the_reply_goes_back_out() {
    let gw = FakeGateway::start();
    let url = gw.url.clone();
    let app = TestApp::with_config(move |c| c.channels = vec![json_channel(&url)]);
    let msg = r#"{"id":"g-1","from":"13900000051","to":"12333","text":"རོགས་རམ"}"#;

    // Without the bearer secret, or with a wrong one, or with a bad body: refused, nothing stored.
    assert_eq!(
        post(&app, "/channels/json/receive", None, msg).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(&app, "/channels/json/receive", Some("wrong"), msg)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    for bad in [
        "not json",
        r#"{"from":"13900000051","text":"x"}"#,
        r#"{"id":"g-9","from":"x","text":"hi"}"#,
    ] {
        let (status, reason) = post(&app, "/channels/json/receive", Some(SECRET), bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {reason}");
    }
    assert!(app.messages().is_empty());

    // A message, and the same again (a retry): stored once, answered once.
    for _ in 0..2 {
        let (status, body) = post(&app, "/channels/json/receive", Some(SECRET), msg).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(app.incoming().len(), 1);
    app.dispatch_all(5).await;
    let sent = gw.json_bodies();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (auth, body) = &sent[0];
    assert_eq!(auth.as_deref(), Some("Bearer out-token-987"));
    assert_eq!(body["to"], "+8613900000051");
    assert_eq!(body["encoding"], "ucs2");
    assert!(body["text"].as_str().unwrap().contains("གླ་ཕོགས"), "{body}");
    assert!(body["status_url"]
        .as_str()
        .unwrap()
        .ends_with("/channels/json/status"));
    let id = body["id"].as_str().unwrap().to_string();

    // Its delivery report moves it on; a report without the secret changes nothing.
    let report = json!({"id": id, "status": "delivered"}).to_string();
    assert_eq!(
        post(&app, "/channels/json/status", Some("wrong"), &report)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.outgoing()[0].status, MessageStatus::Sent);
    let (status, answer) = post(&app, "/channels/json/status", Some(SECRET), &report).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(app.outgoing()[0].status, MessageStatus::Delivered);
}

#[actix_web::test]
async fn a_json_integration_that_refuses_or_is_busy_is_answered_accordingly() {
    let gw = FakeGateway::start();
    // 409: it has that id already (our retry after a crash) counts as sent; 503 is retried.
    gw.push_answers(&[(503, "busy"), (409, "{\"id\":\"dup\"}")]);
    let url = gw.url.clone();
    let app = TestApp::with_config(move |c| {
        c.channels = vec![json_channel(&url)];
        c.outbox.backoff_base_secs = 0;
        c.outbox.backoff_max_secs = 0;
    });
    let msg = r#"{"id":"g-2","from":"13900000052","text":"帮助"}"#;
    assert_eq!(
        post(&app, "/channels/json/receive", Some(SECRET), msg)
            .await
            .0,
        StatusCode::OK
    );
    app.dispatch_all(5).await;
    assert_eq!(gw.json_bodies().len(), 2);
    let out = &app.outgoing()[0];
    assert_eq!(out.status, MessageStatus::Sent);
    assert_eq!(out.attempts, 2);
}

/// A thousand malformed and forged webhooks: every one gets a 4xx and none is stored.
#[actix_web::test]
async fn a_thousand_bad_webhooks_are_refused_and_store_nothing() {
    let gw = FakeGateway::start();
    let url = gw.url.clone();
    let app = TestApp::with_config(move |c| c.channels = vec![json_channel(&url)]);
    let good = r#"{"id":"g-1","from":"13900000051","text":"帮助"}"#;
    let mut n = 0;
    for i in 0..1000u32 {
        let (path, auth, body): (&str, Option<String>, String) = match i % 10 {
            0 => ("/channels/json/receive", None, good.into()),
            1 => (
                "/channels/json/receive",
                Some(format!("wrong-{i}")),
                good.into(),
            ),
            2 => (
                "/channels/json/receive",
                Some(format!("{SECRET}{i}")),
                good.into(),
            ),
            3 => (
                "/channels/json/receive",
                Some(SECRET.into()),
                good.chars().take(i as usize % 40).collect(),
            ),
            4 => (
                "/channels/json/receive",
                Some(SECRET.into()),
                format!(r#"{{"id":"g-{i}","text":"x"}}"#),
            ),
            5 => (
                "/channels/json/receive",
                Some(SECRET.into()),
                format!(r#"{{"id":"g-{i}","from":"abc{i}","text":"x"}}"#),
            ),
            6 => (
                "/channels/json/receive",
                Some(SECRET.into()),
                format!(r#"{{"id":"","from":"13900000051","text":"x{i}"}}"#),
            ),
            7 => (
                "/channels/json/status",
                None,
                format!(r#"{{"id":"m-{i}","status":"delivered"}}"#),
            ),
            8 => (
                "/channels/json/status",
                Some(SECRET.into()),
                format!(r#"{{"id":"m-{i}","status":"lost"}}"#),
            ),
            _ => (
                "/channels/json/receive",
                Some(SECRET.into()),
                format!("[{good}, {{\"id\": {i}}}]"),
            ),
        };
        let (status, reason) = post(&app, path, auth.as_deref(), &body).await;
        assert!(status.is_client_error(), "{path} {body}: {status} {reason}");
        n += 1;
    }
    assert_eq!(n, 1000);
    assert!(app.messages().is_empty(), "nothing stored");
    assert!(gw.json_bodies().is_empty(), "nothing sent");
}
