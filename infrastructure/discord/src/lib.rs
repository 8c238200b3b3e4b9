//! Discord: the interactions endpoint (Ed25519-signed PING and slash commands), the REST API that answers them, and gateway mode.

mod buckets;
mod channel;
mod commands;
mod gateway;
mod interaction;
mod rest;
mod signature;

pub use channel::{DiscordChannel, DISCORD_MAX_TEXT_LEN};
pub use gateway::DiscordGateway;
pub use interaction::{parse_interaction, ASK_COMMAND, QUESTION_OPTION};
pub use rest::BuildError;
pub use signature::{verify_interaction, MAX_SKEW, SIGNATURE_HEADER, TIMESTAMP_HEADER};
