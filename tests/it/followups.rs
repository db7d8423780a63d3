//! Follow-ups over months of schedule in seconds (the service's time is moved forward): what
//! is asked when, the answers by SMS through the real receive route, the early warning of
//! arrears, subsidies, reminders, silencing, the send window, and schedule edits.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use hotline::cases::rules::PriorityFacts;
use hotline::db::models::{Case, CaseSource, Message};
use hotline::db::schema::{cases, complaints, contacts, followups, messages, placements as pl_t};
use hotline::followups::placements::{self, PlacementInput, Rules};
use hotline::followups::run::{self, Ran};
use hotline::followups::{subsidies, PlacementSource, StepConfig, SubsidyKind};
use hotline::AppState;

use crate::support::app::{road_project, TestApp};

pub const ZH_A: &str = "+8613900000701";
pub const BO_B: &str = "+8613900000702";
pub const BO_C: &str = "+8613900000703";
pub const ZH_D: &str = "+8613900000704";

pub fn app() -> TestApp {
    TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {})
}

/// Sets the worker's language, as if they had chosen it by SMS.
pub fn speaks(state: &AppState, phone: &str, lang: &str) {
    let mut c = state.db.get().unwrap();
    hotline::conversations::inbound::choose_language(&mut c, phone, lang).unwrap();
}

/// Records a placement through the same checks as the console and the API.
pub fn place(
    state: &AppState,
    phone: &str,
    employer: &str,
    project_code: Option<&str>,
    agency: Option<&str>,
    outside: Option<&str>,
    start_on: NaiveDate,
) -> String {
    record(
        state,
        PlacementInput {
            phone: phone.into(),
            employer: employer.into(),
            project_code: project_code.map(String::from),
            agency: agency.map(String::from),
            county: outside.is_none().then(|| "城关区".to_string()),
            place_outside: outside.map(String::from),
            trade: Some("construction".into()),
            start_on: start_on.to_string(),
            ..PlacementInput::default()
        },
    )
}

/// Records any placement through the same checks as the console and the API, at the
/// service's now; its id.
pub fn record(state: &AppState, input: PlacementInput) -> String {
    let mut c = state.db.get().unwrap();
    let cfg = &state.config;
    let rules = Rules {
        counties: &cfg.counties,
        trades: &cfg.alerts.trades,
        country_code: &cfg.default_country_code,
        today: cfg.today(),
    };
    let valid = placements::check(&mut c, &rules, &input).unwrap().unwrap();
    let r = hotline::db::transaction(&mut c, |c| {
        placements::record(
            c,
            &cfg.followups,
            cfg.utc_offset_secs(),
            &valid,
            PlacementSource::Console,
            "officer:yangjin",
            state.time.now(),
        )
    })
    .unwrap();
    r.placement.id
}

/// One run of the follow-ups at the service's now.
pub fn tick(state: &AppState) -> Ran {
    let mut c = state.db.get().unwrap();
    run::run(&mut c, state, state.time.now()).unwrap()
}

/// Moves the service's time to `days` after `from` (at noon in Lhasa) and runs.
pub fn at(state: &AppState, from: NaiveDate, days: i64) -> Ran {
    let day = from + Duration::days(days);
    state.time.set(day.and_hms_opt(4, 0, 0).unwrap());
    tick(state)
}

/// The messages sent to `phone`, oldest first.
pub fn to(app: &TestApp, phone: &str) -> Vec<Message> {
    messages::table
        .filter(messages::phone.eq(phone))
        .filter(messages::direction.eq("out"))
        .order(messages::created_at)
        .select(Message::as_select())
        .load(&mut *app.conn())
        .unwrap()
}

fn last_to(app: &TestApp, phone: &str) -> String {
    to(app, phone)
        .last()
        .map(|m| m.body.clone())
        .unwrap_or_default()
}

pub async fn says(app: &TestApp, phone: &str, text: &str) -> String {
    let id = hotline::db::new_id();
    let (status, _) = app.kannel_mo(phone, text, &id).await;
    assert!(status.is_success(), "{phone}: {text}: {status}");
    last_to(app, phone)
}

