//! The console over its real routes: sign-in, sessions, CSRF, login slowdown, role checks,
//! the queue, case actions, the reply box, identity views, the simulator, user admin.

use actix_web::http::StatusCode;
use diesel::prelude::*;
use hotline::accounts::users::UserRole;
use hotline::db::models::{AuditEvent, Case};
use hotline::db::schema::{audit_events, cases, referrals};

use crate::support::app::TestApp;
use crate::support::console::{add_user, ConsoleClient, PASSWORD};

const ANON: &str = "+8613912345678";
const NAMED: &str = "+8613987654321";

/// A government-invested project with an anonymous complaint, another case elsewhere, and
/// one user of each role (the liaisons in 发改 and 住建).
async fn setup(tweak: impl FnOnce(&mut hotline::config::Config)) -> (TestApp, String, String) {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", tweak);
    crate::support::app::road_project(&mut app.conn(), "P2026-001");
    app.kannel_mo(ANON, "QX P2026-001 3 9000", "a1").await;
    for (i, text) in ["欠薪", "次仁装修队", "3", "1", "800", "1", "2", "1"]
        .iter()
        .enumerate()
    {
        app.kannel_mo(NAMED, text, &format!("c{i}")).await;
    }
    let refs: Vec<(String, String)> = cases::table
        .select((cases::reference, cases::employer))
        .load(&mut *app.conn())
        .unwrap();
    let find = |s: &str| refs.iter().find(|(_, e)| e.contains(s)).unwrap().0.clone();
    let (project_ref, other_ref) = (find("北环路"), find("次仁"));
    add_user(&app, "admin", UserRole::Admin, None);
    add_user(&app, "kezhang", UserRole::Supervisor, None);
    add_user(&app, "tashi", UserRole::Inspector, None);
    add_user(&app, "fagai", UserRole::Liaison, Some("发改"));
    add_user(&app, "zhujian", UserRole::Liaison, Some("住建"));
    (app, project_ref, other_ref)
}

fn case(app: &TestApp, reference: &str) -> Case {
    cases::table
        .filter(cases::reference.eq(reference))
        .select(Case::as_select())
        .first(&mut *app.conn())
        .unwrap()
}

fn audit_of(app: &TestApp, action: &str) -> Vec<AuditEvent> {
    audit_events::table
        .filter(audit_events::action.eq(action))
        .select(AuditEvent::as_select())
        .load(&mut *app.conn())
        .unwrap()
}

/// A referral row as the referral module would write it, for the visibility tests.
fn insert_referral(app: &TestApp, id: &str, reference: &str, department: &str) {
    let case = case(app, reference);
    let t = hotline::db::now();
    diesel::insert_into(referrals::table)
        .values((
            referrals::id.eq(id),
            referrals::case_id.eq(&case.id),
            referrals::department.eq(department),
            referrals::email.eq("dept@example.gov.cn"),
            referrals::reason.eq("政府投资项目资金"),
            referrals::status.eq("sent"),
            referrals::created_by.eq("user:tashi"),
            referrals::link_expires_at.eq(t + chrono::Duration::days(30)),
            referrals::reminder_due.eq(t.date() + chrono::Duration::days(7)),
            referrals::reminders.eq(0),
            referrals::created_at.eq(t),
            referrals::updated_at.eq(t),
        ))
        .execute(&mut *app.conn())
        .unwrap();
}

