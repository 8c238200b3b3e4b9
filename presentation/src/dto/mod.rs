//! Request and response bodies of the admin API: validated on the way in, secret-free on the way out.

pub mod api_keys;
pub mod attachments;
pub mod audit;
pub mod bots;
pub mod broadcasts;
pub mod chat;
pub mod conversations;
pub mod guardrails;
pub mod jobs;
pub mod outgoing_webhooks;
pub mod page;
mod patch;
pub mod platforms;
pub mod proactive;
pub mod providers;
pub mod status;
pub mod summary;
mod text;
mod time;
pub mod tools;
pub mod usage;

pub use api_keys::{ApiKeyBody, CallerBody, CreateApiKey, IssuedKeyBody, NewApiKey};
pub use bots::{BotBody, CreateBot, UpdateBot};
pub use broadcasts::{BroadcastBody, StartBroadcast};
pub use conversations::{
    ConversationBody, ConversationQuery, HandOff, MessageBody, Release, SendMessage,
};
pub use outgoing_webhooks::{AttemptBody, CreateWebhook, DeliveryBody, UpdateWebhook, WebhookBody};
pub use page::{ListBody, PageBody, PageQuery};
pub use platforms::{credentials_from, BindingBody};
pub use proactive::StartMessage;
pub use providers::{CreateProvider, ProviderBody, UpdateProvider};
pub use summary::{SummaryBody, SummaryQuery};
pub use usage::{GroupByQuery, UsageBody, UsageSeriesBody};