fn claims_of(app: &TestApp, placement: &str) -> Vec<SubsidyKind> {
    let today = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    subsidies::list(
        &mut app.conn(),
        None,
        today,
        today + Duration::days(365 * 100),
    )
    .unwrap()
    .into_iter()
    .filter(|l| l.claim.placement_id == placement)
    .map(|l| l.claim.kind)
    .collect()
}

#[actix_web::test]
async fn a_placement_is_followed_up_at_one_three_and_six_months_and_earns_its_subsidies() {
    let app = app();
    let s = &app.state;
    speaks(s, ZH_D, "zh");
    let start = s.config.today();
    let p = place(
        s,
        ZH_D,
        "日喀则鑫源劳务工地",
        None,
        Some("拉萨诺布劳务有限公司"),
        Some("江苏省苏州市"),
        start,
    );
    // Nothing before a month has passed.
    assert_eq!(at(s, start, 20).asked, 0);
    assert!(to(&app, ZH_D).is_empty());
    // One month: who asks, that answers stay confidential, the first question.
    assert_eq!(at(s, start, 31).asked, 1);
    let first = last_to(&app, ZH_D);
    assert!(first.contains("回访") && first.contains("保密"), "{first}");
    assert!(
        first.contains("日喀则鑫源劳务工地") && first.contains("1在"),
        "{first}"
    );
    // A second run asks nothing again.
    assert_eq!(tick(s).asked, 0);
    assert_eq!(to(&app, ZH_D).len(), 1);
    let paid = says(&app, ZH_D, "1").await;
    assert!(paid.contains("工资"), "{paid}");
    let thanks = says(&app, ZH_D, "1").await;
    assert!(thanks.contains("谢谢"), "{thanks}");
    assert!(claims_of(&app, &p).is_empty(), "no subsidy before 6 months");
    // Three months, then six: both answered in one message each.
    assert_eq!(at(s, start, 92).asked, 1);
    says(&app, ZH_D, "1 1").await;
    assert_eq!(at(s, start, 184).asked, 1);
    let done = says(&app, ZH_D, "11").await;
    assert!(done.contains("谢谢"), "{done}");
    let mut kinds = claims_of(&app, &p);
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            SubsidyKind::JobSeeking,
            SubsidyKind::Placement,
            SubsidyKind::Travel
        ]
    );
    // The evidence: three follow-ups, each answered "still working", "paid".
    let listed = subsidies::list(
        &mut app.conn(),
        Some(SubsidyKind::Placement),
        start,
        start + Duration::days(400),
    )
    .unwrap();
    assert_eq!(listed.len(), 1);
    let ev = &listed[0].evidence;
    assert_eq!(ev.len(), 3);
    assert!(ev.iter().all(|e| e.working == Some(1) && e.paid == Some(1)));
    // Nothing more is ever asked of this placement.
    assert_eq!(at(s, start, 400), Ran::default());
}

