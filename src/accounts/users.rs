//! Console accounts. Passwords are hashed with argon2id (PHC strings, a salt each); a login
//! with an unknown name costs the same time as one with a wrong password.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::users;
use crate::db::{new_id, now, DbConn, DbError};

crate::text_enum! {
    /// What a console user may do (the console's pages check it).
    pub enum UserRole {
        /// Users, settings, everything.
        Admin = "admin",
        /// An inspector's work plus approving extensions.
        Supervisor = "supervisor",
        /// Works cases.
        Inspector = "inspector",
        /// One department's referrals; never an anonymous complainant's identity.
        Liaison = "liaison",
        /// Employment service (就业服务): the labour-force register, approving job notices,
        /// their results. Never the case queue.
        Officer = "officer",
        /// A labour broker (劳务经纪人): posts job notices for their agency and sees only
        /// those, never the register.
        Broker = "broker",
    }
}

impl UserRole {
    /// Work the case queue.
    pub fn works_cases(self) -> bool {
        matches!(
            self,
            UserRole::Admin | UserRole::Supervisor | UserRole::Inspector
        )
    }
    /// Keep the register and approve notices.
    pub fn runs_alerts(self) -> bool {
        matches!(self, UserRole::Admin | UserRole::Officer)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: UserRole,
    pub department: Option<String>,
    #[serde(skip)]
    pub password_hash: String,
    pub active: bool,
    pub last_login_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// A broker's agency (劳务公司): their notices are the agency's.
    pub agency: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("a username is 2 or more of a-z 0-9 . - _")]
    BadUsername,
    #[error("give the person's name")]
    NoName,
    #[error("a liaison belongs to one department (住建, 交通, 水利, 发改, 公安 …)")]
    NoDepartment,
    #[error("no department {given:?}; the departments are {known} (an admin adds others on the console's Departments page)")]
    UnknownDepartment { given: String, known: String },
    #[error("a broker posts for one agency: give its name (--agency)")]
    NoAgency,
    #[error("a password needs at least {MIN_PASSWORD_CHARS} characters")]
    ShortPassword,
    #[error("{0}")]
    Invalid(String),
    #[error("user {0:?} exists already")]
    Exists(String),
    #[error("no user {0:?}")]
    NotFound(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for UserError {
    fn from(e: diesel::result::Error) -> Self {
        UserError::Db(DbError::Query(e))
    }
}

pub const MIN_PASSWORD_CHARS: usize = 10;

pub fn hash_password(password: &str) -> Result<String, UserError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(UserError::ShortPassword);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UserError::Invalid(format!("cannot hash the password: {e}")))
}

fn password_matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of nothing, verified when the user does not exist so that both answers take as long.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy-password-never-used").unwrap_or_default())
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: UserRole,
    pub department: Option<&'a str>,
    /// A broker's agency.
    pub agency: Option<&'a str>,
    pub password: &'a str,
}

pub fn create(conn: &mut DbConn, u: &NewUser) -> Result<User, UserError> {
    let username = u.username.trim().to_lowercase();
    if username.len() < 2
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
    {
        return Err(UserError::BadUsername);
    }
    if u.display_name.trim().is_empty() {
        return Err(UserError::NoName);
    }
    let department = u.department.map(str::trim).filter(|d| !d.is_empty());
    if u.role == UserRole::Liaison && department.is_none() {
        return Err(UserError::NoDepartment);
    }
    if let Some(d) = department {
        // A liaison of a department referrals never go to would see nothing, silently.
        let known: Vec<String> = crate::db::schema::departments::table
            .order(crate::db::schema::departments::code)
            .select(crate::db::schema::departments::code)
            .load(conn)?;
        if !known.iter().any(|k| k == d) {
            return Err(UserError::UnknownDepartment {
                given: d.to_string(),
                known: known.join(", "),
            });
        }
    }
    let agency = u.agency.map(str::trim).filter(|a| !a.is_empty());
    if u.role == UserRole::Broker && agency.is_none() {
        return Err(UserError::NoAgency);
    }
    let hash = hash_password(u.password)?;
    let t = now();
    let id = new_id();
    let inserted = diesel::insert_into(users::table)
        .values((
            users::id.eq(&id),
            users::username.eq(&username),
            users::display_name.eq(u.display_name.trim()),
            users::role.eq(u.role.as_str()),
            users::department.eq(department),
            users::agency.eq(agency),
            users::password_hash.eq(&hash),
            users::active.eq(true),
            users::created_at.eq(t),
            users::updated_at.eq(t),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(users::table
            .find(&id)
            .select(User::as_select())
            .first(conn)?),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(UserError::Exists(username)),
        Err(e) => Err(e.into()),
    }
}

pub fn by_username(conn: &mut DbConn, username: &str) -> Result<Option<User>, DbError> {
    Ok(users::table
        .filter(users::username.eq(username.trim().to_lowercase()))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// The active user with this name and password, or None (unknown, inactive or wrong).
pub fn authenticate(
    conn: &mut DbConn,
    username: &str,
    password: &str,
) -> Result<Option<User>, DbError> {
    let user = by_username(conn, username)?;
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.as_str())
        .unwrap_or(decoy_hash());
    let ok = password_matches(hash, password);
    match user {
        Some(u) if ok && u.active => {
            diesel::update(users::table.find(&u.id))
                .set(users::last_login_at.eq(Some(now())))
                .execute(conn)?;
            Ok(Some(u))
        }
        _ => Ok(None),
    }
}

pub fn set_password(conn: &mut DbConn, username: &str, password: &str) -> Result<(), UserError> {
    let hash = hash_password(password)?;
    let n = diesel::update(users::table.filter(users::username.eq(username.trim().to_lowercase())))
        .set((users::password_hash.eq(hash), users::updated_at.eq(now())))
        .execute(conn)?;
    if n == 0 {
        return Err(UserError::NotFound(username.to_string()));
    }
    Ok(())
}

pub fn set_active(conn: &mut DbConn, username: &str, active: bool) -> Result<(), UserError> {
    let n = diesel::update(users::table.filter(users::username.eq(username.trim().to_lowercase())))
        .set((users::active.eq(active), users::updated_at.eq(now())))
        .execute(conn)?;
    if n == 0 {
        return Err(UserError::NotFound(username.to_string()));
    }
    Ok(())
}

/// Every user's display name, by username (for naming actors in an audit trail).
pub fn display_names(
    conn: &mut DbConn,
) -> Result<std::collections::HashMap<String, String>, DbError> {
    Ok(users::table
        .select((users::username, users::display_name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// The usernames a case can be assigned to: active admins, supervisors and inspectors.
pub fn case_workers(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    Ok(users::table
        .filter(users::active.eq(true))
        .filter(users::role.eq_any([
            UserRole::Inspector.as_str(),
            UserRole::Supervisor.as_str(),
            UserRole::Admin.as_str(),
        ]))
        .order(users::username)
        .select(users::username)
        .load(conn)?)
}

pub fn list(conn: &mut DbConn) -> Result<Vec<User>, DbError> {
    Ok(users::table
        .order(users::username)
        .select(User::as_select())
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hashes_with_a_salt_each() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "a salt each");
        assert!(password_matches(&a, "correct horse battery"));
        assert!(!password_matches(&a, "correct horse batterY"));
        assert!(!password_matches("not a hash", "x"));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn roles() {
        for r in ["admin", "supervisor", "inspector", "liaison"] {
            assert_eq!(UserRole::parse(r).unwrap().as_str(), r);
        }
        assert!(UserRole::parse("root").is_none());
    }
}
