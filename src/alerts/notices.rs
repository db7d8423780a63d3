//! Job notices: a broker drafts one (the SMS texts drafted from its fields), submits it, an
//! officer checks and approves, rejects or returns it. Every decision is audited.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::{BoardLodging, NoticeStatus, WageUnit};
use crate::db::schema::notices;
use crate::db::{DbConn, DbError};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = notices)]
pub struct Notice {
    pub id: String,
    /// Digits a worker types back (`YX 1234`).
    pub code: String,
    pub agency: String,
    pub created_by: String,
    pub status: NoticeStatus,
    pub title: String,
    pub employer: String,
    /// One of our counties, or None when the work is outside Tibet (`place_outside`).
    pub county: Option<String>,
    pub place_outside: Option<String>,
    pub trade: String,
    pub workers_wanted: i32,
    /// In fen (hundredths of a yuan): piece rates are often under a yuan.
    pub wage_fen: i64,
    pub wage_unit: WageUnit,
    pub pay_terms: String,
    pub start_on: NaiveDate,
    pub duration: String,
    pub board_lodging: BoardLodging,
    pub contact_phone: String,
    pub project_code: Option<String>,
    pub valid_until: NaiveDate,
    pub text_zh: String,
    pub text_bo: Option<String>,
    /// `Targeting` as JSON.
    pub targeting: String,
    pub decision_reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub send_at: Option<NaiveDateTime>,
    pub queued_through: Option<String>,
    pub queued_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<Notice>, DbError> {
    Ok(notices::table
        .find(id)
        .select(Notice::as_select())
        .first(conn)
        .optional()?)
}

pub fn by_code(conn: &mut DbConn, code: &str) -> Result<Option<Notice>, DbError> {
    Ok(notices::table
        .filter(notices::code.eq(code))
        .select(Notice::as_select())
        .first(conn)
        .optional()?)
}

/// Who a notice goes to. Never gender or ethnicity: the register's gender is not a filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Targeting {
    /// Workers living in these counties; empty: every county.
    pub counties: Vec<String>,
    /// Workers registered for these trades (or for none); empty: the notice's own trade.
    pub trades: Vec<String>,
    /// Workers reading these languages (`bo`, `zh`, `both`); empty: all.
    pub languages: Vec<String>,
    /// Only workers seeking work (the register's 就业状态); default yes.
    pub seeking_only: Option<bool>,
}

impl Targeting {
    pub fn seeking_only(&self) -> bool {
        self.seeking_only.unwrap_or(true)
    }
}

impl Notice {
    pub fn targeting(&self) -> Targeting {
        serde_json::from_str(&self.targeting).unwrap_or_default()
    }

    /// The trades the notice targets: the officer's choice, else its own.
    pub fn target_trades(&self) -> Vec<String> {
        let t = self.targeting();
        if t.trades.is_empty() {
            vec![self.trade.clone()]
        } else {
            t.trades
        }
    }

    /// Whether a broker may still change it.
    pub fn editable(&self) -> bool {
        matches!(self.status, NoticeStatus::Draft | NoticeStatus::Returned)
    }

    /// Approved and still worth sending on `today`.
    pub fn is_live(&self, today: NaiveDate) -> bool {
        self.status == NoticeStatus::Approved && self.valid_until >= today
    }

    /// The wage as a worker reads it: `250`, `0.8`.
    pub fn wage_yuan(&self) -> String {
        yuan(self.wage_fen)
    }
}

/// Fen as yuan without trailing zeros: 25000 → "250", 80 → "0.8".
pub fn yuan(fen: i64) -> String {
    if fen % 100 == 0 {
        (fen / 100).to_string()
    } else {
        let s = format!("{}.{:02}", fen / 100, fen % 100);
        s.trim_end_matches('0').to_string()
    }
}

/// "250", "250.5", "２５０元" → fen.
pub fn parse_yuan(text: &str) -> Option<i64> {
    let t = crate::text::normalize_digits(text.trim());
    let t = t.trim_end_matches('元').trim();
    let (whole, frac) = match t.split_once('.') {
        Some((w, f)) => (w, f),
        None => (t, ""),
    };
    if whole.is_empty() && frac.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || whole.len() > 7
    {
        return None;
    }
    let w: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let f: i64 = format!("{frac:0<2}").parse().ok()?;
    Some(w * 100 + f)
}

