//! What a worker asks of the job notices by SMS: the newest open notices that match their
//! subscription (`matching`), a notice by the code they typed back, the alert they last got
//! (`latest_alert`), and their interest in a notice with their consent to their number going
//! to its broker (`record_interest`, `set_share`). Storage only; the texts are the
//! conversations' business.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::notices::Notice;
use super::register::Worker;
use super::NoticeStatus;
use crate::db::models::{ContactId, Direction, MessageStatus};
use crate::db::schema::{messages, notice_responses, notices};
use crate::db::{new_id, now, DbConn, DbError};

/// Whether a notice still takes workers on `today` (bureau time): approved, not cancelled, not
/// past its last day.
pub fn is_open(notice: &Notice, today: NaiveDate) -> bool {
    notice.status == NoticeStatus::Approved
        && notice.cancelled_at.is_none()
        && notice.valid_until >= today
}

/// The `limit` newest open notices for `worker`: in their county (any county of ours when they
/// named none), or outside Tibet when they accept that; in one of their trades, or any trade
/// when they named none.
pub fn matching(
    conn: &mut DbConn,
    worker: &Worker,
    today: NaiveDate,
    limit: i64,
) -> Result<Vec<Notice>, DbError> {
    let mut q = notices::table
        .filter(notices::status.eq(NoticeStatus::Approved))
        .filter(notices::cancelled_at.is_null())
        .filter(notices::valid_until.ge(today))
        .into_boxed();
    q = match (&worker.alert_county, worker.outside_ok) {
        (Some(c), false) => q.filter(notices::county.eq(c.clone())),
        (Some(c), true) => q.filter(
            notices::county
                .eq(c.clone())
                .or(notices::place_outside.is_not_null().nullable()),
        ),
        (None, false) => q.filter(notices::county.is_not_null()),
        (None, true) => q,
    };
    let trades = worker.trade_codes();
    if !trades.is_empty() {
        q = q.filter(notices::trade.eq_any(trades));
    }
    // Newest by approval (every approved notice has its decision time), then by drafting.
    Ok(q.order((
        notices::decided_at.desc(),
        notices::created_at.desc(),
        notices::id.desc(),
    ))
    .limit(limit)
    .select(Notice::as_select())
    .load(conn)?)
}

/// The notice of the newest alert sent to the worker since `since`, if any; `only_if_last`:
/// only when that alert is the last message we sent them (a reply since then, queued or
/// sent, means a bare `1` answers that reply's menu, not the alert).
pub fn latest_alert(
    conn: &mut DbConn,
    contact_id: &ContactId,
    since: NaiveDateTime,
    only_if_last: bool,
) -> Result<Option<String>, DbError> {
    let mut q = messages::table
        .filter(messages::contact_id.eq(contact_id))
        .filter(messages::direction.eq(Direction::Out))
        .filter(messages::status.ne_all([
            MessageStatus::Cancelled,
            MessageStatus::Failed,
            MessageStatus::Expired,
        ]))
        .into_boxed();
    if !only_if_last {
        q = q.filter(messages::notice_id.is_not_null());
    }
    let last: Option<(Option<String>, Option<NaiveDateTime>)> = q
        .order((messages::created_at.desc(), messages::id.desc()))
        .select((messages::notice_id, messages::sent_at))
        .first(conn)
        .optional()?;
    Ok(match last {
        Some((Some(notice), Some(sent))) if sent >= since => Some(notice),
        _ => None,
    })
}

/// Records that the worker answered a notice. Idempotent: a second answer to the same notice
/// keeps the one row (and the consent already given, until they answer the question again).
pub fn record_interest(
    conn: &mut DbConn,
    notice_id: &str,
    contact_id: &ContactId,
) -> Result<(), DbError> {
    let t = now();
    // A savepoint, so a racing duplicate's unique violation leaves the outer transaction usable
    // on PostgreSQL.
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(notice_responses::table)
            .values((
                notice_responses::id.eq(new_id()),
                notice_responses::notice_id.eq(notice_id),
                notice_responses::contact_id.eq(contact_id),
                notice_responses::created_at.eq(t),
                notice_responses::updated_at.eq(t),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) | Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The worker's answer to "may we give your number to the broker?".
pub fn set_share(
    conn: &mut DbConn,
    notice_id: &str,
    contact_id: &ContactId,
    share: bool,
) -> Result<(), DbError> {
    let t = now();
    diesel::update(
        notice_responses::table
            .filter(notice_responses::notice_id.eq(notice_id))
            .filter(notice_responses::contact_id.eq(contact_id)),
    )
    .set((
        notice_responses::share_consent.eq(Some(share)),
        notice_responses::answered_at.eq(Some(t)),
        notice_responses::updated_at.eq(t),
    ))
    .execute(conn)?;
    Ok(())
}
