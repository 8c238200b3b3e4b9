//! Switchboard's use cases and the ports they depend on; no adapter is named here.

pub mod admin;
pub mod channels;
pub mod events;
#[cfg(test)]
mod fixtures;
pub mod format;
pub mod observability;
pub mod pipeline;
pub mod ports;
pub mod schedules;
pub mod secrets;
pub mod shutdown;
pub mod webhooks;

// Every module keeps its path at the crate's root (`application::generate_reply`, …).
pub use admin::webhooks as webhook_admin;
pub use admin::{
    api_keys, attachments, bind_platform, bots, broadcast, end_conversation, erasure, handoff,
    idempotency, operator_message, proactive, providers, setup, status,
};
pub use channels::{gateway_supervisor, poll_supervisor, poll_updates, rate_limit, web_chat};
pub use observability::{counted_leases, metrics, scrape};
pub use pipeline::{
    backoff, binding_cache, breakers, budgets, commands, deliver_reply, dispatcher, generate_reply,
    history, images, intake, job_runner, jobs, moderation, pacing, provider_models, rate_limits,
    receive_webhook, settings, streaming, text, tool_use,
};

pub use api_keys::{ApiKeyError, ApiKeys, IssuedKey, Principal};
pub use bind_platform::{BindError, BindPlatform, Bound};
pub use binding_cache::CachedBindings;
pub use bots::{BotAdmin, BotError};
pub use broadcast::{BroadcastRequest, BroadcastView, SendBroadcast};
pub use counted_leases::CountedLeases;
pub use deliver_reply::DeliverReply;
pub use dispatcher::{Dispatcher, DispatcherPorts, DispatcherSettings, RunJob};
pub use end_conversation::EndConversation;
pub use erasure::EraseUser;
pub use events::{EventFeed, Journal, JournalWriter, Replay, Topic, TopicError, Topics};
pub use gateway_supervisor::{gateway_lease, GatewayPorts, GatewaySupervisor};
pub use generate_reply::GenerateReply;
pub use handoff::{Handoff, HandoffError};
pub use idempotency::{Begin, Idempotency, Ticket};
pub use intake::{Intake, IntakeSettings, IntakeWriter};
pub use job_runner::{JobRunner, Outcome};
pub use jobs::{DeadEnd, Gone, Lookup, LookupError, Step};
pub use operator_message::{OperatorMessageError, SendOperatorMessage};
pub use poll_supervisor::{PollSupervisor, PollSupervisorPorts, PollSupervisorSettings};
pub use poll_updates::{PollPorts, PollSettings, PollUpdates};
pub use proactive::{Proactive, ProactiveError, ProactivePorts, Say, SendProactive};
pub use provider_models::ProviderModels;
pub use providers::{ProviderAdmin, ProviderError};
pub use rate_limit::LocalRateLimiter;
pub use receive_webhook::{
    Admitted, Receipt, ReceiveError, ReceiveWebhook, Stores, SubscribeError,
};
pub use schedules::{RunSchedule, Schedule, SchedulePorts, ScheduleSettings};
pub use scrape::Scrape;
pub use settings::PipelineSettings;
pub use setup::FirstAdmin;
pub use shutdown::{Shutdown, StopHandle};
pub use web_chat::{
    Answer, Heard, Opened, SocketCounts, SocketSlot, Speaker, Visitor, VisitorClaim,
    VisitorRefused, VisitorTokens, WebChat, WebChatError, WebChatLimits, WebChatPorts,
    WebChatSettings,
};
pub use webhook_admin::{Subscribed, WebhookAdmin, WebhookError, WebhookRequest};
pub use webhooks::{CachedWebhooks, DeliverWebhook, WebhookFanout, WebhookSettings};
