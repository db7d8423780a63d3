//! Job notices from the broker's draft to queued and sent alerts: the checks an officer
//! sees, who a notice reaches and who it never reaches, the send window, cancelling, and
//! the results.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use hotline::alerts::notices::{self, Check, NoticeInput, Targeting};
use hotline::alerts::send;
use hotline::db::models::{Message, MessageStatus};
use hotline::db::schema::{contacts, messages, workers};

use crate::support::app::TestApp;

/// A worker on the register: phone, language, home county, trades, consent.
pub fn worker(
    conn: &mut hotline::db::DbConn,
    phone: &str,
    lang: &str,
    county: &str,
    trades: &str,
    consent: bool,
) -> String {
    let id = hotline::db::new_id();
    let t = hotline::db::now();
    diesel::insert_into(contacts::table)
        .values((
            contacts::id.eq(&id),
            contacts::phone.eq(phone),
            contacts::language.eq(lang),
            contacts::language_chosen.eq(true),
            contacts::opted_out.eq(false),
            contacts::created_at.eq(t),
            contacts::updated_at.eq(t),
        ))
        .execute(conn)
        .unwrap();
    diesel::insert_into(workers::table)
        .values((
            workers::contact_id.eq(&id),
            workers::county.eq(county),
            workers::trades.eq(trades),
            workers::employment.eq("seeking"),
            workers::alerts_consent.eq(consent),
            workers::consent_at.eq(consent.then_some(t)),
            workers::consent_source.eq(consent.then_some("test")),
            workers::created_at.eq(t),
            workers::updated_at.eq(t),
        ))
        .execute(conn)
        .unwrap();
    id
}

pub fn input(today: NaiveDate) -> NoticeInput {
    NoticeInput {
        title: "拉萨工地招钢筋工".into(),
        employer: "拉萨市城关区安居建筑公司".into(),
        county: "城关区".into(),
        trade: "construction".into(),
        workers_wanted: "20".into(),
        wage: "260".into(),
        wage_unit: "day".into(),
        pay_terms: "月结，每月10日前发".into(),
        start_on: (today + Duration::days(7)).to_string(),
        duration: "3个月".into(),
        board_lodging: "both".into(),
        contact_phone: "13908910001".into(),
        project_code: String::new(),
        valid_until: (today + Duration::days(14)).to_string(),
        text_zh: String::new(),
        text_bo: "ལྷ་སར་ལས་མི་༢༠དགོས། ཉིན་གླ་སྒོར་༢༦༠། ཁ་པར་13908910001".into(),
        place_outside: String::new(),
    }
}

fn env(app: &TestApp) -> notices::Env<'_> {
    notices::Env::of(&app.state)
}

/// A submitted notice from `input`.
pub fn submitted(app: &TestApp, input: &NoticeInput) -> notices::Notice {
    let v = notices::validate(&env(app), input).unwrap_or_else(|e| panic!("{e:?}"));
    let mut c = app.conn();
    let n = notices::create(&mut c, &v, "安居劳务", "user:broker").unwrap();
    notices::submit(&mut c, &n.id, "user:broker").unwrap()
}

/// A notice from `input`, submitted and approved for everyone it matches.
pub fn approved(app: &TestApp, input: &NoticeInput) -> notices::Notice {
    let n = submitted(app, input);
    notices::approve(
        &mut app.conn(),
        &n.id,
        &Targeting::default(),
        None,
        "user:o",
    )
    .unwrap()
}

fn alerts_of(app: &TestApp, notice_id: &str) -> Vec<Message> {
    messages::table
        .filter(messages::notice_id.eq(notice_id))
        .select(Message::as_select())
        .load(&mut *app.conn())
        .unwrap()
}

fn open_all_day(c: &mut hotline::config::Config) {
    c.alerts.send_window = "00:00-24:00".into();
}

