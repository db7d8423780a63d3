//! Job alerts by SMS, the worker's side, through the Kannel receive route: subscribing in
//! Chinese and Tibetan, the newest matching notices on request, STOP and START, and interest
//! in a notice with the consent to share the worker's number.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use hotline::alerts::register::{self, Worker};
use hotline::db::models::{Conversation, Message, MessageStatus};
use hotline::db::schema::{conversations, messages, notice_responses, notices, workers};
use hotline::sms::outbox::{self, Draft};

use crate::support::app::TestApp;

const ZH: &str = "+8613900000051";
const BO: &str = "+8613900000052";
const OTHER: &str = "+8613900000053";

/// A worker's phone: sends through the Kannel webhook and reads the replies to that message.
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

    /// Sends `text`; returns the replies to it as (kind, body).
    async fn send(&self, text: &str) -> Vec<(String, String)> {
        self.n.set(self.n.get() + 1);
        let id = format!("{}-{}", self.number, self.n.get());
        let (status, body) = self.app.kannel_mo(self.number, text, &id).await;
        assert_eq!(status, actix_web::http::StatusCode::OK, "{text}: {body}");
        let msgs = self.app.messages();
        let incoming = msgs
            .iter()
            .find(|m| m.direction == "in" && m.gateway_id.as_deref() == Some(id.as_str()))
            .expect("stored");
        msgs.iter()
            .filter(|m| m.in_reply_to.as_deref() == Some(incoming.id.as_str()))
            .map(|m| (m.kind.clone().unwrap_or_default(), m.body.clone()))
            .collect()
    }

    /// Sends `text`; returns the one reply's kind and body.
    async fn one(&self, text: &str) -> (String, String) {
        let r = self.send(text).await;
        assert_eq!(r.len(), 1, "{text}: {r:?}");
        r.into_iter().next().unwrap()
    }
}

fn worker(app: &TestApp, phone: &str) -> Option<Worker> {
    let id = app.contact(phone)?.id;
    register::get(&mut app.conn(), &id).unwrap()
}

struct N<'a> {
    code: &'a str,
    status: &'a str,
    county: Option<&'a str>,
    outside: Option<&'a str>,
    trade: &'a str,
    valid_days: i64,
    age_minutes: i64,
    cancelled: bool,
}

impl Default for N<'_> {
    fn default() -> Self {
        N {
            code: "1000",
            status: "approved",
            county: Some("城关区"),
            outside: None,
            trade: "construction",
            valid_days: 10,
            age_minutes: 0,
            cancelled: false,
        }
    }
}

