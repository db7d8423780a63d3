//! SMS dialogs, stored in the database so a restart or a second process loses nothing: the
//! wage-complaint intake, the one-message form, and case status queries.

pub mod complaint;
pub mod followup;
pub mod inbound;
pub mod intent;
pub mod subscribe;

use chrono::Duration;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::cases::{self, Clock, Filing};
use crate::db::models::{
    Contact, ContactId, Conversation, ConversationStatus, Language, NewConversation,
};
use crate::db::schema::conversations;
use crate::db::{new_id, now, DbConn, DbError};
use crate::projects;
use crate::templates::TemplateError;
use crate::AppState;
use complaint::{is_cancel, next_step, take_answer, Answers, County, ProjectRef, Step, Turn};

pub const KIND_COMPLAINT: &str = "complaint";
/// The one-question dialog that asks a worker whose language is not known yet to pick one.
pub const KIND_LANGUAGE: &str = "language";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialogConfig {
    /// A worker who comes back after this long is reminded where the dialog stopped.
    pub idle_reminder_minutes: u64,
    /// An unfinished dialog older than this is dropped; the next text starts afresh.
    pub abandon_after_hours: u64,
    /// Wrong answers to one question before a call back is offered instead.
    pub max_failures: u32,
    /// An amount owed under this many yuan is read back to the worker to confirm.
    pub min_amount_yuan: u64,
}

impl Default for DialogConfig {
    fn default() -> Self {
        DialogConfig {
            idle_reminder_minutes: 30,
            abandon_after_hours: 72,
            max_failures: 3,
            min_amount_yuan: 100,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Template(#[from] TemplateError),
}

impl From<diesel::result::Error> for ReplyError {
    fn from(e: diesel::result::Error) -> Self {
        ReplyError::Db(DbError::Query(e))
    }
}

/// One SMS to send back: the template it came from, and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub kind: String,
    pub body: String,
}

/// Everything a turn of a dialog needs.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub contact: &'a Contact,
    pub channel_id: &'a str,
    pub text: &'a str,
    pub lang: Language,
}

impl Ctx<'_> {
    fn render(&self, name: &str, data: Value) -> Result<String, ReplyError> {
        Ok(self.state.templates.render(self.lang, name, &data)?)
    }

    fn reply(&self, name: &str, data: Value) -> Result<Reply, ReplyError> {
        Ok(Reply {
            kind: name.to_string(),
            body: self.render(name, data)?,
        })
    }

    fn counties(&self) -> &[County] {
        &self.state.config.counties
    }

    fn clock(&self) -> Clock<'_> {
        Clock {
            calendar: &self.state.calendar,
            region: self.state.config.region.as_deref(),
            today: self.state.config.today(),
        }
    }

    /// A short lead (a template) and then the question for `step`, as one SMS.
    /// After a wrong answer to the summary, only its choice again: the summary was just sent,
    /// and a Tibetan one fills two SMS alone.
    fn lead_and_ask(&self, lead: &str, step: Step, a: &Answers) -> Result<Reply, ReplyError> {
        let question = match (lead, step) {
            ("complaint_invalid", Step::Confirm) => {
                self.render("complaint_confirm_choice", json!({}))?
            }
            _ => self.ask(step, a)?,
        };
        let body = format!("{}\n{}", self.render(lead, json!({}))?, question);
        Ok(Reply {
            kind: lead.to_string(),
            body,
        })
    }

    /// Files the complete complaint and says so to the worker.
    fn file(
        &self,
        conn: &mut DbConn,
        answers: &Answers,
        conversation_id: Option<&str>,
    ) -> Result<Reply, ReplyError> {
        let filed = self.keep(conn, answers, conversation_id, false)?;
        self.reply(
            "complaint_filed",
            json!({ "reference": filed.case.reference, "accept_due": filed.case.accept_due.map(|d| d.to_string()) }),
        )
    }

    /// Files what the worker has said; `incomplete`: the dialog stalled, and the complaint is
    /// marked for the bureau to call back and complete.
    fn keep(
        &self,
        conn: &mut DbConn,
        answers: &Answers,
        conversation_id: Option<&str>,
        incomplete: bool,
    ) -> Result<cases::Filed, ReplyError> {
        Ok(cases::file_complaint(
            conn,
            &self.state.config.cases,
            &self.clock(),
            &Filing {
                contact: self.contact,
                channel_id: self.channel_id,
                conversation_id,
                answers,
                language: self.lang,
                incomplete,
            },
        )?)
    }

    /// The question for `step`, with what it needs to show.
    fn ask(&self, step: Step, a: &Answers) -> Result<String, ReplyError> {
        let counties = self.counties();
        let list = |lang: &str| county_list(counties, lang);
        let county = a.county.as_deref().unwrap_or("");
        let county_bo = counties
            .iter()
            .find(|c| c.zh == county)
            .map(|c| c.bo.as_str())
            .unwrap_or(county);
        // A Tibetan text ends its phrases with a shad: the worker's own words and the county
        // names lose theirs so none is doubled, and Chinese words get none glued to them.
        let employer = a
            .employer
            .as_deref()
            .map(|e| e.trim().trim_end_matches('།'));
        // A registered project's Tibetan name, when the registry has one.
        let employer_bo = a
            .employer_bo
            .as_deref()
            .map(|e| e.trim().trim_end_matches('།'))
            .or(employer);
        let employer_end = match employer_bo.and_then(|e| e.chars().last()) {
            Some(c) if ('\u{0F00}'..='\u{0FFF}').contains(&c) => "།",
            _ => "",
        };
        let data = json!({
            "counties_zh": list("zh"),
            "counties_bo": list("bo"),
            "employer": employer,
            "employer_bo": employer_bo,
            "employer_end": employer_end,
            "county_zh": county,
            "county_bo": county_bo.trim_end_matches('།'),
            "workers": a.workers,
            "amount": a.amount_yuan,
            "amount_unconfirmed": a.amount_unconfirmed,
            "months": a.months,
            "anonymous": a.anonymous.unwrap_or(true),
        });
        self.render(step.template(), data)
    }
}

