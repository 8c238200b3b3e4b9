//! What a job handler decides, and the lookups the reply and delivery handlers share.

use crate::ports::{Channel, Channels, JobPayload};
use domain::repositories::{BindingRepository, ConversationRepository, MessageRepository};
use domain::{ExternalChatId, Message, MessageId, PlatformBinding, RepoError};
use std::sync::Arc;
use std::time::Duration;

/// The outcome of running one job, applied to the queue by the runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The handler completed the job in its own transaction.
    Finished,
    /// Remove the job.
    Done,
    /// Run again later: after `after`, or after the backoff when `None`.
    Retry {
        payload: JobPayload,
        after: Option<Duration>,
        error: String,
    },
    /// It cannot succeed; dead-letter it.
    Dead(String),
    /// Another worker took the job over; leave it alone.
    LeaseLost,
}

/// Everything needed to talk back to the chat a message belongs to.
pub struct Target {
    pub message: Message,
    pub chat: ExternalChatId,
    pub binding: PlatformBinding,
    pub channel: Arc<dyn Channel>,
}

/// The repositories and channels the job handlers read.
#[derive(Clone)]
pub struct Lookup {
    pub messages: Arc<dyn MessageRepository>,
    pub conversations: Arc<dyn ConversationRepository>,
    pub bindings: Arc<dyn BindingRepository>,
    pub channels: Channels,
}

impl Lookup {
    /// Loads a message with its chat, binding and channel; `Err(reason)` inside when any is
    /// gone (the bot was deleted or unbound), which no retry can mend.
    pub async fn target(&self, id: MessageId) -> Result<Result<Target, String>, RepoError> {
        let Some(message) = self.messages.get(id).await? else {
            return Ok(Err(format!("message {id} no longer exists")));
        };
        let Some(conversation) = self.conversations.get(message.conversation_id).await? else {
            return Ok(Err(format!(
                "conversation {} no longer exists",
                message.conversation_id
            )));
        };
        let Some(binding) = self.bindings.get(message.bot_id, message.platform).await? else {
            return Ok(Err(format!(
                "bot {} is no longer bound to {}",
                message.bot_id, message.platform
            )));
        };
        let Some(channel) = self.channels.get(message.platform).cloned() else {
            return Ok(Err(format!("no channel for {}", message.platform)));
        };
        Ok(Ok(Target {
            message,
            chat: conversation.external_chat_id,
            binding,
            channel,
        }))
    }
}
