//! The twilio channel over its real routes. Signatures come from the official `twilio` Python
//! package (`pip install twilio`), so ours are checked against Twilio's own code; the API it
//! sends to is a stand-in on loopback.

use actix_web::http::StatusCode;
use hotline::db::models::MessageStatus;
use hotline::sms::channels::ChannelConfig;

use crate::support::app::{form, TestApp};
use crate::support::fake_gateway::FakeGateway;

const TOKEN: &str = "tw-auth-token-0123456789";
const PUBLIC: &str = "https://hotline.example.gov.cn";
const WORKER: &str = "+8613900000061";

fn twilio_channel(base_url: &str) -> ChannelConfig {
    let toml = format!(
        "[[channels]]\nid = \"twilio\"\nkind = \"twilio\"\nnumber = \"+8612333\"\ntps = 1000\n\
         account_sid = \"AC0123456789\"\nauth_token = \"{TOKEN}\"\nbase_url = \"{base_url}\"\n"
    );
    hotline::config::Config::from_sources(Some(&toml), None, Vec::new())
        .unwrap()
        .channels
        .remove(0)
}

/// `X-Twilio-Signature` as the `twilio` package computes it, or None (skipped) outside CI when
/// the package is not installed.
fn twilio_signature(url: &str, params: &[(&str, &str)]) -> Option<String> {
    let params: serde_json::Map<String, serde_json::Value> = params
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    let script = "import json,sys\nfrom twilio.request_validator import RequestValidator\n\
                  a=json.loads(sys.argv[1])\nprint(RequestValidator(a['token']).compute_signature(a['url'], a['params']))";
    let arg = serde_json::json!({ "token": TOKEN, "url": url, "params": params }).to_string();
    let out = std::process::Command::new("python3")
        .args(["-c", script, &arg])
        .output()
        .expect("python3 runs");
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        eprintln!("{why}");
        crate::support::skips::skip("the twilio Python package", "pip install twilio");
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

async fn post(
    app: &TestApp,
    path: &str,
    signature: Option<&str>,
    params: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut headers = Vec::new();
    if let Some(s) = signature {
        headers.push(("x-twilio-signature", s));
    }
    app.request_with(
        "POST",
        path,
        &headers,
        Some((
            "application/x-www-form-urlencoded",
            form(params).into_bytes(),
        )),
    )
    .await
}

#[actix_web::test]
async fn a_worker_texts_through_twilio_signed_as_twilio_signs_and_the_reply_goes_back_out() {
    let gw = FakeGateway::start();
    let base = gw.url.trim_end_matches("/cgi-bin/sendsms").to_string();
    let app = TestApp::with_config(|c| {
        c.public_url = Some(PUBLIC.into());
        c.channels = vec![twilio_channel(&base)];
    });
    let incoming = [
        ("MessageSid", "SMin0001"),
        ("AccountSid", "AC0123456789"),
        ("From", WORKER),
        ("To", "+8612333"),
        ("Body", "རོགས་རམ"),
        ("NumSegments", "1"),
    ];
    let Some(sig) = twilio_signature(&format!("{PUBLIC}/channels/twilio/receive"), &incoming)
    else {
        return;
    };
    // Unsigned, forged, or signed for other words: refused, nothing stored.
    assert_eq!(
        post(&app, "/channels/twilio/receive", None, &incoming)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(
            &app,
            "/channels/twilio/receive",
            Some("AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            &incoming
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let mut altered = incoming;
    altered[4] = ("Body", "STOP");
    assert_eq!(
        post(&app, "/channels/twilio/receive", Some(&sig), &altered)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert!(app.messages().is_empty());

    // Signed by Twilio's rule: taken, answered with empty TwiML; the same again is stored once.
    for _ in 0..2 {
        let (status, body) = post(&app, "/channels/twilio/receive", Some(&sig), &incoming).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("<Response></Response>"), "{body}");
    }
    assert_eq!(app.incoming().len(), 1);

    // The reply goes to Messages.json with Basic auth and a status callback carrying our id.
    gw.push_answers(&[(201, "{\"sid\":\"SMout0001\",\"status\":\"queued\"}")]);
    app.dispatch_all(5).await;
    let target = &gw.requests()[0];
    assert_eq!(target, "/2010-04-01/Accounts/AC0123456789/Messages.json");
    let (auth, body) = gw.bodies.lock().unwrap()[0].clone();
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("AC0123456789:{TOKEN}"));
    assert_eq!(auth.as_deref(), Some(format!("Basic {basic}").as_str()));
    let sent: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| {
        sent.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("To"), WORKER);
    assert_eq!(get("From"), "+8612333");
    assert!(get("Body").contains("གླ་ཕོགས"), "{body}");
    let callback = get("StatusCallback");
    let out = app.outgoing().remove(0);
    assert_eq!(out.status, MessageStatus::Sent);
    assert_eq!(out.gateway_id.as_deref(), Some("SMout0001"));
    assert!(
        callback.starts_with(&format!("{PUBLIC}/channels/twilio/status?msg=")),
        "{callback}"
    );

    // Twilio calls the callback, signed over the whole URL it was given.
    let path = callback.trim_start_matches(PUBLIC).to_string();
    let delivered = [("MessageSid", "SMout0001"), ("MessageStatus", "delivered")];
    let sig = twilio_signature(&callback, &delivered).unwrap();
    assert_eq!(
        post(&app, &path, Some("forged"), &delivered).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.outgoing()[0].status, MessageStatus::Sent);
    let (status, answer) = post(&app, &path, Some(&sig), &delivered).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(app.outgoing()[0].status, MessageStatus::Delivered);
    assert!(!app.contact(WORKER).unwrap().opted_out);

    // Error 21610: the worker sent STOP to the carrier. They are opted out.
    let refused = [
        ("MessageSid", "SMout0001"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "21610"),
    ];
    let sig = twilio_signature(&callback, &refused).unwrap();
    assert_eq!(
        post(&app, &path, Some(&sig), &refused).await.0,
        StatusCode::OK
    );
    let c = app.contact(WORKER).unwrap();
    assert!(c.opted_out, "opted out at the carrier");
    assert!(c.opt_changed_via.unwrap().contains("21610"));
}

/// A thousand malformed, forged and replayed webhooks: every one gets a 4xx and none is stored.
#[actix_web::test]
async fn a_thousand_bad_twilio_webhooks_are_refused_and_store_nothing() {
    let gw = FakeGateway::start();
    let base = gw.url.trim_end_matches("/cgi-bin/sendsms").to_string();
    let app = TestApp::with_config(|c| {
        c.public_url = Some(PUBLIC.into());
        c.channels = vec![twilio_channel(&base)];
    });
    let sign = |url: &str, p: &[(&str, &str)]| {
        let owned: Vec<(String, String)> = p
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        hotline::sms::channels::twilio::signature(TOKEN, url, &owned)
    };
    let receive = format!("{PUBLIC}/channels/twilio/receive");
    let good = [("MessageSid", "SMx"), ("From", WORKER), ("Body", "帮助")];
    let good_sig = sign(&receive, &good);
    for i in 0..1000u32 {
        let sid = format!("SM{i}");
        let (path, sig, params): (String, Option<String>, Vec<(&str, String)>) = match i % 8 {
            0 => (
                "/channels/twilio/receive".into(),
                None,
                vec![
                    ("MessageSid", sid),
                    ("From", WORKER.into()),
                    ("Body", "x".into()),
                ],
            ),
            1 => (
                "/channels/twilio/receive".into(),
                Some(format!("{i}forged=")),
                vec![
                    ("MessageSid", sid),
                    ("From", WORKER.into()),
                    ("Body", "x".into()),
                ],
            ),
            // replayed: a valid signature over other values
            2 => (
                "/channels/twilio/receive".into(),
                Some(good_sig.clone()),
                vec![
                    ("MessageSid", sid),
                    ("From", WORKER.into()),
                    ("Body", "帮助".into()),
                ],
            ),
            // signed for another URL (a proxy that rewrote it, a copied request)
            3 => {
                let p = [
                    ("MessageSid", sid.as_str()),
                    ("From", WORKER),
                    ("Body", "x"),
                ];
                (
                    "/channels/twilio/receive".into(),
                    Some(sign("http://127.0.0.1:8080/channels/twilio/receive", &p)),
                    p.iter().map(|(k, v)| (*k, v.to_string())).collect(),
                )
            }
            // properly signed, but not a message: no MessageSid, no From, not a phone number
            4 => {
                let p = [("From", WORKER), ("Body", "x")];
                (
                    "/channels/twilio/receive".into(),
                    Some(sign(&receive, &p)),
                    p.iter().map(|(k, v)| (*k, v.to_string())).collect(),
                )
            }
            5 => {
                let p = [
                    ("MessageSid", sid.as_str()),
                    ("From", "not-a-phone"),
                    ("Body", "x"),
                ];
                (
                    "/channels/twilio/receive".into(),
                    Some(sign(&receive, &p)),
                    p.iter().map(|(k, v)| (*k, v.to_string())).collect(),
                )
            }
            // a status for a message we never sent, and one with no id of ours
            6 => {
                let url = format!("{PUBLIC}/channels/twilio/status?msg=m-{i}");
                let p = [("MessageSid", sid.as_str()), ("MessageStatus", "delivered")];
                (
                    format!("/channels/twilio/status?msg=m-{i}"),
                    Some(sign(&url, &p)),
                    p.iter().map(|(k, v)| (*k, v.to_string())).collect(),
                )
            }
            _ => {
                let url = format!("{PUBLIC}/channels/twilio/status");
                let p = [("MessageSid", sid.as_str()), ("MessageStatus", "delivered")];
                (
                    "/channels/twilio/status".into(),
                    Some(sign(&url, &p)),
                    p.iter().map(|(k, v)| (*k, v.to_string())).collect(),
                )
            }
        };
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, reason) = post(&app, &path, sig.as_deref(), &pairs).await;
        assert!(status.is_client_error(), "{i} {path}: {status} {reason}");
    }
    assert!(app.messages().is_empty(), "nothing stored");
    assert!(gw.requests().is_empty(), "nothing sent");
}
