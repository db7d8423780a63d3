//! Console sessions: a random token in the user's cookie, only its SHA-256 digest stored,
//! with the session's CSRF token. Ends after a time idle, after a time in any case, at
//! logout, and when the user is disabled or changes password.

use chrono::Duration;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::users::User;
use crate::db::models::Session;
use crate::db::schema::{sessions, users};
use crate::db::{now, DbConn, DbError};

/// 256 random bits as 64 hex digits: a session token, a CSRF token, a nonce.
pub fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// What is stored of a session token.
pub fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The session of this cookie token and its user, when the session is live (used within
/// `idle`, not past its end) and the user active; a dead one is removed. Touches
/// `last_seen_at` at most once a minute, to spare the database a write per page.
pub fn live(
    conn: &mut DbConn,
    token: &str,
    idle: Duration,
) -> Result<Option<(Session, User)>, DbError> {
    let id = digest(token);
    let row: Option<(Session, User)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(&id))
        .select((Session::as_select(), User::as_select()))
        .first(conn)
        .optional()?;
    let Some((session, user)) = row else {
        return Ok(None);
    };
    let t = now();
    if t > session.expires_at || t > session.last_seen_at + idle || !user.active {
        diesel::delete(sessions::table.find(&id)).execute(conn)?;
        return Ok(None);
    }
    if t - session.last_seen_at > Duration::minutes(1) {
        diesel::update(sessions::table.find(&id))
            .set(sessions::last_seen_at.eq(t))
            .execute(conn)?;
    }
    Ok(Some((session, user)))
}

/// Starts a session for `user` lasting at most `max`; returns the cookie's token (only its
/// digest is stored).
pub fn start(conn: &mut DbConn, user: &User, max: Duration) -> Result<String, DbError> {
    let token = random_token();
    let t = now();
    // Sessions past their end are removed as others start, so the table stays small.
    diesel::delete(sessions::table.filter(sessions::expires_at.lt(t))).execute(conn)?;
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(digest(&token)),
            sessions::user_id.eq(&user.id),
            sessions::csrf_token.eq(random_token()),
            sessions::created_at.eq(t),
            sessions::last_seen_at.eq(t),
            sessions::expires_at.eq(t + max),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Ends one session (by its stored id).
pub fn end(conn: &mut DbConn, session_id: &str) -> Result<(), DbError> {
    diesel::delete(sessions::table.find(session_id)).execute(conn)?;
    Ok(())
}

/// Ends every session of a user (password changed, account disabled).
pub fn end_all_of(conn: &mut DbConn, user_id: &str) -> Result<usize, DbError> {
    Ok(diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_stored_as_digests() {
        let a = random_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token());
        assert_ne!(digest(&a), a);
        assert_eq!(digest(&a), digest(&a.clone()));
    }
}
