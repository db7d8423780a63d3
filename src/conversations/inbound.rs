//! An incoming SMS, from any channel: stored once (deduplicated on the gateway's id), then
//! routed in a second transaction that queues the reply and marks the message handled. A crash
//! between the two leaves the message `received`, and the gateway's retry routes it then.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde_json::json;

use crate::alerts::register;
use crate::conversations::complaint::Answers;
use crate::conversations::intent::{self, Intent};
use crate::conversations::subscribe::{self, Outcome};
use crate::conversations::{self, Ctx, Reply, ReplyError};
use crate::db::models::{
    Contact, ContactId, Conversation, Direction, Language, Message, MessageStatus, NewContact,
    NewMessage, PRIORITY_REPLY,
};
use crate::db::schema::{contacts, messages};
use crate::db::{new_id, now, DbConn, DbError};
use crate::sms::channels::{plausible_received_at, InboundSms};
use crate::sms::outbox::{self, Draft};
use crate::templates::TemplateError;
use crate::text::{normalize_phone, sms_size, PhoneError};
use crate::AppState;

/// The `encoding` of a stored 8-bit data message.
pub const BINARY: &str = "binary";

#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// Stored and answered.
    Handled { message_id: String },
    /// Seen before (same gateway id) and already handled: nothing done.
    Duplicate { message_id: String },
}

#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("sender {0:?} is not a phone number: {1}")]
    BadSender(String, PhoneError),
    #[error(transparent)]
    Db(#[from] DbError),
    /// Stored, but no answer could be written; the message is marked `error`.
    #[error("stored as {message_id}, but no reply: {source}")]
    Template {
        message_id: String,
        source: TemplateError,
    },
}

impl From<DieselError> for InboundError {
    fn from(e: DieselError) -> Self {
        InboundError::Db(DbError::Query(e))
    }
}

pub async fn receive(
    state: &AppState,
    channel_id: &str,
    sms: InboundSms,
) -> Result<Received, InboundError> {
    let phone = normalize_phone(&sms.from, &state.config.default_country_code)
        .map_err(|e| InboundError::BadSender(sms.from.clone(), e))?;
    // The simulator's numbers and the real ones never meet.
    let simulated = channel_id == crate::sms::channels::SIMULATOR;
    if simulated != crate::sms::channels::is_simulator_number(&phone) {
        return Err(InboundError::BadSender(
            sms.from.clone(),
            PhoneError::Reserved,
        ));
    }
    let ch = channel_id.to_string();
    let stored = state
        .db
        .run(move |c| store(c, &ch, &phone, &sms).map_err(InboundError::from))
        .await?;
    if stored.status != MessageStatus::Received {
        return Ok(Received::Duplicate {
            message_id: stored.id,
        });
    }
    let st = state.clone();
    let id = stored.id.clone();
    let routed = state.db.run(move |c| route(c, &st, &id)).await;
    match routed {
        Ok(true) => {
            state.outbox_wake.notify_one();
            Ok(Received::Handled {
                message_id: stored.id,
            })
        }
        Ok(false) => Ok(Received::Duplicate {
            message_id: stored.id,
        }),
        Err(InboundError::Template { message_id, source }) => {
            tracing::error!(msg_id = %message_id, error = %source, "no reply could be rendered");
            let (id, detail) = (message_id.clone(), source.to_string());
            state.db.run(move |c| mark_error(c, &id, &detail)).await?;
            Err(InboundError::Template { message_id, source })
        }
        Err(e) => Err(e),
    }
}

