//! Switchboard's storage adapter: sea-orm repositories, the ledger and the job queue, on
//! SQLite (one file, one writer) and PostgreSQL (many replicas, `SKIP LOCKED`).

mod api_keys;
mod audit;
pub mod backup;
mod bindings;
mod bots;
mod broadcasts;
mod connect;
mod conversations;
mod dead_letters;
mod entities;
mod erasure;
mod errors;
mod events;
mod gauges;
mod idempotency;
mod intake;
mod leases;
mod ledger;
mod mapping;
mod messages;
mod paging;
mod poll_offsets;
mod providers;
mod queue;
mod replies;
mod rotation;
mod schedules;
mod sealing;
mod spend;
mod store;
mod summary;
#[cfg(feature = "testing")]
pub mod testing;
mod uploads;
mod wakeups;
mod webhook_deliveries;
mod webhooks;

pub use connect::{connect, connect_with_pool};
pub use rotation::Resealed;
pub use sealing::{InvalidMasterKey, SealError, Sealer, MASTER_KEY_LEN};
pub use store::SeaStore;
pub use wakeups::Wake;
