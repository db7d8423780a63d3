//! An Android phone with a SIM running SMS Gateway for Android (PROTOCOLS.md), in local-server
//! or cloud-server mode. We send with `POST {base_url}/message` (Basic auth), giving our own
//! message id as the gateway's, so a retry after a crash gets a 409 and sends nothing twice.
//! The app's webhooks are signed: `X-Signature` = hex(HMAC-SHA256(signing key, body ‖
//! `X-Timestamp`)), accepted within 5 minutes either way. Register `sms:received` to
//! `/channels/{id}/receive` and `sms:sent`, `sms:delivered`, `sms:failed` to
//! `/channels/{id}/status`; `system:ping` and `app:started` are welcome at either.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use super::ChannelConfig;
use super::{
    Accepted, Channel, Delivery, InboundSms, OutgoingSms, SendError, SendFuture, StatusReport,
    WebhookError, WebhookRequest,
};
use crate::secret::Secret;

/// How far a webhook's `X-Timestamp` may be from our clock (replays are refused).
pub const MAX_SKEW_SECS: i64 = 300;

pub struct AndroidChannel {
    config: ChannelConfig,
    http: reqwest::Client,
}

impl AndroidChannel {
    pub fn new(config: ChannelConfig, http: reqwest::Client) -> Self {
        AndroidChannel { config, http }
    }
}

