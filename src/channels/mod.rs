//! Gateways. Each kind implements [`Channel`]: it authenticates and parses the gateway's
//! webhooks and sends outgoing messages. Everything after parsing is shared.

pub mod kannel;
pub mod log;
pub mod params;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::NaiveDateTime;

use crate::config::{ChannelConfig, ChannelKind, Config};
use crate::text::Encoding;

/// The parts of an HTTP request a channel may need (Android signs the body, Twilio the URL).
#[derive(Debug, Clone, Default)]
pub struct WebhookRequest {
    pub method: String,
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
#[derive(Debug, Clone, PartialEq)]
pub struct InboundSms {
    pub from: String,
    pub to: Option<String>,
    pub text: String,
    /// The gateway's id for the message: a retry of the same message carries the same id.
    pub gateway_id: Option<String>,
    pub received_at: Option<NaiveDateTime>,
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
    /// Our message id.
    pub message_id: String,
    pub delivery: Delivery,
    /// The gateway's own words, kept as evidence.
    pub detail: String,
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

pub trait Channel: Send + Sync {
    fn config(&self) -> &ChannelConfig;
    fn authenticate(&self, req: &WebhookRequest) -> Result<(), WebhookError>;
    fn parse_inbound(&self, req: &WebhookRequest) -> Result<Vec<InboundSms>, WebhookError>;
    fn parse_status(&self, req: &WebhookRequest) -> Result<Vec<StatusReport>, WebhookError>;
    fn send<'a>(&'a self, msg: &'a OutgoingSms) -> SendFuture<'a>;
}

/// The configured channels by id.
/// The channel of the console's worker simulator.
pub const SIMULATOR: &str = "simulator";

pub struct Channels {
    map: BTreeMap<String, Arc<dyn Channel>>,
    default_id: String,
}

impl Channels {
    /// The channels in force, plus the simulator's.
    pub fn from_config(config: &Config, http: reqwest::Client) -> Channels {
        let base = config.public_base_url();
        let mut map: BTreeMap<String, Arc<dyn Channel>> = BTreeMap::new();
        let chans = config.effective_channels();
        let default_id = chans[0].id.clone();
        for ch in chans {
            let c: Arc<dyn Channel> = match ch.kind {
                ChannelKind::Log => Arc::new(log::LogChannel::new(ch.clone())),
                ChannelKind::Kannel => {
                    Arc::new(kannel::KannelChannel::new(ch.clone(), http.clone(), &base))
                }
            };
            map.insert(ch.id.clone(), c);
        }
        // The console's worker simulator: replies on it are logged, never sent.
        map.entry(SIMULATOR.to_string()).or_insert_with(|| {
            Arc::new(log::LogChannel::new(crate::config::ChannelConfig {
                id: SIMULATOR.into(),
                kind: ChannelKind::Log,
                number: None,
                tps: 1000,
                concurrency: 1,
                secret: None,
                sendsms_url: None,
                username: None,
                password: None,
                dlr_mask: 0,
                smsc: None,
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

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Channel>> {
        self.map.values()
    }
}
