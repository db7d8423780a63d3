//! Console sign-in: sessions in the database behind an HttpOnly, SameSite=Strict cookie
//! (Secure when the console is served over HTTPS), a CSRF token per session checked on every
//! form, and login attempts limited per account and per client address with governor.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::ConsoleConfig;
use super::ConsoleError;
use crate::accounts::sessions;
use crate::accounts::users::{User, UserRole};
use crate::db::{DbConn, DbError};
use crate::web::WebState;

pub const SESSION_COOKIE: &str = "hotline_session";
/// Before sign-in there is no session: the login form's CSRF token is double-submitted in
/// this cookie and the form.
pub const LOGIN_CSRF_COOKIE: &str = "hotline_login_csrf";

pub use crate::accounts::sessions::random_token;

/// Equal strings, compared in constant time.
pub fn same(a: &str, b: &str) -> bool {
    crate::secret::Secret::new(a).matches(b)
}

/// The login form's CSRF token: a random value and its HMAC-SHA256 under the service's key.
/// The form and a cookie carry it; someone who can plant a cookie still cannot make a token
/// the service accepts without the key.
pub fn login_csrf_token(key: &crate::secret::Secret) -> String {
    let nonce = random_token();
    let sig = login_csrf_sig(key, &nonce);
    format!("{nonce}.{sig}")
}

/// Whether `token` is one `login_csrf_token` made with `key`.
pub fn login_csrf_valid(key: &crate::secret::Secret, token: &str) -> bool {
    match token.split_once('.') {
        Some((nonce, sig)) if !nonce.is_empty() => same(&login_csrf_sig(key, nonce), sig),
        _ => false,
    }
}

fn login_csrf_sig(key: &crate::secret::Secret, nonce: &str) -> String {
    use base64::Engine;
    use hmac::Mac;
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.expose().as_bytes())
        .expect("HMAC takes a key of any length");
    m.update(b"login-csrf:");
    m.update(nonce.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

/// The signed-in user of a console request.
#[derive(Debug, Clone)]
pub struct Me {
    pub user: User,
    pub role: UserRole,
    pub csrf: String,
    session_id: String,
}

impl Me {
    /// How the audit trail names this user.
    pub fn actor(&self) -> String {
        format!("user:{}", self.user.username)
    }
    /// For a check that depends on what was submitted (approving an extension); who may
    /// call a handler at all is in its signature (`Authorized`).
    pub fn require(&self, roles: &[UserRole]) -> Result<(), ConsoleError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden)
        }
    }
    /// May see and work the whole case queue (not a liaison, an officer or a broker).
    pub fn works_cases(&self) -> bool {
        self.role.works_cases()
    }
    /// Where this user's work starts: the case queue, a liaison's referrals, the job notices.
    pub fn home(&self) -> &'static str {
        match self.role {
            UserRole::Liaison => "/console/referrals",
            UserRole::Officer | UserRole::Broker => "/console/notices",
            _ => "/console/",
        }
    }
    /// Checks a form's CSRF token against the session's.
    pub fn check_csrf(&self, token: &str) -> Result<(), ConsoleError> {
        if same(&self.csrf, token) {
            Ok(())
        } else {
            Err(ConsoleError::Csrf)
        }
    }
}

/// The session of a request, looked up once by `resolve_session` before any handler runs.
#[derive(Clone)]
enum Session {
    /// No cookie, or one of a dead session.
    None,
    Live(Box<Me>),
    /// The database could not be asked.
    Unavailable,
}

/// Middleware of the console's scope: finds the signed-in user of the request once, for the
/// extractors (`Me`, `Authorized`, `Form`) to read.
pub async fn resolve_session(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
    let state = req.app_data::<web::Data<WebState>>().cloned();
    let session = match (token, state) {
        (Some(token), Some(state)) => {
            let cfg = state.config.console.clone();
            match state.db.run(move |c| session_user(c, &cfg, &token)).await {
                Ok(Some(me)) => Session::Live(Box::new(me)),
                Ok(None) => Session::None,
                Err(e) => {
                    tracing::error!(error = %e, "console session not looked up");
                    Session::Unavailable
                }
            }
        }
        (None, Some(_)) => Session::None,
        (_, None) => Session::Unavailable,
    };
    req.extensions_mut().insert(session);
    next.call(req).await
}

impl Me {
    /// The request's signed-in user; not signed in: to the login page, then back here.
    pub fn of(req: &HttpRequest) -> Result<Me, ConsoleError> {
        match req.extensions().get::<Session>() {
            Some(Session::Live(me)) => Ok(Me::clone(me)),
            Some(Session::Unavailable) => Err(ConsoleError::Unavailable),
            Some(Session::None) => {
                // A form sent after the session ended goes back to the page it was on (its
                // text kept in the browser), not to the form's target, which has no page.
                let next = if req.method() == actix_web::http::Method::GET {
                    req.uri().path_and_query().map(|p| p.as_str().to_string())
                } else {
                    req.headers()
                        .get(actix_web::http::header::REFERER)
                        .and_then(|r| r.to_str().ok())
                        // Only the path and query of it: `http://host:port/console/…`.
                        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
                        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_string()))
                };
                Err(ConsoleError::Login(
                    next.unwrap_or_else(|| "/console/".into()),
                ))
            }
            // Outside the console's scope, where no session is looked up.
            None => Err(ConsoleError::Unavailable),
        }
    }
}

impl FromRequest for Me {
    type Error = ConsoleError;
    type Future = std::future::Ready<Result<Me, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(Me::of(req))
    }
}

