//! The `log` channel: sends nowhere, logs what it would send. It lets the service run, and
//! be tried, with no gateway installed.

use super::ChannelConfig;
use super::{
    Accepted, Channel, InboundSms, OutgoingSms, SendFuture, StatusReport, WebhookError,
    WebhookRequest,
};

pub struct LogChannel {
    config: ChannelConfig,
}

impl LogChannel {
    pub fn new(config: ChannelConfig) -> Self {
        LogChannel { config }
    }
}

impl Channel for LogChannel {
    fn config(&self) -> &ChannelConfig {
        &self.config
    }

    /// With a `secret` configured, the log channel takes incoming messages in Kannel's format,
    /// so the service can be tried with curl and no gateway at all.
    fn authenticate(&self, req: &WebhookRequest) -> Result<(), WebhookError> {
        match &self.config.secret {
            Some(secret) => super::kannel::check_secret(Some(secret), req),
            None => Err(WebhookError::NotSupported("webhooks without a secret")),
        }
    }

    fn parse_inbound(&self, req: &WebhookRequest) -> Result<Vec<InboundSms>, WebhookError> {
        super::kannel::parse_mo(req)
    }

    fn parse_status(&self, _req: &WebhookRequest) -> Result<Vec<StatusReport>, WebhookError> {
        Err(WebhookError::NotSupported("delivery reports"))
    }

    fn send<'a>(&'a self, msg: &'a OutgoingSms) -> SendFuture<'a> {
        Box::pin(async move {
            tracing::info!(
                channel = %self.config.id,
                msg_id = %msg.id,
                to = %crate::text::phone::mask_phone(&msg.to),
                encoding = msg.encoding.as_str(),
                text = %msg.text,
                "log channel: message not handed to any gateway"
            );
            Ok(Accepted {
                gateway_id: None,
                detail: "logged".into(),
            })
        })
    }
}