/// Stores the message (and its contact) once; returns the stored row, old or new.
///
/// A retry carries the gateway's id again from the same sender; the same id from another
/// number is another message (a gateway that restarted its counter), stored as such.
fn store(
    conn: &mut DbConn,
    channel_id: &str,
    phone: &str,
    sms: &InboundSms,
) -> Result<Message, DbError> {
    let stored = |conn: &mut DbConn, gateway_id: &str| {
        messages::table
            .filter(messages::channel_id.eq(channel_id))
            .filter(messages::direction.eq(Direction::In))
            .filter(messages::gateway_id.eq(gateway_id))
            .filter(messages::phone.eq(phone))
            .select(Message::as_select())
            .first(conn)
            .optional()
    };
    crate::db::transaction(conn, |conn| {
        if let Some(gid) = sms.gateway_id.as_deref() {
            if let Some(existing) = stored(conn, gid)? {
                tracing::info!(
                    channel = channel_id,
                    "duplicate delivery of an incoming message"
                );
                return Ok(existing);
            }
        }
        let contact = contact_for(conn, phone)?;
        let id = new_id();
        let t = now();
        let (encoding, segments) = if sms.binary {
            (BINARY, (sms.text.len() / 2).div_ceil(140).max(1) as i32)
        } else {
            let size = sms_size(&sms.text);
            (size.encoding.as_str(), size.segments as i32)
        };
        let received_at = plausible_received_at(sms.received_at, t);
        let inserted = conn.transaction(|conn| {
            diesel::insert_into(messages::table)
                .values(NewMessage {
                    id: &id,
                    channel_id,
                    direction: Direction::In,
                    contact_id: &contact.id,
                    phone,
                    our_number: sms.to.as_deref(),
                    body: &sms.text,
                    encoding,
                    segments,
                    gateway_id: sms.gateway_id.as_deref(),
                    status: MessageStatus::Received,
                    priority: PRIORITY_REPLY,
                    kind: None,
                    in_reply_to: None,
                    attempts: 0,
                    next_attempt_at: t,
                    expires_at: None,
                    created_at: received_at,
                    updated_at: t,
                    gateway_time: sms.gateway_time.as_deref(),
                })
                .execute(conn)
        });
        match inserted {
            Ok(_) => {
                outbox::record_event(conn, &id, MessageStatus::Received, None)?;
            }
            // The same retry racing this one from another worker thread or process.
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
                if sms.gateway_id.is_some() =>
            {
                if let Some(existing) = stored(conn, sms.gateway_id.as_deref().unwrap_or(""))? {
                    return Ok(existing);
                }
                return Err(DieselError::NotFound.into());
            }
            Err(e) => return Err(e.into()),
        }
        Ok(messages::table
            .find(&id)
            .select(Message::as_select())
            .first(conn)?)
    })
}

/// The carrier says the worker of outgoing message `message_id` refused our messages (they
/// replied STOP to it, Twilio error 21610): they are opted out, with the carrier's word kept
/// as the proof.
pub fn refused_at_carrier(conn: &mut DbConn, message_id: &str, via: &str) -> Result<(), DbError> {
    let contact: Option<ContactId> = messages::table
        .find(message_id)
        .select(messages::contact_id)
        .first(conn)
        .optional()?;
    if let Some(id) = contact {
        set_opt_out(conn, &id, true, via)?;
    }
    Ok(())
}

/// Opts a worker out of (or back into) bulk messages, keeping when and how as the proof of
/// consent or refusal. Opting out also withdraws consent to job alerts (with the same proof)
/// and cancels the alerts still waiting, so a STOP stops every alert; opting back in restores
/// alert consent only when it was that opt-out that withdrew it (its proof is the same text),
/// so a START never subscribes a worker who had not subscribed.
pub(super) fn set_opt_out(
    conn: &mut DbConn,
    id: &ContactId,
    opted_out: bool,
    via: &str,
) -> Result<(), DbError> {
    let t = now();
    let previous_via: Option<String> = contacts::table
        .find(id)
        .select(contacts::opt_changed_via)
        .first(conn)?;
    diesel::update(contacts::table.find(id))
        .set((
            contacts::opted_out.eq(opted_out),
            contacts::opt_changed_at.eq(Some(t)),
            contacts::opt_changed_via.eq(Some(via)),
            contacts::updated_at.eq(t),
        ))
        .execute(conn)?;
    if opted_out {
        let cancelled = outbox::cancel_waiting_alerts(conn, id)?;
        if cancelled > 0 {
            tracing::info!(cancelled, "waiting alerts cancelled by an opt-out");
        }
        if register::get(conn, id)?.is_some_and(|w| w.alerts_consent) {
            register::set_consent(conn, id, false, via)?;
        }
        crate::followups::run::opted_out(conn, id, t)?;
    } else if let Some(w) = register::get(conn, id)? {
        let withdrawn_by_opt_out =
            !w.alerts_consent && w.consent_source.is_some() && w.consent_source == previous_via;
        if withdrawn_by_opt_out {
            register::set_consent(conn, id, true, via)?;
        }
    }
    Ok(())
}

