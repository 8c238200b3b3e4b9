//! The admin API's use cases: bots, providers, bindings, API keys, operator messages, messages the bot starts and broadcasts, handoffs, erasure, outgoing webhooks, first setup, `Idempotency-Key`s and the operations status.

pub mod api_keys;
pub mod attachments;
pub mod bind_platform;
pub mod bots;
pub mod broadcast;
pub mod end_conversation;
pub mod erasure;
pub mod handoff;
pub mod idempotency;
pub mod operator_message;
pub mod proactive;
pub mod providers;
pub mod setup;
pub mod status;
pub mod webhooks;
