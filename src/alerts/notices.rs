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
