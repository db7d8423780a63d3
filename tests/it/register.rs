//! The labour-force register: CSV import (Chinese or English headers, all or nothing, consent
//! only with its proof), export and its round trip, the one-time invitation, the console and
//! API for officers only, audited phone searches and edits.

use actix_web::http::StatusCode;
use diesel::prelude::*;
use hotline::accounts::tokens::Role;
use hotline::accounts::users::UserRole;
use hotline::alerts::register::{self, Worker};
use hotline::db::models::{AuditEvent, Language, Message, PRIORITY_BULK};
use hotline::db::schema::{audit_events, contacts, workers};
use serde_json::{json, Value};

use crate::support::app::{form, TestApp};
use crate::support::console::{add_user, ConsoleClient, PASSWORD};

const ZH_FILE: &str = "\u{FEFF}电话,姓名,县区,乡镇,村,性别,出生年份,工种,培训,语言,就业状态,同意接收招工信息,同意方式\n\
    13900000001,扎西,城关区,纳金乡,塔玛村,男,1990,建筑、运输,挖掘机操作,藏文,求职,是,村委会纸质签字 2026-11-03\n\
    139 0000 0002,卓玛,曲水县,,,女,1995,家政,,中文,在岗,否,\n\
    13900000003,次仁,城关区,,,,,餐饮,,双语,求职,,\n";

fn workers_all(app: &TestApp) -> Vec<Worker> {
    workers::table
        .order(workers::created_at)
        .select(Worker::as_select())
        .load(&mut *app.conn())
        .unwrap()
}

fn worker(app: &TestApp, phone: &str) -> Worker {
    let c = app.contact(phone).unwrap();
    register::get(&mut app.conn(), &c.id).unwrap().unwrap()
}

fn import(app: &TestApp, csv: &str, file: &str) -> Result<hotline::projects::ImportReport, String> {
    register::import_csv(
        &mut app.conn(),
        &app.state.config.register_rules(),
        csv.as_bytes(),
        file,
        "test",
    )
    .map_err(|e| e.to_string())
}

fn audit(app: &TestApp, action: &str) -> Vec<AuditEvent> {
    audit_events::table
        .filter(audit_events::action.eq(action))
        .order(audit_events::created_at)
        .select(AuditEvent::as_select())
        .load(&mut *app.conn())
        .unwrap()
}

fn count_rows(app: &TestApp) -> (i64, i64) {
    let c = &mut *app.conn();
    (
        workers::table.count().get_result(c).unwrap(),
        contacts::table.count().get_result(c).unwrap(),
    )
}

#[actix_web::test]
async fn a_chinese_file_imports_every_column_and_consent_only_with_its_proof() {
    let app = TestApp::new();
    let r = import(&app, ZH_FILE, "台账.csv").unwrap();
    assert_eq!((r.inserted, r.updated, r.unchanged), (3, 0, 0));
    let tashi = worker(&app, "+8613900000001");
    assert_eq!(tashi.name.as_deref(), Some("扎西"));
    assert_eq!(tashi.county.as_deref(), Some("城关区"));
    assert_eq!(tashi.village.as_deref(), Some("塔玛村"));
    assert_eq!(tashi.gender.as_deref(), Some("m"));
    assert_eq!(tashi.birth_year, Some(1990));
    assert_eq!(tashi.trades, ",construction,transport,");
    assert_eq!(tashi.training.as_deref(), Some("挖掘机操作"));
    assert!(tashi.alerts_consent);
    assert!(tashi.consent_at.is_some());
    assert_eq!(
        tashi.consent_source.as_deref(),
        Some("import 台账.csv line 2: 村委会纸质签字 2026-11-03")
    );
    let c = app.contact("+8613900000001").unwrap();
    assert_eq!((c.language, c.language_chosen), (Language::Bo, true));
    // 否, and an empty cell: no consent.
    let drolma = worker(&app, "+8613900000002");
    assert_eq!(drolma.employment.as_str(), "working");
    assert!(!drolma.alerts_consent && drolma.consent_at.is_none());
    assert!(!worker(&app, "+8613900000003").alerts_consent);
    assert_eq!(
        app.contact("+8613900000003").unwrap().language,
        Language::Both
    );
    // Each worker's creation is in their audit trail.
    let trail = hotline::cases::audit_of(&mut app.conn(), &format!("worker:{}", c.id)).unwrap();
    assert_eq!(trail[0].action, "worker_created");
}

