//! Wage complaints by SMS, whole dialogs through the receive route, in Chinese and Tibetan.

use diesel::prelude::*;
use hotline::db::models::{AuditEvent, Case, Complaint, Conversation, NewProject};
use hotline::db::schema::{audit_events, cases, complaints, conversations, projects};

use crate::support::app::TestApp;

const ZH_WORKER: &str = "+8613900000001";
const BO_WORKER: &str = "+8613900000002";

fn has_tibetan(s: &str) -> bool {
    s.chars().any(|c| ('\u{0F00}'..='\u{0FFF}').contains(&c))
}
fn has_han(s: &str) -> bool {
    s.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c))
}

/// A worker's phone: sends through the Kannel webhook and reads the reply.
struct Phone<'a> {
    app: &'a TestApp,
    number: &'a str,
    n: std::cell::Cell<usize>,
}

impl<'a> Phone<'a> {
    fn new(app: &'a TestApp, number: &'a str) -> Self {
        Phone {
            app,
            number,
            n: std::cell::Cell::new(0),
        }
    }

    /// Sends `text` and returns the reply it got.
    async fn send(&self, text: &str) -> String {
        self.n.set(self.n.get() + 1);
        let id = format!("{}-{}", self.number, self.n.get());
        let (status, body) = self.app.kannel_mo(self.number, text, &id).await;
        assert_eq!(status, actix_web::http::StatusCode::OK, "{text}: {body}");
        let replies: Vec<_> = self
            .app
            .outgoing()
            .into_iter()
            .filter(|m| m.phone == self.number)
            .collect();
        replies.last().map(|m| m.body.clone()).unwrap_or_default()
    }
}

fn all_cases(app: &TestApp) -> Vec<Case> {
    cases::table
        .select(Case::as_select())
        .load(&mut *app.conn())
        .unwrap()
}

fn all_complaints(app: &TestApp) -> Vec<Complaint> {
    complaints::table
        .order(complaints::created_at)
        .select(Complaint::as_select())
        .load(&mut *app.conn())
        .unwrap()
}

fn add_project(app: &TestApp, code: &str, gov: bool) {
    let t = hotline::db::now();
    diesel::insert_into(projects::table)
        .values(NewProject {
            id: &format!("id-{code}"),
            code,
            name_zh: "拉萨北环路改造工程",
            name_bo: None,
            county: "城关区",
            department: "交通",
            owner: Some("拉萨市交通局"),
            contractor: Some("某路桥公司"),
            government_invested: gov,
            created_at: t,
            updated_at: t,
        })
        .execute(&mut *app.conn())
        .unwrap();
}

fn app() -> TestApp {
    TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {})
}

#[actix_web::test]
async fn a_chinese_worker_files_a_complaint_step_by_step() {
    let app = app();
    let p = Phone::new(&app, ZH_WORKER);
    let r = p.send("欠薪").await;
    assert!(r.contains("1/6") && r.contains("老板或项目"), "{r}");
    assert!(!has_tibetan(&r));
    let r = p.send("扎西建筑队").await;
    assert!(
        r.contains("2/6") && r.contains("1 城关区") && r.contains("8 墨竹工卡县"),
        "{r}"
    );
    let r = p.send("9").await;
    assert!(
        r.starts_with("没看懂") && r.contains("2/6"),
        "a wrong answer is asked again: {r}"
    );
    let r = p.send("1").await;
    assert!(r.contains("3/6") && r.contains("例如"), "{r}");
    let r = p.send("好多人").await;
    assert!(r.contains("没看懂") && r.contains("3/6"), "{r}");
    let r = p.send("三个").await;
    assert!(r.contains("4/6"), "{r}");
    let r = p.send("3千").await;
    assert!(r.contains("5/6"), "{r}");
    let r = p.send("３个月").await;
    assert!(r.contains("6/6"), "{r}");
    let r = p.send("1").await;
    assert!(
        r.contains("请核对")
            && r.contains("扎西建筑队")
            && r.contains("城关区")
            && r.contains("3人")
            && r.contains("3000元")
            && r.contains("匿名"),
        "{r}"
    );
    let r = p.send("1").await;
    let case = &all_cases(&app)[0];
    assert!(
        r.contains(&case.reference) && r.contains("投诉已登记"),
        "{r}"
    );
    assert_eq!(case.state, "received");
    assert_eq!(case.employer, "扎西建筑队");
    assert_eq!(case.county, "城关区");
    assert_eq!((case.workers, case.amount_yuan), (3, 3000));
    let due = case.accept_due.expect("an acceptance deadline");
    assert!(r.contains(&due.to_string()), "{r}");
    assert!(
        (due - case.received_on).num_days() >= 5,
        "5 working days: {} → {due}",
        case.received_on
    );
    let c = &all_complaints(&app)[0];
    assert!(c.anonymous);
    assert_eq!((c.months, c.language.as_str()), (Some(3), "zh"));
    let audit: Vec<String> = audit_events::table
        .filter(audit_events::case_id.eq(&case.id))
        .select(AuditEvent::as_select())
        .load(&mut *app.conn())
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        audit.contains(&"case_opened".to_string())
            && audit.contains(&"complaint_filed".to_string()),
        "{audit:?}"
    );
    // the dialog is over: a digit is no longer an answer
    let r = p.send("5").await;
    assert!(r.contains("农民工维权短信平台"), "{r}");
}

