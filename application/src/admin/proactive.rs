//! Use case: the bot writes first — a message to a chat, in its active conversation or a new one, through the durable delivery path.

use crate::operator_message::valid_text;
use crate::ports::{Clock, EventPublisher, Ledger};
use chrono::{DateTime, Duration, Utc};
use domain::repositories::{BindingRepository, BotRepository, MessageRepository};
use domain::{
    BotId, Conversation, DomainEvent, ExternalChatId, Message, MessageContent, PlatformKind,
    RepoError, Template, ValidationError,
};
use std::sync::Arc;
use thiserror::Error;

/// How long after a user's last message Meta's platforms let a business send free text.
pub const META_WINDOW: Duration = Duration::hours(24);

/// A message the bot starts: to whom, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proactive {
    pub platform: PlatformKind,
    pub chat: ExternalChatId,
    pub say: Say,
}

/// What a message the bot starts says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Say {
    Text(String),
    /// A WhatsApp template: what may go outside the 24-hour window, and to a number that has
    /// not written yet (its opt-in is the business's to collect).
    Template(Template),
}

#[derive(Debug, Error)]
pub enum ProactiveError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("bot {0} not found")]
    BotNotFound(BotId),
    #[error("bot {bot_id} is not bound to {platform}")]
    NotBound {
        bot_id: BotId,
        platform: PlatformKind,
    },
    /// Meta's 24-hour window has closed: the platform would refuse free text.
    #[error("{platform} takes free text only within 24 hours of a chat's last message, and chat {} last wrote at {last_inbound}", .chat.as_str())]
    WindowClosed {
        platform: PlatformKind,
        chat: ExternalChatId,
        last_inbound: DateTime<Utc>,
    },
    #[error(transparent)]
    Storage(#[from] RepoError),
}

pub struct SendProactive {
    ports: ProactivePorts,
}

/// The repositories and ports [`SendProactive`] reads and writes through.
pub struct ProactivePorts {
    pub bots: Arc<dyn BotRepository>,
    pub bindings: Arc<dyn BindingRepository>,
    pub messages: Arc<dyn MessageRepository>,
    pub ledger: Arc<dyn Ledger>,
    pub events: Arc<dyn EventPublisher>,
    pub clock: Arc<dyn Clock>,
}

impl SendProactive {
    pub fn new(ports: ProactivePorts) -> Self {
        Self { ports }
    }

    /// Stores the text or template as the bot's outbound message in the chat's active
    /// conversation (one is started when it has none) and queues its delivery behind what is
    /// queued there; returns the stored (pending) message. Refused, with nothing written, for
    /// a platform the bot is not bound to, a template anywhere but WhatsApp, and a text to a
    /// chat that never wrote to the bot where the platform lets a bot write only to those, or
    /// to a WhatsApp or Messenger chat whose 24-hour window has closed.
    #[tracing::instrument(skip_all, fields(bot_id = %bot_id, platform = %request.platform))]
    pub async fn send(
        &self,
        bot_id: BotId,
        request: &Proactive,
    ) -> Result<Message, ProactiveError> {
        let platform = request.platform;
        let say = self.ports.admit(bot_id, platform, &request.say).await?;
        let now = self.ports.clock.now();
        if matches!(say, Say::Text(_)) {
            let chat = &request.chat;
            self.ports
                .check_window(bot_id, platform, chat, "chat_id", now)
                .await?;
        }
        let conversation = Conversation::start(bot_id, platform, request.chat.clone(), now);
        let message = say.message_in(&conversation, now);
        let message = self
            .ports
            .ledger
            .start_outbound(&conversation, &message)
            .await?;
        self.ports.announce(&message);
        tracing::info!(message_id = %message.id, "proactive message queued");
        Ok(message)
    }
}