/// Inserts a job notice as an approved broker's notice would stand in the table.
fn notice(app: &TestApp, n: N) -> String {
    let t = hotline::db::now() - Duration::minutes(n.age_minutes);
    let today = app.state.config.today();
    let id = format!("n-{}", n.code);
    diesel::insert_into(notices::table)
        .values((
            notices::id.eq(&id),
            notices::code.eq(n.code),
            notices::agency.eq("拉萨劳务公司"),
            notices::created_by.eq("broker1"),
            notices::status.eq(n.status),
            notices::title.eq(format!("招钢筋工{}", n.code)),
            notices::employer.eq("拉萨某建筑公司"),
            notices::county.eq(n.county),
            notices::place_outside.eq(n.outside),
            notices::trade.eq(n.trade),
            notices::workers_wanted.eq(10),
            notices::wage_fen.eq(25000_i64),
            notices::wage_unit.eq("day"),
            notices::pay_terms.eq("月结"),
            notices::start_on.eq(today),
            notices::duration.eq("3个月"),
            notices::board_lodging.eq("both"),
            notices::contact_phone.eq("13800000001"),
            notices::valid_until.eq(today + Duration::days(n.valid_days)),
            notices::text_zh.eq(format!("招钢筋工{}，每天250元", n.code)),
            notices::text_bo.eq(Some(format!(
                "【ལས་མི】ལྕགས་ལས་པ་དགོས་{}། ཉིན་རེར་སྒོར་༢༥༠",
                n.code
            ))),
            notices::targeting.eq("{}"),
            notices::cancelled_at.eq(n.cancelled.then_some(t)),
            notices::created_at.eq(t),
            notices::updated_at.eq(t),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    id
}

/// An alert for `notice_id` to `phone`, queued, or sent at `sent_at`.
fn alert(app: &TestApp, phone: &str, notice_id: &str, sent_at: Option<NaiveDateTime>) -> String {
    let contact = app.contact(phone).unwrap();
    let mut conn = app.conn();
    let id = outbox::enqueue(
        &mut conn,
        &app.state.config.outbox,
        &Draft {
            channel_id: "kannel".into(),
            contact_id: contact.id.clone(),
            phone: phone.into(),
            body: "【劳动保障热线】招钢筋工 回复1了解".into(),
            priority: hotline::db::models::PRIORITY_BULK,
            kind: Some("alert".into()),
            in_reply_to: None,
        },
    )
    .unwrap();
    let status = if sent_at.is_some() {
        MessageStatus::Sent
    } else {
        MessageStatus::Queued
    };
    diesel::update(messages::table.find(&id))
        .set((
            messages::notice_id.eq(Some(notice_id)),
            messages::status.eq(status),
            messages::sent_at.eq(sent_at),
            messages::created_at.eq(sent_at.unwrap_or_else(hotline::db::now)),
        ))
        .execute(&mut *conn)
        .unwrap();
    id
}

fn response(app: &TestApp, notice_id: &str, phone: &str) -> Vec<Option<bool>> {
    let contact = app.contact(phone).unwrap();
    notice_responses::table
        .filter(notice_responses::notice_id.eq(notice_id))
        .filter(notice_responses::contact_id.eq(&contact.id))
        .select(notice_responses::share_consent)
        .load(&mut *app.conn())
        .unwrap()
}

async fn subscribe_zh(p: &Phone<'_>, place: &str, trades: &str) {
    p.send("工作").await;
    p.one(place).await;
    p.one(trades).await;
    p.one("2").await;
    let (kind, _) = p.one("1").await;
    assert_eq!(kind, "jobs_subscribed");
}

#[actix_web::test]
async fn subscribing_in_chinese_with_a_wrong_answer_and_several_trades() {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    let p = Phone::new(&app, ZH);
    let first = p.send("找工作").await;
    let all: String = first.iter().map(|(_, b)| b.as_str()).collect();
    assert!(
        all.contains("1 城关区") && all.contains("0 西藏各地"),
        "{all}"
    );
    assert!(all.contains("9 西藏各地和区外"), "{all}");
    // Not a choice: asked again, with an example.
    let (kind, body) = p.one("啊").await;
    assert_eq!(kind, "jobs_invalid");
    assert!(body.contains("例如：1"), "{body}");
    let (kind, body) = p.one("１").await;
    assert_eq!(kind, "jobs_ask_trades");
    assert!(
        body.contains("1建筑") && body.contains("例如：1 3"),
        "{body}"
    );
    let (kind, _) = p.one("1、3").await;
    assert_eq!(kind, "jobs_ask_language");
    let (kind, body) = p.one("2").await;
    assert_eq!(kind, "jobs_confirm");
    assert!(body.contains("城关区；建筑、家政；中文"), "{body}");
    assert!(
        worker(&app, ZH).is_none(),
        "nothing saved before the confirmation"
    );
    let (kind, body) = p.one("1").await;
    assert_eq!(kind, "jobs_subscribed");
    assert!(body.contains("T退订") && body.contains("“工作”"), "{body}");

    let w = worker(&app, ZH).unwrap();
    assert!(w.alerts_consent);
    assert_eq!(w.alert_county.as_deref(), Some("城关区"));
    assert!(!w.outside_ok);
    assert_eq!(w.trades, ",construction,domestic,");
    assert!(w.consent_at.is_some());
    let source = w.consent_source.unwrap();
    assert!(
        source.starts_with("sms via kannel: 1 (conversation "),
        "{source}"
    );
    let c = app.contact(ZH).unwrap();
    assert_eq!(c.language.as_str(), "zh");
    assert!(c.language_chosen);
}

#[actix_web::test]
async fn subscribing_in_tibetan_with_tibetan_digits() {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    let p = Phone::new(&app, BO);
    let first = p.send("ལས་ཀ").await;
    let all: String = first.iter().map(|(_, b)| b.as_str()).collect();
    assert!(all.contains("༡ཁྲིན་ཀོན"), "{all}");
    for (_, body) in &first {
        assert!(
            !body.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)),
            "{body}"
        );
    }
    // Anywhere in Tibet and outside it, trades 1 and 3 typed together, Tibetan.
    assert_eq!(p.one("༩").await.0, "jobs_ask_trades");
    // Not understood: said, and the question again (two SMS in Tibetan: the list is long).
    let again = p.send("ཀ").await;
    assert_eq!(again[0].0, "jobs_invalid");
    assert!(
        again.iter().any(|(_, b)| b.contains("དཔེར་ན། ༡ ༣")),
        "{again:?}"
    );
    assert_eq!(p.one("༡༣").await.0, "jobs_ask_language");
    let (kind, body) = p.one("༡").await;
    assert_eq!(kind, "jobs_confirm");
    assert!(
        body.contains("ཕྱི་ནང་ཡོངས") && body.contains("བོད་ཡིག"),
        "{body}"
    );
    assert_eq!(p.one("༡").await.0, "jobs_subscribed");
    let w = worker(&app, BO).unwrap();
    assert!(w.alerts_consent && w.outside_ok);
    assert_eq!(w.alert_county, None);
    assert_eq!(w.trades, ",construction,domestic,");
    let c = app.contact(BO).unwrap();
    assert_eq!(c.language.as_str(), "bo");
    assert!(c.language_chosen);
}

