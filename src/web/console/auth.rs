//! Console sign-in: sessions in the database behind an HttpOnly, SameSite=Strict cookie
//! (Secure when the console is served over HTTPS), a CSRF token per session checked on every
//! form, and login attempts limited per account and per client address with governor.

use std::future::Future;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, FromRequest, HttpRequest};
use diesel::prelude::*;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use super::ConsoleConfig;
use super::ConsoleError;
use crate::accounts::users::{User, UserRole};
use crate::db::models::Session;
use crate::db::schema::{sessions, users};
use crate::db::{now, DbConn, DbError};
use crate::web::WebState;

pub const SESSION_COOKIE: &str = "hotline_session";
/// Before sign-in there is no session: the login form's CSRF token is double-submitted in
/// this cookie and the form.
pub const LOGIN_CSRF_COOKIE: &str = "hotline_login_csrf";

pub fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Equal strings, compared in constant time.
pub fn same(a: &str, b: &str) -> bool {
    crate::secret::Secret::new(a).matches(b)
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
    pub fn require(&self, roles: &[UserRole]) -> Result<(), ConsoleError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden)
        }
    }
    /// May see and work the whole case queue (everyone but a liaison).
    pub fn works_cases(&self) -> bool {
        self.role != UserRole::Liaison
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

impl FromRequest for Me {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Me, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<WebState>>().cloned();
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
        let next = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/console/".into());
        Box::pin(async move {
            let state = state.ok_or(ConsoleError::Unavailable)?;
            let Some(token) = token else {
                return Err(ConsoleError::Login(next));
            };
            let cfg = state.config.console.clone();
            let found = state.db.run(move |c| session_user(c, &cfg, &token)).await?;
            found.ok_or(ConsoleError::Login(next))
        })
    }
}

/// The session's user, when the session is live and the user active; touches `last_seen_at`
/// (at most once a minute, to spare the database a write per page).
fn session_user(
    conn: &mut DbConn,
    cfg: &ConsoleConfig,
    token: &str,
) -> Result<Option<Me>, DbError> {
    let id = digest(token);
    let row: Option<(Session, User)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(&id))
        .select((Session::as_select(), User::as_select()))
        .first(conn)
        .optional()?;
    let Some((session, user)) = row else {
        return Ok(None);
    };
    let t = now();
    let idle = chrono::Duration::hours(cfg.session_idle_hours as i64);
    if t > session.expires_at || t > session.last_seen_at + idle || !user.active {
        diesel::delete(sessions::table.find(&id)).execute(conn)?;
        return Ok(None);
    }
    if t - session.last_seen_at > chrono::Duration::minutes(1) {
        diesel::update(sessions::table.find(&id))
            .set(sessions::last_seen_at.eq(t))
            .execute(conn)?;
    }
    let Some(role) = UserRole::parse(&user.role) else {
        return Ok(None);
    };
    Ok(Some(Me {
        role,
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
    let token = random_token();
    let t = now();
    // Sessions past their end are removed as others start, so the table stays small.
    diesel::delete(sessions::table.filter(sessions::expires_at.lt(t))).execute(conn)?;
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(digest(&token)),
            sessions::user_id.eq(&user.id),
            sessions::csrf_token.eq(random_token()),
            sessions::created_at.eq(t),
            sessions::last_seen_at.eq(t),
            sessions::expires_at.eq(t + chrono::Duration::hours(cfg.session_max_hours as i64)),
        ))
        .execute(conn)?;
    Ok(token)
}

pub fn end_session(conn: &mut DbConn, me: &Me) -> Result<(), DbError> {
    diesel::delete(sessions::table.find(&me.session_id)).execute(conn)?;
    Ok(())
}

/// Ends every session of a user (password changed, account disabled).
pub fn end_sessions_of(conn: &mut DbConn, user_id: &str) -> Result<usize, DbError> {
    Ok(diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?)
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
        assert_ne!(digest(&a), a);
    }
}
