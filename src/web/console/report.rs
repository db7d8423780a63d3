//! The monthly report page and its CSV.

use actix_web::{web, HttpResponse};

use super::{ConsoleError, Me};
use crate::users::UserRole;
use crate::AppState;

pub async fn page(_state: web::Data<AppState>, me: Me) -> Result<HttpResponse, ConsoleError> {
    me.require(&[UserRole::Admin, UserRole::Supervisor, UserRole::Inspector])?;
    Err(ConsoleError::NotFound)
}

pub async fn csv(_state: web::Data<AppState>, me: Me) -> Result<HttpResponse, ConsoleError> {
    me.require(&[UserRole::Admin, UserRole::Supervisor, UserRole::Inspector])?;
    Err(ConsoleError::NotFound)
}