#[actix_web::test]
async fn wrong_answers_end_the_dialog_with_nothing_saved_and_cancel_works() {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    let p = Phone::new(&app, ZH);
    p.send("工作").await;
    p.one("0").await; // anywhere in Tibet
    assert_eq!(p.one("10").await.0, "jobs_invalid");
    assert_eq!(p.one("建筑").await.0, "jobs_invalid");
    let (kind, body) = p.one("x").await;
    assert_eq!(kind, "jobs_gave_up");
    assert!(body.contains("“工作”"), "{body}");
    assert!(worker(&app, ZH).is_none());
    let convs: Vec<Conversation> = conversations::table
        .select(Conversation::as_select())
        .load(&mut *app.conn())
        .unwrap();
    assert!(
        convs.iter().all(|c| c.status.as_str() != "open"),
        "{convs:?}"
    );
    // 取消 (or 0 once past the trades) ends it too.
    p.send("工作").await;
    p.one("1").await;
    p.one("0").await; // any trade
    assert_eq!(p.one("0").await.0, "jobs_cancelled");
    assert!(worker(&app, ZH).is_none());
    // And the menu still answers: 1 is the complaint, 2 the jobs.
    let help = p.one("帮助").await.1;
    assert!(help.contains("回复2"), "{help}");
}

