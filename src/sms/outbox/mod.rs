//! The durable outbox: every outgoing SMS is a row before anything is sent. The dispatcher
//! claims rows with a lease, sends them, and records what the gateway said; delivery reports
//! move them on. Each status change is also a `message_events` row, the message's history.

pub mod batch;
pub mod dispatcher;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;

use crate::db::models::{
    ContactId, Direction, Message, MessageStatus, NewMessage, NewMessageEvent,
};
use crate::db::schema::{message_events, messages};
use crate::db::{new_id, now, DbConn, DbError};
use crate::metrics::StatusCount;
use crate::sms::channels::Delivery;
use crate::text::sms_size;
use crate::work::lease::{self, Due};

/// What a caller asks to send.
#[derive(Debug, Clone)]
pub struct Draft {
    pub channel_id: String,
    pub contact_id: ContactId,
    pub phone: String,
    pub body: String,
    pub priority: i32,
    /// Which template produced it (`help`, `stopped`, …), for reports.
    pub kind: Option<String>,
    pub in_reply_to: Option<String>,
}

/// Queues one message; returns its id. Call inside the caller's transaction, and wake the
/// dispatcher after the commit.
pub fn enqueue(conn: &mut DbConn, cfg: &OutboxConfig, draft: &Draft) -> Result<String, DbError> {
    let id = new_id();
    let t = now();
    let size = sms_size(&draft.body);
    let expires = t + Duration::seconds(cfg.max_age_secs as i64);
    diesel::insert_into(messages::table)
        .values(NewMessage {
            id: &id,
            channel_id: &draft.channel_id,
            direction: Direction::Out,
            contact_id: &draft.contact_id,
            phone: &draft.phone,
            our_number: None,
            body: &draft.body,
            encoding: size.encoding.as_str(),
            segments: size.segments as i32,
            gateway_id: None,
            status: MessageStatus::Queued,
            priority: draft.priority,
            kind: draft.kind.as_deref(),
            in_reply_to: draft.in_reply_to.as_deref(),
            attempts: 0,
            next_attempt_at: t,
            expires_at: Some(expires),
            created_at: t,
            updated_at: t,
            gateway_time: None,
        })
        .execute(conn)?;
    record_event(conn, &id, MessageStatus::Queued, None)?;
    Ok(id)
}

pub fn record_event(
    conn: &mut DbConn,
    message_id: &str,
    status: MessageStatus,
    detail: Option<&str>,
) -> Result<(), DbError> {
    diesel::insert_into(message_events::table)
        .values(NewMessageEvent {
            id: &new_id(),
            message_id,
            status,
            detail,
            created_at: now(),
        })
        .execute(conn)?;
    Ok(())
}

/// Claims the most urgent due message of a channel for `token`, or returns None.
///
/// Due: left `sending` by a dispatcher that died, once its lease plus `grace` has passed
/// without a delivery report (the dead dispatcher may have handed it to the gateway already);
/// else queued with its retry time reached. Each pick is a seek on `messages_outbox_idx`.
pub fn claim(
    conn: &mut DbConn,
    channel_id: &str,
    token: &str,
    lease_secs: u64,
    grace_secs: u64,
) -> Result<Option<Message>, DbError> {
    let t = now();
    let pick = |conn: &mut DbConn, due: Due, n: i64| {
        let q = messages::table
            .select(messages::id)
            .filter(messages::channel_id.eq(channel_id))
            .filter(messages::direction.eq(Direction::Out))
            .order((messages::priority, messages::next_attempt_at))
            .limit(n);
        match due {
            Due::Abandoned => crate::locked_ids!(
                conn,
                q.filter(messages::status.eq(MessageStatus::Sending))
                    .filter(messages::lease_until.lt(t - Duration::seconds(grace_secs as i64)))
            ),
            Due::Ready => crate::locked_ids!(
                conn,
                q.filter(messages::status.eq(MessageStatus::Queued))
                    .filter(messages::next_attempt_at.le(t))
            ),
        }
    };
    let take = |conn: &mut DbConn, ids: &[String]| {
        let until = t + Duration::seconds(lease_secs as i64);
        crate::take_rows!(
            conn,
            messages,
            ids,
            MessageStatus::Sending,
            token,
            until,
            t,
            Message
        )
    };
    Ok(lease::claim(conn, 1, pick, take)?.into_iter().next())
}

