//! The JSON API: tokens and roles, case lists and details, actions with their clocks and
//! notices, audited identity, and the OpenAPI document.

use actix_web::http::StatusCode;
use diesel::prelude::*;
use hotline::accounts::tokens::Role;
use hotline::db::schema::{cases, projects};
use serde_json::{json, Value};

use crate::support::app::TestApp;

const ANON: &str = "+8613912345678";
const NAMED: &str = "+8613987654321";

/// Two complaints (one anonymous, one not) on a registered project, and a third case.
async fn setup() -> (TestApp, String, String) {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    crate::support::app::road_project(&mut app.conn(), "P2026-001");
    // anonymous by default in the one-message form
    app.kannel_mo(ANON, "QX P2026-001 3 9000", "a1").await;
    // a named one, through the dialog, in Tibetan
    for (i, text) in ["གླ་ཕོགས", "P2026-001", "༢", "༤༠༠༠", "༢", "2", "1"]
        .iter()
        .enumerate()
    {
        app.kannel_mo(NAMED, text, &format!("b{i}")).await;
    }
    // another case elsewhere
    for (i, text) in ["欠薪", "次仁装修队", "3", "1", "800", "1", "1", "1"]
        .iter()
        .enumerate()
    {
        app.kannel_mo("+8613900000077", text, &format!("c{i}"))
            .await;
    }
    let refs: Vec<(String, String)> = cases::table
        .select((cases::reference, cases::employer))
        .load(&mut *app.conn())
        .unwrap();
    let project_ref = refs
        .iter()
        .find(|(_, e)| e.contains("北环路"))
        .unwrap()
        .0
        .clone();
    let other_ref = refs
        .iter()
        .find(|(_, e)| e.contains("次仁"))
        .unwrap()
        .0
        .clone();
    (app, project_ref, other_ref)
}