/// What a broker sends: the console form and the API share it.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct NoticeInput {
    /// A short title: 拉萨建筑工地招钢筋工.
    pub title: String,
    pub employer: String,
    /// One of the bureau's counties (Chinese name), or empty when the work is outside Tibet.
    pub county: String,
    /// Where the work is when outside Tibet: 四川成都.
    pub place_outside: String,
    /// A trade code (`construction` …).
    pub trade: String,
    #[serde(deserialize_with = "string_or_number")]
    #[schema(value_type = String)]
    pub workers_wanted: String,
    /// Yuan, e.g. `250` or `0.8`.
    #[serde(deserialize_with = "string_or_number")]
    #[schema(value_type = String)]
    pub wage: String,
    /// `day`, `month` or `piece`.
    pub wage_unit: String,
    /// How and when wages are paid: 月结，每月10日前发放.
    pub pay_terms: String,
    /// YYYY-MM-DD.
    pub start_on: String,
    /// 3个月.
    pub duration: String,
    /// `both`, `board`, `lodging` or `none`.
    pub board_lodging: String,
    /// The broker's phone workers call.
    pub contact_phone: String,
    /// The registry code of a construction project.
    pub project_code: String,
    /// YYYY-MM-DD: no alert goes out after it.
    pub valid_until: String,
    /// The Chinese SMS text; empty: drafted from the fields.
    pub text_zh: String,
    /// The Tibetan SMS text; empty: none (the notice goes to workers who read Chinese).
    pub text_bo: String,
}

/// A number sent as a JSON number or as text.
fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Either {
        S(String),
        N(serde_json::Number),
    }
    Ok(match <Either as serde::Deserialize>::deserialize(d)? {
        Either::S(s) => s,
        Either::N(n) => n.to_string(),
    })
}

/// A field the form must show again, and why: `code` names a console string
/// (`notice_errors.<code>`), `detail` fills it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub detail: Option<String>,
}

fn field_err(field: &str, code: &str, detail: Option<String>) -> FieldError {
    FieldError {
        field: field.into(),
        code: code.into(),
        detail,
    }
}

/// A notice's fields once checked, ready to store.
#[derive(Debug, Clone)]
pub struct Valid {
    pub title: String,
    pub employer: String,
    pub county: Option<String>,
    pub place_outside: Option<String>,
    pub trade: String,
    pub workers_wanted: i32,
    pub wage_fen: i64,
    pub wage_unit: WageUnit,
    pub pay_terms: String,
    pub start_on: NaiveDate,
    pub duration: String,
    pub board_lodging: BoardLodging,
    pub contact_phone: String,
    pub project_code: Option<String>,
    pub valid_until: NaiveDate,
    pub text_zh: String,
    pub text_bo: Option<String>,
}

/// What checking and drafting need from the service.
pub struct Env<'a> {
    pub alerts: &'a super::AlertsConfig,
    pub counties: &'a [crate::places::County],
    pub templates: &'a crate::templates::Templates,
    pub country_code: &'a str,
    pub today: NaiveDate,
}

