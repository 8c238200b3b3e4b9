//! Integration tests of the storage adapter, each run on SQLite and (when configured) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The package under test, by the short name the rest of the workspace uses.
extern crate switchboard_database as database;

mod api_keys;
mod audit;
mod bindings;
mod bots;
mod broadcasts;
mod concurrency;
mod conversations;
mod dead_letters;
mod dump;
mod erasure;
mod events;
mod gateway_leases;
mod gauges;
mod handoff;
mod idempotency;
mod intake;
mod leases;
mod ledger;
mod messages;
mod poll_offsets;
mod providers;
mod queue;
mod schedules;
mod schema;
mod sealing;
mod summary;
mod support;
mod uploads;
mod usage;
mod wakeups;
mod webhooks;
