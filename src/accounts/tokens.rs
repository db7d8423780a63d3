//! API bearer tokens: made by `hotline token create --role …`, shown once, stored only as a
//! SHA-256 hash, revocable.

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::models::ApiToken;
use crate::db::schema::api_tokens;
use crate::db::{new_id, now, DbConn, DbError};

/// What a token may do.
pub use crate::db::models::ApiRole as Role;

fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Creates a token; returns its id and the secret, which is not stored and cannot be shown again.
/// A broker's token belongs to their agency (`agency`), whose notices it sees; a liaison's to
/// their department (`department`), whose referred cases it sees.
pub fn create(
    conn: &mut DbConn,
    name: &str,
    role: Role,
    agency: Option<&str>,
    department: Option<&str>,
) -> Result<(String, String), DbError> {
    let secret = format!(
        "hl_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let id = new_id();
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::id.eq(&id),
            api_tokens::name.eq(name),
            api_tokens::role.eq(role.as_str()),
            api_tokens::agency.eq(agency),
            api_tokens::department.eq(department),
            api_tokens::token_hash.eq(hash(&secret)),
            api_tokens::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok((id, secret))
}

/// The live token with this secret.
pub fn verify(conn: &mut DbConn, secret: &str) -> Result<Option<(ApiToken, Role)>, DbError> {
    let token: Option<ApiToken> = api_tokens::table
        .filter(api_tokens::token_hash.eq(hash(secret)))
        .filter(api_tokens::revoked_at.is_null())
        .select(ApiToken::as_select())
        .first(conn)
        .optional()?;
    if let Some(t) = &token {
        // Kept roughly (every few minutes), to spot tokens nobody uses any more.
        let stale = now() - chrono::Duration::minutes(5);
        if t.last_used_at.is_none_or(|at| at < stale) {
            diesel::update(api_tokens::table.find(&t.id))
                .set(api_tokens::last_used_at.eq(Some(now())))
                .execute(conn)?;
        }
    }
    Ok(token.map(|t| {
        let role = t.role;
        (t, role)
    }))
}

pub fn list(conn: &mut DbConn) -> Result<Vec<ApiToken>, DbError> {
    Ok(api_tokens::table
        .order(api_tokens::created_at)
        .select(ApiToken::as_select())
        .load(conn)?)
}

/// Returns false when there was no such live token.
pub fn revoke(conn: &mut DbConn, id: &str) -> Result<bool, DbError> {
    let n = diesel::update(
        api_tokens::table
            .find(id)
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(Some(now())))
    .execute(conn)?;
    Ok(n == 1)
}
