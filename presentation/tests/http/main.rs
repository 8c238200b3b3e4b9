//! HTTP tests of the presentation crate: the full actix application on a fresh SQLite store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

extern crate switchboard_presentation as presentation;

mod api_keys;
mod audit;
mod auth;
mod bots;
mod conversations;
mod errors;
mod handoff;
mod health;
mod idempotency;
mod metrics;
mod openapi;
mod operator_messages;
mod platforms;
mod server;
mod support;
mod traces;
mod web_chat;
mod webhooks;