/// The session's user, when the session is live and the user active.
fn session_user(
    conn: &mut DbConn,
    cfg: &ConsoleConfig,
    token: &str,
) -> Result<Option<Me>, DbError> {
    let idle = chrono::Duration::hours(cfg.session_idle_hours as i64);
    let Some((session, user)) = sessions::live(conn, token, idle)? else {
        return Ok(None);
    };
    Ok(Some(Me {
        role: user.role,
        csrf: session.csrf_token,
        session_id: session.id,
        user,
    }))
}

/// Starts a session for `user`; returns the cookie value (only its digest is stored).
pub fn start_session(
    conn: &mut DbConn,
    cfg: &ConsoleConfig,
    user: &User,
) -> Result<String, DbError> {
    sessions::start(
        conn,
        user,
        chrono::Duration::hours(cfg.session_max_hours as i64),
    )
}

pub fn end_session(conn: &mut DbConn, me: &Me) -> Result<(), DbError> {
    sessions::end(conn, &me.session_id)
}

/// Whether cookies get `Secure`: the console's public URL is HTTPS, or the request came
/// over HTTPS (directly or, when trusted, through a proxy).
pub fn secure(state: &WebState, req: &HttpRequest) -> bool {
    state
        .config
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
        || req.connection_info().scheme() == "https"
}

pub fn cookie<'a>(name: &'a str, value: String, secure: bool) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish()
}

pub fn removal(name: &str) -> Cookie<'_> {
    let mut c = Cookie::build(name, "").path("/console").finish();
    c.make_removal();
    c
}

/// Login attempts allowed per account and per client address. Keys are dropped by
/// `retain_recent` once their quota has refilled, so the maps stay small.
pub struct LoginLimits {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl LoginLimits {
    pub fn new(cfg: &ConsoleConfig) -> LoginLimits {
        let quota = |n: u32| {
            let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
            Quota::with_period(Duration::from_secs(60) / n.get())
                .expect("a positive period")
                .allow_burst(n)
        };
        LoginLimits {
            per_account: RateLimiter::keyed(quota(cfg.login_attempts_per_account)),
            per_address: RateLimiter::keyed(quota(cfg.login_attempts_per_address)),
        }
    }

    /// Takes one attempt for this account and address; Err(seconds to wait) when either is
    /// spent. The account is checked first, so guessing one account's password from many
    /// addresses is slowed as much as from one.
    pub fn check(&self, username: &str, addr: Option<IpAddr>) -> Result<(), u64> {
        let clock = DefaultClock::default();
        let key = username.trim().to_lowercase();
        if let Err(n) = self.per_account.check_key(&key) {
            return Err(n.wait_time_from(clock.now()).as_secs().max(1));
        }
        if let Some(a) = addr {
            if let Err(n) = self.per_address.check_key(&a) {
                return Err(n.wait_time_from(clock.now()).as_secs().max(1));
            }
        }
        Ok(())
    }

    /// Forgets keys whose quota has refilled.
    pub fn retain_recent(&self) {
        self.per_account.retain_recent();
        self.per_address.retain_recent();
    }

    pub fn len(&self) -> usize {
        self.per_account.len() + self.per_address.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The client's address: the peer, or with `trust_forwarded_for` the first address of
/// `X-Forwarded-For`.
pub fn client_addr(state: &WebState, req: &HttpRequest) -> Option<IpAddr> {
    if state.config.console.trust_forwarded_for {
        if let Some(ip) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.split(',').next())
            .and_then(|s| s.trim().parse().ok())
        {
            return Some(ip);
        }
    }
    req.peer_addr().map(|a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_limit_holds_across_addresses() {
        let cfg = ConsoleConfig {
            login_attempts_per_account: 3,
            login_attempts_per_address: 100,
            ..ConsoleConfig::default()
        };
        let l = LoginLimits::new(&cfg);
        for i in 0..3u8 {
            let addr = IpAddr::from([10, 0, 0, i]);
            assert!(l.check("Dorje", Some(addr)).is_ok());
        }
        let wait = l
            .check("dorje", Some(IpAddr::from([10, 0, 0, 9])))
            .unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(l.check("pema", Some(IpAddr::from([10, 0, 0, 9]))).is_ok());
    }

    #[test]
    fn the_address_limit_holds_across_accounts() {
        let cfg = ConsoleConfig {
            login_attempts_per_account: 100,
            login_attempts_per_address: 2,
            ..ConsoleConfig::default()
        };
        let l = LoginLimits::new(&cfg);
        let addr = Some(IpAddr::from([192, 168, 1, 5]));
        assert!(l.check("a", addr).is_ok());
        assert!(l.check("b", addr).is_ok());
        assert!(l.check("c", addr).is_err());
        assert!(l.check("c", Some(IpAddr::from([192, 168, 1, 6]))).is_ok());
    }

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let a = random_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token());
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &a[..63]));
    }
}

#[cfg(test)]
mod login_csrf_tests {
    use super::*;

    #[test]
    fn only_a_token_signed_with_the_key_passes() {
        let key = crate::secret::Secret::new("k1");
        let t = login_csrf_token(&key);
        assert!(login_csrf_valid(&key, &t));
        assert!(!login_csrf_valid(&crate::secret::Secret::new("k2"), &t));
        assert!(!login_csrf_valid(&key, "planted"));
        assert!(!login_csrf_valid(&key, "planted.bad"));
        let (nonce, _) = t.split_once('.').unwrap();
        assert!(!login_csrf_valid(
            &key,
            &format!("{nonce}x.{}", &t[nonce.len() + 1..])
        ));
    }
}
