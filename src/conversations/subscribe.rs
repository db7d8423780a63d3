//! Job alerts by SMS, the worker's side: subscribing (a four-question dialog: place, trades,
//! language, confirm), the newest matching notices on request (pull), and interest in a notice
//! (`YX 1234`, or `1` right after an alert) with the question whether the broker may have the
//! worker's number (a one-question dialog of its own kind).

use chrono::Duration;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::complaint::{is_cancel, yes_no, County};
use super::intent::{self, Intent};
use super::{county_list, open_conversation, short_bo, Ctx, Reply, ReplyError};
use crate::alerts::interest;
use crate::alerts::notices::{self, Notice};
use crate::alerts::register::{self, Subscription};
use crate::alerts::{Trade, WageUnit};
use crate::db::models::{Contact, ContactId, Conversation, ConversationStatus, Language};
use crate::db::schema::{contacts, conversations};
use crate::db::{now, DbConn, DbError};
use crate::templates::TemplateError;
use crate::text::{normalize_digits, normalize_keyword, sms_size, tibetan_digits};

pub const KIND_SUBSCRIBE: &str = "subscribe";
/// "May we give your number to the broker?", after interest in a notice.
pub const KIND_SHARE: &str = "share";
/// A bare `1` answers an alert this recent (and the last message we sent).
const ALERT_ANSWER_DAYS: i64 = 3;
/// Notices in one pull.
const PULL_LIMIT: i64 = 3;

/// What became of a message given to an open dialog of this module.
pub enum Outcome {
    Replied(Vec<Reply>),
    /// A command meant for something else: the dialog is closed, route the message afresh.
    NotForMe,
}

pub fn owns(conv: &Conversation) -> bool {
    conv.kind == KIND_SUBSCRIBE || conv.kind == KIND_SHARE
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Place,
    Trades,
    Language,
    Confirm,
}

impl Step {
    const ALL: [Step; 4] = [Step::Place, Step::Trades, Step::Language, Step::Confirm];

    pub fn as_str(&self) -> &'static str {
        match self {
            Step::Place => "place",
            Step::Trades => "trades",
            Step::Language => "language",
            Step::Confirm => "confirm",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The template that asks this question (each carries an example answer).
    pub fn template(&self) -> &'static str {
        match self {
            Step::Place => "jobs_ask_place",
            Step::Trades => "jobs_ask_trades",
            Step::Language => "jobs_ask_language",
            Step::Confirm => "jobs_confirm",
        }
    }
}

/// Where alerts may come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// One of our counties (its Chinese name, as cases and notices keep it).
    County(String),
    /// Anywhere in Tibet.
    Tibet,
    /// Anywhere in Tibet and outside it.
    Everywhere,
}

/// The answers so far, kept as the conversation's JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choices {
    pub place: Option<Place>,
    /// Trade codes; empty: any trade.
    pub trades: Option<Vec<String>>,
    pub language: Option<Language>,
}

pub fn next_step(c: &Choices) -> Step {
    if c.place.is_none() {
        Step::Place
    } else if c.trades.is_none() {
        Step::Trades
    } else if c.language.is_none() {
        Step::Language
    } else {
        Step::Confirm
    }
}

/// `0` anywhere in Tibet, `1`…`n` a county of the list, `n+1` anywhere and outside Tibet too;
/// or a county's name in either language.
pub fn parse_place(text: &str, counties: &[County]) -> Option<Place> {
    let norm = normalize_digits(&normalize_keyword(text));
    if let Ok(n) = norm.parse::<usize>() {
        return match n {
            0 => Some(Place::Tibet),
            n if n <= counties.len() => Some(Place::County(counties[n - 1].zh.clone())),
            n if n == counties.len() + 1 => Some(Place::Everywhere),
            _ => None,
        };
    }
    let t = text.trim().trim_end_matches(['་', '།']);
    counties
        .iter()
        .find(|c| {
            !t.is_empty()
                && (c.zh == t
                    || c.zh.trim_end_matches(['县', '区', '市']) == t
                    || c.bo.trim_end_matches(['་', '།']) == t
                    || short_bo(&c.bo) == t)
        })
        .map(|c| Place::County(c.zh.clone()))
}

