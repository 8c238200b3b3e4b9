//! Test fixtures: a bot bound to Telegram with one conversation, and mocks that serve them.

use crate::intake::{Intake, IntakeSettings};
use crate::jobs::Lookup;
use crate::ports::{
    Channels, ChatTurn, ClaimedJob, InboundRecord, JobPayload, LeaseToken, MockChannel, MockClock,
    MockLedger, Recorded,
};
use chrono::{DateTime, TimeZone, Utc};
use domain::repositories::{
    MockBindingRepository, MockConversationRepository, MockMessageRepository,
};
use domain::{
    Bot, BotDraft, BotName, Conversation, Credentials, ExternalChatId, ExternalMessageId, Message,
    MessageContent, PlatformBinding, PlatformKind, RepoError, SystemPrompt, TelegramCredentials,
};
use std::sync::Arc;

pub fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000, 0).unwrap()
}

/// An intake on `ledger`, its writer running on the test's runtime.
pub fn intake(ledger: MockLedger) -> Intake {
    let (intake, writer) = Intake::new(Arc::new(ledger), IntakeSettings::default());
    tokio::spawn(writer.run());
    intake
}

/// A `record_inbound_batch` answer built from one answer per record; an error fails the batch.
pub fn per_record(
    mut answer: impl FnMut(&InboundRecord) -> Result<Recorded, RepoError> + Send + 'static,
) -> impl FnMut(&[InboundRecord]) -> Result<Vec<Recorded>, RepoError> + Send + 'static {
    move |records| records.iter().map(&mut answer).collect()
}

pub fn clock() -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    Arc::new(clock)
}

pub struct World {
    pub bot: Bot,
    pub binding: PlatformBinding,
    pub conversation: Conversation,
}

impl World {
    pub fn new() -> Self {
        let draft = BotDraft {
            name: BotName::parse("Ada").unwrap(),
            system_prompt: SystemPrompt::parse("You are Ada.").unwrap(),
            model: Some("tiny".into()),
            temperature: None,
            fallback_message: Some("fallback!".into()),
        };
        let bot = Bot::create(draft, now());
        let credentials =
            Credentials::Telegram(TelegramCredentials::parse("1:abc", "secret").unwrap());
        let binding = PlatformBinding::new(bot.id, credentials, now());
        let chat = ExternalChatId::parse("42").unwrap();
        let conversation = Conversation::start(bot.id, PlatformKind::Telegram, chat, now());
        Self {
            bot,
            binding,
            conversation,
        }
    }

    pub fn inbound(&self, content: MessageContent) -> Message {
        let external = ExternalMessageId::parse(uuid::Uuid::new_v4().to_string()).unwrap();
        Message::inbound(
            self.conversation.id,
            self.bot.id,
            PlatformKind::Telegram,
            external,
            content,
            now(),
        )
    }

    /// A lookup whose repositories hold `messages`, this conversation and binding, with `channel`.
    pub fn lookup(&self, messages: MockMessageRepository, channel: MockChannel) -> Lookup {
        self.lookup_with(messages, channel, MockConversationRepository::new())
    }

    /// [`Self::lookup`] over `conversations`, which also answers for the world's conversation.
    pub fn lookup_with(
        &self,
        messages: MockMessageRepository,
        channel: MockChannel,
        mut conversations: MockConversationRepository,
    ) -> Lookup {
        let conversation = self.conversation.clone();
        conversations
            .expect_get()
            .returning(move |_| Ok(Some(conversation.clone())));
        let mut bindings = MockBindingRepository::new();
        let binding = self.binding.clone();
        bindings
            .expect_get()
            .returning(move |_, _| Ok(Some(binding.clone())));
        Lookup {
            messages: Arc::new(messages),
            conversations: Arc::new(conversations),
            bindings: Arc::new(bindings),
            channels: Channels::new([Arc::new(channel) as Arc<dyn crate::ports::Channel>]),
        }
    }
}

/// Messages served by id from `stored`.
pub fn messages_holding(stored: Vec<Message>) -> MockMessageRepository {
    let mut messages = MockMessageRepository::new();
    messages
        .expect_get()
        .returning(move |id| Ok(stored.iter().find(|m| m.id == id).cloned()));
    messages
}

pub fn telegram_channel() -> MockChannel {
    let mut channel = MockChannel::new();
    channel.expect_kind().return_const(PlatformKind::Telegram);
    channel
}

pub fn job(payload: JobPayload, attempts: u32) -> ClaimedJob {
    ClaimedJob {
        id: 7,
        lane: "lane".into(),
        payload,
        attempts,
        lease: LeaseToken("lease".into()),
    }
}

pub fn texts(turns: &[ChatTurn]) -> Vec<&str> {
    turns.iter().map(|t| t.content.as_str()).collect()
}