#[actix_web::test]
async fn three_workers_not_paid_open_an_early_warning_case_and_one_files() {
    let app = app();
    let s = &app.state;
    road_project(&mut app.conn(), "LS-2026-001");
    speaks(s, ZH_A, "zh");
    speaks(s, BO_B, "bo");
    speaks(s, BO_C, "bo");
    let start = s.config.today();
    for phone in [ZH_A, BO_B, BO_C] {
        place(
            s,
            phone,
            "",
            Some("LS-2026-001"),
            Some("拉萨诺布劳务有限公司"),
            None,
            start,
        );
    }
    assert_eq!(at(s, start, 31).asked, 3);
    let bo = last_to(&app, BO_B);
    assert!(
        bo.contains("ལྷ་སའི་བྱང་ངོས་ལམ"),
        "the project's Tibetan name: {bo}"
    );
    // A: Chinese, one answer a message.
    says(&app, ZH_A, "1").await;
    let months_q = says(&app, ZH_A, "3").await;
    assert!(months_q.contains("几个月"), "{months_q}");
    // B: Tibetan digits; C: two answers in one message.
    says(&app, BO_B, "༡").await;
    says(&app, BO_B, "༣").await;
    let case: Option<Case> = cases::table
        .select(Case::as_select())
        .first(&mut *app.conn())
        .optional()
        .unwrap();
    assert!(case.is_none(), "two workers are not yet a warning");
    says(&app, BO_C, "༡ ༢").await;
    let case: Case = cases::table
        .select(Case::as_select())
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(case.source, CaseSource::EarlyWarning);
    assert_eq!(case.workers, 3);
    let complainants: i64 = complaints::table
        .filter(complaints::case_id.eq(&case.id))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(complainants, 0, "nobody complained yet");
    // Government-invested: the usual rules put it at 2 (a private employer's would be 4).
    let rules = &s.config.cases;
    assert_eq!(
        case.priority,
        rules.priority(&PriorityFacts {
            government_invested: true,
            workers: 3,
            amount_yuan: 0,
            months: 0,
        })
    );
    assert_eq!(case.priority, 2);
    // A goes on: two months, 1,000–5,000 yuan, and yes, file now: the complaint is already
    // filled in from the placement; they only confirm.
    says(&app, ZH_A, "2").await;
    let file_q = says(&app, ZH_A, "2").await;
    assert!(file_q.contains("投诉"), "{file_q}");
    let confirm = says(&app, ZH_A, "1").await;
    assert!(
        confirm.contains("拉萨北环路改造工程")
            && confirm.contains("3000")
            && confirm.contains("回复1提交"),
        "{confirm}"
    );
    let filed = says(&app, ZH_A, "1").await;
    assert!(
        filed.contains(&case.reference),
        "joins the warning's case: {filed}"
    );
    let who: Vec<String> = complaints::table
        .inner_join(contacts::table)
        .filter(complaints::case_id.eq(&case.id))
        .select(contacts::phone)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(who, vec![ZH_A.to_string()]);
    // B answers the rest later and says no to filing: the signal's figures join the case.
    says(&app, BO_B, "༣").await;
    says(&app, BO_B, "༤").await;
    let thanks = says(&app, BO_B, "༢").await;
    assert!(thanks.contains("12333"), "{thanks}");
    let case: Case = cases::table
        .find(&case.id)
        .select(Case::as_select())
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(case.workers, 3);
    assert_eq!(
        case.amount_yuan,
        3_000 + 20_000,
        "A's complaint and B's bracket"
    );
    // The 3-month follow-ups of these placements fall silent: the case asks its own questions.
    let ran = at(s, start, 95);
    assert_eq!((ran.asked, ran.silenced), (0, 3));
}

#[actix_web::test]
async fn an_unanswered_follow_up_is_reminded_once_then_closed() {
    let app = app();
    let s = &app.state;
    speaks(s, ZH_A, "zh");
    let start = s.config.today();
    place(s, ZH_A, "达孜区工业园建材厂", None, None, None, start);
    assert_eq!(at(s, start, 31).asked, 1);
    assert_eq!(at(s, start, 32).reminded, 0, "not before two days");
    // Two days and an hour after it was asked.
    s.time
        .set((start + Duration::days(33)).and_hms_opt(5, 0, 0).unwrap());
    assert_eq!(tick(s).reminded, 1);
    let reminder = last_to(&app, ZH_A);
    assert!(
        reminder.contains("提醒") && reminder.contains("1在"),
        "{reminder}"
    );
    assert_eq!(at(s, start, 34), Ran::default());
    let ran = at(s, start, 36);
    assert_eq!((ran.reminded, ran.closed), (0, 1));
    let status: String = followups::table
        .filter(followups::step.eq("1m"))
        .select(followups::status)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(status, "unanswered");
    assert_eq!(to(&app, ZH_A).len(), 2, "the question and one reminder");
    // An answer after it closed is an ordinary message again (the menu).
    let menu = says(&app, ZH_A, "你好").await;
    assert!(menu.contains("回复1"), "{menu}");
}

