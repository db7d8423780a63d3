//! Placements and trainings: the CSV imports (Chinese or English headers, all or nothing with
//! every bad line listed, once however often imported, trainees grouped by course and followed
//! up 1 and 3 months after its end), the example files, the two commands, and the placements
//! API (roles, a broker kept to their agency, 422 with the checks' codes, 201 then 200).

use actix_web::http::StatusCode;
use chrono::{Duration, Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use hotline::accounts::tokens::Role;
use hotline::alerts::Employment;
use hotline::db::schema::{contacts, followups, placements, trainees, trainings, workers};
use hotline::followups::import::{self, PlacementsImported, TrainingsImported};
use hotline::followups::placements::Placement;
use hotline::followups::run::Followup;
use serde_json::{json, Value};

use crate::alerts::{input, submitted};
use crate::support::app::{road_project, TestApp};

fn import_placements(app: &TestApp, csv: &str) -> Result<PlacementsImported, String> {
    import::placements(&mut app.conn(), &app.state, csv.as_bytes(), "test")
        .map_err(|e| e.to_string())
}

fn import_trainings(app: &TestApp, csv: &str) -> Result<TrainingsImported, String> {
    import::trainings(&mut app.conn(), &app.state, csv.as_bytes(), "test")
        .map_err(|e| e.to_string())
}

/// Every placement, by start then employer.
fn placements_all(app: &TestApp) -> Vec<Placement> {
    placements::table
        .order((placements::start_on, placements::employer))
        .select(Placement::as_select())
        .load(&mut *app.conn())
        .unwrap()
}

fn followups_all(app: &TestApp) -> Vec<Followup> {
    followups::table
        .order((followups::due_at, followups::subject))
        .select(Followup::as_select())
        .load(&mut *app.conn())
        .unwrap()
}

/// Placements, follow-ups, contacts and register rows.
fn counts(app: &TestApp) -> [i64; 4] {
    let c = &mut *app.conn();
    [
        placements::table.count().get_result(c).unwrap(),
        followups::table.count().get_result(c).unwrap(),
        contacts::table.count().get_result(c).unwrap(),
        workers::table.count().get_result(c).unwrap(),
    ]
}

fn phone_of(app: &TestApp, p: &Placement) -> String {
    contacts::table
        .find(&p.contact_id)
        .select(contacts::phone)
        .first(&mut *app.conn())
        .unwrap()
}

/// A day relative to the bureau's today, as a file writes it.
fn day(app: &TestApp, days: i64) -> NaiveDate {
    app.state.config.local(app.state.time.now()).date() + Duration::days(days)
}

/// 10:00 in Lhasa, `months` after `from`, in UTC: when the default schedule asks.
fn ten_am_after(from: NaiveDate, months: u32) -> NaiveDateTime {
    (from + Months::new(months)).and_hms_opt(2, 0, 0).unwrap()
}

#[actix_web::test]
async fn a_chinese_placements_file_records_each_placement_with_its_follow_ups() {
    let app = TestApp::new();
    road_project(&mut app.conn(), "P2026-001");
    let notice = submitted(&app, &input(day(&app, 0)));
    let (d1, d2, d3, d4) = (day(&app, -20), day(&app, -40), day(&app, -5), day(&app, 3));
    let csv = format!(
        "\u{FEFF}电话,用工单位,项目编号,招工信息编号,经纪机构,县区,外地务工地,工种,开始日期\n\
         13900000201,,p2026-001,,诺布劳务,,,建筑,{d1}\n\
         139 0000 0202,曲水县次仁多吉施工队,,,,曲水县,,construction,{}\n\
         13900000203,江苏示例纺织有限公司,,,诺布劳务,,江苏省苏州市,其他,{d3}\n\
         13900000204,,,YX {},,城关区,,,{d4}\n",
        d2.format("%Y/%-m/%-d"),
        notice.code
    );
    let r = import_placements(&app, &csv).unwrap();
    assert_eq!(
        r,
        PlacementsImported {
            recorded: 4,
            known: 0
        }
    );
    let all = placements_all(&app);
    let [road, team, textile, via_notice] = [&all[1], &all[0], &all[2], &all[3]];
    // The project names the employer and the county.
    assert_eq!(road.employer, "拉萨北环路改造工程");
    assert_eq!(road.county.as_deref(), Some("城关区"));
    assert_eq!(road.project_id.as_deref(), Some("p-P2026-001"));
    assert_eq!(road.agency.as_deref(), Some("诺布劳务"));
    assert_eq!(road.trade.as_deref(), Some("construction"));
    assert_eq!(road.start_on, d1);
    assert_eq!(phone_of(&app, road), "+8613900000201");
    // A date as Excel writes it.
    assert_eq!(
        (team.start_on, team.county.as_deref()),
        (d2, Some("曲水县"))
    );
    assert_eq!(phone_of(&app, team), "+8613900000202");
    assert_eq!(textile.place_outside.as_deref(), Some("江苏省苏州市"));
    assert_eq!(textile.county, None);
    // The notice names the employer and the trade.
    assert_eq!(via_notice.notice_id.as_deref(), Some(notice.id.as_str()));
    assert_eq!(via_notice.employer, "拉萨市城关区安居建筑公司");
    assert_eq!(via_notice.trade.as_deref(), Some("construction"));
    for p in &all {
        assert_eq!(p.source.as_str(), "import");
        assert_eq!(p.recorded_by, "test");
    }
    // Three follow-ups each, 1, 3 and 6 months after the placement's own start, at 10:00.
    let fs = followups_all(&app);
    assert_eq!(fs.len(), 12);
    let of_road: Vec<(&str, NaiveDateTime, &str)> = fs
        .iter()
        .filter(|f| f.placement_id.as_deref() == Some(road.id.as_str()))
        .map(|f| (f.step.as_str(), f.due_at, f.status.as_str()))
        .collect();
    assert_eq!(
        of_road,
        [
            ("1m", ten_am_after(d1, 1), "scheduled"),
            ("3m", ten_am_after(d1, 3), "scheduled"),
            ("6m", ten_am_after(d1, 6), "scheduled"),
        ]
    );
    // Each worker is on the register, working; each placement is in the audit trail.
    let w = hotline::alerts::register::get(&mut app.conn(), &road.contact_id)
        .unwrap()
        .unwrap();
    assert_eq!(w.employment, Employment::Working);
    let trail =
        hotline::cases::audit_of(&mut app.conn(), &format!("placement:{}", road.id)).unwrap();
    assert_eq!(trail[0].action, "placement_recorded");
}

#[actix_web::test]
async fn english_headers_in_any_order_read_the_same() {
    let zh = TestApp::new();
    let en = TestApp::new();
    let start = day(&zh, -10);
    import_placements(
        &zh,
        &format!("电话,用工单位,县区,工种,开始日期\n13900000211,扎西建筑队,城关区,运输,{start}\n"),
    )
    .unwrap();
    import_placements(
        &en,
        &format!("Start_On,trade,County,phone,employer\n{start},transport,城关区,+8613900000211,扎西建筑队\n"),
    )
    .unwrap();
    let fields = |app: &TestApp| {
        let p = placements_all(app).remove(0);
        (phone_of(app, &p), p.employer, p.county, p.trade, p.start_on)
    };
    assert_eq!(fields(&zh), fields(&en));
    assert_eq!(fields(&en).3.as_deref(), Some("transport"));
}

#[actix_web::test]
async fn a_bad_placements_file_lists_every_bad_line_and_records_nothing() {
    let app = TestApp::new();
    road_project(&mut app.conn(), "P2026-001");
    let (ok, ahead) = (day(&app, -10), day(&app, 100));
    let csv = format!(
        "电话,用工单位,项目编号,招工信息编号,县区,外地务工地,工种,开始日期\n\
         13900000221,扎西建筑队,,,城关区,,建筑,{ok}\n\
         12345,扎西建筑队,,,城关区,,建筑,{ok}\n\
         13900000223,扎西建筑队,,,拉萨县,,挖掘,{ok}\n\
         13900000224,,P2099-009,,,,,{ok}\n\
         139 0000 0221,扎西 建筑队,,,城关区,,建筑,{ok}\n\
         13900000226,扎西建筑队,,,城关区,江苏省苏州市,,{ok}\n\
         13900000227,扎西建筑队,,,城关区,,,明天\n\
         13900000228,,,,城关区,,,{ok}\n\
         13900000229,扎西建筑队,,,城关区,,,{ok},多余\n\
         13900000230,扎西建筑队,,YX 9999,城关区,,,{ahead}\n"
    );
    let e = import_placements(&app, &csv).unwrap_err();
    assert!(e.contains("nothing was imported"), "{e}");
    for expected in [
        "line 3: 电话 \"12345\" is not a phone number",
        "line 4: 县区 \"拉萨县\" is not one of the counties: 城关区,",
        "line 4: 工种 \"挖掘\" is not a trade",
        "line 5: 项目编号 \"P2099-009\" is not in the project registry",
        "line 5: 用工单位 is empty, and no 项目编号 or 招工信息编号 names the employer",
        "line 6: 电话 \"139 0000 0221\" with 扎西 建筑队 from",
        "appears twice (also line 2)",
        "line 7: 县区 and 外地务工地 are both given",
        "line 8: 开始日期 \"明天\" is not a date like 2026-03-01",
        "line 9: 用工单位 is empty",
        "line 10: 9 values but the header has 8 columns",
        "line 11: 招工信息编号 \"YX 9999\" is not the code of a job notice",
        "line 11: 开始日期 \"",
        "is more than 90 days ahead",
    ] {
        assert!(e.contains(expected), "{expected:?} in:\n{e}");
    }
    assert!(!e.contains("line 2:"), "{e}");
    assert_eq!(counts(&app), [0, 0, 0, 0], "nothing written");
}

#[actix_web::test]
async fn a_file_imported_twice_records_its_placements_once() {
    let app = TestApp::new();
    let (a, b) = (day(&app, -30), day(&app, -3));
    let csv = format!(
        "电话,用工单位,县区,开始日期\n\
         13900000231,扎西建筑队,城关区,{a}\n\
         13900000232,扎西建筑队,城关区,{a}\n\
         13900000231,卓玛家政服务部,城关区,{b}\n"
    );
    assert_eq!(
        import_placements(&app, &csv).unwrap(),
        PlacementsImported {
            recorded: 3,
            known: 0
        }
    );
    let before = counts(&app);
    assert_eq!(before, [3, 9, 2, 2]);
    assert_eq!(
        import_placements(&app, &csv).unwrap(),
        PlacementsImported {
            recorded: 0,
            known: 3
        }
    );
    assert_eq!(counts(&app), before);
    // The same employer written another way is the same placement; a new row is new.
    let more = format!(
        "电话,用工单位,县区,开始日期\n\
         13900000231,扎西建筑队,城关区,{a}\n\
         13900000232,扎西 建筑队。,城关区,{a}\n\
         13900000231,卓玛家政服务部,城关区,{b}\n\
         13900000233,扎西建筑队,城关区,{b}\n"
    );
    assert_eq!(
        import_placements(&app, &more).unwrap(),
        PlacementsImported {
            recorded: 1,
            known: 3
        }
    );
    assert_eq!(counts(&app), [4, 12, 3, 3]);
}

#[actix_web::test]
async fn trainees_of_a_course_are_followed_up_one_and_three_months_after_its_end() {
    let app = TestApp::new();
    // A trainee already on the register keeps their row as it is.
    hotline::alerts::register::import_csv(
        &mut app.conn(),
        &app.state.config.register_rules(),
        "电话,姓名,培训\n13900000244,次仁,厨师\n".as_bytes(),
        "r.csv",
        "test",
    )
    .unwrap();
    let (end1, end2) = (day(&app, -20), day(&app, -2));
    let csv = format!(
        "\u{FEFF}培训项目,培训机构,工种,结业日期,电话\n\
         挖掘机操作,拉萨市职业技能培训中心,建筑,{end1},13900000241\n\
         藏式卡垫编织,曲水县职业技能培训学校,民族手工艺,{end2},13900000242\n\
         挖掘机操作,拉萨市职业技能培训中心,建筑,{end1},139 0000 0243\n\
         挖掘机操作,拉萨市职业技能培训中心,建筑,{end1},13900000244\n"
    );
    assert_eq!(
        import_trainings(&app, &csv).unwrap(),
        TrainingsImported {
            courses: 2,
            trainees_recorded: 4,
            trainees_known: 0
        }
    );
    let courses: Vec<(String, String, Option<String>, NaiveDate)> = trainings::table
        .order(trainings::end_on)
        .select((
            trainings::course,
            trainings::provider,
            trainings::trade,
            trainings::end_on,
        ))
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(
        courses,
        [
            (
                "挖掘机操作".to_string(),
                "拉萨市职业技能培训中心".to_string(),
                Some("construction".to_string()),
                end1
            ),
            (
                "藏式卡垫编织".into(),
                "曲水县职业技能培训学校".into(),
                Some("handicraft".into()),
                end2
            ),
        ]
    );
    let fs = followups_all(&app);
    assert_eq!(fs.len(), 8, "two steps for each of four trainees");
    for f in &fs {
        assert_eq!(f.schedule.as_str(), "training");
        assert!(f.subject.starts_with("trainee:"), "{}", f.subject);
        assert_eq!(f.placement_id, None);
    }
    let mut due: Vec<(&str, NaiveDateTime)> =
        fs.iter().map(|f| (f.step.as_str(), f.due_at)).collect();
    due.sort();
    let mut expected = Vec::new();
    for (step, months) in [("1m", 1), ("3m", 3)] {
        expected.extend([(step, ten_am_after(end1, months)); 3]);
        expected.push((step, ten_am_after(end2, months)));
    }
    expected.sort();
    assert_eq!(due, expected);
    // New trainees join the register with their course; the known one keeps theirs.
    let training_of = |phone: &str| {
        let c = app.contact(phone).unwrap();
        hotline::alerts::register::get(&mut app.conn(), &c.id)
            .unwrap()
            .unwrap()
            .training
    };
    assert_eq!(training_of("+8613900000243").as_deref(), Some("挖掘机操作"));
    assert_eq!(training_of("+8613900000244").as_deref(), Some("厨师"));

    // Again: nothing new.
    assert_eq!(
        import_trainings(&app, &csv).unwrap(),
        TrainingsImported {
            courses: 2,
            trainees_recorded: 0,
            trainees_known: 4
        }
    );
    let n: i64 = trainees::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!((n, followups_all(&app).len()), (4, 8));

    // A bad row: nothing of the file is written.
    let bad = format!(
        "培训项目,培训机构,结业日期,电话\n新课程,某机构,{end2},13900000245\n新课程,某机构,{end2},12\n"
    );
    let e = import_trainings(&app, &bad).unwrap_err();
    assert!(
        e.contains("line 3: 电话 \"12\" is not a phone number"),
        "{e}"
    );
    let n: i64 = trainings::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(n, 2);
    assert!(app.contact("+8613900000245").is_none());
}

#[actix_web::test]
async fn the_example_files_import() {
    let app = TestApp::new();
    // The examples' dates are of late 2026.
    app.state.time.set(
        NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(4, 0, 0)
            .unwrap(),
    );
    let example = |name: &str| {
        std::fs::read(format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    };
    hotline::projects::import_csv(&mut app.conn(), &example("projects.csv")[..]).unwrap();
    let p = import::placements(
        &mut app.conn(),
        &app.state,
        &example("placements.csv")[..],
        "t",
    )
    .unwrap();
    assert_eq!(
        p,
        PlacementsImported {
            recorded: 5,
            known: 0
        }
    );
    let t = import::trainings(
        &mut app.conn(),
        &app.state,
        &example("trainings.csv")[..],
        "t",
    )
    .unwrap();
    assert_eq!(
        t,
        TrainingsImported {
            courses: 3,
            trainees_recorded: 6,
            trainees_known: 0
        }
    );
}

#[test]
fn the_placements_and_trainings_commands_import_and_say_what_they_did() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let run = |args: &[&str]| crate::support::process::run_hotline(dir.path(), &url, args);
    let import = |what: &str, file: &str, csv: String| {
        std::fs::write(dir.path().join(file), csv).unwrap();
        run(&[what, "import", file])
    };
    for what in ["placements", "trainings"] {
        let (ok, out, _) = run(&[what, "import", "--help"]);
        assert!(
            ok && out.contains(&format!("Usage: hotline {what} import")),
            "{out}"
        );
    }
    let today = (chrono::Utc::now() + Duration::hours(8)).date_naive();
    let start = today - Duration::days(7);
    let (ok, _, err) = import(
        "placements",
        "bad.csv",
        format!("电话,用工单位,县区,开始日期\n13900000251,扎西建筑队,拉萨县,{start}\n12,扎西建筑队,城关区,{start}\n"),
    );
    assert!(!ok);
    assert!(
        err.contains("bad.csv: 2 problem(s) in the file, nothing was imported")
            && err.contains("line 2: 县区 \"拉萨县\"")
            && err.contains("line 3: 电话 \"12\""),
        "{err}"
    );
    let placed = format!("phone,employer,county,start_on\n13900000251,扎西建筑队,城关区,{start}\n13900000252,扎西建筑队,城关区,{start}\n");
    let (ok, out, err) = import("placements", "p.csv", placed.clone());
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "imported p.csv: 2 placements recorded, 0 already known"
    );
    let (_, out, _) = import("placements", "p.csv", placed);
    assert_eq!(
        out.trim(),
        "imported p.csv: 0 placements recorded, 2 already known"
    );
    let (ok, out, err) = import(
        "trainings",
        "t.csv",
        format!("培训项目,培训机构,结业日期,电话\n挖掘机操作,拉萨市职业技能培训中心,{start},13900000251\n挖掘机操作,拉萨市职业技能培训中心,{start},13900000253\n"),
    );
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "imported t.csv: 1 course(s), 2 trainees recorded, 0 already known"
    );
    let (ok, _, err) = run(&["trainings", "import", "missing.csv"]);
    assert!(!ok && err.contains("missing.csv"), "{err}");
}

