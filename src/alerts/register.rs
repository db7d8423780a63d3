//! The labour-force register (劳动力资源台账): one row per worker's phone, with where they
//! live, their trades, training, whether they seek work, and their consent to job alerts with
//! its proof. A worker's language is their contact's.
//!
//! Officers keep the register as a spreadsheet and import it as CSV, the way projects are
//! imported: the whole file is checked first and one bad row writes nothing. Importing never
//! gives consent by itself: only a row that says yes *and* how the consent was recorded does,
//! and an import never takes a consent away. Workers without consent get one SMS invitation
//! (`invite`), never two.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

use super::{join_codes, Employment, Gender, Trade};
use crate::db::models::{Contact, ContactId, Language, NewContact, PRIORITY_BULK};
use crate::db::schema::{contacts, workers};
use crate::db::{self, new_id, now, DbConn, DbError};
use crate::projects::{parse_yes_no, ImportError, ImportReport, Problem};
use crate::text::sheet::{FirstLines, Header, Row, Sheet};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = workers, primary_key(contact_id))]
pub struct Worker {
    pub contact_id: ContactId,
    pub name: Option<String>,
    pub county: Option<String>,
    pub township: Option<String>,
    pub village: Option<String>,
    pub gender: Option<String>,
    pub birth_year: Option<i32>,
    /// `join_codes` of trade codes.
    pub trades: String,
    pub training: Option<String>,
    pub employment: Employment,
    /// Alerts from this county only; None: anywhere in Tibet.
    pub alert_county: Option<String>,
    /// Jobs outside Tibet too.
    pub outside_ok: bool,
    pub alerts_consent: bool,
    pub consent_at: Option<NaiveDateTime>,
    pub consent_source: Option<String>,
    pub invited_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Worker {
    pub fn trade_codes(&self) -> Vec<String> {
        super::split_codes(&self.trades)
    }
}

pub fn get(conn: &mut DbConn, contact_id: &ContactId) -> Result<Option<Worker>, DbError> {
    Ok(workers::table
        .find(contact_id)
        .select(Worker::as_select())
        .first(conn)
        .optional()?)
}

/// A register worker with their contact (phone, language, opt-out).
#[derive(Debug, Clone)]
pub struct Listed {
    pub worker: Worker,
    pub contact: Contact,
}

/// A worker and their contact by contact id.
pub fn get_listed(conn: &mut DbConn, contact_id: &ContactId) -> Result<Option<Listed>, DbError> {
    Ok(workers::table
        .inner_join(contacts::table)
        .filter(workers::contact_id.eq(contact_id))
        .select((Worker::as_select(), Contact::as_select()))
        .first::<(Worker, Contact)>(conn)
        .optional()?
        .map(|(worker, contact)| Listed { worker, contact }))
}

/// What a worker chose in the SMS subscription dialog.
#[derive(Debug, Clone, Default)]
pub struct Subscription {
    pub alert_county: Option<String>,
    pub outside_ok: bool,
    pub trades: Vec<String>,
}

/// Records a worker's subscription and their consent (`source`: how it was given, kept as
/// proof), creating their register row if they have none.
pub fn subscribe(
    conn: &mut DbConn,
    contact_id: &ContactId,
    sub: &Subscription,
    source: &str,
) -> Result<(), DbError> {
    let t = now();
    let trades = join_codes(&sub.trades);
    let updated = diesel::update(workers::table.find(contact_id))
        .set((
            workers::alert_county.eq(&sub.alert_county),
            workers::outside_ok.eq(sub.outside_ok),
            workers::trades.eq(&trades),
            workers::alerts_consent.eq(true),
            workers::consent_at.eq(Some(t)),
            workers::consent_source.eq(Some(source)),
            workers::updated_at.eq(t),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(workers::table)
            .values((
                workers::contact_id.eq(contact_id),
                workers::county.eq(&sub.alert_county),
                workers::trades.eq(&trades),
                workers::employment.eq(Employment::Seeking),
                workers::alert_county.eq(&sub.alert_county),
                workers::outside_ok.eq(sub.outside_ok),
                workers::alerts_consent.eq(true),
                workers::consent_at.eq(Some(t)),
                workers::consent_source.eq(Some(source)),
                workers::created_at.eq(t),
                workers::updated_at.eq(t),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Gives or withdraws consent to job alerts, keeping when and how as the proof. Does nothing
/// for a number that is not on the register.
pub fn set_consent(
    conn: &mut DbConn,
    contact_id: &ContactId,
    given: bool,
    source: &str,
) -> Result<(), DbError> {
    let t = now();
    diesel::update(workers::table.find(contact_id))
        .set((
            workers::alerts_consent.eq(given),
            workers::consent_at.eq(Some(t)),
            workers::consent_source.eq(Some(source)),
            workers::updated_at.eq(t),
        ))
        .execute(conn)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Columns, values and their checks: one set of rules for the CSV import, the console form and
// the API.

/// A register column: its Chinese and English names (in a CSV header, a form, a JSON body).
pub use crate::text::sheet::Column;

pub const PHONE: usize = 0;
pub const NAME: usize = 1;
pub const COUNTY: usize = 2;
pub const TOWNSHIP: usize = 3;
pub const VILLAGE: usize = 4;
pub const GENDER: usize = 5;
pub const BIRTH_YEAR: usize = 6;
pub const TRADES: usize = 7;
pub const TRAINING: usize = 8;
pub const LANGUAGE: usize = 9;
pub const EMPLOYMENT: usize = 10;
pub const CONSENT: usize = 11;
pub const CONSENT_SOURCE: usize = 12;

/// In the order an export writes them.
pub const COLUMNS: [Column; 13] = [
    Column::required("电话", "phone"),
    Column::optional("姓名", "name"),
    Column::optional("县区", "county"),
    Column::optional("乡镇", "township"),
    Column::optional("村", "village"),
    Column::optional("性别", "gender"),
    Column::optional("出生年份", "birth_year"),
    Column::optional("工种", "trades"),
    Column::optional("培训", "training"),
    Column::optional("语言", "language"),
    Column::optional("就业状态", "employment"),
    Column::optional("同意接收招工信息", "consent"),
    Column::optional("同意方式", "consent_source"),
];

/// What the values are checked against: the bureau's counties and trades, the phone's default
/// country, and this year (for birth years).
#[derive(Debug, Clone)]
pub struct Rules {
    /// County names in Chinese (`counties` in the configuration).
    pub counties: Vec<String>,
    pub trades: Vec<Trade>,
    pub country_code: String,
    pub this_year: i32,
}

/// A worker's oldest and youngest birth years: 16 is the legal working age (劳动法 第十五条).
const OLDEST_BIRTH_YEAR: i32 = 1930;
const WORKING_AGE: i32 = 16;

/// One checked row: the phone, and for every other column what to set. A field is `None` when
/// the file (or form, or body) has no such column: it is left as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkerRow {
    /// Line of the file the row starts on (0 outside a file).
    pub line: u64,
    /// E.164.
    pub phone: String,
    pub name: Option<Option<String>>,
    pub county: Option<Option<String>>,
    pub township: Option<Option<String>>,
    pub village: Option<Option<String>>,
    pub gender: Option<Option<Gender>>,
    pub birth_year: Option<Option<i32>>,
    /// Trade codes; an empty cell clears them.
    pub trades: Option<Vec<String>>,
    pub training: Option<Option<String>>,
    /// An empty cell leaves the language as it is.
    pub language: Option<Language>,
    /// An empty cell leaves it as it is (a new worker: seeking).
    pub employment: Option<Employment>,
    /// Some(how it was recorded): the worker consented (yes, with its proof). Anything else
    /// leaves consent as it is: an import never takes it away.
    pub consent: Option<String>,
}

/// Reads one row's values (`values[column]`, None when there is no such column) with `rules`;
/// every problem as (column, message), the message naming the value but not the column.
pub fn check(
    rules: &Rules,
    values: &[Option<&str>; 13],
) -> Result<WorkerRow, Vec<(usize, String)>> {
    let mut problems: Vec<(usize, String)> = Vec::new();
    let get = |c: usize| values[c].map(str::trim);
    let text = |c: usize| get(c).map(|v| (!v.is_empty()).then(|| v.to_string()));
    let mut row = WorkerRow::default();

    match get(PHONE).unwrap_or("") {
        "" => problems.push((PHONE, "is empty".into())),
        raw => match crate::text::normalize_phone(raw, &rules.country_code) {
            Ok(p) => row.phone = p,
            Err(e) => problems.push((PHONE, format!("\"{raw}\" is not a phone number: {e}"))),
        },
    }
    row.name = text(NAME);
    row.township = text(TOWNSHIP);
    row.village = text(VILLAGE);
    row.training = text(TRAINING);
    row.county = text(COUNTY);
    if let Some(Some(c)) = &row.county {
        if !rules.counties.iter().any(|k| k == c) {
            problems.push((
                COUNTY,
                format!(
                    "\"{c}\" is not one of the counties: {}",
                    rules.counties.join(", ")
                ),
            ));
        }
    }
    row.gender = get(GENDER).map(|v| match v {
        "" => None,
        v => match parse_gender(v) {
            Some(g) => Some(g),
            None => {
                problems.push((GENDER, format!("\"{v}\" is not one of 男, 女, m, f")));
                None
            }
        },
    });
    row.birth_year = get(BIRTH_YEAR).map(|v| match v {
        "" => None,
        v => {
            let latest = rules.this_year - WORKING_AGE;
            match crate::text::normalize_digits(v)
                .trim_end_matches('年')
                .parse::<i32>()
            {
                Ok(y) if (OLDEST_BIRTH_YEAR..=latest).contains(&y) => Some(y),
                _ => {
                    problems.push((
                        BIRTH_YEAR,
                        format!("\"{v}\" is not a year from {OLDEST_BIRTH_YEAR} to {latest}"),
                    ));
                    None
                }
            }
        }
    });
    row.trades = get(TRADES).map(|v| {
        let mut codes = Vec::new();
        for word in v
            .split(['、', '，', ',', ';', '；', ' ', '\u{3000}', '/'])
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            match Trade::find(&rules.trades, word) {
                Some(t) if codes.contains(&t.code) => {}
                Some(t) => codes.push(t.code.clone()),
                None => problems.push((
                    TRADES,
                    format!(
                        "\"{word}\" is not a trade; the trades are {}",
                        Trade::names(&rules.trades)
                    ),
                )),
            }
        }
        codes
    });
    row.language = match get(LANGUAGE).unwrap_or("") {
        "" => None,
        v => {
            let l = parse_language(v);
            if l.is_none() {
                problems.push((
                    LANGUAGE,
                    format!("\"{v}\" is not one of 藏文, 中文, 双语, bo, zh, both"),
                ));
            }
            l
        }
    };
    row.employment = match get(EMPLOYMENT).unwrap_or("") {
        "" => None,
        v => {
            let e = parse_employment(v);
            if e.is_none() {
                problems.push((
                    EMPLOYMENT,
                    format!(
                        "\"{v}\" is not one of 求职, 在岗, 不求职, seeking, working, not_seeking"
                    ),
                ));
            }
            e
        }
    };
    let source = get(CONSENT_SOURCE).filter(|s| !s.is_empty());
    match get(CONSENT).unwrap_or("") {
        "" => {}
        v => match parse_yes_no(v) {
            Some(true) => match source {
                Some(s) => row.consent = Some(s.to_string()),
                None => problems.push((
                    CONSENT,
                    format!(
                        "\"{v}\" needs {} ({}): how and when the worker agreed",
                        COLUMNS[CONSENT_SOURCE].zh, COLUMNS[CONSENT_SOURCE].en
                    ),
                )),
            },
            Some(false) => {}
            None => problems.push((CONSENT, format!("\"{v}\" is not one of 是, 否, yes, no"))),
        },
    }
    if problems.is_empty() {
        Ok(row)
    } else {
        Err(problems)
    }
}

fn parse_gender(v: &str) -> Option<Gender> {
    match v.to_ascii_lowercase().as_str() {
        "男" | "m" | "male" => Some(Gender::Male),
        "女" | "f" | "female" => Some(Gender::Female),
        _ => None,
    }
}

fn parse_language(v: &str) -> Option<Language> {
    match v.to_ascii_lowercase().as_str() {
        "藏文" | "藏语" | "bo" | "བོད་ཡིག" => Some(Language::Bo),
        "中文" | "汉语" | "zh" => Some(Language::Zh),
        "双语" | "both" => Some(Language::Both),
        _ => None,
    }
}

fn parse_employment(v: &str) -> Option<Employment> {
    match v.to_ascii_lowercase().as_str() {
        "求职" | "seeking" => Some(Employment::Seeking),
        "在岗" | "working" => Some(Employment::Working),
        "不求职" | "not_seeking" => Some(Employment::NotSeeking),
        _ => None,
    }
}

/// How the register's files and pages write a language, gender, employment.
pub fn language_zh(l: Language) -> &'static str {
    match l {
        Language::Bo => "藏文",
        Language::Zh => "中文",
        Language::Both => "双语",
    }
}

pub fn gender_zh(g: &str) -> &'static str {
    match g {
        "m" => "男",
        "f" => "女",
        _ => "",
    }
}

pub fn employment_zh(e: Employment) -> &'static str {
    match e {
        Employment::Seeking => "求职",
        Employment::Working => "在岗",
        Employment::NotSeeking => "不求职",
    }
}

/// Trade codes as their Chinese names, joined with 、.
pub fn trades_zh(trades: &[Trade], codes: &[String]) -> String {
    codes
        .iter()
        .map(|c| {
            trades
                .iter()
                .find(|t| &t.code == c)
                .map_or(c.as_str(), |t| t.zh.as_str())
        })
        .collect::<Vec<_>>()
        .join("、")
}

// ---------------------------------------------------------------------------------------------
// Writing one worker, from any of the three doors.

/// What saving a row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Inserted,
    Updated,
    Unchanged,
}

/// The contact of a phone, created (language not chosen yet) when there is none. Inside the
/// caller's transaction.
pub fn contact_of(conn: &mut DbConn, phone: &str) -> Result<Contact, DbError> {
    let find = |conn: &mut DbConn| {
        contacts::table
            .filter(contacts::phone.eq(phone))
            .select(Contact::as_select())
            .first(conn)
            .optional()
    };
    if let Some(c) = find(conn)? {
        return Ok(c);
    }
    let t = now();
    diesel::insert_into(contacts::table)
        .values(NewContact {
            id: &new_id(),
            phone,
            language: Language::Both,
            language_chosen: false,
            opted_out: false,
            created_at: t,
            updated_at: t,
        })
        .execute(conn)?;
    Ok(find(conn)?.ok_or(diesel::result::Error::NotFound)?)
}

/// Creates or updates the worker of `row.phone`, and audits what changed (before and after of
/// each field) as `worker_created` or `worker_updated` by `actor`. A consent in the row is
/// recorded as "`via`: its source" unless the worker has consented already (the earlier proof
/// stays). Call inside a transaction.
pub fn save(
    conn: &mut DbConn,
    row: &WorkerRow,
    actor: &str,
    via: &str,
) -> Result<(Saved, ContactId), DbError> {
    let contact = contact_of(conn, &row.phone)?;
    let t = now();
    let mut changes = serde_json::Map::new();
    let mut change = |field: &str, before: Value, after: Value| {
        if before != after {
            changes.insert(field.into(), json!({ "before": before, "after": after }));
        }
    };
    if let Some(l) = row.language {
        let before = contact.language_chosen.then_some(contact.language.as_str());
        change("language", json!(before), json!(l.as_str()));
        if before != Some(l.as_str()) {
            diesel::update(contacts::table.find(&contact.id))
                .set((
                    contacts::language.eq(l),
                    contacts::language_chosen.eq(true),
                    contacts::updated_at.eq(t),
                ))
                .execute(conn)?;
        }
    }
    let old = get(conn, &contact.id)?;
    let mut w = old.clone().unwrap_or_else(|| Worker {
        contact_id: contact.id.clone(),
        name: None,
        county: None,
        township: None,
        village: None,
        gender: None,
        birth_year: None,
        trades: ",".into(),
        training: None,
        employment: Employment::Seeking,
        alert_county: None,
        outside_ok: false,
        alerts_consent: false,
        consent_at: None,
        consent_source: None,
        invited_at: None,
        created_at: t,
        updated_at: t,
    });
    macro_rules! set {
        ($field:ident, $value:expr) => {
            if let Some(v) = $value {
                change(stringify!($field), json!(w.$field), json!(v));
                w.$field = v;
            }
        };
    }
    set!(name, row.name.clone());
    set!(county, row.county.clone());
    set!(township, row.township.clone());
    set!(village, row.village.clone());
    set!(
        gender,
        row.gender.map(|g| g.map(|g| g.as_str().to_string()))
    );
    set!(birth_year, row.birth_year);
    set!(trades, row.trades.as_ref().map(|c| join_codes(c)));
    set!(training, row.training.clone());
    set!(employment, row.employment);
    if let Some(source) = &row.consent {
        if !w.alerts_consent {
            let proof = format!("{via}: {source}");
            change("alerts_consent", json!(false), json!(true));
            change("consent_source", json!(w.consent_source), json!(proof));
            w.alerts_consent = true;
            w.consent_at = Some(t);
            w.consent_source = Some(proof);
        }
    }
    let saved = match &old {
        None => {
            diesel::insert_into(workers::table)
                .values((
                    workers::contact_id.eq(&w.contact_id),
                    workers::created_at.eq(t),
                    workers::updated_at.eq(t),
                ))
                .execute(conn)?;
            Saved::Inserted
        }
        Some(_) if changes.is_empty() => Saved::Unchanged,
        Some(_) => Saved::Updated,
    };
    if saved != Saved::Unchanged || old.is_none() {
        diesel::update(workers::table.find(&w.contact_id))
            .set((
                workers::name.eq(&w.name),
                workers::county.eq(&w.county),
                workers::township.eq(&w.township),
                workers::village.eq(&w.village),
                workers::gender.eq(&w.gender),
                workers::birth_year.eq(w.birth_year),
                workers::trades.eq(&w.trades),
                workers::training.eq(&w.training),
                workers::employment.eq(w.employment),
                workers::alerts_consent.eq(w.alerts_consent),
                workers::consent_at.eq(w.consent_at),
                workers::consent_source.eq(&w.consent_source),
                workers::updated_at.eq(t),
            ))
            .execute(conn)?;
    }
    if saved != Saved::Unchanged {
        let action = if saved == Saved::Inserted {
            "worker_created"
        } else {
            "worker_updated"
        };
        crate::cases::audit_about(
            conn,
            &subject(&contact.id),
            actor,
            action,
            Some(&json!({ "via": via, "changes": changes }).to_string()),
        )?;
    }
    Ok((saved, contact.id))
}

/// The audit trail's name for a worker.
pub fn subject(contact_id: &ContactId) -> String {
    format!("worker:{contact_id}")
}

// ---------------------------------------------------------------------------------------------
// The CSV file.

/// Imports a register file (CSV, UTF-8 with or without a BOM, a header row naming the columns
/// in Chinese or English in any order; `电话`/`phone` required). Known phones are updated and
/// new ones added, all in one transaction; if any row is bad nothing is written and every bad
/// line is reported. `file_name` goes into each consent's proof.
pub fn import_csv<R: std::io::Read>(
    conn: &mut DbConn,
    rules: &Rules,
    mut reader: R,
    file_name: &str,
    actor: &str,
) -> Result<ImportReport, ImportError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let rows = parse_csv(rules, &bytes).map_err(ImportError::Invalid)?;
    let report = db::transaction(conn, |conn| {
        // Two imports at once on PostgreSQL would both create a new number's contact.
        db::lock_key(conn, "workers:import")?;
        let mut report = ImportReport::default();
        for row in &rows {
            let via = format!("import {file_name} line {}", row.line);
            match save(conn, row, actor, &via)?.0 {
                Saved::Inserted => report.inserted += 1,
                Saved::Updated => report.updated += 1,
                Saved::Unchanged => report.unchanged += 1,
            }
        }
        Ok::<_, DbError>(report)
    })?;
    Ok(report)
}

