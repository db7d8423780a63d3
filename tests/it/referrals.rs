//! Joint-enforcement referrals: suggestions, the queued email (case summary and link, no
//! complainant identity), the signed acknowledgement page, reminders and the overdue list.

use actix_web::http::StatusCode;
use actix_web::test;
use chrono::Duration;
use diesel::prelude::*;
use hotline::cases::referrals::{self, ReferralError};
use hotline::db::models::{AuditEvent, Case, Job, Referral, ReferralUpdate};
use hotline::db::schema::{cases, departments, jobs};
use hotline::mail::Email;

use crate::support::app::{form, TestApp};

const ANON: &str = "+8613912345678";
const NAMED: &str = "+8613987654321";
const PUBLIC: &str = "https://hotline.example.gov.cn";

/// A government-invested 交通 project with two complaints on it (one anonymous, one named):
/// 14 workers owed 52,000 yuan, past the collective criminal threshold.
async fn setup() -> (TestApp, Case) {
    setup_with(|_| {}).await
}

async fn setup_with(tweak: impl FnOnce(&mut hotline::config::Config)) -> (TestApp, Case) {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |c| {
        c.public_url = Some(PUBLIC.into());
        tweak(c);
    });
    crate::support::app::road_project(&mut app.conn(), "P2026-001");
    app.kannel_mo(ANON, "QX P2026-001 12 48000", "a1").await;
    // named (not anonymous), through the dialog, in Tibetan
    for (i, text) in ["གླ་ཕོགས", "P2026-001", "༢", "༤༠༠༠", "༢", "2", "1"]
        .iter()
        .enumerate()
    {
        app.kannel_mo(NAMED, text, &format!("b{i}")).await;
    }
    for (code, email) in [
        ("交通", "jiaotong@example.gov.cn"),
        ("发改", "fagai@example.gov.cn; fagai2@example.gov.cn"),
        ("公安", "gongan@example.gov.cn"),
    ] {
        diesel::update(departments::table.find(code))
            .set(departments::email.eq(Some(email)))
            .execute(&mut *app.conn())
            .unwrap();
    }
    let case = the_case(&app);
    assert_eq!((case.workers, case.amount_yuan), (12, 52_000));
    (app, case)
}

fn the_case(app: &TestApp) -> Case {
    let mut all: Vec<Case> = cases::table
        .select(Case::as_select())
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(all.len(), 1, "both complaints joined one case");
    all.remove(0)
}

fn email_jobs(app: &TestApp) -> Vec<Job> {
    jobs::table
        .filter(jobs::kind.eq(<hotline::mail::SendEmail as hotline::work::BackgroundJob>::NAME))
        .order(jobs::created_at)
        .select(Job::as_select())
        .load(&mut *app.conn())
        .unwrap()
}

fn trail(app: &TestApp, case: &Case) -> Vec<AuditEvent> {
    hotline::cases::audit_trail(&mut app.conn(), &case.id).unwrap()
}

fn refer(app: &TestApp, case: &Case, dept: &str) -> Result<Referral, ReferralError> {
    referrals::create(
        &app.state,
        &mut app.conn(),
        &case.reference,
        dept,
        "请核查项目资金落实情况。",
        "user:inspector1",
    )
}

fn history(app: &TestApp, r: &Referral) -> Vec<ReferralUpdate> {
    referrals::updates(&mut app.conn(), &r.id).unwrap()
}

fn current(app: &TestApp, r: &Referral) -> Referral {
    referrals::get(&mut app.conn(), &r.id).unwrap()
}

/// The path of a link (the test server has no host).
fn path_of(link: &str) -> String {
    link.strip_prefix(PUBLIC).expect(link).to_string()
}