#[actix_web::test]
async fn signing_in_sets_a_strict_httponly_cookie_and_signing_out_ends_it() {
    let (app, reference, _) = setup(|_| {}).await;
    let mut anon = ConsoleClient::new(&app);
    let p = anon.get(&format!("/console/cases/{reference}")).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(p
        .location
        .unwrap()
        .starts_with("/console/login?next=%2Fconsole%2Fcases%2F"));

    let mut c = ConsoleClient::new(&app);
    let p = c.try_login("tashi", PASSWORD).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let cookie = p
        .set_cookies
        .iter()
        .find(|c| c.starts_with("hotline_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http on loopback: {cookie}"
    );
    let p = c.get(&format!("/console/cases/{reference}")).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains(&reference));
    // Only the page's own scripts run: each carries this response's nonce.
    let csp = p.csp.expect("a Content-Security-Policy");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(p.body.contains(&format!("<script nonce=\"{nonce}\">")));
    assert!(!p.body.contains("<script>") && !p.body.contains("onclick="));

    let stolen = c.cookies.clone();
    let p = c.post("/console/logout", &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let mut replay = ConsoleClient::new(&app);
    replay.cookies = stolen;
    let p = replay.get("/console/").await;
    assert_eq!(
        p.status,
        StatusCode::SEE_OTHER,
        "a session ended by logout stays ended"
    );

    // Served as HTTPS: the cookie is Secure.
    let (app, _, _) = setup(|c| c.public_url = Some("https://hotline.example.gov.cn".into())).await;
    let mut c = ConsoleClient::new(&app);
    let p = c.try_login("tashi", PASSWORD).await;
    let cookie = p
        .set_cookies
        .iter()
        .find(|c| c.starts_with("hotline_session="))
        .unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[actix_web::test]
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing() {
    let (app, reference, _) = setup(|_| {}).await;
    let mut c = ConsoleClient::login(&app, "tashi", PASSWORD).await;
    c.get(&format!("/console/cases/{reference}")).await;
    let uri = format!("/console/cases/{reference}/action");
    let no_token = c
        .post_raw(&uri, &[("action".into(), "accept".into())])
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert!(no_token.body.contains("表单已过期"), "{}", no_token.body);
    let mut other = ConsoleClient::login(&app, "kezhang", PASSWORD).await;
    other.get("/console/").await;
    let foreign = c
        .post_raw(
            &uri,
            &[
                ("csrf".into(), other.csrf.clone()),
                ("action".into(), "accept".into()),
            ],
        )
        .await;
    assert_eq!(
        foreign.status,
        StatusCode::FORBIDDEN,
        "another session's token"
    );
    assert_eq!(case(&app, &reference).state, "received");
    assert!(audit_of(&app, "accept").is_empty());

    // The login form too: without the cookie's matching token there is no sign-in.
    let mut fresh = ConsoleClient::new(&app);
    let p = fresh
        .post_raw(
            "/console/login",
            &[
                ("username".into(), "tashi".into()),
                ("password".into(), PASSWORD.into()),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(!fresh.cookies.contains_key("hotline_session"));

    // Every POST route of the console, as an admin (whom no role check stops) sending every
    // field any of its forms reads, but no token: each is refused and nothing changes.
    insert_referral(&app, "ref-csrf", &reference, "发改");
    let mut admin = ConsoleClient::login(&app, "admin", PASSWORD).await;
    admin.get("/console/").await;
    let before = row_counts(&app);
    let fields: Vec<(String, String)> = [
        ("action", "close"),
        ("reason", "理由"),
        ("note", "备注"),
        ("to", "tashi"),
        ("recovered_yuan", "100"),
        ("text", "您好"),
        ("department", "发改"),
        ("body", "已收到"),
        ("op", "add"),
        ("username", "mallory"),
        ("display_name", "Mallory"),
        ("role", "admin"),
        ("password", "password-5678"),
        ("code", "新部门"),
        ("name_zh", "新部门"),
        ("active", "1"),
        ("phone", "13900000009"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let routes = hotline::web::console::post_paths();
    assert!(routes.len() >= 10, "{routes:?}");
    for route in &routes {
        let uri = route
            .replace("{reference}", &reference)
            .replace("{id}", "ref-csrf");
        let p = admin.post_raw(&uri, &fields).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{uri}");
        assert!(p.body.contains("表单已过期"), "{uri}: {}", p.body);
    }
    assert_eq!(row_counts(&app), before);
    assert_eq!(case(&app, &reference).state, "received");
    assert_eq!(
        admin.get("/console/users").await.status,
        StatusCode::OK,
        "still signed in"
    );

    // With the token it works.
    let ok = c.post(&uri, &[("action", "accept")]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(case(&app, &reference).state, "accepted");
}

/// Rows in each table a console form writes to.
fn row_counts(app: &TestApp) -> Vec<(&'static str, i64)> {
    use hotline::db::schema::{
        contacts, departments, jobs, messages, referral_updates, sessions, users,
    };
    let c = &mut *app.conn();
    vec![
        (
            "audit_events",
            audit_events::table.count().get_result(c).unwrap(),
        ),
        ("messages", messages::table.count().get_result(c).unwrap()),
        (
            "workers",
            hotline::db::schema::workers::table
                .count()
                .get_result(c)
                .unwrap(),
        ),
        ("contacts", contacts::table.count().get_result(c).unwrap()),
        ("users", users::table.count().get_result(c).unwrap()),
        (
            "departments",
            departments::table.count().get_result(c).unwrap(),
        ),
        ("sessions", sessions::table.count().get_result(c).unwrap()),
        ("jobs", jobs::table.count().get_result(c).unwrap()),
        ("referrals", referrals::table.count().get_result(c).unwrap()),
        (
            "referral_updates",
            referral_updates::table.count().get_result(c).unwrap(),
        ),
    ]
}

#[actix_web::test]
async fn repeated_wrong_passwords_are_slowed_down() {
    let (app, _, _) = setup(|c| {
        c.console.login_attempts_per_account = 3;
        c.console.login_attempts_per_address = 6;
    })
    .await;
    let mut c = ConsoleClient::new(&app);
    for _ in 0..3 {
        let p = c.try_login("tashi", "wrong-password").await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED);
        assert!(p.body.contains("用户名或密码不正确"));
    }
    // Now even the right password waits: the account is being guessed.
    let p = c.try_login("tashi", PASSWORD).await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = p.retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(!c.cookies.contains_key("hotline_session"));
    // From another address the account is still held back.
    let mut elsewhere = ConsoleClient::new(&app);
    elsewhere.peer = "10.9.9.9:1234".parse().unwrap();
    assert_eq!(
        elsewhere.try_login("tashi", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another account from the first address still gets in, until the address is spent.
    assert_eq!(
        c.try_login("kezhang", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    for name in ["admin", "fagai"] {
        c.try_login(name, "wrong-password").await;
    }
    assert_eq!(
        c.try_login("zhujian", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert!(app.web.login_limits.len() >= 2);
    let (_, metrics) = app.get("/metrics").await;
    assert!(
        metrics.contains("hotline_console_logins_total{outcome=\"limited\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hotline_console_logins_total{outcome=\"failed\"} 5"),
        "{metrics}"
    );
}

#[actix_web::test]
async fn each_role_sees_only_what_it_may() {
    let (app, project_ref, other_ref) = setup(|_| {}).await;
    insert_referral(&app, "r-fagai", &project_ref, "发改");
    insert_referral(&app, "r-zhujian", &other_ref, "住建");

    let mut fagai = ConsoleClient::login(&app, "fagai", PASSWORD).await;
    let p = fagai.get("/console/").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location.as_deref(), Some("/console/referrals"));
    for uri in [
        format!("/console/cases/{project_ref}"),
        "/console/users".to_string(),
        "/console/departments".to_string(),
        "/console/channels".to_string(),
        "/console/simulator".to_string(),
    ] {
        assert_eq!(fagai.get(&uri).await.status, StatusCode::FORBIDDEN, "{uri}");
    }
    let list = fagai.get("/console/referrals").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(&project_ref));
    assert!(
        !list.body.contains(&other_ref),
        "another department's referral"
    );
    let page = fagai.get("/console/referrals/r-fagai").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("拉萨北环路") || page.body.contains("P2026-001"));
    for phone in [ANON, NAMED, "912345678", "5678"] {
        assert!(
            !page.body.contains(phone),
            "a liaison never sees a complainant: {phone}"
        );
    }
    assert_eq!(
        fagai.get("/console/referrals/r-zhujian").await.status,
        StatusCode::NOT_FOUND
    );
    let p = fagai
        .post("/console/referrals/r-zhujian", &[("action", "ack")])
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND, "nor act on it");
    // Acknowledging its own referral is confirmed, and the page's labels are its own
    // (one 状态 for the case, one for the referral; no "写入邮件" meant for the inspector).
    let page = fagai.get("/console/referrals/r-fagai").await;
    assert_eq!(page.body.matches(">状态<").count(), 0, "{}", page.body);
    assert!(page.body.contains("案件状态") && page.body.contains("转办状态"));
    assert!(!page.body.contains("写入邮件"));

    // An inspector works cases but manages no one and approves no extension.
    let mut tashi = ConsoleClient::login(&app, "tashi", PASSWORD).await;
    assert_eq!(
        tashi.get("/console/users").await.status,
        StatusCode::FORBIDDEN
    );
    let list = tashi.get("/console/referrals").await;
    assert!(list.body.contains(&project_ref) && list.body.contains(&other_ref));
    // Both departments are past their deadline: the queue flags the cases waiting on one.
    diesel::update(referrals::table)
        .set(referrals::reminder_due.eq(app.state.config.today() - chrono::Duration::days(1)))
        .execute(&mut *app.conn())
        .unwrap();
    let q = tashi.get("/console/").await;
    assert_eq!(q.body.matches("转办超期未复").count(), 2);
    tashi.get(&format!("/console/cases/{project_ref}")).await;
    let uri = format!("/console/cases/{project_ref}/action");
    assert_eq!(
        tashi.post(&uri, &[("action", "accept")]).await.status,
        StatusCode::SEE_OTHER
    );
    let p = tashi
        .post(
            &uri,
            &[("action", "request_extension"), ("reason", "账目复杂")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(
        tashi.post(&uri, &[("action", "extend")]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(case(&app, &project_ref).extension_days, 0);
    let mut kezhang = ConsoleClient::login(&app, "kezhang", PASSWORD).await;
    let page = kezhang.get(&format!("/console/cases/{project_ref}")).await;
    assert!(
        page.body.contains(" · TASHI</span>"),
        "the timeline names who did it"
    );
    assert!(
        page.body.contains("已申请延期"),
        "the supervisor sees the request"
    );
    assert_eq!(
        kezhang.post(&uri, &[("action", "extend")]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(case(&app, &project_ref).extension_days, 30);

    let mut admin = ConsoleClient::login(&app, "admin", PASSWORD).await;
    assert_eq!(admin.get("/console/users").await.status, StatusCode::OK);
    // A liaison's acknowledgement is confirmed on the page it lands on.
    let p = fagai
        .submit("/console/referrals/r-fagai", &[("action", "ack")])
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("已确认收到"), "{}", p.body);
}

#[actix_web::test]
async fn the_queue_sorts_by_nearest_deadline_filters_and_audits_phone_searches() {
    let (app, project_ref, other_ref) = setup(|_| {}).await;
    let today = app.state.config.today();
    // The other case is due first.
    diesel::update(cases::table.filter(cases::reference.eq(&other_ref)))
        .set(cases::accept_due.eq(Some(today - chrono::Duration::days(1))))
        .execute(&mut *app.conn())
        .unwrap();
    let mut c = ConsoleClient::login(&app, "tashi", PASSWORD).await;
    let q = c.get("/console/").await;
    let (a, b) = (
        q.body.find(&other_ref).unwrap(),
        q.body.find(&project_ref).unwrap(),
    );
    assert!(a < b, "nearest deadline first");
    assert!(q.body.contains("已超期"), "an overdue badge");

    let overdue = c.get("/console/?overdue=1").await;
    assert!(overdue.body.contains(&other_ref) && !overdue.body.contains(&project_ref));
    let by_project = c.get("/console/?project=P2026-001").await;
    assert!(by_project.body.contains(&project_ref) && !by_project.body.contains(&other_ref));
    let by_ref = c.get(&format!("/console/?q={project_ref}")).await;
    assert!(by_ref.body.contains(&project_ref) && !by_ref.body.contains(&other_ref));
    assert!(audit_of(&app, "phone_search").is_empty());

    let by_phone = c.get("/console/?q=13987654321").await;
    assert!(by_phone.body.contains(&other_ref) && !by_phone.body.contains(&project_ref));
    let searches = audit_of(&app, "phone_search");
    assert_eq!(searches.len(), 1, "every search by number is audited");
    assert_eq!(searches[0].actor, "user:tashi");
    assert!(searches[0].detail.as_deref().unwrap().contains(NAMED));

    let bad = c.get("/console/?state=nonsense").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("提交的内容有误"));
}

#[actix_web::test]
async fn actions_and_replies_reach_the_worker_and_the_audit_trail() {
    let (app, _, reference) = setup(|_| {}).await;
    let mut c = ConsoleClient::login(&app, "tashi", PASSWORD).await;
    c.get(&format!("/console/cases/{reference}")).await;
    let before = app.outgoing().len();
    let p = c
        .post(
            &format!("/console/cases/{reference}/action"),
            &[("action", "accept")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let page = c.get(p.location.as_deref().unwrap()).await;
    assert!(page.body.contains("已完成：立案"));
    let out = app.outgoing();
    assert_eq!(out.len(), before + 1);
    assert_eq!(out.last().unwrap().phone, NAMED);
    assert_eq!(out.last().unwrap().kind.as_deref(), Some("case_notice"));

    // A refusal without a reason is turned back with the reason why, and nothing changes.
    let p = c
        .post(
            &format!("/console/cases/{reference}/action"),
            &[("action", "close")],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert!(p.body.contains("当前状态下不能执行此操作"), "{}", p.body);
    assert_eq!(case(&app, &reference).state, "accepted");

    let text = "扎西您好，请明天上午到城关区劳动监察大队，带上工资条。";
    let p = c
        .post(
            &format!("/console/cases/{reference}/reply"),
            &[("text", text)],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let last = app.outgoing().pop().unwrap();
    assert_eq!(last.body, text);
    assert_eq!(last.phone, NAMED);
    assert_eq!(last.encoding, "ucs2");
    let replies = audit_of(&app, "reply");
    assert_eq!(replies.len(), 1);
    assert!(replies[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("\"segments\":1"));
    let page = c.get(&format!("/console/cases/{reference}")).await;
    assert!(page.body.contains(text), "the conversation shows the reply");
    assert!(page.body.contains("id=\"reply-meter\""));

    let empty = c
        .post(
            &format!("/console/cases/{reference}/reply"),
            &[("text", "  ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn an_admin_sees_each_channels_queue_and_last_activity() {
    let (app, _, _) = setup(|_| {}).await;
    // setup's workers wrote through the kannel channel, whose gateway is unreachable: their
    // replies wait.
    let mut admin = ConsoleClient::login(&app, "admin", PASSWORD).await;
    let page = admin.get("/console/channels").await;
    assert_eq!(page.status, StatusCode::OK);
    let row = page
        .body
        .split("<tr")
        .find(|r| r.contains("data-channel=\"kannel\""))
        .unwrap_or_default()
        .to_string();
    let waiting = app
        .outgoing()
        .iter()
        .filter(|m| m.status == "queued")
        .count();
    assert!(waiting > 0);
    assert!(
        row.contains(&format!("class=\"num\">{waiting}</td>")),
        "{row}"
    );
    assert!(row.contains("默认") && row.contains("kannel"), "{row}");
    assert!(
        !page.body.contains("data-channel=\"simulator\""),
        "the console's own channel is not a gateway"
    );
    let mut inspector = ConsoleClient::login(&app, "tashi", PASSWORD).await;
    assert_eq!(
        inspector.get("/console/channels").await.status,
        StatusCode::FORBIDDEN
    );
}

#[actix_web::test]
async fn a_stalled_dialog_waits_in_the_queue_for_a_call_back() {
    let (app, _, _) = setup(|_| {}).await;
    const STUCK: &str = "13900007777";
    for (i, text) in ["欠薪", "拉萨某劳务队", "不知道", "不知道", "不知道"]
        .iter()
        .enumerate()
    {
        app.kannel_mo(STUCK, text, &format!("s{i}")).await;
    }
    let reference: String = cases::table
        .filter(cases::employer.eq("拉萨某劳务队"))
        .select(cases::reference)
        .first(&mut *app.conn())
        .unwrap();
    let mut c = ConsoleClient::login(&app, "tashi", PASSWORD).await;
    let row = queue_row(&mut c, &reference).await;
    assert!(row.contains("待回电"), "{row}");
    let page = c.get(&format!("/console/cases/{reference}")).await;
    assert!(page.body.contains("待回电补全"), "{}", page.body);
    let complaint: String = hotline::db::schema::complaints::table
        .inner_join(cases::table)
        .filter(cases::reference.eq(&reference))
        .select(hotline::db::schema::complaints::id)
        .first(&mut *app.conn())
        .unwrap();
    let done = c
        .post(
            &format!("/console/cases/{reference}/callback"),
            &[("complaint", complaint.as_str())],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let page = c.get(&format!("/console/cases/{reference}")).await;
    assert!(!page.body.contains("待回电补全"), "{}", page.body);
    assert_eq!(audit_of(&app, "callback_done").len(), 1);
    let row = queue_row(&mut c, &reference).await;
    assert!(!row.contains("待回电"), "{row}");
}

/// The queue's row for a case, as the page shows it.
async fn queue_row(c: &mut ConsoleClient<'_>, reference: &str) -> String {
    let queue = c.get("/console/").await;
    queue
        .body
        .split("<tr")
        .find(|r| r.contains(reference))
        .unwrap_or_default()
        .to_string()
}

#[actix_web::test]
async fn a_complainants_number_is_shown_only_on_request_and_audited() {
    let (app, _, reference) = setup(|_| {}).await;
    let mut c = ConsoleClient::login(&app, "tashi", PASSWORD).await;
    let page = c.get(&format!("/console/cases/{reference}")).await;
    assert!(!page.body.contains(NAMED), "masked by default");
    assert!(page.body.contains("+86139****4321"), "{}", page.body);
    let posted = c
        .post(&format!("/console/cases/{reference}/identity"), &[])
        .await;
    // Back to a GET, so a reload does not post (and audit) again.
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    let back = posted.location.clone().unwrap();
    let shown = c.get(&back).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains(NAMED));
    let again = c.get(&back).await;
    assert!(again.body.contains(NAMED), "a reload shows them still");
    let views = audit_of(&app, "identity_viewed");
    assert_eq!(views.len(), 1, "reloading wrote no second event");
    assert_eq!(views[0].actor, "user:tashi");
    // The same link in another inspector's hands shows nothing they did not ask for.
    let mut other = ConsoleClient::login(&app, "admin", PASSWORD).await;
    let page = other.get(&back).await;
    assert!(!page.body.contains(NAMED), "not audited for admin: masked");
}

#[actix_web::test]
async fn the_simulator_answers_through_the_router_and_sends_nothing() {
    let (app, _, _) = setup(|_| {}).await;
    let mut c = ConsoleClient::login(&app, "tashi", PASSWORD).await;
    c.get("/console/simulator").await;
    let steps = ["欠薪", "达孜建材厂", "3", "2", "5000", "4", "2", "1"];
    for text in steps {
        let p = c
            .post(
                "/console/simulator",
                &[("phone", "9"), ("lang", "zh"), ("text", text)],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
    }
    let page = c.get("/console/simulator?phone=9&lang=zh").await;
    assert!(page.body.contains("投诉已登记"), "{}", page.body);
    let sim: Vec<_> = app
        .outgoing()
        .into_iter()
        .filter(|m| m.channel_id == "simulator")
        .collect();
    assert_eq!(
        sim.len(),
        steps.len(),
        "one reply per message, on the simulator channel"
    );
    app.dispatch_all(5).await;
    assert!(app
        .outgoing()
        .iter()
        .all(|m| m.channel_id != "kannel" || m.phone != "+8610000000009"));
    let q = c.get("/console/").await;
    assert!(q.body.contains("达孜建材厂"));
    assert!(q.body.contains("模拟"), "training cases are marked");
}

#[actix_web::test]
async fn an_admin_adds_and_disables_users_and_a_disabled_user_is_signed_out() {
    let (app, _, _) = setup(|_| {}).await;
    let mut admin = ConsoleClient::login(&app, "admin", PASSWORD).await;
    admin.get("/console/users").await;
    let p = admin
        .post(
            "/console/users",
            &[
                ("op", "add"),
                ("username", "pema"),
                ("display_name", "白玛"),
                ("role", "liaison"),
                ("department", "住建"),
                ("password", "another-pass-1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = admin.get(p.location.as_deref().unwrap()).await;
    assert!(p.body.contains("已创建用户 pema"), "{}", p.body);
    let mut pema = ConsoleClient::login(&app, "pema", "another-pass-1").await;
    assert_eq!(pema.get("/console/referrals").await.status, StatusCode::OK);
    let short = admin
        .post(
            "/console/users",
            &[
                ("op", "add"),
                ("username", "x1"),
                ("display_name", "X"),
                ("role", "inspector"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    // Said in Chinese, and what was typed is still there (but not the password).
    assert!(
        short.body.contains("密码至少需要 10 个字符"),
        "{}",
        short.body
    );
    assert!(short.body.contains(r#"value="x1""#), "{}", short.body);
    assert!(!short.body.contains(r#"value="short""#));
    let taken = admin
        .post(
            "/console/users",
            &[
                ("op", "add"),
                ("username", "pema"),
                ("display_name", "另一个白玛"),
                ("role", "officer"),
                ("password", "another-pass-2"),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST);
    assert!(
        taken.body.contains("用户名 pema 已被使用"),
        "{}",
        taken.body
    );
    assert!(taken.body.contains("另一个白玛"));
    assert!(
        taken.body.contains(r#"<option value="officer" selected>"#),
        "the role chosen stays chosen"
    );
    let p = admin
        .submit("/console/users", &[("op", "disable"), ("username", "pema")])
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("已停用 pema"), "{}", p.body);
    assert_eq!(
        pema.get("/console/referrals").await.status,
        StatusCode::SEE_OTHER,
        "signed out"
    );
    assert_eq!(
        pema.try_login("pema", "another-pass-1").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        audit_of(&app, "user_admin").len(),
        2,
        "the refused one changed nothing"
    );
}

#[actix_web::test]
async fn the_monthly_report_shows_figures_and_charts_and_exports_csv() {
    let (app, _, _) = setup(|_| {}).await;
    let month = app.state.config.today().format("%Y-%m").to_string();
    let mut c = ConsoleClient::login(&app, "tashi", PASSWORD).await;
    let page = c.get(&format!("/console/reports?month={month}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<svg"), "charts");
    assert!(page.body.contains("城关区"));
    assert!(page.body.contains("9,800"), "owed this month: 9,000 + 800");
    assert!(
        page.body.contains("尚未结束"),
        "the current month is provisional"
    );
    let csv = c.get(&format!("/console/reports/{month}.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with('\u{feff}'), "a BOM for Excel");
    assert!(csv.body.contains("城关区"));
    let default = c.get("/console/reports").await;
    assert_eq!(default.status, StatusCode::OK, "opens on last month");
    assert_eq!(
        c.get("/console/reports?month=2026-13").await.status,
        StatusCode::BAD_REQUEST
    );
    let mut fagai = ConsoleClient::login(&app, "fagai", PASSWORD).await;
    assert_eq!(
        fagai
            .get(&format!("/console/reports/{month}.csv"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[actix_web::test]
async fn referring_needs_a_department_address_and_says_so_in_chinese() {
    let (app, project_ref, _) = setup(|_| {}).await;
    let mut c = ConsoleClient::login(&app, "tashi", PASSWORD).await;
    let page = c.get(&format!("/console/cases/{project_ref}")).await;
    assert!(
        page.body.contains("未设置邮箱"),
        "the form says which departments cannot be chosen"
    );
    let p = c
        .post(
            &format!("/console/cases/{project_ref}/refer"),
            &[("department", "发改"), ("reason", "请核查资金")],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert!(p.body.contains("尚未设置转办邮箱"), "{}", p.body);
    let n: i64 = referrals::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(n, 0);

    // The admin adds the address; now the referral goes, and the email waits in the queue.
    let mut admin = ConsoleClient::login(&app, "admin", PASSWORD).await;
    admin.get("/console/departments").await;
    let p = admin
        .submit(
            "/console/departments",
            &[
                ("op", "edit"),
                ("code", "发改"),
                ("name_zh", "发展和改革委员会"),
                ("email", "fagai@bureau.example"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("已保存 发改"), "{}", p.body);
    c.get(&format!("/console/cases/{project_ref}")).await;
    let p = c
        .post(
            &format!("/console/cases/{project_ref}/refer"),
            &[("department", "发改"), ("reason", "请核查资金")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    // Referred, but the email still waits (no mail server): the case page says so instead of
    // "sent".
    let case_page = c.get(&format!("/console/cases/{project_ref}")).await;
    assert!(case_page.body.contains("邮件待发出"), "{}", case_page.body);
    assert!(!case_page.body.contains("邮件已发出"));
    let page = admin.get("/console/departments").await;
    assert!(page.body.contains("fagai@bureau.example"));
    assert!(
        page.body.contains("尚未配置 SMTP"),
        "the admin sees why nothing is sent"
    );
    assert!(
        page.body.contains(&project_ref),
        "the waiting email's subject names the case"
    );

    // A failed email can be put back in the queue.
    let id: String = hotline::db::schema::jobs::table
        .select(hotline::db::schema::jobs::id)
        .first(&mut *app.conn())
        .unwrap();
    diesel::update(hotline::db::schema::jobs::table.find(&id))
        .set((
            hotline::db::schema::jobs::status.eq("failed"),
            hotline::db::schema::jobs::last_error.eq(Some("550 mailbox unavailable")),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    let page = admin.get("/console/departments").await;
    assert!(page.body.contains("550 mailbox unavailable"));
    // The inspector is told too, on the case, with the reason: the department does not know.
    let case_page = c.get(&format!("/console/cases/{project_ref}")).await;
    assert!(
        case_page.body.contains("邮件发送失败"),
        "{}",
        case_page.body
    );
    assert!(case_page.body.contains("550 mailbox unavailable"));
    assert!(case_page.body.contains("部门还不知道这件转办"));
    let p = admin
        .submit(&format!("/console/jobs/{id}/retry"), &[])
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("已重新排队"));
    let status: String = hotline::db::schema::jobs::table
        .find(&id)
        .select(hotline::db::schema::jobs::status)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(status, "queued");
    assert_eq!(
        c.post(&format!("/console/jobs/{id}/retry"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

/// `templates_dir` replaces any part: an SMS, an email subject, a console page and a UI
/// string; one that does not compile stops start-up, naming the file.
#[actix_web::test]
async fn every_template_is_overridable_from_templates_dir() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("zh/help.hbs", "本地帮助 {{sender}}\n");
    write("email/referral.subject.hbs", "本地协查函 {{reference}}");
    write("console/login.hbs", "<h1>{{t.app.name}}</h1>");
    write("console/zh.toml", "[app]\nname = \"本地热线\"\n");
    let templates_dir = dir.path().to_path_buf();
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |c| {
        c.templates_dir = Some(templates_dir)
    });

    app.kannel_mo(ANON, "帮助", "h1").await;
    let reply = app.outgoing().pop().unwrap();
    assert!(reply.body.starts_with("本地帮助 "), "{}", reply.body);
    let subject = app
        .state
        .templates
        .email_part(
            "referral",
            "subject",
            &serde_json::json!({ "reference": "Q1" }),
        )
        .unwrap();
    assert_eq!(subject, "本地协查函 Q1");
    let (status, body) = app.get("/console/login").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "<h1>本地热线</h1>");

    write("console/queue.hbs", "{{#> layout}}");
    let tdb = crate::support::db::TestDb::new();
    let config = hotline::config::Config {
        database_url: tdb.url.clone(),
        templates_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let e = hotline::AppState::with_db(config, tdb.db.clone())
        .err()
        .expect("a broken override stops start-up")
        .to_string();
    let file = dir.path().join("console/queue.hbs");
    assert!(e.contains(&file.display().to_string()), "{e}");
}

/// The channels page's lookups (outbox::channel_activity, as diesel writes them) each read one
/// entry of an index made for them instead of every message of the channel, which took ~150 ms
/// a lookup with a million alerts queued; the queue depth counts index entries only.
/// PostgreSQL's plans depend on its statistics: they were checked on a million rows by hand
/// (migrations/postgres/2026-12-05-000001_channel_activity_indexes).
#[test]
fn the_channels_page_lookups_are_index_seeks_on_sqlite() {
    #[derive(QueryableByName)]
    struct Step {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }
    let tdb = crate::support::db::TestDb::sqlite();
    let mut conn = tdb.db.get().unwrap();
    let of = "(`messages`.`channel_id` = ?) AND (`messages`.`direction` = ?)";
    let cases = [
        (
            "SELECT max(`messages`.`created_at`) FROM `messages` \
             WHERE ((`messages`.`channel_id` = ?) AND direction = 'in') LIMIT ?"
                .to_string(),
            "SEARCH messages USING COVERING INDEX messages_received_idx (channel_id=?)",
        ),
        (
            "SELECT max(`messages`.`sent_at`) FROM `messages` \
             WHERE ((`messages`.`channel_id` = ?) AND (`messages`.`sent_at` IS NOT NULL)) LIMIT ?"
                .to_string(),
            "SEARCH messages USING COVERING INDEX messages_sent_idx (channel_id=? AND sent_at>?)",
        ),
        (
            format!(
                "SELECT `messages`.`updated_at`, `messages`.`last_error` FROM `messages` \
                 WHERE (({of}) AND (`messages`.`last_error` IS NOT NULL)) \
                 ORDER BY `messages`.`updated_at` DESC LIMIT ?"
            ),
            "SEARCH messages USING INDEX messages_error_idx (channel_id=? AND direction=?)",
        ),
        (
            "SELECT COUNT(*) FROM `messages` WHERE ((`messages`.`channel_id` = ?) \
             AND (`messages`.`status` IN (?, ?)))"
                .to_string(),
            "SEARCH messages USING COVERING INDEX messages_outbox_idx (channel_id=? AND status=?)",
        ),
    ];
    for (sql, expected) in cases {
        let plan: Vec<String> = hotline::per_backend!(&mut *conn, c => {
            diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}")).load::<Step>(c)
        })
        .unwrap()
        .into_iter()
        .map(|s| s.detail)
        .collect();
        assert_eq!(plan, [expected], "{sql}");
    }
}

/// The login form's CSRF token is signed: a token someone planted as a cookie and copied into a
/// forged form is refused, though the two match (issue 13, defect 6); the form's own works.
#[actix_web::test]
async fn a_planted_login_token_is_refused() {
    let app = TestApp::new();
    crate::support::console::add_user(
        &app,
        "tashi",
        hotline::accounts::users::UserRole::Inspector,
        None,
    );
    let forged = crate::support::app::form(&[
        ("csrf", "planted-token"),
        ("username", "tashi"),
        ("password", crate::support::console::PASSWORD),
        ("next", "/console/"),
    ]);
    let (status, _, body) = app
        .send(
            actix_web::test::TestRequest::post()
                .uri("/console/login")
                .insert_header(("cookie", "hotline_login_csrf=planted-token"))
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(forged),
        )
        .await;
    assert_eq!(status, actix_web::http::StatusCode::FORBIDDEN, "{body}");
    let mut c = crate::support::console::ConsoleClient::new(&app);
    let signed_in = c
        .try_login("tashi", crate::support::console::PASSWORD)
        .await;
    assert_eq!(signed_in.status, actix_web::http::StatusCode::SEE_OTHER);
}

/// The simulator never reads or writes a real worker (issue 13, defect 2): its numbers are a
/// reserved range, a real number is refused and left as it was, every simulated SMS is audited,
/// and a real gateway cannot send from a simulator number.
#[actix_web::test]
async fn the_simulator_cannot_touch_a_real_worker() {
    let (app, _, _) = setup(|_| {}).await;
    // A real worker, who chose Chinese.
    app.kannel_mo("8613900000041", "帮助", "r1").await;
    let before = app.contact("+8613900000041").unwrap();
    let mut c = ConsoleClient::login(&app, "tashi", PASSWORD).await;
    c.get("/console/simulator").await;
    for text in ["STOP", "CX", "ཀ"] {
        let p = c
            .post(
                "/console/simulator",
                &[("phone", "13900000041"), ("lang", "bo"), ("text", text)],
            )
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST);
        assert!(p.body.contains("不能用真实工人的号码"), "{}", p.body);
    }
    let after = app.contact("+8613900000041").unwrap();
    assert_eq!(
        (after.opted_out, after.language, after.opt_changed_via),
        (before.opted_out, before.language, before.opt_changed_via)
    );
    let ok = c
        .post("/console/simulator", &[("phone", "42"), ("text", "STOP")])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let audited: Vec<AuditEvent> = audit_events::table
        .filter(audit_events::subject.eq("simulator"))
        .select(AuditEvent::as_select())
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].actor, "user:tashi");
    assert!(audited[0]
        .detail
        .as_deref()
        .unwrap_or("")
        .contains("+8610000000042"));
    // A real gateway sending from a simulator number is refused, and nothing is stored.
    let n = app.messages().len();
    let (s, _) = app.kannel_mo("8610000000042", "帮助", "r2").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(app.messages().len(), n);
}

/// Adding a department whose code exists is refused (it used to overwrite the department's
/// name and erase its address); editing is explicit, and a department with open referrals
/// keeps an address and stays active.
#[actix_web::test]
async fn adding_an_existing_department_is_refused_and_open_referrals_keep_its_address() {
    let (app, _, reference) = setup(|_| {}).await;
    let mut admin = ConsoleClient::login(&app, "admin", PASSWORD).await;
    admin.get("/console/departments").await;
    let before: (String, Option<String>) = hotline::db::schema::departments::table
        .find("交通")
        .select((
            hotline::db::schema::departments::name_zh,
            hotline::db::schema::departments::email,
        ))
        .first(&mut *app.conn())
        .unwrap();
    let p = admin
        .post(
            "/console/departments",
            &[
                ("op", "add"),
                ("code", "交通"),
                ("name_zh", "重复"),
                ("email", ""),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert!(p.body.contains("简称“交通”已存在"), "{}", p.body);
    assert!(p.body.contains(r#"value="重复""#), "what was typed stays");
    let after: (String, Option<String>) = hotline::db::schema::departments::table
        .find("交通")
        .select((
            hotline::db::schema::departments::name_zh,
            hotline::db::schema::departments::email,
        ))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(before, after, "nothing overwritten");

    // Given an address, 交通 gets a referral; while it is open, the address cannot be
    // cleared, nor the department switched off.
    let p = admin
        .submit(
            "/console/departments",
            &[
                ("op", "edit"),
                ("code", "交通"),
                ("name_zh", "交通运输局"),
                ("email", "jt@bureau.example"),
                ("active", "1"),
            ],
        )
        .await;
    assert!(p.body.contains("已保存 交通"), "{}", p.body);
    insert_referral(&app, "r-jt", &reference, "交通");
    admin.get("/console/departments").await;
    for fields in [
        vec![
            ("op", "edit"),
            ("code", "交通"),
            ("name_zh", "交通运输局"),
            ("email", ""),
            ("active", "1"),
        ],
        vec![
            ("op", "edit"),
            ("code", "交通"),
            ("name_zh", "交通运输局"),
            ("email", "jt@bureau.example"),
        ],
    ] {
        let p = admin.post("/console/departments", &fields).await;
        assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.body);
        assert!(p.body.contains("未办结的转办"), "{}", p.body);
    }
    let email: Option<String> = hotline::db::schema::departments::table
        .find("交通")
        .select(hotline::db::schema::departments::email)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(email.as_deref(), Some("jt@bureau.example"));
    // A new address is fine.
    let p = admin
        .submit(
            "/console/departments",
            &[
                ("op", "edit"),
                ("code", "交通"),
                ("name_zh", "交通运输局"),
                ("email", "new@bureau.example"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("new@bureau.example"));
}

/// A session that ended while the inspector typed a reply: the post goes to sign-in, and
/// signing in returns to the case page they were on (where the browser restores the text,
/// `layout.hbs`), not to the form's target, which has no page (it was a 404).
#[actix_web::test]
async fn a_form_sent_after_the_session_ended_returns_to_its_page_after_sign_in() {
    let (app, reference, _) = setup(|_| {}).await;
    let mut c = ConsoleClient::login(&app, "tashi", PASSWORD).await;
    c.get(&format!("/console/cases/{reference}")).await;
    diesel::delete(hotline::db::schema::sessions::table)
        .execute(&mut *app.conn())
        .unwrap();
    let csrf = c.csrf.clone();
    let p = c
        .send(
            actix_web::test::TestRequest::post()
                .uri(&format!("/console/cases/{reference}/reply"))
                .insert_header((
                    "referer",
                    format!("http://127.0.0.1:8080/console/cases/{reference}"),
                ))
                .set_form([
                    ("csrf", csrf.as_str()),
                    ("body", "您好，我们已联系用人单位。"),
                ]),
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let to = p.location.unwrap();
    assert!(
        to.starts_with("/console/login?next=") && to.contains("%2Fconsole%2Fcases%2F"),
        "{to}"
    );
    assert!(!to.contains("reply"), "{to}");
    let next = format!("/console/cases/{reference}");
    let login = c.get(&to).await;
    assert!(login.body.contains(&next), "the login form carries next");
    let p = c
        .post(
            "/console/login",
            &[
                ("username", "tashi"),
                ("password", PASSWORD),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(p.location.as_deref(), Some(next.as_str()));
    // The page has the script that keeps typed text until the form has gone through.
    let page = c.get(&next).await;
    assert!(
        page.body.contains("sessionStorage"),
        "draft keeping is on the page"
    );
}
