//! Gateways. Each kind implements [`Channel`]: it authenticates and parses the gateway's
//! webhooks and sends outgoing messages. Everything after parsing is shared.

pub mod android;
pub mod json;
pub mod kannel;
pub mod log;
pub mod params;
pub mod twilio;

use crate::secret::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::NaiveDateTime;

use crate::text::Encoding;

/// The parts of an HTTP request a channel may need (Android signs the body, Twilio the URL).
#[derive(Debug, Clone, Default)]
pub struct WebhookRequest {
    pub method: String,
    /// The path called (`/channels/{id}/receive`), which Twilio signs.
    pub path: String,
    /// Raw query string, still percent-encoded.
    pub query: String,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WebhookRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One message from a worker, as the gateway gave it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboundSms {
    pub from: String,
    pub to: Option<String>,
    /// The text; for a binary message, its bytes in hex.
    pub text: String,
    /// The gateway's id for the message: a retry of the same message carries the same id.
    pub gateway_id: Option<String>,
    /// When the gateway says it received the message, read from `gateway_time`. The stored
    /// receive time falls back to ours when this is outside `RECEIVED_AT_WINDOW`.
    pub received_at: Option<NaiveDateTime>,
    /// The gateway's time exactly as it gave it, kept with the message.
    pub gateway_time: Option<String>,
    /// An 8-bit data message (Kannel coding 1: a ringtone, a configuration push): stored, not
    /// read and not answered.
    pub binary: bool,
}

/// How far a gateway's receive time may lie from ours and still be taken as the time the
/// worker's message arrived: a gateway queues messages while the service is down (hours, a
/// weekend), but no message comes from the future or from 1970.
pub const RECEIVED_AT_WINDOW: (chrono::Duration, chrono::Duration) =
    (chrono::Duration::days(7), chrono::Duration::minutes(5));

/// The receive time to store: the gateway's when it is plausible (at most a week before `now`,
/// at most five minutes after), else `now`.
pub fn plausible_received_at(given: Option<NaiveDateTime>, now: NaiveDateTime) -> NaiveDateTime {
    let (before, after) = RECEIVED_AT_WINDOW;
    match given {
        Some(t) if t >= now - before && t <= now + after => t,
        _ => now,
    }
}

/// What a delivery report says happened to one of our messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The carrier took it (Kannel 8).
    Accepted,
    /// The carrier holds it for later (Kannel 4) or reports progress (32).
    Pending,
    Delivered,
    /// The handset could not be reached or the carrier refused (Kannel 2, 16).
    Failed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    /// Our message id, or the id of the call that carried it to several numbers (a batch).
    pub message_id: String,
    /// The number the report is about, when the gateway says: in a batch, it tells the
    /// messages apart.
    pub recipient: Option<String>,
    pub delivery: Delivery,
    /// The gateway's own words, kept as evidence.
    pub detail: String,
    /// The carrier says the worker refused our messages (replied STOP to it).
    pub refused: bool,
}

/// A message for a channel to send.
#[derive(Debug, Clone)]
pub struct OutgoingSms {
    pub id: String,
    pub to: String,
    pub text: String,
    pub encoding: Encoding,
    pub priority: i32,
    /// Seconds the carrier may keep trying before the message is worthless.
    pub validity_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub gateway_id: Option<String>,
    pub detail: String,
}

/// One text for several numbers in one call (bulk on a gateway that takes that).
#[derive(Debug, Clone)]
pub struct OutgoingBatch {
    /// The call's id at the gateway (`messages.batch_id`), the same on every retry.
    pub id: String,
    pub text: String,
    pub encoding: Encoding,
    pub priority: i32,
    pub validity_secs: Option<u64>,
    /// Our message id and its number, one per recipient.
    pub recipients: Vec<(String, String)>,
}

