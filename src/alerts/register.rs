//! The labour-force register (劳动力资源台账): one row per worker's phone, with where they
//! live, their trades, training, whether they seek work, and their consent to job alerts with
//! its proof. A worker's language is their contact's.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::{join_codes, Employment};
use crate::db::models::ContactId;
use crate::db::schema::workers;
use crate::db::{now, DbConn, DbError};

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
