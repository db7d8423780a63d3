//! Gateway webhooks: `/channels/{id}/receive` and `/channels/{id}/status`. Each channel kind
//! authenticates and parses; a request that fails authentication changes nothing.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::error;
use crate::conversations::inbound::{self, InboundError, Received};
use crate::sms::channels::{Channel, WebhookError, WebhookRequest};
use crate::sms::outbox::{self, ReportOutcome};
use crate::text::storable;
use crate::web::WebState;

fn webhook_request(req: &HttpRequest, body: web::Bytes) -> WebhookRequest {
    WebhookRequest {
        method: req.method().to_string(),
        path: req.path().to_string(),
        query: req.query_string().to_string(),
        headers: req
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect(),
        body: body.to_vec(),
    }
}

fn rejected(channel: &str, e: WebhookError) -> HttpResponse {
    let status = match e {
        WebhookError::Unauthorized => StatusCode::UNAUTHORIZED,
        WebhookError::Forbidden => StatusCode::FORBIDDEN,
        WebhookError::BadRequest(_) => StatusCode::BAD_REQUEST,
        WebhookError::NotSupported(_) => StatusCode::NOT_FOUND,
    };
    tracing::warn!(channel, status = status.as_u16(), reason = %e, "webhook rejected");
    error(status, e)
}

/// Finds the channel and checks the caller's credentials; the error is the answer to send.
#[allow(clippy::result_large_err)]
fn admit<'a>(
    state: &'a WebState,
    id: &str,
    req: &WebhookRequest,
) -> Result<&'a std::sync::Arc<dyn Channel>, HttpResponse> {
    let channel = state
        .channels
        .get(id)
        .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("no channel {id:?}")))?;
    channel.authenticate(req).map_err(|e| rejected(id, e))?;
    Ok(channel)
}

/// The most parts a concatenated SMS can have (its UDH counts them in one byte).
pub const MAX_PARTS: usize = 255;

pub async fn receive(
    state: web::Data<WebState>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let id = path.into_inner();
    let wreq = webhook_request(&req, body);
    let channel = match admit(&state, &id, &wreq) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let messages = match channel.parse_inbound(&wreq) {
        Ok(m) => m,
        Err(e) => return rejected(&id, e),
    };
    let mut answers = Vec::new();
    for mut sms in messages {
        // Storable on both backends (a NUL would fail on PostgreSQL at every retry).
        sms.from = storable(&sms.from);
        sms.to = sms.to.as_deref().map(storable);
        sms.text = storable(&sms.text);
        sms.gateway_id = sms.gateway_id.as_deref().map(storable);
        sms.gateway_time = sms.gateway_time.as_deref().map(storable);
        // No phone sends more than 255 concatenated parts: anything longer is not an SMS.
        let too_long = if sms.binary {
            sms.text.len() / 2 > MAX_PARTS * 140
        } else {
            crate::text::sms_size(&sms.text).segments > MAX_PARTS
        };
        if too_long {
            return rejected(
                &id,
                WebhookError::BadRequest(format!(
                    "a text longer than {MAX_PARTS} SMS parts is not an SMS"
                )),
            );
        }
        match inbound::receive(&state, &id, sms).await {
            Ok(Received::Handled { message_id }) => answers.push(format!("accepted {message_id}")),
            Ok(Received::Duplicate { message_id }) => {
                answers.push(format!("duplicate {message_id}"))
            }
            Err(e @ InboundError::BadSender(..)) => {
                return rejected(&id, WebhookError::BadRequest(e.to_string()))
            }
            // Stored; a retry would not render it either.
            Err(e @ InboundError::Template { .. }) => answers.push(e.to_string()),
            // Not stored, or stored but not routed: the gateway's retry completes it.
            Err(InboundError::Db(e)) => {
                tracing::error!(channel = %id, error = %e, "incoming message not processed");
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage unavailable, try again",
                );
            }
        }
    }
    if channel.config().kind == crate::sms::channels::ChannelKind::Twilio {
        // Twilio reads the answer as TwiML: an empty one sends nothing back (the reply goes
        // through the outbox).
        return HttpResponse::Ok()
            .content_type("text/xml")
            .body("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>");
    }
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(answers.join("\n"))
}

pub async fn status(
    state: web::Data<WebState>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let id = path.into_inner();
    let wreq = webhook_request(&req, body);
    let channel = match admit(&state, &id, &wreq) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let reports = match channel.parse_status(&wreq) {
        Ok(r) => r,
        Err(e) => return rejected(&id, e),
    };
    let mut answers = Vec::new();
    for mut r in reports {
        r.message_id = storable(&r.message_id);
        r.recipient = r.recipient.as_deref().map(storable);
        r.detail = storable(&r.detail);
        let ch = id.clone();
        let outcome = state
            .db
            .run(move |c| {
                crate::db::transaction(c, |c| {
                    let id = outbox::batch::reported_message(
                        c,
                        &ch,
                        &r.message_id,
                        r.recipient.as_deref(),
                    )?;
                    let o = outbox::apply_report(c, &ch, &id, r.delivery, &r.detail)?;
                    if r.refused && o != ReportOutcome::UnknownMessage {
                        let via = format!("carrier via {ch}: {}", r.detail);
                        inbound::refused_at_carrier(c, &id, &via)?;
                    }
                    Ok::<_, crate::db::DbError>((id, o))
                })
            })
            .await;
        match outcome {
            Ok((msg, ReportOutcome::UnknownMessage)) => {
                return rejected(
                    &id,
                    WebhookError::BadRequest(format!(
                        "no outgoing message {msg:?} on this channel"
                    )),
                );
            }
            Ok((msg, ReportOutcome::Applied(s) | ReportOutcome::Kept(s))) => {
                answers.push(format!("{msg} {}", s.as_str()))
            }
            Err(e) => {
                tracing::error!(channel = %id, error = %e, "delivery report not stored");
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage unavailable, try again",
                );
            }
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(answers.join("\n"))
}
