//! The generic JSON channel, for integrations (a provider's relay, another system): messages
//! come in as `POST /channels/{id}/receive` with `Authorization: Bearer <secret>` and
//! `{"id", "from", "to", "text", "received_at"?}` (PROTOCOLS.md); delivery reports as
//! `POST /channels/{id}/status` with `{"id": <our message id>, "status", "detail"?}`; and we
//! send by POSTing `{"id", "to", "text", "encoding", "validity_secs", "status_url"}` to
//! `send_url` with `Authorization: Bearer <send_token>`.

use std::time::Duration;

use chrono::DateTime;
use serde::Deserialize;
use serde_json::json;

use super::ChannelConfig;
use super::{
    Accepted, Channel, Delivery, InboundSms, OutgoingSms, SendError, SendFuture, StatusReport,
    WebhookError, WebhookRequest,
};

pub struct JsonChannel {
    config: ChannelConfig,
    http: reqwest::Client,
    /// `{public_url}/channels/{id}/status`, given with every message sent.
    status_url: String,
}

impl JsonChannel {
    pub fn new(config: ChannelConfig, http: reqwest::Client, public_base_url: &str) -> Self {
        let status_url = format!("{public_base_url}/channels/{}/status", config.id);
        JsonChannel {
            config,
            http,
            status_url,
        }
    }
}

/// A message from a worker, as the integration sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Incoming {
    id: String,
    from: String,
    #[serde(default)]
    to: Option<String>,
    text: String,
    #[serde(default)]
    received_at: Option<String>,
}

/// A delivery report for one of our messages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    id: String,
    status: String,
    #[serde(default)]
    detail: Option<String>,
}

/// One object, or an array of them.
fn parse_body<T: serde::de::DeserializeOwned>(
    req: &WebhookRequest,
) -> Result<Vec<T>, WebhookError> {
    let bad =
        |e: serde_json::Error| WebhookError::BadRequest(format!("not the JSON expected: {e}"));
    let value: serde_json::Value = serde_json::from_slice(&req.body).map_err(bad)?;
    match value {
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|v| serde_json::from_value(v).map_err(bad))
            .collect(),
        one => Ok(vec![serde_json::from_value(one).map_err(bad)?]),
    }
}

impl Channel for JsonChannel {
    fn config(&self) -> &ChannelConfig {
        &self.config
    }

