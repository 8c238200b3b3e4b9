//! Switchboard's domain: entities, value objects, events and repository traits, free of frameworks.

pub mod api_key;
pub mod bot;
pub mod broadcast;
pub mod budget;
pub mod conversation;
pub mod error;
pub mod events;
pub mod guardrails;
pub mod handoff;
pub mod ids;
pub mod lifecycle;
pub mod message;
pub mod moderation;
pub mod origin;
pub mod page;
pub mod phrases;
pub mod platform;
pub mod provider;
pub mod rate_limit;
pub mod replies;
pub mod repositories;
pub mod secret;
pub mod shapes;
pub mod summary;
pub mod template;
pub mod text;
pub mod tools;
pub mod usage;
pub mod webhook;

pub use api_key::{ApiKey, Role};
pub use bot::{Bot, BotDraft, BotName, BotStatus, SystemPrompt, Temperature};
pub use broadcast::{Broadcast, BroadcastProgress, BroadcastState};
pub use budget::{Budget, Limit, Period, Scope, Spent};
pub use conversation::{Conversation, ConversationMode, ConversationStatus, ExternalChatId};
pub use error::{RepoError, ValidationError};
pub use events::{DomainEvent, PublishedEvent};
pub use guardrails::Guardrails;
pub use handoff::HandoffPolicy;
pub use ids::{
    ApiKeyId, BotId, BroadcastId, ConversationId, DeliveryId, EventId, MessageId, ProviderId,
    WebhookId,
};
pub use lifecycle::Lifecycle;
pub use message::{
    DeliveryReport, Direction, ExternalMessageId, Message, MessageContent, MessageStatus,
    TokenUsage,
};
pub use origin::Origin;
pub use page::{Cursor, Page, PageRequest};
pub use platform::{
    Credentials, DiscordCredentials, MessengerCredentials, PlatformBinding, PlatformKind,
    TelegramCredentials, TelegramMode, WebChatCredentials, WhatsappCredentials,
};
pub use provider::{
    BaseUrl, ModelPrice, Prices, Provider, ProviderDraft, ProviderKind, ProviderName,
};
pub use rate_limit::{Allowance, RateLimits};
pub use replies::ReplyStyle;
pub use secret::Secret;
pub use summary::{BotSummary, TimeRange};
pub use template::{Template, TemplateComponent, TemplateParameter, TemplatePart};
pub use text::TextRule;
pub use tools::{McpServer, ToolUse};
pub use usage::{Cost, Grouping, Usage};
pub use webhook::{
    DeliveryAttempt, DeliveryState, Disabled, EventSelection, Webhook, WebhookDelivery,
    WebhookDraft, WebhookUrl,
};
