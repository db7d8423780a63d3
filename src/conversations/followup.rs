//! A worker's replies to a follow-up. The follow-up waiting for answers takes a message when
//! it was the last thing said to the worker (no dialog moved since it asked) and the message
//! is an answer: digits (`1`, `༡`, `1 3`), or a yes or a no to a yes-or-no question. Days
//! later is fine (until it closes, after the reminder). Free text gets the question again
//! with an example; a keyword (`查询`, `工作`, …) goes where it always goes, and the
//! follow-up waits.

use chrono::NaiveDateTime;
use serde_json::json;

use super::complaint::{next_step, yes_no};
use super::intent::Intent;
use super::{Ctx, Reply, ReplyError, KIND_COMPLAINT};
use crate::db::models::{Conversation, Language};
use crate::db::DbConn;
use crate::followups::answers::{self, Next};
use crate::followups::questions::Question;
use crate::followups::run::{self, Followup, RunError};

impl From<RunError> for ReplyError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::Db(e) => ReplyError::Db(e),
            RunError::Template(e) => ReplyError::Template(e),
        }
    }
}

/// The answers in a message to question `q`: its numbers, or `1`/`2` for a yes or a no. None
/// when the message holds neither (it is text).
pub fn tokens(text: &str, q: Question) -> Option<Vec<String>> {
    if q.is_yes_no() {
        if let Some(yes) = yes_no(text) {
            return Some(vec![if yes { "1" } else { "2" }.to_string()]);
        }
    }
    let digits = crate::text::normalize_digits(text);
    // Numbers, and what separates them: spaces, commas, full stops, the shad.
    let only_numbers = digits.chars().all(|c| {
        c.is_ascii_digit()
            || c.is_whitespace()
            || matches!(c, ',' | '，' | '、' | '.' | '。' | '།' | '་' | '-' | '/')
    });
    if !only_numbers {
        return None;
    }
    let toks: Vec<String> = digits
        .split(|c: char| !c.is_ascii_digit())
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect();
    (!toks.is_empty()).then_some(toks)
}

/// Answers the worker's open follow-up with this message, if it is for it. None: route the
/// message as usual.
pub fn try_answer(
    conn: &mut DbConn,
    ctx: &Ctx,
    dialog: Option<&Conversation>,
    intent: &Intent,
    now: NaiveDateTime,
) -> Result<Option<Vec<Reply>>, ReplyError> {
    let Some(f) = run::open_for(conn, &ctx.contact.id)? else {
        return Ok(None);
    };
    // A dialog the worker went on with after the follow-up asked has the floor.
    if dialog.is_some_and(|d| d.updated_at > f.updated_at) {
        return Ok(None);
    }
    let Some(asked) = f.asked() else {
        return Ok(None);
    };
    let toks = match tokens(ctx.text, asked) {
        Some(t) => t,
        // Words that are not a command: not an answer, asked again with an example.
        None if *intent == Intent::Unknown => Vec::new(),
        None => return Ok(None),
    };
    let lang = f
        .language
        .as_deref()
        .and_then(Language::parse)
        .unwrap_or(ctx.lang);
    let ctx = Ctx { lang, ..*ctx };
    let applied = answers::apply(conn, ctx.state, &f, &toks, now)?;
    replies(conn, &ctx, &f, applied)
}

fn replies(
    conn: &mut DbConn,
    ctx: &Ctx,
    f: &Followup,
    applied: answers::Applied,
) -> Result<Option<Vec<Reply>>, ReplyError> {
    let about = &applied.about;
    let empty = json!({});
    let (kind, parts): (String, Vec<(String, &serde_json::Value)>) = match applied.next {
        Next::Ask(q) => (q.template(), vec![(q.template(), about)]),
        Next::Again(q) => (
            "followup_again".into(),
            vec![("followup_again".into(), &empty), (q.template(), about)],
        ),
        Next::Thanks(t) => (t.into(), vec![(t.into(), about)]),
        Next::GaveUp => (
            "followup_gave_up".into(),
            vec![("followup_gave_up".into(), &empty)],
        ),
        Next::File(answers) => {
            // The complaint dialog, at its summary: everything is known from the placement and
            // the answers; the worker confirms (or cancels).
            tracing::info!(followup = %f.id, "a follow-up answer becomes a complaint");
            let step = next_step(&answers);
            let kept = serde_json::to_string(&answers).unwrap_or_else(|_| "{}".into());
            super::open_conversation(conn, ctx, KIND_COMPLAINT, step.as_str(), &kept, ctx.lang)?;
            return Ok(Some(vec![Reply {
                kind: step.template().into(),
                body: ctx.ask(step, &answers)?,
            }]));
        }
    };
    let parts: Vec<(&str, &serde_json::Value)> =
        parts.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    let bodies = ctx
        .state
        .templates
        .render_parts(ctx.lang, &parts, run::BOTH_SEGMENTS)?;
    Ok(Some(
        bodies
            .into_iter()
            .map(|body| Reply {
                kind: kind.clone(),
                body,
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_any_script_are_answers() {
        assert_eq!(tokens("1", Question::Working), Some(vec!["1".into()]));
        assert_eq!(tokens("༣", Question::Paid), Some(vec!["3".into()]));
        assert_eq!(
            tokens("1，3", Question::Working),
            Some(vec!["1".into(), "3".into()])
        );
        assert_eq!(tokens("２ ", Question::Amount), Some(vec!["2".into()]));
        assert_eq!(tokens("还在干", Question::Working), None);
        assert_eq!(tokens("", Question::Working), None);
    }

    #[test]
    fn a_yes_or_a_no_answers_a_yes_or_no_question() {
        assert_eq!(tokens("是", Question::File), Some(vec!["1".into()]));
        assert_eq!(tokens("ཡིན", Question::Started), Some(vec!["1".into()]));
        assert_eq!(tokens("不要", Question::Alerts), Some(vec!["2".into()]));
        assert_eq!(tokens("是", Question::Working), None);
    }
}
