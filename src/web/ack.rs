//! The page a department opens from a referral email: `/console/ack/{token}`. No login: the
//! signed token is the credential, so it travels only in the URL (never a cookie), and the
//! page tells no referrer and is never cached. A bad token changes nothing and gets 403.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::cases::referrals::{self, ReferralError, MAX_UPDATE_CHARS};
use crate::db::{DbConn, DbError};
use crate::web::WebState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/console/ack/{token}")
            .route(web::get().to(show))
            .route(web::post().to(submit)),
    );
}

fn page(state: &WebState, status: StatusCode, data: &Value) -> HttpResponse {
    let mut resp = HttpResponse::build(status);
    resp.insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Robots-Tag", "noindex, nofollow"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'",
        ));
    match state.pages.render("ack", data.clone()) {
        Ok(html) => resp.content_type("text/html; charset=utf-8").body(html),
        Err(e) => {
            tracing::error!(error = %e, "ack page template");
            resp.status(StatusCode::INTERNAL_SERVER_ERROR)
                .content_type("text/plain; charset=utf-8")
                .body("服务器内部错误，请稍后再试。")
        }
    }
}

fn invalid(state: &WebState) -> HttpResponse {
    page(state, StatusCode::FORBIDDEN, &json!({ "invalid": true }))
}

fn failed(e: impl std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %e, "ack page");
    HttpResponse::InternalServerError()
        .insert_header(("Cache-Control", "no-store"))
        .content_type("text/plain; charset=utf-8")
        .body("服务器暂时无法处理，请稍后再试。")
}

/// The referral a token names, or None for a bad token (logged without the token).
fn referral_of(state: &WebState, token: &str) -> Option<String> {
    match referrals::verify(state, token, crate::db::now()) {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::info!(reason = %e, "acknowledgement link refused");
            None
        }
    }
}

/// Everything the page shows: the case summary (no identity), the reason and the history.
fn view(
    state: &WebState,
    conn: &mut DbConn,
    referral_id: &str,
    token: &str,
) -> Result<Option<Value>, DbError> {
    let r = match referrals::get(conn, referral_id) {
        Ok(r) => r,
        Err(ReferralError::Db(e)) => return Err(e),
        Err(_) => return Ok(None),
    };
    let (case, dept) = referrals::case_and_department(conn, &r)?;
    let history: Vec<Value> = referrals::updates(conn, &r.id)?
        .into_iter()
        .map(|u| {
            json!({
                "kind": u.kind,
                "when": state.config.local_minute(u.created_at),
                "body": u.body,
            })
        })
        .collect();
    Ok(Some(json!({
        "invalid": false,
        "department_name": dept.name_zh,
        "case": referrals::case_summary(state, conn, &case)?,
        "reason": r.reason,
        "status": r.status,
        "closed": r.status == crate::db::models::ReferralStatus::Closed,
        "acknowledged": r.status != crate::db::models::ReferralStatus::Sent,
        "history": history,
        "action_url": format!("/console/ack/{token}"),
        "link_expires_on": state.config.local(r.link_expires_at).date().to_string(),
        "max_chars": MAX_UPDATE_CHARS,
        "notice": null,
        "error": null,
    })))
}

#[derive(Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
}

async fn show(
    state: web::Data<WebState>,
    token: web::Path<String>,
    query: web::Query<ShowQuery>,
) -> HttpResponse {
    let token = token.into_inner();
    let Some(id) = referral_of(&state, &token) else {
        return invalid(&state);
    };
    let st = state.get_ref().clone();
    let done = query
        .into_inner()
        .done
        .filter(|d| d == "ack" || d == "update");
    match state.db.run(move |conn| view(&st, conn, &id, &token)).await {
        Ok(Some(mut v)) => {
            v["notice"] = done.into();
            page(&state, StatusCode::OK, &v)
        }
        Ok(None) => invalid(&state),
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
pub struct AckForm {
    action: String,
    body: Option<String>,
}

/// What a POST came to.
enum Outcome {
    /// Done: see the page again (POST, redirect, GET), with a notice.
    Done(&'static str),
    /// Refused: the page again with the reason.
    Refused(StatusCode, Value),
    /// The referral is gone.
    Gone,
}

async fn submit(
    state: web::Data<WebState>,
    token: web::Path<String>,
    form: web::Form<AckForm>,
) -> HttpResponse {
    let token = token.into_inner();
    let Some(id) = referral_of(&state, &token) else {
        return invalid(&state);
    };
    let form = form.into_inner();
    let st = state.get_ref().clone();
    let tok = token.clone();
    let result = state
        .db
        .run(move |conn| -> Result<Outcome, DbError> {
            let r = match referrals::get(conn, &id) {
                Ok(r) => r,
                Err(ReferralError::Db(e)) => return Err(e),
                Err(_) => return Ok(Outcome::Gone),
            };
            let by = format!("department:{}", r.department);
            let outcome = match form.action.as_str() {
                "ack" => referrals::acknowledge(conn, &id, &by).map(|_| "ack"),
                "update" => {
                    referrals::post_update(conn, &id, &by, form.body.as_deref().unwrap_or(""))
                        .map(|_| "update")
                }
                _ => return refused(&st, conn, &id, &tok, StatusCode::BAD_REQUEST, "action"),
            };
            match outcome {
                Ok(done) => Ok(Outcome::Done(done)),
                Err(ReferralError::Closed) => {
                    refused(&st, conn, &id, &tok, StatusCode::CONFLICT, "closed")
                }
                Err(ReferralError::Invalid(m)) => {
                    let why = if m.contains("longer") {
                        "too_long"
                    } else {
                        "empty"
                    };
                    refused(&st, conn, &id, &tok, StatusCode::BAD_REQUEST, why)
                }
                Err(ReferralError::Db(e)) => Err(e),
                Err(e) => Err(DbError::Pool(e.to_string())),
            }
        })
        .await;
    match result {
        Ok(Outcome::Done(done)) => HttpResponse::SeeOther()
            .insert_header(("Location", format!("/console/ack/{token}?done={done}")))
            .insert_header(("Referrer-Policy", "no-referrer"))
            .insert_header(("Cache-Control", "no-store"))
            .finish(),
        Ok(Outcome::Refused(status, v)) => page(&state, status, &v),
        Ok(Outcome::Gone) => invalid(&state),
        Err(e) => failed(e),
    }
}

fn refused(
    state: &WebState,
    conn: &mut DbConn,
    id: &str,
    token: &str,
    status: StatusCode,
    why: &'static str,
) -> Result<Outcome, DbError> {
    Ok(match view(state, conn, id, token)? {
        Some(mut v) => {
            v["error"] = why.into();
            Outcome::Refused(status, v)
        }
        None => Outcome::Gone,
    })
}