impl<'a> Env<'a> {
    /// The service's own: its settings, its templates, today in bureau time.
    pub fn of(state: &'a crate::AppState) -> Env<'a> {
        let c = &state.config;
        Env {
            alerts: &c.alerts,
            counties: &c.counties,
            templates: &state.templates,
            country_code: &c.default_country_code,
            today: c.today(),
        }
    }
}

fn chars_between(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> String {
    let v = value.trim().to_string();
    let n = v.chars().count();
    if n < min || n > max {
        errors.push(field_err(
            field,
            if n < min { "required" } else { "too_long" },
            Some(max.to_string()),
        ));
    }
    v
}

fn date(errors: &mut Vec<FieldError>, field: &str, value: &str) -> Option<NaiveDate> {
    let d = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").ok();
    if d.is_none() {
        errors.push(field_err(field, "date", None));
    }
    d
}

/// Checks every field and drafts the Chinese text when it is empty; all the problems at once,
/// each with its field.
pub fn validate(env: &Env, input: &NoticeInput) -> Result<Valid, Vec<FieldError>> {
    let mut e = Vec::new();
    let title = chars_between(&mut e, "title", &input.title, 2, 40);
    let employer = chars_between(&mut e, "employer", &input.employer, 2, 60);
    let county = Some(input.county.trim().to_string()).filter(|c| !c.is_empty());
    let place_outside = Some(input.place_outside.trim().to_string()).filter(|c| !c.is_empty());
    match (&county, &place_outside) {
        (Some(c), None) if !env.counties.iter().any(|k| &k.zh == c) => {
            e.push(field_err("county", "unknown_county", Some(c.clone())))
        }
        (Some(_), Some(_)) => e.push(field_err("place_outside", "one_place", None)),
        (None, None) => e.push(field_err("county", "no_place", None)),
        (None, Some(p)) if p.chars().count() > 30 => {
            e.push(field_err("place_outside", "too_long", Some("30".into())))
        }
        _ => {}
    }
    let trade = input.trade.trim().to_string();
    if env.alerts.trade(&trade).is_none() {
        e.push(field_err("trade", "unknown_trade", Some(trade.clone())));
    }
    let workers_wanted = crate::text::normalize_digits(input.workers_wanted.trim())
        .parse::<i32>()
        .ok()
        .filter(|n| (1..=10_000).contains(n));
    if workers_wanted.is_none() {
        e.push(field_err("workers_wanted", "count", None));
    }
    let wage_fen = parse_yuan(&input.wage).filter(|f| *f > 0);
    if wage_fen.is_none() {
        e.push(field_err("wage", "wage", None));
    }
    let wage_unit = WageUnit::parse(input.wage_unit.trim());
    if wage_unit.is_none() {
        e.push(field_err("wage_unit", "choose", None));
    }
    let pay_terms = chars_between(&mut e, "pay_terms", &input.pay_terms, 2, 60);
    let start_on = date(&mut e, "start_on", &input.start_on);
    let duration = chars_between(&mut e, "duration", &input.duration, 1, 30);
    let board_lodging = BoardLodging::parse(input.board_lodging.trim());
    if board_lodging.is_none() {
        e.push(field_err("board_lodging", "choose", None));
    }
    let contact_phone =
        crate::text::phone::normalize_phone(&input.contact_phone, env.country_code).ok();
    if contact_phone.is_none() {
        e.push(field_err("contact_phone", "phone", None));
    }
    let project_code = Some(input.project_code.trim().to_uppercase()).filter(|c| !c.is_empty());
    let valid_until = date(&mut e, "valid_until", &input.valid_until);
    if let Some(v) = valid_until {
        if v < env.today {
            e.push(field_err("valid_until", "past", None));
        } else if v > env.today + chrono::Duration::days(90) {
            e.push(field_err("valid_until", "too_far", Some("90".into())));
        }
    }
    if let Some(s) = start_on {
        if s < env.today - chrono::Duration::days(1) {
            e.push(field_err("start_on", "past", None));
        }
    }
    let text_bo = Some(input.text_bo.trim().to_string()).filter(|t| !t.is_empty());
    if !e.is_empty() {
        return Err(e);
    }
    let mut valid = Valid {
        title,
        employer,
        county,
        place_outside,
        trade,
        workers_wanted: workers_wanted.unwrap_or(1),
        wage_fen: wage_fen.unwrap_or(0),
        wage_unit: wage_unit.unwrap_or(WageUnit::Day),
        pay_terms,
        start_on: start_on.unwrap_or(env.today),
        duration,
        board_lodging: board_lodging.unwrap_or(BoardLodging::None),
        contact_phone: contact_phone.unwrap_or_default(),
        project_code,
        valid_until: valid_until.unwrap_or(env.today),
        text_zh: input.text_zh.trim().to_string(),
        text_bo,
    };
    if valid.text_zh.is_empty() {
        valid.text_zh = draft(env, &valid, "zh")
            .map_err(|m| vec![field_err("text_zh", "template", Some(m))])?;
    }
    // Each text, as sent (signature, reply and opt-out lines included), fits the budget.
    for (field, lang, text) in [
        ("text_zh", "zh", Some(&valid.text_zh)),
        ("text_bo", "bo", valid.text_bo.as_ref()),
    ] {
        let Some(text) = text else { continue };
        let sms = alert_sms(env.templates, lang, text, "0000")
            .map_err(|m| vec![field_err(field, "template", Some(m))])?;
        let segments = crate::text::sms_size(&sms).segments;
        if segments > env.alerts.max_segments as usize {
            e.push(field_err(
                field,
                "too_many_segments",
                Some(format!("{segments}/{}", env.alerts.max_segments)),
            ));
        }
    }
    if e.is_empty() {
        Ok(valid)
    } else {
        Err(e)
    }
}

/// A notice's text drafted from its fields through `message-templates/{lang}/job_alert.hbs`.
pub fn draft(env: &Env, v: &Valid, lang: &str) -> Result<String, String> {
    let trade = env.alerts.trade(&v.trade);
    let place = match (&v.county, &v.place_outside) {
        (Some(c), _) if lang == "bo" => crate::places::County::bo_of(env.counties, c)
            .unwrap_or(c)
            .trim_end_matches('།')
            .to_string(),
        (Some(c), _) => c.clone(),
        (None, Some(p)) => p.clone(),
        (None, None) => String::new(),
    };
    // A broker's own words in a Tibetan text: a shad closes them only when they end in
    // Tibetan; Chinese words get none glued to them.
    let phrase = |s: &str| {
        let s = s.trim().trim_end_matches('།').trim_end();
        match s.chars().last() {
            Some(c) if lang == "bo" && ('\u{0F00}'..='\u{0FFF}').contains(&c) => format!("{s}།"),
            _ => s.to_string(),
        }
    };
    let data = serde_json::json!({
        "title": phrase(&v.title),
        "employer": v.employer,
        "place": place,
        // A Tibetan word running into the next ends with a tsheg, never a shad.
        "trade": trade.map(|t| if lang == "bo" {
            format!("{}་", t.bo.trim_end_matches(['།', '་']))
        } else {
            t.zh.clone()
        }),
        "workers": v.workers_wanted,
        "wage": yuan(v.wage_fen),
        "unit": v.wage_unit.as_str(),
        "pay_terms": phrase(&v.pay_terms),
        "start": v.start_on.format("%-m月%-d日").to_string(),
        "start_bo": format!("{}/{}", v.start_on.format("%-m"), v.start_on.format("%-d")),
        "duration": phrase(&v.duration),
        "board": v.board_lodging.as_str(),
        "phone": crate::text::phone::national(&v.contact_phone),
    });
    env.templates
        .render_lang(lang, "job_alert", &data)
        .map(|t| t.replace('\n', " "))
        .map_err(|e| e.to_string())
}

/// The SMS a worker gets for a notice text: the sender, the text, how to answer and how to
/// stop (`job_alert_sms.hbs`).
pub fn alert_sms(
    templates: &crate::templates::Templates,
    lang: &str,
    text: &str,
    code: &str,
) -> Result<String, String> {
    templates
        .render_lang(
            lang,
            "job_alert_sms",
            &serde_json::json!({ "text": text, "code": code }),
        )
        .map_err(|e| e.to_string())
}

/// The SMS for a worker who reads `both`: Tibetan and Chinese in one message when it keeps
/// within `max_segments`, else the Chinese alone (every phone shows it).
pub fn alert_sms_both(
    templates: &crate::templates::Templates,
    text_zh: &str,
    text_bo: Option<&str>,
    code: &str,
    max_segments: u32,
) -> Result<String, String> {
    let zh = alert_sms(templates, "zh", text_zh, code)?;
    let Some(bo) = text_bo else { return Ok(zh) };
    let both = templates
        .render_with(crate::db::models::Language::Both, "job_alert_sms", |lang| {
            Ok(serde_json::json!({
                "text": if lang == "bo" { bo } else { text_zh },
                "code": code,
            }))
        })
        .map_err(|e| e.to_string())?;
    if crate::text::sms_size(&both).segments <= max_segments as usize {
        Ok(both)
    } else {
        Ok(zh)
    }
}

/// Something the officer should see before approving.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Check {
    /// The wage is under the minimum wage for its unit.
    BelowMinimumWage {
        wage: String,
        minimum: String,
        unit: String,
    },
    /// A word that signals a fee or deposit charged to workers (unlawful), and where.
    Fee { word: String, field: String },
    /// A construction job without a registry project code.
    NoProject,
    /// A project code the registry does not know.
    UnknownProject { code: String },
    /// Wage-arrears cases still open against the same employer or project.
    OpenCases { references: Vec<String> },
}

/// The checks shown before approval, worst first.
pub fn checks(
    conn: &mut DbConn,
    cfg: &super::AlertsConfig,
    n: &Notice,
) -> Result<Vec<Check>, DbError> {
    let mut found = Vec::new();
    let m = &cfg.minimum_wage;
    let minimum = match n.wage_unit {
        WageUnit::Month => Some(m.month),
        WageUnit::Day => Some(m.day),
        WageUnit::Piece => None,
    };
    if let Some(min) = minimum {
        if n.wage_fen < i64::from(min) * 100 {
            found.push(Check::BelowMinimumWage {
                wage: n.wage_yuan(),
                minimum: min.to_string(),
                unit: n.wage_unit.as_str().into(),
            });
        }
    }
    let fields = [
        ("title", Some(&n.title)),
        ("employer", Some(&n.employer)),
        ("pay_terms", Some(&n.pay_terms)),
        ("duration", Some(&n.duration)),
        ("place_outside", n.place_outside.as_ref()),
        ("text_zh", Some(&n.text_zh)),
        ("text_bo", n.text_bo.as_ref()),
    ];
    for word in &cfg.fee_words {
        let w = word.to_lowercase();
        if let Some((field, _)) = fields
            .iter()
            .find(|(_, v)| v.is_some_and(|v| v.to_lowercase().contains(&w)))
        {
            found.push(Check::Fee {
                word: word.clone(),
                field: field.to_string(),
            });
        }
    }
    let project = match &n.project_code {
        Some(code) => {
            let p = crate::projects::get_by_code(conn, code)?;
            if p.is_none() {
                found.push(Check::UnknownProject { code: code.clone() });
            }
            p
        }
        None => {
            if n.trade == "construction" {
                found.push(Check::NoProject);
            }
            None
        }
    };
    let references =
        open_cases_against(conn, &n.employer, project.as_ref().map(|p| p.id.as_str()))?;
    if !references.is_empty() {
        found.push(Check::OpenCases { references });
    }
    Ok(found)
}

/// References of open cases against this employer (its name folded) or project.
fn open_cases_against(
    conn: &mut DbConn,
    employer: &str,
    project_id: Option<&str>,
) -> Result<Vec<String>, DbError> {
    use crate::db::models::CaseState;
    use crate::db::schema::cases;
    let by_name = crate::cases::rules::employer_key(None, employer);
    let open = [
        CaseState::Received,
        CaseState::Accepted,
        CaseState::Investigating,
    ];
    let mut q = cases::table.filter(cases::state.eq_any(open)).into_boxed();
    q = match project_id {
        Some(p) => q.filter(
            cases::employer_key
                .eq(by_name)
                .or(cases::project_id.eq(p.to_string())),
        ),
        None => q.filter(cases::employer_key.eq(by_name)),
    };
    Ok(q.order(cases::received_on)
        .select(cases::reference)
        .limit(20)
        .load(conn)?)
}

/// The columns a broker fills, as assignments for an insert or an update.
macro_rules! fields {
    ($v:expr) => {
        (
            notices::title.eq(&$v.title),
            notices::employer.eq(&$v.employer),
            notices::county.eq(&$v.county),
            notices::place_outside.eq(&$v.place_outside),
            notices::trade.eq(&$v.trade),
            notices::workers_wanted.eq($v.workers_wanted),
            notices::wage_fen.eq($v.wage_fen),
            notices::wage_unit.eq($v.wage_unit),
            notices::pay_terms.eq(&$v.pay_terms),
            notices::start_on.eq($v.start_on),
            notices::duration.eq(&$v.duration),
            notices::board_lodging.eq($v.board_lodging),
            notices::contact_phone.eq(&$v.contact_phone),
            notices::project_code.eq(&$v.project_code),
            notices::valid_until.eq($v.valid_until),
            notices::text_zh.eq(&$v.text_zh),
            notices::text_bo.eq(&$v.text_bo),
        )
    };
}

/// The next code: digits, one more than the highest so far, from 101.
fn next_code(conn: &mut DbConn) -> Result<String, DbError> {
    let codes: Vec<String> = notices::table.select(notices::code).load(conn)?;
    let max = codes
        .iter()
        .filter_map(|c| c.parse::<u32>().ok())
        .max()
        .unwrap_or(100);
    Ok((max + 1).to_string())
}

/// Stores a broker's new draft for `agency`.
pub fn create(conn: &mut DbConn, v: &Valid, agency: &str, actor: &str) -> Result<Notice, DbError> {
    let t = crate::db::now();
    let id = crate::db::new_id();
    crate::db::transaction(conn, |conn| {
        let code = next_code(conn)?;
        diesel::insert_into(notices::table)
            .values((
                notices::id.eq(&id),
                notices::code.eq(&code),
                notices::agency.eq(agency),
                notices::created_by.eq(actor),
                notices::status.eq(NoticeStatus::Draft),
                notices::targeting
                    .eq(serde_json::to_string(&Targeting::default()).unwrap_or_default()),
                notices::created_at.eq(t),
                notices::updated_at.eq(t),
                fields!(v),
            ))
            .execute(conn)?;
        crate::cases::audit_about(conn, &subject(&id), actor, "notice_created", Some(&v.title))?;
        Ok::<_, DbError>(())
    })?;
    get(conn, &id)?.ok_or(DbError::Query(diesel::result::Error::NotFound))
}

/// The audit subject of a notice.
pub fn subject(id: &str) -> String {
    format!("notice:{id}")
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    #[error("no such notice")]
    NotFound,
    /// Not allowed in the notice's present status; names the status.
    #[error("the notice is {0}")]
    WrongStatus(NoticeStatus),
    #[error("give a reason")]
    NoReason,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for NoticeError {
    fn from(e: diesel::result::Error) -> Self {
        NoticeError::Db(DbError::Query(e))
    }
}

/// Moves a notice from one of `from` to `to`, with the fields of the decision, audited.
fn transition(
    conn: &mut DbConn,
    id: &str,
    from: &[NoticeStatus],
    to: NoticeStatus,
    actor: &str,
    action: &str,
    reason: Option<&str>,
) -> Result<Notice, NoticeError> {
    crate::db::transaction(conn, |conn| {
        let n = get(conn, id)?.ok_or(NoticeError::NotFound)?;
        if !from.contains(&n.status) {
            return Err(NoticeError::WrongStatus(n.status));
        }
        let t = crate::db::now();
        let decision = matches!(
            to,
            NoticeStatus::Approved | NoticeStatus::Rejected | NoticeStatus::Returned
        );
        diesel::update(notices::table.find(id).filter(notices::status.eq(n.status)))
            .set((notices::status.eq(to), notices::updated_at.eq(t)))
            .execute(conn)?;
        if decision {
            diesel::update(notices::table.find(id))
                .set((
                    notices::decision_reason.eq(reason),
                    notices::decided_by.eq(actor),
                    notices::decided_at.eq(Some(t)),
                ))
                .execute(conn)?;
        }
        if to == NoticeStatus::Cancelled {
            diesel::update(notices::table.find(id))
                .set(notices::cancelled_at.eq(Some(t)))
                .execute(conn)?;
        }
        let detail = format!(
            "{} → {}{}",
            n.status,
            to,
            reason.map(|r| format!(": {r}")).unwrap_or_default()
        );
        crate::cases::audit_about(conn, &subject(id), actor, action, Some(&detail))?;
        get(conn, id)?.ok_or(NoticeError::NotFound)
    })
}

/// A broker changes a draft or a returned notice.
pub fn update(conn: &mut DbConn, id: &str, v: &Valid, actor: &str) -> Result<Notice, NoticeError> {
    crate::db::transaction(conn, |conn| {
        let n = get(conn, id)?.ok_or(NoticeError::NotFound)?;
        if !n.editable() {
            return Err(NoticeError::WrongStatus(n.status));
        }
        diesel::update(notices::table.find(id))
            .set((fields!(v), notices::updated_at.eq(crate::db::now())))
            .execute(conn)?;
        crate::cases::audit_about(conn, &subject(id), actor, "notice_edited", None)?;
        get(conn, id)?.ok_or(NoticeError::NotFound)
    })
}

/// The broker asks for approval.
pub fn submit(conn: &mut DbConn, id: &str, actor: &str) -> Result<Notice, NoticeError> {
    transition(
        conn,
        id,
        &[NoticeStatus::Draft, NoticeStatus::Returned],
        NoticeStatus::Submitted,
        actor,
        "notice_submitted",
        None,
    )
}

/// An officer approves, with the targeting and when to send (None: now). Queuing follows in
/// the background (`send::queue_pending`).
pub fn approve(
    conn: &mut DbConn,
    id: &str,
    targeting: &Targeting,
    send_at: Option<NaiveDateTime>,
    actor: &str,
) -> Result<Notice, NoticeError> {
    crate::db::transaction(conn, |conn| {
        let n = get(conn, id)?.ok_or(NoticeError::NotFound)?;
        if n.status != NoticeStatus::Submitted {
            return Err(NoticeError::WrongStatus(n.status));
        }
        diesel::update(notices::table.find(id))
            .set((
                notices::targeting.eq(serde_json::to_string(targeting).unwrap_or_default()),
                notices::send_at.eq(send_at),
            ))
            .execute(conn)?;
        transition(
            conn,
            id,
            &[NoticeStatus::Submitted],
            NoticeStatus::Approved,
            actor,
            "notice_approved",
            None,
        )
    })
}

/// An officer refuses it for good, with a reason the broker sees.
pub fn reject(
    conn: &mut DbConn,
    id: &str,
    reason: &str,
    actor: &str,
) -> Result<Notice, NoticeError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(NoticeError::NoReason);
    }
    transition(
        conn,
        id,
        &[NoticeStatus::Submitted],
        NoticeStatus::Rejected,
        actor,
        "notice_rejected",
        Some(reason),
    )
}

