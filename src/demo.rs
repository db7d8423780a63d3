//! `hotline demo`: fills an empty database with a realistic demonstration — projects in
//! several counties, complaints texted in Tibetan and Chinese through the real router, cases
//! at different stages, a referral, and one account per role — and says how to sign in.

use chrono::Duration;
use diesel::prelude::*;

use crate::accounts::users::{NewUser, UserRole};
use crate::cases::actions::{self, Action};
use crate::cases::Clock;
use crate::db::models::{Case, NewProject};
use crate::db::schema::{cases, complaints, departments, projects, users};
use crate::db::{now, DbConn, DbError};
use crate::sms::channels::InboundSms;
use crate::AppState;

/// Where the demo departments' email goes: a reserved domain, so nothing reaches a real inbox.
const DEPARTMENT_EMAILS: &[(&str, &str)] = &[
    ("住建", "zhujian@bureau.example"),
    ("交通", "jiaotong@bureau.example"),
    ("水利", "shuili@bureau.example"),
    ("发改", "fagai@bureau.example"),
    ("财政", "caizheng@bureau.example"),
    ("公安", "gongan@bureau.example"),
    ("市场监管", "shichang@bureau.example"),
];

/// (code, name, Tibetan name, county, department, government-invested)
type DemoProject = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    bool,
);
const PROJECTS: &[DemoProject] = &[
    (
        "LS-2026-014",
        "拉萨北环路改造工程",
        Some("ལྷ་སའི་བྱང་ངོས་ལམ་བཟོ་བཅོས་ལས་གཞི།"),
        "城关区",
        "交通",
        true,
    ),
    (
        "LS-2026-021",
        "堆龙德庆区安居房二期",
        None,
        "堆龙德庆区",
        "住建",
        true,
    ),
    (
        "LS-2026-033",
        "达孜区农田水利灌渠",
        None,
        "达孜区",
        "水利",
        true,
    ),
    (
        "LS-2026-047",
        "当雄县牧民定居点道路",
        Some("འདམ་གཞུང་འབྲོག་པའི་སྡོད་གནས་ལམ་བཟོ།"),
        "当雄县",
        "交通",
        true,
    ),
    (
        "LS-2026-052",
        "城关区商业综合体",
        None,
        "城关区",
        "住建",
        false,
    ),
    (
        "LS-2026-060",
        "曲水县温室大棚",
        None,
        "曲水县",
        "其他",
        false,
    ),
];

/// (username, name, role, a liaison's department or a broker's agency)
const USERS: &[(&str, &str, UserRole, Option<&str>)] = &[
    ("admin", "系统管理员", UserRole::Admin, None),
    ("kezhang", "卓玛（科长）", UserRole::Supervisor, None),
    ("tashi", "扎西", UserRole::Inspector, None),
    ("dawa", "达瓦", UserRole::Inspector, None),
    ("fagai", "发改委联络员", UserRole::Liaison, Some("发改")),
    ("jiaotong", "交通局联络员", UserRole::Liaison, Some("交通")),
    ("yangjin", "央金（就业服务）", UserRole::Officer, None),
    (
        "norbu",
        "诺布（劳务经纪人）",
        UserRole::Broker,
        Some(DEMO_AGENCY),
    ),
];

const DEMO_AGENCY: &str = "拉萨诺布劳务有限公司";

/// Workers' texts, one conversation each: (phone, messages, days ago).
const CONVERSATIONS: &[(&str, &[&str], i64)] = &[
    // A crew on a government road project, in Chinese: collective, past the criminal hint.
    (
        "+8613908901001",
        &["欠薪", "LS-2026-014", "14", "42000", "4", "2", "1"],
        2,
    ),
    // The same site, in Tibetan with Tibetan digits: joins the case.
    (
        "+8613908901002",
        &["གླ་ཕོགས", "LS-2026-014", "༣", "༩༠༠༠", "༣", "1", "1"],
        1,
    ),
    // One message with the site board's code.
    ("+8613908901003", &["QX LS-2026-021 6 18000"], 40),
    // Individual complaints without a project code.
    (
        "+8613908901004",
        &["欠薪", "次仁装修队", "1", "1", "2400", "2", "2", "1"],
        38,
    ),
    (
        "+8613908901005",
        &["工资", "LS-2026-033", "8", "26000", "3", "1", "1"],
        12,
    ),
    (
        "+8613908901006",
        &["གླ་ཕོགས", "LS-2026-047", "༥", "༡༥༠༠༠", "༢", "2", "1"],
        6,
    ),
    (
        "+8613908901007",
        &["欠薪", "拉萨雪域餐饮公司", "1", "1", "3000", "1", "2", "1"],
        45,
    ),
    ("+8613908901008", &["QX LS-2026-060 2 5200"], 0),
];