/// `X-Signature` for a webhook body sent at `timestamp` (Unix seconds, as the header gives it).
pub fn signature(signing_key: &str, body: &[u8], timestamp: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(signing_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac.update(timestamp.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Deserialize)]
struct Envelope {
    event: String,
    #[serde(default)]
    payload: serde_json::Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Received {
    message_id: String,
    message: String,
    sender: String,
    #[serde(default)]
    recipient: Option<String>,
    #[serde(default)]
    received_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Progress {
    message_id: String,
    #[serde(default)]
    reason: Option<String>,
}

fn envelope(req: &WebhookRequest) -> Result<Envelope, WebhookError> {
    serde_json::from_slice(&req.body)
        .map_err(|e| WebhookError::BadRequest(format!("not a webhook of the app: {e}")))
}

fn payload<T: serde::de::DeserializeOwned>(e: &Envelope) -> Result<T, WebhookError> {
    serde_json::from_value(e.payload.clone())
        .map_err(|err| WebhookError::BadRequest(format!("{} payload: {err}", e.event)))
}

impl Channel for AndroidChannel {
    fn config(&self) -> &ChannelConfig {
        &self.config
    }

    fn authenticate(&self, req: &WebhookRequest) -> Result<(), WebhookError> {
        let Some(key) = &self.config.signing_key else {
            return Err(WebhookError::Forbidden);
        };
        let (Some(given), Some(ts)) = (req.header("x-signature"), req.header("x-timestamp")) else {
            return Err(WebhookError::Unauthorized);
        };
        let expected = Secret::new(signature(key.expose(), &req.body, ts));
        if !expected.matches(&given.trim().to_ascii_lowercase()) {
            return Err(WebhookError::Forbidden);
        }
        let sent: i64 = ts.trim().parse().map_err(|_| WebhookError::Forbidden)?;
        if (chrono::Utc::now().timestamp() - sent).abs() > MAX_SKEW_SECS {
            // A signed request replayed later, or a phone whose clock is far off.
            return Err(WebhookError::Forbidden);
        }
        Ok(())
    }

    fn parse_inbound(&self, req: &WebhookRequest) -> Result<Vec<InboundSms>, WebhookError> {
        let e = envelope(req)?;
        match e.event.as_str() {
            "sms:received" => {
                let m: Received = payload(&e)?;
                let received_at = match &m.received_at {
                    Some(t) => Some(
                        chrono::DateTime::parse_from_rfc3339(t)
                            .map_err(|err| {
                                WebhookError::BadRequest(format!("receivedAt {t:?}: {err}"))
                            })?
                            .naive_utc(),
                    ),
                    None => None,
                };
                // The app may send one message twice under different event ids: the message's
                // id, sender and text identify it.
                let mut h = Hmac::<Sha256>::new_from_slice(b"android-dedupe").expect("key");
                h.update(m.sender.as_bytes());
                h.update(&[0]);
                h.update(m.message.as_bytes());
                let digest: String = h.finalize().into_bytes()[..8]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                Ok(vec![InboundSms {
                    gateway_id: Some(format!("{}:{digest}", m.message_id)),
                    from: m.sender,
                    to: m.recipient,
                    text: m.message,
                    received_at,
                }])
            }
            "system:ping" | "app:started" => Ok(Vec::new()),
            other => Err(WebhookError::BadRequest(format!(
                "{other} belongs to /status, not /receive"
            ))),
        }
    }

    fn parse_status(&self, req: &WebhookRequest) -> Result<Vec<StatusReport>, WebhookError> {
        let e = envelope(req)?;
        let delivery = match e.event.as_str() {
            "sms:sent" => Delivery::Accepted,
            // Sent once per segment: a second one only confirms.
            "sms:delivered" => Delivery::Delivered,
            "sms:failed" => Delivery::Failed,
            "system:ping" | "app:started" => return Ok(Vec::new()),
            other => {
                return Err(WebhookError::BadRequest(format!(
                    "{other} is not a delivery report"
                )))
            }
        };
        let p: Progress = payload(&e)?;
        let detail = match &p.reason {
            Some(r) => format!("{}: {r}", e.event),
            None => e.event.clone(),
        };
        Ok(vec![StatusReport {
            message_id: p.message_id,
            delivery,
            detail,
            refused: false,
        }])
    }

    fn send<'a>(&'a self, msg: &'a OutgoingSms) -> SendFuture<'a> {
        Box::pin(async move {
            let c = &self.config;
            let base = c
                .base_url
                .as_deref()
                .ok_or_else(|| SendError::Permanent("base_url is not set".into()))?;
            let mut body = json!({
                "id": msg.id,
                "textMessage": { "text": msg.text },
                "phoneNumbers": [msg.to],
                "withDeliveryReport": true,
            });
            if let Some(sim) = c.sim_number {
                body["simNumber"] = json!(sim);
            }
            if let Some(ttl) = msg.validity_secs {
                body["ttl"] = json!(ttl);
            }
            if let Some(device) = &c.device_id {
                body["deviceId"] = json!(device);
            }
            let resp = self
                .http
                .post(format!("{}/message", base.trim_end_matches('/')))
                .timeout(Duration::from_secs(15))
                .basic_auth(
                    c.username.as_deref().unwrap_or_default(),
                    c.password.as_ref().map(|p| p.expose()),
                )
                .json(&body)
                .send()
                .await
                .map_err(|e| SendError::Retryable(e.without_url().to_string()))?;
            let status = resp.status().as_u16();
            let text: String = resp
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect();
            match status {
                // 409: the phone has this id already (our retry after a crash): sent once.
                200..=299 | 409 => Ok(Accepted {
                    gateway_id: Some(msg.id.clone()),
                    detail: format!("{status} {text}"),
                }),
                429 => Err(SendError::Retryable(format!("{status} {text}"))),
                400..=499 => Err(SendError::Permanent(format!("{status} {text}"))),
                _ => Err(SendError::Retryable(format!("{status} {text}"))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::channels::ChannelKind;

    fn channel() -> AndroidChannel {
        let cfg = ChannelConfig {
            kind: ChannelKind::Android,
            signing_key: Some(Secret::new("signing-key-0123456789")),
            base_url: Some("http://127.0.0.1:9".into()),
            ..ChannelConfig::log("phone", 1)
        };
        AndroidChannel::new(cfg, reqwest::Client::new())
    }

    fn signed(body: &str, ts: i64, key: &str) -> WebhookRequest {
        let ts = ts.to_string();
        WebhookRequest {
            method: "POST".into(),
            path: "/channels/phone/receive".into(),
            query: String::new(),
            headers: vec![
                ("x-signature".into(), signature(key, body.as_bytes(), &ts)),
                ("x-timestamp".into(), ts),
            ],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn signed_fresh_webhooks_only() {
        let c = channel();
        let body = r#"{"event":"system:ping","payload":{}}"#;
        let now = chrono::Utc::now().timestamp();
        assert_eq!(
            c.authenticate(&signed(body, now, "signing-key-0123456789")),
            Ok(())
        );
        assert_eq!(
            c.authenticate(&signed(body, now, "another-key")),
            Err(WebhookError::Forbidden)
        );
        assert_eq!(
            c.authenticate(&signed(body, now - 400, "signing-key-0123456789")),
            Err(WebhookError::Forbidden),
            "a replay after 5 minutes"
        );
        let mut unsigned = signed(body, now, "signing-key-0123456789");
        unsigned.headers.clear();
        assert_eq!(c.authenticate(&unsigned), Err(WebhookError::Unauthorized));
    }

    #[test]
    fn a_message_sent_twice_under_two_event_ids_is_one_message() {
        let c = channel();
        let now = chrono::Utc::now().timestamp();
        let body = |event_id: &str| {
            format!(
                r#"{{"id":"{event_id}","webhookId":"w","event":"sms:received","deviceId":"d","payload":{{"messageId":"m-1","message":"帮助","sender":"+8613900000071","recipient":"+8612333","simNumber":1,"receivedAt":"2026-12-01T08:00:00+08:00"}}}}"#
            )
        };
        let a = c.parse_inbound(&signed(&body("e-1"), now, "k")).unwrap();
        let b = c.parse_inbound(&signed(&body("e-2"), now, "k")).unwrap();
        assert_eq!(a[0].gateway_id, b[0].gateway_id);
        assert_eq!(a[0].text, "帮助");
    }
}
