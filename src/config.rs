//! Typed configuration: `hotline.toml` (or `HOTLINE_CONFIG`) overlaid with `HOTLINE_*`
//! environment variables, validated once at start. No globals: the value is passed around,
//! so tests can vary it freely.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::alerts::AlertsConfig;
use crate::cases::referrals::ReferralConfig;
use crate::cases::rules::CaseRules;
use crate::conversations::complaint::{default_counties, County};
use crate::conversations::DialogConfig;
use crate::mail::SmtpConfig;
use crate::secret::Secret;
use crate::sms::channels::{ChannelConfig, ChannelKind};
use crate::sms::outbox::OutboxConfig;
use crate::web::console::ConsoleConfig;
use crate::work::JobsConfig;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: String,
    /// `sqlite://path`, a bare path, or `postgres://…`.
    pub database_url: String,
    /// Connections in the pool.
    pub database_pool_size: u32,
    /// Base URL at which gateways reach this service (used in delivery-report callbacks).
    /// Defaults to `http://{listen}`.
    pub public_url: Option<String>,
    /// Country code assumed for national numbers.
    pub default_country_code: String,
    /// Bureau's time zone, for display and scheduling.
    pub timezone: String,
    /// Sender name put in 【】 before bulk messages.
    pub sender_name: String,
    /// The same name in Tibetan, at the start of Tibetan replies (native review: README).
    pub sender_name_bo: String,
    /// A folder whose files replace the compiled-in templates of the same path: `{bo,zh}/*.hbs`
    /// (SMS), `email/*.hbs`, `console/*.hbs` and `console/zh.toml`.
    pub templates_dir: Option<PathBuf>,
    /// `text` (human) or `json` log lines.
    pub log_format: LogFormat,
    /// Log filter, e.g. `info` or `hotline=debug,info`.
    pub log: String,
    /// If set, `/metrics` requires `Authorization: Bearer <metrics_token>`.
    pub metrics_token: Option<Secret>,
    pub outbox: OutboxConfig,
    pub channels: Vec<ChannelConfig>,
    /// The counties a worker picks from, in this order (numbered from 1).
    pub counties: Vec<County>,
    /// Regional calendar layer for working days (`xizang`), or none for the national one.
    pub region: Option<String>,
    /// A folder with `national/YYYY.toml` and `regions/REGION/YYYY.toml` that adds years to
    /// (or replaces years of) the built-in working-day calendar.
    pub calendar_dir: Option<PathBuf>,
    pub cases: CaseRules,
    pub dialog: DialogConfig,
    pub console: ConsoleConfig,
    pub smtp: SmtpConfig,
    pub jobs: JobsConfig,
    pub referrals: ReferralConfig,
    pub alerts: AlertsConfig,
    pub followups: crate::followups::FollowupsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://hotline.db".into(),
            database_pool_size: 8,
            public_url: None,
            default_country_code: "86".into(),
            timezone: "Asia/Shanghai".into(),
            sender_name: "劳动保障热线".into(),
            sender_name_bo: "ལས་མིའི་ཁེ་དབང་ཁ་པར".into(),
            templates_dir: None,
            log_format: LogFormat::Text,
            log: "info".into(),
            metrics_token: None,
            outbox: OutboxConfig::default(),
            channels: Vec::new(),
            counties: default_counties(),
            region: Some("xizang".into()),
            calendar_dir: None,
            cases: CaseRules::default(),
            dialog: DialogConfig::default(),
            console: ConsoleConfig::default(),
            smtp: SmtpConfig::default(),
            jobs: JobsConfig::default(),
            referrals: ReferralConfig::default(),
            alerts: AlertsConfig::default(),
            followups: crate::followups::FollowupsConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A configuration problem, already phrased as the one line an operator needs.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

fn err(key: &str, msg: impl fmt::Display) -> ConfigError {
    ConfigError(format!("{key}: {msg}"))
}

