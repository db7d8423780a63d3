//! Twilio and Twilio-compatible cloud SMS (PROTOCOLS.md): incoming messages and status
//! callbacks are form POSTs signed with `X-Twilio-Signature` (base64 HMAC-SHA1, keyed with the
//! auth token, of the public URL followed by every form parameter's name and value, sorted by
//! name); we send with `POST {base_url}/2010-04-01/Accounts/{sid}/Messages.json`, Basic auth,
//! and a `StatusCallback` that carries our message id.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::params;
use super::ChannelConfig;
use super::{
    Accepted, Channel, Delivery, InboundSms, OutgoingSms, SendError, SendFuture, StatusReport,
    WebhookError, WebhookRequest,
};
use crate::secret::Secret;

/// Twilio's own API, when `base_url` is not set.
pub const DEFAULT_BASE_URL: &str = "https://api.twilio.com";

/// The carrier says the worker sent STOP to it: we may not message them (Twilio error 21610).
pub const ERROR_UNSUBSCRIBED: &str = "21610";

pub struct TwilioChannel {
    config: ChannelConfig,
    http: reqwest::Client,
    /// `public_url`: the URL Twilio signs is the one it called, as the public sees it.
    public_base: String,
}

impl TwilioChannel {
    pub fn new(config: ChannelConfig, http: reqwest::Client, public_base_url: &str) -> Self {
        TwilioChannel {
            config,
            http,
            public_base: public_base_url.trim_end_matches('/').to_string(),
        }
    }

    /// Where Twilio reports on message `message_id`: the id rides in the URL it signs.
    fn status_callback(&self, message_id: &str) -> String {
        format!(
            "{}/channels/{}/status?msg={}",
            self.public_base,
            self.config.id,
            percent_encoding::utf8_percent_encode(message_id, percent_encoding::NON_ALPHANUMERIC)
        )
    }
}

/// `X-Twilio-Signature` for a request to `url` with these form parameters.
pub fn signature(auth_token: &str, url: &str, form: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = form.iter().collect();
    sorted.sort();
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Decoded `name=value` pairs.
fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    params::parse(raw)
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect()
}

fn form(req: &WebhookRequest) -> Vec<(String, String)> {
    if req.method == "POST" {
        pairs(&req.body)
    } else {
        Vec::new()
    }
}

fn get(form: &[(String, String)], name: &str) -> Option<String> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

fn field(form: &[(String, String)], name: &str) -> Result<String, WebhookError> {
    get(form, name)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| WebhookError::BadRequest(format!("missing {name}")))
}

impl Channel for TwilioChannel {
    fn config(&self) -> &ChannelConfig {
        &self.config
    }

    fn authenticate(&self, req: &WebhookRequest) -> Result<(), WebhookError> {
        let Some(token) = &self.config.auth_token else {
            return Err(WebhookError::Forbidden);
        };
        let Some(given) = req.header("x-twilio-signature") else {
            return Err(WebhookError::Unauthorized);
        };
        let mut url = format!("{}{}", self.public_base, req.path);
        if !req.query.is_empty() {
            url.push('?');
            url.push_str(&req.query);
        }
        let expected = Secret::new(signature(token.expose(), &url, &form(req)));
        if expected.matches(given.trim()) {
            Ok(())
        } else {
            Err(WebhookError::Forbidden)
        }
    }

    fn parse_inbound(&self, req: &WebhookRequest) -> Result<Vec<InboundSms>, WebhookError> {
        let f = form(req);
        Ok(vec![InboundSms {
            from: field(&f, "From")?,
            to: get(&f, "To"),
            text: get(&f, "Body").unwrap_or_default(),
            gateway_id: Some(field(&f, "MessageSid")?),
            ..Default::default()
        }])
    }

    fn parse_status(&self, req: &WebhookRequest) -> Result<Vec<StatusReport>, WebhookError> {
        let f = form(req);
        let ours = pairs(req.query.as_bytes());
        let message_id = field(&ours, "msg")?;
        let status = field(&f, "MessageStatus")?;
        let error = get(&f, "ErrorCode").filter(|c| !c.is_empty());
        let delivery = match status.as_str() {
            "accepted" | "scheduled" | "queued" | "sending" => Delivery::Pending,
            "sent" => Delivery::Accepted,
            "delivered" | "read" => Delivery::Delivered,
            "undelivered" | "failed" | "canceled" => Delivery::Failed,
            other => {
                return Err(WebhookError::BadRequest(format!(
                    "MessageStatus {other:?} is not a status of an outgoing message"
                )))
            }
        };
        let detail = match &error {
            Some(code) => format!("{status} (error {code})"),
            None => status.clone(),
        };
        Ok(vec![StatusReport {
            message_id,
            recipient: None,
            delivery,
            detail,
            refused: error.as_deref() == Some(ERROR_UNSUBSCRIBED),
        }])
    }

    fn send<'a>(&'a self, msg: &'a OutgoingSms) -> SendFuture<'a> {
        Box::pin(async move {
            let c = &self.config;
            let sid = c.account_sid.as_deref().unwrap_or_default();
            let base = c.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
            let url = format!(
                "{}/2010-04-01/Accounts/{sid}/Messages.json",
                base.trim_end_matches('/')
            );
            let mut form = vec![
                ("To", msg.to.clone()),
                ("Body", msg.text.clone()),
                ("StatusCallback", self.status_callback(&msg.id)),
            ];
            if let Some(from) = &c.number {
                form.push(("From", from.clone()));
            }
            if let Some(v) = msg.validity_secs {
                // Twilio keeps a message at most 36,000 s (10 hours).
                form.push(("ValidityPeriod", v.clamp(1, 36_000).to_string()));
            }
            let resp = self
                .http
                .post(&url)
                .timeout(Duration::from_secs(15))
                .basic_auth(sid, c.auth_token.as_ref().map(|t| t.expose()))
                .form(&form)
                .send()
                .await
                .map_err(|e| SendError::Retryable(e.without_url().to_string()))?;
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            let short: String = body.chars().take(200).collect();
            match status {
                200..=299 => Ok(Accepted {
                    gateway_id: serde_json::from_str::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| v["sid"].as_str().map(str::to_string)),
                    detail: format!("{status} {short}"),
                }),
                429 => Err(SendError::Retryable(format!("{status} {short}"))),
                400..=499 => Err(SendError::Permanent(format!("{status} {short}"))),
                _ => Err(SendError::Retryable(format!("{status} {short}"))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in Twilio's documentation of request validation.
    #[test]
    fn signs_as_twilio_documents() {
        let form: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            signature(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &form
            ),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }
}