/// Checks a whole file without touching the database: the rows, or every problem found, each
/// naming its line and column.
pub fn parse_csv(rules: &Rules, bytes: &[u8]) -> Result<Vec<WorkerRow>, Vec<Problem>> {
    let mut sheet = Sheet::open(bytes, &COLUMNS)?;
    let mut phones = FirstLines::default();
    let mut rows = Vec::new();
    while let Some(r) = sheet.next_row() {
        let checked = check_line(rules, sheet.header(), &r, &mut phones);
        rows.extend(sheet.take(r.line, checked));
    }
    sheet.finish(rows)
}

/// One row of a file: its values checked, and its phone not on an earlier line.
fn check_line(
    rules: &Rules,
    h: &Header,
    r: &Row,
    phones: &mut FirstLines,
) -> Result<WorkerRow, Vec<String>> {
    if let Some(m) = h.extra_values(&r.cells) {
        return Err(vec![m]);
    }
    let values: [Option<&str>; 13] = std::array::from_fn(|c| h.get(&r.cells, c));
    let mut row = check(rules, &values).map_err(|ms| {
        ms.into_iter()
            .map(|(c, m)| format!("{} {m}", h.name(c)))
            .collect::<Vec<_>>()
    })?;
    row.line = r.line;
    phones
        .once(row.phone.clone(), r.line, || {
            format!("{} \"{}\"", h.name(PHONE), h.value(&r.cells, PHONE))
        })
        .map_err(|m| vec![m])?;
    Ok(row)
}

