//! Outgoing webhooks: events matched to the operators' subscriptions and queued as deliveries (fan-out, reading them through a short-lived cache), each posted signed by a job (delivery).

pub mod cache;
pub mod deliver;
pub mod fanout;
pub mod signature;

pub use cache::CachedWebhooks;
pub use deliver::{DeliverWebhook, WebhookSettings};
pub use fanout::WebhookFanout;