#[actix_web::test]
async fn answers_out_of_turn_unreadable_answers_and_a_worker_who_left() {
    let app = app();
    let s = &app.state;
    speaks(s, ZH_A, "zh");
    let start = s.config.today();
    let p = place(s, ZH_A, "达孜区工业园建材厂", None, None, None, start);
    at(s, start, 31);
    // Free text: asked again, with an example.
    let again = says(&app, ZH_A, "还在干呢").await;
    assert!(again.contains("例如") && again.contains("1在"), "{again}");
    // A status query in between goes where it always goes; the follow-up waits.
    let status = says(&app, ZH_A, "查询").await;
    assert!(!status.contains("1在"), "{status}");
    // Days later, the answer: back home, paid.
    at(s, start, 32);
    says(&app, ZH_A, "3").await;
    says(&app, ZH_A, "1").await;
    let ended: Option<NaiveDate> = pl_t::table
        .find(&p)
        .select(pl_t::ended_on)
        .first(&mut *app.conn())
        .unwrap();
    assert!(ended.is_some(), "the placement ended");
    // The later steps fall silent at once.
    let later: Vec<(String, String, Option<String>)> = followups::table
        .filter(followups::step.ne("1m"))
        .select((followups::step, followups::status, followups::note))
        .load(&mut *app.conn())
        .unwrap();
    assert!(later
        .iter()
        .all(|(_, st, n)| st == "silenced" && n.as_deref() == Some("left")));
    let ran = at(s, start, 95);
    assert_eq!((ran.asked, ran.silenced), (0, 0));
    at(s, start, 190);
    assert!(claims_of(&app, &p).is_empty());
}

#[actix_web::test]
async fn a_worker_who_texted_stop_is_never_asked() {
    let app = app();
    let s = &app.state;
    speaks(s, ZH_A, "zh");
    let start = s.config.today();
    place(s, ZH_A, "达孜区工业园建材厂", None, None, None, start);
    says(&app, ZH_A, "T").await;
    let before = to(&app, ZH_A).len();
    // Every step falls silent at once, the reason kept.
    let notes: Vec<(String, Option<String>)> = followups::table
        .select((followups::status, followups::note))
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(notes.len(), 3);
    assert!(notes
        .iter()
        .all(|(st, n)| st == "silenced" && n.as_deref() == Some("opted_out")));
    let ran = at(s, start, 31);
    assert_eq!((ran.asked, ran.silenced), (0, 0));
    assert_eq!(to(&app, ZH_A).len(), before);
}

#[actix_web::test]
async fn outside_the_send_window_a_step_waits_and_is_asked_late_once() {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |c| {
        c.alerts.send_window = "08:00-21:00".into();
    });
    let s = &app.state;
    speaks(s, ZH_A, "zh");
    let start = s.config.today();
    place(s, ZH_A, "达孜区工业园建材厂", None, None, None, start);
    // 23:00 in Lhasa (15:00 UTC), a month and more later: the window is closed.
    let night = (start + Duration::days(40)).and_hms_opt(15, 0, 0).unwrap();
    s.time.set(night);
    assert_eq!(tick(s).asked, 0);
    // 09:00 the next morning (01:00 UTC): asked, late but within the window, and once.
    let morning = (start + Duration::days(41)).and_hms_opt(1, 0, 0).unwrap();
    s.time.set(morning);
    assert_eq!(tick(s).asked, 1);
    assert_eq!(tick(s).asked, 0);
    assert_eq!(to(&app, ZH_A).len(), 1);
}

