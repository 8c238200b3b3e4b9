//! Use case: the built-in web chat and the REST channel — open a visitor's chat, say something
//! through the webhook pipeline, follow the conversation, or wait (bounded) for the reply.

mod admission;
mod following;
mod visitor;

pub use admission::{SocketCounts, SocketSlot, WebChatLimits};
pub use following::Heard;
use following::{following, Followed, Replies};
pub use visitor::{Visitor, VisitorClaim, VisitorRefused, VisitorTokens};

use crate::images;
use crate::operator_message::valid_text;
use crate::ports::{
    Admission, Clock, EventSubscriber, InboundMessage, RateLimiter, Recorded, Timer, Upload,
    Uploads,
};
use crate::receive_webhook::ReceiveWebhook;
use domain::repositories::{BindingRepository, ConversationRepository, MessageRepository};
use domain::{
    BotId, ConversationId, Credentials, DomainEvent, ExternalChatId, ExternalMessageId, Message,
    MessageContent, MessageId, PlatformKind, RepoError, ValidationError,
};
use futures::stream::BoxStream;
use futures::StreamExt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// The web chat's platform: visitors and REST callers alike.
const PLATFORM: PlatformKind = PlatformKind::WebChat;

#[derive(Debug, Error)]
pub enum WebChatError {
    #[error("the bot is not bound to the web chat")]
    NotBound,
    #[error("the page's origin is not allowed to open this chat")]
    OriginRefused,
    #[error(transparent)]
    VisitorRefused(#[from] VisitorRefused),
    #[error("too many sockets of this visitor or from this address are open")]
    TooManySockets,
    #[error("too many messages; retry in {} s", retry_after_secs(*.retry_after))]
    RateLimited { retry_after: Duration },
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("storage is unavailable")]
    Unavailable(#[source] RepoError),
}

impl From<RepoError> for WebChatError {
    fn from(err: RepoError) -> Self {
        Self::Unavailable(err)
    }
}

/// Whole seconds to wait, rounded up: what `Retry-After` says.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// A visitor's chat as it stands: who the visitor is, their active conversation, if any, and
/// the latest messages; and the socket's place in the counts, held until it closes.
#[derive(Debug)]
pub struct Opened {
    pub visitor: Visitor,
    pub conversation_id: Option<ConversationId>,
    /// Oldest first.
    pub history: Vec<Message>,
    pub slot: SocketSlot,
}

/// Who says something in a chat: the chat, and the client's address when it is a visitor's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Speaker {
    pub chat: ExternalChatId,
    pub address: Option<IpAddr>,
}

