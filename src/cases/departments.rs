//! The departments joint-enforcement referrals go to (住建, 发改, 公安 …), kept by an admin.

use diesel::prelude::*;
use serde_json::json;

use super::audit;
use crate::db::models::Department;
use crate::db::schema::departments;
use crate::db::{now, DbConn, DbError};

/// Every department, by code.
pub fn all(conn: &mut DbConn) -> Result<Vec<Department>, DbError> {
    Ok(departments::table
        .order(departments::code)
        .select(Department::as_select())
        .load(conn)?)
}

/// The departments referrals can go to now, by code.
pub fn active(conn: &mut DbConn) -> Result<Vec<Department>, DbError> {
    Ok(departments::table
        .filter(departments::active.eq(true))
        .order(departments::code)
        .select(Department::as_select())
        .load(conn)?)
}

/// Every department's code, in order.
pub fn codes(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    Ok(departments::table
        .order(departments::code)
        .select(departments::code)
        .load(conn)?)
}

/// A department as an admin enters it.
#[derive(Debug, Clone)]
pub struct DepartmentInput {
    pub code: String,
    pub name_zh: String,
    pub email: Option<String>,
    pub active: bool,
}

/// Why a department was not saved.
#[derive(Debug, thiserror::Error)]
pub enum DepartmentError {
    /// Adding a code that exists: editing is its own action.
    #[error("department {0} exists")]
    Exists(String),
    #[error("no department {0}")]
    NotFound(String),
    /// Its email cleared, or the department switched off, while referrals to it are open:
    /// their reminders and updates would go nowhere.
    #[error("department {code} has {open} open referral(s)")]
    OpenReferrals { code: String, open: i64 },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for DepartmentError {
    fn from(e: diesel::result::Error) -> Self {
        DepartmentError::Db(e.into())
    }
}

/// Referrals to `code` not closed yet.
pub fn open_referrals(conn: &mut DbConn, code: &str) -> Result<i64, DbError> {
    use crate::db::models::ReferralStatus;
    use crate::db::schema::referrals;
    Ok(referrals::table
        .filter(referrals::department.eq(code))
        .filter(referrals::status.ne(ReferralStatus::Closed))
        .count()
        .get_result(conn)?)
}

/// Adds a department; refuses a code that exists. Audited as `actor`.
pub fn add(conn: &mut DbConn, d: &DepartmentInput, actor: &str) -> Result<(), DepartmentError> {
    crate::db::transaction(conn, |c| {
        let t = now();
        let exists: bool =
            diesel::select(diesel::dsl::exists(departments::table.find(&d.code))).get_result(c)?;
        if exists {
            return Err(DepartmentError::Exists(d.code.clone()));
        }
        diesel::insert_into(departments::table)
            .values((
                departments::code.eq(&d.code),
                departments::name_zh.eq(&d.name_zh),
                departments::email.eq(&d.email),
                departments::active.eq(d.active),
                departments::created_at.eq(t),
                departments::updated_at.eq(t),
            ))
            .execute(c)?;
        audited(c, "department_added", d, actor)
    })
}

/// Changes an existing department. A department with open referrals keeps an address and
/// stays active: clearing the one or switching it off is refused.
pub fn edit(conn: &mut DbConn, d: &DepartmentInput, actor: &str) -> Result<(), DepartmentError> {
    crate::db::transaction(conn, |c| {
        let before: Option<Department> = departments::table
            .find(&d.code)
            .select(Department::as_select())
            .first(c)
            .optional()?;
        if before.is_none() {
            return Err(DepartmentError::NotFound(d.code.clone()));
        }
        if d.email.is_none() || !d.active {
            let open = open_referrals(c, &d.code)?;
            if open > 0 {
                return Err(DepartmentError::OpenReferrals {
                    code: d.code.clone(),
                    open,
                });
            }
        }
        diesel::update(departments::table.find(&d.code))
            .set((
                departments::name_zh.eq(&d.name_zh),
                departments::email.eq(&d.email),
                departments::active.eq(d.active),
                departments::updated_at.eq(now()),
            ))
            .execute(c)?;
        audited(c, "department_saved", d, actor)
    })
}

fn audited(
    c: &mut DbConn,
    action: &str,
    d: &DepartmentInput,
    actor: &str,
) -> Result<(), DepartmentError> {
    audit(
        c,
        None,
        actor,
        action,
        Some(
            &json!({ "code": d.code, "name": d.name_zh, "email": d.email, "active": d.active })
                .to_string(),
        ),
    )?;
    Ok(())
}
