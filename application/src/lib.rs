//! Switchboard's use cases and the ports they depend on; no adapter is named here.

pub mod api_keys;
pub mod backoff;
pub mod bind_platform;
pub mod binding_cache;
pub mod bots;
pub mod commands;
pub mod counted_leases;
pub mod deliver_reply;
pub mod dispatcher;
pub mod end_conversation;
#[cfg(test)]
mod fixtures;
pub mod gateway_supervisor;
pub mod generate_reply;
pub mod history;
pub mod idempotency;
pub mod intake;
pub mod job_runner;
pub mod jobs;
pub mod metrics;
pub mod operator_message;
pub mod poll_supervisor;
pub mod poll_updates;
pub mod ports;
pub mod rate_limit;
pub mod receive_webhook;
pub mod scrape;
pub mod secrets;
pub mod settings;
pub mod shutdown;
pub mod text;
pub mod web_chat;

pub use api_keys::{ApiKeyError, ApiKeys, IssuedKey, Principal};
pub use bind_platform::{BindError, BindPlatform, Bound};
pub use binding_cache::CachedBindings;
pub use bots::{BotAdmin, BotError};
pub use counted_leases::CountedLeases;
pub use deliver_reply::DeliverReply;
pub use dispatcher::{Dispatcher, DispatcherPorts, DispatcherSettings, RunJob};
pub use end_conversation::EndConversation;
pub use gateway_supervisor::{gateway_lease, GatewayPorts, GatewaySupervisor};
pub use generate_reply::GenerateReply;
pub use idempotency::{Begin, Idempotency, Ticket};
pub use intake::{Intake, IntakeSettings, IntakeWriter};
pub use job_runner::{JobRunner, Outcome};
pub use jobs::{Lookup, Step};
pub use operator_message::{OperatorMessageError, SendOperatorMessage};
pub use poll_supervisor::{PollSupervisor, PollSupervisorPorts, PollSupervisorSettings};
pub use poll_updates::{PollPorts, PollSettings, PollUpdates};
pub use rate_limit::LocalRateLimiter;
pub use receive_webhook::{
    Admitted, Receipt, ReceiveError, ReceiveWebhook, Stores, SubscribeError,
};
pub use scrape::Scrape;
pub use settings::PipelineSettings;
pub use shutdown::{Shutdown, StopHandle};
pub use web_chat::{
    Answer, Opened, SocketCounts, SocketSlot, Speaker, Visitor, VisitorClaim, VisitorRefused,
    VisitorTokens, WebChat, WebChatError, WebChatLimits, WebChatSettings,
};
