//! Text handling for incoming and outgoing SMS: message length and
//! segmentation, digit and money parsing, script detection, phone number
//! normalisation and keyword normalisation; and the spreadsheets (CSV) officers import.
//!
//! Everything here is pure (no I/O, no database) so it can be tested in isolation.

pub mod digits;
pub mod gsm;
pub mod keyword;
pub mod numerals;
pub mod phone;
pub mod script;
pub mod sheet;

pub use digits::{
    normalize_digits, parse_amount_yuan, parse_count, parse_months, thousands, tibetan_digits,
};
pub use gsm::{is_gsm7, sms_size, split_segments, Encoding, SmsSize};
pub use keyword::{first_word, normalize_keyword};
pub use phone::{mask_phone, normalize_phone, recipient_of, PhoneError};
pub use script::{detect_script, Script};
