//! Kannel: smsbox calls `/channels/{id}/receive` (get-url or post-url) and
//! `/channels/{id}/status` (the dlr-url we hand it); we send through its `sendsms` interface.

use std::time::Duration;

use base64::Engine;
use chrono::DateTime;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::params;
use super::ChannelConfig;
use super::{
    Accepted, Channel, Delivery, InboundSms, OutgoingSms, SendError, SendFuture, StatusReport,
    WebhookError, WebhookRequest,
};
use crate::secret::Secret;
use crate::text::Encoding;

/// Leaves unreserved characters as they are and encodes the rest, spaces as %20.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub struct KannelChannel {
    config: ChannelConfig,
    http: reqwest::Client,
    /// `{public_url}/channels/{id}/status`
    dlr_base: String,
}

impl KannelChannel {
    pub fn new(config: ChannelConfig, http: reqwest::Client, public_base_url: &str) -> Self {
        let dlr_base = format!("{public_base_url}/channels/{}/status", config.id);
        KannelChannel {
            config,
            http,
            dlr_base,
        }
    }

    /// The dlr-url for one message. Kannel fills in `%d` (status), `%A` (the SMSC's answer) and
    /// `%T` (time), so those stay literal here.
    pub fn dlr_url(&self, message_id: &str) -> String {
        let secret = self
            .config
            .secret
            .as_ref()
            .map(|s| s.expose())
            .unwrap_or("");
        format!(
            "{}?secret={}&msg={}&status=%d&answer=%A&ts=%T",
            self.dlr_base,
            utf8_percent_encode(secret, QUERY),
            utf8_percent_encode(message_id, QUERY)
        )
    }

    /// The full sendsms URL (it carries the password: never log it).
    pub fn sendsms_url(&self, msg: &OutgoingSms) -> String {
        let c = &self.config;
        let mut q: Vec<(&str, String)> = vec![
            ("username", c.username.clone().unwrap_or_default()),
            (
                "password",
                c.password
                    .as_ref()
                    .map(|p| p.expose().to_string())
                    .unwrap_or_default(),
            ),
            ("to", msg.to.clone()),
            ("text", msg.text.clone()),
            ("charset", "UTF-8".into()),
            (
                "coding",
                if msg.encoding == Encoding::Ucs2 {
                    "2"
                } else {
                    "0"
                }
                .into(),
            ),
            // Kannel's priority runs 0 (lowest) to 3; our replies (0) become 3.
            ("priority", (3 - msg.priority.clamp(0, 3)).to_string()),
        ];
        if let Some(n) = &c.number {
            q.push(("from", n.clone()));
        }
        if let Some(s) = &c.smsc {
            q.push(("smsc", s.clone()));
        }
        if c.dlr_mask > 0 {
            q.push(("dlr-mask", c.dlr_mask.to_string()));
            q.push(("dlr-url", self.dlr_url(&msg.id)));
        }
        if let Some(v) = msg.validity_secs {
            q.push(("validity", v.div_ceil(60).max(1).to_string()));
        }
        let query: Vec<String> = q
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY)))
            .collect();
        let sep = if c.sendsms_url.as_deref().unwrap_or("").contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{sep}{}",
            c.sendsms_url.as_deref().unwrap_or(""),
            query.join("&")
        )
    }
}

/// Decodes Kannel's `%b` by its coding (`%c`) and charset (`%C`).
pub fn decode_text(
    raw: &[u8],
    coding: Option<&str>,
    charset: Option<&str>,
) -> Result<String, String> {
    let charset = charset.unwrap_or("").trim().to_ascii_uppercase();
    let coding = coding.unwrap_or("").trim();
    let utf16 = matches!(
        charset.as_str(),
        "UTF-16BE" | "UTF-16" | "UCS-2" | "UCS-2BE" | "ISO-10646-UCS-2"
    ) || (coding == "2" && charset.is_empty());
    if utf16 {
        if raw.len() % 2 != 0 {
            return Err("UCS-2 text has an odd number of bytes".into());
        }
        let units: Vec<u16> = raw
            .chunks(2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]))
            .collect();
        return String::from_utf16(&units).map_err(|_| "text is not valid UTF-16".into());
    }
    match charset.as_str() {
        "" | "UTF-8" | "UTF8" => match std::str::from_utf8(raw) {
            Ok(s) => Ok(s.to_string()),
            // No charset and not UTF-8: Kannel's 8-bit texts are Latin-1.
            Err(_) if charset.is_empty() => Ok(raw.iter().map(|b| *b as char).collect()),
            Err(_) => Err("text is not valid UTF-8".into()),
        },
        "ISO-8859-1" | "LATIN1" | "WINDOWS-1252" | "CP1252" => {
            Ok(raw.iter().map(|b| *b as char).collect())
        }
        other => Err(format!("unsupported charset {other}")),
    }
}

