//! Who may call a console handler and with what, stated in its signature and checked before
//! it runs: `Authorized<R>` (a signed-in user of one of `R`'s roles; 403 otherwise) and
//! `Form<T>` (a form whose `csrf` field matches the session's token; 403 otherwise). Every
//! POST route takes a `Form` (`super::POSTS`; the console tests post to each without one).

use std::future::{ready, Future, Ready};
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::{Payload, UrlEncoded};
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::{ConsoleError, Me};
use crate::accounts::users::UserRole;

/// A set of roles a handler admits.
pub trait Roles {
    const ALLOWED: &'static [UserRole];
}

/// Everyone who works cases: all but a department's liaison.
pub struct CaseWorkers;
impl Roles for CaseWorkers {
    const ALLOWED: &'static [UserRole] =
        &[UserRole::Admin, UserRole::Supervisor, UserRole::Inspector];
}

/// The bureau head's approvals (an extension): supervisors and admins.
pub struct Supervisors;
impl Roles for Supervisors {
    const ALLOWED: &'static [UserRole] = &[UserRole::Admin, UserRole::Supervisor];
}

/// The labour-force register and approving job notices: officers and admins.
pub struct Officers;
impl Roles for Officers {
    const ALLOWED: &'static [UserRole] = &[UserRole::Admin, UserRole::Officer];
}

/// Job notices: brokers (their agency's), officers and admins (all).
pub struct NoticeUsers;
impl Roles for NoticeUsers {
    const ALLOWED: &'static [UserRole] = &[UserRole::Admin, UserRole::Officer, UserRole::Broker];
}

/// Users and departments: admins only.
pub struct Admins;
impl Roles for Admins {
    const ALLOWED: &'static [UserRole] = &[UserRole::Admin];
}

/// The signed-in user, when their role is one of `R`'s; else 403 before the handler runs.
pub struct Authorized<R: Roles> {
    me: Me,
    roles: PhantomData<R>,
}

pub type CaseWorker = Authorized<CaseWorkers>;
pub type Admin = Authorized<Admins>;
pub type Officer = Authorized<Officers>;

impl<R: Roles> Authorized<R> {
    pub fn me(&self) -> &Me {
        &self.me
    }
}

impl<R: Roles> Deref for Authorized<R> {
    type Target = Me;
    fn deref(&self) -> &Me {
        &self.me
    }
}

impl<R: Roles> FromRequest for Authorized<R> {
    type Error = ConsoleError;
    type Future = Ready<Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Me::of(req).and_then(|me| {
            me.require(R::ALLOWED)?;
            Ok(Authorized {
                me,
                roles: PhantomData,
            })
        }))
    }
}

/// A form of the signed-in user (`application/x-www-form-urlencoded`, as `web::Form` takes
/// it) whose `csrf` field is their session's token; else 403 before the handler runs, and the
/// rest of the form is not even parsed. `T` need not have a `csrf` field.
pub struct Form<T>(pub T);

/// A form with nothing but its CSRF token (a button).
#[derive(Debug, Default, serde::Deserialize)]
pub struct NoFields {}

/// A button's POST: only the CSRF token is checked.
pub type Button = Form<NoFields>;

impl<T> Form<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Form<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// As `web::Form`'s default.
const FORM_LIMIT: usize = 16 * 1024;

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let me = Me::of(req);
        let body = UrlEncoded::<Vec<(String, String)>>::new(req, payload).limit(FORM_LIMIT);
        Box::pin(async move {
            let me = me?;
            let pairs = body.await?;
            let token = pairs
                .iter()
                .find(|(k, _)| k == "csrf")
                .map(|(_, v)| v.as_str())
                .unwrap_or_default();
            me.check_csrf(token)?;
            Ok(Form(
                web::Query::<T>::from_query(&encode(&pairs))?.into_inner(),
            ))
        })
    }
}

/// Pairs back into a query string (for serde_urlencoded, through `web::Query`).
fn encode(pairs: &[(String, String)]) -> String {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct F {
        reason: String,
        #[serde(default)]
        note: String,
    }

    #[test]
    fn pairs_survive_the_round_trip() {
        let pairs = vec![
            ("csrf".to_string(), "x".to_string()),
            ("reason".to_string(), "a b&c=d 发改 %+".to_string()),
        ];
        let f: F = web::Query::<F>::from_query(&encode(&pairs))
            .unwrap()
            .into_inner();
        assert_eq!(f.reason, "a b&c=d 发改 %+");
        assert_eq!(f.note, "");
        let all = web::Query::<Vec<(String, String)>>::from_query(&encode(&[
            ("department".into(), "发改".into()),
            ("department".into(), "住建".into()),
        ]))
        .unwrap()
        .into_inner();
        assert_eq!(all.len(), 2);
    }
}
