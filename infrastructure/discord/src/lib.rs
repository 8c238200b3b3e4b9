//! Discord: the interactions endpoint (Ed25519-signed PING and slash commands) and the REST API that answers them.

mod channel;
mod commands;
mod interaction;
mod rest;
mod signature;

pub use channel::{DiscordChannel, DISCORD_MAX_TEXT_LEN};
pub use interaction::{parse_interaction, ASK_COMMAND, QUESTION_OPTION};
pub use rest::BuildError;
pub use signature::{verify_interaction, MAX_SKEW, SIGNATURE_HEADER, TIMESTAMP_HEADER};