/// A request through the real routes, with the response headers.
async fn call(
    app: &TestApp,
    method: &str,
    uri: &str,
    form: Option<&str>,
) -> (StatusCode, Vec<(String, String)>, String) {
    let mut req = match method {
        "POST" => test::TestRequest::post(),
        _ => test::TestRequest::get(),
    }
    .uri(uri);
    if let Some(f) = form {
        req = req
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(f.to_string());
    }
    app.send(req).await
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn assert_no_identity(what: &str, text: &str) {
    for phone in [ANON, NAMED] {
        let national = phone.trim_start_matches("+86");
        assert!(
            !text.contains(national) && !text.contains(&national[3..]),
            "{what} shows a complainant's number: {text}"
        );
    }
}

#[actix_web::test]
async fn suggestions_follow_the_project_and_the_threshold() {
    let (app, case) = setup().await;
    let s = referrals::suggest(&mut app.conn(), &app.state, &case).unwrap();
    let got: Vec<(&str, &str)> = s.iter().map(|s| (s.department.as_str(), s.rule)).collect();
    assert_eq!(
        got,
        vec![
            ("发改", "government_funding"),
            ("交通", "government_sector"),
            ("公安", "criminal")
        ]
    );
    assert!(s[0].reason.contains("P2026-001") && s[0].reason.contains("拉萨北环路改造工程"));
    assert!(s[2].reason.contains("52,000"), "{}", s[2].reason);
    // once referred, 交通 is not suggested again while its referral is open
    let r = refer(&app, &case, "交通").unwrap();
    let again = referrals::suggest(&mut app.conn(), &app.state, &case).unwrap();
    assert!(again.iter().all(|s| s.department != "交通"), "{again:?}");
    referrals::close(&mut app.conn(), &r.id, "user:inspector1", Some("已处理")).unwrap();
    let after = referrals::suggest(&mut app.conn(), &app.state, &case).unwrap();
    assert!(after.iter().any(|s| s.department == "交通"));
}

#[actix_web::test]
async fn a_referral_queues_an_email_with_the_summary_and_the_link_and_no_identity() {
    let (app, case) = setup().await;
    let r = refer(&app, &case, "发改").unwrap();
    assert_eq!(r.status, "sent");
    assert_eq!(r.department, "发改");
    assert_eq!(r.reminders, 0);
    let today = app.state.config.today();
    assert!(r.reminder_due > today);
    let valid = r.link_expires_at - hotline::db::now();
    assert!(valid > Duration::days(89) && valid <= Duration::days(90));

    let jobs = email_jobs(&app);
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].dedupe_key.as_deref(),
        Some(format!("referral:{}", r.id).as_str())
    );
    let email: Email = serde_json::from_str(&jobs[0].payload).unwrap();
    assert_eq!(
        email.to,
        vec!["fagai@example.gov.cn", "fagai2@example.gov.cn"]
    );
    assert!(email.subject.contains(&case.reference), "{}", email.subject);
    let link = referrals::link(&app.state, &r.id, r.link_expires_at);
    assert!(
        link.starts_with(&format!("{PUBLIC}/console/ack/")),
        "{link}"
    );
    for part in [&email.text, &email.html] {
        for want in [
            case.reference.as_str(),
            "发展和改革委员会",
            "P2026-001",
            "拉萨北环路改造工程",
            "城关区",
            "12人",
            "52,000元",
            "请核查项目资金落实情况。",
            &case.received_on.to_string(),
            link.as_str(),
        ] {
            assert!(part.contains(want), "{want:?} missing from\n{part}");
        }
        assert_no_identity("the email", part);
    }
    assert!(email.html.contains(&format!("href=\"{link}\"")));

    let events = trail(&app, &case);
    let referred = events.iter().find(|e| e.action == "referred").unwrap();
    assert_eq!(referred.actor, "user:inspector1");
    assert!(referred.detail.as_deref().unwrap().contains("发改"));
    let h = history(&app, &r);
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].kind, "sent");

    // the same department again while the first is open: refused, nothing queued
    let e = refer(&app, &case, "发改").unwrap_err();
    assert!(matches!(e, ReferralError::AlreadyOpen(_)), "{e}");
    assert_eq!(email_jobs(&app).len(), 1);
    let listed = referrals::for_case(&mut app.conn(), &case.id).unwrap();
    assert_eq!(listed.len(), 1);
    let dept = referrals::for_department(&mut app.conn(), "发改").unwrap();
    assert_eq!(dept.len(), 1);
    assert_eq!(dept[0].1.reference, case.reference);
}