#[actix_web::test]
async fn a_tibetan_worker_files_in_tibetan_with_tibetan_digits() {
    let app = app();
    let p = Phone::new(&app, BO_WORKER);
    let r = p.send("གླ་ཕོགས").await;
    assert!(has_tibetan(&r) && !has_han(&r), "{r}");
    let r = p.send("བཀྲ་ཤིས་ལས་ཁང་།").await;
    assert!(r.contains("༡ཁྲིན་ཀོན"), "the county list in Tibetan: {r}");
    for answer in ["༢", "༥", "༣༠༠༠", "༢", "༢"] {
        let r = p.send(answer).await;
        assert!(has_tibetan(&r) && !has_han(&r), "after {answer}: {r}");
    }
    let r = p.send("1").await;
    let case = &all_cases(&app)[0];
    assert!(r.contains(&case.reference), "{r}");
    assert!(has_tibetan(&r) && !has_han(&r), "{r}");
    assert_eq!(case.county, "堆龙德庆区");
    assert_eq!((case.workers, case.amount_yuan), (5, 3000));
    assert!(case.collective, "5 workers reported: collective");
    let c = &all_complaints(&app)[0];
    assert!(!c.anonymous);
    assert_eq!(c.language, "bo");
}

#[actix_web::test]
async fn cancel_and_three_wrong_answers() {
    let app = app();
    let p = Phone::new(&app, ZH_WORKER);
    p.send("欠薪").await;
    let r = p.send("取消").await;
    assert!(r.contains("已取消"), "{r}");
    assert!(all_cases(&app).is_empty());

    p.send("QX").await;
    p.send("某某公司").await;
    for _ in 0..2 {
        let r = p.send("不知道").await;
        assert!(r.contains("没看懂"), "{r}");
    }
    let r = p.send("还是不知道").await;
    assert!(r.contains("回电话"), "a call back is offered: {r}");
    let convs: Vec<Conversation> = conversations::table
        .select(Conversation::as_select())
        .load(&mut *app.conn())
        .unwrap();
    let statuses: Vec<&str> = convs.iter().map(|c| c.status.as_str()).collect();
    assert!(
        statuses.contains(&"cancelled") && statuses.contains(&"callback"),
        "{statuses:?}"
    );
    let callbacks: i64 = audit_events::table
        .filter(audit_events::action.eq("callback_requested"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(callbacks, 1);
    // Nothing is thrown away: what the worker said is a complaint waiting for a call back.
    let cases = all_cases(&app);
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].employer, "某某公司");
    assert!(
        r.contains(&cases[0].reference),
        "the worker is told its number: {r}"
    );
    let waiting: Vec<bool> = complaints::table
        .select(complaints::needs_callback)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(waiting, vec![true]);
}

#[actix_web::test]
async fn a_dialog_survives_a_restart_and_reminds_after_a_pause() {
    let app = app();
    let p = Phone::new(&app, ZH_WORKER);
    p.send("欠薪").await;
    p.send("扎西建筑队").await;
    // a new process over the same database
    let restarted = TestApp::over(
        hotline::AppState::with_db((*app.state.config).clone(), app.state.db.clone()).unwrap(),
        crate::support::db::TestDb::sqlite(),
    );
    let p2 = Phone::new(&restarted, ZH_WORKER);
    p2.n.set(10);
    let r = p2.send("2").await;
    assert!(r.contains("3/6"), "continued where it stopped: {r}");
    // two hours later the worker writes something else
    diesel::update(conversations::table)
        .set(conversations::updated_at.eq(hotline::db::now() - chrono::Duration::hours(2)))
        .execute(&mut *app.conn())
        .unwrap();
    let r = p2.send("你好").await;
    assert!(
        r.starts_with("您的投诉还没填完") && r.contains("3/6"),
        "{r}"
    );
    let conv: Conversation = conversations::table
        .select(Conversation::as_select())
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(conv.failures, 0, "a reminder is not a wrong answer");
}