/// Parameters from the query string, and from a form body on POST.
fn webhook_params(req: &WebhookRequest) -> Vec<(String, Vec<u8>)> {
    let mut pairs = params::parse(req.query.as_bytes());
    let form = req
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if req.method == "POST" && form {
        pairs.extend(params::parse(&req.body));
    }
    pairs
}

/// Checks the shared secret, given as `secret=` in the URL (what a get-url can carry) or as
/// the password of HTTP Basic authentication.
pub fn check_secret(expected: Option<&Secret>, req: &WebhookRequest) -> Result<(), WebhookError> {
    let Some(expected) = expected else {
        return Err(WebhookError::Forbidden);
    };
    let pairs = params::parse(req.query.as_bytes());
    let given =
        params::get_str(&pairs, "secret").or_else(|| basic_password(req.header("authorization")?));
    match given {
        None => Err(WebhookError::Unauthorized),
        Some(g) if expected.matches(&g) => Ok(()),
        Some(_) => Err(WebhookError::Forbidden),
    }
}

/// Reads an incoming message in Kannel's get-url / post-url form.
pub fn parse_mo(req: &WebhookRequest) -> Result<Vec<InboundSms>, WebhookError> {
    let p = webhook_params(req);
    let bad = |m: &str| WebhookError::BadRequest(m.to_string());
    let from = params::get_str(&p, "from")
        .or_else(|| req.header("x-kannel-from").map(str::to_string))
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| bad("missing from (Kannel %p)"))?;
    let to = params::get_str(&p, "to").or_else(|| req.header("x-kannel-to").map(str::to_string));
    let coding =
        params::get_str(&p, "coding").or_else(|| req.header("x-kannel-coding").map(str::to_string));
    let charset = params::get_str(&p, "charset").or_else(|| {
        req.header("content-type")
            .and_then(|ct| ct.split("charset=").nth(1))
            .map(|c| c.trim_matches('"').to_string())
    });
    // get-url carries the text as `text=%b`; post-url as the body.
    let raw: Vec<u8> = match params::get(&p, "text") {
        Some(t) => t.to_vec(),
        None if req.method == "POST" && req.header("x-kannel-from").is_some() => req.body.clone(),
        None => return Err(bad("missing text (Kannel %b)")),
    };
    // Coding 1 is 8-bit data, not text: kept as hex, never read as words.
    let binary = coding.as_deref().map(str::trim) == Some("1");
    let text = if binary {
        raw.iter().map(|b| format!("{b:02x}")).collect()
    } else {
        decode_text(&raw, coding.as_deref(), charset.as_deref())
            .map_err(WebhookError::BadRequest)?
    };
    let gateway_id = params::get_str(&p, "id")
        .or_else(|| req.header("x-kannel-id").map(str::to_string))
        .filter(|s| !s.is_empty());
    let gateway_time = params::get_str(&p, "ts").filter(|t| !t.trim().is_empty());
    let received_at = gateway_time
        .as_deref()
        .and_then(|t| t.trim().parse::<i64>().ok())
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .map(|d| d.naive_utc());
    Ok(vec![InboundSms {
        from,
        to,
        text,
        gateway_id,
        received_at,
        gateway_time,
        binary,
    }])
}

impl Channel for KannelChannel {
    fn config(&self) -> &ChannelConfig {
        &self.config
    }

    fn authenticate(&self, req: &WebhookRequest) -> Result<(), WebhookError> {
        check_secret(self.config.secret.as_ref(), req)
    }

