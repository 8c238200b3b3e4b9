//! sea-orm entities: one per table, rows exactly as stored (text ids, epoch-millisecond times).

pub mod api_keys;
pub mod audit_log;
pub mod bindings;
pub mod bots;
pub mod broadcast_messages;
pub mod broadcasts;
pub mod conversations;
pub mod events;
pub mod idempotency_keys;
pub mod jobs;
pub mod leases;
pub mod messages;
pub mod providers;
pub mod schedules;
pub mod telegram_poll_offsets;
pub mod uploads;
pub mod webhook_attempts;
pub mod webhook_deliveries;
pub mod webhooks;