#[actix_web::test]
async fn english_headers_in_any_order_read_the_same() {
    let app = TestApp::new();
    let csv = "employment,Phone,trades,county,name,consent\n\
               seeking,+8613900000011,construction;transport,城关区,扎西,no\n";
    import(&app, csv, "en.csv").unwrap();
    let w = worker(&app, "+8613900000011");
    assert_eq!(w.trades, ",construction,transport,");
    assert_eq!(w.county.as_deref(), Some("城关区"));
    assert!(!w.alerts_consent);
    // No language column: the language stays unchosen.
    assert!(!app.contact("+8613900000011").unwrap().language_chosen);
}

#[actix_web::test]
async fn a_bad_file_lists_every_bad_line_and_writes_nothing() {
    let app = TestApp::new();
    let csv = "电话,姓名,县区,工种,出生年份\n\
               13900000021,扎西,城关区,建筑,1990\n\
               12345,卓玛,城关区,建筑,1990\n\
               13900000023,次仁,拉萨县,建筑,1990\n\
               13900000024,多吉,城关区,挖掘,1990\n\
               13900000025,拉姆,城关区,建筑,19900\n";
    let e = import(&app, csv, "bad.csv").unwrap_err();
    for (line, column) in [(3, "电话"), (4, "县区"), (5, "工种"), (6, "出生年份")] {
        assert!(
            e.contains(&format!("line {line}: {column} ")),
            "line {line} {column}: {e}"
        );
    }
    assert!(!e.contains("line 2"), "{e}");
    assert_eq!(count_rows(&app), (0, 0), "nothing written");
}

#[actix_web::test]
async fn re_importing_updates_and_never_takes_consent_away() {
    let app = TestApp::new();
    import(&app, ZH_FILE, "a.csv").unwrap();
    let before = worker(&app, "+8613900000001");
    // The same file again changes nothing.
    let r = import(&app, ZH_FILE, "a.csv").unwrap();
    assert_eq!((r.inserted, r.updated, r.unchanged), (0, 0, 3));
    // A file without the consent columns updates the rest and leaves consent as it was.
    let csv = "电话,就业状态,工种\n13900000001,在岗,运输\n13900000004,求职,\n";
    let r = import(&app, csv, "b.csv").unwrap();
    assert_eq!((r.inserted, r.updated, r.unchanged), (1, 1, 0));
    let after = worker(&app, "+8613900000001");
    assert_eq!(after.employment.as_str(), "working");
    assert_eq!(after.trades, ",transport,");
    assert_eq!(after.name.as_deref(), Some("扎西"), "absent column kept");
    assert!(after.alerts_consent);
    assert_eq!(after.consent_source, before.consent_source);
    assert_eq!(after.consent_at, before.consent_at);
    // A 否 does not withdraw it either: that is the worker's (T) or the console's to do.
    import(&app, "电话,同意接收招工信息\n13900000001,否\n", "c.csv").unwrap();
    assert!(worker(&app, "+8613900000001").alerts_consent);
    // The update is audited with before and after.
    let updated = audit(&app, "worker_updated");
    let d: Value = serde_json::from_str(updated[0].detail.as_deref().unwrap()).unwrap();
    assert_eq!(d["changes"]["employment"]["before"], "seeking");
    assert_eq!(d["changes"]["employment"]["after"], "working");
    assert_eq!(d["via"], "import b.csv line 2");
}

