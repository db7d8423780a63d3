//! Fuzz targets: one function per parser of outside input, fed arbitrary bytes. The cargo-fuzz
//! targets in `fuzz/` call them, and `tests/it/fuzz.rs` replays every kept input through them,
//! so a crash once found stays fixed. Each function panics only on a real defect: a parser that
//! panics, or a documented property of its result that does not hold. A parser refusing the
//! input is not a defect. README, "Fuzzing".

use std::sync::OnceLock;

use crate::config::Config;
use crate::conversations::complaint::{self, Answers, County, ProjectRef, Step};
use crate::conversations::{followup, intent, subscribe};
use crate::followups::questions::Question;
use crate::sms::channels::{
    self, kannel, ChannelConfig, ChannelKind, Channels, InboundSms, StatusReport, WebhookRequest,
};
use crate::text::{self, sheet::Sheet};

/// A fuzz target: takes any bytes, panics only on a defect.
pub type Target = fn(&[u8]);

/// The names of the targets, as `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("webhook_kannel", webhook_kannel),
    ("webhook_json", webhook_json),
    ("webhook_twilio", webhook_twilio),
    ("webhook_android", webhook_android),
    ("kannel_text", kannel_text),
    ("sms_text", sms_text),
    ("numbers", numbers),
    ("phone", phone),
    ("dialog_answers", dialog_answers),
    ("csv_projects", csv_projects),
    ("csv_workers", csv_workers),
    ("csv_trainings", csv_trainings),
    ("csv_placements", csv_placements),
    ("config", config),
];

fn lossy(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// The default configuration (counties, trades, country code), built once.
fn defaults() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        Config::from_sources(None, None, Vec::<(String, String)>::new())
            .expect("the default configuration is valid")
    })
}

/// One channel of each kind that takes webhooks, with every secret set, built once.
fn channels() -> &'static Channels {
    static CHANNELS: OnceLock<Channels> = OnceLock::new();
    CHANNELS.get_or_init(|| {
        let secret = || {
            Some(crate::secret::Secret::new(String::from(
                "fuzz-secret-0123456789",
            )))
        };
        let of = |kind: ChannelKind| ChannelConfig {
            kind,
            secret: secret(),
            auth_token: secret(),
            signing_key: secret(),
            account_sid: Some("AC0123".into()),
            ..ChannelConfig::log(kind.as_str(), 10)
        };
        Channels::new(
            vec![
                of(ChannelKind::Kannel),
                of(ChannelKind::Json),
                of(ChannelKind::Twilio),
                of(ChannelKind::Android),
            ],
            "http://127.0.0.1:8080",
            reqwest::Client::new(),
        )
    })
}

