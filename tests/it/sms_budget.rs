//! Every SMS a worker gets has a cost: replies are held to a segment budget, in Tibetan, in
//! Chinese and in both, with realistic long values (the longest county, a 6-digit amount, a
//! long employer name). A Tibetan SMS holds 67 UCS-2 units a part, so Tibetan texts are where
//! the budget bites. Budgets: 2 segments for a reply in one language, 3 in both; 1 for a
//! confirmation (STOP, START, a cancelled dialog, an answer to "may we share your number") in
//! Chinese, 2 in Tibetan. Job alerts: the list of the newest notices may take 3 in one
//! language (three notices); interest in a notice (the broker's phone, the safety advice and
//! the share question) 2 in Chinese, 3 in Tibetan. A worker who reads both gets a long text
//! as one SMS per language when the two together pass 3.

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

/// An approved notice with a long title and Tibetan text, open in every county and trade of
/// the budget walk.
fn long_notice(app: &TestApp, code: &str, county: i64) {
    use hotline::db::schema::notices;
    let t = hotline::db::now();
    let today = app.state.config.today();
    diesel::insert_into(notices::table)
        .values((
            notices::id.eq(format!("n-{code}")),
            notices::code.eq(code),
            notices::agency.eq("拉萨劳务公司"),
            notices::created_by.eq("broker1"),
            notices::status.eq("approved"),
            notices::title.eq("堆龙德庆区商贸物流园区钢筋工木工瓦工若干名"),
            notices::employer.eq(LONG_EMPLOYER_ZH),
            notices::county.eq(if county == 2 { None } else { Some("堆龙德庆区") }),
            notices::place_outside.eq(if county == 2 { Some("四川省成都市") } else { None }),
            notices::trade.eq("construction"),
            notices::workers_wanted.eq(20),
            notices::wage_fen.eq(1_234_550_i64),
            notices::wage_unit.eq("month"),
            notices::pay_terms.eq("月结"),
            notices::start_on.eq(today),
            notices::duration.eq("6个月"),
            notices::board_lodging.eq("both"),
            notices::contact_phone.eq("+8613800000001"),
            notices::valid_until.eq(today),
            notices::text_zh.eq("招工"),
            notices::text_bo.eq(Some("【ལས་མིའི་ཁེ་དབང་ཁ་པར】སྟོད་ལུང་བདེ་ཆེན་ཆུས་ཀྱི་ཚོང་ལས་དངོས་སྐྱེལ་ལྟེ་གནས་སུ་ལྕགས་བཟོ་བ་དགོས། ཟླ་རེར་སྒོར་༡༢༠༠༠")),
            notices::targeting.eq("{}"),
            notices::created_at.eq(t),
            notices::updated_at.eq(t),
        ))
        .execute(&mut *app.conn())
        .unwrap();
}

fn budget(kind: &str, lang: Language) -> i32 {
    let confirmation = matches!(
        kind,
        "stopped"
            | "started"
            | "complaint_cancelled"
            | "jobs_cancelled"
            | "share_yes"
            | "share_no"
            | "share_unanswered"
    );
    match (kind, lang) {
        ("jobs_list", _) => return 3,
        ("interest", Language::Bo | Language::Both) => return 3,
        _ => {}
    }
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

    // Job alerts: the subscription dialog with a wrong answer at every step and the longest
    // choices (the longest county, eight trades), the list of notices with long titles, none
    // found, interest with its share question (a wrong answer, yes, no, no answer), an unknown
    // code.
    for (i, (from, keyword, wrong, place, trades, lang)) in [
        (ZH, "工作", "啊", "2", "1 2 3 4 5 6 7 8", "2"),
        (BO, "ལས་ཀ", "ཀ", "༢", "༡ ༢ ༣ ༤ ༥ ༦ ༧ ༨", "༡"),
        (STRANGER, "JOB", "x", "9", "0", "3"),
    ]
    .into_iter()
    .enumerate()
    {
        say(from, keyword).await;
        if from == STRANGER {
            say(from, "2").await; // the language question first
        }
        say(from, wrong).await;
        say(from, place).await;
        say(from, wrong).await;
        say(from, trades).await;
        say(from, wrong).await;
        say(from, lang).await;
        say(from, wrong).await;
        say(from, "1").await;
        say(from, keyword).await; // nothing open yet
        let code = format!("{}", 7000 + i);
        long_notice(&app, &code, i as i64);
        for k in 1..3 {
            long_notice(&app, &format!("{}{k}", 8000 + i), i as i64);
        }
        say(from, keyword).await; // the list
        let yx: &'static str = Box::leak(format!("YX {code}").into_boxed_str());
        say(from, yx).await;
        say(from, wrong).await;
        say(from, "1").await;
        say(from, yx).await;
        say(from, "2").await;
        say(from, yx).await;
        for _ in 0..3 {
            say(from, wrong).await;
        }
        say(from, "YX 99999").await;
        say(from, "改").await;
        say(from, "0").await;
        say(from, "0").await;
        say(from, "取消").await;
    }

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
    let kinds = within_budget(&out, &contacts, &|kind, lang| budget(kind, lang));
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
        "jobs_start/zh",
        "jobs_invalid/bo",
        "jobs_ask_trades/bo",
        "jobs_ask_language/bo",
        "jobs_confirm/bo",
        "jobs_confirm/zh",
        "jobs_subscribed/bo",
        "jobs_subscribed/both",
        "jobs_none/zh",
        "jobs_list/zh",
        "jobs_list/bo",
        "jobs_list/both",
        "interest/zh",
        "interest/bo",
        "interest/both",
        "share_ask/bo",
        "share_yes/bo",
        "share_no/zh",
        "share_unanswered/bo",
        "interest_closed/bo",
        "jobs_cancelled/bo",
    ] {
        assert!(kinds.contains(k), "no {k} among {kinds:?}");
    }
}