/// The counties as a numbered list, one a line: `1 城关区`, or in Tibetan `༡ཁྲིན་ཀོན` (the name
/// without ཆུས (district) or རྫོང (county): a Tibetan SMS holds 67 characters a part, and the
/// question says which).
fn county_list(counties: &[County], lang: &str) -> String {
    counties
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if lang == "bo" {
                format!(
                    "{}{}",
                    crate::text::tibetan_digits(&(i + 1).to_string()),
                    short_bo(&c.bo)
                )
            } else {
                format!("{} {}", i + 1, c.zh)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A county's Tibetan name without its final shad and without ཆུས or རྫོང.
fn short_bo(name: &str) -> &str {
    let name = name.trim_end_matches('།').trim_end_matches('་');
    name.strip_suffix("ཆུས")
        .or_else(|| name.strip_suffix("རྫོང"))
        .unwrap_or(name)
        .trim_end_matches('་')
}

/// The worker's dialog in progress, if any. One left too long is dropped first.
pub fn open_dialog(
    conn: &mut DbConn,
    cfg: &DialogConfig,
    contact_id: &ContactId,
) -> Result<Option<Conversation>, DbError> {
    let stale = now() - Duration::hours(cfg.abandon_after_hours as i64);
    diesel::update(
        conversations::table
            .filter(conversations::contact_id.eq(contact_id))
            .filter(conversations::status.eq(ConversationStatus::Open))
            .filter(conversations::updated_at.lt(stale)),
    )
    .set(conversations::status.eq(ConversationStatus::Abandoned))
    .execute(conn)?;
    Ok(conversations::table
        .filter(conversations::contact_id.eq(contact_id))
        .filter(conversations::status.eq(ConversationStatus::Open))
        .order(conversations::updated_at.desc())
        .select(Conversation::as_select())
        .first(conn)
        .optional()?)
}

fn project_lookup(conn: &mut DbConn, code: &str) -> Result<Option<ProjectRef>, DbError> {
    Ok(projects::get_by_code(conn, code)?.map(|p| ProjectRef {
        id: p.id,
        code: p.code,
        name_zh: p.name_zh,
        name_bo: p.name_bo,
        county: p.county,
    }))
}

/// Asks the worker to pick a language (`language_pick`: one short SMS in both), keeping what
/// they wrote to answer once they have picked. `open`: the question already asked, whose kept
/// text this message replaces.
pub fn ask_language(
    conn: &mut DbConn,
    ctx: &Ctx,
    open: Option<&Conversation>,
) -> Result<Vec<Reply>, ReplyError> {
    let kept = serde_json::json!({ "text": ctx.text }).to_string();
    match open {
        Some(conv) => {
            diesel::update(conversations::table.find(&conv.id))
                .set((
                    conversations::answers.eq(&kept),
                    conversations::updated_at.eq(now()),
                ))
                .execute(conn)?;
        }
        None => open_conversation(conn, ctx, KIND_LANGUAGE, "pick", &kept, Language::Both)?,
    }
    Ok(vec![ctx.reply("language_pick", json!({}))?])
}

/// Opens a dialog of `kind` with the worker, at `step`, keeping `answers` (JSON).
fn open_conversation(
    conn: &mut DbConn,
    ctx: &Ctx,
    kind: &str,
    step: &str,
    answers: &str,
    language: Language,
) -> Result<(), DbError> {
    let t = now();
    diesel::insert_into(conversations::table)
        .values(NewConversation {
            id: &new_id(),
            contact_id: &ctx.contact.id,
            channel_id: ctx.channel_id,
            kind,
            step,
            answers,
            failures: 0,
            status: ConversationStatus::Open,
            language,
            started_at: t,
            updated_at: t,
        })
        .execute(conn)?;
    Ok(())
}

/// Closes the language question; returns what the worker first wrote.
pub fn language_picked(conn: &mut DbConn, conv: &Conversation) -> Result<String, DbError> {
    diesel::update(conversations::table.find(&conv.id))
        .set((
            conversations::status.eq(ConversationStatus::Done),
            conversations::updated_at.eq(now()),
        ))
        .execute(conn)?;
    let kept: Value = serde_json::from_str(&conv.answers).unwrap_or_default();
    Ok(kept["text"].as_str().unwrap_or_default().to_string())
}

/// Starts the complaint dialog (the worker texted 欠薪, QX, 1 …).
pub fn start(
    conn: &mut DbConn,
    ctx: &Ctx,
    answers: Answers,
    intro: Option<Reply>,
) -> Result<Vec<Reply>, ReplyError> {
    let step = next_step(&answers);
    let kept = serde_json::to_string(&answers).unwrap_or_else(|_| "{}".into());
    open_conversation(conn, ctx, KIND_COMPLAINT, step.as_str(), &kept, ctx.lang)?;
    let intro = match intro {
        Some(r) => r,
        None => ctx.reply("complaint_start", json!({}))?,
    };
    let body = format!("{}\n{}", intro.body, ctx.ask(step, &answers)?);
    Ok(vec![Reply {
        kind: step.template().into(),
        body,
    }])
}

/// Takes the worker's answer to the dialog's current question.
pub fn continue_dialog(
    conn: &mut DbConn,
    ctx: &Ctx,
    conv: &Conversation,
) -> Result<Vec<Reply>, ReplyError> {
    let cfg = &ctx.state.config.dialog;
    let mut answers: Answers = serde_json::from_str(&conv.answers).unwrap_or_default();
    let step = Step::parse(&conv.step).unwrap_or_else(|| next_step(&answers));
    let save = |conn: &mut DbConn,
                step: &str,
                answers: &Answers,
                failures: i32,
                status: ConversationStatus| {
        diesel::update(conversations::table.find(&conv.id))
            .set((
                conversations::step.eq(step),
                conversations::answers
                    .eq(serde_json::to_string(answers).unwrap_or_else(|_| "{}".into())),
                conversations::failures.eq(failures),
                conversations::status.eq(status),
                conversations::updated_at.eq(now()),
            ))
            .execute(conn)
    };
    // The question stays open, the wrong answers counted so far too.
    let stay = |conn: &mut DbConn, answers: &Answers| {
        save(
            conn,
            step.as_str(),
            answers,
            conv.failures,
            ConversationStatus::Open,
        )
    };
    // Back after a pause with something else in mind: remind where the dialog stopped and how
    // to cancel; it is not a wrong answer.
    let resume = |conn: &mut DbConn, answers: &Answers| -> Result<Vec<Reply>, ReplyError> {
        stay(conn, answers)?;
        Ok(vec![ctx.lead_and_ask("complaint_resume", step, answers)?])
    };
    if is_cancel(ctx.text) {
        save(
            conn,
            step.as_str(),
            &answers,
            conv.failures,
            ConversationStatus::Cancelled,
        )?;
        return Ok(vec![ctx.reply("complaint_cancelled", json!({}))?]);
    }
    if crate::conversations::intent::classify(ctx.text)
        == crate::conversations::intent::Intent::Help
    {
        // Asking for help is not a wrong answer: repeat the question.
        stay(conn, &answers)?;
        return Ok(vec![Reply {
            kind: step.template().into(),
            body: ctx.ask(step, &answers)?,
        }]);
    }
    let idle = now() - conv.updated_at > Duration::minutes(cfg.idle_reminder_minutes as i64);
    if idle && crate::conversations::intent::is_greeting_or_command(ctx.text) {
        // A greeting or a command is not the answer, even where any text would do.
        return resume(conn, &answers);
    }
    // Only the employer question can name a registered project.
    let project = match step {
        Step::Employer => project_lookup(conn, &crate::text::normalize_keyword(ctx.text))?,
        _ => None,
    };
    let turn = take_answer(
        step,
        &mut answers,
        ctx.text,
        ctx.counties(),
        cfg.min_amount_yuan,
        &|_| project.clone(),
    );
    match turn {
        Turn::Taken => {
            let next = next_step(&answers);
            save(conn, next.as_str(), &answers, 0, ConversationStatus::Open)?;
            Ok(vec![Reply {
                kind: next.template().into(),
                body: ctx.ask(next, &answers)?,
            }])
        }
        Turn::Confirmed => {
            let reply = ctx.file(conn, &answers, Some(&conv.id))?;
            save(conn, step.as_str(), &answers, 0, ConversationStatus::Done)?;
            Ok(vec![reply])
        }
        Turn::Invalid if idle => resume(conn, &answers),
        Turn::Invalid => {
            let failures = conv.failures + 1;
            if failures as u32 >= cfg.max_failures {
                save(
                    conn,
                    step.as_str(),
                    &answers,
                    failures,
                    ConversationStatus::Callback,
                )?;
                // Nothing is thrown away: what the worker has said is kept as a complaint the
                // bureau completes by phone.
                let kept = ctx.keep(conn, &answers, Some(&conv.id), true)?;
                cases::audit(
                    conn,
                    Some(&kept.case.id),
                    &cases::worker_actor(ctx.contact),
                    "callback_requested",
                    Some(&format!(
                        "conversation {} stuck at {}",
                        conv.id,
                        step.as_str()
                    )),
                )?;
                return Ok(vec![ctx.reply(
                    "complaint_callback",
                    json!({ "reference": kept.case.reference }),
                )?]);
            }
            save(
                conn,
                step.as_str(),
                &answers,
                failures,
                ConversationStatus::Open,
            )?;
            Ok(vec![ctx.lead_and_ask(
                "complaint_invalid",
                step,
                &answers,
            )?])
        }
    }
}

/// `QX <project code> <workers> <amount>`: filed at once when the code is registered;
/// otherwise the dialog starts, with what the message did say kept.
pub fn one_message(
    conn: &mut DbConn,
    ctx: &Ctx,
    code: &str,
    workers: u32,
    amount: u64,
) -> Result<Vec<Reply>, ReplyError> {
    match project_lookup(conn, code)? {
        Some(p) => {
            let answers = Answers {
                project_id: Some(p.id),
                project_code: Some(p.code),
                employer: Some(p.name_zh),
                employer_bo: p.name_bo,
                county: Some(p.county),
                workers: Some(workers),
                amount_yuan: Some(amount),
                amount_unconfirmed: None,
                months: None,
                // The protective default: the identity stays with the bureau.
                anonymous: Some(true),
            };
            Ok(vec![ctx.file(conn, &answers, None)?])
        }
        None => {
            let answers = Answers {
                workers: Some(workers),
                amount_yuan: Some(amount),
                ..Answers::default()
            };
            let intro = ctx.reply("complaint_project_unknown", json!({ "code": code }))?;
            start(conn, ctx, answers, Some(intro))
        }
    }
}

/// `CX <ref>`, 查询, 3: a case's state, only for a number that complained on it.
pub fn status(
    conn: &mut DbConn,
    ctx: &Ctx,
    reference: Option<&str>,
) -> Result<Vec<Reply>, ReplyError> {
    let case = match reference {
        Some(r) => match cases::reference::parse(r) {
            Some(r) => cases::case_for_complainant(conn, &r, &ctx.contact.id)?,
            None => None,
        },
        None => {
            let mine = cases::cases_of(conn, &ctx.contact.id)?;
            if mine.len() > 1 {
                let refs: Vec<&str> = mine.iter().map(|c| c.reference.as_str()).collect();
                return Ok(vec![
                    ctx.reply("case_list", json!({ "references": refs.join(" ") }))?
                ]);
            }
            mine.into_iter().next()
        }
    };
    match case {
        Some(case) => {
            let body = ctx.state.templates.render_with(ctx.lang, "case_status", |lang| {
                Ok(json!({ "reference": case.reference, "state_text": crate::cases::actions::state_text(ctx.state, lang, &case)? }))
            })?;
            Ok(vec![Reply {
                kind: "case_status".into(),
                body,
            }])
        }
        // The same answer whether the case does not exist or is someone else's.
        None => {
            Ok(vec![ctx.reply(
                "case_not_found",
                json!({ "reference": reference }),
            )?])
        }
    }
}
