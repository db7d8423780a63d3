//! A stand-in for the SMS Gateway for Android app's server (PROTOCOLS.md, "Android gateway
//! phone"), over `FakeGateway`'s HTTP. `POST /message` with the app's Basic auth and
//! `{id, textMessage: {text}, phoneNumbers, ...}` is answered `202` with
//! `{id, state, recipients: [{phoneNumber, state, error}]}`, `409` for an id the phone already
//! has, 401 without the credentials, 400 for a request the app refuses. What the phone then does
//! with each number (sent, then delivered once per segment; or failed, for the numbers told to
//! fail) comes out as the app's webhooks, one event per number, signed as the app signs them,
//! for the test to post to the registered URLs. Scripted answers (`gw.push_answers`) go first:
//! a phone that is away (503), or that took a message before a crash (409).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Value};

use super::fake_gateway::FakeGateway;

/// One message the phone took: its id, its text, its numbers, when.
#[derive(Debug, Clone)]
pub struct Taken {
    pub id: String,
    pub text: String,
    pub numbers: Vec<String>,
    pub at: Instant,
}

/// A webhook as the app sends it.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub path: String,
    pub event: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Default)]
struct Phone {
    taken: Vec<Taken>,
    /// Numbers the phone fails to send to, with the reason it gives.
    failing: HashMap<String, String>,
    /// Events (name, payload) the app has not sent yet.
    events: Vec<(String, Value)>,
    /// Those it has.
    sent: Vec<(String, Value)>,
}

pub struct AndroidApp {
    pub gw: FakeGateway,
    /// What the channel's `base_url` is.
    pub base_url: String,
    channel: String,
    phone: Arc<Mutex<Phone>>,
}

impl AndroidApp {
    /// The app with Basic auth `username:password`, its webhooks registered to the routes of
    /// channel `channel`.
    pub fn start(channel: &str, username: &str, password: &str) -> AndroidApp {
        use base64::Engine;
        let phone = Arc::new(Mutex::new(Phone::default()));
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
        );
        let p = phone.clone();
        let gw = FakeGateway::start_with(Some(Arc::new(move |target, auth, body| {
            if target != "/message" {
                return (404, r#"{"message":"not found"}"#.into());
            }
            if auth != Some(basic.as_str()) {
                return (401, r#"{"message":"unauthorized"}"#.into());
            }
            answer(&mut p.lock().unwrap(), body)
        })));
        let base_url = gw.url.trim_end_matches("/cgi-bin/sendsms").to_string();
        AndroidApp {
            gw,
            base_url,
            channel: channel.to_string(),
            phone,
        }
    }

    /// From now on the phone cannot send to `number` (no signal, a number that does not
    /// exist): its recipient fails with `reason`.
    pub fn fail(&self, number: &str, reason: &str) {
        let mut p = self.phone.lock().unwrap();
        p.failing.insert(number.to_string(), reason.to_string());
    }

    /// The messages the phone took, in order.
    pub fn taken(&self) -> Vec<Taken> {
        self.phone.lock().unwrap().taken.clone()
    }

    /// The webhooks the app has sent since the last call, signed with `key` now.
    pub fn webhooks(&self, key: &str) -> Vec<Webhook> {
        let events = {
            let mut p = self.phone.lock().unwrap();
            let events = std::mem::take(&mut p.events);
            p.sent.extend(events.iter().cloned());
            events
        };
        self.sign(key, events)
    }

    /// Every webhook sent so far, sent again under new event ids: the app's retries, which
    /// users see as the same event twice.
    pub fn webhooks_again(&self, key: &str) -> Vec<Webhook> {
        let events = self.phone.lock().unwrap().sent.clone();
        self.sign(key, events)
    }

    fn sign(&self, key: &str, events: Vec<(String, Value)>) -> Vec<Webhook> {
        let ts = chrono::Utc::now().timestamp().to_string();
        events
            .into_iter()
            .map(|(event, payload)| {
                let body = json!({
                    "id": format!("ev-{}", hotline::db::new_id()),
                    "webhookId": format!("wh-{event}"),
                    "event": event,
                    "deviceId": "dev-1",
                    "payload": payload,
                })
                .to_string();
                let sig = hotline::sms::channels::android::signature(key, body.as_bytes(), &ts);
                let route = if event == "sms:received" {
                    "receive"
                } else {
                    "status"
                };
                Webhook {
                    path: format!("/channels/{}/{route}", self.channel),
                    event,
                    headers: vec![
                        ("x-signature".into(), sig),
                        ("x-timestamp".into(), ts.clone()),
                    ],
                    body,
                }
            })
            .collect()
    }
}

/// The app's answer to `POST /message`, and what the phone then does with each number.
fn answer(phone: &mut Phone, body: &str) -> (u16, String) {
    let Ok(req) = serde_json::from_str::<Value>(body) else {
        return (400, r#"{"message":"invalid JSON"}"#.into());
    };
    let text = req["textMessage"]["text"].as_str().unwrap_or_default();
    let numbers: Vec<String> = req["phoneNumbers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if text.is_empty() || numbers.is_empty() {
        return (
            400,
            r#"{"message":"text and phoneNumbers are required"}"#.into(),
        );
    }
    if !req["ttl"].is_null() && !req["validUntil"].is_null() {
        return (
            400,
            r#"{"message":"ttl and validUntil are exclusive"}"#.into(),
        );
    }
    let id = req["id"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(hotline::db::new_id);
    if phone.taken.iter().any(|t| t.id == id) {
        return (
            409,
            format!(r#"{{"message":"message with id {id} already exists"}}"#),
        );
    }
    let sim = req["simNumber"].as_u64().unwrap_or(1);
    let parts = hotline::text::sms_size(text).segments;
    for number in &numbers {
        let at = chrono::Utc::now().to_rfc3339();
        match phone.failing.get(number) {
            Some(reason) => phone.events.push((
                "sms:failed".into(),
                json!({"messageId": id, "phoneNumber": number, "simNumber": sim,
                       "failedAt": at, "reason": reason}),
            )),
            None => {
                phone.events.push((
                    "sms:sent".into(),
                    json!({"messageId": id, "phoneNumber": number, "simNumber": sim,
                           "partsCount": parts, "sentAt": at}),
                ));
                // Sent once per segment.
                for _ in 0..parts {
                    phone.events.push((
                        "sms:delivered".into(),
                        json!({"messageId": id, "phoneNumber": number, "simNumber": sim,
                               "deliveredAt": at}),
                    ));
                }
            }
        }
    }
    let recipients: Vec<Value> = numbers
        .iter()
        .map(|n| json!({"phoneNumber": n, "state": "Pending", "error": null}))
        .collect();
    phone.taken.push(Taken {
        id: id.clone(),
        text: text.to_string(),
        numbers,
        at: Instant::now(),
    });
    (
        202,
        json!({"id": id, "state": "Pending", "recipients": recipients}).to_string(),
    )
}
