//! Use case: the built-in web chat and the REST channel — open a visitor's chat, say something
//! through the webhook pipeline, follow the conversation, or wait (bounded) for the reply.

use crate::operator_message::valid_text;
use crate::ports::{EventSubscriber, InboundMessage, Recorded, Timer};
use crate::receive_webhook::ReceiveWebhook;
use domain::repositories::{BindingRepository, ConversationRepository, MessageRepository};
use domain::{
    BotId, ConversationId, Credentials, DomainEvent, ExternalChatId, ExternalMessageId, Message,
    MessageContent, MessageId, PlatformKind, RepoError, ValidationError,
};
use futures::stream::BoxStream;
use futures::StreamExt;
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
    Invalid(#[from] ValidationError),
    #[error("storage is unavailable")]
    Unavailable(#[source] RepoError),
}

impl From<RepoError> for WebChatError {
    fn from(err: RepoError) -> Self {
        Self::Unavailable(err)
    }
}

/// A visitor's chat as it stands: its active conversation, if any, and the latest messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    pub conversation_id: Option<ConversationId>,
    /// Oldest first.
    pub history: Vec<Message>,
}

/// What came of a question asked through the REST channel.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The bot's reply, stored within the wait.
    Replied {
        conversation_id: ConversationId,
        reply: Message,
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
}

impl Default for WebChatSettings {
    fn default() -> Self {
        Self {
            history_messages: 50,
            reply_wait: Duration::from_secs(20),
        }
    }
}

pub struct WebChat {
    pub bindings: Arc<dyn BindingRepository>,
    pub conversations: Arc<dyn ConversationRepository>,
    pub messages: Arc<dyn MessageRepository>,
    pub receive: Arc<ReceiveWebhook>,
    pub events: Arc<dyn EventSubscriber>,
    pub timer: Arc<dyn Timer>,
    pub settings: WebChatSettings,
}

impl WebChat {
    /// The visitor's chat, once the bot is bound to the web chat and the page's `origin` is
    /// one the binding allows.
    #[tracing::instrument(skip_all, fields(bot_id = %bot_id))]
    pub async fn open(
        &self,
        bot_id: BotId,
        chat: &ExternalChatId,
        origin: Option<&str>,
    ) -> Result<Opened, WebChatError> {
        let Credentials::WebChat(credentials) = self.binding(bot_id).await? else {
            return Err(WebChatError::NotBound);
        };
        if !credentials.allows(origin) {
            return Err(WebChatError::OriginRefused);
        }
        let Some(conversation) = self
            .conversations
            .find_active(bot_id, PLATFORM, chat)
            .await?
        else {
            return Ok(Opened {
                conversation_id: None,
                history: Vec::new(),
            });
        };
        let mut history = self
            .messages
            .recent(conversation.id, self.settings.history_messages)
            .await?;
        history.reverse();
        Ok(Opened {
            conversation_id: Some(conversation.id),
            history,
        })
    }

    /// Stores the chat's message through the webhook pipeline (reply job included). The
    /// external id makes a resend of one message a duplicate, stored once.
    pub async fn say(
        &self,
        bot_id: BotId,
        chat: ExternalChatId,
        external_id: ExternalMessageId,
        text: &str,
    ) -> Result<Recorded, WebChatError> {
        let text = valid_text(text)?;
        self.binding(bot_id).await?;
        let message = InboundMessage::new(external_id, chat, MessageContent::text(text));
        Ok(self.receive.record(bot_id, PLATFORM, message).await?)
    }

    /// Says `text` and waits up to `settings.reply_wait` for the reply.
    pub async fn ask(
        &self,
        bot_id: BotId,
        chat: ExternalChatId,
        text: &str,
    ) -> Result<Answer, WebChatError> {
        // Subscribed before the message is stored, so that the reply cannot slip by.
        let events = self.events.subscribe();
        let external_id = ExternalMessageId::parse(uuid::Uuid::now_v7().to_string())?;
        let Recorded::New {
            conversation_id,
            message_id,
        } = self.say(bot_id, chat, external_id, text).await?
        else {
            return Err(RepoError::Other("a fresh message id was a duplicate".into()).into());
        };
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
                reply,
            },
            None => Answer::Pending {
                conversation_id,
                message_id,
            },
        })
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
        let recent = self
            .messages
            .recent(conversation_id, self.settings.history_messages)
            .await?;
        Ok(recent
            .into_iter()
            .find(|message| message.reply_to == Some(question)))
    }
}
