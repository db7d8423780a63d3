//! An Android phone with a SIM running SMS Gateway for Android (PROTOCOLS.md), in local-server
//! or cloud-server mode. We send with `POST {base_url}/message` (Basic auth), giving our own
//! message id as the gateway's, so a retry after a crash gets a 409 and sends nothing twice.
//! The app's webhooks are signed: `X-Signature` = hex(HMAC-SHA256(signing key, body ‖
//! `X-Timestamp`)), accepted within 5 minutes either way. Register `sms:received` to
//! `/channels/{id}/receive` and `sms:sent`, `sms:delivered`, `sms:failed` to
//! `/channels/{id}/status`; `system:ping` and `app:started` are welcome at either.
//!
//! Bulk messages with one text go to several numbers in one call (`send_batch`): the call's
//! id is the batch's (`messages.batch_id`), and each report names it and the number.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use super::ChannelConfig;
use super::{
    Accepted, BatchAccepted, BatchFuture, Channel, Delivery, InboundSms, OutgoingBatch,
    OutgoingSms, SendError, SendFuture, StatusReport, WebhookError, WebhookRequest,
    ANDROID_MAX_RECIPIENTS,
};
use crate::secret::Secret;
use crate::text::recipient_of;

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
    /// Which of the message's numbers (a message may have several).
    #[serde(default)]
    phone_number: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// The app's answer to a send: `{id, state, recipients: [{phoneNumber, state, error}]}`.