#[actix_web::test]
async fn a_department_without_email_or_inactive_is_refused_clearly() {
    let (app, case) = setup().await;
    let e = refer(&app, &case, "财政").unwrap_err();
    assert!(matches!(e, ReferralError::NoEmail(_)), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("财政局") && msg.contains("no email address"),
        "{msg}"
    );
    diesel::update(departments::table.find("公安"))
        .set(departments::active.eq(false))
        .execute(&mut *app.conn())
        .unwrap();
    let e = refer(&app, &case, "公安").unwrap_err();
    assert!(matches!(e, ReferralError::Inactive(_)), "{e}");
    assert!(matches!(
        refer(&app, &case, "不存在").unwrap_err(),
        ReferralError::UnknownDepartment(_)
    ));
    assert!(matches!(
        referrals::create(&app.state, &mut app.conn(), "QX-00-00000", "交通", "x", "u"),
        Err(ReferralError::CaseNotFound(_))
    ));
    assert!(referrals::for_case(&mut app.conn(), &case.id)
        .unwrap()
        .is_empty());
    assert!(email_jobs(&app).is_empty());
    assert!(trail(&app, &case).iter().all(|e| e.action != "referred"));
}

#[actix_web::test]
async fn the_link_page_acknowledges_and_takes_updates() {
    let (app, case) = setup().await;
    let r = refer(&app, &case, "交通").unwrap();
    let path = path_of(&referrals::link(&app.state, &r.id, r.link_expires_at));

    let (s, h, body) = call(&app, "GET", &path, None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(header(&h, "referrer-policy"), Some("no-referrer"));
    assert_eq!(header(&h, "cache-control"), Some("no-store"));
    assert!(header(&h, "set-cookie").is_none());
    assert!(body.contains("lang=\"zh-Hans\"") && body.contains("Noto Serif Tibetan"));
    for want in [
        case.reference.as_str(),
        "交通运输局",
        "拉萨北环路改造工程",
        "52,000",
        "确认收到",
        "反馈进展",
    ] {
        assert!(body.contains(want), "{want:?} missing");
    }
    assert!(body.contains(&format!("action=\"{path}\"")));
    assert_no_identity("the page", &body);

    let (s, h, _) = call(&app, "POST", &path, Some("action=ack")).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        header(&h, "location"),
        Some(format!("{path}?done=ack").as_str())
    );
    let now = current(&app, &r);
    assert_eq!(now.status, "acknowledged");
    assert!(now.acknowledged_at.is_some());
    let ack = trail(&app, &case)
        .into_iter()
        .find(|e| e.action == "referral_acknowledged")
        .expect("the case's audit shows the acknowledgement");
    assert_eq!(ack.actor, "department:交通");
    // a second click changes nothing
    call(&app, "POST", &path, Some("action=ack")).await;
    assert_eq!(history(&app, &r).len(), 2);

    let (s, _, body) = call(&app, "GET", &format!("{path}?done=ack"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("已确认收到，谢谢"), "{body}");

    // an empty update is refused and changes nothing
    let (s, _, body) = call(&app, "POST", &path, Some("action=update&body=++")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("请填写进展内容"), "{body}");
    assert_eq!(current(&app, &r).status, "acknowledged");

    let text = "已约谈施工总承包单位，<b>限期</b>7日内支付。";
    let (s, _, _) = call(
        &app,
        "POST",
        &path,
        Some(&form(&[("action", "update"), ("body", text)])),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let now = current(&app, &r);
    assert_eq!(now.status, "answered");
    assert!(now.answered_at.is_some());
    let h = history(&app, &r);
    assert_eq!(h.last().unwrap().body.as_deref(), Some(text));
    assert_eq!(h.last().unwrap().author, "department:交通");
    let update = trail(&app, &case)
        .into_iter()
        .find(|e| e.action == "referral_update")
        .unwrap();
    assert_eq!(update.actor, "department:交通");
    let (_, _, body) = call(&app, "GET", &path, None).await;
    assert!(
        body.contains("&lt;b&gt;限期&lt;&#x2F;b&gt;") || body.contains("&lt;b&gt;限期&lt;/b&gt;"),
        "escaped: {body}"
    );

    // once the inspector closes it, the page takes nothing more
    referrals::close(&mut app.conn(), &r.id, "user:inspector1", None).unwrap();
    let (s, _, body) = call(&app, "POST", &path, Some("action=update&body=more")).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("该转办已办结"));
    assert_eq!(current(&app, &r).status, "closed");
}

#[actix_web::test]
async fn bad_links_get_403_and_change_nothing() {
    let (app, case) = setup().await;
    let r = refer(&app, &case, "交通").unwrap();
    let good = path_of(&referrals::link(&app.state, &r.id, r.link_expires_at));
    let token = good.rsplit('/').next().unwrap().to_string();
    let (payload, sig) = token.split_once('.').unwrap();
    let mut flipped = sig.to_string().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{payload}.{}", String::from_utf8(flipped).unwrap());
    let past = hotline::db::now() - Duration::minutes(1);
    let expired = path_of(&referrals::link(&app.state, &r.id, past));
    let expired = expired.rsplit('/').next().unwrap().to_string();
    let other_key = referrals::sign("another-key", &r.id, r.link_expires_at);
    let audit_before = trail(&app, &case).len();

    for bad in [
        tampered.as_str(),
        expired.as_str(),
        other_key.as_str(),
        "not-a-token",
        "a.b",
    ] {
        let uri = format!("/console/ack/{bad}");
        let (s, h, body) = call(&app, "GET", &uri, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{bad}");
        assert!(body.contains("链接无效或已过期，请联系人社局"), "{body}");
        assert!(
            !body.contains(&case.reference),
            "nothing of the case: {bad}"
        );
        assert_eq!(header(&h, "referrer-policy"), Some("no-referrer"));
        for form in ["action=ack", "action=update&body=x"] {
            let (s, _, _) = call(&app, "POST", &uri, Some(form)).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{bad} {form}");
        }
    }
    assert_eq!(current(&app, &r).status, "sent");
    assert_eq!(history(&app, &r).len(), 1);
    assert_eq!(trail(&app, &case).len(), audit_before);
    // the good link still works
    assert_eq!(call(&app, "GET", &good, None).await.0, StatusCode::OK);
}

#[actix_web::test]
async fn reminders_after_working_days_once_a_day_and_the_overdue_list() {
    let (app, case) = setup_with(|c| c.referrals.max_reminders = 2).await;
    let today = app.state.config.today();
    let r = refer(&app, &case, "交通").unwrap();
    let other = refer(&app, &case, "发改").unwrap();
    let due = r.reminder_due;
    let region = app.state.config.region.as_deref();
    let cal = &app.state.calendar;
    assert_eq!(cal.working_days_between(today, due, region).unwrap(), 5);
    assert!(cal.is_working_day(due, region).unwrap(), "{due}");
    let remind = |day| referrals::remind_due(&app.state, &mut app.conn(), day).unwrap();
    let overdue = |day| -> Vec<String> {
        referrals::overdue(&mut app.conn(), day)
            .unwrap()
            .into_iter()
            .map(|(r, _)| r.department)
            .collect()
    };

    // 发改 acknowledges: never reminded, never overdue
    referrals::acknowledge(&mut app.conn(), &other.id, "department:发改").unwrap();

    assert_eq!(remind(due - Duration::days(1)), 0);
    assert!(overdue(due - Duration::days(1)).is_empty());
    assert!(overdue(due).is_empty(), "due today is not yet overdue");
    assert_eq!(email_jobs(&app).len(), 2);

    assert_eq!(remind(due), 1);
    assert_eq!(remind(due), 0, "once a day");
    let jobs = email_jobs(&app);
    assert_eq!(jobs.len(), 3);
    let key = format!("referral:{}:reminder:1", r.id);
    assert_eq!(jobs[2].dedupe_key.as_deref(), Some(key.as_str()));
    let email: Email = serde_json::from_str(&jobs[2].payload).unwrap();
    assert_eq!(email.to, vec!["jiaotong@example.gov.cn"]);
    assert!(email.subject.contains("催办第1次"), "{}", email.subject);
    assert!(email.text.contains(&case.reference));
    assert!(email.text.contains("/console/ack/"));
    assert_no_identity("the reminder", &email.text);

    let after = current(&app, &r);
    assert_eq!(after.reminders, 1);
    assert!(after.reminder_due > due);
    assert_eq!(history(&app, &r).last().unwrap().kind, "reminded");
    assert_eq!(overdue(due), vec!["交通"], "reminded, still unacknowledged");

    // the next due day brings the second; the maximum stops a third
    let next = after.reminder_due;
    assert_eq!(remind(next - Duration::days(1)), 0);
    assert_eq!(remind(next), 1);
    let last = current(&app, &r).reminder_due;
    assert_eq!(remind(last), 0);
    assert_eq!(remind(last + Duration::days(30)), 0);
    assert_eq!(current(&app, &r).reminders, 2);
    assert_eq!(email_jobs(&app).len(), 4);
    assert_eq!(overdue(last + Duration::days(30)), vec!["交通"]);

    // acknowledged: off the overdue list
    referrals::acknowledge(&mut app.conn(), &r.id, "department:交通").unwrap();
    assert!(overdue(last + Duration::days(30)).is_empty());
}

/// The wiring, not just the rule: the job runner's periodic work finds the referral past its
/// deadline, queues the reminder, and the same run sends it over SMTP; a second run the same
/// day sends nothing more.
#[actix_web::test]
async fn the_runner_emails_a_reminder_once_when_a_department_has_not_answered() {
    let smtp = crate::support::smtp::SmtpServer::start().unwrap();
    let port = smtp.port();
    let (app, case) = setup_with(|c| {
        c.smtp.host = Some("127.0.0.1".into());
        c.smtp.port = port;
        c.smtp.security = hotline::mail::SmtpSecurity::None;
    })
    .await;
    let r = refer(&app, &case, "交通").unwrap();
    app.state.job_runner().run_due().await;
    let first = smtp.wait_for(1, std::time::Duration::from_secs(10));
    assert_eq!(first.len(), 1, "the referral itself");
    assert!(!first[0].subject().unwrap().contains("催办"));

    // Five working days pass without an answer.
    let yesterday = app.state.config.today() - chrono::Duration::days(1);
    diesel::update(hotline::db::schema::referrals::table.find(&r.id))
        .set(hotline::db::schema::referrals::reminder_due.eq(yesterday))
        .execute(&mut *app.conn())
        .unwrap();
    app.state.job_runner().run_due().await;
    let mails = smtp.wait_for(2, std::time::Duration::from_secs(10));
    assert_eq!(mails.len(), 2);
    let reminder = &mails[1];
    assert!(
        reminder.subject().unwrap().contains("催办第1次"),
        "{:?}",
        reminder.subject()
    );
    assert!(reminder.text_part().unwrap().contains("/console/ack/"));
    app.state.job_runner().run_due().await;
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(smtp.messages().len(), 2, "one reminder a day");
    assert_eq!(current(&app, &r).reminders, 1);
}

#[actix_web::test]
async fn the_api_shows_a_cases_referrals_and_their_answers() {
    let (app, case) = setup().await;
    let r = refer(&app, &case, "交通").unwrap();
    referrals::acknowledge(&mut app.conn(), &r.id, "department:交通").unwrap();
    let token = app.token(hotline::accounts::tokens::Role::Inspector, "api-test");
    let (status, v) = app
        .api(
            "GET",
            &format!("/api/v1/cases/{}", case.reference),
            &token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let refs = v["referrals"].as_array().expect("referrals");
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0]["department"], "交通");
    assert_eq!(refs[0]["status"], "acknowledged");
    assert_eq!(refs[0]["overdue"], false);
    let kinds: Vec<&str> = refs[0]["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["sent", "acknowledged"]);
}
