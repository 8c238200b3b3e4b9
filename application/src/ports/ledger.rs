//! The ledger port: the pipeline's multi-row writes, each one transaction.

use crate::ports::ClaimedJob;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    BotId, Conversation, ConversationId, ExternalChatId, ExternalMessageId, Message,
    MessageContent, MessageId, PlatformKind, RepoError, Secret,
};

/// What became of a reply job when its answer was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyStored {
    /// The reply is stored and the job now delivers it, still held under the same lease
    /// ([`ClaimedJob::delivering`]): its row is the delivery's durable record.
    Delivering(ClaimedJob),
    /// The message had been answered already: nothing was written, and the job (still held)
    /// has nothing left to do.
    AlreadyAnswered,
    /// The lease was lost (another worker holds the job): nothing was written.
    LeaseLost,
    /// A person took the conversation over while the model answered: the answer is stored
    /// `failed` ([`Message::HANDED_OFF`](domain::Message::HANDED_OFF)), for the transcript and
    /// the budgets, answering no message (a release may still have the message answered), and
    /// is not sent; the job (still held) has nothing left to do.
    HandedOff,
}

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
    /// The W3C `traceparent` of the span that received it, stored with its `reply` job; set by
    /// the intake when traces are on.
    pub trace_parent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Stored, with a `reply` job enqueued in the conversation's lane.
    New {
        conversation_id: ConversationId,
        message_id: MessageId,
        /// Whether the message started its conversation.
        started: bool,
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

    /// In one transaction, while `job` is held: insert `reply` (at most one reply per inbound
    /// message) and turn `job` into its delivery, so that the delivery can run at once without
    /// another claim and still survives a crash; when the conversation is handed off by then,
    /// store it `failed` and do not ([`ReplyStored::HandedOff`]). One round trip on PostgreSQL.
    async fn store_reply(
        &self,
        job: &ClaimedJob,
        reply: &Message,
    ) -> Result<ReplyStored, RepoError>;

    /// In one transaction: mark the delivered message `message_id` sent, with `external_id` (the
    /// platform's id of its last part) unless another of the bot's messages has that id, and
    /// complete `job`, letting the next job of its lane go ahead. The message is marked even
    /// when the lease was lost (it was sent all the same); `false` then. One round trip on
    /// PostgreSQL.
    async fn finish_delivery(
        &self,
        job: &ClaimedJob,
        message_id: MessageId,
        external_id: Option<ExternalMessageId>,
    ) -> Result<bool, RepoError>;

    /// In one transaction, while `message`'s conversation is still active: insert `message` (an
    /// outbound message that answers nothing, such as an operator's) and enqueue its `deliver`
    /// job at the end of the conversation's lane, so it goes out in order with the bot's
    /// replies. `false` when the conversation has ended or is gone, and nothing was written.
    async fn queue_outbound(&self, message: &Message) -> Result<bool, RepoError>;

    /// In one transaction: the chat's active conversation, or `conversation` started for it
    /// when it has none (a rival's started meanwhile wins), then `message` stored in it and
    /// its `deliver` job enqueued at the end of its lane. The message as stored, in the
    /// conversation it went to.
    async fn start_outbound(
        &self,
        conversation: &Conversation,
        message: &Message,
    ) -> Result<Message, RepoError>;

    /// In one transaction, while the conversation is active and handed off: give it back to
    /// the bot (`assigned_to` cleared; `handed_off_at` keeps when it last was handed off), and
    /// with `answer_pending`, when its latest inbound message has no reply, enqueue a `reply`
    /// job for that message at the end of its lane. `false` when it was not handed off, has
    /// ended or is gone, and nothing was written.
    async fn hand_back(
        &self,
        id: ConversationId,
        answer_pending: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, RepoError>;
}