/// The gateway took the message.
pub fn mark_sent(
    conn: &mut DbConn,
    msg: &Message,
    token: &str,
    gateway_id: Option<&str>,
    detail: &str,
) -> Result<(), DbError> {
    let t = now();
    crate::db::transaction(conn, |conn| {
        let n = diesel::update(crate::held_row!(
            messages,
            &msg.id,
            token,
            MessageStatus::Sending
        ))
        .set((
            messages::status.eq(MessageStatus::Sent),
            messages::sent_at.eq(Some(t)),
            messages::gateway_id.eq(gateway_id),
            messages::lease_owner.eq(None::<String>),
            messages::lease_until.eq(None::<NaiveDateTime>),
            messages::last_error.eq(None::<String>),
            messages::updated_at.eq(t),
        ))
        .execute(conn)?;
        if n == 1 {
            record_event(conn, &msg.id, MessageStatus::Sent, Some(detail))?;
        } else {
            // A delivery report overtook our own bookkeeping: keep its status, drop the lease.
            diesel::update(
                messages::table
                    .filter(messages::id.eq(&msg.id))
                    .filter(messages::lease_owner.eq(token)),
            )
            .set((
                messages::lease_owner.eq(None::<String>),
                messages::lease_until.eq(None::<NaiveDateTime>),
                messages::gateway_id.eq(gateway_id),
            ))
            .execute(conn)?;
        }
        Ok::<_, DbError>(())
    })
}

/// How long a message waits at most between tries while its gateway is down: it goes out
/// within this long of the gateway's return.
pub const OUTAGE_RETRY_SECS: u64 = 60;

/// A failed attempt: back to the queue with a later retry time, or failed for good.
///
/// `gateway_down`: the gateway has failed every message for a while (it is off, out of
/// signal, restarting), so the failure says nothing about this message. Such attempts do not
/// count towards `max_attempts` (only the message's age ends it), and the message is tried
/// again at least every `OUTAGE_RETRY_SECS`, so an hour's outage neither fails the queue nor
/// leaves it waiting half an hour after the gateway is back.
pub fn mark_attempt_failed(
    conn: &mut DbConn,
    cfg: &OutboxConfig,
    msg: &Message,
    token: &str,
    error: &str,
    retryable: bool,
    gateway_down: bool,
) -> Result<MessageStatus, DbError> {
    let t = now();
    let give_up = !retryable || (!gateway_down && msg.attempts as u32 >= cfg.max_attempts);
    let cap = if gateway_down {
        cfg.backoff_max_secs.min(OUTAGE_RETRY_SECS)
    } else {
        cfg.backoff_max_secs
    };
    let next = t + crate::work::backoff(cfg.backoff_base_secs, cap, msg.attempts as u32);
    let give_up = give_up || msg.expires_at.is_some_and(|e| next >= e);
    let status = if give_up {
        MessageStatus::Failed
    } else {
        MessageStatus::Queued
    };
    crate::db::transaction(conn, |conn| {
        let n = diesel::update(crate::held_row!(
            messages,
            &msg.id,
            token,
            MessageStatus::Sending
        ))
        .set((
            messages::status.eq(status),
            messages::next_attempt_at.eq(if give_up { t } else { next }),
            messages::lease_owner.eq(None::<String>),
            messages::lease_until.eq(None::<NaiveDateTime>),
            messages::last_error.eq(Some(error)),
            messages::updated_at.eq(t),
        ))
        .execute(conn)?;
        if n == 1 {
            let detail = if give_up {
                format!("attempt {} failed: {error}", msg.attempts)
            } else {
                format!(
                    "attempt {} failed: {error}; next try at {next} UTC",
                    msg.attempts
                )
            };
            record_event(conn, &msg.id, status, Some(&detail))?;
        }
        Ok::<_, DbError>(status)
    })
}

