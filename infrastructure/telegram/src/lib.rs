//! Telegram: webhook secret verification, lenient update parsing and the Bot API client.

mod channel;
mod errors;
mod update;
mod verify;

pub use channel::{BuildError, TelegramChannel, MAX_TEXT_LEN};