/// Trade numbers, several in one answer: `1 3`, `1,3`, `1、3`, `༡ ༣`, `１３`. With nine trades
/// or fewer, `13` is trades 1 and 3 (no two-digit number is a trade). `0`: any trade (an
/// empty list).
pub fn parse_trades(text: &str, trades: &[Trade]) -> Option<Vec<String>> {
    let norm = normalize_digits(&normalize_keyword(text));
    let tokens: Vec<&str> = norm
        .split(|c: char| c.is_whitespace() || c.is_ascii_punctuation() || "，、。；་།".contains(c))
        .filter(|t| !t.is_empty())
        .collect();
    if tokens.is_empty() {
        return None;
    }
    if tokens == ["0"] {
        return Some(Vec::new());
    }
    let mut picked: Vec<usize> = Vec::new();
    for t in tokens {
        if !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: usize = t.parse().ok()?;
        if (1..=trades.len()).contains(&n) {
            picked.push(n);
        } else if trades.len() <= 9 && t.len() > 1 {
            for d in t.bytes().map(|b| (b - b'0') as usize) {
                if !(1..=trades.len()).contains(&d) {
                    return None;
                }
                picked.push(d);
            }
        } else {
            return None;
        }
    }
    let mut codes: Vec<String> = Vec::new();
    for n in picked {
        let code = &trades[n - 1].code;
        if !codes.contains(code) {
            codes.push(code.clone());
        }
    }
    // Every trade is the same as any trade.
    if codes.len() == trades.len() {
        codes.clear();
    }
    Some(codes)
}

/// 1 Tibetan, 2 Chinese, 3 both (any digits).
pub fn parse_language(text: &str) -> Option<Language> {
    match normalize_digits(&normalize_keyword(text)).as_str() {
        "1" => Some(Language::Bo),
        "2" => Some(Language::Zh),
        "3" => Some(Language::Both),
        _ => None,
    }
}

/// Digits, spaces and punctuation only: an answer to a numbered question, never a command.
fn is_numeric_answer(text: &str) -> bool {
    let norm = normalize_digits(&normalize_keyword(text));
    norm.chars().any(|c| c.is_ascii_digit())
        && norm
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace() || !c.is_alphanumeric())
}

/// The job-alert keyword: the newest matching notices for a subscribed worker, the dialog for
/// anyone else.
pub fn jobs(conn: &mut DbConn, ctx: &Ctx) -> Result<Vec<Reply>, ReplyError> {
    match register::get(conn, &ctx.contact.id)? {
        Some(w) if w.alerts_consent && !ctx.contact.opted_out => {
            let found = interest::matching(conn, &w, ctx.state.config.today(), PULL_LIMIT)?;
            pull_reply(ctx, &found)
        }
        _ => start(conn, ctx),
    }
}