/// Puts back a claimed message that was never handed to the gateway (shutdown while waiting
/// for the rate limiter), without counting the attempt.
pub fn release(conn: &mut DbConn, msg: &Message, token: &str) -> Result<(), DbError> {
    diesel::update(crate::held_row!(
        messages,
        &msg.id,
        token,
        MessageStatus::Sending
    ))
    .set((
        messages::status.eq(MessageStatus::Queued),
        messages::attempts.eq(messages::attempts - 1),
        messages::lease_owner.eq(None::<String>),
        messages::lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// A message too old to be worth sending.
pub fn mark_expired(conn: &mut DbConn, msg: &Message, token: &str) -> Result<(), DbError> {
    crate::db::transaction(conn, |conn| {
        let n = diesel::update(
            messages::table
                .filter(messages::id.eq(&msg.id))
                .filter(messages::lease_owner.eq(token)),
        )
        .set((
            messages::status.eq(MessageStatus::Expired),
            messages::lease_owner.eq(None::<String>),
            messages::lease_until.eq(None::<NaiveDateTime>),
            messages::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if n == 1 {
            record_event(
                conn,
                &msg.id,
                MessageStatus::Expired,
                Some("not sent before its maximum age"),
            )?;
        }
        Ok::<_, DbError>(())
    })
}

#[derive(Debug, PartialEq, Eq)]
pub enum ReportOutcome {
    Applied(MessageStatus),
    /// Recorded as evidence; the status stays (e.g. a late "accepted" after "delivered").
    Kept(MessageStatus),
    UnknownMessage,
}

/// Applies a delivery report. Reports can arrive out of order and more than once, so a status
/// only moves forward: sending → sent → delivered/failed.
pub fn apply_report(
    conn: &mut DbConn,
    channel_id: &str,
    message_id: &str,
    delivery: Delivery,
    detail: &str,
) -> Result<ReportOutcome, DbError> {
    crate::db::transaction(conn, |conn| {
        // Take the row first: reports for one message often arrive together (8 and 1 within
        // milliseconds), and each must see the other's result, not the status before it.
        diesel::update(messages::table.filter(messages::id.eq(message_id)))
            .set(messages::updated_at.eq(messages::updated_at))
            .execute(conn)?;
        let Some(msg) = messages::table
            .filter(messages::id.eq(message_id))
            .filter(messages::channel_id.eq(channel_id))
            .filter(messages::direction.eq(Direction::Out))
            .select(Message::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(ReportOutcome::UnknownMessage);
        };
        let current = msg.status;
        let target = match (delivery, current) {
            (
                Delivery::Accepted | Delivery::Pending,
                MessageStatus::Sending | MessageStatus::Queued,
            ) => Some(MessageStatus::Sent),
            (
                Delivery::Delivered,
                MessageStatus::Sending
                | MessageStatus::Queued
                | MessageStatus::Sent
                | MessageStatus::Failed,
            ) => Some(MessageStatus::Delivered),
            (
                Delivery::Failed,
                MessageStatus::Sending | MessageStatus::Queued | MessageStatus::Sent,
            ) => Some(MessageStatus::Failed),
            _ => None,
        };
        match target {
            Some(new) => {
                let t = now();
                diesel::update(messages::table.filter(messages::id.eq(&msg.id)))
                    .set((
                        messages::status.eq(new),
                        messages::sent_at.eq(Some(msg.sent_at.unwrap_or(t))),
                        messages::lease_owner.eq(None::<String>),
                        messages::lease_until.eq(None::<NaiveDateTime>),
                        messages::updated_at.eq(t),
                    ))
                    .execute(conn)?;
                record_event(conn, &msg.id, new, Some(detail))?;
                Ok(ReportOutcome::Applied(new))
            }
            None => {
                // A gateway repeating the very same report adds nothing to the history.
                let repeated: bool = diesel::select(diesel::dsl::exists(
                    message_events::table
                        .filter(message_events::message_id.eq(&msg.id))
                        .filter(message_events::status.eq(current))
                        .filter(message_events::detail.eq(detail)),
                ))
                .get_result(conn)?;
                if !repeated {
                    record_event(conn, &msg.id, current, Some(detail))?;
                }
                Ok(ReportOutcome::Kept(current))
            }
        }
    })
}

/// The last `limit` messages to and from these contacts, oldest first: a case's conversation.
pub fn conversation_of(
    conn: &mut DbConn,
    contact_ids: &[ContactId],
    limit: i64,
) -> Result<Vec<Message>, DbError> {
    let mut found: Vec<Message> = messages::table
        .filter(messages::contact_id.eq_any(contact_ids))
        .order(messages::created_at.desc())
        .limit(limit)
        .select(Message::as_select())
        .load(conn)?;
    found.reverse();
    Ok(found)
}

/// The last `limit` messages to and from a phone number on one channel, newest first.
pub fn recent_on_channel(
    conn: &mut DbConn,
    phone: &str,
    channel_id: &str,
    limit: i64,
) -> Result<Vec<Message>, DbError> {
    use crate::db::schema::contacts;
    Ok(messages::table
        .inner_join(contacts::table)
        .filter(contacts::phone.eq(phone))
        .filter(messages::channel_id.eq(channel_id))
        .order(messages::created_at.desc())
        .limit(limit)
        .select(Message::as_select())
        .load(conn)?)
}

/// Counts of messages by channel, direction and status (for /metrics).
pub fn status_counts(conn: &mut DbConn) -> Result<Vec<StatusCount>, DbError> {
    let sql = "SELECT channel_id, direction, status, COUNT(*) AS n FROM messages GROUP BY channel_id, direction, status";
    Ok(crate::per_backend!(conn, c => diesel::sql_query(sql).load::<StatusCount>(c))?)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// A message not handed to a gateway within this many seconds of being queued expires.
    pub max_age_secs: u64,
    /// Attempts before a message that keeps meeting temporary errors is marked failed.
    pub max_attempts: u32,
    /// First retry delay; doubles with each attempt up to `backoff_max_secs`.
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
    /// How long a claimed message belongs to one dispatcher before another may take it.
    pub lease_secs: u64,
    /// After a crash mid-send, how long to wait for the gateway's delivery report before
    /// concluding the message never left and sending it again.
    pub in_flight_grace_secs: u64,
    /// How often idle dispatchers look for work queued by other processes.
    pub poll_interval_ms: u64,
    /// Timeout of one call to a gateway.
    pub send_timeout_secs: u64,
    /// A channel unreachable this long hands its waiting messages that answer nothing (alerts,
    /// notices about a case) to the default channel; replies stay with the worker's channel.
    /// 0: never.
    pub failover_after_secs: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            max_age_secs: 24 * 3600,
            max_attempts: 8,
            backoff_base_secs: 5,
            backoff_max_secs: 1800,
            lease_secs: 60,
            in_flight_grace_secs: 300,
            poll_interval_ms: 500,
            send_timeout_secs: 15,
            failover_after_secs: 900,
        }
    }
}

/// What the console shows of one channel's traffic.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ChannelActivity {
    /// Outgoing messages waiting or being sent.
    pub depth: i64,
    pub last_received: Option<NaiveDateTime>,
    pub last_sent: Option<NaiveDateTime>,
    /// The newest failed attempt's error, and when.
    pub last_error: Option<(NaiveDateTime, String)>,
}

/// A channel's queue depth and last activity. The last three are one index entry each
/// (`messages_received_idx`, `messages_sent_idx`, `messages_error_idx`); the depth counts the
/// queue's entries in `messages_outbox_idx` without reading a row.
pub fn channel_activity(conn: &mut DbConn, channel_id: &str) -> Result<ChannelActivity, DbError> {
    // No direction filter: only outgoing messages are ever queued or sending, and the
    // direction is not in the index (with it, SQLite read every queued row: 135 ms for a
    // million, against 40 ms from the index alone).
    let depth = messages::table
        .filter(messages::channel_id.eq(channel_id))
        .filter(messages::status.eq_any([MessageStatus::Queued, MessageStatus::Sending]))
        .count()
        .get_result(conn)?;
    // The indexes' own conditions, as written in them (see the migration).
    let last_received = messages::table
        .filter(messages::channel_id.eq(channel_id))
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "direction = 'in'",
        ))
        .select(diesel::dsl::max(messages::created_at))
        .first(conn)?;
    // Only outgoing messages are ever sent.
    let last_sent = messages::table
        .filter(messages::channel_id.eq(channel_id))
        .filter(messages::sent_at.is_not_null())
        .select(diesel::dsl::max(messages::sent_at))
        .first(conn)?;
    let last_error = messages::table
        .filter(messages::channel_id.eq(channel_id))
        .filter(messages::direction.eq(Direction::Out))
        .filter(messages::last_error.is_not_null())
        .order(messages::updated_at.desc())
        .select((messages::updated_at, messages::last_error))
        .first::<(NaiveDateTime, Option<String>)>(conn)
        .optional()?
        .and_then(|(t, e)| e.map(|e| (t, e)));
    Ok(ChannelActivity {
        depth,
        last_received,
        last_sent,
        last_error,
    })
}