#[actix_web::test]
async fn an_approved_notice_reaches_each_matching_worker_once_in_their_language() {
    let app = TestApp::with_config(open_all_day);
    let today = app.state.config.today();
    let (zh, bo, both, other_trade, no_consent, opted_out, no_trades, elsewhere) = {
        let mut c = app.conn();
        (
            worker(
                &mut c,
                "+8613900000101",
                "zh",
                "城关区",
                ",construction,",
                true,
            ),
            worker(
                &mut c,
                "+8613900000102",
                "bo",
                "城关区",
                ",construction,transport,",
                true,
            ),
            worker(
                &mut c,
                "+8613900000103",
                "both",
                "达孜区",
                ",construction,",
                true,
            ),
            worker(&mut c, "+8613900000104", "zh", "城关区", ",catering,", true),
            worker(
                &mut c,
                "+8613900000105",
                "zh",
                "城关区",
                ",construction,",
                false,
            ),
            worker(
                &mut c,
                "+8613900000106",
                "zh",
                "城关区",
                ",construction,",
                true,
            ),
            worker(&mut c, "+8613900000107", "zh", "城关区", ",", true),
            worker(
                &mut c,
                "+8613900000108",
                "zh",
                "城关区",
                ",construction,",
                true,
            ),
        )
    };
    {
        let mut c = app.conn();
        diesel::update(contacts::table.find(&opted_out))
            .set(contacts::opted_out.eq(true))
            .execute(&mut c)
            .unwrap();
        // Wants alerts from 当雄县 only; this job is in 城关区.
        diesel::update(workers::table.find(&elsewhere))
            .set(workers::alert_county.eq("当雄县"))
            .execute(&mut c)
            .unwrap();
    }
    let n = submitted(&app, &input(today));
    assert!(n.text_zh.contains("日薪260元"), "drafted: {}", n.text_zh);

    let p = send::preview(&mut app.conn(), &app.state, &n).unwrap();
    assert_eq!(p.recipients_total, 4, "{p:?}");
    assert_eq!(p.recipients.get("bo"), Some(&1));
    assert_eq!(p.recipients.get("both"), Some(&1));
    assert_eq!(p.recipients.get("zh"), Some(&2));
    assert_eq!(p.excluded.get("opted_out"), Some(&1));
    assert!(p.segments_total >= 4 && p.cost_yuan > 0.0, "{p:?}");

    notices::approve(
        &mut app.conn(),
        &n.id,
        &Targeting::default(),
        None,
        "user:officer",
    )
    .unwrap();
    send::queue_pending(app.state.clone()).await;
    send::queue_pending(app.state.clone()).await;
    let alerts = alerts_of(&app, &n.id);
    let to: Vec<&str> = alerts.iter().map(|m| m.contact_id.as_str()).collect();
    assert_eq!(alerts.len(), 4, "each once: {to:?}");
    for id in [&zh, &bo, &both, &no_trades] {
        assert!(to.contains(&id.as_str()));
    }
    for id in [&other_trade, &no_consent, &opted_out, &elsewhere] {
        assert!(!to.contains(&id.as_str()));
    }
    let body = |id: &str| {
        alerts
            .iter()
            .find(|m| m.contact_id.as_str() == id)
            .unwrap()
            .body
            .clone()
    };
    let zh_body = body(&zh);
    assert!(zh_body.starts_with("【劳动保障热线】"), "{zh_body}");
    assert!(
        zh_body.contains("回T退订") && zh_body.contains(&format!("YX{}", n.code)),
        "{zh_body}"
    );
    let bo_body = body(&bo);
    assert!(
        bo_body.contains("ལྷ་སར་") && !bo_body.contains("日薪"),
        "{bo_body}"
    );
    assert!(
        bo_body.contains("མཚམས་འཇོག"),
        "the Tibetan opt-out line: {bo_body}"
    );
    for m in &alerts {
        assert!(m.segments <= 4, "{} segments: {}", m.segments, m.body);
        assert_eq!(m.kind.as_deref(), Some("job_alert"));
    }

    // Opted out after queuing: checked again when sending.
    diesel::update(contacts::table.find(&zh))
        .set(contacts::opted_out.eq(true))
        .execute(&mut *app.conn())
        .unwrap();
    app.dispatch_all(10).await;
    let status = |id: &str| {
        alerts_of(&app, &n.id)
            .into_iter()
            .find(|m| m.contact_id.as_str() == id)
            .unwrap()
            .status
    };
    assert_eq!(status(&zh), MessageStatus::Cancelled);
    assert_eq!(status(&bo), MessageStatus::Sent);

    let r = send::results(&mut app.conn(), 0.05, &n.id).unwrap();
    assert_eq!(r.total.recipients, 4);
    assert_eq!(r.total.sent, 3);
    assert_eq!(r.total.cancelled, 1);
    assert_eq!(r.by_language.get("bo").map(|t| t.sent), Some(1));
    assert_eq!(r.by_county.get("达孜区").map(|t| t.sent), Some(1));
    assert!(r.total.segments > 0 && r.total.cost_yuan > 0.0);

    // Approved again (a second notice): the weekly cap and "already reached" are counted.
    let p = send::preview(&mut app.conn(), &app.state, &n).unwrap();
    assert_eq!(p.excluded.get("reached"), Some(&3), "{p:?}");
}