/// The whole register as CSV with Chinese headers, UTF-8 with a BOM (so Excel reads it as
/// UTF-8), in the columns `import_csv` reads back. A language not chosen by the worker is
/// left empty, so a round trip does not make it chosen.
pub fn export_csv(conn: &mut DbConn, trades: &[Trade]) -> Result<Vec<u8>, DbError> {
    let rows: Vec<(Worker, Contact)> = workers::table
        .inner_join(contacts::table)
        .order(contacts::phone)
        .select((Worker::as_select(), Contact::as_select()))
        .load(conn)?;
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let header: Vec<&str> = COLUMNS.iter().map(|c| c.zh).collect();
        let write = |w: &mut csv::Writer<&mut Vec<u8>>, r: &[String]| {
            w.write_record(r)
                .map_err(|e| DbError::from(diesel::result::Error::SerializationError(Box::new(e))))
        };
        write(
            &mut w,
            &header.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )?;
        for (worker, contact) in rows {
            write(&mut w, &export_row(&worker, &contact, trades))?;
        }
        w.flush()
            .map_err(|e| DbError::from(diesel::result::Error::SerializationError(Box::new(e))))?;
    }
    Ok(out)
}

fn export_row(w: &Worker, c: &Contact, trades: &[Trade]) -> Vec<String> {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        c.phone.clone(),
        s(&w.name),
        s(&w.county),
        s(&w.township),
        s(&w.village),
        w.gender
            .as_deref()
            .map(gender_zh)
            .unwrap_or_default()
            .into(),
        w.birth_year.map(|y| y.to_string()).unwrap_or_default(),
        trades_zh(trades, &w.trade_codes()),
        s(&w.training),
        if c.language_chosen {
            language_zh(c.language).into()
        } else {
            String::new()
        },
        employment_zh(w.employment).into(),
        if w.alerts_consent { "是" } else { "否" }.into(),
        s(&w.consent_source),
    ]
}