#[actix_web::test]
async fn the_export_reads_back_as_the_same_register() {
    let app = TestApp::new();
    import(&app, ZH_FILE, "a.csv").unwrap();
    add_user(&app, "officer", UserRole::Officer, None);
    let mut c = ConsoleClient::login(&app, "officer", PASSWORD).await;
    let p = c.get("/console/workers.csv").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.starts_with('\u{FEFF}'), "a BOM for Excel");
    assert!(p.body.contains(
        "电话,姓名,县区,乡镇,村,性别,出生年份,工种,培训,语言,就业状态,同意接收招工信息,同意方式"
    ));
    assert!(p.body.contains(
        "+8613900000001,扎西,城关区,纳金乡,塔玛村,男,1990,建筑、运输,挖掘机操作,藏文,求职,是,"
    ));
    assert_eq!(
        audit(&app, "workers_exported").len(),
        1,
        "the download is audited"
    );

    let other = TestApp::new();
    let r = import(&other, &p.body, "export.csv").unwrap();
    assert_eq!(r.inserted, 3);
    let key = |w: &Worker, a: &TestApp| {
        let c = contacts::table
            .find(&w.contact_id)
            .select((
                contacts::phone,
                contacts::language,
                contacts::language_chosen,
            ))
            .first::<(String, Language, bool)>(&mut *a.conn())
            .unwrap();
        (
            c,
            w.name.clone(),
            w.county.clone(),
            w.township.clone(),
            w.village.clone(),
            w.gender.clone(),
            w.birth_year,
            w.trades.clone(),
            w.training.clone(),
            w.employment,
            w.alerts_consent,
        )
    };
    let mut a: Vec<_> = workers_all(&app).iter().map(|w| key(w, &app)).collect();
    let mut b: Vec<_> = workers_all(&other).iter().map(|w| key(w, &other)).collect();
    a.sort_by(|x, y| x.0 .0.cmp(&y.0 .0));
    b.sort_by(|x, y| x.0 .0.cmp(&y.0 .0));
    assert_eq!(a, b);
    // And exporting the copy gives the same file but for the consent's proof.
    let again = register::export_csv(&mut other.conn(), &other.state.config.alerts.trades).unwrap();
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| l.rsplit_once(',').map_or(l, |(a, _)| a).to_string())
            .collect()
    };
    assert_eq!(strip(&String::from_utf8(again).unwrap()), strip(&p.body));
}

fn invitations(app: &TestApp) -> Vec<Message> {
    app.outgoing()
        .into_iter()
        .filter(|m| m.kind.as_deref() == Some("alert_invite"))
        .collect()
}