#[actix_web::test]
async fn a_subscribed_worker_gets_the_three_newest_matching_notices() {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    let p = Phone::new(&app, ZH);
    subscribe_zh(&p, "1", "1 3").await;
    for (code, age) in [("1001", 40), ("1002", 30), ("1003", 20), ("1004", 10)] {
        notice(
            &app,
            N {
                code,
                age_minutes: age,
                ..N::default()
            },
        );
    }
    notice(
        &app,
        N {
            code: "1005",
            trade: "domestic",
            age_minutes: 50,
            ..N::default()
        },
    );
    // Not for them: another county, another trade, outside Tibet, expired, cancelled, not
    // approved.
    for n in [
        N {
            code: "2001",
            county: Some("当雄县"),
            ..N::default()
        },
        N {
            code: "2002",
            trade: "transport",
            ..N::default()
        },
        N {
            code: "2003",
            county: None,
            outside: Some("四川省成都市"),
            ..N::default()
        },
        N {
            code: "2004",
            valid_days: -1,
            ..N::default()
        },
        N {
            code: "2005",
            status: "cancelled",
            cancelled: true,
            ..N::default()
        },
        N {
            code: "2006",
            status: "submitted",
            ..N::default()
        },
    ] {
        notice(&app, n);
    }
    let (kind, body) = p.one("工作").await;
    assert_eq!(kind, "jobs_list");
    for code in ["1004", "1003", "1002"] {
        assert!(body.contains(&format!("YX {code}")), "{code}: {body}");
    }
    for code in [
        "1001", "1005", "2001", "2002", "2003", "2004", "2005", "2006",
    ] {
        assert!(!body.contains(code), "{code}: {body}");
    }
    assert!(body.contains("250元/天") && body.contains("改"), "{body}");
    let m: Message = messages::table
        .filter(messages::kind.eq("jobs_list"))
        .select(Message::as_select())
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(m.priority, hotline::db::models::PRIORITY_REPLY);

    // Anywhere (0) and outside too: the outside notice and other counties come in; a Tibetan
    // reader gets the Tibetan titles.
    let b = Phone::new(&app, BO);
    b.send("ལས་ཀ").await;
    b.one("༩").await;
    b.one("༠").await;
    b.one("༡").await;
    b.one("༡").await;
    let (_, body) = b.one("ལས་ཀ").await;
    // The newest three: every place, every trade, outside Tibet too.
    for code in ["2003", "2002", "2001"] {
        assert!(body.contains(&format!("YX {code}")), "{code}: {body}");
    }
    assert!(
        body.contains("ལྕགས་ལས་པ་དགོས") && body.contains("སྒོར་༢༥༠"),
        "{body}"
    );

    // Nothing open: said so. 改 starts the dialog again.
    let o = Phone::new(&app, OTHER);
    subscribe_zh(&o, "5", "8").await;
    assert_eq!(o.one("工作").await.0, "jobs_none");
    let again = o.send("改").await;
    assert!(again.iter().any(|(_, b)| b.contains("1/4")), "{again:?}");
}

#[actix_web::test]
async fn stop_cancels_waiting_alerts_and_withdraws_consent_start_restores_it() {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    let p = Phone::new(&app, ZH);
    subscribe_zh(&p, "1", "0").await;
    let n = notice(&app, N::default());
    let queued = alert(&app, ZH, &n, None);
    assert_eq!(p.one("T").await.0, "stopped");
    let m: Message = messages::table
        .find(&queued)
        .select(Message::as_select())
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(m.status, MessageStatus::Cancelled);
    let w = worker(&app, ZH).unwrap();
    let c = app.contact(ZH).unwrap();
    assert!(!w.alerts_consent && c.opted_out);
    assert_eq!(w.consent_source, c.opt_changed_via);
    assert!(w.consent_source.unwrap().ends_with(": T"));

    assert_eq!(p.one("START").await.0, "started");
    let w = worker(&app, ZH).unwrap();
    assert!(w.alerts_consent);
    assert!(w.consent_source.unwrap().ends_with(": START"));
    assert!(!app.contact(ZH).unwrap().opted_out);

    // A START from a number that never subscribed gives no consent.
    let o = Phone::new(&app, OTHER);
    o.send("帮助").await;
    o.send("STOP").await;
    o.send("START").await;
    assert!(worker(&app, OTHER).is_none());
    let rows: i64 = workers::table.count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(rows, 1);
}

