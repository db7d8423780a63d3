//! STUB (integration placeholder, not committed).
use crate::db::models::{Case, Referral};
use crate::db::{DbConn, DbError};
use crate::AppState;
pub struct Suggestion {
    pub department: String,
    pub reason: String,
    pub rule: &'static str,
}
#[derive(Debug, thiserror::Error)]
pub enum ReferralError {
    #[error("x")]
    X,
    #[error(transparent)]
    Db(#[from] DbError),
}
impl From<diesel::result::Error> for ReferralError {
    fn from(e: diesel::result::Error) -> Self {
        ReferralError::Db(e.into())
    }
}
pub fn suggest(_c: &mut DbConn, _s: &AppState, _case: &Case) -> Result<Vec<Suggestion>, DbError> {
    Ok(vec![])
}
pub fn create(
    _s: &AppState,
    _c: &mut DbConn,
    _r: &str,
    _d: &str,
    _reason: &str,
    _a: &str,
) -> Result<Referral, ReferralError> {
    Err(ReferralError::X)
}
pub fn acknowledge(_c: &mut DbConn, _id: &str, _by: &str) -> Result<(), ReferralError> {
    Ok(())
}
pub fn post_update(_c: &mut DbConn, _id: &str, _by: &str, _t: &str) -> Result<(), ReferralError> {
    Ok(())
}
pub fn close(_c: &mut DbConn, _id: &str, _by: &str) -> Result<(), ReferralError> {
    Ok(())
}
