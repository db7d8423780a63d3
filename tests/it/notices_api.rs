//! Job notices over the API, route by route: a broker creates (bad fields named, nothing
//! saved), changes and submits; an officer sees checks and preview, returns, approves; the
//! results; every route refuses the roles it is not for.

use actix_web::http::StatusCode;
use hotline::accounts::tokens::Role;
use serde_json::json;

use crate::alerts::worker;
use crate::support::app::TestApp;

fn body(today: chrono::NaiveDate) -> serde_json::Value {
    json!({
        "title": "林周县青稞收割招工",
        "employer": "林周县强嘎村合作社",
        "county": "林周县",
        "trade": "farming",
        "workers_wanted": 12,
        "wage": 150,
        "wage_unit": "day",
        "pay_terms": "做完当天现金结清",
        "start_on": (today + chrono::Duration::days(2)).to_string(),
        "duration": "10天",
        "board_lodging": "board",
        "contact_phone": "13908913333",
        "valid_until": (today + chrono::Duration::days(5)).to_string(),
        "draft": true,
    })
}

#[actix_web::test]
async fn notices_api_from_draft_to_results_with_each_role_kept_to_its_own() {
    let app = TestApp::new();
    let today = app.state.config.today();
    worker(
        &mut app.conn(),
        "+8613900000501",
        "both",
        "林周县",
        ",farming,",
        true,
    );
    let broker = app.token(Role::Broker, "强嘎劳务");
    let rival = app.token(Role::Broker, "别家劳务");
    let officer = app.token(Role::Officer, "就业科");
    let inspector = app.token(Role::Inspector, "监察员");
    let liaison = app.token(Role::Liaison, "住建");

    // Bad fields: each named, nothing saved.
    let mut bad = body(today);
    bad["wage"] = json!("很多");
    bad["county"] = json!("成都");
    let (s, v) = app.api("POST", "/api/v1/notices", &broker, Some(bad)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let fields: Vec<&str> = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["county", "wage"]);
    let (_, list) = app.api("GET", "/api/v1/notices", &broker, None).await;
    assert!(list["items"].as_array().unwrap().is_empty());

    // Only a broker creates.
    for t in [&officer, &inspector, &liaison] {
        let (s, _) = app
            .api("POST", "/api/v1/notices", t, Some(body(today)))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (s, n) = app
        .api("POST", "/api/v1/notices", &broker, Some(body(today)))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{n}");
    let code = n["code"].as_str().unwrap().to_string();
    assert_eq!(n["status"], "draft");
    assert!(n["text_zh"].as_str().unwrap().contains("日薪150元"), "{n}");
    assert!(
        n["text_bo"].as_str().unwrap().contains("ཉིན་གླ་"),
        "drafted in Tibetan: {n}"
    );
    assert!(n["sms_zh"].as_str().unwrap().contains("回T退订"));
    let at = format!("/api/v1/notices/{code}");

    // Another agency, an inspector, a liaison: nothing.
    assert_eq!(
        app.api("GET", &at, &rival, None).await.0,
        StatusCode::NOT_FOUND
    );
    for t in [&inspector, &liaison] {
        for (m, uri) in [
            ("GET", at.clone()),
            ("GET", "/api/v1/notices".into()),
            ("GET", format!("{at}/results")),
            ("POST", format!("{at}/cancel")),
        ] {
            assert_eq!(
                app.api(m, &uri, t, None).await.0,
                StatusCode::FORBIDDEN,
                "{m} {uri}"
            );
        }
    }

    let mut changed = body(today);
    changed["workers_wanted"] = json!("20");
    let (s, n) = app.api("PUT", &at, &broker, Some(changed)).await;
    assert_eq!(
        (s, n["workers_wanted"].as_i64()),
        (StatusCode::OK, Some(20)),
        "{n}"
    );
    // Only officers decide; only brokers submit.
    assert_eq!(
        app.api("POST", &format!("{at}/approve"), &broker, Some(json!({})))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.api("POST", &format!("{at}/submit"), &officer, None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // Approving a draft: not yet.
    assert_eq!(
        app.api("POST", &format!("{at}/approve"), &officer, Some(json!({})))
            .await
            .0,
        StatusCode::CONFLICT
    );
    let (s, n) = app
        .api("POST", &format!("{at}/submit"), &broker, None)
        .await;
    assert_eq!(
        (s, n["status"].as_str()),
        (StatusCode::OK, Some("submitted"))
    );

    // The officer: checks and preview; returns it with a reason the broker sees.
    let (_, n) = app.api("GET", &at, &officer, None).await;
    assert_eq!(n["preview"]["recipients_total"], 1, "{n}");
    assert!(n["checks"].as_array().unwrap().is_empty(), "{n}");
    let (_, mine) = app.api("GET", &at, &broker, None).await;
    assert!(
        mine["checks"].is_null() && mine["preview"].is_null(),
        "the broker never sees the register's counts"
    );
    assert_eq!(
        app.api(
            "POST",
            &format!("{at}/return"),
            &officer,
            Some(json!({"reason": " "}))
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    let (s, n) = app
        .api(
            "POST",
            &format!("{at}/return"),
            &officer,
            Some(json!({"reason": "写明食宿"})),
        )
        .await;
    assert_eq!(
        (s, n["status"].as_str()),
        (StatusCode::OK, Some("returned"))
    );
    let (_, mine) = app.api("GET", &at, &broker, None).await;
    assert_eq!(mine["decision_reason"], "写明食宿");
    app.api("POST", &format!("{at}/submit"), &broker, None)
        .await;
    let (s, n) = app
        .api(
            "POST",
            &format!("{at}/approve"),
            &officer,
            Some(json!({"targeting": {"languages": ["both"]}})),
        )
        .await;
    assert_eq!(
        (s, n["status"].as_str()),
        (StatusCode::OK, Some("approved")),
        "{n}"
    );
    hotline::alerts::send::queue_pending(app.state.clone()).await;
    app.dispatch_all(10).await;
    let (s, r) = app
        .api("GET", &format!("{at}/results"), &broker, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["results"]["total"]["sent"], 1, "{r}");
    assert_eq!(r["results"]["by_language"]["both"]["sent"], 1, "{r}");
    assert!(r["shared"].as_array().unwrap().is_empty());

    // A second notice, rejected; then the first cancelled by its broker.
    let (_, n2) = app
        .api("POST", "/api/v1/notices", &broker, Some(body(today)))
        .await;
    let at2 = format!("/api/v1/notices/{}", n2["code"].as_str().unwrap());
    app.api("POST", &format!("{at2}/submit"), &broker, None)
        .await;
    let (s, n2) = app
        .api(
            "POST",
            &format!("{at2}/reject"),
            &officer,
            Some(json!({"reason": "重复发布"})),
        )
        .await;
    assert_eq!(
        (s, n2["status"].as_str()),
        (StatusCode::OK, Some("rejected"))
    );
    let (s, n) = app
        .api("POST", &format!("{at}/cancel"), &broker, None)
        .await;
    assert_eq!(
        (s, n["status"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );
    let (_, all) = app
        .api("GET", "/api/v1/notices?status=cancelled", &officer, None)
        .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.api("GET", "/api/v1/notices?status=nope", &officer, None)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
}