impl ProactivePorts {
    /// What `say` says, checked for `platform`, once the bot is found bound to it; the web
    /// chat refused (its visitors cannot be written to first).
    pub(crate) async fn admit(
        &self,
        bot_id: BotId,
        platform: PlatformKind,
        say: &Say,
    ) -> Result<Say, ProactiveError> {
        let say = content(platform, say)?;
        if platform == PlatformKind::WebChat {
            let reason = "the web chat's visitors cannot be written to first";
            return Err(ValidationError::new("platform", reason).into());
        }
        self.bots
            .get(bot_id)
            .await?
            .ok_or(ProactiveError::BotNotFound(bot_id))?;
        if self.bindings.get(bot_id, platform).await?.is_none() {
            return Err(ProactiveError::NotBound { bot_id, platform });
        }
        Ok(say)
    }

    /// Whether the platform lets the bot write text to `chat` now: Telegram, Messenger and
    /// WhatsApp only to a chat that wrote to it first (a refusal naming `field`; Discord's
    /// channels take a bot's post any time), and Meta's two free text only within 24 hours of
    /// the chat's last message.
    pub(crate) async fn check_window(
        &self,
        bot_id: BotId,
        platform: PlatformKind,
        chat: &ExternalChatId,
        field: &'static str,
        now: DateTime<Utc>,
    ) -> Result<(), ProactiveError> {
        if platform == PlatformKind::Discord {
            return Ok(());
        }
        let last_inbound = self
            .messages
            .last_inbound_at(bot_id, platform, chat)
            .await?;
        let Some(last_inbound) = last_inbound else {
            let reason = format!(
                "chat {} has never written to this bot, and {platform} lets a bot write only to chats that wrote to it",
                chat.as_str()
            );
            return Err(ValidationError::new(field, reason).into());
        };
        let meta = matches!(platform, PlatformKind::Whatsapp | PlatformKind::Messenger);
        if meta && now - last_inbound >= META_WINDOW {
            return Err(ProactiveError::WindowClosed {
                platform,
                chat: chat.clone(),
                last_inbound,
            });
        }
        Ok(())
    }

    /// Tells operators' clients that `message` was queued.
    pub(crate) fn announce(&self, message: &Message) {
        self.events.publish(DomainEvent::OperatorMessageStored {
            bot_id: message.bot_id,
            conversation_id: message.conversation_id,
            message_id: message.id,
        });
    }
}

impl Say {
    /// The bot's pending outbound message saying this in `conversation`.
    pub(crate) fn message_in(&self, conversation: &Conversation, now: DateTime<Utc>) -> Message {
        Message {
            content: self.content(),
            ..Message::operator(conversation, String::new(), now)
        }
    }

    /// What it says, as a message holds it.
    pub(crate) fn content(&self) -> MessageContent {
        match self {
            Say::Text(text) => MessageContent::Text { text: text.clone() },
            Say::Template(template) => MessageContent::Template(template.clone()),
        }
    }
}