impl Config {
    /// Loads from `path`, else `HOTLINE_CONFIG`, else `hotline.toml` when it exists, then applies the
    /// process environment, then validates.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        let explicit = path.map(Path::to_path_buf).or_else(|| {
            vars.iter()
                .find(|(k, _)| k == "HOTLINE_CONFIG")
                .map(|(_, v)| PathBuf::from(v))
        });
        let path = explicit
            .clone()
            .unwrap_or_else(|| PathBuf::from("hotline.toml"));
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if explicit.is_none() && e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(err(
                    "HOTLINE_CONFIG",
                    format!("cannot read {}: {e}", path.display()),
                ))
            }
        };
        Self::from_sources(text.as_deref(), Some(&path), vars)
    }

    /// Builds a config from a TOML text and `HOTLINE_*` variables (the latter win).
    pub fn from_sources(
        toml_text: Option<&str>,
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table = match toml_text {
            Some(t) => t.parse::<toml::Table>().map_err(|e| {
                let name = path.map(|p| p.display().to_string()).unwrap_or_default();
                ConfigError(format!("{name}: {}", e.message().trim()))
            })?,
            None => toml::Table::new(),
        };
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("HOTLINE_") else {
                continue;
            };
            if rest == "CONFIG" || rest.is_empty() {
                continue;
            }
            let keys: Vec<String> = rest.split("__").map(|k| k.to_ascii_lowercase()).collect();
            overlay(&mut table, &keys, env_value(&value)).map_err(|m| err(&name, m))?;
        }
        let mut config: Config = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let key = e.path().to_string();
                err(&key, e.into_inner().to_string())
            })?;
        // `region = ""` (or HOTLINE_REGION=) means the national calendar alone.
        if config
            .region
            .as_deref()
            .is_some_and(|r| r.trim().is_empty())
        {
            config.region = None;
        }
        for ch in &mut config.channels {
            if ch.tps == crate::sms::channels::TPS_UNSET {
                ch.tps = ch.kind.default_tps();
            }
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.listen.parse::<std::net::SocketAddr>().map_err(|_| {
            err(
                "listen",
                format!("{:?} is not an address like 127.0.0.1:8080", self.listen),
            )
        })?;
        crate::db::DbUrl::parse(&self.database_url).map_err(|m| err("database_url", m))?;
        if self.database_pool_size == 0 {
            return Err(err("database_pool_size", "must be at least 1"));
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(err("public_url", "must start with http:// or https://"));
            }
        }
        if self.default_country_code.is_empty()
            || !self
                .default_country_code
                .bytes()
                .all(|b| b.is_ascii_digit())
        {
            return Err(err("default_country_code", "must be digits, like 86"));
        }
        if utc_offset_hours(&self.timezone).is_none() {
            // Only fixed zones are supported: China has one zone and no daylight saving.
            return Err(err(
                "timezone",
                "use Asia/Shanghai, UTC or UTC+H (H a whole number of hours, 0 to 14)",
            ));
        }
        let o = &self.outbox;
        if o.max_attempts == 0 {
            return Err(err("outbox.max_attempts", "must be at least 1"));
        }
        if o.lease_secs < 5 {
            return Err(err("outbox.lease_secs", "must be at least 5"));
        }
        if o.send_timeout_secs == 0 || o.send_timeout_secs >= o.lease_secs {
            return Err(err(
                "outbox.send_timeout_secs",
                "must be above 0 and below outbox.lease_secs",
            ));
        }
        if o.poll_interval_ms == 0 {
            return Err(err("outbox.poll_interval_ms", "must be above 0"));
        }
        if self.console.session_idle_hours == 0 || self.console.session_max_hours == 0 {
            return Err(err("console.session_idle_hours", "must be at least 1"));
        }
        if self.console.login_attempts_per_account == 0 {
            return Err(err(
                "console.login_attempts_per_account",
                "must be at least 1",
            ));
        }
        if self.console.login_attempts_per_address == 0 {
            return Err(err(
                "console.login_attempts_per_address",
                "must be at least 1",
            ));
        }
        if let Some(k) = &self.console.secret_key {
            if k.expose().len() < 32 {
                return Err(err("console.secret_key", "use at least 32 characters"));
            }
        }
        if self
            .smtp
            .host
            .as_deref()
            .is_some_and(|h| h.trim().is_empty())
        {
            return Err(err(
                "smtp.host",
                "must not be empty (leave it out to send no email)",
            ));
        }
        if self.smtp.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(err(
                "smtp.from",
                format!(
                    "{:?} is not an address like 监察大队 <jiancha@example.gov.cn>",
                    self.smtp.from
                ),
            ));
        }
        if self.smtp.username.is_some() != self.smtp.password.is_some() {
            return Err(err(
                "smtp.password",
                "give both smtp.username and smtp.password, or neither",
            ));
        }
        if self.jobs.max_attempts == 0 {
            return Err(err("jobs.max_attempts", "must be at least 1"));
        }
        if self.jobs.lease_secs <= self.smtp.timeout_secs {
            return Err(err("jobs.lease_secs", "must be above smtp.timeout_secs"));
        }
        if self.jobs.poll_interval_ms == 0 {
            return Err(err("jobs.poll_interval_ms", "must be above 0"));
        }
        if self.referrals.remind_after_working_days == 0 {
            return Err(err(
                "referrals.remind_after_working_days",
                "must be at least 1",
            ));
        }
        if self.referrals.link_valid_days == 0 {
            return Err(err("referrals.link_valid_days", "must be at least 1"));
        }
        self.alerts.validate().map_err(|(k, m)| err(k, m))?;
        self.followups.validate().map_err(|(k, m)| err(k, m))?;
        if self.counties.is_empty() || self.counties.len() > 30 {
            return Err(err("counties", "list between 1 and 30 counties"));
        }
        let mut ids = BTreeSet::new();
        for (i, ch) in self.channels.iter().enumerate() {
            let key = |k: &str| format!("channels[{i}].{k}");
            if ch.id.is_empty()
                || !ch
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(err(&key("id"), "use letters, digits, - and _ only"));
            }
            if ch.id == crate::sms::channels::SIMULATOR {
                return Err(err(
                    &key("id"),
                    "\"simulator\" is the console's own channel",
                ));
            }
            if !ids.insert(ch.id.clone()) {
                return Err(err(&key("id"), format!("{:?} is used twice", ch.id)));
            }
            for county in &ch.counties {
                if !self.counties.iter().any(|c| &c.zh == county) {
                    let known: Vec<&str> = self.counties.iter().map(|c| c.zh.as_str()).collect();
                    return Err(err(
                        &key("counties"),
                        format!(
                            "{county:?} is not one of the counties: {}",
                            known.join(", ")
                        ),
                    ));
                }
            }
            if ch.tps == 0 {
                return Err(err(&key("tps"), "must be at least 1"));
            }
            if ch.concurrency == 0 {
                return Err(err(&key("concurrency"), "must be at least 1"));
            }
            // Kannel expands %-escapes inside get-url and dlr-url, so a secret must not need any.
            if let Some(secret) = &ch.secret {
                let s = secret.expose();
                if s.len() < 16
                    || !s
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return Err(err(&key("secret"), "use at least 16 of A-Z a-z 0-9 - _"));
                }
            }
            match ch.max_recipients {
                Some(0) => return Err(err(&key("max_recipients"), "must be at least 1")),
                Some(_) if ch.kind != ChannelKind::Android => {
                    return Err(err(
                        &key("max_recipients"),
                        "only kind = \"android\" sends one text to several numbers in one call",
                    ))
                }
                _ => {}
            }
            if ch.kind == ChannelKind::Android {
                let url = ch
                    .base_url
                    .as_deref()
                    .ok_or_else(|| err(&key("base_url"), "required for kind = \"android\": the phone's http://<address>:8080 or the cloud API"))?;
                if !url.starts_with("http://") && !url.starts_with("https://") {
                    return Err(err(&key("base_url"), "must start with http:// or https://"));
                }
                if ch.username.as_deref().unwrap_or("").is_empty() || ch.password.is_none() {
                    return Err(err(
                        &key("password"),
                        "give username and password for kind = \"android\" (the app's Basic auth)",
                    ));
                }
                if ch
                    .signing_key
                    .as_ref()
                    .is_none_or(|k| k.expose().len() < 16)
                {
                    return Err(err(
                        &key("signing_key"),
                        "required for kind = \"android\": 16 or more characters, as set in the app",
                    ));
                }
                if ch.sim_number.is_some_and(|n| !(1..=3).contains(&n)) {
                    return Err(err(&key("sim_number"), "must be 1, 2 or 3"));
                }
            }
            if ch.kind == ChannelKind::Twilio {
                if ch.account_sid.as_deref().unwrap_or("").is_empty() {
                    return Err(err(&key("account_sid"), "required for kind = \"twilio\""));
                }
                if ch.auth_token.as_ref().is_none_or(|t| t.expose().is_empty()) {
                    return Err(err(&key("auth_token"), "required for kind = \"twilio\""));
                }
                if ch.number.as_deref().unwrap_or("").is_empty() {
                    return Err(err(
                        &key("number"),
                        "required for kind = \"twilio\": the From of every SMS",
                    ));
                }
                if let Some(url) = &ch.base_url {
                    if !url.starts_with("http://") && !url.starts_with("https://") {
                        return Err(err(&key("base_url"), "must start with http:// or https://"));
                    }
                }
            }
            if ch.kind == ChannelKind::Json {
                let url = ch
                    .send_url
                    .as_deref()
                    .ok_or_else(|| err(&key("send_url"), "required for kind = \"json\""))?;
                if !url.starts_with("http://") && !url.starts_with("https://") {
                    return Err(err(&key("send_url"), "must start with http:// or https://"));
                }
                if ch.secret.is_none() {
                    return Err(err(&key("secret"), "required for kind = \"json\""));
                }
            }
            if ch.kind == ChannelKind::Kannel {
                let url = ch
                    .sendsms_url
                    .as_deref()
                    .ok_or_else(|| err(&key("sendsms_url"), "required for kind = \"kannel\""))?;
                if !url.starts_with("http://") && !url.starts_with("https://") {
                    return Err(err(
                        &key("sendsms_url"),
                        "must start with http:// or https://",
                    ));
                }
                if ch.username.as_deref().unwrap_or("").is_empty() {
                    return Err(err(&key("username"), "required for kind = \"kannel\""));
                }
                if ch.password.as_ref().is_none_or(|p| p.expose().is_empty()) {
                    return Err(err(&key("password"), "required for kind = \"kannel\""));
                }
                if ch.secret.is_none() {
                    return Err(err(&key("secret"), "required for kind = \"kannel\""));
                }
                if ch.dlr_mask > 63 {
                    return Err(err(&key("dlr_mask"), "must be between 0 and 63"));
                }
            }
        }
        Ok(())
    }

    /// The channels in force: the configured ones, or a single `log` channel.
    pub fn effective_channels(&self) -> Vec<ChannelConfig> {
        if !self.channels.is_empty() {
            return self.channels.clone();
        }
        vec![ChannelConfig::log("log", 100)]
    }

    pub fn public_base_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }

    /// Today's date in the bureau's zone.
    pub fn today(&self) -> chrono::NaiveDate {
        self.local(chrono::Utc::now().naive_utc()).date()
    }

    /// A stored (UTC) timestamp in the bureau's zone, for showing it.
    pub fn local(&self, utc: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
        utc + chrono::Duration::seconds(self.utc_offset_secs() as i64)
    }

    /// As `local`, written the way the console and emails show a moment: `2026-11-27 18:05`.
    pub fn local_minute(&self, utc: chrono::NaiveDateTime) -> String {
        self.local(utc).format("%Y-%m-%d %H:%M").to_string()
    }

    /// What the labour-force register's values are checked against: the counties, the
    /// trades, the default country code and this year.
    pub fn register_rules(&self) -> crate::alerts::register::Rules {
        use chrono::Datelike;
        crate::alerts::register::Rules {
            counties: self.counties.iter().map(|c| c.zh.clone()).collect(),
            trades: self.alerts.trades.clone(),
            country_code: self.default_country_code.clone(),
            this_year: self.today().year(),
        }
    }

    /// When bulk messages (alerts) may go out.
    pub fn bulk_window(&self) -> crate::sms::outbox::Window {
        let (start, end) = self.alerts.window();
        crate::sms::outbox::Window {
            start,
            end,
            utc_offset_secs: self.utc_offset_secs(),
        }
    }

    /// Offset of the bureau's zone from UTC, in seconds.
    pub fn utc_offset_secs(&self) -> i32 {
        utc_offset_hours(&self.timezone).unwrap_or(0) * 3600
    }
}