#[actix_web::test]
async fn the_invitation_goes_once_in_the_workers_language_never_to_opted_out_or_consenting() {
    let app = TestApp::new();
    let csv = "电话,县区,语言,同意接收招工信息,同意方式\n\
               13900000031,城关区,藏文,,\n\
               13900000032,曲水县,中文,,\n\
               13900000033,城关区,中文,是,电话录音 2026-11-20\n\
               13900000034,城关区,中文,,\n\
               13900000035,,,,\n";
    import(&app, csv, "a.csv").unwrap();
    // 34 opted out (STOP).
    diesel::update(contacts::table.filter(contacts::phone.eq("+8613900000034")))
        .set(contacts::opted_out.eq(true))
        .execute(&mut *app.conn())
        .unwrap();
    let n = register::invite(&app.state, &mut app.conn(), "test").unwrap();
    assert_eq!(n, 3);
    let sent = invitations(&app);
    let to = |phone: &str| sent.iter().find(|m| m.phone == phone);
    let bo = to("+8613900000031").unwrap();
    let zh = to("+8613900000032").unwrap();
    let both = to("+8613900000035").unwrap();
    assert!(to("+8613900000033").is_none(), "consenting already");
    assert!(to("+8613900000034").is_none(), "opted out");
    assert!(
        bo.body.contains("ལས་ཀ") && !bo.body.contains("工作"),
        "{}",
        bo.body
    );
    assert!(
        zh.body.contains("工作") && zh.body.contains('T'),
        "{}",
        zh.body
    );
    assert!(both.body.contains("ལས་ཀ") && both.body.contains("工作"));
    for m in &sent {
        assert_eq!(m.priority, PRIORITY_BULK);
        assert_eq!(m.channel_id, "log");
        assert_eq!(m.status, "queued");
    }
    // One SMS in Chinese, two at most in Tibetan (67 UCS-2 units a part), three in both.
    assert_eq!(hotline::text::sms_size(&zh.body).segments, 1, "{}", zh.body);
    assert!(
        hotline::text::sms_size(&bo.body).segments <= 2,
        "{}",
        bo.body
    );
    assert!(hotline::text::sms_size(&both.body).segments <= 3);
    assert!(worker(&app, "+8613900000031").invited_at.is_some());
    assert!(worker(&app, "+8613900000033").invited_at.is_none());
    // Never twice: not by the command again, nor by the console's button.
    assert_eq!(
        register::invite(&app.state, &mut app.conn(), "test").unwrap(),
        0
    );
    add_user(&app, "officer", UserRole::Officer, None);
    let mut c = ConsoleClient::login(&app, "officer", PASSWORD).await;
    c.get("/console/workers").await;
    let p = c.post("/console/workers/invite", &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location.as_deref(), Some("/console/workers?invited=0"));
    assert_eq!(invitations(&app).len(), 3);
    // A worker added later is invited by the next run.
    import(&app, "电话,语言\n13900000036,中文\n", "b.csv").unwrap();
    let p = c.post("/console/workers/invite", &[]).await;
    assert_eq!(p.location.as_deref(), Some("/console/workers?invited=1"));
    assert_eq!(invitations(&app).len(), 4);
    let page = c.get("/console/workers?invited=1").await;
    assert!(page.body.contains("已排队 1 条邀请短信"), "{}", page.body);
}

#[actix_web::test]
async fn the_invitation_text_fits_its_budget_with_the_configured_names() {
    let app = TestApp::new();
    for (lang, max) in [(Language::Zh, 1), (Language::Bo, 2), (Language::Both, 3)] {
        let body = app
            .state
            .templates
            .render(lang, "alert_invite", &json!({}))
            .unwrap();
        let n = hotline::text::sms_size(&body).segments;
        assert!(n <= max, "{lang:?}: {n} segments: {body}");
    }
}

/// An officer, an admin, a broker, an inspector, and one worker on the register.
async fn with_users() -> (TestApp, String) {
    let app = TestApp::new();
    import(&app, ZH_FILE, "a.csv").unwrap();
    for (u, r) in [
        ("officer", UserRole::Officer),
        ("admin", UserRole::Admin),
        ("broker", UserRole::Broker),
        ("tashi", UserRole::Inspector),
        ("fagai", UserRole::Liaison),
    ] {
        add_user(&app, u, r, (r == UserRole::Liaison).then_some("发改"));
    }
    let id = app.contact("+8613900000001").unwrap().id.to_string();
    (app, id)
}

