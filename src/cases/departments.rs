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

/// Adds the department, or updates the one with its code; audited as `actor`. One transaction.
pub fn save(conn: &mut DbConn, d: &DepartmentInput, actor: &str) -> Result<(), DbError> {
    crate::db::transaction(conn, |c| {
        let t = now();
        let n = diesel::update(departments::table.find(&d.code))
            .set((
                departments::name_zh.eq(&d.name_zh),
                departments::email.eq(&d.email),
                departments::active.eq(d.active),
                departments::updated_at.eq(t),
            ))
            .execute(c)?;
        if n == 0 {
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
        }
        audit(
            c,
            None,
            actor,
            "department_saved",
            Some(&json!({ "code": d.code, "email": d.email, "active": d.active }).to_string()),
        )?;
        Ok(())
    })
}
