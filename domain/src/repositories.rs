//! Repository traits: how the use cases load and save entities, implemented by storage adapters.

use crate::{
    ApiKey, ApiKeyId, Bot, BotId, BotSummary, Conversation, ConversationId, ConversationMode,
    ConversationStatus, DeliveryReport, ExternalChatId, ExternalMessageId, Message, MessageId,
    MessageStatus, Page, PageRequest, PlatformBinding, PlatformKind, Provider, ProviderId,
    RepoError, Scope, Spent, TimeRange, Usage, Webhook, WebhookId,
};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait BotRepository: Send + Sync {
    async fn insert(&self, bot: &Bot) -> Result<(), RepoError>;
    async fn get(&self, id: BotId) -> Result<Option<Bot>, RepoError>;
    async fn list(&self, page: &PageRequest) -> Result<Page<Bot>, RepoError>;
    /// Saves a revised bot's operator fields and `updated_at`, leaving its pause alone (so that
    /// an edit racing a pause does not undo it); `false` when it no longer exists.
    async fn update(&self, bot: &Bot) -> Result<bool, RepoError>;
    /// Saves a bot's `paused_at` and `updated_at` only; `false` when it no longer exists.
    async fn save_pause(&self, bot: &Bot) -> Result<bool, RepoError>;
    /// Deletes a bot with its bindings, conversations, messages and jobs; `false` when absent.
    async fn delete(&self, id: BotId) -> Result<bool, RepoError>;
}

/// What deleting a provider did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderRemoval {
    Deleted,
    Missing,
    /// A bot names it: nothing was deleted.
    InUse,
}

#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ProviderRepository: Send + Sync {
    async fn insert(&self, provider: &Provider) -> Result<(), RepoError>;
    async fn get(&self, id: ProviderId) -> Result<Option<Provider>, RepoError>;
    /// Oldest first, paged by id.
    async fn list(&self, page: &PageRequest) -> Result<Page<Provider>, RepoError>;
    /// Saves a revised provider; `false` when it no longer exists.
    async fn update(&self, provider: &Provider) -> Result<bool, RepoError>;
    /// Deletes it unless a bot names it, checked in the same transaction.
    async fn delete(&self, id: ProviderId) -> Result<ProviderRemoval, RepoError>;
}

/// The outgoing webhooks operators subscribe; their secrets are stored sealed.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait WebhookRepository: Send + Sync {
    async fn insert(&self, webhook: &Webhook) -> Result<(), RepoError>;
    async fn get(&self, id: WebhookId) -> Result<Option<Webhook>, RepoError>;
    /// Oldest first, paged by id.
    async fn list(&self, page: &PageRequest) -> Result<Page<Webhook>, RepoError>;
    /// Every enabled webhook: what the events are matched against.
    async fn enabled(&self) -> Result<Vec<Webhook>, RepoError>;
    /// Saves a revised webhook; `false` when it no longer exists.
    async fn update(&self, webhook: &Webhook) -> Result<bool, RepoError>;
    /// Deletes it with its deliveries; `false` when there was none.
    async fn delete(&self, id: WebhookId) -> Result<bool, RepoError>;
}

#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait BindingRepository: Send + Sync {
    /// Creates or replaces the bot's binding for the credentials' platform.
    async fn upsert(&self, binding: &PlatformBinding) -> Result<(), RepoError>;
    async fn get(
        &self,
        bot_id: BotId,
        kind: PlatformKind,
    ) -> Result<Option<PlatformBinding>, RepoError>;
    async fn list_for_bot(&self, bot_id: BotId) -> Result<Vec<PlatformBinding>, RepoError>;
    /// Every bot's binding to `kind`, by bot id.
    async fn list_by_platform(&self, kind: PlatformKind)
        -> Result<Vec<PlatformBinding>, RepoError>;
    async fn delete(&self, bot_id: BotId, kind: PlatformKind) -> Result<bool, RepoError>;
}

/// Which conversations to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConversationFilter {
    pub bot_id: Option<BotId>,
    pub platform: Option<PlatformKind>,
    pub status: Option<ConversationStatus>,
    /// Only conversations in this mode; `human` lists them by how long they have waited,
    /// longest first, instead of newest first.
    pub mode: Option<ConversationMode>,
    /// Only conversations created at or after this instant.
    pub created_after: Option<DateTime<Utc>>,
    /// Only conversations created strictly before this instant.
    pub created_before: Option<DateTime<Utc>>,
}

#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ConversationRepository: Send + Sync {
    async fn get(&self, id: ConversationId) -> Result<Option<Conversation>, RepoError>;
    /// The chat's active conversation, if it has one.
    async fn find_active(
        &self,
        bot_id: BotId,
        platform: PlatformKind,
        chat: &ExternalChatId,
    ) -> Result<Option<Conversation>, RepoError>;
    /// Newest first; handed off the longest first when the filter asks for `human` ones.
    async fn list(
        &self,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, RepoError>;
    /// Hands the active conversation to a person (`assigned_to` names them) at `at`, and notes
    /// the person as heard from then; `false` when it was not handed off now: it is absent, has
    /// ended, or was handed off already (it keeps its first time and person, and only the note
    /// of activity moves on).
    async fn hand_off(
        &self,
        id: ConversationId,
        assigned_to: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<bool, RepoError>;
    /// Marks the conversation ended; returns it, or `None` when absent.
    async fn end(
        &self,
        id: ConversationId,
        at: DateTime<Utc>,
    ) -> Result<Option<Conversation>, RepoError>;
}

/// A message with the conversation and the bot it belongs to, as one read finds them (either
/// is `None` when it is gone), and the conversation's latest messages when asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageInContext {
    pub message: Message,
    pub conversation: Option<Conversation>,
    pub bot: Option<Bot>,
    /// The conversation's latest messages, newest first, at most as many as were asked for.
    pub recent: Vec<Message>,
}

