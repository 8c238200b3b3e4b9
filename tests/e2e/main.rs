//! End-to-end tests: the whole server on port 0, fresh databases, fake OpenAI, Telegram, Graph and Discord APIs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bots;
mod breakers;
mod broadcasts;
mod budgets;
mod dead_letters;
mod debounce;
mod discord;
mod dispatch;
mod erasure;
mod events;
mod fake_gateway;
mod formatting;
mod handoff;
mod hostile_text;
mod master_key;
mod meta;
mod moderation;
mod operator;
mod outgoing_webhooks;
mod pacing;
mod proactive;
mod providers;
mod rate_limits;
mod reliability;
mod schedules;
mod streaming;
mod telegram;
mod telegram_polling;
mod tools;
mod vision;
mod webchat;

pub use switchboard_e2e::{on_each_database, PATIENCE};