fn pull_reply(ctx: &Ctx, found: &[Notice]) -> Result<Vec<Reply>, ReplyError> {
    if found.is_empty() {
        return Ok(vec![ctx.reply("jobs_none", json!({}))?]);
    }
    let templates = &ctx.state.templates;
    fitted(ctx, "jobs_list", "jobs_list", |lang| {
        let lines = found
            .iter()
            .map(|n| templates.render_lang(lang, "jobs_line", &notice_data(n, lang)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(json!({ "lines": lines.join("\n") }))
    })
}

/// A notice's short line: its title (in Tibetan when it has a Tibetan text), wage and code.
fn notice_data(n: &Notice, lang: &str) -> Value {
    let title = match lang {
        "bo" => bo_title(n.text_bo.as_deref()).unwrap_or_else(|| clip(&n.title, 14)),
        _ => clip(&n.title, 14),
    };
    json!({
        "title": title,
        "code": n.code,
        "wage": yuan(n.wage_fen),
        "day": n.wage_unit == WageUnit::Day,
        "month": n.wage_unit == WageUnit::Month,
        "piece": n.wage_unit == WageUnit::Piece,
        "phone": n.contact_phone,
    })
}

/// The first clause of a notice's Tibetan text, without the sender's 【name】: its title.
fn bo_title(text: Option<&str>) -> Option<String> {
    let text = text?.trim();
    let text = match text.strip_prefix('【') {
        Some(rest) => rest.split_once('】').map(|(_, r)| r).unwrap_or(rest),
        None => text,
    };
    let first = text.split('།').next()?.trim().trim_end_matches('་');
    if first.is_empty() {
        return None;
    }
    // Cut at a syllable: 16 characters is about four syllables, so three lines and the
    // how-to lines fit three Tibetan SMS parts.
    if first.chars().count() <= 16 {
        return Some(first.to_string());
    }
    let cut: String = first.chars().take(16).collect();
    Some(match cut.rfind('་') {
        Some(i) => cut[..i].to_string(),
        None => cut,
    })
}

fn clip(s: &str, n: usize) -> String {
    s.trim().chars().take(n).collect()
}

/// Fen as yuan: `25000` → `250`, `150` → `1.5`.
fn yuan(fen: i64) -> String {
    if fen % 100 == 0 {
        (fen / 100).to_string()
    } else {
        format!("{:.2}", fen as f64 / 100.0)
            .trim_end_matches('0')
            .to_string()
    }
}

/// Starts (or restarts) the subscription dialog.
pub fn start(conn: &mut DbConn, ctx: &Ctx) -> Result<Vec<Reply>, ReplyError> {
    close_open(
        conn,
        ctx.contact,
        KIND_SUBSCRIBE,
        ConversationStatus::Cancelled,
    )?;
    let choices = Choices::default();
    open_conversation(
        conn,
        ctx,
        KIND_SUBSCRIBE,
        Step::Place.as_str(),
        &to_json(&choices),
        ctx.lang,
    )?;
    let intro = ctx.render("jobs_start", json!({}))?;
    ask_after(ctx, &intro, "jobs_start", Step::Place, &choices)
}

/// Takes the worker's message in an open dialog of this module.
pub fn continue_dialog(
    conn: &mut DbConn,
    ctx: &Ctx,
    conv: &Conversation,
    intent: &Intent,
) -> Result<Outcome, ReplyError> {
    if conv.kind == KIND_SHARE {
        return continue_share(conn, ctx, conv, intent);
    }
    let numeric = is_numeric_answer(ctx.text);
    let mut choices: Choices = serde_json::from_str(&conv.answers).unwrap_or_default();
    let step = Step::parse(&conv.step).unwrap_or_else(|| next_step(&choices));
    if matches!(intent, Intent::Jobs | Intent::ChangeJobs) && !numeric {
        return Ok(Outcome::Replied(start(conn, ctx)?));
    }
    // `0` is an answer to the first two questions (anywhere, any trade), and cancels after.
    let zero = normalize_digits(&normalize_keyword(ctx.text)) == "0";
    if is_cancel(ctx.text) && !(zero && matches!(step, Step::Place | Step::Trades)) {
        close(conn, conv, ConversationStatus::Cancelled)?;
        return Ok(Outcome::Replied(vec![
            ctx.reply("jobs_cancelled", json!({}))?
        ]));
    }
    if *intent == Intent::Help {
        touch(conn, conv, step, &choices, conv.failures)?;
        return Ok(Outcome::Replied(ask(ctx, step.template(), step, &choices)?));
    }
    if !numeric && !matches!(intent, Intent::Unknown) {
        // 欠薪, CX …: the worker has something else in mind; nothing is saved.
        close(conn, conv, ConversationStatus::Cancelled)?;
        return Ok(Outcome::NotForMe);
    }
    let taken = match step {
        Step::Place => parse_place(ctx.text, &ctx.state.config.counties)
            .map(|p| choices.place = Some(p))
            .is_some(),
        Step::Trades => parse_trades(ctx.text, &ctx.state.config.alerts.trades)
            .map(|t| choices.trades = Some(t))
            .is_some(),
        Step::Language => parse_language(ctx.text)
            .map(|l| choices.language = Some(l))
            .is_some(),
        Step::Confirm => {
            if yes_no(ctx.text) == Some(true) {
                return Ok(Outcome::Replied(confirm(conn, ctx, conv, &choices)?));
            }
            false
        }
    };
    if taken {
        let next = next_step(&choices);
        touch(conn, conv, next, &choices, 0)?;
        return Ok(Outcome::Replied(ask(ctx, next.template(), next, &choices)?));
    }
    let failures = conv.failures + 1;
    if failures as u32 >= ctx.state.config.dialog.max_failures {
        close(conn, conv, ConversationStatus::Cancelled)?;
        return Ok(Outcome::Replied(
            vec![ctx.reply("jobs_gave_up", json!({}))?],
        ));
    }
    touch(conn, conv, step, &choices, failures)?;
    let lead = ctx.render("jobs_invalid", json!({}))?;
    Ok(Outcome::Replied(ask_after(
        ctx,
        &lead,
        "jobs_invalid",
        step,
        &choices,
    )?))
}

/// The confirmed subscription: the register row with its consent and proof, the worker's
/// language, and the confirmation in that language.
fn confirm(
    conn: &mut DbConn,
    ctx: &Ctx,
    conv: &Conversation,
    choices: &Choices,
) -> Result<Vec<Reply>, ReplyError> {
    let lang = choices.language.unwrap_or(ctx.lang);
    let (alert_county, outside_ok) = match &choices.place {
        Some(Place::County(c)) => (Some(c.clone()), false),
        Some(Place::Everywhere) => (None, true),
        Some(Place::Tibet) | None => (None, false),
    };
    // Kept as the proof of consent: when (consent_at), how, and the dialog it closed.
    let source = format!(
        "sms via {}: {} (conversation {})",
        ctx.channel_id,
        ctx.text.chars().take(40).collect::<String>(),
        conv.id
    );
    diesel::update(contacts::table.find(&ctx.contact.id))
        .set((
            contacts::language.eq(lang),
            contacts::language_chosen.eq(true),
            contacts::updated_at.eq(now()),
        ))
        .execute(conn)?;
    // Asking for alerts is consent to them: a worker who had sent STOP is opted back in,
    // with this dialog as the proof.
    if ctx.contact.opted_out {
        super::inbound::set_opt_out(conn, &ctx.contact.id, false, &source)?;
    }
    register::subscribe(
        conn,
        &ctx.contact.id,
        &Subscription {
            alert_county,
            outside_ok,
            trades: choices.trades.clone().unwrap_or_default(),
        },
        &source,
    )?;
    close(conn, conv, ConversationStatus::Done)?;
    Ok(vec![Reply {
        kind: "jobs_subscribed".into(),
        body: ctx
            .state
            .templates
            .render(lang, "jobs_subscribed", &json!({}))?,
    }])
}

/// The question for `step` under `lead` (a rendered text: the dialog's start, or "not
/// understood"), as one SMS when the two fit the reply budget, else as two.
fn ask_after(
    ctx: &Ctx,
    lead: &str,
    lead_kind: &str,
    step: Step,
    choices: &Choices,
) -> Result<Vec<Reply>, ReplyError> {
    let mut replies = ask(ctx, step.template(), step, choices)?;
    let budget = if ctx.lang == Language::Both { 3 } else { 2 };
    if replies.len() == 1 {
        let body = format!("{lead}\n{}", replies[0].body);
        if sms_size(&body).segments <= budget {
            return Ok(vec![Reply {
                kind: lead_kind.into(),
                body,
            }]);
        }
    }
    replies.insert(
        0,
        Reply {
            kind: lead_kind.into(),
            body: lead.to_string(),
        },
    );
    Ok(replies)
}

/// The question for `step`: one SMS, or, for a worker who reads both languages and the two
/// together pass three segments (the county list), one SMS in each.
fn ask(ctx: &Ctx, kind: &str, step: Step, choices: &Choices) -> Result<Vec<Reply>, ReplyError> {
    let data = question_data(ctx, step, choices);
    fitted(ctx, kind, step.template(), |_| Ok(data.clone()))
}

/// Template `name` as one SMS; for a worker who reads both languages, when the two texts
/// together pass three segments (a county list, a list of notices), one SMS in each.
fn fitted(
    ctx: &Ctx,
    kind: &str,
    name: &str,
    data: impl Fn(&str) -> Result<Value, TemplateError>,
) -> Result<Vec<Reply>, ReplyError> {
    let t = &ctx.state.templates;
    let body = t.render_with(ctx.lang, name, &data)?;
    let reply = |body: String| Reply {
        kind: kind.into(),
        body,
    };
    if ctx.lang == Language::Both && sms_size(&body).segments > 3 {
        return ["bo", "zh"]
            .into_iter()
            .map(|lang| Ok(reply(t.render_lang(lang, name, &data(lang)?)?)))
            .collect();
    }
    Ok(vec![reply(body)])
}

fn question_data(ctx: &Ctx, step: Step, c: &Choices) -> Value {
    let counties = &ctx.state.config.counties;
    let trades = &ctx.state.config.alerts.trades;
    match step {
        Step::Place => {
            let outside = (counties.len() + 1).to_string();
            json!({
                "counties_zh": county_list(counties, "zh"),
                "counties_bo": county_list(counties, "bo"),
                "outside": outside,
                "outside_bo": tibetan_digits(&outside),
            })
        }
        Step::Trades => {
            let list = |bo: bool| {
                trades
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        if bo {
                            format!(
                                "{}{}",
                                tibetan_digits(&(i + 1).to_string()),
                                t.bo.trim_end_matches(['་', '།'])
                            )
                        } else {
                            format!("{}{}", i + 1, t.zh)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            json!({ "trades_zh": list(false), "trades_bo": list(true) })
        }
        Step::Language => json!({}),
        Step::Confirm => {
            let county = match &c.place {
                Some(Place::County(zh)) => counties.iter().find(|x| &x.zh == zh),
                _ => None,
            };
            let picked: Vec<&Trade> = c
                .trades
                .iter()
                .flatten()
                .filter_map(|code| trades.iter().find(|t| &t.code == code))
                .collect();
            json!({
                "county_zh": county.map(|x| x.zh.as_str()),
                "county_bo": county.map(|x| short_bo(&x.bo)),
                "everywhere": c.place == Some(Place::Everywhere),
                "trades_zh": picked.iter().map(|t| t.zh.as_str()).collect::<Vec<_>>().join("、"),
                // Tibetan names fill an SMS part fast: more than three trades by their numbers.
                "trades_bo": if picked.len() <= 3 {
                    picked.iter().map(|t| t.bo.trim_end_matches(['་', '།'])).collect::<Vec<_>>().join(" ")
                } else {
                    String::new()
                },
                "trade_numbers_bo": c.trades.iter().flatten().filter_map(|code| trades.iter().position(|t| &t.code == code)).map(|i| tibetan_digits(&(i + 1).to_string())).collect::<Vec<_>>().join(" "),
                "bo": c.language == Some(Language::Bo),
                "zh": c.language == Some(Language::Zh),
            })
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

fn touch(
    conn: &mut DbConn,
    conv: &Conversation,
    step: Step,
    choices: &Choices,
    failures: i32,
) -> Result<(), ReplyError> {
    diesel::update(conversations::table.find(&conv.id))
        .set((
            conversations::step.eq(step.as_str()),
            conversations::answers.eq(to_json(choices)),
            conversations::failures.eq(failures),
            conversations::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

fn close(
    conn: &mut DbConn,
    conv: &Conversation,
    status: ConversationStatus,
) -> Result<(), ReplyError> {
    diesel::update(conversations::table.find(&conv.id))
        .set((
            conversations::status.eq(status),
            conversations::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Closes the worker's open dialogs of `kind` (a restarted subscription, a newer notice's
/// question).
fn close_open(
    conn: &mut DbConn,
    contact: &Contact,
    kind: &str,
    status: ConversationStatus,
) -> Result<(), ReplyError> {
    diesel::update(
        conversations::table
            .filter(conversations::contact_id.eq(&contact.id))
            .filter(conversations::kind.eq(kind))
            .filter(conversations::status.eq(ConversationStatus::Open)),
    )
    .set((
        conversations::status.eq(status),
        conversations::updated_at.eq(now()),
    ))
    .execute(conn)?;
    Ok(())
}

/// The notice of the alert a bare `1` answers: the last message we sent the worker, an alert
/// sent in the last three days.
pub fn alert_answered_by_one(
    conn: &mut DbConn,
    contact_id: &ContactId,
) -> Result<Option<String>, DbError> {
    let since = now() - Duration::days(ALERT_ANSWER_DAYS);
    interest::latest_alert(conn, contact_id, since, true)
}

/// `YX 1234`, or the "interested" word (None: the alert received in the last three days).
pub fn interest(
    conn: &mut DbConn,
    ctx: &Ctx,
    code: Option<&str>,
) -> Result<Vec<Reply>, ReplyError> {
    let notice = match code {
        Some(code) => notices::by_code(conn, code)?,
        None => {
            let since = now() - Duration::days(ALERT_ANSWER_DAYS);
            match interest::latest_alert(conn, &ctx.contact.id, since, false)? {
                Some(id) => notices::get(conn, &id)?,
                None => return Ok(vec![ctx.reply("interest_which", json!({}))?]),
            }
        }
    };
    let code = code.map(String::from);
    interest_in(conn, ctx, notice, code.as_deref())
}

/// Interest in `notice`: the broker's phone and the safety advice, the answer recorded, and
/// the question whether the broker may have the worker's number.
pub fn interest_in(
    conn: &mut DbConn,
    ctx: &Ctx,
    notice: Option<Notice>,
    code: Option<&str>,
) -> Result<Vec<Reply>, ReplyError> {
    let today = ctx.state.config.today();
    let notice = match notice {
        Some(n) if interest::is_open(&n, today) => n,
        other => {
            let code = code
                .map(String::from)
                .or_else(|| other.map(|n| n.code))
                .unwrap_or_default();
            return Ok(vec![ctx.reply(
                "interest_closed",
                json!({ "code": code, "code_bo": tibetan_digits(&code) }),
            )?]);
        }
    };
    interest::record_interest(conn, &notice.id, &ctx.contact.id)?;
    close_open(conn, ctx.contact, KIND_SHARE, ConversationStatus::Abandoned)?;
    open_conversation(
        conn,
        ctx,
        KIND_SHARE,
        "share",
        &json!({ "notice_id": notice.id }).to_string(),
        ctx.lang,
    )?;
    fitted(ctx, "interest", "interest", |lang| {
        Ok(notice_data(&notice, lang))
    })
}

fn continue_share(
    conn: &mut DbConn,
    ctx: &Ctx,
    conv: &Conversation,
    intent: &Intent,
) -> Result<Outcome, ReplyError> {
    let kept: Value = serde_json::from_str(&conv.answers).unwrap_or_default();
    let notice_id = kept["notice_id"].as_str().unwrap_or_default().to_string();
    if let Some(share) = yes_no(ctx.text) {
        interest::set_share(conn, &notice_id, &ctx.contact.id, share)?;
        close(conn, conv, ConversationStatus::Done)?;
        let name = if share { "share_yes" } else { "share_no" };
        return Ok(Outcome::Replied(vec![ctx.reply(name, json!({}))?]));
    }
    if !is_numeric_answer(ctx.text)
        && (!matches!(intent, Intent::Unknown) || intent::is_greeting_or_command(ctx.text))
    {
        // Something else in mind: the question lapses, the number is not given.
        close(conn, conv, ConversationStatus::Cancelled)?;
        return Ok(Outcome::NotForMe);
    }
    let failures = conv.failures + 1;
    if failures as u32 >= ctx.state.config.dialog.max_failures {
        close(conn, conv, ConversationStatus::Cancelled)?;
        return Ok(Outcome::Replied(vec![
            ctx.reply("share_unanswered", json!({}))?
        ]));
    }
    diesel::update(conversations::table.find(&conv.id))
        .set((
            conversations::failures.eq(failures),
            conversations::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(Outcome::Replied(vec![ctx.reply("share_ask", json!({}))?]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::default_trades;
    use crate::conversations::complaint::default_counties;

    #[test]
    fn places_by_number_or_name() {
        let c = default_counties();
        assert_eq!(parse_place("0", &c), Some(Place::Tibet));
        assert_eq!(parse_place("༠", &c), Some(Place::Tibet));
        assert_eq!(parse_place("１", &c), Some(Place::County("城关区".into())));
        assert_eq!(
            parse_place("༨", &c),
            Some(Place::County("墨竹工卡县".into()))
        );
        assert_eq!(parse_place("9", &c), Some(Place::Everywhere));
        assert_eq!(parse_place("10", &c), None);
        assert_eq!(
            parse_place("城关", &c),
            Some(Place::County("城关区".into()))
        );
        assert_eq!(
            parse_place("ཁྲིན་ཀོན", &c),
            Some(Place::County("城关区".into()))
        );
        assert_eq!(parse_place("啊", &c), None);
    }

    #[test]
    fn several_trades_in_one_answer() {
        let t = default_trades();
        let codes = |s: &str| parse_trades(s, &t);
        let want = Some(vec!["construction".to_string(), "domestic".to_string()]);
        for s in [
            "1 3",
            "1,3",
            "1，3",
            "1、3",
            "13",
            "１３",
            "༡ ༣",
            "༡༣",
            "༡་༣",
            "3 1 1",
        ] {
            let mut got = codes(s);
            if let Some(v) = got.as_mut() {
                v.sort();
            }
            assert_eq!(got, want, "{s}");
        }
        assert_eq!(codes("0"), Some(vec![]));
        assert_eq!(codes("123456789"), Some(vec![]));
        assert_eq!(codes("10"), None);
        assert_eq!(codes("建筑"), None);
        assert_eq!(codes(""), None);
        assert_eq!(parse_language("༣"), Some(Language::Both));
        assert_eq!(parse_language("4"), None);
    }

    #[test]
    fn numeric_answers_and_titles() {
        assert!(is_numeric_answer("1 3"));
        assert!(is_numeric_answer("༡,༣"));
        assert!(!is_numeric_answer("欠薪"));
        assert!(!is_numeric_answer("CX"));
        assert_eq!(yuan(25000), "250");
        assert_eq!(yuan(150), "1.5");
        assert_eq!(
            bo_title(Some("【ལས་མི】བཟོ་སྐྲུན་ལས་མི་དགོས། ཉིན་རེར་སྒོར་༢༥༠")).as_deref(),
            Some("བཟོ་སྐྲུན་ལས་མི")
        );
        assert_eq!(
            bo_title(Some("ལས་མི་དགོས། ཉིན་རེར")).as_deref(),
            Some("ལས་མི་དགོས")
        );
        assert_eq!(bo_title(Some("")), None);
    }
}
