//! `TestApp`: the service's state over a test database, driven through the real routes.

use actix_web::http::StatusCode;
use actix_web::{test, web, App};
use diesel::prelude::*;
use hotline::config::Config;
use hotline::db::models::{Contact, Message, MessageEvent};
use hotline::db::schema::{contacts, message_events, messages};
use hotline::web::WebState;
use hotline::AppState;
use tokio::sync::watch;

use super::db::TestDb;

pub struct TestApp {
    pub state: AppState,
    /// What the routes see: `state` plus the console's pages and login limits.
    pub web: WebState,
    /// Kept so the database lives (and is dropped) with the app.
    pub _tdb: TestDb,
}

pub const SECRET: &str = "test-secret-0123456789";

impl TestApp {
    pub fn new() -> TestApp {
        TestApp::with_config(|_| {})
    }

    /// A log channel `log` plus whatever `tweak` sets.
    pub fn with_config(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let tdb = TestDb::new();
        let mut config = Config {
            database_url: tdb.url.clone(),
            ..Config::default()
        };
        // Bulk may go at any hour in tests (CI runs at night too); a test of the send window
        // sets its own.
        config.alerts.send_window = "00:00-24:00".into();
        tweak(&mut config);
        TestApp::over(AppState::with_db(config, tdb.db.clone()).unwrap(), tdb)
    }

    /// An app over `state`, keeping `tdb` alive as long as it.
    pub fn over(state: AppState, tdb: TestDb) -> TestApp {
        let web = WebState::new(state.clone()).unwrap();
        TestApp {
            state,
            web,
            _tdb: tdb,
        }
    }

    /// A `kannel` channel whose sendsms points at `sendsms_url`.
    pub fn with_kannel(sendsms_url: &str, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let url = sendsms_url.to_string();
        TestApp::with_config(move |c| {
            c.channels = vec![kannel_channel(&url)];
            tweak(c)
        })
    }

    pub async fn request(
        &self,
        method: &str,
        uri: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> (StatusCode, String) {
        self.request_with(method, uri, &[], body).await
    }

    /// A request with extra headers.
    pub async fn request_with(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> (StatusCode, String) {
        let mut req = match method {
            "POST" => test::TestRequest::post(),
            "PUT" => test::TestRequest::put(),
            "DELETE" => test::TestRequest::delete(),
            "GET" => test::TestRequest::get(),
            other => panic!("no test request for method {other}"),
        }
        .uri(uri);
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        if let Some((ct, bytes)) = body {
            req = req.insert_header(("content-type", ct)).set_payload(bytes);
        }
        let (status, _, body) = self.send(req).await;
        (status, body)
    }

    /// Any request through the real routes: the status, the response headers, the body.
    pub async fn send(
        &self,
        req: test::TestRequest,
    ) -> (StatusCode, Vec<(String, String)>, String) {
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(self.web.clone()))
                .configure(hotline::web::configure),
        )
        .await;
        let resp = test::call_service(&app, req.to_request()).await;
        let status = resp.status();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = test::read_body(resp).await;
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    /// An API call with a bearer token; the body is JSON.
    pub async fn api(
        &self,
        method: &str,
        uri: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let auth = format!("Bearer {token}");
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        let (status, text) = self
            .request_with(method, uri, &[("authorization", &auth)], body)
            .await;
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {uri}: not JSON: {text}"));
        (status, json)
    }

    pub fn token(&self, role: hotline::accounts::tokens::Role, name: &str) -> String {
        // A broker's agency, a liaison's department: the token's name.
        let agency = (role == hotline::accounts::tokens::Role::Broker).then_some(name);
        let department = (role == hotline::accounts::tokens::Role::Liaison).then_some(name);
        hotline::accounts::tokens::create(&mut self.conn(), name, role, agency, department)
            .unwrap()
            .1
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, String) {
        self.request("GET", uri, None).await
    }

    /// A worker's SMS arriving through Kannel's get-url.
    pub async fn kannel_mo(&self, from: &str, text: &str, kannel_id: &str) -> (StatusCode, String) {
        let query = form(&[
            ("secret", SECRET),
            ("from", from),
            ("to", "12333"),
            ("text", text),
            ("id", kannel_id),
            ("coding", "0"),
            ("charset", "UTF-8"),
            ("ts", "1764201600"),
        ]);
        self.get(&format!("/channels/kannel/receive?{query}")).await
    }

    /// Runs the dispatcher until nothing is queued or in flight (or `secs` pass).
    pub async fn dispatch_all(&self, secs: u64) {
        let (tx, rx) = watch::channel(false);
        let workers = hotline::sms::outbox::dispatcher::spawn(&self.state, rx);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let busy = self
                .messages()
                .iter()
                .any(|m| m.direction == "out" && (m.status == "queued" || m.status == "sending"));
            if !busy || std::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tx.send(true).unwrap();
        for w in workers {
            w.await.unwrap();
        }
    }

    pub fn conn(&self) -> hotline::db::PooledConn {
        self.state.db.get().unwrap()
    }

    pub fn messages(&self) -> Vec<Message> {
        messages::table
            .order((messages::created_at, messages::direction))
            .select(Message::as_select())
            .load(&mut *self.conn())
            .unwrap()
    }

    pub fn outgoing(&self) -> Vec<Message> {
        self.messages()
            .into_iter()
            .filter(|m| m.direction == "out")
            .collect()
    }

    pub fn incoming(&self) -> Vec<Message> {
        self.messages()
            .into_iter()
            .filter(|m| m.direction == "in")
            .collect()
    }

    pub fn events(&self, message_id: &str) -> Vec<MessageEvent> {
        message_events::table
            .filter(message_events::message_id.eq(message_id))
            .order(message_events::created_at)
            .select(MessageEvent::as_select())
            .load(&mut *self.conn())
            .unwrap()
    }

    pub fn contact(&self, phone: &str) -> Option<Contact> {
        contacts::table
            .filter(contacts::phone.eq(phone))
            .select(Contact::as_select())
            .first(&mut *self.conn())
            .optional()
            .unwrap()
    }
}

pub fn kannel_channel(sendsms_url: &str) -> hotline::sms::channels::ChannelConfig {
    let toml = format!(
        "[[channels]]\nid = \"kannel\"\nkind = \"kannel\"\nnumber = \"12333\"\ntps = 1000\nconcurrency = 2\n\
         sendsms_url = \"{sendsms_url}\"\nusername = \"hotline\"\npassword = \"pw\"\nsecret = \"{SECRET}\"\n"
    );
    Config::from_sources(Some(&toml), None, Vec::new())
        .unwrap()
        .channels
        .remove(0)
}

/// `pairs` as `application/x-www-form-urlencoded`, for a query string or a form body.
pub fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Registers the government-invested road project most tests file complaints against.
pub fn road_project(conn: &mut hotline::db::DbConn, code: &str) {
    let t = hotline::db::now();
    diesel::insert_into(hotline::db::schema::projects::table)
        .values(hotline::db::models::NewProject {
            id: &format!("p-{code}"),
            code,
            name_zh: "拉萨北环路改造工程",
            name_bo: Some("ལྷ་སའི་བྱང་ངོས་ལམ་བཟོ་བཅོས་ལས་གཞི།"),
            county: "城关区",
            department: "交通",
            owner: None,
            contractor: None,
            government_invested: true,
            created_at: t,
            updated_at: t,
        })
        .execute(conn)
        .unwrap();
}
