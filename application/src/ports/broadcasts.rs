//! The broadcast port: a broadcast and every recipient's message stored and queued in one transaction, its progress read, its rest cancelled.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{BotId, Broadcast, BroadcastId, BroadcastProgress, Conversation, Message, RepoError};

/// One recipient of a broadcast: the conversation to start for its chat when it has no active
/// one, and its message (whose conversation id is the started one's until stored).
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub conversation: Conversation,
    pub message: Message,
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Broadcasts: Send + Sync {
    /// In ONE transaction: `broadcast` stored, and for each delivery, as
    /// [`crate::ports::Ledger::start_outbound`] does, the chat's active conversation found or
    /// started, the message stored in it and its `deliver` job enqueued at the end of its lane.
    /// All or nothing: a crash leaves either the whole broadcast queued or none of it. The
    /// messages as stored, each in the conversation it went to.
    async fn start_broadcast(
        &self,
        broadcast: &Broadcast,
        deliveries: &[Delivery],
    ) -> Result<Vec<Message>, RepoError>;

    /// Broadcast `id` of bot `bot_id`, with its messages counted by state.
    async fn broadcast(
        &self,
        bot_id: BotId,
        id: BroadcastId,
    ) -> Result<Option<(Broadcast, BroadcastProgress)>, RepoError>;

    /// In one transaction, while something of it is queued: broadcast `id` marked cancelled at
    /// `at`, and each of its messages not yet sent marked `failed` ([`Broadcast::CANCELLED`]),
    /// so that their deliveries end without a send. One going out at that moment still goes,
    /// and is marked sent when it is. A broadcast with nothing queued is left as it is. What
    /// it is then; `None` when missing.
    async fn cancel_broadcast(
        &self,
        bot_id: BotId,
        id: BroadcastId,
        at: DateTime<Utc>,
    ) -> Result<Option<(Broadcast, BroadcastProgress)>, RepoError>;
}