    fn parse_inbound(&self, req: &WebhookRequest) -> Result<Vec<InboundSms>, WebhookError> {
        parse_mo(req)
    }

    fn parse_status(&self, req: &WebhookRequest) -> Result<Vec<StatusReport>, WebhookError> {
        let p = webhook_params(req);
        let message_id = params::get_str(&p, "msg")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| WebhookError::BadRequest("missing msg".into()))?;
        let code: u32 = params::get_str(&p, "status")
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| {
                WebhookError::BadRequest("missing or non-numeric status (Kannel %d)".into())
            })?;
        let delivery = match code {
            1 => Delivery::Delivered,
            2 | 16 => Delivery::Failed,
            8 => Delivery::Accepted,
            4 | 32 => Delivery::Pending,
            other => {
                return Err(WebhookError::BadRequest(format!(
                    "unknown delivery status {other}"
                )))
            }
        };
        let answer = params::get_str(&p, "answer").unwrap_or_default();
        Ok(vec![StatusReport {
            refused: false,
            message_id,
            recipient: None,
            delivery,
            detail: format!("kannel dlr {code}: {answer}"),
        }])
    }

    fn send<'a>(&'a self, msg: &'a OutgoingSms) -> SendFuture<'a> {
        Box::pin(async move {
            let url = self.sendsms_url(msg);
            let resp = self
                .http
                .get(&url)
                .timeout(Duration::from_secs(15))
                .send()
                .await
                // The URL holds the password: errors are reported without it.
                .map_err(|e| SendError::Retryable(e.without_url().to_string()))?;
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            let body = body.trim().chars().take(200).collect::<String>();
            match status.as_u16() {
                200..=299 => Ok(Accepted {
                    gateway_id: None,
                    detail: format!("{} {body}", status.as_u16()),
                }),
                400..=499 => Err(SendError::Permanent(format!("{} {body}", status.as_u16()))),
                _ => Err(SendError::Retryable(format!("{} {body}", status.as_u16()))),
            }
        })
    }
}

