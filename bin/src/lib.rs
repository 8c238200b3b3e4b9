//! The switchboard process: configuration, wiring, workers and the commands, as a library for tests.

pub mod app;
pub mod bot_commands;
pub mod cli;
pub mod commands;
pub mod events;
pub mod gateway;
pub mod key_commands;
pub mod listing;
pub mod poller;
pub mod run;
pub mod settings;
pub mod telemetry;
pub mod traces;
pub mod web_chat;
pub mod worker;

pub use run::{start, start_with_clock, Mode, Running};
pub use settings::Settings;
