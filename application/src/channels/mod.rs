//! Channels that are not webhooks: Telegram long polling, the Discord gateway and the web chat.

pub mod gateway_supervisor;
pub mod poll_supervisor;
pub mod poll_updates;
pub mod rate_limit;
pub mod web_chat;