// ---------------------------------------------------------------------------------------------
// Listing and searching.

/// What the search box asks for: a phone number (looking one up is audited) or part of a name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Search {
    #[default]
    None,
    Phone(String),
    Name(String),
}

impl Search {
    /// Digits (with the usual phone punctuation) are a number; anything else is a name.
    pub fn parse(q: &str, country_code: &str) -> Search {
        let q = q.trim();
        if q.is_empty() {
            return Search::None;
        }
        let phoneish = q
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()（）.".contains(c) || ('０'..='９').contains(&c));
        if phoneish {
            match crate::text::normalize_phone(q, country_code) {
                Ok(p) => Search::Phone(p),
                // A number that is not a phone finds nobody.
                Err(_) => Search::Phone(q.to_string()),
            }
        } else {
            Search::Name(q.replace(['%', '_'], ""))
        }
    }
}

/// Which workers a listing shows; every field narrows it.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub county: Option<String>,
    pub trade: Option<String>,
    pub employment: Option<Employment>,
    pub language: Option<Language>,
    pub consent: Option<bool>,
    pub search: Search,
}

pub struct Found {
    pub items: Vec<Listed>,
    pub total: i64,
}

/// Counts over the whole register.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counts {
    pub workers: i64,
    pub consenting: i64,
    pub seeking: i64,
    /// Without consent, not invited yet, not opted out: whom `invite` would text.
    pub to_invite: i64,
}