#[actix_web::test]
async fn interest_by_code_and_the_number_shared_only_on_yes() {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    let n = notice(
        &app,
        N {
            code: "1234",
            ..N::default()
        },
    );
    notice(
        &app,
        N {
            code: "1235",
            valid_days: -2,
            ..N::default()
        },
    );
    let p = Phone::new(&app, ZH);
    p.send("帮助").await;
    let (kind, body) = p.one("yx1234").await;
    assert_eq!(kind, "interest");
    assert!(body.contains("13800000001"), "{body}");
    assert!(
        body.contains("押金") && body.contains("合同") && body.contains("欠薪"),
        "{body}"
    );
    assert_eq!(response(&app, &n, ZH), vec![None]);
    // Not a yes or a no: asked again.
    assert_eq!(p.one("嗯").await.0, "share_ask");
    assert_eq!(p.one("1").await.0, "share_yes");
    assert_eq!(response(&app, &n, ZH), vec![Some(true)]);
    // Again, with full-width letters and Tibetan digits: still one row; a no is kept.
    assert_eq!(p.one("ＹＸ ༡༢༣༤").await.0, "interest");
    assert_eq!(p.one("2").await.0, "share_no");
    assert_eq!(response(&app, &n, ZH), vec![Some(false)]);
    // Unknown and closed codes.
    let (kind, body) = p.one("YX 9999").await;
    assert_eq!(kind, "interest_closed");
    assert!(body.contains("9999"), "{body}");
    assert_eq!(p.one("YX 1235").await.0, "interest_closed");
    // A Tibetan reader gets the safety line in Tibetan.
    let b = Phone::new(&app, BO);
    b.send("རོགས་རམ").await;
    let (kind, body) = b.one("YX ༡༢༣༤").await;
    assert_eq!(kind, "interest");
    assert!(
        body.contains("13800000001") && body.contains("ཆིངས་ཡིག"),
        "{body}"
    );
    assert_eq!(b.one("མིན").await.0, "share_no");
    assert_eq!(response(&app, &n, BO), vec![Some(false)]);
}

#[actix_web::test]
async fn one_answers_a_recent_alert_and_is_the_complaint_otherwise() {
    let app = TestApp::with_kannel("http://127.0.0.1:9/cgi-bin/sendsms", |_| {});
    let n = notice(&app, N::default());
    let p = Phone::new(&app, ZH);
    p.send("帮助").await;
    alert(&app, ZH, &n, Some(hotline::db::now()));
    let (kind, body) = p.one("༡").await;
    assert_eq!(kind, "interest");
    assert!(body.contains("YX 1000"), "{body}");
    assert_eq!(response(&app, &n, ZH), vec![None]);
    assert_eq!(p.one("1").await.0, "share_yes");
    assert_eq!(response(&app, &n, ZH), vec![Some(true)]);
    // Now the last message sent was a reply: 1 is the complaint menu again.
    assert_eq!(p.one("1").await.0, "complaint_ask_employer");
    p.one("0").await;

    // An alert older than three days: 1 is the complaint.
    let o = Phone::new(&app, OTHER);
    hotline::conversations::inbound::choose_language(&mut app.conn(), OTHER, "zh").unwrap();
    alert(
        &app,
        OTHER,
        &n,
        Some(hotline::db::now() - Duration::days(4)),
    );
    assert_eq!(o.one("1").await.0, "complaint_ask_employer");
    assert!(response(&app, &n, OTHER).is_empty());
    // The Tibetan "interested" word names the recent alert; with none, the worker is asked
    // for the code.
    assert_eq!(o.one("0").await.0, "complaint_cancelled");
    let (kind, body) = o.one("有意").await;
    assert_eq!(kind, "interest_which");
    assert!(body.contains("YX 1234"), "{body}");
    let b = Phone::new(&app, BO);
    b.send("རོགས་རམ").await;
    alert(&app, BO, &n, Some(hotline::db::now() - Duration::hours(30)));
    b.send("ལས་ཀ").await; // a reply since: the word still names the alert
    b.one("ཕྱིར་འཐེན").await;
    assert_eq!(b.one("འདོད").await.0, "interest");
    assert_eq!(response(&app, &n, BO), vec![None]);

    // A worker whose language is not known yet (imported to the register): the `1` answering
    // the alert is not held up by the language question.
    const NEW: &str = "+8613900000054";
    hotline::conversations::inbound::contact_for(&mut app.conn(), NEW).unwrap();
    alert(&app, NEW, &n, Some(hotline::db::now()));
    let replies = Phone::new(&app, NEW).send("1").await;
    assert!(replies.iter().all(|(k, _)| k == "interest"), "{replies:?}");
    let all: String = replies.iter().map(|(_, b)| b.as_str()).collect();
    assert!(all.contains("押金") && all.contains("ཆིངས་ཡིག"), "{all}");
}