#[actix_web::test]
async fn brokers_inspectors_and_liaisons_get_403_on_every_register_page() {
    let (app, id) = with_users().await;
    let pages = [
        "/console/workers".to_string(),
        "/console/workers.csv".to_string(),
        format!("/console/workers/{id}"),
    ];
    for user in ["broker", "tashi", "fagai"] {
        let mut c = ConsoleClient::login(&app, user, PASSWORD).await;
        c.get("/console/referrals").await; // a page with the session's CSRF token
        for p in &pages {
            assert_eq!(c.get(p).await.status, StatusCode::FORBIDDEN, "{user} {p}");
        }
        for p in [
            "/console/workers/invite".to_string(),
            format!("/console/workers/{id}"),
        ] {
            let r = c.post(&p, &[("name", "x")]).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{user} POST {p}");
        }
        let nav = c.get("/console/referrals").await.body;
        assert!(
            !nav.contains("/console/workers"),
            "{user} sees no register link"
        );
    }
    assert!(invitations(&app).is_empty());
    assert_eq!(worker(&app, "+8613900000001").name.as_deref(), Some("扎西"));
    for user in ["officer", "admin"] {
        let mut c = ConsoleClient::login(&app, user, PASSWORD).await;
        for p in &pages {
            assert_eq!(c.get(p).await.status, StatusCode::OK, "{user} {p}");
        }
        assert!(c
            .get("/console/workers")
            .await
            .body
            .contains("href=\"/console/workers\""));
    }
}

#[actix_web::test]
async fn the_list_masks_numbers_filters_counts_and_audits_phone_searches() {
    let (app, id) = with_users().await;
    let mut c = ConsoleClient::login(&app, "officer", PASSWORD).await;
    let p = c.get("/console/workers").await;
    assert!(p.body.contains("+86139****0001"), "{}", p.body);
    assert!(
        !p.body.contains("+8613900000001"),
        "no whole number in the list"
    );
    assert!(p.body.contains("台账共 3 人"), "{}", p.body);
    let rows = |body: &str| body.matches("<tr data-id=").count();
    let q = |k: &str, v: &str| format!("/console/workers?{}", form(&[(k, v)]));
    assert_eq!(rows(&c.get(&q("county", "曲水县")).await.body), 1);
    assert_eq!(
        rows(&c.get("/console/workers?trade=construction").await.body),
        1
    );
    assert_eq!(
        rows(&c.get("/console/workers?employment=seeking").await.body),
        2
    );
    assert_eq!(rows(&c.get("/console/workers?language=zh").await.body), 1);
    assert_eq!(rows(&c.get("/console/workers?consent=1").await.body), 1);
    assert_eq!(rows(&c.get(&q("q", "卓玛")).await.body), 1);
    assert!(
        audit(&app, "phone_search").is_empty(),
        "a name search is not"
    );
    let p = c.get("/console/workers?q=139%200000%200001").await;
    assert_eq!(rows(&p.body), 1);
    let searches = audit(&app, "phone_search");
    assert_eq!(searches.len(), 1);
    assert_eq!(searches[0].actor, "user:officer");
    assert_eq!(
        searches[0].subject.as_deref(),
        Some(format!("worker:{id}").as_str())
    );
    // A number not on the register is a search too.
    c.get("/console/workers?q=13900000099").await;
    assert_eq!(
        audit(&app, "phone_search")[1].subject.as_deref(),
        Some("workers")
    );
    // The search shows on the worker's page, in their audit trail.
    let page = c.get(&format!("/console/workers/{id}")).await;
    assert!(page.body.contains("按号码搜索"), "{}", page.body);
    assert!(page
        .body
        .contains("import a.csv line 2: 村委会纸质签字 2026-11-03"));
}