type Boxed<'a> = workers::BoxedQuery<'a, <DbConn as diesel::Connection>::Backend>;

/// The filter as SQL. `contact`: the result of a search by phone, looked up already (Some(None):
/// a number of no one, which finds nobody).
fn filtered<'a>(f: &'a Filter, contact: Option<Option<ContactId>>) -> Boxed<'a> {
    let mut b = workers::table.into_boxed();
    if let Some(c) = &f.county {
        b = b.filter(workers::county.eq(c));
    }
    if let Some(t) = &f.trade {
        b = b.filter(workers::trades.like(format!("%,{t},%")));
    }
    if let Some(e) = f.employment {
        b = b.filter(workers::employment.eq(e));
    }
    if let Some(l) = f.language {
        b = b.filter(
            workers::contact_id.eq_any(
                contacts::table
                    .filter(contacts::language.eq(l))
                    .filter(contacts::language_chosen.eq(true))
                    .select(contacts::id),
            ),
        );
    }
    if let Some(c) = f.consent {
        b = b.filter(workers::alerts_consent.eq(c));
    }
    if let Search::Name(n) = &f.search {
        b = b.filter(workers::name.like(format!("%{n}%")));
    }
    match contact {
        None => {}
        Some(Some(id)) => b = b.filter(workers::contact_id.eq(id)),
        // The primary key is never null: nobody.
        Some(None) => b = b.filter(workers::contact_id.is_null()),
    }
    b
}