#[actix_web::test]
async fn a_status_query_inside_a_dialog_is_answered_and_the_dialog_goes_on() {
    let app = app();
    let p = Phone::new(&app, ZH_WORKER);
    p.send("欠薪").await;
    let r = p.send("CX Q123459").await;
    assert!(
        r.starts_with("没有找到"),
        "the query reached its handler: {r}"
    );
    let r = p.send("查询").await;
    assert!(r.starts_with("没有找到"), "{r}");
    let r = p.send("扎西建筑队").await;
    assert!(r.contains("2/6"), "the dialog went on where it was: {r}");
    // After a long pause a command is not taken as the answer to the open question.
    diesel::update(conversations::table)
        .set(conversations::updated_at.eq(hotline::db::now() - chrono::Duration::hours(2)))
        .execute(&mut *app.conn())
        .unwrap();
    let r = p.send("欠薪").await;
    assert!(
        r.starts_with("您的投诉还没填完") && r.contains("回复0取消") && r.contains("2/6"),
        "{r}"
    );
}

#[actix_web::test]
async fn a_small_amount_is_confirmed_with_the_worker() {
    let app = app();
    let p = Phone::new(&app, ZH_WORKER);
    for text in ["欠薪", "扎西建筑队", "1", "3"] {
        p.send(text).await;
    }
    let r = p.send("30").await;
    assert!(r.contains("30元") && r.contains("是这个数吗"), "{r}");
    let r = p.send("1").await;
    assert!(r.contains("5/6"), "taken once confirmed: {r}");
    let tibetan = Phone::new(&app, BO_WORKER);
    for text in ["གླ་ཕོགས", "བཀྲ་ཤིས་ལས་ཁང་།", "༢", "༣"]
    {
        tibetan.send(text).await;
    }
    let r = tibetan.send("སྒོར་༥༠").await;
    assert!(r.contains("སྒོར་50") || r.contains("སྒོར་༥༠"), "{r}");
    let r = tibetan.send("༥༠༠༠ སྒོར").await;
    assert!(r.contains("༥/༦"), "another amount instead: {r}");
}

#[actix_web::test]
async fn a_tibetan_summary_names_the_project_in_tibetan_when_the_registry_can() {
    let app = app();
    crate::support::app::road_project(&mut app.conn(), "P2026-101"); // has a Tibetan name
    add_project(&app, "P2026-102", true); // has none
    for (from, code, want, not) in [
        (
            BO_WORKER,
            "P2026-101",
            "ལྷ་སའི་བྱང་ངོས་ལམ་བཟོ་བཅོས་ལས་གཞི།",
            "拉萨",
        ),
        (
            "+8613900000088",
            "P2026-102",
            "拉萨北环路改造工程 ",
            "工程།",
        ),
    ] {
        let p = Phone::new(&app, from);
        let mut r = String::new();
        for text in ["གླ་ཕོགས", code, "༣", "༥༠༠༠", "༣", "༡"] {
            r = p.send(text).await;
        }
        assert!(r.contains(want), "{r}");
        assert!(!r.contains(not), "{r}");
    }
}

#[actix_web::test]
async fn one_message_form_with_a_registered_project_code() {
    let app = app();
    add_project(&app, "P2026-001", true);
    let p = Phone::new(&app, ZH_WORKER);
    let r = p.send("QX p2026-001 12 48000").await;
    let case = &all_cases(&app)[0];
    assert!(r.contains(&case.reference), "{r}");
    assert_eq!(case.project_id.as_deref(), Some("id-P2026-001"));
    assert_eq!(case.county, "城关区");
    assert_eq!((case.workers, case.amount_yuan), (12, 48000));
    assert!(case.collective);
    assert_eq!(
        case.priority, 1,
        "government-invested, 12 workers, 48,000 yuan"
    );

    // an unknown code starts the dialog with what the message said
    let p = Phone::new(&app, "+8613900000009");
    let r = p.send("QX X999 3 2000").await;
    assert!(
        r.contains("没有找到项目编号X999") && r.contains("1/6"),
        "{r}"
    );
    let r = p.send("某建筑公司").await;
    assert!(r.contains("2/6"), "{r}");
    let r = p.send("3").await;
    assert!(r.contains("5/6"), "workers and amount were kept: {r}");
}