pub struct DemoLogin {
    pub username: String,
    pub name: String,
    pub role: String,
    pub password: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the database is not empty ({0}); `hotline demo` fills an empty database only")]
    NotEmpty(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Other(String),
}

impl From<diesel::result::Error> for DemoError {
    fn from(e: diesel::result::Error) -> Self {
        DemoError::Db(DbError::from(e))
    }
}

fn password() -> String {
    // 16 characters a person can type from a printout: no 0/O or 1/l.
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect()
}

/// Fills the database; returns the accounts made (with their passwords, shown once).
pub async fn run(state: &AppState) -> Result<Vec<DemoLogin>, DemoError> {
    let st = state.clone();
    let logins = state
        .db
        .run(move |c| -> Result<Vec<DemoLogin>, DemoError> {
            let n_users: i64 = users::table.count().get_result(c)?;
            let n_cases: i64 = cases::table.count().get_result(c)?;
            if n_users > 0 || n_cases > 0 {
                return Err(DemoError::NotEmpty(format!(
                    "{n_users} users, {n_cases} cases"
                )));
            }
            seed(&st, c)
        })
        .await?;
    let channel = state.channels.default_id().to_string();
    for (i, (phone, texts, _)) in CONVERSATIONS.iter().enumerate() {
        for (j, text) in texts.iter().enumerate() {
            let sms = InboundSms {
                from: phone.to_string(),
                to: None,
                text: text.to_string(),
                gateway_id: Some(format!("demo-{i}-{j}")),
                ..Default::default()
            };
            crate::conversations::inbound::receive(state, &channel, sms)
                .await
                .map_err(|e| DemoError::Other(format!("demo message {text:?}: {e}")))?;
        }
    }
    let st = state.clone();
    state.db.run(move |c| progress(&st, c)).await?;
    let st = state.clone();
    state.db.run(move |c| job_alerts(&st, c)).await?;
    let st = state.clone();
    state.db.run(move |c| followups(&st, c)).await?;
    Ok(logins)
}

/// Forty workers on the register who asked for job alerts by SMS, and a broker's notice
/// waiting for the officer.
fn job_alerts(state: &AppState, c: &mut DbConn) -> Result<(), DemoError> {
    use crate::alerts::{notices, register};
    use crate::db::models::Language;
    let langs = [Language::Bo, Language::Zh, Language::Both];
    let trades = ["construction", "transport", "farming", "catering"];
    for i in 0..40usize {
        let phone = format!("+86139089{i:05}");
        let contact = crate::conversations::inbound::contact_for(c, &phone)?;
        crate::conversations::inbound::choose_language(c, &phone, langs[i % 3].as_str())?;
        let county = &state.config.counties[i % state.config.counties.len()].zh;
        register::subscribe(
            c,
            &contact.id,
            &register::Subscription {
                alert_county: None,
                outside_ok: i % 4 == 0,
                trades: vec![trades[i % 4].to_string()],
            },
            "demo: subscribed by SMS",
        )?;
        diesel::update(crate::db::schema::workers::table.find(&contact.id))
            .set(crate::db::schema::workers::county.eq(county))
            .execute(c)?;
    }
    let env = notices::Env::of(state);
    let today = env.today;
    let input = notices::NoticeInput {
        title: "拉萨北环路工地招钢筋工".into(),
        employer: "西藏天路建设有限公司".into(),
        county: state.config.counties[0].zh.clone(),
        trade: "construction".into(),
        workers_wanted: "20".into(),
        wage: "260".into(),
        wage_unit: "day".into(),
        pay_terms: "按月发放，每月10日前打到本人银行卡".into(),
        start_on: (today + chrono::Duration::days(7)).to_string(),
        duration: "3个月".into(),
        board_lodging: "both".into(),
        contact_phone: "13908900001".into(),
        project_code: PROJECTS[0].0.into(),
        valid_until: (today + chrono::Duration::days(14)).to_string(),
        ..notices::NoticeInput::default()
    };
    let mut valid =
        notices::validate(&env, &input).map_err(|e| DemoError::Other(format!("{e:?}")))?;
    valid.text_bo = notices::draft(&env, &valid, "bo").ok();
    let n = notices::create(c, &valid, DEMO_AGENCY, "user:norbu")?;
    notices::submit(c, &n.id, "user:norbu").map_err(|e| DemoError::Other(e.to_string()))?;
    Ok(())
}

/// Five of those workers placed by the demo broker, followed up as the months went: two still
/// there and paid at six months (their subsidies wait for the officer; one worked outside
/// Tibet), one who changed jobs at three months, one paid only partly, and one whose first
/// follow-up is due now (the running service asks it).
fn followups(state: &AppState, c: &mut DbConn) -> Result<(), DemoError> {
    use crate::db::schema::followups as f_t;
    use crate::followups::{answers, placements, run::Followup, FollowupStatus, PlacementSource};
    let now = state.time.now();
    let today = state.config.local(now).date();
    // The demo's register is a year old, as a bureau's would be: the monthly dispatch counts
    // workers registered by each period's end.
    diesel::update(crate::db::schema::workers::table)
        .set(crate::db::schema::workers::created_at.eq(now - chrono::Duration::days(365)))
        .execute(c)?;
    let project = crate::projects::get_by_code(c, PROJECTS[0].0)?.map(|p| p.id);
    let plan: [(i64, Option<&str>, &[&str]); 5] = [
        (190, None, &["1 1", "1 1", "1 1"]),
        (190, Some("江苏省苏州市"), &["1 1", "1 1", "1 1"]),
        (190, None, &["1 1", "2 1"]),
        (100, None, &["1 2 2 2 2"]),
        (40, None, &[]),
    ];
    for (i, (days, outside, steps)) in plan.iter().enumerate() {
        let start = today - chrono::Duration::days(*days);
        let valid = placements::Valid {
            phone: format!("+86139089{i:05}"),
            employer: PROJECTS[0].1.to_string(),
            project_id: project.clone(),
            notice_id: None,
            agency: Some(DEMO_AGENCY.to_string()),
            county: outside
                .is_none()
                .then(|| state.config.counties[0].zh.clone()),
            place_outside: outside.map(String::from),
            trade: Some("construction".into()),
            start_on: start,
        };
        let p = placements::record(
            c,
            &state.config.followups,
            state.config.utc_offset_secs(),
            &valid,
            PlacementSource::Console,
            "user:norbu",
            now - chrono::Duration::days(*days),
        )?
        .placement;
        let due: Vec<Followup> = f_t::table
            .filter(f_t::placement_id.eq(&p.id))
            .order(f_t::due_at)
            .select(Followup::as_select())
            .load(c)?;
        for (f, said) in due.iter().zip(steps.iter()) {
            // Asked at its time, answered two hours later.
            diesel::update(f_t::table.find(&f.id))
                .set((
                    f_t::status.eq(FollowupStatus::Open.as_str()),
                    f_t::question.eq("working"),
                    f_t::sent_at.eq(f.due_at),
                    f_t::updated_at.eq(f.due_at),
                ))
                .execute(c)?;
            let open: Followup = f_t::table
                .find(&f.id)
                .select(Followup::as_select())
                .first(c)?;
            let tokens: Vec<String> = said.split_whitespace().map(String::from).collect();
            answers::apply(
                c,
                state,
                &open,
                &tokens,
                f.due_at + chrono::Duration::hours(2),
            )
            .map_err(|e| DemoError::Other(format!("demo follow-up: {e}")))?;
        }
    }
    Ok(())
}

fn seed(state: &AppState, c: &mut DbConn) -> Result<Vec<DemoLogin>, DemoError> {
    let t = now();
    for (code, email) in DEPARTMENT_EMAILS {
        diesel::update(departments::table.find(code))
            .set(departments::email.eq(Some(email)))
            .execute(c)?;
    }
    for (code, name, bo, county, dept, gov) in PROJECTS {
        diesel::insert_into(projects::table)
            .values(NewProject {
                id: &crate::db::new_id(),
                code,
                name_zh: name,
                name_bo: *bo,
                county,
                department: dept,
                owner: Some("拉萨市城市建设投资有限公司"),
                contractor: Some("西藏高原建工集团"),
                government_invested: *gov,
                created_at: t,
                updated_at: t,
            })
            .execute(c)?;
    }
    let _ = state;
    let mut logins = Vec::new();
    for (username, name, role, dept) in USERS {
        let pw = password();
        crate::accounts::users::create(
            c,
            &NewUser {
                username,
                display_name: name,
                role: *role,
                department: dept.filter(|_| *role == UserRole::Liaison),
                agency: dept.filter(|_| *role == UserRole::Broker),
                password: &pw,
            },
        )
        .map_err(|e| DemoError::Other(e.to_string()))?;
        logins.push(DemoLogin {
            username: username.to_string(),
            name: name.to_string(),
            role: role.as_str().to_string(),
            password: pw,
        });
    }
    Ok(logins)
}

fn case_of(c: &mut DbConn, phone: &str) -> Result<Case, DemoError> {
    let contact = crate::conversations::inbound::contact_for(c, phone)?;
    crate::cases::cases_of(c, &contact.id)?
        .into_iter()
        .next()
        .ok_or_else(|| DemoError::Other(format!("no case for {phone}")))
}

/// Moves a case's dates back, as if it had come in `days` ago, and recomputes its clock.
fn backdate(state: &AppState, c: &mut DbConn, case: &Case, days: i64) -> Result<(), DemoError> {
    if days == 0 {
        return Ok(());
    }
    let shift = Duration::days(days);
    diesel::update(cases::table.find(&case.id))
        .set((
            cases::received_on.eq(case.received_on - shift),
            cases::created_at.eq(case.created_at - shift),
        ))
        .execute(c)?;
    let filed: Vec<(String, chrono::NaiveDateTime)> = complaints::table
        .filter(complaints::case_id.eq(&case.id))
        .select((complaints::id, complaints::created_at))
        .load(c)?;
    for (id, at) in filed {
        diesel::update(complaints::table.find(&id))
            .set(complaints::created_at.eq(at - shift))
            .execute(c)?;
    }
    let moved: Case = cases::table
        .find(&case.id)
        .select(Case::as_select())
        .first(c)?;
    let clock = Clock {
        calendar: &state.calendar,
        region: state.config.region.as_deref(),
        today: state.config.today(),
    };
    let pauses = actions::pauses_of(c, &case.id)?;
    let (accept, finish) = actions::deadlines(&moved, &pauses, &state.config.cases, &clock);
    diesel::update(cases::table.find(&case.id))
        .set((cases::accept_due.eq(accept), cases::finish_due.eq(finish)))
        .execute(c)?;
    Ok(())
}

/// Cases at different stages, as a bureau would have them on an ordinary day.
fn progress(state: &AppState, c: &mut DbConn) -> Result<(), DemoError> {
    for (phone, _, days) in CONVERSATIONS {
        let case = case_of(c, phone)?;
        if case.received_on == state.config.today() {
            backdate(state, c, &case, *days)?;
        }
    }
    let act = |c: &mut DbConn, phone: &str, who: &str, a: Action| -> Result<(), DemoError> {
        let case = case_of(c, phone)?;
        actions::apply(state, c, &case.reference, &format!("user:{who}"), &a)
            .map_err(|e| DemoError::Other(format!("{}: {e}", case.reference)))?;
        Ok(())
    };
    // The road crew: accepted, assigned, referred to 发改 (funding) and 交通 (the sector).
    act(c, "+8613908901001", "tashi", Action::Accept)?;
    act(
        c,
        "+8613908901001",
        "tashi",
        Action::Assign { to: "tashi".into() },
    )?;
    let road = case_of(c, "+8613908901001")?;
    for dept in ["发改", "交通"] {
        crate::cases::referrals::create(
            state,
            c,
            &road.reference,
            dept,
            "政府投资项目拖欠农民工工资，请核查项目资金拨付和施工总包工资专用账户。",
            "user:tashi",
        )
        .map_err(|e| DemoError::Other(format!("referral to {dept}: {e}")))?;
    }
    // The housing site: accepted long ago, under investigation, mediation under way.
    act(c, "+8613908901003", "dawa", Action::Accept)?;
    act(c, "+8613908901003", "dawa", Action::Investigate)?;
    act(
        c,
        "+8613908901003",
        "dawa",
        Action::RecordMediation {
            note: "总包单位同意先行垫付一半工资".into(),
            recovered_yuan: 9000,
        },
    )?;
    // The decorator: resolved, all paid.
    act(c, "+8613908901004", "tashi", Action::Accept)?;
    act(
        c,
        "+8613908901004",
        "tashi",
        Action::Resolve {
            recovered_yuan: 2400,
        },
    )?;
    // The irrigation crew: waiting for the worker's pay slips.
    act(c, "+8613908901005", "dawa", Action::Accept)?;
    act(
        c,
        "+8613908901005",
        "dawa",
        Action::RequestInfo {
            reason: "请提供考勤表或工资条照片".into(),
        },
    )?;
    // The restaurant: refused, with the reason the worker is told.
    act(
        c,
        "+8613908901007",
        "tashi",
        Action::Refuse {
            reason: "属劳动争议，请向劳动人事争议仲裁委员会申请仲裁".into(),
        },
    )?;
    Ok(())
}