/// A page of workers (by county, then name) and how many match; a search by phone is an audit
/// event by `actor`, about the worker found (or `workers` when none is).
pub fn list(
    conn: &mut DbConn,
    f: &Filter,
    page: i64,
    per_page: i64,
    actor: &str,
) -> Result<Found, DbError> {
    let contact = match &f.search {
        Search::Phone(p) => {
            let id: Option<ContactId> = contacts::table
                .filter(contacts::phone.eq(p))
                .select(contacts::id)
                .first(conn)
                .optional()?;
            let on_register = match &id {
                Some(id) => get(conn, id)?.is_some(),
                None => false,
            };
            let about = match (&id, on_register) {
                (Some(id), true) => subject(id),
                _ => "workers".to_string(),
            };
            crate::cases::audit_about(
                conn,
                &about,
                actor,
                "phone_search",
                Some(&json!({ "phone": p, "found": on_register }).to_string()),
            )?;
            Some(id)
        }
        _ => None,
    };
    let total: i64 = filtered(f, contact.clone()).count().get_result(conn)?;
    let found: Vec<Worker> = filtered(f, contact)
        .order((workers::county, workers::name, workers::contact_id))
        .limit(per_page)
        .offset((page - 1).max(0).saturating_mul(per_page))
        .select(Worker::as_select())
        .load(conn)?;
    let ids: Vec<&ContactId> = found.iter().map(|w| &w.contact_id).collect();
    let mut by_id: HashMap<ContactId, Contact> = contacts::table
        .filter(contacts::id.eq_any(ids))
        .select(Contact::as_select())
        .load::<Contact>(conn)?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let items = found
        .into_iter()
        .filter_map(|w| {
            let contact = by_id.remove(&w.contact_id)?;
            Some(Listed { worker: w, contact })
        })
        .collect();
    Ok(Found { items, total })
}