fn basic_password(header: &str) -> Option<String> {
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':').map(|(_, p)| p.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::sms::channels::ChannelKind;

    fn channel() -> KannelChannel {
        let cfg = ChannelConfig {
            kind: ChannelKind::Kannel,
            number: Some("12333".into()),
            tps: 10,
            secret: Some(Secret::new("s3cret-s3cret-s3cret")),
            sendsms_url: Some("http://127.0.0.1:13013/cgi-bin/sendsms".into()),
            username: Some("hotline".into()),
            password: Some(Secret::new("pw")),
            ..ChannelConfig::log("kannel", 10)
        };
        KannelChannel::new(cfg, reqwest::Client::new(), "http://127.0.0.1:8080")
    }

    fn get(query: &str) -> WebhookRequest {
        WebhookRequest {
            method: "GET".into(),
            query: query.into(),
            ..Default::default()
        }
    }

    #[test]
    fn decodes_utf16_utf8_and_latin1() {
        // རོ as UTF-16BE
        assert_eq!(
            decode_text(&[0x0f, 0x62, 0x0f, 0x7c], Some("2"), None).unwrap(),
            "རོ"
        );
        assert_eq!(
            decode_text(&[0x0f, 0x62, 0x0f, 0x7c], Some("2"), Some("UTF-16BE")).unwrap(),
            "རོ"
        );
        assert_eq!(
            decode_text("你好".as_bytes(), Some("0"), Some("UTF-8")).unwrap(),
            "你好"
        );
        assert_eq!(
            decode_text("你好".as_bytes(), Some("2"), Some("utf-8")).unwrap(),
            "你好"
        );
        assert_eq!(
            decode_text(&[0x63, 0x61, 0x66, 0xe9], Some("1"), Some("ISO-8859-1")).unwrap(),
            "café"
        );
        assert!(decode_text(&[0x0f], Some("2"), None).is_err());
        assert!(decode_text(&[0xff, 0xfe], None, Some("UTF-8")).is_err());
        assert!(decode_text(b"x", None, Some("KOI8-R")).is_err());
    }

    #[test]
    fn inbound_from_get_url() {
        let c = channel();
        let q = "secret=s3cret-s3cret-s3cret&from=%2B8613900000001&to=12333&text=%E0%BD%A2%E0%BD%BC%E0%BD%82%E0%BD%A6%E0%BC%8B%E0%BD%A2%E0%BD%98&id=abc-1&coding=0&charset=UTF-8&ts=1764201600";
        let req = get(q);
        c.authenticate(&req).unwrap();
        let m = &c.parse_inbound(&req).unwrap()[0];
        assert_eq!(m.from, "+8613900000001");
        assert_eq!(m.text, "རོགས་རམ");
        assert_eq!(m.gateway_id.as_deref(), Some("abc-1"));
        assert_eq!(m.received_at.unwrap().to_string(), "2025-11-27 00:00:00");
    }

    #[test]
    fn inbound_ucs2_without_recode() {
        let req = get("from=86139&text=%4E%2D%65%87&coding=2");
        assert_eq!(channel().parse_inbound(&req).unwrap()[0].text, "中文");
    }

    #[test]
    fn authentication() {
        let c = channel();
        assert_eq!(
            c.authenticate(&get("from=1")),
            Err(WebhookError::Unauthorized)
        );
        assert_eq!(
            c.authenticate(&get("secret=nope")),
            Err(WebhookError::Forbidden)
        );
        let mut req = get("");
        // hotline:s3cret-s3cret-s3cret
        req.headers.push((
            "authorization".into(),
            "Basic aG90bGluZTpzM2NyZXQtczNjcmV0LXMzY3JldA==".into(),
        ));
        assert_eq!(c.authenticate(&req), Ok(()));
    }

    #[test]
    fn malformed_inbound_is_explained() {
        let c = channel();
        assert!(
            matches!(c.parse_inbound(&get("text=hi")), Err(WebhookError::BadRequest(m)) if m.contains("from"))
        );
        assert!(
            matches!(c.parse_inbound(&get("from=1")), Err(WebhookError::BadRequest(m)) if m.contains("text"))
        );
    }

    #[test]
    fn delivery_reports() {
        let c = channel();
        let r = c
            .parse_status(&get("msg=m1&status=1&answer=ACK%2F&ts=1"))
            .unwrap();
        assert_eq!(r[0].delivery, Delivery::Delivered);
        assert_eq!(r[0].message_id, "m1");
        assert_eq!(
            c.parse_status(&get("msg=m1&status=16")).unwrap()[0].delivery,
            Delivery::Failed
        );
        assert_eq!(
            c.parse_status(&get("msg=m1&status=8")).unwrap()[0].delivery,
            Delivery::Accepted
        );
        assert!(c.parse_status(&get("msg=m1&status=%d")).is_err());
        assert!(c.parse_status(&get("status=1")).is_err());
    }

    #[test]
    fn sendsms_url_carries_utf8_ucs2_and_our_id() {
        let c = channel();
        let msg = OutgoingSms {
            id: "m-1".into(),
            to: "+8613900000001".into(),
            text: "你好 ok".into(),
            encoding: Encoding::Ucs2,
            priority: 0,
            validity_secs: Some(3600),
        };
        let url = c.sendsms_url(&msg);
        assert!(
            url.starts_with("http://127.0.0.1:13013/cgi-bin/sendsms?username=hotline&password=pw&"),
            "{url}"
        );
        assert!(url.contains("&to=%2B8613900000001&"), "{url}");
        assert!(url.contains("&text=%E4%BD%A0%E5%A5%BD%20ok&"), "{url}");
        assert!(
            url.contains("&coding=2&") && url.contains("&priority=3"),
            "{url}"
        );
        assert!(url.contains("&validity=60"), "{url}");
        // the dlr-url is encoded once, so Kannel sees %d literally after decoding it
        let pairs = params::parse(url.split_once('?').unwrap().1.as_bytes());
        let dlr = params::get_str(&pairs, "dlr-url").unwrap();
        assert_eq!(
            dlr,
            "http://127.0.0.1:8080/channels/kannel/status?secret=s3cret-s3cret-s3cret&msg=m-1&status=%d&answer=%A&ts=%T"
        );
    }
}
