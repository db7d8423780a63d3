//! Who may use the console and the API: console users (`users`) and API bearer tokens
//! (`tokens`).

pub mod tokens;
pub mod users;
