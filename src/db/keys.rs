//! The server's own keys, kept in the database so every process on it shares them: the key
//! that signs acknowledgement links, unless the config gives one.

use diesel::prelude::*;

use crate::db::schema::app_secrets;
use crate::db::{now, DbConn, DbError};

/// The secret called `name`, created (64 random hex digits) the first time it is asked for.
pub fn get_or_create(conn: &mut DbConn, name: &str) -> Result<String, DbError> {
    let fresh = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    crate::per_backend!(conn, c => diesel::insert_into(app_secrets::table)
        .values((
            app_secrets::name.eq(name),
            app_secrets::value.eq(&fresh),
            app_secrets::created_at.eq(now()),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(app_secrets::table
        .find(name)
        .select(app_secrets::value)
        .first(conn)?)
}