/// The hours bulk messages may go out (`alerts.send_window`), in the bureau's zone: replies
/// and notices to a worker about their case go at any hour, alerts only inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: chrono::NaiveTime,
    pub end: chrono::NaiveTime,
    /// The bureau's offset from UTC, in seconds.
    pub utc_offset_secs: i32,
}

impl Window {
    fn offset(&self) -> Duration {
        Duration::seconds(self.utc_offset_secs as i64)
    }

    /// Whether a bulk message may go out at `utc`.
    pub fn is_open(&self, utc: NaiveDateTime) -> bool {
        let local = (utc + self.offset()).time();
        local >= self.start && local < self.end
    }

    /// `utc` itself when the window is open then, else the next opening (UTC).
    pub fn next_open(&self, utc: NaiveDateTime) -> NaiveDateTime {
        if self.is_open(utc) {
            return utc;
        }
        let local = utc + self.offset();
        let day = if local.time() < self.start {
            local.date()
        } else {
            local.date() + Duration::days(1)
        };
        day.and_time(self.start) - self.offset()
    }
}

/// A bulk message claimed outside the send window: it and every other bulk message of the
/// channel waiting before `until` wait for the window to open, without counting an attempt.
pub fn defer_bulk(
    conn: &mut DbConn,
    msg: &Message,
    token: &str,
    until: NaiveDateTime,
) -> Result<u64, DbError> {
    crate::db::transaction(conn, |conn| {
        diesel::update(crate::held_row!(
            messages,
            &msg.id,
            token,
            MessageStatus::Sending
        ))
        .set((
            messages::status.eq(MessageStatus::Queued),
            messages::attempts.eq(messages::attempts - 1),
            messages::next_attempt_at.eq(until),
            messages::lease_owner.eq(None::<String>),
            messages::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
        let n = diesel::update(
            messages::table
                .filter(messages::channel_id.eq(&msg.channel_id))
                .filter(messages::status.eq(MessageStatus::Queued))
                .filter(messages::priority.ge(crate::db::models::PRIORITY_BULK))
                .filter(messages::next_attempt_at.lt(until)),
        )
        .set(messages::next_attempt_at.eq(until))
        .execute(conn)?;
        Ok::<_, DbError>(n as u64 + 1)
    })
}

/// A claimed message that must not go (its notice was cancelled, its worker opted out).
pub fn mark_cancelled(
    conn: &mut DbConn,
    msg: &Message,
    token: &str,
    why: &str,
) -> Result<(), DbError> {
    crate::db::transaction(conn, |conn| {
        let n = diesel::update(
            messages::table
                .filter(messages::id.eq(&msg.id))
                .filter(messages::lease_owner.eq(token)),
        )
        .set((
            messages::status.eq(MessageStatus::Cancelled),
            messages::lease_owner.eq(None::<String>),
            messages::lease_until.eq(None::<NaiveDateTime>),
            messages::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if n == 1 {
            record_event(conn, &msg.id, MessageStatus::Cancelled, Some(why))?;
        }
        Ok::<_, DbError>(())
    })
}

/// Whether a bulk message may still go to its worker: not opted out since it was queued,
/// and for a job alert, consent to alerts not withdrawn.
pub fn bulk_still_wanted(conn: &mut DbConn, msg: &Message) -> Result<bool, DbError> {
    use crate::db::schema::{contacts, workers};
    let opted_out: bool = contacts::table
        .find(&msg.contact_id)
        .select(contacts::opted_out)
        .first(conn)?;
    if opted_out {
        return Ok(false);
    }
    if msg.notice_id.is_none() {
        return Ok(true);
    }
    let consent: Option<bool> = workers::table
        .find(&msg.contact_id)
        .select(workers::alerts_consent)
        .first(conn)
        .optional()?;
    Ok(consent.unwrap_or(false))
}

/// Cancels the alerts and follow-up questions still waiting for a worker who has just opted
/// out; returns how many.
pub fn cancel_waiting_alerts(conn: &mut DbConn, contact_id: &ContactId) -> Result<usize, DbError> {
    Ok(diesel::update(
        messages::table
            .filter(messages::contact_id.eq(contact_id))
            .filter(
                messages::notice_id
                    .is_not_null()
                    .nullable()
                    .or(messages::kind.like("followup%")),
            )
            .filter(messages::status.eq(MessageStatus::Queued)),
    )
    .set((
        messages::status.eq(MessageStatus::Cancelled),
        messages::updated_at.eq(now()),
    ))
    .execute(conn)?)
}

/// Hands a channel's waiting messages that answer nothing (priority `PRIORITY_NOTICE` and
/// below: case notices, alerts, invitations) to another channel; `msg`, claimed, goes too.
/// Returns how many moved.
pub fn move_waiting(
    conn: &mut DbConn,
    msg: &Message,
    token: &str,
    to: &str,
) -> Result<usize, DbError> {
    crate::db::transaction(conn, |conn| {
        diesel::update(crate::held_row!(
            messages,
            &msg.id,
            token,
            MessageStatus::Sending
        ))
        .set((
            messages::status.eq(MessageStatus::Queued),
            messages::attempts.eq(messages::attempts - 1),
            messages::lease_owner.eq(None::<String>),
            messages::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
        let ids: Vec<String> = messages::table
            .filter(messages::channel_id.eq(&msg.channel_id))
            .filter(messages::direction.eq(Direction::Out))
            .filter(messages::status.eq(MessageStatus::Queued))
            .filter(messages::priority.ge(crate::db::models::PRIORITY_NOTICE))
            .select(messages::id)
            .load(conn)?;
        let t = now();
        for chunk in ids.chunks(1000) {
            diesel::update(messages::table.filter(messages::id.eq_any(chunk)))
                .set((
                    messages::channel_id.eq(to),
                    messages::next_attempt_at.eq(t),
                    messages::updated_at.eq(t),
                ))
                .execute(conn)?;
        }
        let detail = format!("moved from {} (unreachable) to {to}", msg.channel_id);
        for id in &ids {
            record_event(conn, id, MessageStatus::Queued, Some(&detail))?;
        }
        Ok::<_, DbError>(ids.len())
    })
}

#[cfg(test)]
mod window_tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime};

    fn w() -> Window {
        Window {
            start: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
            utc_offset_secs: 8 * 3600,
        }
    }

    fn utc(d: u32, h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, d)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn the_window_is_in_bureau_time() {
        // 08:00 Beijing is 00:00 UTC; 21:00 Beijing is 13:00 UTC.
        assert!(w().is_open(utc(2, 0, 0)));
        assert!(w().is_open(utc(2, 12, 59)));
        assert!(!w().is_open(utc(2, 13, 0)));
        assert!(!w().is_open(utc(1, 23, 59)));
    }

    #[test]
    fn outside_it_waits_for_the_next_morning() {
        // 22:00 Beijing on the 2nd: the 3rd at 08:00 Beijing.
        assert_eq!(w().next_open(utc(2, 14, 0)), utc(3, 0, 0));
        // 06:00 Beijing on the 3rd (22:00 UTC on the 2nd): the same morning.
        assert_eq!(w().next_open(utc(2, 22, 0)), utc(3, 0, 0));
        assert_eq!(w().next_open(utc(2, 5, 0)), utc(2, 5, 0));
    }
}