/// A webhook request from text: the method on the first line, the query string on the
/// second, then `name: value` header lines up to an empty line, then the body (bytes as they
/// are). Corpus files are readable this way.
pub fn webhook_request(data: &[u8]) -> WebhookRequest {
    let mut rest = data;
    let mut line = || -> &[u8] {
        let (l, r) = match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        rest = r;
        l.strip_suffix(b"\r").unwrap_or(l)
    };
    let method = lossy(line()).trim().to_string();
    let query = lossy(line()).into_owned();
    let mut headers = Vec::new();
    loop {
        let l = line();
        if l.is_empty() {
            break;
        }
        let l = lossy(l);
        let (k, v) = l.split_once(':').unwrap_or((&l, ""));
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    WebhookRequest {
        method,
        path: "/channels/fuzz/receive".into(),
        query,
        headers,
        body: rest.to_vec(),
    }
}

/// Authenticates, parses as an incoming message and as a delivery report, then cleans what
/// came out the way `web::gateway` does before storing it.
fn webhook(kind: ChannelKind, data: &[u8]) {
    let req = webhook_request(data);
    let channel = channels()
        .get(kind.as_str())
        .expect("a channel of each kind");
    let _ = channel.authenticate(&req);
    if let Ok(messages) = channel.parse_inbound(&req) {
        messages.into_iter().for_each(inbound_stored);
    }
    if let Ok(reports) = channel.parse_status(&req) {
        reports.into_iter().for_each(report_stored);
    }
}

fn inbound_stored(sms: InboundSms) {
    stored(&sms.from);
    for s in sms.to.iter().chain(&sms.gateway_id) {
        stored(s);
    }
    let text = stored(&sms.text);
    segments(&text);
    let _ = text::normalize_phone(&text::storable(&sms.from), "86");
    let _ = intent::classify(&text);
}

fn report_stored(r: StatusReport) {
    stored(&r.message_id);
    stored(&r.detail);
    if let Some(n) = r.recipient.as_deref() {
        stored(n);
        let _ = text::recipient_of(&["+8613900000001", "+8613900000002"], n);
    }
}

/// `storable`, checked: no control characters but tab, line feed and carriage return, and
/// nothing else changed.
fn stored(s: &str) -> String {
    let out = text::storable(s);
    assert!(
        out.chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')),
        "storable left a control character: {out:?}"
    );
    assert_eq!(text::storable(&out), out, "storable is not idempotent");
    let kept: String = s
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect();
    assert_eq!(out, kept);
    out
}

/// `sms_size` and `split_segments`, checked against each other.
fn segments(s: &str) {
    let size = text::sms_size(s);
    assert!(size.segments >= 1, "no segments for {s:?}");
    let parts = text::split_segments(s);
    assert_eq!(
        parts.len(),
        size.segments,
        "split_segments disagrees: {s:?}"
    );
    assert_eq!(parts.concat(), s, "the parts do not make the text");
    assert_eq!(text::is_gsm7(s), size.encoding == text::Encoding::Gsm7);
    if size.segments > 1 {
        for p in &parts {
            // Counted in the whole text's encoding: a part alone may fit GSM-7 when the whole
            // does not (fuzz/regressions/webhook_kannel/part-in-its-own-encoding).
            let units = match size.encoding {
                text::Encoding::Ucs2 => p.encode_utf16().count(),
                text::Encoding::Gsm7 => text::sms_size(p).units,
            };
            assert!(units <= size.per_segment, "a part too long: {p:?}");
        }
    }
}

/// Kannel's `/receive` (get-url and post-url) and `/status` (delivery reports).
pub fn webhook_kannel(data: &[u8]) {
    webhook(ChannelKind::Kannel, data);
    let req = webhook_request(data);
    let _ = kannel::check_secret(None, &req);
    let _ = kannel::parse_mo(&req);
    let pairs = channels::params::parse(req.query.as_bytes());
    for (_, v) in &pairs {
        let _ = channels::params::get_str(&pairs, &lossy(v));
    }
}

/// The JSON gateway's `/receive` and `/status` bodies.
pub fn webhook_json(data: &[u8]) {
    webhook(ChannelKind::Json, data);
}

/// Twilio's form posts (incoming messages, status callbacks) and its signature check.
pub fn webhook_twilio(data: &[u8]) {
    webhook(ChannelKind::Twilio, data);
}

/// SMS Gateway for Android's signed JSON events.
pub fn webhook_android(data: &[u8]) {
    webhook(ChannelKind::Android, data);
}

/// `kannel::decode_text`: the first byte picks the coding and charset Kannel names, the rest
/// is the text's bytes.
pub fn kannel_text(data: &[u8]) {
    const FORMS: &[(Option<&str>, Option<&str>)] = &[
        (None, None),
        (Some("0"), None),
        (Some("1"), None),
        (Some("2"), None),
        (None, Some("UTF-8")),
        (Some("2"), Some("UTF-16BE")),
        (None, Some("UCS-2")),
        (None, Some("ISO-8859-1")),
        (Some("0"), Some("windows-1252")),
        (None, Some(" utf8 ")),
        (None, Some("KOI8-R")),
    ];
    let Some((&pick, raw)) = data.split_first() else {
        return;
    };
    let (coding, charset) = FORMS[pick as usize % FORMS.len()];
    let decoded = kannel::decode_text(raw, coding, charset);
    let charset = charset.unwrap_or("").trim().to_ascii_uppercase();
    if let Ok(text) = &decoded {
        match charset.as_str() {
            "UTF-16BE" | "UCS-2" => {
                let back: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
                assert_eq!(back, raw, "UTF-16 does not round-trip");
            }
            "ISO-8859-1" | "WINDOWS-1252" => {
                assert_eq!(
                    text.chars().count(),
                    raw.len(),
                    "Latin-1 is one char a byte"
                )
            }
            _ => {}
        }
    }
    // Valid UTF-8 named as UTF-8 (or unnamed, 7- or 8-bit) comes back as it was.
    if let Ok(s) = std::str::from_utf8(raw) {
        if matches!(charset.as_str(), "UTF-8" | "UTF8" | "")
            && matches!(coding, None | Some("0") | Some("1"))
        {
            assert_eq!(decoded.as_deref(), Ok(s), "UTF-8 does not round-trip");
        }
    }
    if let Ok(text) = decoded {
        segments(&stored(&text));
    }
}

/// What every incoming SMS text goes through: storing, measuring, keyword normalising, script
/// detection and intent classification.
pub fn sms_text(data: &[u8]) {
    let s = lossy(data);
    let kept = stored(&s);
    segments(&s);
    segments(&kept);

    let digits = text::normalize_digits(&s);
    assert_eq!(digits.chars().count(), s.chars().count());
    assert!(
        !digits
            .chars()
            .any(|c| matches!(c, '\u{0F20}'..='\u{0F29}' | '\u{FF10}'..='\u{FF19}')),
        "a digit left: {digits:?}"
    );
    assert_eq!(text::normalize_digits(&digits), digits);
    assert_eq!(
        text::normalize_digits(&text::tibetan_digits(&s)),
        digits,
        "Tibetan digits read back differently"
    );

    let key = text::normalize_keyword(&s);
    assert!(!key.bytes().any(|b| b.is_ascii_lowercase()), "{key:?}");
    assert_eq!(key.trim(), key, "untrimmed keyword {key:?}");
    assert!(
        !key.contains(['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}']),
        "{key:?}"
    );
    let (first, rest) = text::first_word(&key);
    assert!(key.starts_with(first));
    assert!(key.ends_with(rest));

    let _ = text::detect_script(&s);
    let it = intent::classify(&s);
    let _ = intent::interrupts_dialog(&s, &it);
    let _ = intent::is_greeting_or_command(&s);
    let _ = intent::language_of(&s);
    let _ = intent::picked_language(&s);
    let _ = complaint::one_message(&s);
    let _ = channels::simulator_number(&s);
}

/// Amounts, head counts and months as workers write them (digits of three scripts, Chinese
/// numerals, Tibetan number words), the notice wages and the report months.
pub fn numbers(data: &[u8]) {
    let s = lossy(data);
    let amount = text::parse_amount_yuan(&s);
    let count = text::parse_count(&s);
    let months = text::parse_months(&s);
    if let Some(m) = months {
        assert!((1..=120).contains(&m), "months {m} from {s:?}");
    }
    // Tibetan and full-width digits read as ASCII ones.
    let tibetan = text::tibetan_digits(&s);
    assert_eq!(text::parse_amount_yuan(&tibetan), amount, "{s:?}");
    assert_eq!(text::parse_count(&tibetan), count, "{s:?}");
    assert_eq!(text::parse_months(&tibetan), months, "{s:?}");
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        assert_eq!(amount, t.parse().ok(), "plain digits {t:?}");
        assert_eq!(count, t.parse().ok(), "plain digits {t:?}");
    }
    let _ = text::numerals::chinese_number(&s);
    let _ = text::numerals::tibetan_number(&s);
    if let Some(fen) = crate::alerts::notices::parse_yuan(&s) {
        assert!(fen >= 0, "negative wage {fen} from {s:?}");
        let _ = crate::alerts::notices::yuan(fen);
    }
    if let Some((y, m)) = crate::reports::parse_month(&s) {
        assert!((1..=12).contains(&m));
        let _ = crate::reports::month_csv_filename(y, m);
    }
    let _ = text::sheet::parse_date(&s);
    if let Some(n) = amount {
        let _ = text::thousands(n as i64);
    }
}