    fn authenticate(&self, req: &WebhookRequest) -> Result<(), WebhookError> {
        let Some(secret) = &self.config.secret else {
            return Err(WebhookError::Forbidden);
        };
        let given = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim);
        match given {
            None => Err(WebhookError::Unauthorized),
            Some(g) if secret.matches(g) => Ok(()),
            Some(_) => Err(WebhookError::Forbidden),
        }
    }

    fn parse_inbound(&self, req: &WebhookRequest) -> Result<Vec<InboundSms>, WebhookError> {
        parse_body::<Incoming>(req)?
            .into_iter()
            .map(|m| {
                let bad = |s: &str| WebhookError::BadRequest(s.to_string());
                if m.id.trim().is_empty() {
                    return Err(bad("id is empty: give the gateway's id of the message"));
                }
                if m.from.trim().is_empty() {
                    return Err(bad("from is empty"));
                }
                let received_at = match &m.received_at {
                    Some(t) => Some(
                        DateTime::parse_from_rfc3339(t)
                            .map_err(|e| {
                                bad(&format!("received_at {t:?} is not RFC 3339 time: {e}"))
                            })?
                            .naive_utc(),
                    ),
                    None => None,
                };
                Ok(InboundSms {
                    from: m.from,
                    to: m.to,
                    text: m.text,
                    gateway_id: Some(m.id),
                    received_at,
                    gateway_time: m.received_at,
                    binary: false,
                })
            })
            .collect()
    }

    fn parse_status(&self, req: &WebhookRequest) -> Result<Vec<StatusReport>, WebhookError> {
        parse_body::<Report>(req)?
            .into_iter()
            .map(|r| {
                let delivery = match r.status.as_str() {
                    "accepted" | "sent" => Delivery::Accepted,
                    "pending" | "queued" => Delivery::Pending,
                    "delivered" => Delivery::Delivered,
                    "failed" | "undelivered" => Delivery::Failed,
                    other => {
                        return Err(WebhookError::BadRequest(format!(
                            "status {other:?} is not one of accepted, sent, pending, queued, delivered, failed, undelivered"
                        )))
                    }
                };
                let detail = match &r.detail {
                    Some(d) => format!("{}: {d}", r.status),
                    None => r.status.clone(),
                };
                Ok(StatusReport {
                    refused: false,
                    message_id: r.id,
                    recipient: None,
                    delivery,
                    detail,
                })
            })
            .collect()
    }

    fn send<'a>(&'a self, msg: &'a OutgoingSms) -> SendFuture<'a> {
        Box::pin(async move {
            let url = self
                .config
                .send_url
                .as_deref()
                .ok_or_else(|| SendError::Permanent("send_url is not set".into()))?;
            let mut req = self
                .http
                .post(url)
                .timeout(Duration::from_secs(15))
                .json(&json!({
                    "id": msg.id,
                    "to": msg.to,
                    "text": msg.text,
                    "encoding": msg.encoding.as_str(),
                    "validity_secs": msg.validity_secs,
                    "status_url": self.status_url,
                }));
            if let Some(token) = &self.config.send_token {
                req = req.bearer_auth(token.expose());
            }
            let resp = req
                .send()
                .await
                .map_err(|e| SendError::Retryable(e.without_url().to_string()))?;
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            let body: String = body.chars().take(200).collect();
            match status {
                // 409: the integration has this id already (a retry after a crash): sent once.
                200..=299 | 409 => Ok(Accepted {
                    gateway_id: serde_json::from_str::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| v["id"].as_str().map(str::to_string)),
                    detail: format!("{status} {body}"),
                }),
                429 => Err(SendError::Retryable(format!("{status} {body}"))),
                400..=499 => Err(SendError::Permanent(format!("{status} {body}"))),
                _ => Err(SendError::Retryable(format!("{status} {body}"))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::sms::channels::ChannelKind;

    fn channel() -> JsonChannel {
        let cfg = ChannelConfig {
            kind: ChannelKind::Json,
            secret: Some(Secret::new("json-secret-0123456789")),
            send_url: Some("http://127.0.0.1:9/send".into()),
            ..ChannelConfig::log("json", 10)
        };
        JsonChannel::new(cfg, reqwest::Client::new(), "http://127.0.0.1:8080")
    }

    fn req(auth: Option<&str>, body: &str) -> WebhookRequest {
        WebhookRequest {
            method: "POST".into(),
            path: "/channels/json/receive".into(),
            query: String::new(),
            headers: auth
                .map(|a| vec![("authorization".to_string(), a.to_string())])
                .unwrap_or_default(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn only_the_bearer_secret_gets_in() {
        let c = channel();
        assert_eq!(
            c.authenticate(&req(None, "{}")),
            Err(WebhookError::Unauthorized)
        );
        assert_eq!(
            c.authenticate(&req(Some("Bearer wrong"), "{}")),
            Err(WebhookError::Forbidden)
        );
        assert_eq!(
            c.authenticate(&req(Some("Bearer json-secret-0123456789"), "{}")),
            Ok(())
        );
    }

    #[test]
    fn incoming_messages_and_reports_are_read_or_refused_with_a_reason() {
        let c = channel();
        let one = r#"{"id":"g-1","from":"13900000001","to":"12333","text":"རོགས་རམ","received_at":"2026-12-01T08:00:00+08:00"}"#;
        let got = c.parse_inbound(&req(None, one)).unwrap();
        assert_eq!(got[0].gateway_id.as_deref(), Some("g-1"));
        assert_eq!(got[0].text, "རོགས་རམ");
        assert_eq!(
            got[0].received_at.unwrap().to_string(),
            "2026-12-01 00:00:00"
        );
        let two = format!("[{one},{one}]");
        assert_eq!(c.parse_inbound(&req(None, &two)).unwrap().len(), 2);
        for bad in [
            "not json",
            r#"{"from":"1","text":"x"}"#,
            r#"{"id":"","from":"1","text":"x"}"#,
            r#"{"id":"a","from":"1","text":"x","extra":1}"#,
            r#"{"id":"a","from":"1","text":"x","received_at":"yesterday"}"#,
        ] {
            assert!(
                matches!(
                    c.parse_inbound(&req(None, bad)),
                    Err(WebhookError::BadRequest(_))
                ),
                "{bad}"
            );
        }
        let r = c
            .parse_status(&req(None, r#"{"id":"m-1","status":"delivered"}"#))
            .unwrap();
        assert_eq!(r[0].delivery, Delivery::Delivered);
        assert!(matches!(
            c.parse_status(&req(None, r#"{"id":"m-1","status":"lost"}"#)),
            Err(WebhookError::BadRequest(_))
        ));
    }
}