/// Register workers the invitation is for: no consent, never invited, not opted out.
macro_rules! to_invite {
    () => {
        workers::table
            .inner_join(contacts::table)
            .filter(workers::alerts_consent.eq(false))
            .filter(workers::invited_at.is_null())
            .filter(contacts::opted_out.eq(false))
    };
}

pub fn counts(conn: &mut DbConn) -> Result<Counts, DbError> {
    Ok(Counts {
        workers: workers::table.count().get_result(conn)?,
        consenting: workers::table
            .filter(workers::alerts_consent.eq(true))
            .count()
            .get_result(conn)?,
        seeking: workers::table
            .filter(workers::employment.eq(Employment::Seeking))
            .count()
            .get_result(conn)?,
        to_invite: to_invite!().count().get_result(conn)?,
    })
}

// ---------------------------------------------------------------------------------------------
// The one-time invitation.

/// Workers invited per transaction.
const INVITE_BATCH: i64 = 500;

/// Queues the one-time invitation (`alert_invite`, bulk priority, through the channel of the
/// worker's county, in their language) to every register worker without consent, not invited
/// before and not opted out, marking each invited in the same transaction: run twice, or by two
/// processes at once, a worker still gets it once. Returns how many were queued.
pub fn invite(
    state: &crate::AppState,
    conn: &mut DbConn,
    actor: &str,
) -> Result<usize, InviteError> {
    let mut queued = 0;
    loop {
        let batch: Vec<(Worker, Contact)> = to_invite!()
            .order(workers::contact_id)
            .limit(INVITE_BATCH)
            .select((Worker::as_select(), Contact::as_select()))
            .load(conn)?;
        if batch.is_empty() {
            break;
        }
        let n = db::transaction(conn, |conn| -> Result<usize, InviteError> {
            let mut n = 0;
            for (w, c) in &batch {
                // Taking the row first: a second run racing this one finds nothing to do.
                let t = now();
                let took = diesel::update(
                    workers::table
                        .find(&w.contact_id)
                        .filter(workers::invited_at.is_null())
                        .filter(workers::alerts_consent.eq(false)),
                )
                .set(workers::invited_at.eq(Some(t)))
                .execute(conn)?;
                if took == 0 {
                    continue;
                }
                let body = state
                    .templates
                    .render(c.language, "alert_invite", &json!({}))?;
                crate::sms::outbox::enqueue(
                    conn,
                    &state.config.outbox,
                    &crate::sms::outbox::Draft {
                        channel_id: state.channels.for_county(w.county.as_deref()).to_string(),
                        contact_id: c.id.clone(),
                        phone: c.phone.clone(),
                        body,
                        priority: PRIORITY_BULK,
                        kind: Some("alert_invite".into()),
                        in_reply_to: None,
                    },
                )?;
                n += 1;
            }
            if n > 0 {
                crate::cases::audit_about(
                    conn,
                    "workers",
                    actor,
                    "workers_invited",
                    Some(&json!({ "queued": n }).to_string()),
                )?;
            }
            Ok(n)
        })?;
        queued += n;
        if n == 0 {
            // Every row of the batch was taken by someone else; theirs to finish.
            break;
        }
    }
    if queued > 0 {
        state.outbox_wake.notify_one();
    }
    Ok(queued)
}

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the invitation could not be written: {0}")]
    Template(#[from] crate::templates::TemplateError),
}

impl From<diesel::result::Error> for InviteError {
    fn from(e: diesel::result::Error) -> Self {
        InviteError::Db(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            counties: vec!["城关区".into(), "曲水县".into()],
            trades: super::super::default_trades(),
            country_code: "86".into(),
            this_year: 2026,
        }
    }