#[actix_web::test]
async fn the_weekly_cap_and_a_missing_tibetan_text_leave_workers_out() {
    let app = TestApp::with_config(|c| {
        open_all_day(c);
        c.alerts.max_per_week = 2;
    });
    let today = app.state.config.today();
    let (capped, bo) = {
        let mut c = app.conn();
        (
            worker(
                &mut c,
                "+8613900000201",
                "zh",
                "城关区",
                ",construction,",
                true,
            ),
            worker(
                &mut c,
                "+8613900000202",
                "bo",
                "城关区",
                ",construction,",
                true,
            ),
        )
    };
    for _ in 0..2 {
        approved(&app, &input(today));
    }
    send::queue_pending(app.state.clone()).await;
    let mut no_bo = input(today);
    no_bo.text_bo = String::new();
    let third = submitted(&app, &no_bo);
    let p = send::preview(&mut app.conn(), &app.state, &third).unwrap();
    // Each left out once, for the first reason: the Tibetan reader has no text to read.
    assert_eq!(p.excluded.get("over_cap"), Some(&1), "{p:?}");
    assert_eq!(p.excluded.get("no_text"), Some(&1), "{p:?}");
    assert_eq!(p.recipients_total, 0);
    let _ = (capped, bo);
    notices::approve(
        &mut app.conn(),
        &third.id,
        &Targeting::default(),
        None,
        "user:o",
    )
    .unwrap();
    send::queue_pending(app.state.clone()).await;
    assert!(alerts_of(&app, &third.id).is_empty());
}

#[actix_web::test]
async fn outside_the_send_window_alerts_wait_and_a_cancel_stops_them() {
    // A window that is closed now (bureau time): it opens in two hours.
    let now = chrono::Utc::now().naive_utc() + Duration::hours(8);
    let start = now + Duration::hours(2);
    let end = now + Duration::hours(3);
    let window = if start.date() == end.date() {
        format!("{}-{}", start.format("%H:00"), end.format("%H:00"))
    } else {
        // Near midnight: a window in the early hours, closed now.
        "03:00-04:00".to_string()
    };
    let app = TestApp::with_config(|c| c.alerts.send_window = window.clone());
    let today = app.state.config.today();
    worker(
        &mut app.conn(),
        "+8613900000301",
        "zh",
        "城关区",
        ",construction,",
        true,
    );
    let n = approved(&app, &input(today));
    send::queue_pending(app.state.clone()).await;
    let queued = alerts_of(&app, &n.id);
    assert_eq!(queued.len(), 1);
    assert!(
        queued[0].next_attempt_at > chrono::Utc::now().naive_utc(),
        "waits for the window: {}",
        queued[0].next_attempt_at
    );
    app.dispatch_all(1).await;
    assert_eq!(alerts_of(&app, &n.id)[0].status, MessageStatus::Queued);

    let (_, stopped) = notices::cancel(&mut app.conn(), &n.id, "user:o").unwrap();
    assert_eq!(stopped, 1);
    assert_eq!(alerts_of(&app, &n.id)[0].status, MessageStatus::Cancelled);
    let r = send::results(&mut app.conn(), 0.05, &n.id).unwrap();
    assert_eq!(r.total.cancelled, 1);
}

#[actix_web::test]
async fn the_officer_sees_wage_fee_project_and_open_case_checks() {
    let app = TestApp::new();
    let today = app.state.config.today();
    let mut bad = input(today);
    bad.wage = "80".into();
    bad.pay_terms = "需交押金500元，月结".into();
    let n = submitted(&app, &bad);
    let found = notices::checks(&mut app.conn(), &app.state.config.alerts, &n).unwrap();
    assert!(
        found
            .iter()
            .any(|c| matches!(c, Check::BelowMinimumWage { minimum, .. } if minimum == "97")),
        "{found:?}"
    );
    assert!(
        found.iter().any(
            |c| matches!(c, Check::Fee { word, field } if word == "押金" && field == "pay_terms")
        ),
        "{found:?}"
    );
    assert!(found.contains(&Check::NoProject), "{found:?}");

    let mut unknown = input(today);
    unknown.project_code = "NOPE-1".into();
    let n = submitted(&app, &unknown);
    let found = notices::checks(&mut app.conn(), &app.state.config.alerts, &n).unwrap();
    assert!(
        found.contains(&Check::UnknownProject {
            code: "NOPE-1".into()
        }),
        "{found:?}"
    );

    let mut fine = input(today);
    fine.trade = "catering".into();
    let n = submitted(&app, &fine);
    assert!(
        notices::checks(&mut app.conn(), &app.state.config.alerts, &n)
            .unwrap()
            .is_empty()
    );
}

#[actix_web::test]
async fn a_bad_notice_says_which_field_and_saves_nothing() {
    let app = TestApp::new();
    let today = app.state.config.today();
    let mut bad = input(today);
    bad.wage = "两百".into();
    bad.county = "成都".into();
    bad.valid_until = "2020-01-01".into();
    bad.contact_phone = "12".into();
    let errors = notices::validate(&env(&app), &bad).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["county", "wage", "contact_phone", "valid_until"],
        "{errors:?}"
    );
    let mut long = input(today);
    long.text_zh = "很长的文字".repeat(60);
    let errors = notices::validate(&env(&app), &long).unwrap_err();
    assert_eq!(errors[0].code, "too_many_segments", "{errors:?}");
}
