//! What a job handler decides, and the lookups the reply and delivery handlers share.

use crate::breakers::Breakers;
use crate::ports::{Channel, Channels, ClaimedJob, JobPayload, RateLimiter, SendError};
use chrono::{DateTime, Utc};
use domain::repositories::{
    BindingRepository, ConversationRepository, MessageInContext, MessageRepository, SpendRepository,
};
use domain::{
    Bot, BotId, ConversationId, ExternalChatId, Message, MessageId, PlatformBinding, PlatformKind,
    RepoError,
};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The outcome of running one job, applied to the queue by the runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The handler settled the job in its own transaction: nothing is left to do.
    Settled,
    /// The job is done: the runner completes it.
    Complete,
    /// Run again later: after `after`, or after the backoff when `None`.
    Retry {
        payload: JobPayload,
        after: Option<Duration>,
        error: String,
    },
    /// It waits for a service held back by its breaker, or for its turn to send: run it again
    /// `after` this long with `payload`, without counting this attempt.
    Defer {
        payload: JobPayload,
        after: Duration,
        reason: String,
    },
    /// It cannot succeed; dead-letter it.
    Dead(DeadEnd),
    /// Another worker took the job over; leave it alone.
    LeaseLost,
    /// The job now delivers a stored reply: run the delivery at once, in this task.
    Deliver(Box<Delivery>),
}

/// Why a job cannot succeed, which no retry can mend; its text is what the dead letter keeps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadEnd {
    #[error(transparent)]
    Gone(#[from] Gone),
    /// The platform refused the message for good (a [`SendError::Permanent`]).
    #[error(transparent)]
    Refused(SendError),
}

/// What a job's message needed and is no longer there: the bot was deleted or unbound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Gone {
    #[error("message {0} no longer exists")]
    Message(MessageId),
    #[error("conversation {0} no longer exists")]
    Conversation(ConversationId),
    #[error("bot {0} no longer exists")]
    Bot(BotId),
    #[error("bot {bot} is no longer bound to {platform}")]
    Binding { bot: BotId, platform: PlatformKind },
    #[error("no channel for {0}")]
    Channel(PlatformKind),
    #[error("this process does not deliver outgoing webhooks")]
    Webhooks,
    #[error("there is no schedule {0}")]
    Schedule(String),
}

/// Why a job's target could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Gone(#[from] Gone),
    #[error(transparent)]
    Storage(#[from] RepoError),
}

impl LookupError {
    /// The job's step when its target cannot be read: dead when something is gone; the storage
    /// error otherwise, for the runner to retry.
    pub fn into_step(self) -> Result<Step, RepoError> {
        match self {
            Self::Gone(gone) => Ok(Step::Dead(gone.into())),
            Self::Storage(error) => Err(error),
        }
    }
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
    /// When the person who has the conversation was last heard from, if one has it: the bot
    /// then sends nothing of its own.
    pub person_last_heard: Option<DateTime<Utc>>,
    pub binding: PlatformBinding,
    pub channel: Arc<dyn Channel>,
}

/// The repositories and channels the job handlers read.
#[derive(Clone)]
pub struct Lookup {
    pub messages: Arc<dyn MessageRepository>,
    pub conversations: Arc<dyn ConversationRepository>,
    pub bindings: Arc<dyn BindingRepository>,
    /// What bots with a budget have spent.
    pub spends: Arc<dyn SpendRepository>,
    /// Counts users' messages against the bots' rate limits.
    pub limiter: Arc<dyn RateLimiter>,
    /// Hold back the calls to a provider or a platform token that keeps failing.
    pub breakers: Arc<Breakers>,
    pub channels: Channels,
}

impl Lookup {
    /// Loads a message with its bot, chat, binding, channel and the conversation's latest
    /// `history` messages (one read; the binding comes from the cache).
    pub async fn target(&self, id: MessageId, history: u32) -> Result<Target, LookupError> {
        let found = self.messages.get_in_context(id, history).await?;
        let MessageInContext {
            message,
            conversation,
            bot,
            recent,
        } = found.ok_or(Gone::Message(id))?;
        let conversation = conversation.ok_or(Gone::Conversation(message.conversation_id))?;
        let bot = bot.ok_or(Gone::Bot(message.bot_id))?;
        let binding = self.bindings.get(message.bot_id, message.platform).await?;
        let binding = binding.ok_or(Gone::Binding {
            bot: message.bot_id,
            platform: message.platform,
        })?;
        let channel = self.channels.get(message.platform).cloned();
        let channel = channel.ok_or(Gone::Channel(message.platform))?;
        Ok(Target {
            message,
            bot,
            history: recent,
            person_last_heard: conversation.person_last_heard(),
            chat: conversation.external_chat_id,
            binding,
            channel,
        })
    }
}