/// Phone numbers as workers, officers' files and gateways write them.
pub fn phone(data: &[u8]) {
    let s = lossy(data);
    for cc in ["86", "+86", "1"] {
        let Ok(e164) = text::normalize_phone(&s, cc) else {
            continue;
        };
        let digits = e164.strip_prefix('+').expect("E.164 starts with +");
        assert!(
            digits.bytes().all(|b| b.is_ascii_digit()),
            "not digits: {e164:?}"
        );
        assert!((5..=15).contains(&digits.len()), "length: {e164:?}");
        assert_eq!(
            text::normalize_phone(&e164, cc).as_deref(),
            Ok(e164.as_str()),
            "{s:?} gave {e164:?}, which does not normalise to itself"
        );
        let masked = text::mask_phone(&e164);
        assert_eq!(masked.chars().count(), e164.chars().count(), "{masked:?}");
        let _ = text::phone::national(&e164);
        assert_eq!(text::recipient_of(&[&e164], &e164), Some(e164.as_str()));
        let _ = text::recipient_of(&[&e164, "+8613900000001"], &s);
    }
    let _ = text::mask_phone(&s);
    let _ = text::phone::national(&s);
    if let Some(n) = channels::simulator_number(&s) {
        assert!(channels::is_simulator_number(&n), "{n:?}");
    }
}