#[actix_web::test]
async fn a_schedule_changed_later_applies_to_new_placements_and_fires_nothing_twice() {
    let app = app();
    let start = app.state.config.today();
    speaks(&app.state, ZH_A, "zh");
    speaks(&app.state, ZH_D, "zh");
    place(
        &app.state,
        ZH_A,
        "达孜区工业园建材厂",
        None,
        None,
        None,
        start,
    );
    at(&app.state, start, 31);
    says(&app, ZH_A, "1 1").await;
    // The bureau edits the schedule (2 weeks and 2 months instead of 1, 3 and 6 months), and
    // restarts the service over the same database.
    let mut config = (*app.state.config).clone();
    let step = |name: &str, months, days| StepConfig {
        name: name.into(),
        months,
        days,
        hour: "10:00".into(),
    };
    config.followups.placement = vec![step("2w", 0, 14), step("2m", 2, 0)];
    let edited = AppState::with_db(config, app.state.db.clone()).unwrap();
    edited.time.set(app.state.time.now());
    place(&edited, ZH_D, "达孜区工业园建材厂", None, None, None, start);
    let steps = |phone: &str| -> Vec<String> {
        followups::table
            .inner_join(contacts::table)
            .filter(contacts::phone.eq(phone))
            .order(followups::due_at)
            .select(followups::step)
            .load(&mut *app.conn())
            .unwrap()
    };
    assert_eq!(
        steps(ZH_A),
        vec!["1m", "3m", "6m"],
        "the old placement keeps its schedule"
    );
    assert_eq!(steps(ZH_D), vec!["2w", "2m"]);
    let versions: Vec<String> = pl_t::table
        .select(pl_t::schedule_version)
        .load(&mut *app.conn())
        .unwrap();
    assert_ne!(versions[0], versions[1]);
    // The first worker's one-month step is not asked again under the new schedule; the second
    // worker's overdue steps are asked one at a time.
    let ran = at(&edited, start, 70);
    assert_eq!(ran.asked, 1);
    assert_eq!(
        to(&app, ZH_A).len(),
        2,
        "the question, the thanks: nothing more"
    );
}