fn body(app: &TestApp) -> Value {
    json!({
        "phone": "13900000261",
        "employer": "扎西建筑队",
        "county": "城关区",
        "trade": "建筑",
        "start_on": day(app, -14).to_string(),
    })
}

#[actix_web::test]
async fn the_placements_api_keeps_each_role_to_its_own() {
    let app = TestApp::new();
    let admin = app.token(Role::Admin, "admin");
    let officer = app.token(Role::Officer, "就业科");
    let broker = app.token(Role::Broker, "强嘎劳务");
    let rival = app.token(Role::Broker, "别家劳务");
    let inspector = app.token(Role::Inspector, "监察员");
    let liaison = app.token(Role::Liaison, "住建");

    // Inspectors and liaisons: nothing.
    for t in [&inspector, &liaison] {
        for (m, uri, b) in [
            ("GET", "/api/v1/placements", None),
            ("POST", "/api/v1/placements", Some(body(&app))),
            ("GET", "/api/v1/placements/x", None),
        ] {
            assert_eq!(
                app.api(m, uri, t, b).await.0,
                StatusCode::FORBIDDEN,
                "{m} {uri}"
            );
        }
    }

    // A broker's placement is their agency's, whatever the body says; posted again, the same.
    let mut mine = body(&app);
    mine["agency"] = json!("别家劳务");
    let (s, p) = app
        .api("POST", "/api/v1/placements", &broker, Some(mine.clone()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["agency"], "强嘎劳务");
    assert_eq!(p["phone"], "+86139****0261");
    assert_eq!(p["trade"], "construction");
    assert_eq!(p["source"], "api");
    assert_eq!(p["recorded_by"], "token:强嘎劳务");
    let id = p["id"].as_str().unwrap().to_string();
    let (s, again) = app
        .api("POST", "/api/v1/placements", &broker, Some(mine.clone()))
        .await;
    assert_eq!((s, &again["id"]), (StatusCode::OK, &p["id"]));

    // Another agency: not there, and not theirs to post.
    let at = format!("/api/v1/placements/{id}");
    assert_eq!(
        app.api("GET", &at, &rival, None).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, list) = app.api("GET", "/api/v1/placements", &rival, None).await;
    assert_eq!(list["items"], json!([]));
    let (s, e) = app
        .api("POST", "/api/v1/placements", &rival, Some(mine))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");

    // A broker names only their agency's notices.
    let notice = submitted(&app, &input(day(&app, 0)));
    let mut via = body(&app);
    via["notice_code"] = json!(notice.code);
    via["phone"] = json!("13900000262");
    let (s, e) = app
        .api("POST", "/api/v1/placements", &broker, Some(via.clone()))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(
        e["fields"],
        json!([{"field": "notice_code", "code": "unknown_notice"}])
    );

    // Officers record for anyone, and see every placement.
    let (s, theirs) = app
        .api("POST", "/api/v1/placements", &officer, Some(via))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{theirs}");
    assert_eq!(theirs["notice_code"], json!(notice.code));
    assert_eq!(theirs["agency"], Value::Null);
    for (t, n) in [(&officer, 2), (&admin, 2), (&broker, 1)] {
        let (s, list) = app.api("GET", "/api/v1/placements", t, None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(list["items"].as_array().unwrap().len(), n, "{list}");
    }
    let (s, e) = app
        .api("GET", "/api/v1/placements?limit=0", &officer, None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");

    // The follow-ups, with answers for officers; workers were told theirs stay confidential.
    diesel::update(
        followups::table
            .filter(followups::placement_id.eq(&id))
            .filter(followups::step.eq("1m")),
    )
    .set((
        followups::status.eq("done"),
        followups::answers.eq(r#"{"working":1,"paid":2}"#),
    ))
    .execute(&mut *app.conn())
    .unwrap();
    let (s, d) = app.api("GET", &at, &officer, None).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["employer"], "扎西建筑队");
    let steps: Vec<(&str, &str)> = d["followups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["step"].as_str().unwrap(), f["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [("1m", "done"), ("3m", "scheduled"), ("6m", "scheduled")]
    );
    let start: NaiveDate = d["start_on"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        d["followups"][0]["due_at"],
        json!(hotline::web::utc::text(&ten_am_after(start, 1)))
    );
    assert_eq!(
        d["followups"][0]["answers"],
        json!({"working": 1, "paid": 2})
    );
    assert_eq!(d["followups"][1]["answers"], json!({}));
    let (s, d) = app.api("GET", &at, &broker, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(d["followups"][0]["status"], "done");
    assert_eq!(d["followups"][0]["answers"], Value::Null);
    assert_eq!(
        app.api("GET", "/api/v1/placements/nope", &officer, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn a_bad_placement_is_422_with_each_fields_code_and_records_nothing() {
    let app = TestApp::new();
    let officer = app.token(Role::Officer, "就业科");
    let post = |b: Value| {
        let (app, officer) = (&app, officer.clone());
        async move {
            app.api("POST", "/api/v1/placements", &officer, Some(b))
                .await
        }
    };
    let codes = |v: &Value| -> Vec<(String, String)> {
        v["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["field"].as_str().unwrap().to_string(),
                    f["code"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let pairs = |ps: &[(&str, &str)]| -> Vec<(String, String)> {
        ps.iter()
            .map(|(f, c)| (f.to_string(), c.to_string()))
            .collect()
    };

    let mut bad = body(&app);
    bad["phone"] = json!("12345");
    bad["county"] = json!("成都");
    bad["start_on"] = json!("下个月");
    let (s, v) = post(bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        codes(&v),
        pairs(&[
            ("phone", "bad_phone"),
            ("county", "unknown_county"),
            ("start_on", "bad_date")
        ])
    );
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("nothing was recorded"),
        "{v}"
    );

    let (s, v) = post(json!({"employer": "扎西建筑队", "county": "城关区"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        codes(&v),
        pairs(&[("phone", "required"), ("start_on", "required")])
    );

    let mut odd = body(&app);
    odd["worker_name"] = json!("扎西");
    odd["trade"] = json!(["建筑"]);
    let (s, v) = post(odd).await;
    // A body that does not fit its schema is malformed (400), as on every route.
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let mut got = codes(&v);
    got.sort();
    assert_eq!(
        got,
        pairs(&[("trade", "not_text"), ("worker_name", "unknown_field")])
    );

    let auth = format!("Bearer {officer}");
    let (s, text) = app
        .request_with(
            "POST",
            "/api/v1/placements",
            &[("authorization", &auth)],
            Some(("application/json", b"{not json".to_vec())),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(counts(&app), [0, 0, 0, 0]);

    // A phone given as a number is read as its digits.
    let mut number = body(&app);
    number["phone"] = json!(13900000271u64);
    let (s, v) = post(number).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}