/// Sets the language of the worker with this number (created if new), as if they had
/// chosen it by SMS.
pub fn choose_language(conn: &mut DbConn, phone: &str, language: &str) -> Result<(), DbError> {
    let contact = contact_for(conn, phone)?;
    diesel::update(contacts::table.find(&contact.id))
        .set((
            contacts::language.eq(language),
            contacts::language_chosen.eq(true),
        ))
        .execute(conn)?;
    Ok(())
}

/// The contact for a phone number, created on first contact.
pub fn contact_for(conn: &mut DbConn, phone: &str) -> Result<Contact, DbError> {
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
    let id = new_id();
    let created = conn.transaction(|conn| {
        diesel::insert_into(contacts::table)
            .values(NewContact {
                id: &id,
                phone,
                language: Language::Both,
                language_chosen: false,
                opted_out: false,
                created_at: t,
                updated_at: t,
            })
            .execute(conn)
    });
    match created {
        Ok(_) | Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            Ok(find(conn)?.ok_or(DieselError::NotFound)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Decides and applies the answer to a stored message. Returns false if another process
/// handled it first.
fn route(conn: &mut DbConn, state: &AppState, message_id: &str) -> Result<bool, InboundError> {
    crate::db::transaction(conn, |conn| {
        // Taking the row from `received` first means a second process routing the same
        // message (a racing duplicate) waits here and then finds nothing to do.
        let taken = diesel::update(
            messages::table
                .find(message_id)
                .filter(messages::status.eq(MessageStatus::Received)),
        )
        .set((
            messages::status.eq(MessageStatus::Handled),
            messages::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if taken == 0 {
            return Ok(false);
        }
        let msg: Message = messages::table
            .find(message_id)
            .select(Message::as_select())
            .first(conn)?;
        if msg.encoding == BINARY {
            // Data for the handset (a ringtone, a settings push), not words from a worker:
            // kept, never answered.
            return Ok(true);
        }
        let contact: Contact = contacts::table
            .find(&msg.contact_id)
            .select(Contact::as_select())
            .first(conn)?;
        let t = now();
        let lang = intent::reply_language(&contact, &msg.body);
        if !contact.language_chosen
            && lang != contact.lang()
            && intent::language_of(&msg.body).is_some()
        {
            diesel::update(contacts::table.find(&contact.id))
                .set((
                    contacts::language.eq(lang.as_str()),
                    contacts::updated_at.eq(t),
                ))
                .execute(conn)?;
        }
        let intent = intent::classify(&msg.body);
        let replies: Vec<Reply> = match &intent {
            Intent::Stop | Intent::Start => {
                let opted_out = intent == Intent::Stop;
                // Kept as proof of the worker's consent or refusal: when, and what they wrote.
                let via = format!(
                    "sms via {}: {}",
                    msg.channel_id,
                    msg.body.chars().take(40).collect::<String>()
                );
                set_opt_out(conn, &contact.id, opted_out, &via)?;
                let template = if opted_out { "stopped" } else { "started" };
                let body =
                    state
                        .templates
                        .render(lang, template, &json!({}))
                        .map_err(|source| InboundError::Template {
                            message_id: msg.id.clone(),
                            source,
                        })?;
                vec![Reply {
                    kind: template.into(),
                    body,
                }]
            }
            _ => {
                let dialog = conversations::open_dialog(conn, &state.config.dialog, &contact.id)?;
                // Not known yet (Latin letters, digits): one short SMS asks the worker to pick,
                // instead of the menu or a dialog in both languages at full length. A complaint
                // in one message or a status query is answered at once (in both, briefly).
                // A bare `1` answering the alert just sent is answered at once too: the language
                // question would come between the alert and the answer.
                let answers_alert = dialog.is_none()
                    && intent == Intent::Complaint
                    && is_bare_one(&msg.body)
                    && subscribe::alert_answered_by_one(conn, &contact.id)?.is_some();
                let unknown = !answers_alert
                    && !contact.language_chosen
                    && lang == Language::Both
                    && matches!(
                        intent,
                        Intent::Help
                            | Intent::Unknown
                            | Intent::Complaint
                            | Intent::Jobs
                            | Intent::ChangeJobs
                    );
                // The follow-up just asked takes its answers first (a bare digit, even from a
                // worker whose language is not known).
                let followup = conversations::followup::try_answer(
                    conn,
                    &ctx_of(state, &contact, &msg, lang),
                    dialog.as_ref(),
                    &intent,
                    state.time.now(),
                );
                let result = match (followup, dialog) {
                    (Err(e), _) => Err(e),
                    (Ok(Some(replies)), _) => Ok(replies),
                    (Ok(None), dialog) => match dialog {
                        Some(conv) if conv.kind == conversations::KIND_LANGUAGE => {
                            match intent::picked_language(&msg.body) {
                                Some(chosen) => {
                                    // Remembered, then what they first wrote is answered in it.
                                    let original = conversations::language_picked(conn, &conv)?;
                                    diesel::update(contacts::table.find(&contact.id))
                                        .set((
                                            contacts::language.eq(chosen),
                                            contacts::language_chosen.eq(true),
                                            contacts::updated_at.eq(t),
                                        ))
                                        .execute(conn)?;
                                    let contact = Contact {
                                        language: chosen,
                                        language_chosen: true,
                                        ..contact.clone()
                                    };
                                    let ctx = Ctx {
                                        state,
                                        contact: &contact,
                                        channel_id: &msg.channel_id,
                                        text: &original,
                                        lang: chosen,
                                    };
                                    answer(conn, &ctx, &intent::classify(&original), None)
                                }
                                None if unknown => conversations::ask_language(
                                    conn,
                                    &ctx_of(state, &contact, &msg, lang),
                                    Some(&conv),
                                ),
                                None => {
                                    // They wrote in a script: that says it.
                                    conversations::language_picked(conn, &conv)?;
                                    answer(
                                        conn,
                                        &ctx_of(state, &contact, &msg, lang),
                                        &intent,
                                        None,
                                    )
                                }
                            }
                        }
                        None if unknown => conversations::ask_language(
                            conn,
                            &ctx_of(state, &contact, &msg, lang),
                            None,
                        ),
                        dialog => answer(
                            conn,
                            &ctx_of(state, &contact, &msg, lang),
                            &intent,
                            dialog.as_ref(),
                        ),
                    },
                };
                result.map_err(|e| match e {
                    ReplyError::Db(e) => InboundError::Db(e),
                    ReplyError::Template(source) => InboundError::Template {
                        message_id: msg.id.clone(),
                        source,
                    },
                })?
            }
        };
        for reply in replies {
            outbox::enqueue(
                conn,
                &state.config.outbox,
                &Draft {
                    channel_id: msg.channel_id.clone(),
                    contact_id: contact.id.clone(),
                    phone: contact.phone.clone(),
                    body: reply.body,
                    priority: PRIORITY_REPLY,
                    kind: Some(reply.kind),
                    in_reply_to: Some(msg.id.clone()),
                },
            )?;
        }
        let detail = format!("{intent:?}").to_lowercase();
        outbox::record_event(conn, &msg.id, MessageStatus::Handled, Some(&detail))?;
        Ok(true)
    })
}

fn set_status(
    conn: &mut DbConn,
    id: &str,
    status: MessageStatus,
    detail: Option<&str>,
) -> Result<(), DbError> {
    diesel::update(messages::table.find(id))
        .set((
            messages::status.eq(status.as_str()),
            messages::updated_at.eq(now()),
        ))
        .execute(conn)?;
    outbox::record_event(conn, id, status, detail)
}

fn mark_error(conn: &mut DbConn, id: &str, detail: &str) -> Result<(), InboundError> {
    crate::db::transaction(conn, |conn| {
        diesel::update(messages::table.find(id))
            .set(messages::last_error.eq(Some(detail)))
            .execute(conn)?;
        set_status(conn, id, MessageStatus::Error, Some(detail))?;
        Ok(())
    })
}

fn ctx_of<'a>(
    state: &'a AppState,
    contact: &'a Contact,
    msg: &'a Message,
    lang: Language,
) -> Ctx<'a> {
    Ctx {
        state,
        contact,
        channel_id: &msg.channel_id,
        text: &msg.body,
        lang,
    }
}

/// The answer to a message that is not STOP or START, given the worker's open dialog.
fn answer(
    conn: &mut DbConn,
    ctx: &Ctx,
    intent: &Intent,
    dialog: Option<&Conversation>,
) -> Result<Vec<Reply>, ReplyError> {
    match (dialog, intent) {
        // A status query reaches its handler from any step; the dialog stays open.
        (Some(_), Intent::Status(r)) if intent::interrupts_dialog(ctx.text, intent) => {
            conversations::status(conn, ctx, r.as_deref())
        }
        // So does interest in a notice by its code (it asks a question of its own).
        (Some(_), Intent::Interest(Some(code))) => subscribe::interest(conn, ctx, Some(code)),
        (Some(conv), _) if subscribe::owns(conv) => {
            match subscribe::continue_dialog(conn, ctx, conv, intent)? {
                Outcome::Replied(replies) => Ok(replies),
                // Closed: the message is answered as if no dialog had been open.
                Outcome::NotForMe => {
                    let next = conversations::open_dialog(
                        conn,
                        &ctx.state.config.dialog,
                        &ctx.contact.id,
                    )?;
                    let next = next.filter(|c| !subscribe::owns(c));
                    answer(conn, ctx, intent, next.as_ref())
                }
            }
        }
        (Some(conv), _) => conversations::continue_dialog(conn, ctx, conv),
        // A bare `1` right after an alert answers the alert; otherwise it is the menu's
        // complaint.
        (None, Intent::Complaint) if is_bare_one(ctx.text) => {
            match subscribe::alert_answered_by_one(conn, &ctx.contact.id)? {
                Some(notice_id) => {
                    let notice = crate::alerts::notices::get(conn, &notice_id)?;
                    subscribe::interest_in(conn, ctx, notice, None)
                }
                None => conversations::start(conn, ctx, Answers::default(), None),
            }
        }
        (None, Intent::Complaint) => conversations::start(conn, ctx, Answers::default(), None),
        (
            None,
            Intent::ComplaintInOne {
                code,
                workers,
                amount,
            },
        ) => conversations::one_message(conn, ctx, code, *workers, *amount),
        (None, Intent::Status(r)) => conversations::status(conn, ctx, r.as_deref()),
        (None, Intent::Jobs) => subscribe::jobs(conn, ctx),
        (None, Intent::ChangeJobs) => subscribe::start(conn, ctx),
        (None, Intent::Interest(code)) => subscribe::interest(conn, ctx, code.as_deref()),
        (None, _) => Ok(vec![Reply {
            kind: "help".into(),
            body: ctx.state.templates.render(ctx.lang, "help", &json!({}))?,
        }]),
    }
}

/// `1`, `１` or `༡` alone.
fn is_bare_one(text: &str) -> bool {
    crate::text::normalize_keyword(text) == "1"
}