#[actix_web::test]
async fn an_edit_is_checked_like_an_import_and_audited_with_before_and_after() {
    let (app, id) = with_users().await;
    let mut c = ConsoleClient::login(&app, "officer", PASSWORD).await;
    let uri = format!("/console/workers/{id}");
    c.get(&uri).await;
    let fields = |county: &str| {
        vec![
            ("name", "扎西多吉".to_string()),
            ("county", county.to_string()),
            ("township", "纳金乡".into()),
            ("village", "塔玛村".into()),
            ("gender", "m".into()),
            ("birth_year", "1990".into()),
            ("trades", "construction".into()),
            ("trades", "tourism".into()),
            ("training", "".into()),
            ("language", "bo".into()),
            ("employment", "working".into()),
        ]
    };
    let with_csrf = |csrf: &str, f: Vec<(&str, String)>| {
        let mut all = vec![("csrf".to_string(), csrf.to_string())];
        all.extend(f.into_iter().map(|(k, v)| (k.to_string(), v)));
        all
    };
    let form = with_csrf(&c.csrf, fields("拉萨县"));
    let bad = c.post_raw(&uri, &form).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("县区：不在本局的区县列表中"),
        "{}",
        bad.body
    );
    assert_eq!(worker(&app, "+8613900000001").name.as_deref(), Some("扎西"));
    let form = with_csrf(&c.csrf, fields("城关区"));
    let ok = c.post_raw(&uri, &form).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let w = worker(&app, "+8613900000001");
    assert_eq!(w.name.as_deref(), Some("扎西多吉"));
    assert_eq!(w.trades, ",construction,tourism,");
    assert_eq!(w.training, None);
    assert!(w.alerts_consent, "consent kept");
    let e = audit(&app, "worker_updated");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].actor, "user:officer");
    let d: Value = serde_json::from_str(e[0].detail.as_deref().unwrap()).unwrap();
    assert_eq!(
        d["changes"]["name"],
        json!({"before": "扎西", "after": "扎西多吉"})
    );
    assert_eq!(
        d["changes"]["training"],
        json!({"before": "挖掘机操作", "after": null})
    );
    assert!(
        d["changes"].get("county").is_none(),
        "unchanged fields are not listed"
    );
    let page = c.get(&format!("{uri}?saved=true")).await;
    assert!(page.body.contains("姓名：扎西 → 扎西多吉"), "{}", page.body);
    assert!(
        page.body.contains("工种：建筑、运输 → 建筑、旅游"),
        "{}",
        page.body
    );
    assert!(page.body.contains("培训：挖掘机操作 → （空）"));
}