#[actix_web::test]
async fn interest_in_a_notice_leads_a_week_later_to_did_you_start_and_a_placement() {
    let app = app();
    let s = &app.state;
    let today = s.config.today();
    let n = crate::alerts::approved(&app, &crate::alerts::input(today));
    let contact = crate::alerts::worker(
        &mut app.conn(),
        "+8613900000705",
        "zh",
        "城关区",
        ",construction,",
        true,
    );
    diesel::insert_into(hotline::db::schema::notice_responses::table)
        .values((
            hotline::db::schema::notice_responses::id.eq("r1"),
            hotline::db::schema::notice_responses::notice_id.eq(&n.id),
            hotline::db::schema::notice_responses::contact_id.eq(&contact),
            hotline::db::schema::notice_responses::created_at.eq(s.time.now()),
            hotline::db::schema::notice_responses::updated_at.eq(s.time.now()),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    assert_eq!(at(s, today, 3).asked, 0);
    let ran = at(s, today, 8);
    assert_eq!((ran.scheduled, ran.asked), (1, 1));
    let q = last_to(&app, "+8613900000705");
    assert!(q.contains(&n.employer) && q.contains("开始"), "{q}");
    says(&app, "+8613900000705", "是").await;
    let placed: Vec<(Option<String>, Option<String>, String)> = pl_t::table
        .select((pl_t::notice_id, pl_t::agency, pl_t::source))
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(
        placed,
        vec![(
            Some(n.id.clone()),
            Some(n.agency.clone()),
            "worker".to_string()
        )]
    );
    // Its own follow-ups are now scheduled.
    let n_followups: i64 = followups::table
        .filter(followups::subject.like("placement:%"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(n_followups, 3);
}

#[actix_web::test]
async fn brokers_record_placements_and_see_their_record_officers_see_rates_and_every_broker() {
    use crate::support::console::{add_user, ConsoleClient, PASSWORD};
    use hotline::accounts::users::UserRole;
    let app = app();
    let s = &app.state;
    add_user(&app, "norbu", UserRole::Broker, None);
    add_user(&app, "yangjin", UserRole::Officer, None);
    add_user(&app, "dawa", UserRole::Inspector, None);
    let start = s.config.today();
    let mut broker = ConsoleClient::login(&app, "norbu", PASSWORD).await;
    let empty = broker.get("/console/placements").await;
    assert!(empty.body.contains("还没有登记的就业安置"));
    // A bad form: every problem named, in Chinese, nothing recorded.
    let bad = broker
        .post(
            "/console/placements",
            &[
                ("phone", "12"),
                ("employer", ""),
                ("start_on", "2027-13-01"),
            ],
        )
        .await;
    assert_eq!(bad.status, 200, "{}", bad.body);
    for want in [
        "不是有效的手机号",
        "用工单位：必填",
        "日期格式",
        "请填写县区或区外务工地",
    ] {
        assert!(bad.body.contains(want), "{want}: {}", bad.body);
    }
    let start_s = start.to_string();
    let fields = [
        ("phone", "13900000706"),
        ("employer", "达孜区工业园建材厂"),
        ("county", "达孜区"),
        ("trade", "construction"),
        ("start_on", start_s.as_str()),
        // A broker cannot record for another agency: the field is ignored.
        ("agency", "别的公司"),
    ];
    let ok = broker.post("/console/placements", &fields).await;
    assert_eq!(
        ok.location.as_deref(),
        Some("/console/placements?recorded=1")
    );
    let ok = broker.get("/console/placements?recorded=1").await;
    assert!(ok.body.contains("已登记，回访已排期"), "{}", ok.body);
    assert!(ok.body.contains("+86139****0706"), "masked for the broker");
    let again = broker.post("/console/placements", &fields).await;
    let again = broker.get(again.location.as_deref().unwrap()).await;
    assert!(again.body.contains("没有重复登记"), "{}", again.body);
    let agency: Vec<Option<String>> = pl_t::table
        .select(pl_t::agency)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(agency, vec![Some("norbu".to_string())]);
    // A month on, the worker answers: still there, paid in full.
    speaks(s, "+8613900000706", "zh");
    at(s, start, 31);
    says(&app, "+8613900000706", "1 1").await;
    let mine = broker.get("/console/placements").await;
    assert!(mine.body.contains("id=\"my-record\""), "{}", mine.body);
    assert!(
        mine.body.contains("100%（1/1）"),
        "paid in full, answered: {}",
        mine.body
    );
    assert!(
        !mine.body.contains("id=\"rates\""),
        "rates are the officer's"
    );
    // The step shows it was answered, never what the worker said.
    assert!(mine.body.contains("data-step=\"1m\" data-status=\"done\""));
    assert!(
        !mine.body.contains("· 在岗"),
        "the answers are confidential"
    );
    assert_eq!(broker.get("/console/subsidies").await.status, 403);
    // The officer: the full number, the response rate of the step, every agency's record.
    let mut officer = ConsoleClient::login(&app, "yangjin", PASSWORD).await;
    let page = officer.get("/console/placements").await;
    assert!(page.body.contains("+8613900000706"));
    assert!(page.body.contains("第1个月 已回复 · 在岗"), "{}", page.body);
    assert!(
        page.body.contains("第3个月 待发送"),
        "the next step with its date"
    );
    assert!(
        page.body.contains("id=\"rates\"") && page.body.contains("1m"),
        "{}",
        page.body
    );
    assert!(page.body.contains("data-agency=\"norbu\""));
    assert_eq!(officer.get("/console/subsidies").await.status, 200);
    // The worker's register page shows the placement and its follow-ups.
    let id = app.contact("+8613900000706").unwrap().id;
    let worker = officer.get(&format!("/console/workers/{id}")).await;
    assert!(
        worker.body.contains("达孜区工业园建材厂")
            && worker
                .body
                .contains("data-step=\"1m\" data-status=\"done\""),
        "{}",
        worker.body
    );
    // Inspectors have no business here.
    let mut inspector = ConsoleClient::login(&app, "dawa", PASSWORD).await;
    assert_eq!(inspector.get("/console/placements").await.status, 403);
}

#[actix_web::test]
async fn a_brokers_record_counts_retention_pay_answers_and_cases() {
    let app = app();
    let s = &app.state;
    let start = s.config.today();
    let agency = Some("拉萨诺布劳务有限公司");
    for p in [ZH_A, ZH_D] {
        speaks(s, p, "zh");
    }
    speaks(s, BO_B, "bo");
    place(s, ZH_A, "达孜区工业园建材厂", None, agency, None, start);
    place(s, ZH_D, "达孜区工业园建材厂", None, agency, None, start);
    place(s, BO_B, "堆龙物流园", None, agency, None, start);
    at(s, start, 31);
    says(&app, ZH_A, "1 1").await; // there, paid
    says(&app, ZH_D, "2 2 1 1 2").await; // changed job, paid partly, …, no complaint
                                         // B never answers.
    at(s, start, 92);
    says(&app, ZH_A, "1 1").await;
    let today = start + Duration::days(100);
    let r = hotline::followups::stats::records(&mut app.conn(), agency, today).unwrap();
    assert_eq!(r.len(), 1);
    let r = &r[0];
    assert_eq!(r.placements, 3);
    // At 3 months: A still there, D left at one month; B unknown.
    assert_eq!((r.retained_3m.yes, r.retained_3m.of), (1, 2));
    assert_eq!(r.retained_6m.of, 0, "not 6 months old yet");
    assert_eq!((r.paid_in_full.yes, r.paid_in_full.of), (2, 3));
    // Asked: A twice, D once, B once (its 3-month step waits behind the unanswered first);
    // answered: A twice, D once.
    assert_eq!((r.answered.yes, r.answered.of), (3, 4));
    assert_eq!((r.cases, r.early_warnings), (0, 0));
    let rates = hotline::followups::stats::response_rates(
        &mut app.conn(),
        (start - Duration::days(1)).and_hms_opt(0, 0, 0).unwrap(),
    )
    .unwrap();
    let one_zh = rates
        .iter()
        .find(|r| r.step == "1m" && r.language == "zh")
        .unwrap();
    assert_eq!((one_zh.sent, one_zh.answered), (2, 2));
    let one_bo = rates
        .iter()
        .find(|r| r.step == "1m" && r.language == "bo")
        .unwrap();
    assert_eq!(
        (one_bo.sent, one_bo.answered, one_bo.median_minutes),
        (1, 0, None)
    );
}

#[actix_web::test]
async fn the_api_gives_records_rates_and_subsidy_decisions_to_whom_they_belong() {
    use actix_web::http::StatusCode;
    use hotline::accounts::tokens::Role;
    let app = app();
    let s = &app.state;
    speaks(s, ZH_D, "zh");
    let start = s.config.today();
    place(s, ZH_D, "堆龙物流园", None, Some("norbu"), None, start);
    place(
        s,
        ZH_A,
        "达孜区工业园建材厂",
        None,
        Some("dorje"),
        None,
        start,
    );
    for days in [31, 92, 184] {
        at(s, start, days);
        says(&app, ZH_D, "1 1").await;
    }
    let officer = app.token(Role::Officer, "yangjin");
    let broker = app.token(Role::Broker, "norbu");
    let inspector = app.token(Role::Inspector, "tashi");
    let (st, all) = app
        .api("GET", "/api/v1/agencies/records", &officer, None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let (_, mine) = app
        .api("GET", "/api/v1/agencies/records", &broker, None)
        .await;
    let mine = mine["items"].as_array().unwrap();
    assert_eq!(mine.len(), 1, "a broker sees their own record only");
    assert_eq!(mine[0]["agency"], "norbu");
    assert_eq!(
        mine[0]["retained_6m"],
        serde_json::json!({"of": 1, "yes": 1})
    );
    assert_eq!(
        app.api("GET", "/api/v1/agencies/records", &inspector, None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (st, rates) = app
        .api("GET", "/api/v1/followups/rates", &officer, None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(rates["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["step"] == "6m" && r["answered"] == 1));
    assert_eq!(
        app.api("GET", "/api/v1/followups/rates", &broker, None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let month = hotline::followups::month_of(s.config.local(s.time.now()).date());
    let (st, claims) = app
        .api(
            "GET",
            &format!("/api/v1/subsidies?month={month}"),
            &officer,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{claims}");
    let items = claims["items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 2, "{claims}");
    assert!(kinds.contains(&"job_seeking") && kinds.contains(&"placement"));
    assert_eq!(items[0]["evidence"].as_array().unwrap().len(), 3);
    assert_eq!(
        app.api("GET", "/api/v1/subsidies", &broker, None).await.0,
        StatusCode::FORBIDDEN
    );
    let id = items[0]["id"].as_str().unwrap();
    let uri = format!("/api/v1/subsidies/{id}/decision");
    let no_reason = serde_json::json!({"approve": false});
    assert_eq!(
        app.api("POST", &uri, &officer, Some(no_reason)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (st, v) = app
        .api(
            "POST",
            &uri,
            &officer,
            Some(serde_json::json!({"approve": true})),
        )
        .await;
    assert_eq!(
        (st, v["status"].as_str()),
        (StatusCode::OK, Some("approved"))
    );
    assert_eq!(
        app.api(
            "POST",
            &uri,
            &officer,
            Some(serde_json::json!({"approve": true}))
        )
        .await
        .0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.api(
            "POST",
            "/api/v1/subsidies/nope/decision",
            &officer,
            Some(serde_json::json!({"approve": true}))
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn the_officer_decides_subsidy_claims_in_the_console() {
    use crate::support::console::{add_user, ConsoleClient, PASSWORD};
    use hotline::accounts::users::UserRole;
    let app = app();
    let s = &app.state;
    speaks(s, ZH_D, "zh");
    let start = s.config.today();
    place(
        s,
        ZH_D,
        "堆龙物流园",
        None,
        Some("norbu"),
        Some("江苏省苏州市"),
        start,
    );
    for days in [31, 92, 184] {
        at(s, start, days);
        says(&app, ZH_D, "1 1").await;
    }
    add_user(&app, "yangjin", UserRole::Officer, None);
    let mut officer = ConsoleClient::login(&app, "yangjin", PASSWORD).await;
    let month = hotline::followups::month_of(s.config.local(s.time.now()).date());
    // Opened on another month, the page says where claims wait.
    let other = officer.get("/console/subsidies?month=2020-01").await;
    assert!(
        other.body.contains(&format!("{month} 还有 3 条待审核")),
        "{}",
        other.body
    );
    let page = officer
        .get(&format!("/console/subsidies?month={month}"))
        .await;
    assert!(
        page.body.contains("第6个月：") && page.body.contains("在岗 · 按时足额"),
        "{}",
        page.body
    );
    let ids: Vec<String> = hotline::db::schema::subsidy_claims::table
        .select(hotline::db::schema::subsidy_claims::id)
        .load(&mut *app.conn())
        .unwrap();
    let post = |id: &str| format!("/console/subsidies/{id}");
    // A rejection without a reason: refused on the same page, in Chinese.
    let refused = officer
        .post(
            &post(&ids[0]),
            &[("op", "reject"), ("reason", " "), ("month", &month)],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("不批准需要写明理由") && refused.body.contains("id=\"claims\""));
    // The reject form (Enter in its reason box submits it) rejects.
    let rejected = officer
        .post(
            &post(&ids[0]),
            &[
                ("op", "reject"),
                ("reason", "没有劳动合同"),
                ("month", &month),
            ],
        )
        .await;
    let after = officer.get(rejected.location.as_deref().unwrap()).await;
    assert!(
        after.body.contains("已记录不批准及理由") && after.body.contains("不批准（没有劳动合同）")
    );
    // An approval never keeps a reason.
    officer
        .post(
            &post(&ids[1]),
            &[("op", "approve"), ("reason", "x"), ("month", &month)],
        )
        .await;
    let reasons: Vec<(String, Option<String>)> = hotline::db::schema::subsidy_claims::table
        .select((
            hotline::db::schema::subsidy_claims::status,
            hotline::db::schema::subsidy_claims::reason,
        ))
        .load(&mut *app.conn())
        .unwrap();
    assert!(reasons.contains(&("approved".into(), None)), "{reasons:?}");
    // Deciding twice is refused.
    let twice = officer
        .post(
            &post(&ids[1]),
            &[("op", "reject"), ("reason", "y"), ("month", &month)],
        )
        .await;
    assert_eq!(twice.status, 409);
    // The CSV: phone numbers and formulas stay text, steps named, bureau dates.
    let csv = officer
        .get(&format!("/console/subsidies/{month}.csv"))
        .await;
    assert!(csv.body.starts_with('\u{feff}'));
    assert!(csv.body.contains("'+8613900000704"), "{}", csv.body);
    assert!(
        csv.body.contains("第1个月") && csv.body.contains("一次性交通补贴"),
        "{}",
        csv.body
    );
}
