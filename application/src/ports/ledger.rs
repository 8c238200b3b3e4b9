//! The ledger port: the pipeline's multi-row writes, each one transaction.

use crate::ports::ClaimedJob;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    BotId, ConversationId, ExternalChatId, ExternalMessageId, Message, MessageContent, MessageId,
    PlatformKind, RepoError, Secret,
};

/// An inbound message to store, with what identifies its conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRecord {
    pub bot_id: BotId,
    pub platform: PlatformKind,
    pub chat: ExternalChatId,
    pub external_id: ExternalMessageId,
    pub content: MessageContent,
    /// What the platform needs to answer the message in place, if anything.
    pub reply_handle: Option<Secret>,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Stored, with a `reply` job enqueued in the conversation's lane.
    New {
        conversation_id: ConversationId,
        message_id: MessageId,
    },
    /// Already stored before (same bot, platform and external id): nothing was written.
    Duplicate,
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Ledger: Send + Sync {
    /// In ONE transaction, for each record: insert the message (a duplicate is a no-op), find
    /// or start the chat's active conversation, and enqueue a `reply` job in its lane. One
    /// [`Recorded`] per record, in input order. A record repeating an earlier one of the batch (same bot,
    /// platform and external id) is a `Duplicate`. All or nothing: on error nothing is stored.
    async fn record_inbound_batch(
        &self,
        records: &[InboundRecord],
    ) -> Result<Vec<Recorded>, RepoError>;

    /// In one transaction: insert `reply` (at most one reply per inbound message), enqueue its
    /// `deliver` job in the same lane, and complete `job`. `false` when the lease was lost and
    /// nothing was written.
    async fn store_reply(&self, job: &ClaimedJob, reply: &Message) -> Result<bool, RepoError>;

    /// In one transaction, while `message`'s conversation is still active: insert `message` (an
    /// outbound message that answers nothing, such as an operator's) and enqueue its `deliver`
    /// job at the end of the conversation's lane, so it goes out in order with the bot's
    /// replies. `false` when the conversation has ended or is gone, and nothing was written.
    async fn queue_outbound(&self, message: &Message) -> Result<bool, RepoError>;
}