    fn messages(csv: &str) -> Vec<String> {
        parse_csv(&rules(), csv.as_bytes())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn chinese_and_english_headers_read_the_same_row() {
        let zh = "电话,姓名,县区,性别,出生年份,工种,语言,就业状态,同意接收招工信息,同意方式\n\
                  139 0000 0001,扎西,城关区,男,1990,建筑、运输,藏文,求职,是,村委会纸质签字 2026-11-03\n";
        let en = "Phone,name,county,gender,birth_year,trades,language,employment,consent,consent_source\n\
                  +8613900000001,扎西,城关区,m,1990,construction transport,bo,seeking,yes,村委会纸质签字 2026-11-03\n";
        let a = parse_csv(&rules(), zh.as_bytes()).unwrap();
        let b = parse_csv(&rules(), en.as_bytes()).unwrap();
        assert_eq!(a, b);
        let r = &a[0];
        assert_eq!(r.line, 2);
        assert_eq!(r.phone, "+8613900000001");
        assert_eq!(r.gender, Some(Some(Gender::Male)));
        assert_eq!(r.birth_year, Some(Some(1990)));
        assert_eq!(
            r.trades,
            Some(vec!["construction".to_string(), "transport".to_string()])
        );
        assert_eq!(r.language, Some(Language::Bo));
        assert_eq!(r.consent.as_deref(), Some("村委会纸质签字 2026-11-03"));
        // Columns the file lacks are left alone.
        assert_eq!(r.township, None);
        assert_eq!(r.training, None);
    }

    #[test]
    fn trades_separated_every_way_and_named_every_way() {
        let csv = "电话,工种\n13900000001,建筑，家政;运输 security、其他、建筑\n";
        let rows = parse_csv(&rules(), csv.as_bytes()).unwrap();
        assert_eq!(
            rows[0].trades.as_deref().unwrap(),
            ["construction", "domestic", "transport", "security", "other"]
        );
    }

    #[test]
    fn every_bad_cell_is_named_by_line_and_column() {
        let csv = "电话,县区,出生年份,工种,性别,同意接收招工信息\n\
                   12345,城关区,1990,建筑,男,否\n\
                   13900000002,拉萨县,199O,挖掘,x,是\n\
                   13900000003,,,,,\n\
                   139-0000-0003,,,,,\n\
                   13900000004,,2015,,,\n";
        assert_eq!(
            messages(csv),
            [
                "line 2: 电话 \"12345\" is not a phone number: the phone number is too short",
                "line 3: 县区 \"拉萨县\" is not one of the counties: 城关区, 曲水县",
                "line 3: 性别 \"x\" is not one of 男, 女, m, f",
                "line 3: 出生年份 \"199O\" is not a year from 1930 to 2010",
                "line 3: 工种 \"挖掘\" is not a trade; the trades are 建筑、运输、家政、民族手工艺、餐饮、保安保洁、农牧、旅游、其他",
                "line 3: 同意接收招工信息 \"是\" needs 同意方式 (consent_source): how and when the worker agreed",
                "line 5: 电话 \"139-0000-0003\" appears twice (also line 4)",
                "line 6: 出生年份 \"2015\" is not a year from 1930 to 2010",
            ]
        );
    }

    #[test]
    fn a_header_without_a_phone_or_with_strangers_is_refused() {
        assert_eq!(
            messages("姓名,备注\n扎西,x\n"),
            [
                "line 1: unknown column \"备注\"; the columns are 电话/phone, 姓名/name, 县区/county, 乡镇/township, 村/village, 性别/gender, 出生年份/birth_year, 工种/trades, 培训/training, 语言/language, 就业状态/employment, 同意接收招工信息/consent, 同意方式/consent_source",
                "line 1: no column 电话 (phone)",
            ]
        );
    }

    #[test]
    fn no_or_empty_consent_gives_nothing() {
        let csv = "电话,同意接收招工信息,同意方式\n13900000001,否,签字\n13900000002,,签字\n";
        let rows = parse_csv(&rules(), csv.as_bytes()).unwrap();
        assert!(rows.iter().all(|r| r.consent.is_none()));
    }

    #[test]
    fn a_phone_search_is_told_from_a_name() {
        assert_eq!(
            Search::parse("139 0000 0001", "86"),
            Search::Phone("+8613900000001".into())
        );
        assert_eq!(Search::parse("扎西", "86"), Search::Name("扎西".into()));
        assert_eq!(Search::parse("  ", "86"), Search::None);
    }
}