/// The hours a `timezone` setting is ahead of UTC: `Asia/Shanghai` 8, `UTC` 0, `UTC+H` H (no
/// zone is more than 14 hours ahead); None for anything else. `UTC+9999999` was once taken,
/// and overflowed when turned into seconds (found by the `config` fuzz target).
fn utc_offset_hours(timezone: &str) -> Option<i32> {
    match timezone {
        "Asia/Shanghai" => Some(8),
        "UTC" => Some(0),
        other => {
            let h = other.strip_prefix("UTC+")?;
            let h: i32 = h
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| h.parse().ok())??;
            (0..=14).contains(&h).then_some(h)
        }
    }
}

/// An environment value is read as a TOML value when it parses as one (numbers, booleans),
/// and as a string otherwise, so `HOTLINE_LISTEN=0.0.0.0:8080` needs no quotes.
fn env_value(raw: &str) -> toml::Value {
    match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => match t.remove("v") {
            Some(
                v @ (toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_)),
            ) => v,
            _ => toml::Value::String(raw.to_string()),
        },
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

fn overlay(table: &mut toml::Table, keys: &[String], value: toml::Value) -> Result<(), String> {
    let (first, rest) = keys.split_first().ok_or("empty key")?;
    if rest.is_empty() {
        table.insert(first.clone(), value);
        return Ok(());
    }
    let entry = table
        .entry(first.clone())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    match entry {
        toml::Value::Table(t) => overlay(t, rest, value),
        _ => Err(format!("{first} is not a section")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_zone_far_beyond_utc_plus_14_is_refused_not_overflowed() {
        // fuzz/regressions/config/utc-offset-overflow: HOTLINE_TIMEZONE=UTC+000…0010000000
        // passed the check and overflowed i32 when turned into seconds.
        let env = |tz: &str| vec![("HOTLINE_TIMEZONE".to_string(), tz.to_string())];
        for tz in [
            "UTC+0000000000000000000000000010000000",
            "UTC+596524",
            "UTC+15",
            "UTC+-3",
            "UTC+5:30",
            "UTC+",
        ] {
            let e = super::Config::from_sources(None, None, env(tz)).unwrap_err();
            assert!(e.to_string().contains("timezone"), "{tz}: {e}");
        }
        for (tz, secs) in [
            ("UTC+8", 8 * 3600),
            ("UTC+14", 14 * 3600),
            ("UTC+0", 0),
            ("UTC", 0),
            ("Asia/Shanghai", 8 * 3600),
        ] {
            let c = super::Config::from_sources(None, None, env(tz)).unwrap();
            assert_eq!(c.utc_offset_secs(), secs, "{tz}");
        }
    }

    #[test]
    fn a_phone_sends_one_sms_a_second_unless_told_otherwise() {
        let toml = "[[channels]]\nid = \"city\"\nkind = \"log\"\n\
                    [[channels]]\nid = \"phone\"\nkind = \"android\"\nbase_url = \"http://192.168.1.20:8080\"\n\
                    username = \"sms\"\npassword = \"p\"\nsigning_key = \"a-signing-key-of-16+\"\n\
                    [[channels]]\nid = \"fast-phone\"\nkind = \"android\"\ntps = 3\nbase_url = \"http://192.168.1.21:8080\"\n\
                    username = \"sms\"\npassword = \"p\"\nsigning_key = \"a-signing-key-of-16+\"\n";
        let c = super::Config::from_sources(Some(toml), None, Vec::new()).unwrap();
        let tps: Vec<u32> = c.channels.iter().map(|ch| ch.tps).collect();
        assert_eq!(tps, [10, 1, 3]);
    }

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_serve_on_loopback_with_sqlite() {
        let c = Config::from_sources(None, None, env(&[])).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://hotline.db");
        let chans = c.effective_channels();
        assert_eq!(chans.len(), 1);
        assert_eq!(chans[0].id, "log");
        assert_eq!(chans[0].kind, ChannelKind::Log);
    }

    #[test]
    fn environment_overrides_file() {
        let toml = "listen = \"127.0.0.1:9000\"\n[outbox]\nmax_attempts = 3\n";
        let c = Config::from_sources(
            Some(toml),
            None,
            env(&[
                ("HOTLINE_LISTEN", "0.0.0.0:8081"),
                ("HOTLINE_OUTBOX__MAX_ATTEMPTS", "5"),
                ("HOTLINE_DATABASE_URL", "postgres://u@127.0.0.1/db"),
                ("PATH", "/usr/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:8081");
        assert_eq!(c.outbox.max_attempts, 5);
        assert_eq!(c.database_url, "postgres://u@127.0.0.1/db");
    }

    #[test]
    fn a_wrong_value_names_its_key() {
        let e = Config::from_sources(Some("[outbox]\nmax_attempts = \"many\"\n"), None, env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("outbox.max_attempts"), "{e}");

        let e = Config::from_sources(None, None, env(&[("HOTLINE_LISTEN", "localhost")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("listen"), "{e}");

        let e = Config::from_sources(Some("colour = 1\n"), None, env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("colour"), "{e}");

        let e = Config::from_sources(None, None, env(&[("HOTLINE_DATABASE_URL", "mysql://x")]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("configuration error: database_url:"), "{e}");
    }

    #[test]
    fn kannel_channel_needs_its_credentials() {
        let toml = r#"
[[channels]]
id = "kannel"
kind = "kannel"
sendsms_url = "http://127.0.0.1:13013/cgi-bin/sendsms"
username = "hotline"
secret = "0123456789abcdef"
"#;
        let e = Config::from_sources(Some(toml), None, env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("channels[0].password"), "{e}");
        let ok = format!("{toml}password = \"pw\"\n");
        let c = Config::from_sources(Some(&ok), None, env(&[])).unwrap();
        assert_eq!(c.channels[0].tps, 10);
        assert_eq!(c.effective_channels()[0].id, "kannel");
    }

    #[test]
    fn each_new_channel_kind_names_what_it_lacks() {
        for (toml, key) in [
            ("kind = \"json\"\nsecret = \"0123456789abcdef\"", "channels[0].send_url"),
            ("kind = \"twilio\"\nauth_token = \"t\"\nnumber = \"+8612333\"", "channels[0].account_sid"),
            (
                "kind = \"android\"\nbase_url = \"http://10.0.0.5:8080\"\nusername = \"u\"\npassword = \"p\"",
                "channels[0].signing_key",
            ),
            (
                "kind = \"log\"\ncounties = [\"墨竹县\"]",
                "channels[0].counties",
            ),
            ("kind = \"log\"\nmax_recipients = 10", "channels[0].max_recipients"),
            (
                "kind = \"android\"\nbase_url = \"http://10.0.0.5:8080\"\nusername = \"u\"\npassword = \"p\"\n\
                 signing_key = \"a-signing-key-of-16+\"\nmax_recipients = 0",
                "channels[0].max_recipients",
            ),
        ] {
            let text = format!("[[channels]]\nid = \"c\"\n{toml}\n");
            let e = Config::from_sources(Some(&text), None, env(&[]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{toml}: {e}");
        }
        let ok = "[[channels]]\nid = \"p\"\nkind = \"log\"\ncounties = [\"墨竹工卡县\"]\n";
        assert!(Config::from_sources(Some(ok), None, env(&[])).is_ok());
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?} {s}"), "\"***\" ***");
        assert!(s.matches("hunter2-very-secret"));
        assert!(!s.matches("hunter2-very-secreT"));
        assert!(!s.matches("hunter2"));
        let toml = "[[channels]]\nid = \"k\"\nkind = \"kannel\"\nsendsms_url = \"http://x\"\nusername = \"u\"\npassword = \"topsecretpw\"\nsecret = \"0123456789abcdefXYZ\"\n";
        let c = Config::from_sources(Some(toml), None, env(&[])).unwrap();
        let dump = format!("{c:?}");
        assert!(
            !dump.contains("topsecretpw") && !dump.contains("0123456789abcdefXYZ"),
            "{dump}"
        );
    }
}