/// What came of a question asked through the REST channel.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The bot's reply, stored within the wait.
    Replied {
        conversation_id: ConversationId,
        reply: Box<Message>,
    },
    /// No reply yet: poll the conversation's messages.
    Pending {
        conversation_id: ConversationId,
        message_id: MessageId,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebChatSettings {
    /// How many of the latest messages a visitor sees on connecting.
    pub history_messages: u32,
    /// How long the REST channel waits for the reply before answering with the message id.
    pub reply_wait: Duration,
    /// Whether a bare `visitor_id` (no token) still opens its visitor's chat.
    pub accept_plain_visitor_ids: bool,
    pub limits: WebChatLimits,
    /// The largest picture a visitor may send.
    pub max_upload_bytes: usize,
}

/// The largest picture a visitor may send unless `web_chat.max_upload_bytes` says otherwise.
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;

impl Default for WebChatSettings {
    fn default() -> Self {
        Self {
            history_messages: 50,
            reply_wait: Duration::from_secs(20),
            accept_plain_visitor_ids: true,
            limits: WebChatLimits::default(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
        }
    }
}

/// What the web chat reads, waits on and counts with.
pub struct WebChatPorts {
    pub bindings: Arc<dyn BindingRepository>,
    pub conversations: Arc<dyn ConversationRepository>,
    pub messages: Arc<dyn MessageRepository>,
    pub events: Arc<dyn EventSubscriber>,
    pub timer: Arc<dyn Timer>,
    /// Messages per visitor and per address, shared by the replicas through Redis if set.
    pub limiter: Arc<dyn RateLimiter>,
    /// Where visitors' pictures are kept.
    pub uploads: Arc<dyn Uploads>,
    pub clock: Arc<dyn Clock>,
}

pub struct WebChat {
    bindings: Arc<dyn BindingRepository>,
    conversations: Arc<dyn ConversationRepository>,
    messages: Arc<dyn MessageRepository>,
    receive: Arc<ReceiveWebhook>,
    events: Arc<dyn EventSubscriber>,
    timer: Arc<dyn Timer>,
    limiter: Arc<dyn RateLimiter>,
    uploads: Arc<dyn Uploads>,
    clock: Arc<dyn Clock>,
    tokens: VisitorTokens,
    /// This process's open sockets.
    sockets: SocketCounts,
    settings: WebChatSettings,
}

impl WebChat {
    /// The web chat on `ports`, its messages going in through `receive`, its visitors
    /// identified by `tokens`; no socket is open yet.
    pub fn new(
        ports: WebChatPorts,
        receive: Arc<ReceiveWebhook>,
        tokens: VisitorTokens,
        settings: WebChatSettings,
    ) -> Self {
        Self {
            bindings: ports.bindings,
            conversations: ports.conversations,
            messages: ports.messages,
            receive,
            events: ports.events,
            timer: ports.timer,
            limiter: ports.limiter,
            uploads: ports.uploads,
            clock: ports.clock,
            tokens,
            sockets: SocketCounts::default(),
            settings,
        }
    }

    /// The visitor's chat, once the bot is bound to the web chat, the page's `origin` is one
    /// the binding allows, the visitor's claim holds (a token this server signed, or a bare id
    /// while those are accepted) and neither the visitor nor the `address` has too many sockets
    /// open.
    #[tracing::instrument(skip_all, fields(bot_id = %bot_id))]
    pub async fn open(
        &self,
        bot_id: BotId,
        claim: &VisitorClaim,
        origin: Option<&str>,
        address: IpAddr,
    ) -> Result<Opened, WebChatError> {
        let Credentials::WebChat(credentials) = self.binding(bot_id).await? else {
            return Err(WebChatError::NotBound);
        };
        if !credentials.allows(origin) {
            return Err(WebChatError::OriginRefused);
        }
        let visitor =
            self.tokens
                .identify(bot_id, claim, self.settings.accept_plain_visitor_ids)?;
        let slot = self
            .sockets
            .take(&self.settings.limits, bot_id, &visitor.chat, address)
            .ok_or(WebChatError::TooManySockets)?;
        let (conversation_id, history) = self.history(bot_id, &visitor.chat).await?;
        Ok(Opened {
            visitor,
            conversation_id,
            history,
            slot,
        })
    }

    /// The chat's active conversation and its latest messages, oldest first.
    async fn history(
        &self,
        bot_id: BotId,
        chat: &ExternalChatId,
    ) -> Result<(Option<ConversationId>, Vec<Message>), WebChatError> {
        let Some(conversation) = self
            .conversations
            .find_active(bot_id, PLATFORM, chat)
            .await?
        else {
            return Ok((None, Vec::new()));
        };
        let mut history = self
            .messages
            .recent(conversation.id, self.settings.history_messages)
            .await?;
        history.reverse();
        Ok((Some(conversation.id), history))
    }

    /// Stores the speaker's message through the webhook pipeline (reply job included), within
    /// the speaker's and their address's allowances. The external id makes a resend of one
    /// message a duplicate, stored once.
    pub async fn say(
        &self,
        bot_id: BotId,
        speaker: &Speaker,
        external_id: ExternalMessageId,
        text: &str,
    ) -> Result<Recorded, WebChatError> {
        let text = valid_text(text)?;
        self.admit(bot_id, speaker).await?;
        let content = MessageContent::text(text);
        let message = InboundMessage::new(external_id, speaker.chat.clone(), content);
        Ok(self.receive.record(bot_id, PLATFORM, message).await?)
    }

    /// Stores a picture the speaker sent (at most `settings.max_upload_bytes`, and only bytes
    /// that are an image), then the message that shows it, within the speaker's allowances;
    /// anything refused leaves nothing stored.
    pub async fn show(
        &self,
        bot_id: BotId,
        speaker: &Speaker,
        external_id: ExternalMessageId,
        bytes: Vec<u8>,
    ) -> Result<Recorded, WebChatError> {
        let max = self.settings.max_upload_bytes;
        let refused = |reason: String| WebChatError::Invalid(ValidationError::new("image", reason));
        if bytes.len() > max {
            return Err(refused(format!("must be at most {max} bytes")));
        }
        let image = images::checked(bytes)
            .ok_or_else(|| refused("must be a JPEG, PNG, GIF or WebP image".to_owned()))?;
        self.admit(bot_id, speaker).await?;
        let upload = Upload {
            id: uuid::Uuid::now_v7().to_string(),
            bot_id,
            platform: PLATFORM,
            chat: speaker.chat.clone(),
            image,
            created_at: self.clock.now(),
        };
        self.uploads.put(&upload).await?;
        let content = MessageContent::image(&upload.id, None);
        let message = InboundMessage::new(external_id, speaker.chat.clone(), content);
        Ok(self.receive.record(bot_id, PLATFORM, message).await?)
    }

    /// The largest picture a visitor may send.
    pub fn max_upload_bytes(&self) -> usize {
        self.settings.max_upload_bytes
    }

    /// Whether the speaker may send to `bot_id` now: the bot is bound, and neither the
    /// speaker's nor their address's allowance is spent.
    async fn admit(&self, bot_id: BotId, speaker: &Speaker) -> Result<(), WebChatError> {
        self.binding(bot_id).await?;
        let limits = self
            .settings
            .limits
            .message_limits(bot_id, &speaker.chat, speaker.address);
        match self.limiter.acquire(&limits).await {
            Admission::Limited { retry_after } => Err(WebChatError::RateLimited { retry_after }),
            Admission::Allowed => Ok(()),
        }
    }

    /// Says `text` (within the chat's allowance, as a visitor's) and waits up to
    /// `settings.reply_wait` for the reply.
    pub async fn ask(
        &self,
        bot_id: BotId,
        chat: ExternalChatId,
        text: &str,
    ) -> Result<Answer, WebChatError> {
        let (events, conversation_id, message_id) = self.asked(bot_id, chat, text).await?;
        let stored = events.filter_map(|event| async move {
            match event {
                DomainEvent::ReplyStored {
                    conversation_id: c, ..
                } if c == conversation_id => Some(()),
                _ => None,
            }
        });
        let waited = self.wait_for_reply(Box::pin(stored), message_id, conversation_id);
        let reply = match futures::future::select(
            Box::pin(waited),
            Box::pin(self.timer.sleep(self.settings.reply_wait)),
        )
        .await
        {
            futures::future::Either::Left((reply, _)) => reply?,
            // The events may have been missed (another replica, a lagging bus): look once more.
            futures::future::Either::Right(_) => self.reply_to(conversation_id, message_id).await?,
        };
        Ok(match reply {
            Some(reply) => Answer::Replied {
                conversation_id,
                reply: Box::new(reply),
            },
            None => Answer::Pending {
                conversation_id,
                message_id,
            },
        })
    }

    /// Says `text` as [`WebChat::ask`] does, and follows the reply as the model writes it: its
    /// pieces, then the stored reply — or, once `settings.reply_wait` is over, `Pending`.
    pub async fn ask_streaming(
        &self,
        bot_id: BotId,
        chat: ExternalChatId,
        text: &str,
    ) -> Result<(ConversationId, MessageId, BoxStream<'static, Heard>), WebChatError> {
        let (events, conversation_id, message_id) = self.asked(bot_id, chat, text).await?;
        let timer = self.timer.clone();
        let wait = self.settings.reply_wait;
        let followed = Followed {
            events,
            deadline: Box::pin(async move { timer.sleep(wait).await }),
            replies: self.replies(),
            conversation_id,
            question: message_id,
        };
        Ok((conversation_id, message_id, following(followed)))
    }

    /// Says `text` from `chat`, subscribed to the events first so that the reply cannot slip
    /// by; the events, and the stored message's conversation and id.
    async fn asked(
        &self,
        bot_id: BotId,
        chat: ExternalChatId,
        text: &str,
    ) -> Result<(BoxStream<'static, DomainEvent>, ConversationId, MessageId), WebChatError> {
        let events = self.events.subscribe();
        let external_id = ExternalMessageId::parse(uuid::Uuid::now_v7().to_string())?;
        let speaker = Speaker {
            chat,
            address: None,
        };
        let recorded = self.say(bot_id, &speaker, external_id, text).await?;
        let Recorded::New {
            conversation_id,
            message_id,
            ..
        } = recorded
        else {
            return Err(RepoError::Other("a fresh message id was a duplicate".into()).into());
        };
        Ok((events, conversation_id, message_id))
    }

    /// The origins whose pages may open (and embed) the bot's chat; empty: any page may open it.
    /// `NotBound` when the bot is not bound to the web chat.
    pub async fn allowed_origins(&self, bot_id: BotId) -> Result<Vec<String>, WebChatError> {
        match self.binding(bot_id).await? {
            Credentials::WebChat(credentials) => Ok(credentials.allowed_origins),
            _ => Err(WebChatError::NotBound),
        }
    }

    /// Every event from now on, for a chat session to follow its conversation.
    pub fn events(&self) -> BoxStream<'static, DomainEvent> {
        self.events.subscribe()
    }

    /// A stored message, to push it to the chat.
    pub async fn message(&self, id: MessageId) -> Result<Option<Message>, WebChatError> {
        Ok(self.messages.get(id).await?)
    }

    /// The bot's web chat binding's credentials.
    async fn binding(&self, bot_id: BotId) -> Result<Credentials, WebChatError> {
        let binding = self.bindings.get(bot_id, PLATFORM).await?;
        binding
            .map(|binding| binding.credentials)
            .ok_or(WebChatError::NotBound)
    }

    /// Re-reads the conversation after each reply stored in it until one answers `question`;
    /// `None` when the events end first.
    async fn wait_for_reply(
        &self,
        mut stored: BoxStream<'_, ()>,
        question: MessageId,
        conversation_id: ConversationId,
    ) -> Result<Option<Message>, WebChatError> {
        while stored.next().await.is_some() {
            if let Some(reply) = self.reply_to(conversation_id, question).await? {
                return Ok(Some(reply));
            }
        }
        Ok(None)
    }

    /// The stored reply to `question`, among the conversation's latest messages.
    async fn reply_to(
        &self,
        conversation_id: ConversationId,
        question: MessageId,
    ) -> Result<Option<Message>, WebChatError> {
        self.replies().to(conversation_id, question).await
    }

    /// Finds replies among a conversation's latest messages, as many as a visitor is shown.
    fn replies(&self) -> Replies {
        Replies {
            messages: self.messages.clone(),
            history: self.settings.history_messages,
        }
    }
}
