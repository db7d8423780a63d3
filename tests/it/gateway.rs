//! Messages from workers through the Kannel webhook, and the replies they get.

use actix_web::http::StatusCode;
use hotline::db::models::Language;

use crate::support::app::{form, TestApp, SECRET};
use crate::support::fake_gateway::FakeGateway;

const WORKER: &str = "+8613900000001";
const BO_HELP: &str = "རོགས་རམ";

fn has_tibetan(s: &str) -> bool {
    s.chars().any(|c| ('\u{0F00}'..='\u{0FFF}').contains(&c))
}
fn has_han(s: &str) -> bool {
    s.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c))
}

#[actix_web::test]
async fn chinese_help_is_answered_in_chinese_sent_and_delivered() {
    let gw = FakeGateway::start();
    let app = TestApp::with_kannel(&gw.url, |_| {});
    let (status, body) = app.kannel_mo("8613900000001", "帮助", "k-1").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let incoming = app.incoming();
    assert_eq!(incoming.len(), 1);
    assert_eq!(incoming[0].body, "帮助");
    assert_eq!(incoming[0].phone, WORKER);
    assert_eq!(incoming[0].status, "handled");
    assert_eq!(app.contact(WORKER).unwrap().language, "zh");

    let out = app.outgoing();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status, "queued");
    assert_eq!(out[0].in_reply_to.as_deref(), Some(incoming[0].id.as_str()));
    assert!(
        has_han(&out[0].body) && !has_tibetan(&out[0].body),
        "{}",
        out[0].body
    );
    assert_eq!(out[0].encoding, "ucs2");
    assert!(out[0].segments >= 1);

    app.dispatch_all(10).await;
    let out = &app.outgoing()[0];
    assert_eq!(out.status, "sent");
    assert_eq!(gw.requests().len(), 1);
    assert_eq!(gw.param(0, "to").as_deref(), Some(WORKER));
    assert_eq!(gw.param(0, "text").as_deref(), Some(out.body.as_str()));
    assert_eq!(gw.param(0, "coding").as_deref(), Some("2"));
    assert_eq!(gw.param(0, "charset").as_deref(), Some("UTF-8"));
    let dlr = gw.param(0, "dlr-url").unwrap();
    assert!(dlr.contains(&format!("msg={}", out.id)), "{dlr}");

    // Kannel calls the dlr-url with %d filled in: 8 (SMSC accepted), then 1 (delivered).
    let dlr_path = dlr
        .split_once("/channels/")
        .map(|(_, p)| format!("/channels/{p}"))
        .unwrap();
    let (s, _) = app
        .get(
            &dlr_path
                .replace("%d", "8")
                .replace("%A", "ACK")
                .replace("%T", "1"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .get(
            &dlr_path
                .replace("%d", "1")
                .replace("%A", "DELIVRD")
                .replace("%T", "2"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // a late duplicate "accepted" does not move it back
    let (s, _) = app
        .get(
            &dlr_path
                .replace("%d", "8")
                .replace("%A", "late")
                .replace("%T", "3"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let out = &app.outgoing()[0];
    assert_eq!(out.status, "delivered");
    let history: Vec<String> = app
        .events(&out.id)
        .into_iter()
        .map(|e| e.status.to_string())
        .collect();
    assert_eq!(
        history,
        vec!["queued", "sent", "sent", "delivered", "delivered"]
    );
}

#[actix_web::test]
async fn tibetan_help_gets_tibetan_and_latin_gets_the_language_question() {
    let gw = FakeGateway::start();
    let app = TestApp::with_kannel(&gw.url, |_| {});
    assert_eq!(
        app.kannel_mo("13900000002", BO_HELP, "k-1").await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.kannel_mo("13900000003", "help", "k-2").await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.kannel_mo("13900000004", "རོགས་རམ།", "k-3").await.0,
        StatusCode::OK
    );
    let out = app.outgoing();
    let to = |p: &str| out.iter().find(|m| m.phone == p).unwrap().body.clone();
    let bo = to("+8613900000002");
    assert!(has_tibetan(&bo) && !has_han(&bo), "{bo}");
    let both = to("+8613900000003");
    assert!(has_tibetan(&both) && has_han(&both), "{both}");
    let pick = out.iter().find(|m| m.phone == "+8613900000003").unwrap();
    assert_eq!(pick.kind.as_deref(), Some("language_pick"));
    assert_eq!(
        pick.segments, 1,
        "one short SMS, not the menu twice: {both}"
    );
    assert_eq!(to("+8613900000004"), bo);
    assert_eq!(app.contact("+8613900000002").unwrap().language, "bo");
    assert_eq!(app.contact("+8613900000003").unwrap().language, "both");
}

#[actix_web::test]
async fn a_worker_who_picks_a_language_is_answered_in_it_from_then_on() {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    // "1" would start a complaint: first the language, then the complaint in it.
    app.kannel_mo(WORKER, "1", "k-1").await;
    app.kannel_mo(WORKER, "༡", "k-2").await;
    let out = app.outgoing();
    assert_eq!(out[0].kind.as_deref(), Some("language_pick"));
    assert!(
        out[1].body.contains("༡/༦"),
        "the complaint, in Tibetan: {}",
        out[1].body
    );
    assert!(!has_han(&out[1].body), "{}", out[1].body);
    let c = app.contact(WORKER).unwrap();
    assert_eq!((c.language, c.language_chosen), (Language::Bo, true));
    // Latin text later is answered in the chosen language, without asking again.
    app.kannel_mo(WORKER, "0", "k-3").await;
    app.kannel_mo(WORKER, "hello", "k-4").await;
    let last = app.outgoing().pop().unwrap();
    assert_eq!(last.kind.as_deref(), Some("help"));
    assert!(
        has_tibetan(&last.body) && !has_han(&last.body),
        "{}",
        last.body
    );

    // Pinyin is Chinese: no question, the menu in Chinese.
    app.kannel_mo("13900000009", "bangzhu", "k-5").await;
    let last = app.outgoing().pop().unwrap();
    assert_eq!(last.kind.as_deref(), Some("help"));
    assert!(
        has_han(&last.body) && !has_tibetan(&last.body),
        "{}",
        last.body
    );

    // A complaint in one message is filed at once, whatever the script.
    app.kannel_mo("13900000010", "QX P2026-404 3 9000", "k-6")
        .await;
    let last = app.outgoing().pop().unwrap();
    assert_ne!(last.kind.as_deref(), Some("language_pick"));
}

#[actix_web::test]
async fn unknown_text_gets_the_menu_in_the_language_last_seen() {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    app.kannel_mo(WORKER, "老板欠我三个月工资", "k-1").await;
    app.kannel_mo(WORKER, "123", "k-2").await;
    let out = app.outgoing();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].kind.as_deref(), Some("help"));
    // digits say nothing about language: the worker wrote Chinese before
    assert_eq!(out[1].body, out[0].body);
    assert!(!has_tibetan(&out[1].body));
}

#[actix_web::test]
async fn stop_and_start_in_every_form_flip_opt_out_and_confirm() {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    let cases = [
        ("STOP", true, "stopped"),
        ("start", false, "started"),
        ("退订", true, "stopped"),
        ("ＳＴＡＲＴ", false, "started"),
        ("T", true, "stopped"),
        ("恢复", false, "started"),
        ("TD", true, "stopped"),
        ("START", false, "started"),
        ("Ｔ", true, "stopped"),
        ("START", false, "started"),
        ("མཚམས་འཇོག", true, "stopped"),
    ];
    for (i, (text, opted_out, kind)) in cases.iter().enumerate() {
        let (s, b) = app.kannel_mo(WORKER, text, &format!("k-{i}")).await;
        assert_eq!(s, StatusCode::OK, "{text}: {b}");
        let c = app.contact(WORKER).unwrap();
        assert_eq!(c.opted_out, *opted_out, "after {text}");
        assert!(
            c.opt_changed_via.as_deref().unwrap().contains(text),
            "{:?}",
            c.opt_changed_via
        );
        let last = app.outgoing().into_iter().last().unwrap();
        assert_eq!(last.kind.as_deref(), Some(*kind), "after {text}");
    }
    let last = app.outgoing().into_iter().last().unwrap();
    assert!(
        has_tibetan(&last.body) && !has_han(&last.body),
        "Tibetan STOP confirmed in Tibetan: {}",
        last.body
    );
}

#[actix_web::test]
async fn a_repeated_kannel_delivery_is_acknowledged_once() {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    let (s1, b1) = app.kannel_mo(WORKER, "帮助", "same-id").await;
    let (s2, b2) = app.kannel_mo(WORKER, "帮助", "same-id").await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert!(b1.starts_with("accepted"), "{b1}");
    assert!(b2.starts_with("duplicate"), "{b2}");
    assert_eq!(app.incoming().len(), 1);
    assert_eq!(app.outgoing().len(), 1);
    // a different id is a new message
    app.kannel_mo(WORKER, "帮助", "other-id").await;
    assert_eq!(app.incoming().len(), 2);
}

#[actix_web::test]
async fn ucs2_bytes_from_kannel_are_decoded() {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    let utf16: String = BO_HELP
        .encode_utf16()
        .flat_map(|u| u.to_be_bytes())
        .map(|b| format!("%{b:02X}"))
        .collect();
    let uri = format!(
        "/channels/kannel/receive?secret={SECRET}&from=13900000001&text={utf16}&coding=2&id=u1"
    );
    let (s, b) = app.get(&uri).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(app.incoming()[0].body, BO_HELP);
    // and the same through POST with a form body
    let body = form(&[
        ("from", "13900000005"),
        ("text", "帮助"),
        ("coding", "0"),
        ("charset", "UTF-8"),
        ("id", "p1"),
    ]);
    let (s, b) = app
        .request(
            "POST",
            &format!("/channels/kannel/receive?secret={SECRET}"),
            Some(("application/x-www-form-urlencoded", body.into_bytes())),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(app.contact("+8613900000005").unwrap().language, "zh");
}

#[actix_web::test]
async fn webhooks_without_the_secret_change_nothing() {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    let (s, b) = app
        .get("/channels/kannel/receive?from=13900000001&text=STOP&id=1")
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    let (s, _) = app
        .get("/channels/kannel/receive?secret=wrong&from=13900000001&text=STOP&id=1")
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .get("/channels/kannel/status?secret=wrong&msg=x&status=1")
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(app.messages().is_empty());
    assert!(app.contact(WORKER).is_none());
}

#[actix_web::test]
async fn malformed_webhooks_get_a_reason_and_store_nothing() {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    let cases = [
        (
            format!("/channels/kannel/receive?secret={SECRET}&from=hello&text=HELP"),
            StatusCode::BAD_REQUEST,
            "phone",
        ),
        (
            format!("/channels/kannel/receive?secret={SECRET}&text=HELP"),
            StatusCode::BAD_REQUEST,
            "from",
        ),
        (
            format!("/channels/kannel/receive?secret={SECRET}&from=13900000001"),
            StatusCode::BAD_REQUEST,
            "text",
        ),
        (
            format!(
                "/channels/kannel/receive?secret={SECRET}&from=13900000001&text=%FF&charset=UTF-8"
            ),
            StatusCode::BAD_REQUEST,
            "UTF-8",
        ),
        (
            format!("/channels/kannel/status?secret={SECRET}&msg=nope&status=1"),
            StatusCode::BAD_REQUEST,
            "nope",
        ),
        (
            format!("/channels/kannel/status?secret={SECRET}&msg=m&status=%25d"),
            StatusCode::BAD_REQUEST,
            "status",
        ),
        (
            "/channels/nosuch/receive?from=1&text=x".to_string(),
            StatusCode::NOT_FOUND,
            "nosuch",
        ),
    ];
    for (uri, want, word) in cases {
        let (s, b) = app.get(&uri).await;
        assert_eq!(s, want, "{uri}: {b}");
        assert!(b.contains("\"error\"") && b.contains(word), "{uri}: {b}");
    }
    assert!(app.messages().is_empty());
}

#[actix_web::test]
async fn the_default_log_channel_sends_but_takes_no_webhooks() {
    let app = TestApp::new();
    let (s, _) = app
        .get("/channels/log/receive?from=13900000001&text=HELP")
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(app.messages().is_empty());
}

#[actix_web::test]
async fn health_readiness_and_metrics() {
    let gw = FakeGateway::start();
    let app = TestApp::with_kannel(&gw.url, |c| {
        c.metrics_token = Some(hotline::secret::Secret::new("m-token"))
    });
    assert_eq!(app.get("/healthz").await, (StatusCode::OK, "ok".into()));
    assert_eq!(app.get("/readyz").await, (StatusCode::OK, "ready".into()));
    app.kannel_mo(WORKER, "帮助", "k-1").await;
    let (s, _) = app.get("/metrics").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let metrics = |app: &TestApp| {
        let web_state = app.web.clone();
        async move {
            let a = actix_web::test::init_service(
                actix_web::App::new()
                    .app_data(actix_web::web::Data::new(web_state))
                    .configure(hotline::web::configure),
            )
            .await;
            let req = actix_web::test::TestRequest::get()
                .uri("/metrics")
                .insert_header(("authorization", "Bearer m-token"))
                .to_request();
            let resp = actix_web::test::call_service(&a, req).await;
            assert_eq!(resp.status(), StatusCode::OK);
            String::from_utf8(actix_web::test::read_body(resp).await.to_vec()).unwrap()
        }
    };
    let text = metrics(&app).await;
    assert!(
        text.contains("hotline_messages{channel=\"kannel\",direction=\"in\",status=\"handled\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("hotline_outbox_depth{channel=\"kannel\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("hotline_cases_overdue 0") && text.contains("hotline_callbacks_waiting 0"),
        "{text}"
    );
    app.dispatch_all(10).await;
    let text = metrics(&app).await;
    assert!(
        text.contains("hotline_outbox_depth{channel=\"kannel\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("hotline_messages{channel=\"kannel\",direction=\"out\",status=\"sent\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("hotline_dispatch_latency_seconds_count{channel=\"kannel\"} 1"),
        "{text}"
    );
}

#[actix_web::test]
async fn a_log_channel_with_a_secret_takes_messages_for_trying_out() {
    let app = TestApp::with_config(|c| {
        let toml = format!("[[channels]]\nid = \"log\"\nkind = \"log\"\nsecret = \"{SECRET}\"\n");
        c.channels = hotline::config::Config::from_sources(Some(&toml), None, Vec::new())
            .unwrap()
            .channels;
    });
    let (s, b) = app
        .get(&format!(
            "/channels/log/receive?{}",
            form(&[
                ("secret", SECRET),
                ("from", "13900000001"),
                ("text", "帮助")
            ])
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _) = app
        .get("/channels/log/receive?secret=wrong-wrong-wrong-wrong&from=13900000001&text=x")
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    app.dispatch_all(10).await;
    let out = app.outgoing();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status, "sent");
    assert!(has_han(&out[0].body));
}

/// A NUL or another control character from a gateway, in the text, the ids or a delivery
/// report, is removed (README: "How a message travels") and the message stored and answered on
/// both backends; on PostgreSQL it was refused at every retry, and the SMS was lost.
#[actix_web::test]
async fn control_characters_from_a_gateway_are_removed_and_nothing_is_lost() {
    let gw = FakeGateway::start();
    let app = TestApp::with_kannel(&gw.url, |_| {});
    let (status, body) = app
        .kannel_mo("8613900000001", "help\u{0}\u{7}", "k\u{0}1")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let incoming = app.incoming();
    assert_eq!(incoming.len(), 1);
    assert_eq!(incoming[0].body, "help");
    assert_eq!(incoming[0].gateway_id.as_deref(), Some("k1"));
    assert_eq!(app.outgoing().len(), 1, "answered");
    // The gateway's retry of the same message is recognised.
    let (status, body) = app
        .kannel_mo("8613900000001", "help\u{0}\u{7}", "k\u{0}1")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("duplicate"), "{body}");
    // A delivery report whose id holds a NUL: its id, cleaned, is looked up; no 503.
    let out = app.outgoing()[0].id.clone();
    let with_nul = format!("{}%00", &out);
    let (status, body) = app
        .get(&format!(
            "/channels/kannel/status?secret={SECRET}&msg={with_nul}&status=8&answer=ok%00"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(&out), "{body}");
}

/// A text no phone could send (over 255 concatenated parts) is refused with a reason and not
/// stored; one of 255 parts is stored (issue 13, defect 5). Posted as a form: no URL is that
/// long.
#[actix_web::test]
async fn a_text_longer_than_any_sms_is_refused() {
    let gw = FakeGateway::start();
    let app = TestApp::with_kannel(&gw.url, |_| {});
    // As Kannel's post-url sends it: the text as the body, the rest in X-Kannel headers.
    let post = |text: String, id: &'static str| {
        let app = &app;
        async move {
            app.request_with(
                "POST",
                &format!("/channels/kannel/receive?secret={SECRET}"),
                &[
                    ("x-kannel-from", "8613900000001"),
                    ("x-kannel-to", "12333"),
                    ("x-kannel-id", id),
                ],
                Some(("text/plain; charset=utf-8", text.into_bytes())),
            )
            .await
        }
    };
    // 256 UCS-2 parts of 67 characters.
    let (status, body) = post("欠".repeat(67 * 256), "big-1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("255"), "{body}");
    assert!(app.messages().is_empty());
    let (status, body) = post("欠".repeat(67 * 255), "big-2").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.incoming().len(), 1);
}
