//! Bulk messages with one text (a job alert to many workers), claimed together so that a
//! gateway that takes several numbers in one call (an Android phone) gets them in one. Each
//! message keeps its own row, status and history; the call's id is their `batch_id`, given
//! before the call is made, so the gateway's reports (the call's id and a number) find their
//! message, and a retry goes under the same id (the phone answers 409 to an id it has).

use chrono::Duration;
use diesel::prelude::*;

use super::claim;
use crate::db::models::{Direction, Message, MessageStatus, PRIORITY_BULK};
use crate::db::schema::messages;
use crate::db::{new_id, now, DbConn, DbError};
use crate::text::recipient_of;

/// A batch's companions are looked for among this many times as many of the channel's next
/// due bulk messages, in outbox order: a notice's alerts wait side by side (one text per
/// language, interleaved), and a bounded look never reads the whole queue for a text that has
/// no companion.
const LOOK_AHEAD: usize = 4;

/// What a dispatcher claimed: one message, or several with one text for one call.
#[derive(Debug)]
pub struct Claimed {
    /// The call's id at the gateway when the messages go as a batch (even one left alone).
    pub batch_id: Option<String>,
    /// The most urgent first.
    pub messages: Vec<Message>,
}

impl Claimed {
    fn alone(message: Message) -> Claimed {
        Claimed {
            batch_id: None,
            messages: vec![message],
        }
    }
}

/// How many messages one call may carry when the most urgent due message has `priority` and
/// `segments` parts. A reply or a notice goes alone, at once. Bulk goes up to the gateway's
/// `max_recipients`, with no more segments than one minute of the channel's rate: the phone
/// sends a call's numbers back to back, and Android counts its cap (30 SMS, in segments) per
/// minute. Always at least 1.
pub fn batch_limit(priority: i32, segments: i32, max_recipients: usize, tps: u32) -> usize {
    if priority < PRIORITY_BULK || max_recipients <= 1 {
        return 1;
    }
    let minute = (tps as usize).saturating_mul(60);
    max_recipients.min(minute / segments.max(1) as usize).max(1)
}

/// Claims the most urgent due message of a channel (`claim`) and, when it is bulk on a channel
/// that takes several numbers a call, the due bulk messages with the same text, up to
/// `batch_limit`. A message claimed under a batch id before (a send that timed out, a
/// dispatcher that died) goes again with the rest of that batch and under its id, never in a
/// new one. The lease covers the wait for the rate limiter: a batch of 50 at 1 segment a
/// second waits 50 s before it goes.
pub fn claim_batch(
    conn: &mut DbConn,
    channel_id: &str,
    token: &str,
    lease_secs: u64,
    grace_secs: u64,
    max_recipients: usize,
    tps: u32,
) -> Result<Option<Claimed>, DbError> {
    crate::db::transaction(conn, |conn| {
        if max_recipients > 1 {
            // One claim at a time on a channel that batches. Otherwise, on PostgreSQL, two
            // dispatchers claiming together each lock a first message and skip the other's
            // (`SKIP LOCKED`), and ten alerts for batches of 4 left in 5 calls instead of 3.
            crate::db::lock_key(conn, &format!("outbox-batch:{channel_id}"))?;
        }
        let Some(first) = claim(conn, channel_id, token, lease_secs, grace_secs)? else {
            return Ok(None);
        };
        let limit = batch_limit(first.priority, first.segments, max_recipients, tps);
        let prior = first.batch_id.clone();
        // A gateway that takes one number a call ignores a batch id from another channel.
        if max_recipients <= 1 || (limit <= 1 && prior.is_none()) {
            return Ok(Some(Claimed::alone(first)));
        }
        let t = now();
        let others = match &prior {
            Some(batch) => {
                let abandoned = t - Duration::seconds(grace_secs as i64);
                crate::locked_ids!(
                    conn,
                    messages::table
                        .select(messages::id)
                        .filter(messages::batch_id.eq(batch))
                        .filter(messages::channel_id.eq(channel_id))
                        .filter(messages::id.ne(&first.id))
                        .filter(
                            messages::status
                                .eq(MessageStatus::Queued)
                                .or(messages::status
                                    .eq(MessageStatus::Sending)
                                    .and(messages::lease_until.lt(abandoned)))
                        )
                )?
            }
            None => {
                let window: Vec<(String, String)> = messages::table
                    .select((messages::id, messages::body))
                    .filter(messages::channel_id.eq(channel_id))
                    .filter(messages::status.eq(MessageStatus::Queued))
                    .filter(messages::priority.ge(PRIORITY_BULK))
                    .filter(messages::next_attempt_at.le(t))
                    .filter(messages::direction.eq(Direction::Out))
                    .filter(messages::batch_id.is_null())
                    .order((messages::priority, messages::next_attempt_at))
                    .limit((limit * LOOK_AHEAD) as i64)
                    .load(conn)?;
                let same: Vec<String> = window
                    .into_iter()
                    .filter(|(id, body)| *body == first.body && *id != first.id)
                    .map(|(id, _)| id)
                    .take(limit - 1)
                    .collect();
                if same.is_empty() {
                    return Ok(Some(Claimed::alone(first)));
                }
                // Locked and checked again: another process may have taken some meanwhile.
                crate::locked_ids!(
                    conn,
                    messages::table
                        .select(messages::id)
                        .filter(messages::id.eq_any(&same))
                        .filter(messages::status.eq(MessageStatus::Queued))
                        .filter(messages::batch_id.is_null())
                )?
            }
        };
        let segments = first.segments.max(1) as i64 * (others.len() as i64 + 1);
        let wait = (segments + tps.max(1) as i64 - 1) / tps.max(1) as i64;
        let until = t + Duration::seconds(lease_secs as i64 + wait);
        let mut batch = vec![first];
        if !others.is_empty() {
            batch.extend(crate::take_rows!(
                conn,
                messages,
                &others,
                MessageStatus::Sending,
                token,
                until,
                t,
                Message
            )?);
        }
        let id = prior.unwrap_or_else(new_id);
        let ids: Vec<&str> = batch.iter().map(|m| m.id.as_str()).collect();
        diesel::update(messages::table.filter(messages::id.eq_any(&ids)))
            .set((messages::batch_id.eq(&id), messages::lease_until.eq(until)))
            .execute(conn)?;
        for m in &mut batch {
            m.batch_id = Some(id.clone());
            m.lease_until = Some(until);
        }
        Ok(Some(Claimed {
            batch_id: Some(id),
            messages: batch,
        }))
    })
}

