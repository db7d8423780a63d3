//! Who may use the console and the API: console users (`users`) and their sessions
//! (`sessions`), and API bearer tokens (`tokens`).

pub mod sessions;
pub mod tokens;
pub mod users;
