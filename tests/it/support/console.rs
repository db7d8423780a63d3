//! A console user's browser without a browser: keeps the cookies, reads the CSRF token from
//! each page, and posts forms through the real routes.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;

use actix_web::http::StatusCode;
use actix_web::test;

use super::app::TestApp;

pub struct Page {
    pub status: StatusCode,
    pub body: String,
    pub location: Option<String>,
    /// Raw `Set-Cookie` headers of the response.
    pub set_cookies: Vec<String>,
    pub retry_after: Option<String>,
    pub csp: Option<String>,
}

pub struct ConsoleClient<'a> {
    app: &'a TestApp,
    pub cookies: BTreeMap<String, String>,
    /// The CSRF token of the last page that had one.
    pub csrf: String,
    pub peer: SocketAddr,
}

/// The value of the first `name="csrf"` field in a page.
pub fn csrf_of(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(html[i..].split('"').next()?.to_string())
}

impl<'a> ConsoleClient<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        ConsoleClient {
            app,
            cookies: BTreeMap::new(),
            csrf: String::new(),
            peer: "10.1.2.3:40000".parse().unwrap(),
        }
    }

    /// Signs in; panics unless it ends on a console page.
    pub async fn login(app: &'a TestApp, username: &str, password: &str) -> Self {
        let mut c = ConsoleClient::new(app);
        let p = c.try_login(username, password).await;
        assert_eq!(
            p.status,
            StatusCode::SEE_OTHER,
            "login {username}: {}",
            p.body
        );
        c
    }

    pub async fn try_login(&mut self, username: &str, password: &str) -> Page {
        let form = self.get("/console/login").await;
        assert_eq!(form.status, StatusCode::OK);
        self.post(
            "/console/login",
            &[
                ("username", username),
                ("password", password),
                ("next", "/console/"),
            ],
        )
        .await
    }

    pub async fn send(&mut self, req: test::TestRequest) -> Page {
        let mut req = req.peer_addr(self.peer);
        if !self.cookies.is_empty() {
            let header: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.insert_header(("cookie", header.join("; ")));
        }
        let (status, headers, body) = self.app.send(req).await;
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let (location, retry_after, csp) = (
            header("location"),
            header("retry-after"),
            header("content-security-policy"),
        );
        let set_cookies: Vec<String> = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.clone())
            .collect();
        for c in &set_cookies {
            let first = c.split(';').next().unwrap_or_default();
            let (k, v) = first.split_once('=').unwrap_or((first, ""));
            let removed = v.is_empty() || c.to_ascii_lowercase().contains("max-age=0");
            if removed {
                self.cookies.remove(k.trim());
            } else {
                self.cookies.insert(k.trim().to_string(), v.to_string());
            }
        }
        if let Some(t) = csrf_of(&body) {
            self.csrf = t;
        }
        Page {
            status,
            body,
            location,
            set_cookies,
            retry_after,
            csp,
        }
    }

    pub async fn get(&mut self, uri: &str) -> Page {
        self.send(test::TestRequest::get().uri(uri)).await
    }

    /// Posts, and follows the 303 a successful form answers with (the page a reload
    /// shows); a refused form's page comes back as it is.
    pub async fn submit(&mut self, uri: &str, fields: &[(&str, &str)]) -> Page {
        let p = self.post(uri, fields).await;
        match (&p.status, &p.location) {
            (&StatusCode::SEE_OTHER, Some(to)) => {
                let to = to.clone();
                self.get(&to).await
            }
            _ => p,
        }
    }

    /// Posts a form with the current CSRF token added.
    pub async fn post(&mut self, uri: &str, fields: &[(&str, &str)]) -> Page {
        let mut all: Vec<(String, String)> = vec![("csrf".into(), self.csrf.clone())];
        all.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.post_raw(uri, &all).await
    }

    /// Posts exactly these fields (no CSRF token unless given).
    pub async fn post_raw(&mut self, uri: &str, fields: &[(String, String)]) -> Page {
        self.send(test::TestRequest::post().uri(uri).set_form(fields))
            .await
    }
}

/// Adds a console user with the password `password-1234`, named as the username in capitals.
pub fn add_user(
    app: &TestApp,
    username: &str,
    role: hotline::accounts::users::UserRole,
    department: Option<&str>,
) {
    hotline::accounts::users::create(
        &mut app.conn(),
        &hotline::accounts::users::NewUser {
            username,
            display_name: &username.to_uppercase(),
            role,
            department,
            agency: (role == hotline::accounts::users::UserRole::Broker).then_some(username),
            password: PASSWORD,
        },
    )
    .unwrap();
}

pub const PASSWORD: &str = "password-1234";