#[derive(Debug, Deserialize)]
struct MessageState {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    recipients: Vec<RecipientState>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecipientState {
    phone_number: String,
    state: String,
    #[serde(default)]
    error: Option<String>,
}

/// What the answer to a batch says of single recipients beyond "taken": one failed at once
/// (a number the phone refused) or, rarely, already delivered. `recipients` are our message ids
/// and numbers; the answer's numbers may be written another way (`recipient_of`).
fn answer_reports(answer: &str, recipients: &[(String, String)]) -> Vec<StatusReport> {
    let Ok(state) = serde_json::from_str::<MessageState>(answer) else {
        return Vec::new();
    };
    let numbers: Vec<&str> = recipients.iter().map(|(_, n)| n.as_str()).collect();
    state
        .recipients
        .into_iter()
        .filter_map(|r| {
            let delivery = match r.state.as_str() {
                "Failed" => Delivery::Failed,
                "Delivered" => Delivery::Delivered,
                _ => return None,
            };
            let number = recipient_of(&numbers, &r.phone_number)?;
            let (id, _) = recipients.iter().find(|(_, n)| n == number)?;
            let detail = match &r.error {
                Some(e) => format!("answer: {}: {e}", r.state),
                None => format!("answer: {}", r.state),
            };
            Some(StatusReport {
                message_id: id.clone(),
                recipient: Some(r.phone_number),
                delivery,
                detail,
                refused: false,
            })
        })
        .collect()
}

/// How a send's answer is taken: the status code decides, as for one message.
fn outcome(status: u16, text: &str) -> Result<String, SendError> {
    let short: String = text.chars().take(200).collect();
    let detail = format!("{status} {short}");
    match status {
        // 409: the phone has this id already (our retry after a crash): sent once.
        200..=299 | 409 => Ok(detail),
        429 => Err(SendError::Retryable(detail)),
        400..=499 => Err(SendError::Permanent(detail)),
        _ => Err(SendError::Retryable(detail)),
    }
}

impl AndroidChannel {
    /// `POST {base_url}/message` with our id for it: the status and the answer's text.
    async fn post_message(
        &self,
        id: &str,
        text: &str,
        validity_secs: Option<u64>,
        numbers: Vec<&str>,
    ) -> Result<(u16, String), SendError> {
        let c = &self.config;
        let base = c
            .base_url
            .as_deref()
            .ok_or_else(|| SendError::Permanent("base_url is not set".into()))?;
        let mut body = json!({
            "id": id,
            "textMessage": { "text": text },
            "phoneNumbers": numbers,
            "withDeliveryReport": true,
        });
        if let Some(sim) = c.sim_number {
            body["simNumber"] = json!(sim);
        }
        if let Some(ttl) = validity_secs {
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
        Ok((status, resp.text().await.unwrap_or_default()))
    }
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
                    gateway_time: m.received_at,
                    binary: false,
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
            recipient: p.phone_number,
            delivery,
            detail,
            refused: false,
        }])
    }

    fn max_recipients(&self) -> usize {
        self.config.max_recipients.unwrap_or(ANDROID_MAX_RECIPIENTS) as usize
    }

    fn send_batch<'a>(&'a self, batch: &'a OutgoingBatch) -> BatchFuture<'a> {
        Box::pin(async move {
            let numbers = batch.recipients.iter().map(|(_, n)| n.as_str()).collect();
            let (status, text) = self
                .post_message(&batch.id, &batch.text, batch.validity_secs, numbers)
                .await?;
            // Every message of the batch keeps this as its history: the call's state, never
            // the answer's list of the other workers' numbers.
            let summary = match serde_json::from_str::<MessageState>(&text) {
                Ok(MessageState { state: Some(s), .. }) => s,
                _ => text.chars().take(100).collect(),
            };
            let detail = outcome(status, &summary)?;
            Ok(BatchAccepted {
                reports: answer_reports(&text, &batch.recipients),
                detail: format!(
                    "{detail}, call {} to {} numbers",
                    batch.id,
                    batch.recipients.len()
                ),
            })
        })
    }

    fn send<'a>(&'a self, msg: &'a OutgoingSms) -> SendFuture<'a> {
        Box::pin(async move {
            let (status, text) = self
                .post_message(&msg.id, &msg.text, msg.validity_secs, vec![&msg.to])
                .await?;
            Ok(Accepted {
                gateway_id: Some(msg.id.clone()),
                detail: outcome(status, &text)?,
            })
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
    fn a_report_names_the_number_of_a_message_to_several() {
        let c = channel();
        let now = chrono::Utc::now().timestamp();
        let body = r#"{"id":"e-1","webhookId":"w","event":"sms:failed","deviceId":"d","payload":{"messageId":"batch-1","phoneNumber":"+8613900000072","simNumber":1,"failedAt":"2026-12-01T08:00:00+08:00","reason":"RESULT_ERROR_GENERIC_FAILURE"}}"#;
        let r = c.parse_status(&signed(body, now, "k")).unwrap();
        assert_eq!(r[0].message_id, "batch-1");
        assert_eq!(r[0].recipient.as_deref(), Some("+8613900000072"));
        assert_eq!(r[0].delivery, Delivery::Failed);
        assert!(r[0].detail.contains("RESULT_ERROR_GENERIC_FAILURE"));
    }

    #[test]
    fn the_answer_to_a_batch_reports_the_numbers_it_refused_at_once() {
        let ours = vec![
            ("m1".to_string(), "+8613900000071".to_string()),
            ("m2".to_string(), "+8613900000072".to_string()),
            ("m3".to_string(), "+8613900000073".to_string()),
        ];
        let answer = r#"{"id":"batch-1","state":"Pending","recipients":[
            {"phoneNumber":"+8613900000071","state":"Pending","error":null},
            {"phoneNumber":"13900000072","state":"Failed","error":"invalid number"},
            {"phoneNumber":"+8613900000073","state":"Delivered"},
            {"phoneNumber":"+8613900000099","state":"Failed","error":"not ours"}]}"#;
        let r = answer_reports(answer, &ours);
        let got: Vec<(&str, Delivery)> = r
            .iter()
            .map(|r| (r.message_id.as_str(), r.delivery))
            .collect();
        assert_eq!(got, [("m2", Delivery::Failed), ("m3", Delivery::Delivered)]);
        assert!(r[0].detail.contains("invalid number"), "{}", r[0].detail);
        // A 409, or an answer that is not the app's JSON, says nothing of single numbers.
        assert!(answer_reports(r#"{"message":"exists"}"#, &ours).is_empty());
        assert!(answer_reports("0: Accepted for delivery", &ours).is_empty());
    }

    #[test]
    fn the_phones_answer_decides_like_for_one_message() {
        assert!(outcome(202, "{}").is_ok());
        assert!(outcome(409, "{}").is_ok(), "it has the id: sent before");
        assert!(matches!(outcome(429, ""), Err(SendError::Retryable(_))));
        assert!(matches!(outcome(400, ""), Err(SendError::Permanent(_))));
        assert!(matches!(outcome(503, ""), Err(SendError::Retryable(_))));
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
