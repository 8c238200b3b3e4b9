//! What a job handler decides, and the lookups the reply and delivery handlers share.

use crate::ports::{Channel, Channels, ClaimedJob, JobPayload};
use domain::repositories::{
    BindingRepository, ConversationRepository, MessageInContext, MessageRepository,
};
use domain::{Bot, ExternalChatId, Message, MessageId, PlatformBinding, RepoError};
use std::fmt;
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
    /// The job now delivers a stored reply: run the delivery at once, in this task.
    Deliver(Box<Delivery>),
}

/// A reply job turned into its delivery, with what the delivery needs, so that it runs without
/// another claim or read.
#[derive(Clone)]
pub struct Delivery {
    pub job: ClaimedJob,
    pub target: Target,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("job", &self.job)
            .field("message", &self.target.message.id)
            .finish_non_exhaustive()
    }
}

/// Two deliveries are the same when they run the same job for the same stored message.
impl PartialEq for Delivery {
    fn eq(&self, other: &Self) -> bool {
        self.job == other.job && self.target.message == other.target.message
    }
}

impl Eq for Delivery {}

/// Everything needed to talk back to the chat a message belongs to.
#[derive(Clone)]
pub struct Target {
    pub message: Message,
    pub bot: Bot,
    /// The conversation's latest messages, newest first, as many as the lookup asked for.
    pub history: Vec<Message>,
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
    /// Loads a message with its bot, chat, binding, channel and the conversation's latest
    /// `history` messages (one read; the binding comes from the cache); `Err(reason)` inside
    /// when any is gone (the bot was deleted or unbound), which no retry can mend.
    pub async fn target(
        &self,
        id: MessageId,
        history: u32,
    ) -> Result<Result<Target, String>, RepoError> {
        let Some(found) = self.messages.get_in_context(id, history).await? else {
            return Ok(Err(format!("message {id} no longer exists")));
        };
        let MessageInContext {
            message,
            conversation,
            bot,
            recent,
        } = found;
        let Some(conversation) = conversation else {
            return Ok(Err(format!(
                "conversation {} no longer exists",
                message.conversation_id
            )));
        };
        let Some(bot) = bot else {
            return Ok(Err(format!("bot {} no longer exists", message.bot_id)));
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
            bot,
            history: recent,
            chat: conversation.external_chat_id,
            binding,
            channel,
        }))
    }
}
