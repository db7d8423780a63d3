//! Job alerts end to end (issue 10's "done when"), against the real `hotline` binary, a real
//! Kannel (bearerbox + smsbox) with fakesmsc as the carrier, headless Chromium and the test's
//! database (SQLite or PostgreSQL):
//!
//! - two workers subscribe by SMS, one in Chinese and one in Tibetan (with Tibetan digits);
//!   a third, on the register, texts STOP; a fourth already had this week's one alert;
//! - a broker on a phone drafts a notice, sees both texts counted, edits the Tibetan one and
//!   submits it; an officer sees the checks and the preview, and approves it;
//! - the two subscribers get the alert in their language with the sender and the opt-out
//!   line, the other two get nothing; one answers 1, gets the broker's number and the safety
//!   line, and agrees to share their number, the other declines: the broker's page lists the
//!   first number only.
//!
//! And a send window closed now: the alerts wait in the outbox for its opening, and nothing
//! reaches the carrier.
//!
//! Needs Chromium (chromium, chromium-driver) and Kannel (kannel, kannel-extras): skipped
//! without them, failed in CI. With `SCREENSHOT_DIR` set, the broker's form (phone size) and
//! the officer's notice page are saved there as PNG.

use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Timelike};
use diesel::prelude::*;
use fantoccini::Locator;
use hotline::accounts::users::{NewUser, UserRole};
use hotline::alerts::notices::{self, Targeting};
use hotline::db::models::{Message, MessageStatus, PRIORITY_BULK};
use hotline::db::schema::{messages, notices as notices_t};

use crate::alerts::{input, worker};
use crate::kannel_e2e::{get_url, kannel_or_skip, SECRET};
use crate::support::browser::{browser_or_skip, run, Browser};
use crate::support::db::TestDb;
use crate::support::kannel::{FakeMo, FakeSmsc, Kannel, KannelConfig, ReceivedMt};
use crate::support::process::{free_port, Hotline};

const BROKER_PASSWORD: &str = "broker-pass-2026";
const OFFICER_PASSWORD: &str = "officer-pass-2026";
/// The subscribers (by SMS), the one who texts STOP, the one over the weekly cap.
const ZH: &str = "8613900000611";
const BO: &str = "8613900000612";
const STOPPED: &str = "8613900000613";
const CAPPED: &str = "8613900000614";
const BROKER_PHONE: &str = "13908910001";

fn css(selector: &str) -> Locator<'_> {
    Locator::Css(selector)
}

async fn shot(b: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("SCREENSHOT_DIR") {
        b.screenshot_png(std::path::Path::new(&dir).join(name))
            .await;
    }
}

