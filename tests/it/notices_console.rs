//! Job notices in the console: a broker drafts, sees bad fields named and nothing saved,
//! submits; an officer sees the checks and the preview, returns it, approves it; the broker
//! follows the results and sees only the numbers workers agreed to share. Nobody sees what
//! their role does not allow.

use actix_web::http::StatusCode;
use diesel::prelude::*;
use hotline::accounts::users::UserRole;
use hotline::db::schema::{notice_responses, notices};

use crate::alerts::worker;
use crate::support::app::TestApp;
use crate::support::console::{add_user, ConsoleClient, PASSWORD};

fn form(today: chrono::NaiveDate, op: &'static str) -> Vec<(&'static str, String)> {
    vec![
        ("op", op.to_string()),
        ("title", "曲水县蔬菜大棚招工".into()),
        ("employer", "曲水县净土农业合作社".into()),
        ("county", "曲水县".into()),
        ("place_outside", String::new()),
        ("trade", "farming".into()),
        ("workers_wanted", "15".into()),
        ("wage", "180".into()),
        ("wage_unit", "day".into()),
        ("pay_terms", "每周五现金结清".into()),
        ("start_on", (today + chrono::Duration::days(3)).to_string()),
        ("duration", "2个月".into()),
        ("board_lodging", "lodging".into()),
        ("contact_phone", "139 0891 2222".into()),
        ("project_code", String::new()),
        (
            "valid_until",
            (today + chrono::Duration::days(10)).to_string(),
        ),
        ("text_zh", String::new()),
        ("text_bo", String::new()),
    ]
}

fn pairs<'a>(f: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    f.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[actix_web::test]
async fn a_broker_posts_an_officer_approves_and_the_broker_sees_the_results() {
    let app = TestApp::with_config(|c| c.alerts.send_window = "00:00-24:00".into());
    let today = app.state.config.today();
    add_user(&app, "dawa", UserRole::Broker, None);
    add_user(&app, "other", UserRole::Broker, None);
    add_user(&app, "yangjin", UserRole::Officer, None);
    add_user(&app, "tashi", UserRole::Inspector, None);
    let (zh, bo) = {
        let mut c = app.conn();
        (
            worker(&mut c, "+8613900000401", "zh", "曲水县", ",farming,", true),
            worker(&mut c, "+8613900000402", "bo", "曲水县", ",farming,", true),
        )
    };

    let mut broker = ConsoleClient::login(&app, "dawa", PASSWORD).await;
    let p = broker.get("/console/notices/new").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("起草短信") && p.body.contains("id=\"meter_zh\""));

    // A bad field: said which, nothing saved.
    let mut bad = form(today, "save");
    bad[7].1 = "一百八".into(); // wage
    let p = broker.post("/console/notices", &pairs(&bad)).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.body.contains("data-field=\"wage\""), "{}", p.body);
    assert!(
        p.body.contains("曲水县蔬菜大棚招工"),
        "what was typed stays"
    );
    let count: i64 = notices::table.count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(count, 0);

    // Draft: both texts filled from the fields.
    let p = broker
        .post("/console/notices", &pairs(&form(today, "draft")))
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.body.contains("日薪180元") && p.body.contains("包住"),
        "{}",
        p.body
    );
    assert!(p.body.contains("ཉིན་གླ་སྒོར་"), "a Tibetan draft: {}", p.body);

    let mut f = form(today, "submit");
    f[16].1 =
        "曲水县净土农业合作社招大棚工15人，日薪180元，每周五现金结清，包住。电话13908912222".into();
    f[17].1 = "ཆུ་ཤུར་རྫོང་དུ་ལས་མི་༡༥དགོས། ཉིན་གླ་སྒོར་༡༨༠། ཁ་པར་13908912222".into();
    let p = broker.post("/console/notices", &pairs(&f)).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let at = p.location.unwrap();
    let code = at.rsplit('/').next().unwrap().to_string();
    let p = broker.get(&at).await;
    assert!(
        p.body.contains("待审核") && !p.body.contains("id=\"approve\""),
        "{}",
        p.body
    );

    // Another agency's broker and an inspector see nothing of it.
    let mut other = ConsoleClient::login(&app, "other", PASSWORD).await;
    assert_eq!(other.get(&at).await.status, StatusCode::NOT_FOUND);
    assert!(!other.get("/console/notices").await.body.contains(&code));
    let mut inspector = ConsoleClient::login(&app, "tashi", PASSWORD).await;
    assert_eq!(inspector.get(&at).await.status, StatusCode::FORBIDDEN);
    // A broker has no case queue and no register.
    assert_eq!(
        broker.get("/console/referrals").await.status,
        StatusCode::FORBIDDEN
    );
    let q = broker.get("/console/").await;
    assert_eq!(q.location.as_deref(), Some("/console/notices"));

    // The officer: checks, preview, send back with a reason, then approve.
    let mut officer = ConsoleClient::login(&app, "yangjin", PASSWORD).await;
    let p = officer.get(&at).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("id=\"preview-recipients\">2"), "{}", p.body);
    assert!(p.body.contains("没有发现问题"), "{}", p.body);
    let p = officer
        .post(
            &format!("{at}/decide"),
            &[("op", "return"), ("reason", "请写明工资发放日期")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let p = broker.get(&at).await;
    assert!(
        p.body.contains("请写明工资发放日期") && p.body.contains("id=\"edit\""),
        "{}",
        p.body
    );
    let p = broker.post(&format!("{at}/submit"), &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    // Only Tibetan readers, as the officer chose: the preview follows.
    let p = officer.get(&format!("{at}?preview=1&language=bo")).await;
    assert!(p.body.contains("id=\"preview-recipients\">1"), "{}", p.body);
    let p = officer
        .post(&format!("{at}/decide"), &[("op", "approve")])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    // A broker cannot decide.
    let p = broker
        .post(&format!("{at}/decide"), &[("op", "approve")])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    hotline::alerts::send::queue_pending(app.state.clone()).await;
    app.dispatch_all(10).await;

    // Two answered; one agreed to share their number.
    {
        let id: String = notices::table
            .filter(notices::code.eq(&code))
            .select(notices::id)
            .first(&mut *app.conn())
            .unwrap();
        let t = hotline::db::now();
        for (contact, share) in [(&zh, false), (&bo, true)] {
            diesel::insert_into(notice_responses::table)
                .values((
                    notice_responses::id.eq(hotline::db::new_id()),
                    notice_responses::notice_id.eq(&id),
                    notice_responses::contact_id.eq(contact),
                    notice_responses::share_consent.eq(Some(share)),
                    notice_responses::answered_at.eq(Some(t)),
                    notice_responses::created_at.eq(t),
                    notice_responses::updated_at.eq(t),
                ))
                .execute(&mut *app.conn())
                .unwrap();
        }
    }
    let p = broker.get(&at).await;
    assert!(p.body.contains("id=\"results-total\""), "{}", p.body);
    assert!(
        p.body.contains("<span id=\"interested\">2</span>"),
        "{}",
        p.body
    );
    assert!(p.body.contains("13900000402"), "the number shared");
    assert!(!p.body.contains("13900000401"), "never a number not shared");
    let list = broker.get("/console/notices").await;
    assert!(list.body.contains(&code));
}