/// Answers to every question of the SMS dialogs: the complaint's, the job-alert
/// subscription's and the follow-ups'.
pub fn dialog_answers(data: &[u8]) {
    let s = lossy(data);
    let config = defaults();
    let counties: &[County] = &config.counties;
    let find = |code: &str| {
        (code == "P2026-001").then(|| ProjectRef {
            id: "p1".into(),
            code: code.into(),
            name_zh: "拉萨建工".into(),
            name_bo: None,
            county: "城关区".into(),
        })
    };
    for step in Step::ALL {
        let mut a = Answers {
            amount_unconfirmed: Some(50),
            ..Answers::default()
        };
        let _ = complaint::take_answer(step, &mut a, &s, counties, 500, &find);
        if let Some(n) = a.workers {
            assert!((1..=10_000).contains(&n));
        }
        if let Some(n) = a.amount_yuan {
            assert!(n <= 100_000_000);
        }
        let _ = complaint::next_step(&a);
    }
    let _ = complaint::is_cancel(&s);
    let _ = complaint::yes_no(&s);
    let _ = subscribe::parse_place(&s, counties);
    if let Some(codes) = subscribe::parse_trades(&s, &config.alerts.trades) {
        assert!(codes
            .iter()
            .all(|c| config.alerts.trades.iter().any(|t| &t.code == c)));
    }
    let few = &config.alerts.trades[..config.alerts.trades.len().min(3)];
    let _ = subscribe::parse_trades(&s, few);
    let _ = subscribe::parse_trades(&s, &[]);
    let _ = subscribe::parse_language(&s);
    for q in Question::ALL {
        if let Some(tokens) = followup::tokens(&s, q) {
            assert!(!tokens.is_empty());
        }
    }
}

fn rules() -> crate::alerts::register::Rules {
    defaults().register_rules()
}

/// The registry of construction projects (`projects.csv`).
pub fn csv_projects(data: &[u8]) {
    let _ = crate::projects::parse_csv(data);
}

/// Workers registered for job alerts (`alerts::register`).
pub fn csv_workers(data: &[u8]) {
    let _ = crate::alerts::register::parse_csv(&rules(), data);
}

/// Finished trainings (`followups::import`).
pub fn csv_trainings(data: &[u8]) {
    let config = defaults();
    let rules = crate::followups::placements::Rules {
        counties: &config.counties,
        trades: &config.alerts.trades,
        country_code: &config.default_country_code,
        today: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date"),
    };
    let _ = crate::followups::import::parse_trainings(&rules, data);
}

/// Placements: the file's reading, up to the checks that need the registry.
pub fn csv_placements(data: &[u8]) {
    let columns = &crate::followups::import::PLACEMENT_COLUMNS;
    let Ok(mut sheet) = Sheet::open(data, columns) else {
        return;
    };
    while let Some(row) = sheet.next_row() {
        let h = sheet.header();
        let _ = h.extra_values(&row.cells);
        for c in 0..columns.len() {
            if h.has(c) {
                let _ = h.name(c);
                let _ = h.get(&row.cells, c);
                let v = h.value(&row.cells, c);
                let _ = text::sheet::parse_date(v);
                let _ = text::normalize_phone(v, "86");
            }
        }
    }
    let _ = sheet.finish(());
}

/// The configuration file (`hotline.toml`); after a NUL byte, `HOTLINE_*` variables, one
/// `NAME=value` a line.
pub fn config(data: &[u8]) {
    let (toml, env) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let toml = lossy(toml);
    let env: Vec<(String, String)> = lossy(env)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Ok(config) = Config::from_sources(Some(&toml), None, env) {
        let _ = config.effective_channels();
        let _ = config.public_base_url();
        let _ = config.register_rules();
        let _ = config.bulk_window();
        let _ = config.utc_offset_secs();
    }
}
