//! Every SMS a worker gets has a cost: replies are held to a segment budget, in Tibetan, in
//! Chinese and in both, with realistic long values (the longest county, a 6-digit amount, a
//! long employer name). A Tibetan SMS holds 67 UCS-2 units a part, so Tibetan texts are where
//! the budget bites. Budgets: 2 segments for a reply in one language, 3 in both; 1 for a
//! confirmation (STOP, START, a cancelled dialog) in Chinese, 2 in Tibetan.

use hotline::accounts::tokens::Role;
use hotline::db::models::{Language, Message};
use hotline::db::schema::{cases, contacts};
use serde_json::json;

use diesel::prelude::*;

use crate::support::app::TestApp;

const ZH: &str = "13900000031";
const BO: &str = "13900000032";
const STRANGER: &str = "13900000033";
const LONG_EMPLOYER_ZH: &str = "西藏自治区拉萨市某某建筑劳务有限责任公司";
const LONG_EMPLOYER_BO: &str = "ལྷ་ས་གྲོང་ཁྱེར་བཀྲ་ཤིས་བཟོ་སྐྲུན་ལས་ཁང་།";

fn budget(kind: &str, lang: Language) -> i32 {
    let confirmation = matches!(kind, "stopped" | "started" | "complaint_cancelled");
    match (lang, confirmation) {
        (Language::Both, _) => 3,
        (Language::Zh, true) => 1,
        _ => 2,
    }
}

#[actix_web::test]
async fn every_reply_to_a_worker_keeps_its_segment_budget() {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    let n = std::cell::Cell::new(0);
    let say = |from: &'static str, text: &'static str| {
        n.set(n.get() + 1);
        let id = format!("b{}", n.get());
        let app = &app;
        async move {
            app.kannel_mo(from, text, &id).await;
        }
    };
    // Chinese, Tibetan: the menu, a whole dialog with a wrong answer at every step and the
    // longest values, the filing, a status query, a cancelled dialog, a stalled one, the small
    // amount read back, STOP and START.
    for (from, start, employer, county, wrong, amount, months) in [
        (ZH, "欠薪", LONG_EMPLOYER_ZH, "8", "啊", "480000", "12"),
        (BO, "གླ་ཕོགས", LONG_EMPLOYER_BO, "༨", "ཀ", "༤༨༠༠༠༠", "༡༢"),
    ] {
        let help = if from == ZH {
            "帮助"
        } else {
            "རོགས་རམ"
        };
        say(from, help).await;
        say(from, start).await;
        say(from, wrong).await; // employer: too short
        say(from, employer).await;
        say(from, wrong).await;
        say(from, county).await;
        say(from, wrong).await;
        say(from, "25").await;
        say(from, wrong).await;
        say(from, "30").await; // under the floor: read back
        say(from, amount).await;
        say(from, wrong).await;
        say(from, months).await;
        say(from, wrong).await;
        say(from, "2").await;
        say(from, wrong).await; // confirm: not 1
        say(from, "1").await;
        say(from, "CX").await;
        say(from, start).await;
        say(from, "0").await; // cancelled
        say(from, start).await;
        for _ in 0..3 {
            say(from, wrong).await; // stalled: kept for a call back
        }
        say(from, "STOP").await;
        say(from, "START").await;
    }
    // Not known yet: the language question; a complaint in one message (a project code that
    // is not registered), a status query, STOP: in both.
    say(STRANGER, "hello").await;
    say(STRANGER, "QX P2026-999 25 480000").await;
    say(STRANGER, "CX").await;
    say(STRANGER, "STOP").await;
    say(STRANGER, "START").await;
    // Complaints in one message against two registered projects, from both workers: one case
    // is refused, the other transferred.
    crate::support::app::road_project(&mut app.conn(), "P2026-001");
    crate::support::app::road_project(&mut app.conn(), "P2026-002");
    for from in [ZH, BO] {
        say(from, "QX P2026-001 3 9000").await;
        say(from, "QX P2026-002 3 9000").await;
    }
    say(STRANGER, "0").await; // out of the dialog the unknown code started
    say(STRANGER, "QX P2026-002 25 480000").await;

    // Every state change tells the complainants, in their languages.
    let admin = app.token(Role::Admin, "budget-admin");
    let refs: Vec<(String, Option<String>)> = cases::table
        .select((cases::reference, cases::project_id))
        .load(&mut *app.conn())
        .unwrap();
    for (reference, project) in &refs {
        let steps: Vec<serde_json::Value> = match project.as_deref() {
            Some("p-P2026-001") => {
                vec![json!({"action": "refuse", "reason": "已超过两年投诉时效"})]
            }
            Some("p-P2026-002") => {
                vec![json!({"action": "transfer", "to": "拉萨市公安局城关分局"})]
            }
            _ => vec![
                json!({"action": "accept"}),
                json!({"action": "request_info", "reason": "请提供工地名称和包工头电话"}),
                json!({"action": "info_received"}),
                json!({"action": "investigate"}),
                json!({"action": "resolve", "recovered_yuan": 480000}),
                json!({"action": "close"}),
            ],
        };
        for body in steps {
            let (status, answer) = app
                .api(
                    "POST",
                    &format!("/api/v1/cases/{reference}/actions"),
                    &admin,
                    Some(body.clone()),
                )
                .await;
            assert!(status.is_success(), "{body} on {reference}: {answer}");
        }
    }

    let contacts: Vec<(String, Language)> = contacts::table
        .select((contacts::phone, contacts::language))
        .load(&mut *app.conn())
        .unwrap();
    let out: Vec<Message> = app.outgoing();
    assert!(out.len() > 60, "{} replies", out.len());
    let mut over = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    for m in &out {
        let lang = contacts
            .iter()
            .find(|(p, _)| *p == m.phone)
            .map(|(_, l)| *l)
            .unwrap();
        let kind = m.kind.clone().unwrap_or_default();
        kinds.insert(format!("{kind}/{lang}"));
        let limit = budget(&kind, lang);
        if m.segments > limit {
            over.push(format!(
                "{kind} ({lang}): {} segments (budget {limit}), {} UTF-16 units: {}",
                m.segments,
                m.body.encode_utf16().count(),
                m.body
            ));
        }
    }
    assert!(over.is_empty(), "over budget:\n{}", over.join("\n"));
    // The walk reached the texts it is meant to cover.
    for k in [
        "help/zh",
        "help/bo",
        "language_pick/both",
        "complaint_ask_county/zh",
        "complaint_ask_county/bo",
        "complaint_confirm/bo",
        "complaint_confirm_amount/bo",
        "complaint_filed/bo",
        "complaint_callback/bo",
        "complaint_callback/zh",
        "complaint_filed/zh",
        "complaint_filed/both",
        "complaint_cancelled/bo",
        "case_notice/bo",
        "case_info_needed/bo",
        "stopped/zh",
        "stopped/bo",
        "stopped/both",
        "started/bo",
    ] {
        assert!(kinds.contains(k), "no {k} among {kinds:?}");
    }
}