/// The gateway took a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchAccepted {
    pub detail: String,
    /// What the answer already says of single recipients beyond "taken" (one refused at
    /// once), by our message id.
    pub reports: Vec<StatusReport>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// Try again later: the gateway is busy or unreachable.
    #[error("temporary: {0}")]
    Retryable(String),
    /// Our request was refused; sending it again would not help.
    #[error("refused: {0}")]
    Permanent(String),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WebhookError {
    #[error("authentication required")]
    Unauthorized,
    #[error("wrong credentials")]
    Forbidden,
    #[error("{0}")]
    BadRequest(String),
    #[error("this channel does not accept {0}")]
    NotSupported(&'static str),
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Accepted, SendError>> + Send + 'a>>;
pub type BatchFuture<'a> =
    Pin<Box<dyn Future<Output = Result<BatchAccepted, SendError>> + Send + 'a>>;

pub trait Channel: Send + Sync {
    fn config(&self) -> &ChannelConfig;
    fn authenticate(&self, req: &WebhookRequest) -> Result<(), WebhookError>;
    fn parse_inbound(&self, req: &WebhookRequest) -> Result<Vec<InboundSms>, WebhookError>;
    fn parse_status(&self, req: &WebhookRequest) -> Result<Vec<StatusReport>, WebhookError>;
    fn send<'a>(&'a self, msg: &'a OutgoingSms) -> SendFuture<'a>;

    /// Numbers one call may carry one text to; 1: the gateway takes one message per call.
    fn max_recipients(&self) -> usize {
        1
    }

    /// Sends one text to several numbers in one call; only when `max_recipients` is above 1.
    fn send_batch<'a>(&'a self, _batch: &'a OutgoingBatch) -> BatchFuture<'a> {
        Box::pin(async {
            Err(SendError::Permanent(
                "this gateway takes one recipient per call".into(),
            ))
        })
    }
}

/// The configured channels by id.
/// The channel of the console's worker simulator.
pub const SIMULATOR: &str = "simulator";

/// The simulator's own numbers, `+86 100000 NNNNN`: no mobile number starts with 100, so a
/// simulated worker is never a real one, and the simulator cannot touch a real worker's
/// contact, language, consent or cases. Real gateways may not use them either.
pub const SIMULATOR_PREFIX: &str = "+86100000";

/// A simulator number from what an inspector typed: `1` to `99999`, or the whole number.
pub fn simulator_number(typed: &str) -> Option<String> {
    let digits: String = typed.chars().filter(|c| c.is_ascii_digit()).collect();
    let n = match digits.len() {
        1..=5 => digits,
        11 if digits.starts_with("100000") => digits[6..].to_string(),
        13 if digits.starts_with("86100000") => digits[8..].to_string(),
        _ => return None,
    };
    let n: u32 = n.parse().ok().filter(|n| (1..=99_999).contains(n))?;
    Some(format!("{SIMULATOR_PREFIX}{n:05}"))
}

/// Whether `e164` is one of the simulator's numbers.
pub fn is_simulator_number(e164: &str) -> bool {
    e164.starts_with(SIMULATOR_PREFIX) && e164.len() == SIMULATOR_PREFIX.len() + 5
}

pub struct Channels {
    map: BTreeMap<String, Arc<dyn Channel>>,
    default_id: String,
}

impl Channels {
    /// The channels in force, plus the simulator's.
    /// `chans` are the configured channels (never empty: `Config::effective_channels`);
    /// `base` is the public URL gateways call back on.
    pub fn new(chans: Vec<ChannelConfig>, base: &str, http: reqwest::Client) -> Channels {
        let default_id = chans[0].id.clone();
        let mut map: BTreeMap<String, Arc<dyn Channel>> = BTreeMap::new();
        for ch in chans {
            let c: Arc<dyn Channel> = match ch.kind {
                ChannelKind::Log => Arc::new(log::LogChannel::new(ch.clone())),
                ChannelKind::Kannel => {
                    Arc::new(kannel::KannelChannel::new(ch.clone(), http.clone(), base))
                }
                ChannelKind::Json => {
                    Arc::new(json::JsonChannel::new(ch.clone(), http.clone(), base))
                }
                ChannelKind::Twilio => {
                    Arc::new(twilio::TwilioChannel::new(ch.clone(), http.clone(), base))
                }
                ChannelKind::Android => {
                    Arc::new(android::AndroidChannel::new(ch.clone(), http.clone()))
                }
            };
            map.insert(ch.id.clone(), c);
        }
        // The console's worker simulator: replies on it are logged, never sent.
        map.entry(SIMULATOR.to_string()).or_insert_with(|| {
            Arc::new(log::LogChannel::new(ChannelConfig {
                dlr_mask: 0,
                ..ChannelConfig::log(SIMULATOR, 1000)
            }))
        });
        Channels { map, default_id }
    }

    pub fn get(&self, id: &str) -> Option<&Arc<dyn Channel>> {
        self.map.get(id)
    }

    /// The channel for messages that do not answer one (bulk, notices): the first configured.
    pub fn default_id(&self) -> &str {
        &self.default_id
    }

    /// The channel for a message that answers nothing, to a worker of `county`: the one tied to
    /// that county (a county office's phone), else the default. Replies go back on the channel
    /// the worker wrote to instead.
    pub fn for_county(&self, county: Option<&str>) -> &str {
        county
            .and_then(|c| {
                self.map
                    .values()
                    .find(|ch| ch.config().counties.iter().any(|k| k == c))
            })
            .map(|ch| ch.config().id.as_str())
            .unwrap_or(&self.default_id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Channel>> {
        self.map.values()
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Log,
    Kannel,
    Json,
    Twilio,
    Android,
}

impl ChannelKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ChannelKind::Log => "log",
            ChannelKind::Kannel => "kannel",
            ChannelKind::Json => "json",
            ChannelKind::Twilio => "twilio",
            ChannelKind::Android => "android",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    pub id: String,
    pub kind: ChannelKind,
    /// Our number (short code or long number) on this channel.
    #[serde(default)]
    pub number: Option<String>,
    /// Segments per second this channel may send.
    #[serde(default = "default_tps")]
    pub tps: u32,
    /// Sends in flight at once on this channel.
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
    /// Shared secret that the gateway presents on `/receive` and `/status`.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Kannel: `http://host:13013/cgi-bin/sendsms`.
    #[serde(default)]
    pub sendsms_url: Option<String>,
    /// Kannel: sendsms-user credentials.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// Kannel: delivery reports asked for (bits: 1 delivered, 2 failed, 4 buffered, 8 SMSC
    /// accepted, 16 SMSC rejected).
    #[serde(default = "default_dlr_mask")]
    pub dlr_mask: u32,
    /// Kannel: route through this smsc-id.
    #[serde(default)]
    pub smsc: Option<String>,
    /// JSON: where outgoing messages are POSTed.
    #[serde(default)]
    pub send_url: Option<String>,
    /// JSON: the bearer token sent with them.
    #[serde(default)]
    pub send_token: Option<Secret>,
    /// Twilio: the account, and the token that signs webhooks and authenticates sends.
    #[serde(default)]
    pub account_sid: Option<String>,
    #[serde(default)]
    pub auth_token: Option<Secret>,
    /// Twilio: the API's base URL, for Twilio-compatible providers (default Twilio's).
    /// Android: the phone's local server (`http://<phone>:8080`) or the cloud API.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Android: the key the app signs its webhooks with.
    #[serde(default)]
    pub signing_key: Option<Secret>,
    /// The counties (their Chinese names, as in `counties`) whose workers this channel reaches
    /// for messages that answer nothing (job alerts, follow-ups): a county office's phone.
    #[serde(default)]
    pub counties: Vec<String>,
    /// Android: which SIM sends (1–3), and the device (cloud mode).
    #[serde(default)]
    pub sim_number: Option<u8>,
    #[serde(default)]
    pub device_id: Option<String>,
    /// Android: numbers one call to the phone may carry for bulk messages with one text
    /// (`ANDROID_MAX_RECIPIENTS` when not given; 1 sends each alone).
    #[serde(default)]
    pub max_recipients: Option<u32>,
}

impl ChannelConfig {
    /// A `log` channel: stores and logs, sends nothing, takes no webhooks.
    pub fn log(id: &str, tps: u32) -> ChannelConfig {
        ChannelConfig {
            id: id.into(),
            kind: ChannelKind::Log,
            number: None,
            tps,
            concurrency: 1,
            secret: None,
            sendsms_url: None,
            username: None,
            password: None,
            dlr_mask: default_dlr_mask(),
            smsc: None,
            send_url: None,
            send_token: None,
            account_sid: None,
            auth_token: None,
            base_url: None,
            signing_key: None,
            sim_number: None,
            device_id: None,
            counties: Vec::new(),
            max_recipients: None,
        }
    }
}

/// Numbers in one call to an Android phone when `max_recipients` is not set. We know of no
/// limit in the app for `phoneNumbers` (PROTOCOLS.md gives none); 50 keeps a call and its
/// answer small, and within a minute of the default `tps` of 1 (`outbox::batch::batch_limit`).
pub const ANDROID_MAX_RECIPIENTS: u32 = 50;

/// Not given in the configuration: the kind's own default (`ChannelKind::default_tps`).
pub const TPS_UNSET: u32 = u32::MAX;

fn default_tps() -> u32 {
    TPS_UNSET
}

impl ChannelKind {
    /// Messages (segments) a second when the configuration does not say: an Android phone
    /// sends 30 SMS a minute unless raised on the phone, and a SIM has its own limits, so 1;
    /// others 10.
    pub fn default_tps(self) -> u32 {
        match self {
            ChannelKind::Android => 1,
            _ => 10,
        }
    }
}
fn default_concurrency() -> u32 {
    2
}
fn default_dlr_mask() -> u32 {
    31
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_goes_through_the_county_phone_else_the_default() {
        let city = ChannelConfig::log("city", 10);
        let phone = ChannelConfig {
            counties: vec!["墨竹工卡县".into(), "达孜区".into()],
            ..ChannelConfig::log("mozhu-phone", 1)
        };
        let channels = Channels::new(
            vec![city, phone],
            "http://127.0.0.1:8080",
            reqwest::Client::new(),
        );
        assert_eq!(channels.for_county(Some("墨竹工卡县")), "mozhu-phone");
        assert_eq!(channels.for_county(Some("达孜区")), "mozhu-phone");
        assert_eq!(channels.for_county(Some("城关区")), "city");
        assert_eq!(channels.for_county(None), "city");
    }
}

#[cfg(test)]
mod simulator_numbers {
    use super::*;

    #[test]
    fn the_simulator_numbers_are_its_own() {
        assert_eq!(simulator_number("9").as_deref(), Some("+8610000000009"));
        assert_eq!(
            simulator_number("+86 100000 00012").as_deref(),
            Some("+8610000000012")
        );
        assert_eq!(simulator_number("13900000001"), None);
        assert_eq!(simulator_number("0"), None);
        assert!(is_simulator_number("+8610000000009"));
        assert!(!is_simulator_number("+8613900000009"));
    }
}