#[actix_web::test]
async fn every_route_needs_a_live_token() {
    let (app, reference, _) = setup().await;
    for uri in [
        "/api/v1/cases",
        &format!("/api/v1/cases/{reference}"),
        "/api/v1/projects",
        "/api/v1/openapi.json",
    ] {
        let (s, body) = app.get(uri).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(body.contains("\"error\""), "{body}");
        let (s, _) = app.api("GET", uri, "hl_not-a-token", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri}");
    }
    let token = app.token(Role::Inspector, "ins");
    assert_eq!(
        app.api("GET", "/api/v1/cases", &token, None).await.0,
        StatusCode::OK
    );
    let id = hotline::accounts::tokens::list(&mut app.conn()).unwrap()[0]
        .id
        .clone();
    assert!(hotline::accounts::tokens::revoke(&mut app.conn(), &id).unwrap());
    assert_eq!(
        app.api("GET", "/api/v1/cases", &token, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, e) = app
        .api("GET", "/api/v1/nothing", &app.token(Role::Admin, "a"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
}

#[actix_web::test]
async fn list_filters_and_pages() {
    let (app, project_ref, other_ref) = setup().await;
    let token = app.token(Role::Inspector, "ins");
    let (s, all) = app.api("GET", "/api/v1/cases", &token, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(all["total"], 2);
    // the government-invested project's case comes first (priority)
    assert_eq!(all["items"][0]["reference"], project_ref.as_str());
    assert_eq!(all["items"][0]["project_code"], "P2026-001");
    assert_eq!(all["items"][0]["workers"], 3);
    assert_eq!(all["items"][0]["clock"]["overdue"], false);
    let get = |q: &str| {
        let uri = format!("/api/v1/cases?{q}");
        let (app, token) = (&app, token.clone());
        async move { app.api("GET", &uri, &token, None).await }
    };
    assert_eq!(get("project=P2026-001").await.1["total"], 1);
    assert_eq!(get("project=NOPE").await.1["total"], 0);
    // 城关区 (the project's county) and 达孜区 (number 3 in the dialog)
    let chengguan = get("county=%E5%9F%8E%E5%85%B3%E5%8C%BA").await.1;
    assert_eq!(chengguan["total"], 1);
    assert_eq!(
        get("county=%E8%BE%BE%E5%AD%9C%E5%8C%BA").await.1["total"],
        1
    );
    assert_eq!(get("state=received").await.1["total"], 2);
    assert_eq!(get("state=closed").await.1["total"], 0);
    let (s, e) = get("state=lost").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, _) = get("colour=red").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let page2 = get("per_page=1&page=2").await.1;
    assert_eq!(
        (
            page2["total"].as_i64(),
            page2["items"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );
    assert_eq!(page2["items"][0]["reference"], other_ref.as_str());
    // overdue: the other case's acceptance deadline passes
    assert_eq!(get("overdue=true").await.1["total"], 0);
    diesel::update(cases::table.filter(cases::reference.eq(&other_ref)))
        .set(cases::accept_due.eq(Some(chrono::NaiveDate::from_ymd_opt(2025, 3, 3).unwrap())))
        .execute(&mut *app.conn())
        .unwrap();
    let late = get("overdue=true").await.1;
    assert_eq!(late["total"], 1);
    assert_eq!(late["items"][0]["reference"], other_ref.as_str());
    assert_eq!(late["items"][0]["clock"]["overdue"], true);
    assert!(
        late["items"][0]["clock"]["working_days_left"]
            .as_i64()
            .unwrap()
            < 0
    );
    assert_eq!(get("overdue=false").await.1["total"], 1);
}

fn text_of(v: &Value) -> String {
    v.to_string()
}

#[actix_web::test]
async fn identities_masked_audited_and_hidden_from_liaisons() {
    let (app, reference, _) = setup().await;
    let ins = app.token(Role::Inspector, "inspector-wang");
    // The transport bureau's liaison (their department's code).
    let lia = app.token(Role::Liaison, "交通");
    let other = app.token(Role::Liaison, "住建");
    let digits = |p: &str| p.trim_start_matches("+86").to_string();
    // Before the case is referred to their department, a liaison does not see it (issue 13,
    // defect 4: the console shows a liaison their department's referrals only).
    let (s, l) = app.api("GET", "/api/v1/cases", &lia, None).await;
    assert_eq!((s, l["total"].as_i64()), (StatusCode::OK, Some(0)), "{l}");
    assert_eq!(
        app.api("GET", &format!("/api/v1/cases/{reference}"), &lia, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    diesel::update(hotline::db::schema::departments::table.find("交通"))
        .set(hotline::db::schema::departments::email.eq(Some("jiaotong@lasa.example")))
        .execute(&mut *app.conn())
        .unwrap();
    hotline::cases::referrals::create(
        &app.state,
        &mut app.conn(),
        &reference,
        "交通",
        "政府投资项目拖欠农民工工资，请督促建设单位清偿",
        "user:inspector-wang",
    )
    .unwrap();
    let (_, l) = app.api("GET", "/api/v1/cases", &lia, None).await;
    assert_eq!(l["total"].as_i64(), Some(1), "{l}");
    assert_eq!(
        app.api("GET", &format!("/api/v1/cases/{reference}"), &other, None)
            .await
            .0,
        StatusCode::NOT_FOUND,
        "another department's liaison"
    );

    let (s, d) = app
        .api("GET", &format!("/api/v1/cases/{reference}"), &ins, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(d["complaints"].as_array().unwrap().len(), 2);
    assert!(
        !text_of(&d).contains(&digits(ANON)) && !text_of(&d).contains(&digits(NAMED)),
        "no full number in a detail: {d}"
    );
    assert_eq!(d["complaints"][0]["anonymous"], true);
    assert!(d["complaints"][0]["complainant"]["phone_masked"]
        .as_str()
        .unwrap()
        .contains("****"));
    let actions: Vec<&str> = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"case_opened") && actions.contains(&"complaint_filed"),
        "{actions:?}"
    );

    let (s, l) = app
        .api("GET", &format!("/api/v1/cases/{reference}"), &lia, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    // No complainant at all, named or anonymous, and not the bureau's own trail.
    for c in l["complaints"].as_array().unwrap() {
        assert!(
            c["complainant"]["phone_masked"].is_null() && c["complainant"]["contact_id"].is_null(),
            "{c}"
        );
    }
    assert_eq!(l["timeline"].as_array().map(Vec::len), Some(0));
    assert_eq!(l["referrals"].as_array().map(Vec::len), Some(1));
    let (s, _) = app
        .api(
            "GET",
            &format!("/api/v1/cases/{reference}/complainants"),
            &lia,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (s, who) = app
        .api(
            "GET",
            &format!("/api/v1/cases/{reference}/complainants"),
            &ins,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let phones: Vec<&str> = who["complainants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["phone"].as_str().unwrap())
        .collect();
    assert_eq!(phones, vec![ANON, NAMED]);
    let (_, d) = app
        .api("GET", &format!("/api/v1/cases/{reference}"), &ins, None)
        .await;
    let viewed: Vec<&Value> = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "identity_viewed")
        .collect();
    assert_eq!(viewed.len(), 1);
    assert_eq!(viewed[0]["actor"], "token:inspector-wang");
}

async fn act(app: &TestApp, token: &str, reference: &str, body: Value) -> (StatusCode, Value) {
    app.api(
        "POST",
        &format!("/api/v1/cases/{reference}/actions"),
        token,
        Some(body),
    )
    .await
}

#[actix_web::test]
async fn actions_move_the_case_with_its_clocks_and_tell_the_workers() {
    let (app, reference, _) = setup().await;
    let ins = app.token(Role::Inspector, "ins");
    let admin = app.token(Role::Admin, "head");
    let lia = app.token(Role::Liaison, "lia");
    let notices = |app: &TestApp| {
        app.outgoing()
            .into_iter()
            .filter(|m| m.kind.as_deref() == Some("case_notice"))
            .collect::<Vec<_>>()
    };

    assert_eq!(
        act(&app, &lia, &reference, json!({"action": "accept"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (s, e) = act(
        &app,
        &ins,
        &reference,
        json!({"action": "resolve", "recovered_yuan": 1}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    let (s, e) = act(
        &app,
        &ins,
        &reference,
        json!({"action": "refuse", "reason": "  "}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, e) = act(&app, &ins, &reference, json!({"action": "fly"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");

    let (s, c) = act(&app, &ins, &reference, json!({"action": "accept"})).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["state"], "accepted");
    let today = app.state.config.today();
    let region = app.state.config.region.as_deref();
    let (due60, _) = app
        .state
        .calendar
        .deadline_estimate(today, 60, &[], region)
        .unwrap()
        .unwrap();
    assert_eq!(c["finish_due"], due60.to_string());
    // each complainant is told, in their language
    let sent = notices(&app);
    assert_eq!(sent.len(), 2);
    let to_named = sent.iter().find(|m| m.phone == NAMED).unwrap();
    assert!(
        to_named.body.contains(&reference)
            && to_named
                .body
                .chars()
                .any(|ch| ('\u{0F00}'..='\u{0FFF}').contains(&ch)),
        "{}",
        to_named.body
    );
    let to_anon = sent.iter().find(|m| m.phone == ANON).unwrap();
    assert!(to_anon.body.contains("已立案"), "{}", to_anon.body);

    // asking the worker for facts stops the clock and asks them by SMS
    let (s, c) = act(
        &app,
        &ins,
        &reference,
        json!({"action": "request_info", "reason": "请提供工地负责人姓名"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["clock"]["paused"], true);
    assert!(c["finish_due"].is_null());
    assert!(app
        .outgoing()
        .iter()
        .any(|m| m.kind.as_deref() == Some("case_info_needed") && m.body.contains("工地负责人")));
    assert_eq!(
        act(
            &app,
            &ins,
            &reference,
            json!({"action": "request_info", "reason": "again"})
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    let (s, c) = act(&app, &ins, &reference, json!({"action": "info_received"})).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["clock"]["paused"], false);
    // paused and resumed the same day: a working day or none is lost, never gained
    let resumed =
        chrono::NaiveDate::parse_from_str(c["finish_due"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    assert!(resumed >= due60, "{resumed} vs {due60}");

    // the extension needs the bureau head
    assert_eq!(
        act(&app, &ins, &reference, json!({"action": "extend"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (s, c) = act(&app, &admin, &reference, json!({"action": "extend"})).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["extension_days"], 30);
    let extended =
        chrono::NaiveDate::parse_from_str(c["finish_due"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let (plus30, _) = app
        .state
        .calendar
        .deadline_estimate(resumed, 30, &[], region)
        .unwrap()
        .unwrap();
    assert_eq!(extended, plus30);
    assert_eq!(
        act(&app, &admin, &reference, json!({"action": "extend"}))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );

    assert_eq!(
        act(&app, &ins, &reference, json!({"action": "investigate"}))
            .await
            .0,
        StatusCode::OK
    );
    let (s, c) = act(
        &app,
        &ins,
        &reference,
        json!({"action": "resolve", "recovered_yuan": 13000}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["recovered_yuan"], 13000);
    assert!(notices(&app)
        .iter()
        .any(|m| m.phone == ANON && m.body.contains("追回工资13000元")));
    let (s, c) = act(&app, &ins, &reference, json!({"action": "close"})).await;
    assert_eq!((s, c["state"].as_str()), (StatusCode::OK, Some("closed")));
    assert_eq!(
        act(&app, &ins, &reference, json!({"action": "accept"}))
            .await
            .0,
        StatusCode::CONFLICT
    );

    // the timeline has every change, who did it, before and after
    let changes: Vec<(String, String)> = c["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["detail"]["before"].is_object())
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let names: Vec<&str> = changes.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "accept",
            "request_info",
            "info_received",
            "extend",
            "investigate",
            "resolve",
            "close"
        ]
    );
    assert_eq!(changes[3].1, "token:head");
}

#[actix_web::test]
async fn refusal_tells_the_worker_why() {
    let (app, _, other) = setup().await;
    let ins = app.token(Role::Inspector, "ins");
    let (s, c) = act(
        &app,
        &ins,
        &other,
        json!({"action": "refuse", "reason": "超过两年追诉期"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let notice = app
        .outgoing()
        .into_iter()
        .find(|m| m.kind.as_deref() == Some("case_notice"))
        .unwrap();
    assert!(
        notice.body.contains("不予立案") && notice.body.contains("超过两年追诉期"),
        "{}",
        notice.body
    );
    // and the worker's status query says the same
    let (_, _) = app
        .kannel_mo("+8613900000077", &format!("CX {other}"), "status-1")
        .await;
    let reply = app.outgoing().into_iter().last().unwrap();
    assert!(reply.body.contains("超过两年追诉期"), "{}", reply.body);
}

#[actix_web::test]
async fn projects_by_county_and_code() {
    let (app, _, _) = setup().await;
    let t = app.token(Role::Liaison, "l");
    let (s, list) = app
        .api(
            "GET",
            "/api/v1/projects?county=%E5%9F%8E%E5%85%B3%E5%8C%BA",
            &t,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["items"][0]["code"], "P2026-001");
    assert_eq!(
        app.api(
            "GET",
            "/api/v1/projects?county=%E8%BE%BE%E5%AD%9C%E5%8C%BA",
            &t,
            None
        )
        .await
        .1["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (s, p) = app.api("GET", "/api/v1/projects/p2026-001", &t, None).await;
    assert_eq!(
        (s, p["government_invested"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    assert_eq!(
        app.api("GET", "/api/v1/projects/NOPE", &t, None).await.0,
        StatusCode::NOT_FOUND
    );
}

/// Every route the document describes answers (no 404/405), and the document lists exactly
/// the routes the API serves.
#[actix_web::test]
async fn the_openapi_document_describes_every_route() {
    let (app, reference, _) = setup().await;
    let admin = app.token(Role::Admin, "a");
    let (s, doc) = app.api("GET", "/api/v1/openapi.json", &admin, None).await;
    assert_eq!(s, StatusCode::OK);
    // Generated by utoipa 5, which writes OpenAPI 3.1 (3.0.3 when the document was written
    // by hand): nullable fields are `type: [T, "null"]` rather than `nullable: true`.
    assert_eq!(doc["openapi"], "3.1.0");
    let mut described = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            described.push(format!("{} {path}", method.to_uppercase()));
            assert!(
                (op["responses"]["200"].is_object() || op["responses"]["201"].is_object())
                    && op["responses"]["401"].is_object(),
                "{method} {path}"
            );
            if path.starts_with("/notices")
                || path.starts_with("/placements")
                || path.starts_with("/subsidies/")
            {
                // Called one by one, in order, by `notices_api`, `placements` and `followups`
                // (they need a notice, a placement or a subsidy claim first).
                assert!(
                    op["responses"]["403"].is_object(),
                    "{method} {path}: who is refused"
                );
                continue;
            }
            let uri = format!(
                "/api/v1{}",
                path.replace("{reference}", &reference)
                    .replace("{code}", "P2026-001")
                    .replace("{phone}", "13900000071")
            );
            let (s, v) = if path.ends_with("/import") {
                let csv = if path == "/projects/import" {
                    "code,name_zh,county,department,government_invested\nP2026-001,拉萨北环路改造工程,城关区,交通,yes\n"
                } else {
                    "phone,name\n13900000071,扎西\n"
                };
                let auth = format!("Bearer {admin}");
                let (s, t) = app
                    .request_with(
                        "POST",
                        &uri,
                        &[("authorization", &auth)],
                        Some(("text/csv", csv.as_bytes().to_vec())),
                    )
                    .await;
                (s, serde_json::from_str(&t).unwrap())
            } else {
                let body = match method.as_str() {
                    "post" => Some(json!({"action": "assign", "to": "inspector-li"})),
                    "put" => Some(json!({"name": "扎西", "county": "城关区"})),
                    _ => None,
                };
                app.api(&method.to_uppercase(), &uri, &admin, body).await
            };
            assert_eq!(s, StatusCode::OK, "{method} {uri}: {v}");
            every_timestamp_has_its_zone(&v, &format!("{method} {uri}"));
        }
    }
    described.sort();
    let served = [
        "GET /cases",
        "GET /cases/{reference}",
        "GET /cases/{reference}/complainants",
        "GET /openapi.json",
        "GET /projects",
        "GET /projects/{code}",
        "POST /cases/{reference}/actions",
        "POST /projects/import",
        "GET /notices",
        "POST /notices",
        "GET /notices/{code}",
        "PUT /notices/{code}",
        "POST /notices/{code}/submit",
        "POST /notices/{code}/approve",
        "POST /notices/{code}/return",
        "POST /notices/{code}/reject",
        "POST /notices/{code}/cancel",
        "GET /notices/{code}/results",
        "GET /workers",
        "GET /workers/{phone}",
        "PUT /workers/{phone}",
        "POST /workers/import",
        "GET /placements",
        "POST /placements",
        "GET /placements/{id}",
        "GET /agencies/records",
        "GET /followups/rates",
        "GET /subsidies",
        "POST /subsidies/{id}/decision",
    ];
    let mut served = served.to_vec();
    served.sort();
    assert_eq!(described, served);
}

#[actix_web::test]
async fn projects_import_through_the_api_is_all_or_nothing() {
    let (app, _, _) = setup().await;
    let admin = format!("Bearer {}", app.token(Role::Admin, "head"));
    let ins = format!("Bearer {}", app.token(Role::Inspector, "ins"));
    let good = "代码,名称,区县,主管部门,政府投资\nP2026-010,拉萨东城保障房项目,城关区,住建,是\n";
    let bad = "代码,名称,区县,主管部门,政府投资\nP2026-011,某项目,城关区,住房,是\nP2026-012,,城关区,水利,否\n";
    let post = |auth: &str, csv: &str| {
        let (auth, csv) = (auth.to_string(), csv.as_bytes().to_vec());
        let app = &app;
        async move {
            app.request_with(
                "POST",
                "/api/v1/projects/import",
                &[("authorization", &auth)],
                Some(("text/csv", csv)),
            )
            .await
        }
    };
    assert_eq!(post(&ins, good).await.0, StatusCode::FORBIDDEN);
    let (s, body) = post(&admin, bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let lines: Vec<i64> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, vec![2, 3], "{v}");
    let count = || {
        projects::table
            .count()
            .get_result::<i64>(&mut *app.conn())
            .unwrap()
    };
    assert_eq!(count(), 1, "nothing written");
    let (s, body) = post(&admin, good).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["inserted"], 1);
    assert_eq!(count(), 2);
}

/// Every date-time in an answer is RFC 3339 with its offset (issue 13, defect 3): a text that
/// starts like `2026-12-01T` must parse as one.
fn every_timestamp_has_its_zone(v: &serde_json::Value, what: &str) {
    match v {
        serde_json::Value::String(t)
            if t.len() > 11
                && t.as_bytes()[10] == b'T'
                && t[..4].chars().all(|c| c.is_ascii_digit()) =>
        {
            assert!(
                chrono::DateTime::parse_from_rfc3339(t).is_ok(),
                "{what}: {t:?} is not RFC 3339 with an offset"
            );
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| every_timestamp_has_its_zone(x, what)),
        serde_json::Value::Object(m) => m
            .values()
            .for_each(|x| every_timestamp_has_its_zone(x, what)),
        _ => {}
    }
}

/// Filters out of range are refused, not answered with nothing or wrapped round (issue 13,
/// defect 5).
#[actix_web::test]
async fn case_filters_out_of_range_are_refused() {
    let (app, _, _) = setup().await;
    let ins = app.token(Role::Inspector, "ins");
    for q in [
        "priority=5",
        "priority=-1",
        "priority=0",
        "page=9223372036854775807",
        "page=0",
        "per_page=201",
    ] {
        let (s, v) = app
            .api("GET", &format!("/api/v1/cases?{q}"), &ins, None)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {v}");
    }
    let (s, v) = app
        .api("GET", "/api/v1/cases?priority=2&page=1", &ins, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// One rule for unknown fields on every JSON body, as the document says
/// (`additionalProperties: false`): refused with a 400 that names the field, nothing changed
/// (issue 13, defect 5). Before, an action without fields (`accept`) took any field while
/// `assign` refused one, an approval with a bad body was approved with the defaults, and a
/// placement's unknown field was a 422.
#[actix_web::test]
async fn an_unknown_field_is_refused_by_every_body_and_named() {
    let (app, reference, _) = setup().await;
    let admin = app.token(Role::Admin, "head");
    let broker = app.token(Role::Broker, "强嘎劳务");
    let today = app.state.config.today();
    let refused = |s: StatusCode, v: &Value, what: &str| {
        assert_eq!(s, StatusCode::BAD_REQUEST, "{what}: {v}");
        assert!(
            v["error"].as_str().unwrap_or_default().contains("colour")
                || v["fields"].to_string().contains("colour"),
            "{what}: the field is not named: {v}"
        );
    };

    // Actions, with fields and without: the case stays as it was.
    let uri = format!("/api/v1/cases/{reference}/actions");
    for body in [
        json!({"action": "accept", "colour": "red"}),
        json!({"action": "assign", "to": "inspector-li", "colour": "red"}),
        json!({"action": "refuse", "reason": "超过两年", "colour": "red"}),
    ] {
        let (s, v) = app.api("POST", &uri, &admin, Some(body.clone())).await;
        refused(s, &v, &body.to_string());
    }
    let (_, case) = app
        .api("GET", &format!("/api/v1/cases/{reference}"), &admin, None)
        .await;
    assert_eq!(case["state"], "received");
    assert!(case["assigned_to"].is_null(), "{case}");
    let (s, v) = app
        .api("POST", &uri, &admin, Some(json!({"action": "accept"})))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // A notice: created, changed, approved, returned.
    let notice = json!({
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
    });
    let mut odd = notice.clone();
    odd["colour"] = json!("red");
    let (s, v) = app
        .api("POST", "/api/v1/notices", &broker, Some(odd.clone()))
        .await;
    refused(s, &v, "create a notice");
    let (s, n) = app
        .api("POST", "/api/v1/notices", &broker, Some(notice))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{n}");
    let code = n["code"].as_str().unwrap().to_string();
    let (s, v) = app
        .api(
            "PUT",
            &format!("/api/v1/notices/{code}"),
            &broker,
            Some(odd),
        )
        .await;
    refused(s, &v, "change a notice");
    let (s, v) = app
        .api(
            "POST",
            &format!("/api/v1/notices/{code}/submit"),
            &broker,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for (action, body) in [
        (
            "approve",
            json!({"targeting": {"counties": ["林周县"]}, "colour": "red"}),
        ),
        ("approve", json!({"targeting": {"colour": ["red"]}})),
        ("return", json!({"reason": "工资写清楚", "colour": "red"})),
        ("reject", json!({"reason": "虚假", "colour": "red"})),
    ] {
        let (s, v) = app
            .api(
                "POST",
                &format!("/api/v1/notices/{code}/{action}"),
                &admin,
                Some(body.clone()),
            )
            .await;
        refused(s, &v, &format!("{action} {body}"));
    }
    let (_, n) = app
        .api("GET", &format!("/api/v1/notices/{code}"), &admin, None)
        .await;
    assert_eq!(n["status"], "submitted", "nothing was decided: {n}");

    // A worker, a placement, a subsidy decision.
    let (s, v) = app
        .api(
            "PUT",
            "/api/v1/workers/13900000081",
            &admin,
            Some(json!({"name": "扎西", "colour": "red"})),
        )
        .await;
    refused(s, &v, "put a worker");
    let (s, v) = app
        .api(
            "POST",
            "/api/v1/placements",
            &admin,
            Some(json!({
                "phone": "13900000082",
                "employer": "扎西建筑队",
                "county": "城关区",
                "start_on": today.to_string(),
                "colour": "red",
            })),
        )
        .await;
    refused(s, &v, "record a placement");
    assert_eq!(v["fields"][0]["code"], "unknown_field", "{v}");
    let (s, v) = app
        .api(
            "POST",
            "/api/v1/subsidies/nothing/decision",
            &admin,
            Some(json!({"approve": true, "colour": "red"})),
        )
        .await;
    refused(s, &v, "decide a subsidy");
}

/// A body the API cannot read gets the API's JSON error, as every other error (issue 13, item
/// 9: schemathesis found the text answers): not JSON, another content type, no body.
#[actix_web::test]
async fn an_unreadable_body_gets_a_json_error() {
    let (app, reference, _) = setup().await;
    let admin = format!("Bearer {}", app.token(Role::Admin, "head"));
    for (uri, body) in [
        (
            "/api/v1/subsidies/nothing/decision",
            Some(("application/json", "{not json")),
        ),
        (
            "/api/v1/subsidies/nothing/decision",
            Some(("text/plain", "{\"approve\": true}")),
        ),
        ("/api/v1/subsidies/nothing/decision", None),
        ("/api/v1/notices/1/return", Some(("application/json", "[]"))),
        (
            &format!("/api/v1/cases/{reference}/actions"),
            Some(("application/json", "")),
        ),
    ] {
        let (s, text) = app
            .request_with(
                "POST",
                uri,
                &[("authorization", &admin)],
                body.map(|(t, b)| (t, b.as_bytes().to_vec())),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri} {body:?}: {text}");
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{uri} {body:?}: not JSON: {text}"));
        assert!(v["error"].is_string(), "{v}");
    }
}

/// An empty file, or one with only its header, imports nothing and is no error (issue 13,
/// defect 5: it was refused).
#[actix_web::test]
async fn an_empty_csv_imports_nothing() {
    let (app, _, _) = setup().await;
    let admin = format!("Bearer {}", app.token(Role::Admin, "head"));
    for uri in ["/api/v1/projects/import", "/api/v1/workers/import"] {
        for csv in [
            "",
            "\n",
            "代码,名称,区县,主管部门,政府投资\n",
            "电话,姓名\n",
        ] {
            if (csv.starts_with("代码") && uri.contains("workers"))
                || (csv.starts_with("电话") && uri.contains("projects"))
            {
                continue;
            }
            let (s, text) = app
                .request_with(
                    "POST",
                    uri,
                    &[("authorization", &admin)],
                    Some(("text/csv", csv.as_bytes().to_vec())),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{uri} {csv:?}: {text}");
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                v,
                json!({"inserted": 0, "updated": 0, "unchanged": 0}),
                "{uri} {csv:?}"
            );
        }
    }
}

/// A register page past any possible register is refused, not a storage error: its offset
/// overflowed (issue 13, item 9: schemathesis found it, `GET /workers?page=601180342859259264`).
#[actix_web::test]
async fn register_pages_out_of_range_are_refused() {
    let (app, _, _) = setup().await;
    let officer = app.token(Role::Officer, "officer");
    for q in [
        "page=601180342859259264",
        "page=1000001",
        "page=0",
        "per_page=501",
    ] {
        let (s, v) = app
            .api("GET", &format!("/api/v1/workers?{q}"), &officer, None)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {v}");
    }
    let (s, v) = app
        .api("GET", "/api/v1/workers?page=1000000", &officer, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["items"], json!([]));
}

/// An amount recovered past what a case can hold is refused, not stored negative (schemathesis
/// found `{"action": "resolve", "recovered_yuan": 9223372036854775808}` stored as
/// -9223372036854775808).
#[actix_web::test]
async fn an_amount_recovered_too_large_is_refused_not_stored_negative() {
    let (app, reference, _) = setup().await;
    let admin = app.token(Role::Admin, "head");
    let uri = format!("/api/v1/cases/{reference}/actions");
    for body in [
        json!({"action": "accept"}),
        json!({"action": "investigate"}),
    ] {
        let (s, v) = app.api("POST", &uri, &admin, Some(body)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    for body in [
        json!({"action": "record_mediation", "note": "n", "recovered_yuan": 9223372036854775808u64}),
        json!({"action": "resolve", "recovered_yuan": 9223372036854775808u64}),
        json!({"action": "resolve", "recovered_yuan": 1_000_000_000_001u64}),
    ] {
        let (s, v) = app.api("POST", &uri, &admin, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
    }
    let (_, case) = app
        .api("GET", &format!("/api/v1/cases/{reference}"), &admin, None)
        .await;
    assert_eq!(case["state"], "investigating");
    assert!(case["recovered_yuan"].is_null(), "{case}");
    let (s, v) = app
        .api(
            "POST",
            &uri,
            &admin,
            Some(json!({"action": "resolve", "recovered_yuan": 1_000_000_000_000u64})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["recovered_yuan"], 1_000_000_000_000u64);
}

/// A register field is text, and only `trades` a list of texts: a list elsewhere was stored
/// written out (schemathesis found `"village": [null, null]` saved as "null、null").
#[actix_web::test]
async fn a_worker_field_that_is_not_text_is_refused() {
    let (app, _, _) = setup().await;
    let officer = app.token(Role::Officer, "officer");
    for (body, field) in [
        (json!({"village": [null, null]}), "village"),
        (json!({"name": ["扎西"]}), "name"),
        (json!({"trades": [null, 1]}), "trades"),
        (json!({"county": {"zh": "城关区"}}), "county"),
        (json!({"village": false}), "village"),
        (json!({"township": 3}), "township"),
        (json!({"birth_year": true}), "birth_year"),
        (json!({"consent": 1}), "consent"),
    ] {
        let (s, v) = app
            .api(
                "PUT",
                "/api/v1/workers/13900000091",
                &officer,
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert!(v["fields"][field].is_string(), "{body}: {v}");
    }
    let (s, _) = app
        .api("GET", "/api/v1/workers/13900000091", &officer, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing was written");
    let (s, v) = app
        .api(
            "PUT",
            "/api/v1/workers/13900000091",
            &officer,
            Some(json!({"village": "强嘎村", "trades": ["construction", "运输"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["worker"]["village"], "强嘎村");
    assert_eq!(v["worker"]["trades"], json!(["construction", "transport"]));
}