#[actix_web::test]
async fn the_fifth_worker_makes_the_case_collective() {
    let app = app();
    add_project(&app, "P2026-002", false);
    for i in 1..=5 {
        let number = format!("+86139000000{i:02}");
        let p = Phone::new(&app, &number);
        let r = p.send("QX P2026-002 1 4000").await;
        assert!(r.contains("投诉已登记"), "{r}");
        let all = all_cases(&app);
        assert_eq!(all.len(), 1, "complaints against one project join one case");
        assert_eq!(all[0].workers, i);
        assert_eq!(all[0].collective, i >= 5, "after {i} workers");
    }
    let case = &all_cases(&app)[0];
    let first = app.contact("+8613900000001").unwrap();
    assert_eq!(case.representative_id.as_deref(), Some(first.id.as_str()));
    assert_eq!(case.amount_yuan, 20_000);
    let became: i64 = audit_events::table
        .filter(audit_events::action.eq("became_collective"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(became, 1);
}

#[actix_web::test]
async fn status_only_to_the_complainants_number() {
    let app = app();
    add_project(&app, "P2026-003", false);
    let worker = Phone::new(&app, ZH_WORKER);
    worker.send("QX P2026-003 2 6000").await;
    let reference = all_cases(&app)[0].reference.clone();

    let r = worker.send(&format!("CX {reference}")).await;
    assert!(r.contains(&reference) && r.contains("已收到"), "{r}");
    let r = worker.send("查询").await;
    assert!(r.contains(&reference), "their only case: {r}");
    let r = worker.send("3").await;
    assert!(r.contains(&reference), "{r}");

    let stranger = Phone::new(&app, "+8613800000000");
    let r = stranger.send(&format!("CX {reference}")).await;
    assert!(
        r.contains("没有找到") && !r.contains("已收到"),
        "nothing about someone else's case: {r}"
    );
    // a mistyped reference is caught by its check digit
    let mut typo = reference.clone().into_bytes();
    typo[3] = if typo[3] == b'9' { b'0' } else { typo[3] + 1 };
    let r = worker
        .send(&format!("CX {}", String::from_utf8(typo).unwrap()))
        .await;
    assert!(r.contains("没有找到"), "{r}");

    let bo = Phone::new(&app, BO_WORKER);
    let r = bo.send("འཚོལ་ཞིབ").await;
    assert!(has_tibetan(&r) && !has_han(&r), "{r}");
}

/// Workers of one site filing at the same moment (several processes, several connections)
/// still form one case with every complaint counted.
#[test]
fn simultaneous_complaints_against_one_site_form_one_case() {
    use hotline::cases::{file_complaint, Clock, Filing};
    use hotline::conversations::complaint::Answers;

    let app = app();
    add_project(&app, "P2026-009", false);
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let state = app.state.clone();
            std::thread::spawn(move || {
                let mut conn = state.db.get().unwrap();
                let contact = hotline::conversations::inbound::contact_for(
                    &mut conn,
                    &format!("+86139000001{i:02}"),
                )
                .unwrap();
                let answers = Answers {
                    project_id: Some("id-P2026-009".into()),
                    employer: Some("拉萨北环路改造工程".into()),
                    county: Some("城关区".into()),
                    workers: Some(1),
                    amount_yuan: Some(1000),
                    anonymous: Some(true),
                    ..Answers::default()
                };
                let clock = Clock {
                    calendar: &state.calendar,
                    region: Some("xizang"),
                    today: state.config.today(),
                };
                let filing = Filing {
                    contact: &contact,
                    channel_id: "kannel",
                    conversation_id: None,
                    answers: &answers,
                    language: hotline::db::models::Language::Zh,
                    incomplete: false,
                };
                hotline::db::transaction(&mut conn, |conn| {
                    file_complaint(conn, &state.config.cases, &clock, &filing)
                })
                .unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let all = all_cases(&app);
    assert_eq!(all.len(), 1, "one case");
    assert_eq!((all[0].workers, all[0].amount_yuan), (8, 8000));
    assert!(all[0].collective);
    assert_eq!(all_complaints(&app).len(), 8);
}