#[actix_web::test]
async fn the_api_serves_officers_and_refuses_brokers_inspectors_and_liaisons() {
    let (app, _) = with_users().await;
    let officer = app.token(Role::Officer, "officer");
    let list = app
        .api(
            "GET",
            &format!("/api/v1/workers?{}", form(&[("county", "城关区")])),
            &officer,
            None,
        )
        .await;
    assert_eq!(list.0, StatusCode::OK, "{}", list.1);
    assert_eq!(list.1["total"], 2);
    assert_eq!(list.1["items"][0]["phone"], "+86139****0001");
    let one = app
        .api("GET", "/api/v1/workers/13900000001", &officer, None)
        .await;
    assert_eq!(one.0, StatusCode::OK);
    assert_eq!(one.1["phone"], "+8613900000001");
    assert_eq!(one.1["trades"], json!(["construction", "transport"]));
    assert_eq!(
        audit(&app, "phone_search").len(),
        1,
        "a look-up by number is audited"
    );
    assert_eq!(
        app.api("GET", "/api/v1/workers/13900000099", &officer, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // PUT: field errors, then a new worker; consent needs its proof.
    let (s, v) = app
        .api(
            "PUT",
            "/api/v1/workers/13900000041",
            &officer,
            Some(json!({"county": "拉萨县", "birth_year": 2020, "trades": ["挖掘"], "consent": true, "colour": "red"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["fields"]["colour"], "unknown field");
    let (s, v) = app
        .api(
            "PUT",
            "/api/v1/workers/13900000041",
            &officer,
            Some(json!({"county": "拉萨县", "birth_year": 2020, "trades": ["挖掘"], "consent": true})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    for f in ["county", "birth_year", "trades", "consent"] {
        assert!(v["fields"][f].is_string(), "{f}: {v}");
    }
    assert!(app.contact("+8613900000041").is_none(), "nothing written");
    let (s, v) = app
        .api(
            "PUT",
            "/api/v1/workers/13900000041",
            &officer,
            Some(json!({"name": "多吉", "county": "城关区", "trades": "建筑、运输", "language": "藏文", "consent": true, "consent_source": "乡镇就业服务站登记表 2026-11-28"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["created"], true);
    assert_eq!(v["worker"]["alerts_consent"], true);
    assert_eq!(v["worker"]["language"], "bo");
    assert_eq!(
        v["worker"]["consent_source"],
        "api token:officer: 乡镇就业服务站登记表 2026-11-28"
    );
    let (s, v) = app
        .api(
            "PUT",
            "/api/v1/workers/13900000041",
            &officer,
            Some(json!({"employment": "在岗"})),
        )
        .await;
    assert_eq!((s, &v["created"]), (StatusCode::OK, &json!(false)));
    assert_eq!(v["worker"]["name"], "多吉", "fields left out stay");

    // Import: all or nothing.
    let auth = format!("Bearer {officer}");
    let post = |csv: &'static str, auth: String| {
        let app = &app;
        async move {
            app.request_with(
                "POST",
                "/api/v1/workers/import",
                &[("authorization", &auth)],
                Some(("text/csv", csv.as_bytes().to_vec())),
            )
            .await
        }
    };
    let before = count_rows(&app);
    let (s, body) = post(
        "phone,county\n13900000051,城关区\n13900000052,拉萨县\nxx,\n",
        auth.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let lines: Vec<i64> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4]);
    assert_eq!(count_rows(&app), before);
    let (s, body) = post("phone,county\n13900000051,城关区\n", auth).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // Every route refuses the other roles.
    for role in [Role::Broker, Role::Inspector, Role::Liaison] {
        let t = app.token(role, &format!("other-{}", role.as_str()));
        for (m, uri, body) in [
            ("GET", "/api/v1/workers", None),
            ("GET", "/api/v1/workers/13900000001", None),
            (
                "PUT",
                "/api/v1/workers/13900000001",
                Some(json!({"name": "x"})),
            ),
        ] {
            let (s, v) = app.api(m, uri, &t, body).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{role:?} {m} {uri}: {v}");
        }
        let (s, _) = app
            .request_with(
                "POST",
                "/api/v1/workers/import",
                &[("authorization", &format!("Bearer {t}"))],
                Some(("text/csv", b"phone\n13900000061\n".to_vec())),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{role:?} import");
    }
    assert_eq!(worker(&app, "+8613900000001").name.as_deref(), Some("扎西"));
    assert!(app.contact("+8613900000061").is_none());
}

#[test]
fn the_workers_commands_import_export_and_invite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("w.db").display());
    let run = |args: &[&str]| crate::support::process::run_hotline(dir.path(), &url, args);
    for verb in ["import", "export", "invite"] {
        let (ok, out, _) = run(&["workers", verb, "--help"]);
        assert!(
            ok && out.contains("Usage: hotline workers"),
            "{verb}: {out}"
        );
    }
    std::fs::write(
        dir.path().join("bad.csv"),
        "电话,县区\n13900000001,拉萨县\n12,城关区\n",
    )
    .unwrap();
    let (ok, _, err) = run(&["workers", "import", "bad.csv"]);
    assert!(!ok);
    assert!(
        err.contains("line 2: 县区 \"拉萨县\"") && err.contains("line 3: 电话 \"12\""),
        "{err}"
    );
    std::fs::write(dir.path().join("a.csv"), ZH_FILE).unwrap();
    let (ok, out, err) = run(&["workers", "import", "a.csv"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "imported a.csv: 3 new, 0 updated");
    let (ok, _, err) = run(&["workers", "export", "--out", "out.csv"]);
    assert!(ok, "{err}");
    let exported = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert!(exported.starts_with("\u{FEFF}电话,姓名"), "{exported}");
    assert_eq!(exported.lines().count(), 4);
    let (ok, out, err) = run(&["workers", "invite"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("2 invitation(s) queued"), "{out}");
    let (_, out, _) = run(&["workers", "invite"]);
    assert!(out.starts_with("0 invitation(s) queued"), "{out}");
}