#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait MessageRepository: Send + Sync {
    async fn get(&self, id: MessageId) -> Result<Option<Message>, RepoError>;
    /// The messages of `ids` that exist, in one read, in no particular order.
    async fn get_many(&self, ids: &[MessageId]) -> Result<Vec<Message>, RepoError>;
    /// The message with its conversation, its bot and the conversation's latest `recent`
    /// messages, in one read: what a job needs to answer or deliver it.
    async fn get_in_context(
        &self,
        id: MessageId,
        recent: u32,
    ) -> Result<Option<MessageInContext>, RepoError>;
    /// Oldest first, paged.
    async fn list(
        &self,
        conversation_id: ConversationId,
        page: &PageRequest,
    ) -> Result<Page<Message>, RepoError>;
    /// The conversation's latest `limit` messages, newest first.
    async fn recent(
        &self,
        conversation_id: ConversationId,
        limit: u32,
    ) -> Result<Vec<Message>, RepoError>;
    /// When the chat last wrote to the bot on `platform`, in any of its conversations; `None`
    /// when it never did.
    async fn last_inbound_at(
        &self,
        bot_id: BotId,
        platform: PlatformKind,
        chat: &ExternalChatId,
    ) -> Result<Option<DateTime<Utc>>, RepoError>;
    /// Records the moderation categories that flagged a message; `false` when it is gone.
    async fn flag(&self, id: MessageId, categories: &[String]) -> Result<bool, RepoError>;
    /// Marks an inbound message [`MessageStatus::RateLimited`]; `false` when it is gone.
    async fn mark_rate_limited(&self, id: MessageId) -> Result<bool, RepoError>;
    /// Moves an outbound message to `status` (with `error` for a failure) if it may get there
    /// from where it stands ([`MessageStatus::reachable_from`]); `false` when it did not move.
    async fn advance(
        &self,
        id: MessageId,
        status: MessageStatus,
        error: Option<String>,
    ) -> Result<bool, RepoError>;
    /// Records the platform's id of a sent outbound message, for its reports to find it; an id
    /// another of the bot's messages has already is not kept.
    async fn set_external_id(
        &self,
        id: MessageId,
        external_id: &ExternalMessageId,
    ) -> Result<(), RepoError>;
    /// Applies a platform's report to the bot's outbound message with that platform id, moving
    /// forward only; the message it moved, if any.
    async fn apply_report(
        &self,
        bot_id: BotId,
        platform: PlatformKind,
        report: &DeliveryReport,
    ) -> Result<Option<Message>, RepoError>;
}

#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ApiKeyRepository: Send + Sync {
    async fn insert(&self, key: &ApiKey) -> Result<(), RepoError>;
    /// Every key stored with this prefix (a prefix is short, so several keys may share it).
    async fn find_by_prefix(&self, prefix: &str) -> Result<Vec<ApiKey>, RepoError>;
    /// Oldest first, paged; revoked and expired keys included.
    async fn list(&self, page: &PageRequest) -> Result<Page<ApiKey>, RepoError>;
    /// `true` when the key exists; revoking twice keeps the first revocation time.
    async fn revoke(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool, RepoError>;
    /// Records a use of the key at `at`; an earlier instant never replaces a later one.
    async fn touch_last_used(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), RepoError>;
}

/// Whose spending a budget check reads: the bot, its end user (a chat), the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendKey {
    pub bot_id: BotId,
    pub platform: PlatformKind,
    pub chat: ExternalChatId,
    pub conversation_id: ConversationId,
}

#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SpendRepository: Send + Sync {
    /// For each `(scope, since)`, in order: the tokens of the model's replies in that scope of
    /// `key` created at or after `since`, and the largest sum of their costs in one currency.
    async fn spent(
        &self,
        key: &SpendKey,
        periods: &[(Scope, DateTime<Utc>)],
    ) -> Result<Vec<Spent>, RepoError>;
}

#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SummaryRepository: Send + Sync {
    /// The bot's conversations started, messages created (by direction), failed deliveries,
    /// model tokens and costs within `range`.
    async fn summarize(&self, bot_id: BotId, range: &TimeRange) -> Result<BotSummary, RepoError>;

    /// The model's replies in one conversation: their count, tokens and costs.
    async fn conversation_usage(&self, id: ConversationId) -> Result<Usage, RepoError>;

    /// The bot's model replies created within `range`, per UTC day with any, oldest first.
    async fn daily_usage(
        &self,
        bot_id: BotId,
        range: &TimeRange,
    ) -> Result<Vec<(NaiveDate, Usage)>, RepoError>;
}
