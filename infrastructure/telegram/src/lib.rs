//! Telegram: webhook secret verification, lenient update parsing, the Bot API client and the `getUpdates` poller.

mod channel;
mod drafts;
mod entities;
mod errors;
mod files;
mod placeholders;
mod poll;
mod raw;
mod update;
mod verify;

pub use channel::{BuildError, TelegramChannel, MAX_TEXT_LEN};
pub use poll::TelegramPoller;