/// Follow-ups: the first question with who asks and the promise of confidentiality, and the
/// reminder, in 2 segments in one language (3 in both); every later question, the example
/// after an unreadable answer and the thanks in 1 in Chinese, 2 in Tibetan.
#[actix_web::test]
async fn every_follow_up_keeps_its_segment_budget() {
    use crate::followups::{at, place, speaks};
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    let s = &app.state;
    // The longest names: a project with a long Chinese and Tibetan name.
    let t = hotline::db::now();
    diesel::insert_into(hotline::db::schema::projects::table)
        .values(hotline::db::models::NewProject {
            id: "p-long",
            code: "P2026-777",
            name_zh: LONG_EMPLOYER_ZH,
            name_bo: Some(LONG_EMPLOYER_BO),
            county: "堆龙德庆区",
            department: "住建",
            owner: None,
            contractor: None,
            government_invested: true,
            created_at: t,
            updated_at: t,
        })
        .execute(&mut *app.conn())
        .unwrap();
    let (zh, bo, both) = ("+8613900000041", "+8613900000042", "+8613900000043");
    speaks(s, zh, "zh");
    speaks(s, bo, "bo");
    let start = s.config.today();
    for p in [zh, bo, both] {
        place(
            s,
            p,
            "",
            Some("P2026-777"),
            Some("拉萨诺布劳务有限公司"),
            None,
            start,
        );
    }
    at(s, start, 31);
    // The reminder, two days and an hour later.
    s.time.set(
        (start + chrono::Duration::days(33))
            .and_hms_opt(5, 0, 0)
            .unwrap(),
    );
    crate::followups::tick(s);
    let n = std::cell::Cell::new(0);
    for (from, wrong, answers) in [
        (zh, "啊", ["1", "3", "12", "4", "2"]),
        (bo, "ཀ", ["༡", "༣", "༡༢", "༤", "༡"]),
        (both, "x", ["1", "2", "3", "1", "2"]),
    ] {
        for text in std::iter::once(wrong).chain(answers) {
            n.set(n.get() + 1);
            app.kannel_mo(from, text, &format!("f{}", n.get())).await;
        }
    }
    // A trainee looking for work, offered alerts.
    {
        let mut c = app.conn();
        hotline::db::transaction(&mut c, |c| {
            hotline::followups::placements::record_training(
                c,
                &s.config.followups,
                s.config.utc_offset_secs(),
                &hotline::followups::placements::TrainingInput {
                    course: "藏式家具制作培训班".into(),
                    provider: "拉萨市职业技能培训中心".into(),
                    trade: Some("handicraft".into()),
                    end_on: start,
                    phones: vec!["+8613900000044".into()],
                },
                "cli",
                s.time.now(),
            )
        })
        .unwrap();
    }
    speaks(s, "+8613900000044", "bo");
    at(s, start, 40);
    app.kannel_mo("+8613900000044", "༣", "t1").await;
    app.kannel_mo("+8613900000044", "༡", "t2").await;

    let langs: Vec<(String, Language)> = contacts::table
        .select((contacts::phone, contacts::language))
        .load(&mut *app.conn())
        .unwrap();
    let kinds = within_budget(&app.outgoing(), &langs, &|kind: &str, lang| {
        let first = kind.starts_with("followup_placement")
            || kind.starts_with("followup_training")
            || kind == "followup_reminder"
            || kind.starts_with("complaint_");
        match (lang, first) {
            (Language::Both, _) => 3,
            (_, true) => 2,
            (Language::Zh, false) => 1,
            (Language::Bo, false) => 2,
        }
    });
    for k in [
        "followup_placement/zh",
        "followup_placement/bo",
        "followup_placement/both",
        "followup_reminder/bo",
        "followup_again/bo",
        "followup_q_paid/bo",
        "followup_q_months/bo",
        "followup_q_amount/bo",
        "followup_q_file/bo",
        "followup_q_file/zh",
        "followup_thanks_unpaid/zh",
        "followup_thanks_unpaid/both",
        "complaint_confirm/bo",
        "followup_training/bo",
        "followup_q_alerts/bo",
        "followup_thanks/bo",
    ] {
        assert!(kinds.contains(k), "no {k} among {kinds:?}");
    }
}

/// Checks every message against `budget(kind, language)` (failing with each one over it) and
/// returns the `kind/language` pairs seen.
fn within_budget(
    out: &[Message],
    langs: &[(String, Language)],
    budget: &dyn Fn(&str, Language) -> i32,
) -> std::collections::BTreeSet<String> {
    let mut over = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    for m in out {
        let lang = langs
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
    kinds
}