/// An officer sends it back to the broker for changes, saying which.
pub fn send_back(
    conn: &mut DbConn,
    id: &str,
    reason: &str,
    actor: &str,
) -> Result<Notice, NoticeError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(NoticeError::NoReason);
    }
    transition(
        conn,
        id,
        &[NoticeStatus::Submitted],
        NoticeStatus::Returned,
        actor,
        "notice_returned",
        Some(reason),
    )
}

/// Cancels an approved notice: its alerts not yet sent never go.
pub fn cancel(conn: &mut DbConn, id: &str, actor: &str) -> Result<(Notice, usize), NoticeError> {
    crate::db::transaction(conn, |conn| {
        let n = transition(
            conn,
            id,
            &[
                NoticeStatus::Approved,
                NoticeStatus::Submitted,
                NoticeStatus::Draft,
                NoticeStatus::Returned,
            ],
            NoticeStatus::Cancelled,
            actor,
            "notice_cancelled",
            None,
        )?;
        let stopped = super::send::cancel_unsent(conn, id)?;
        Ok((n, stopped))
    })
}

/// Notices newest first: an agency's, or all (officers), optionally of one status.
pub fn list(
    conn: &mut DbConn,
    agency: Option<&str>,
    status: Option<NoticeStatus>,
    limit: i64,
) -> Result<Vec<Notice>, DbError> {
    let mut q = notices::table.into_boxed();
    if let Some(a) = agency {
        q = q.filter(notices::agency.eq(a.to_string()));
    }
    if let Some(s) = status {
        q = q.filter(notices::status.eq(s));
    }
    Ok(q.order(notices::created_at.desc())
        .limit(limit)
        .select(Notice::as_select())
        .load(conn)?)
}
