use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::error;
use crate::web::WebState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// Ready when the database answers and every migration is applied.
pub async fn readyz(state: web::Data<WebState>) -> HttpResponse {
    let db = state.db.clone();
    match tokio::task::spawn_blocking(move || db.ready()).await {
        Ok(Ok(())) => HttpResponse::Ok().content_type("text/plain").body("ready"),
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, e),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

pub async fn metrics(state: web::Data<WebState>, req: HttpRequest) -> HttpResponse {
    if let Some(token) = &state.config.metrics_token {
        let given = req
            .headers()
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "));
        if !given.is_some_and(|g| token.matches(g)) {
            return error(StatusCode::UNAUTHORIZED, "metrics need the bearer token");
        }
    }
    let today = state.config.today();
    let counts = state
        .db
        .run(move |c| {
            Ok::<_, crate::db::DbError>((
                crate::sms::outbox::status_counts(c)?,
                crate::cases::case_counts(c, today)?,
                crate::work::jobs::counts(c)?,
            ))
        })
        .await;
    match counts {
        Ok((counts, cases, jobs)) => {
            let ids: Vec<String> = state
                .channels
                .iter()
                .map(|c| c.config().id.clone())
                .collect();
            HttpResponse::Ok()
                .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
                .body(state.metrics.render(&counts, &ids, &cases, &jobs))
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}