async fn sign_in(b: &Browser, user: &str, password: &str) {
    b.find(css("#username"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    b.find(css("#password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    b.find(css("#login")).await.unwrap().click().await.unwrap();
}

async fn fill(b: &Browser, selector: &str, text: &str) {
    let el = b.find(css(selector)).await.unwrap();
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

async fn scroll_to(b: &Browser, selector: &str) {
    b.execute(
        "document.querySelector(arguments[0]).scrollIntoView();",
        vec![serde_json::json!(selector)],
    )
    .await
    .unwrap();
}

/// Nothing on the page is wider than the phone's screen (a wider page makes the phone zoom
/// out, and taps land off their buttons).
async fn fits(b: &Browser, width: u32) {
    let wide = b
        .execute(
            "var w = arguments[0], out = [];\
             document.querySelectorAll('body *').forEach(function (e) {\
               var r = e.getBoundingClientRect();\
               if (r.right > w + 1) out.push(e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(r.right));\
             });\
             return [document.documentElement.scrollWidth].concat(out.slice(0, 10));",
            vec![serde_json::json!(width)],
        )
        .await
        .unwrap();
    let url = b.current_url().await.unwrap();
    assert_eq!(
        wide[0].as_u64(),
        Some(width as u64),
        "{url}: wider than the screen: {wide}"
    );
}

fn config(db_url: &str, kannel: &Kannel, window: &str) -> String {
    format!(
        "database_url = \"{db_url}\"\n\
         [alerts]\nsend_window = \"{window}\"\nmax_per_week = 1\n\
         [outbox]\npoll_interval_ms = 100\n\
         [jobs]\npoll_interval_ms = 200\n\
         [[channels]]\nid = \"kannel\"\nkind = \"kannel\"\nnumber = \"12333\"\n\
         sendsms_url = \"{}\"\nusername = \"{}\"\npassword = \"{}\"\nsecret = \"{SECRET}\"\n",
        kannel.sendsms_base_url(),
        kannel.sendsms_user(),
        kannel.sendsms_password()
    )
}

/// Kannel with fakesmsc, and the hotline binary behind it.
fn start(tdb: &TestDb, window: &str) -> (tempfile::TempDir, Kannel, Hotline, FakeSmsc) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let kannel = Kannel::start(KannelConfig::new(get_url(port))).unwrap();
    let hotline = Hotline::start(dir.path(), port, &config(&tdb.url, &kannel, window));
    let smsc = FakeSmsc::start(&kannel, &[]).unwrap();
    (dir, kannel, hotline, smsc)
}

fn to(smsc: &FakeSmsc, phone: &str) -> Vec<ReceivedMt> {
    smsc.received()
        .into_iter()
        .filter(|m| m.to.trim_start_matches('+') == phone)
        .collect()
}

/// A worker's phone on the fake carrier.
struct Phone<'a> {
    smsc: &'a FakeSmsc,
    hotline: &'a Hotline,
    number: &'static str,
}

impl Phone<'_> {
    /// Waits until a message to this phone after the first `seen` contains `want`; returns
    /// everything after `seen`, joined.
    fn wait(&self, seen: usize, want: &str, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got: Vec<String> = to(self.smsc, self.number)
                .into_iter()
                .skip(seen)
                .map(|m| m.text)
                .collect();
            if got.iter().any(|t| t.contains(want)) {
                return got.join("\n");
            }
            assert!(
                Instant::now() < deadline,
                "{}: no {want:?} after {what:?}; got {got:?}\n{}",
                self.number,
                self.hotline.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Texts `text` to 12333 and waits for a reply containing `want`.
    fn say(&self, text: &str, want: &str) -> String {
        let seen = to(self.smsc, self.number).len();
        self.smsc
            .send_mo(&FakeMo::new(self.number, "12333", text))
            .unwrap();
        self.wait(seen, want, text)
    }
}

/// A notice approved and fully sent before this test, and an alert of it the worker got
/// yesterday: this week's one alert.
fn earlier_alert(tdb: &TestDb, phone: &str, contact_id: &str) {
    let mut c = tdb.db.get().unwrap();
    let t = hotline::db::now() - chrono::Duration::days(1);
    let today = t.date();
    diesel::insert_into(notices_t::table)
        .values((
            notices_t::id.eq("n-earlier"),
            notices_t::code.eq("300"),
            notices_t::agency.eq("安居劳务"),
            notices_t::created_by.eq("user:earlier"),
            notices_t::status.eq("approved"),
            notices_t::title.eq("招保安"),
            notices_t::employer.eq("拉萨某物业公司"),
            notices_t::county.eq(Some("城关区")),
            notices_t::trade.eq("security"),
            notices_t::workers_wanted.eq(5),
            notices_t::wage_fen.eq(350000_i64),
            notices_t::wage_unit.eq("month"),
            notices_t::pay_terms.eq("月结"),
            notices_t::start_on.eq(today),
            notices_t::duration.eq("1年"),
            notices_t::board_lodging.eq("none"),
            notices_t::contact_phone.eq("+8613800000001"),
            notices_t::valid_until.eq(today + chrono::Duration::days(10)),
            notices_t::text_zh.eq("招保安5人"),
            notices_t::targeting.eq("{}"),
            notices_t::decided_at.eq(Some(t)),
            notices_t::queued_through.eq(Some("~")),
            notices_t::queued_at.eq(Some(t)),
            notices_t::created_at.eq(t),
            notices_t::updated_at.eq(t),
        ))
        .execute(&mut c)
        .unwrap();
    let id = hotline::sms::outbox::enqueue(
        &mut c,
        &hotline::sms::outbox::OutboxConfig::default(),
        &hotline::sms::outbox::Draft {
            channel_id: "kannel".into(),
            contact_id: contact_id.to_string().into(),
            phone: format!("+{phone}"),
            body: "【劳动保障热线】招保安5人 回1或YX300报名，回T退订".into(),
            priority: PRIORITY_BULK,
            kind: Some("job_alert".into()),
            in_reply_to: None,
        },
    )
    .unwrap();
    diesel::update(messages::table.find(&id))
        .set((
            messages::notice_id.eq(Some("n-earlier")),
            messages::status.eq(MessageStatus::Sent),
            messages::sent_at.eq(Some(t)),
            messages::created_at.eq(t),
        ))
        .execute(&mut c)
        .unwrap();
}

fn alerts_of(tdb: &TestDb, code: &str) -> Vec<Message> {
    let mut c = tdb.db.get().unwrap();
    let id: String = notices_t::table
        .filter(notices_t::code.eq(code))
        .select(notices_t::id)
        .first(&mut c)
        .unwrap();
    messages::table
        .filter(messages::notice_id.eq(id))
        .select(Message::as_select())
        .load(&mut c)
        .unwrap()
}

fn add_user(tdb: &TestDb, username: &str, role: UserRole, password: &str) {
    hotline::accounts::users::create(
        &mut tdb.db.get().unwrap(),
        &NewUser {
            username,
            display_name: username,
            role,
            department: None,
            agency: (role == UserRole::Broker).then_some("安居劳务"),
            password,
        },
    )
    .unwrap();
}

#[test]
fn workers_subscribe_by_sms_a_broker_posts_an_officer_approves_and_the_alerts_arrive() {
    if !browser_or_skip("alerts_e2e") || !kannel_or_skip() {
        return;
    }
    let tdb = TestDb::new();
    add_user(&tdb, "dawa", UserRole::Broker, BROKER_PASSWORD);
    add_user(&tdb, "yangjin", UserRole::Officer, OFFICER_PASSWORD);
    {
        let mut c = tdb.db.get().unwrap();
        // On the register, subscribed to the same jobs as the others.
        worker(
            &mut c,
            &format!("+{STOPPED}"),
            "zh",
            "城关区",
            ",construction,",
            true,
        );
        let capped = worker(
            &mut c,
            &format!("+{CAPPED}"),
            "zh",
            "城关区",
            ",construction,",
            true,
        );
        drop(c);
        earlier_alert(&tdb, CAPPED, &capped);
    }
    let (_dir, _kannel, hotline, smsc) = start(&tdb, "00:00-24:00");
    let zh = Phone {
        smsc: &smsc,
        hotline: &hotline,
        number: ZH,
    };
    let bo = Phone {
        smsc: &smsc,
        hotline: &hotline,
        number: BO,
    };
    let stopped = Phone {
        smsc: &smsc,
        hotline: &hotline,
        number: STOPPED,
    };

    // Subscribing by SMS: where (1 城关区), trades (1 建筑), language, confirm.
    zh.say("工作", "1 城关区");
    zh.say("1", "2/4");
    zh.say("1", "3/4");
    zh.say("2", "城关区；建筑；中文");
    zh.say("1", "已订阅");
    let first = bo.say("ལས་ཀ", "༡ཁྲིན་ཀོན");
    assert!(
        !first
            .chars()
            .any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)),
        "{first}"
    );
    bo.say("༡", "༢/༤");
    bo.say("༡", "༣/༤");
    let confirm = bo.say("༡", "༤/༤");
    assert!(confirm.contains("བོད་ཡིག"), "{confirm}");
    bo.say("༡", "ལས་ཀའི་བརྡ་ཐོ་མངགས་ཟིན");
    stopped.say("STOP", "已退订");
    let stop_replies = to(&smsc, STOPPED).len();
    let (zh_seen, bo_seen) = (to(&smsc, ZH).len(), to(&smsc, BO).len());

    let base = hotline.base();
    let code = run(async {
        // The broker, on a phone.
        let b = Browser::start(390, 844).await;
        b.goto(&format!("{base}/console/")).await.unwrap();
        sign_in(&b, "dawa", BROKER_PASSWORD).await;
        b.wait_for_text("h1", "招工信息", Duration::from_secs(10))
            .await;
        b.find(css("#new-notice"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        b.find(css("#notice-form")).await.unwrap();
        fill(&b, "#title", "拉萨工地招钢筋工").await;
        fill(&b, "#employer", "拉萨市城关区安居建筑公司").await;
        b.find(css("#county"))
            .await
            .unwrap()
            .select_by_value("城关区")
            .await
            .unwrap();
        b.find(css("#trade"))
            .await
            .unwrap()
            .select_by_value("construction")
            .await
            .unwrap();
        fill(&b, "#workers_wanted", "20").await;
        fill(&b, "#wage", "260").await;
        fill(&b, "#pay_terms", "月结，每月10日前发").await;
        fill(&b, "#duration", "3个月").await;
        fill(&b, "#contact_phone", BROKER_PHONE).await;
        fits(&b, 390).await;
        shot(&b, "notice-form-phone.png").await;
        b.find(css("#draft")).await.unwrap().click().await.unwrap();
        // Both texts drafted from the fields, each counted as the worker gets it.
        b.wait_for_text("#meter_zh", "条", Duration::from_secs(10))
            .await;
        let drafted = b
            .find(css("#text_zh"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(drafted.contains("日薪260元"), "{drafted}");
        for id in ["#meter_zh", "#meter_bo"] {
            let meter = b.find(css(id)).await.unwrap();
            let n: u32 = meter
                .attr("data-count")
                .await
                .unwrap()
                .unwrap_or_default()
                .parse()
                .unwrap_or(0);
            assert!((1..=4).contains(&n), "{id}: {n} segments");
            assert_eq!(
                meter.attr("data-encoding").await.unwrap().as_deref(),
                Some("ucs2")
            );
        }
        // The Tibetan text, as the broker rewrites it.
        let text_bo = "ལྷ་སར་ལྕགས་ལས་པ་༢༠དགོས། ཉིན་གླ་སྒོར་༢༦༠། ཟ་ཉལ་འགན་ལེན། ཁ་པར་13908910001";
        fill(&b, "#text_bo", text_bo).await;
        let counted = format!("{} 字", text_bo.chars().count());
        b.wait_for_text("#meter_bo", &counted, Duration::from_secs(10))
            .await;
        fits(&b, 390).await;
        scroll_to(&b, "#draft").await;
        shot(&b, "notice-form-texts-phone.png").await;
        b.find(css("#submit")).await.unwrap().click().await.unwrap();
        b.wait_for_text("#notice-status", "待审核", Duration::from_secs(10))
            .await;
        let url = b.current_url().await.unwrap();
        let code = url.path().rsplit('/').next().unwrap().to_string();
        assert!(b.find_all(css("#approve")).await.unwrap().is_empty());

        // The officer, on another phone: the checks, who it reaches, approve.
        let o = Browser::start(390, 844).await;
        o.goto(&format!("{base}/console/login")).await.unwrap();
        sign_in(&o, "yangjin", OFFICER_PASSWORD).await;
        // Signed in (the login page has the header too, without who is signed in).
        o.find(css("header.top .who")).await.unwrap();
        o.goto(&format!("{base}/console/notices/{code}"))
            .await
            .unwrap();
        o.wait_for_text("#sms-bo", "ལྷ་སར་ལྕགས་ལས་པ", Duration::from_secs(10))
            .await;
        o.find(css("#checks li[data-kind='no_project']"))
            .await
            .unwrap();
        let recipients = o.find(css("#preview-recipients")).await.unwrap();
        let text = recipients.text().await.unwrap();
        assert!(text.starts_with('2'), "two would get it: {text}");
        let excluded = o
            .find(css("#preview-excluded"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // The one who texted STOP withdrew their consent: no longer among the matching.
        assert_eq!(excluded.trim(), "本周已达上限 1");
        let matching = o.find(css("#preview-matching")).await.unwrap();
        assert_eq!(matching.text().await.unwrap().trim(), "3");
        fits(&o, 390).await;
        shot(&o, "notice-officer-top-phone.png").await;
        scroll_to(&o, "#checks").await;
        shot(&o, "notice-officer-phone.png").await;
        scroll_to(&o, "#preview").await;
        shot(&o, "notice-officer-preview-phone.png").await;
        o.find(css("#approve"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        o.wait_for_text("#notice-status", "已批准", Duration::from_secs(10))
            .await;
        code
    });

    // The alert, each in their language, with the sender, the code and the opt-out line.
    let got = zh.wait(zh_seen, &format!("YX{code}"), "the approval");
    assert!(got.starts_with("【劳动保障热线】"), "{got}");
    assert!(
        got.contains("日薪260元") && got.contains("回T退订"),
        "{got}"
    );
    let got = bo.wait(bo_seen, &format!("YX{code}"), "the approval");
    assert!(
        got.starts_with("【ལས་མིའི་ཁེ་དབང་ཁ་པར】") && got.contains("ལྷ་སར་ལྕགས་ལས་པ"),
        "{got}"
    );
    assert!(
        got.contains("མཚམས་འཇོག་ན་T") && !got.contains("日薪"),
        "{got}"
    );
    // Sent (a bare 1 answers an alert that went out): then nothing more is coming.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alerts = alerts_of(&tdb, &code);
        if alerts.len() == 2
            && alerts
                .iter()
                .all(|m| matches!(m.status, MessageStatus::Sent | MessageStatus::Delivered))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{:?}",
            alerts
                .iter()
                .map(|m| (&m.phone, &m.status))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(to(&smsc, STOPPED).len(), stop_replies, "opted out");
    assert!(to(&smsc, CAPPED).is_empty(), "over the weekly cap");

    // Interest: the broker's number and the safety line; yes from one, no from the other.
    let reply = zh.say("1", BROKER_PHONE);
    assert!(
        reply.contains("押金") && reply.contains("合同") && reply.contains(&code),
        "{reply}"
    );
    zh.say("1", "好的");
    let reply = bo.say("༡", BROKER_PHONE);
    assert!(reply.contains("ཆིངས་ཡིག"), "{reply}");
    bo.say("༢", "ཁ་པར་ཨང་གྲངས་མི་སྤྲོད");

    run(async {
        let b = Browser::start(390, 844).await;
        b.goto(&format!("{base}/console/login")).await.unwrap();
        sign_in(&b, "dawa", BROKER_PASSWORD).await;
        // The list: the notice, approved, sent to two, two interested.
        let row = b
            .wait_for_text("#notice-list tbody tr", &code, Duration::from_secs(10))
            .await;
        assert_eq!(
            row.attr("data-status").await.unwrap().as_deref(),
            Some("approved")
        );
        fits(&b, 390).await;
        shot(&b, "notices-broker-phone.png").await;
        b.goto(&format!("{base}/console/notices/{code}"))
            .await
            .unwrap();
        b.wait_for_text("#interested", "2", Duration::from_secs(10))
            .await;
        shot(&b, "notice-broker-phone.png").await;
        let shared = b.find(css("#shared")).await.unwrap().text().await.unwrap();
        assert!(shared.contains(&ZH[2..]), "{shared}");
        assert!(!shared.contains(&BO[2..]), "{shared}");
        fits(&b, 390).await;
        scroll_to(&b, "#shared").await;
        shot(&b, "notice-broker-shared-phone.png").await;
    });
    drop(hotline);
}

/// A send window closed now (bureau time): the next hour-long window starting at least an
/// hour from now, or 03:00-04:00 near midnight.
fn closed_window() -> (String, NaiveDateTime) {
    let now = chrono::Utc::now().naive_utc() + chrono::Duration::hours(8);
    let start = now + chrono::Duration::hours(2);
    let end = now + chrono::Duration::hours(3);
    let (window, hour) = if start.date() == end.date() {
        (
            format!("{}-{}", start.format("%H:00"), end.format("%H:00")),
            start.hour(),
        )
    } else {
        ("03:00-04:00".to_string(), 3)
    };
    // The next opening, in UTC.
    let mut opens = now.date().and_hms_opt(hour, 0, 0).unwrap();
    if opens <= now {
        opens += chrono::Duration::days(1);
    }
    (window, opens - chrono::Duration::hours(8))
}

#[test]
fn outside_the_send_window_approved_alerts_wait_in_the_outbox() {
    if !kannel_or_skip() {
        return;
    }
    let tdb = TestDb::new();
    let (window, opens) = closed_window();
    worker(
        &mut tdb.db.get().unwrap(),
        &format!("+{ZH}"),
        "zh",
        "城关区",
        ",construction,",
        true,
    );
    let (_dir, _kannel, hotline, smsc) = start(&tdb, &window);
    // Approved while the window is closed.
    let mut cfg = hotline::config::Config::default();
    cfg.alerts.send_window = window.clone();
    let templates = hotline::templates::Templates::load(None, &cfg.sender_name)
        .unwrap()
        .with_sender_bo(&cfg.sender_name_bo);
    let env = notices::Env {
        alerts: &cfg.alerts,
        counties: &cfg.counties,
        templates: &templates,
        country_code: &cfg.default_country_code,
        today: cfg.today(),
    };
    let v = notices::validate(&env, &input(cfg.today())).unwrap();
    let code = {
        let mut c = tdb.db.get().unwrap();
        let n = notices::create(&mut c, &v, "安居劳务", "user:broker").unwrap();
        notices::submit(&mut c, &n.id, "user:broker").unwrap();
        notices::approve(&mut c, &n.id, &Targeting::default(), None, "user:officer").unwrap();
        n.code
    };
    // The job runner queues it within its 2 s round; it waits for the window.
    let deadline = Instant::now() + Duration::from_secs(10);
    let alerts = loop {
        let a = alerts_of(&tdb, &code);
        if !a.is_empty() {
            break a;
        }
        assert!(
            Instant::now() < deadline,
            "never queued ({window}):\n{}",
            hotline.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].status, MessageStatus::Queued);
    assert_eq!(
        alerts[0].next_attempt_at.and_utc().timestamp(),
        opens.and_utc().timestamp(),
        "waits for {window}"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(smsc.received().is_empty(), "{:?}", smsc.received());
    let a = alerts_of(&tdb, &code);
    assert_eq!(a[0].status, MessageStatus::Queued, "{window}");
    assert_eq!(a[0].attempts, 0);
    drop(hotline);
}