/// What the request says, checked: a text trimmed, then 1-4096 characters; a template only
/// on WhatsApp.
fn content(platform: PlatformKind, say: &Say) -> Result<Say, ValidationError> {
    match say {
        Say::Text(text) => Ok(Say::Text(valid_text(text)?.to_owned())),
        Say::Template(_) if platform != PlatformKind::Whatsapp => Err(ValidationError::new(
            "template",
            "only WhatsApp has message templates",
        )),
        Say::Template(template) => Ok(Say::Template(template.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{proactive_ports, World};
    use crate::ports::MockLedger;
    use domain::MessageStatus;

    /// A world whose bot exists and is bound to every platform, and whose chat last wrote
    /// `last_inbound` before now (never, with `None`).
    struct Rig {
        ledger: MockLedger,
        last_inbound: Option<Duration>,
    }

    impl Rig {
        fn new(last_inbound: Option<Duration>) -> Self {
            Self {
                ledger: MockLedger::new(),
                last_inbound,
            }
        }

        /// Expects the message to be stored once, as it is given.
        fn storing(mut self) -> Self {
            self.ledger
                .expect_start_outbound()
                .times(1)
                .returning(|_, message| Ok(message.clone()));
            self
        }

        fn use_case(self) -> SendProactive {
            let last = self.last_inbound;
            SendProactive::new(proactive_ports(self.ledger, move |_| last))
        }
    }

    fn to(platform: PlatformKind, text: &str) -> Proactive {
        Proactive {
            platform,
            chat: ExternalChatId::parse("4242").unwrap(),
            say: Say::Text(text.to_owned()),
        }
    }

    fn template_to(platform: PlatformKind) -> Proactive {
        let template = Template::new("order_shipped", "en_US", vec![]).unwrap();
        Proactive {
            say: Say::Template(template),
            ..to(platform, "")
        }
    }

    /// The field a refusal names, or a panic showing what came instead.
    fn refused_field(result: Result<Message, ProactiveError>) -> &'static str {
        match result {
            Err(ProactiveError::Invalid(error)) => error.field,
            other => panic!("expected a refusal naming a field, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_chat_that_wrote_before_gets_the_trimmed_text_pending() {
        let use_case = Rig::new(Some(Duration::days(30))).storing().use_case();
        let request = to(PlatformKind::Telegram, "  Your order shipped.  ");

        let message = use_case.send(World::new().bot.id, &request).await.unwrap();

        assert_eq!(message.content.summary(), "Your order shipped.");
        assert_eq!(message.status, MessageStatus::Pending);
        assert_eq!(message.reply_to, None);
    }

    #[tokio::test]
    async fn meta_free_text_goes_only_within_24_hours_of_the_chats_last_message() {
        let bot_id = World::new().bot.id;
        for platform in [PlatformKind::Whatsapp, PlatformKind::Messenger] {
            let request = to(platform, "still open");
            let inside = Rig::new(Some(Duration::hours(23))).storing().use_case();
            assert!(inside.send(bot_id, &request).await.is_ok());

            let closed = Rig::new(Some(Duration::hours(24))).use_case();
            let refused = closed.send(bot_id, &request).await;
            assert!(
                matches!(refused, Err(ProactiveError::WindowClosed { .. })),
                "{platform}: {refused:?}"
            );
        }
        let telegram = Rig::new(Some(Duration::days(300))).storing().use_case();
        let late = to(PlatformKind::Telegram, "no window");
        assert!(telegram.send(bot_id, &late).await.is_ok());
    }

    #[tokio::test]
    async fn a_chat_that_never_wrote_is_refused_naming_chat_id_except_on_discord() {
        let bot_id = World::new().bot.id;
        for platform in [
            PlatformKind::Telegram,
            PlatformKind::Whatsapp,
            PlatformKind::Messenger,
        ] {
            let use_case = Rig::new(None).use_case();
            let refused = use_case.send(bot_id, &to(platform, "hello")).await;
            assert_eq!(refused_field(refused), "chat_id", "{platform}");
        }
        let discord = Rig::new(None).storing().use_case();
        let request = to(PlatformKind::Discord, "hello");
        assert!(discord.send(bot_id, &request).await.is_ok());
    }

    #[tokio::test]
    async fn a_whatsapp_template_goes_outside_the_window_and_to_a_new_number() {
        let bot_id = World::new().bot.id;
        for last_inbound in [Some(Duration::days(3)), None] {
            let use_case = Rig::new(last_inbound).storing().use_case();
            let message = use_case
                .send(bot_id, &template_to(PlatformKind::Whatsapp))
                .await;
            let content = message.unwrap().content;
            assert_eq!(content.summary(), "[template order_shipped]");
        }
        let telegram = Rig::new(Some(Duration::hours(1))).use_case();
        let refused = telegram
            .send(bot_id, &template_to(PlatformKind::Telegram))
            .await;
        assert_eq!(refused_field(refused), "template");
    }

    #[tokio::test]
    async fn web_chat_and_blank_text_are_refused_naming_the_field() {
        let use_case = Rig::new(Some(Duration::hours(1))).use_case();
        let bot_id = World::new().bot.id;
        let cases = [
            (PlatformKind::WebChat, "hello", "platform"),
            (PlatformKind::Telegram, "   ", "text"),
        ];
        for (platform, text, field) in cases {
            let refused = use_case.send(bot_id, &to(platform, text)).await;
            assert_eq!(refused_field(refused), field);
        }
    }
}
