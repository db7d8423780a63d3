//! Sign in and out.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::auth::{self, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use super::{redirect, render, Button, ConsoleError, Me};
use crate::web::WebState;

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only a path inside the console: never an open redirect to another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/console/") && !n.starts_with("//") && !n.contains('\\') => {
            n.to_string()
        }
        _ => "/console/".to_string(),
    }
}

fn login_page(
    state: &WebState,
    req: &HttpRequest,
    next: &str,
    username: &str,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let token = auth::login_csrf_token(&state.link_key);
    let mut resp = render(
        state,
        None,
        "login",
        json!({ "title": state.pages.t("login.title"), "nav": "", "csrf": token, "next": next, "username": username, "error": error }),
    )?;
    *resp.status_mut() = status;
    let secure = auth::secure(state, req);
    resp.add_cookie(&auth::cookie(LOGIN_CSRF_COOKIE, token, secure))
        .map_err(|_| ConsoleError::Unavailable)?;
    Ok(resp)
}

pub async fn form(
    state: web::Data<WebState>,
    req: HttpRequest,
    q: web::Query<NextQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let next = safe_next(q.next.as_deref());
    login_page(
        &state,
        &req,
        &next,
        "",
        None,
        actix_web::http::StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    username: String,
    password: String,
    next: Option<String>,
}

pub async fn submit(
    state: web::Data<WebState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ConsoleError> {
    let form = form.into_inner();
    let cookie = req.cookie(LOGIN_CSRF_COOKIE).map(|c| c.value().to_string());
    // The double-submitted token must also be one of ours (signed), so a cookie planted by
    // someone else does not make a forged form pass.
    if !cookie.is_some_and(|c| auth::same(&c, &form.csrf))
        || !auth::login_csrf_valid(&state.link_key, &form.csrf)
    {
        return Err(ConsoleError::Csrf);
    }
    let next = safe_next(form.next.as_deref());
    let addr = auth::client_addr(&state, &req);
    if let Err(wait) = state.login_limits.check(&form.username, addr) {
        tracing::warn!(username = %form.username.trim(), addr = ?addr, wait, "console login slowed down");
        state.metrics.count_login("limited");
        let mut resp = login_page(
            &state,
            &req,
            &next,
            &form.username,
            Some(format!("{}（{wait}s）", state.pages.t("login.too_many"))),
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        )?;
        resp.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(wait),
        );
        return Ok(resp);
    }
    let cfg = state.config.console.clone();
    let (username, password) = (form.username.clone(), form.password);
    let started = state
        .db
        .run(move |c| -> Result<Option<String>, crate::db::DbError> {
            match crate::accounts::users::authenticate(c, &username, &password)? {
                Some(user) => Ok(Some(auth::start_session(c, &cfg, &user)?)),
                None => Ok(None),
            }
        })
        .await?;
    let Some(token) = started else {
        tracing::info!(username = %form.username.trim(), addr = ?addr, "console login failed");
        state.metrics.count_login("failed");
        return login_page(
            &state,
            &req,
            &next,
            &form.username,
            Some(state.pages.t("login.failed")),
            actix_web::http::StatusCode::UNAUTHORIZED,
        );
    };
    tracing::info!(username = %form.username.trim(), "console login");
    state.metrics.count_login("ok");
    let secure = auth::secure(&state, &req);
    let mut resp = redirect(&next);
    resp.add_cookie(&auth::cookie(SESSION_COOKIE, token, secure))
        .map_err(|_| ConsoleError::Unavailable)?;
    resp.add_removal_cookie(&auth::removal(LOGIN_CSRF_COOKIE))
        .map_err(|_| ConsoleError::Unavailable)?;
    Ok(resp)
}

pub async fn logout(
    state: web::Data<WebState>,
    me: Me,
    _: Button,
) -> Result<HttpResponse, ConsoleError> {
    state.db.run(move |c| auth::end_session(c, &me)).await?;
    let mut resp = redirect("/console/login");
    resp.add_removal_cookie(&auth::removal(SESSION_COOKIE))
        .map_err(|_| ConsoleError::Unavailable)?;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_inside_the_console() {
        assert_eq!(
            safe_next(Some("/console/cases/Q123")),
            "/console/cases/Q123"
        );
        assert_eq!(safe_next(Some("https://evil.example/")), "/console/");
        assert_eq!(safe_next(Some("//evil.example/console/")), "/console/");
        assert_eq!(safe_next(Some("/console/\\evil")), "/console/");
        assert_eq!(safe_next(None), "/console/");
    }
}