/// Our id of the message a delivery report is about. A report names our id, or, for a message
/// that went in a batch, the batch's id and the number (`recipient`), which pick the message.
/// A report that fits none gives back the reported id, which `apply_report` does not know.
pub fn reported_message(
    conn: &mut DbConn,
    channel_id: &str,
    reported_id: &str,
    recipient: Option<&str>,
) -> Result<String, DbError> {
    let Some(number) = recipient else {
        return Ok(reported_id.to_string());
    };
    let members: Vec<(String, String)> = messages::table
        .filter(messages::batch_id.eq(reported_id))
        .filter(messages::channel_id.eq(channel_id))
        .select((messages::id, messages::phone))
        .load(conn)?;
    let numbers: Vec<&str> = members.iter().map(|(_, p)| p.as_str()).collect();
    Ok(recipient_of(&numbers, number)
        .and_then(|n| members.iter().find(|(_, p)| p == n))
        .map_or_else(|| reported_id.to_string(), |(id, _)| id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::models::{PRIORITY_NOTICE, PRIORITY_REPLY};

    #[test]
    fn replies_and_notices_go_alone() {
        assert_eq!(batch_limit(PRIORITY_REPLY, 1, 50, 10), 1);
        assert_eq!(batch_limit(PRIORITY_NOTICE, 1, 50, 10), 1);
        assert_eq!(batch_limit(PRIORITY_BULK, 1, 50, 10), 50);
        assert_eq!(batch_limit(PRIORITY_BULK + 1, 1, 50, 10), 50);
    }

    #[test]
    fn a_gateway_of_one_number_a_call_never_batches() {
        assert_eq!(batch_limit(PRIORITY_BULK, 1, 1, 1000), 1);
        assert_eq!(batch_limit(PRIORITY_BULK, 1, 0, 1000), 1);
    }

    #[test]
    fn a_batch_holds_at_most_a_minute_of_the_channels_rate() {
        // 1 segment a second: 60 a minute.
        assert_eq!(batch_limit(PRIORITY_BULK, 1, 50, 1), 50);
        assert_eq!(batch_limit(PRIORITY_BULK, 2, 50, 1), 30);
        assert_eq!(batch_limit(PRIORITY_BULK, 3, 50, 1), 20);
        assert_eq!(batch_limit(PRIORITY_BULK, 3, 500, 2), 40);
        // A message longer than a minute's quota still goes, alone.
        assert_eq!(batch_limit(PRIORITY_BULK, 90, 50, 1), 1);
        assert_eq!(batch_limit(PRIORITY_BULK, 0, 50, 1), 50);
    }
}
