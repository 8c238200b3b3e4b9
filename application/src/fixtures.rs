//! Test fixtures: a bot bound to Telegram with one conversation, mocks that serve them, and
//! runtime-backed doubles of the timer, spawner and update source ports.

use crate::format::Markup;
use crate::intake::{Intake, IntakeSettings};
use crate::jobs::Lookup;
use crate::poll_updates::{PollPorts, PollSettings, PollUpdates};
use crate::ports::{
    Channels, ChatTurn, ClaimedJob, EventPublisher, InboundRecord, JobPayload, LeaseToken,
    MockChannel, MockClock, MockEventPublisher, MockLeases, MockLedger, MockPollOffsets, PollError,
    Recorded, Spawner, Timer, UpdateBatch, UpdateSource,
};
use crate::receive_webhook::{ReceiveWebhook, Stores};
use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use domain::repositories::{
    MessageInContext, MockBindingRepository, MockConversationRepository, MockMessageRepository,
};
use domain::{
    Bot, BotDraft, BotId, BotName, Conversation, Credentials, ExternalChatId, ExternalMessageId,
    Message, MessageContent, PlatformBinding, PlatformKind, RepoError, SystemPrompt,
    TelegramCredentials, TelegramMode,
};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

pub fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000, 0).unwrap()
}

/// An intake on `ledger`, its writer running on the test's runtime and announcing on `events`.
pub fn intake(ledger: MockLedger, events: Arc<dyn EventPublisher>) -> Intake {
    let (intake, writer) = Intake::new(Arc::new(ledger), IntakeSettings::default());
    tokio::spawn(writer.announcing(events).run());
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
            handoff: domain::HandoffPolicy::default(),
            provider_id: None,
            guardrails: Default::default(),
            replies: Default::default(),
            lifecycle: Default::default(),
        };
        let bot = Bot::create(draft, now());
        let credentials = Credentials::Telegram(
            TelegramCredentials::parse(&telegram_token("1:abc"), "secret").unwrap(),
        );
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

    /// Messages served by id from `stored`, alone or with this world's conversation, its bot
    /// and the latest of `stored` as the conversation's history.
    pub fn messages_holding(&self, stored: Vec<Message>) -> MockMessageRepository {
        self.messages_reread_as(stored.clone(), stored)
    }

    /// [`Self::messages_holding`], whose `get` finds `reread` instead: messages changed since
    /// their job read them in context.
    pub fn messages_reread_as(
        &self,
        stored: Vec<Message>,
        reread: Vec<Message>,
    ) -> MockMessageRepository {
        let mut messages = MockMessageRepository::new();
        messages
            .expect_get()
            .returning(move |id| Ok(reread.iter().find(|m| m.id == id).cloned()));
        messages.expect_flag().returning(|_, _| Ok(true));
        messages.expect_mark_rate_limited().returning(|_| Ok(true));
        let (conversation, bot) = (self.conversation.clone(), self.bot.clone());
        messages
            .expect_get_in_context()
            .returning(move |id, recent| {
                let message = stored.iter().find(|m| m.id == id).cloned();
                let latest = stored.iter().rev().take(recent as usize).cloned();
                Ok(message.map(|message| MessageInContext {
                    message,
                    conversation: Some(conversation.clone()),
                    bot: Some(bot.clone()),
                    recent: latest.collect(),
                }))
            });
        messages
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
            // The world's bot has no budget: nothing is read.
            spends: Arc::new(domain::repositories::MockSpendRepository::new()),
            limiter: Arc::new(crate::rate_limit::LocalRateLimiter::default()),
            breakers: Arc::new(crate::breakers::Breakers::new(Default::default(), clock())),
            channels: Channels::new([Arc::new(channel) as Arc<dyn crate::ports::Channel>]),
        }
    }

    /// `message` as a job finds it: with this world's bot, chat and binding, and no history.
    pub fn target(&self, message: Message) -> crate::pipeline::jobs::Target {
        crate::pipeline::jobs::Target {
            message,
            bot: self.bot.clone(),
            history: Vec::new(),
            chat: self.conversation.external_chat_id.clone(),
            person_last_heard: None,
            binding: self.binding.clone(),
            channel: Arc::new(telegram_channel()),
        }
    }
}

/// A pacer that holds no send back.
pub fn unpaced() -> Arc<crate::pacing::Pacer> {
    let limiter = Arc::new(crate::rate_limit::LocalRateLimiter::default());
    let none = crate::pacing::PacingSettings::NONE;
    Arc::new(crate::pacing::Pacer::new(
        limiter,
        Arc::new(TokioTimer),
        none,
    ))
}

pub fn telegram_channel() -> MockChannel {
    let mut channel = MockChannel::new();
    channel.expect_kind().return_const(PlatformKind::Telegram);
    channel.expect_markup().return_const(Markup::Entities);
    channel
}

pub fn job(payload: JobPayload, attempts: u32) -> ClaimedJob {
    ClaimedJob {
        id: 7,
        lane: "lane".into(),
        payload,
        attempts,
        lease: LeaseToken("lease".into()),
        trace_parent: None,
    }
}

pub fn texts(turns: &[ChatTurn]) -> Vec<&str> {
    turns.iter().map(|t| t.content.as_str()).collect()
}

/// The timer port on tokio's clock (paused in tests that ask for it).
pub struct TokioTimer;

#[async_trait]
impl Timer for TokioTimer {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Tasks on the test's tokio runtime.
pub struct TokioSpawner;

impl Spawner for TokioSpawner {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        tokio::spawn(task);
    }
}

/// A fetch that never answers, as a long poll waiting for updates.
pub struct Hanging;

#[async_trait]
impl UpdateSource for Hanging {
    async fn fetch(
        &self,
        _: &PlatformBinding,
        _: Option<i64>,
        _: Duration,
    ) -> Result<UpdateBatch, PollError> {
        std::future::pending().await
    }
}

/// A Telegram token of the real shape that starts `start` (`"1:a"`: the bot `1`, told apart from
/// `"1:b"`).
pub fn telegram_token(start: &str) -> String {
    format!("{start}-AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
}

/// A Discord bot token of the real shape, told apart from others by `tag`.
pub fn discord_token(tag: &str) -> String {
    format!("MTk4NjIyNDgzNDcxOTI1MjQ4.{tag}.ZnCjm1XVW7vRze4b7Cq4se7kKWs")
}

/// `bot_id`'s Telegram binding in polling mode, with the token that starts `token`.
pub fn polling_binding(bot_id: BotId, token: &str) -> PlatformBinding {
    let credentials = TelegramCredentials::parse(&telegram_token(token), "secret")
        .unwrap()
        .with_mode(TelegramMode::Polling);
    PlatformBinding::new(bot_id, Credentials::Telegram(credentials), now())
}

/// The polling use case over these ports; it records through a [`ReceiveWebhook`] whose intake
/// writes to `ledger`.
pub fn poll_updates(
    source: Arc<dyn UpdateSource>,
    offsets: MockPollOffsets,
    leases: MockLeases,
    ledger: MockLedger,
    settings: PollSettings,
) -> PollUpdates {
    let mut events = MockEventPublisher::new();
    events.expect_publish().return_const(());
    let events: Arc<dyn EventPublisher> = Arc::new(events);
    let receive = ReceiveWebhook::new(
        Stores {
            bindings: Arc::new(MockBindingRepository::new()),
            messages: Arc::new(MockMessageRepository::new()),
            conversations: Arc::new(MockConversationRepository::new()),
            intake: intake(ledger, events.clone()),
        },
        Channels::default(),
        events,
        clock(),
    );
    let ports = PollPorts {
        source,
        offsets: Arc::new(offsets),
        leases: Arc::new(leases),
        receive: Arc::new(receive),
        clock: clock(),
    };
    PollUpdates::new(ports, settings)
}

/// The ports of a message the bot starts: [`World`]'s bot, bound to every platform, whose chats
/// last wrote `last_inbound(chat)` before [`now`] (`None`: never), writing through `ledger`.
pub fn proactive_ports(
    ledger: MockLedger,
    last_inbound: impl Fn(&str) -> Option<chrono::Duration> + Send + 'static,
) -> crate::proactive::ProactivePorts {
    let world = World::new();
    let (bot, binding) = (world.bot, world.binding);
    let mut bots = domain::repositories::MockBotRepository::new();
    bots.expect_get().returning(move |_| Ok(Some(bot.clone())));
    let mut bindings = MockBindingRepository::new();
    bindings
        .expect_get()
        .returning(move |_, _| Ok(Some(binding.clone())));
    let mut messages = MockMessageRepository::new();
    messages
        .expect_last_inbound_at()
        .returning(move |_, _, chat| Ok(last_inbound(chat.as_str()).map(|ago| now() - ago)));
    let mut events = MockEventPublisher::new();
    events.expect_publish().return_const(());
    crate::proactive::ProactivePorts {
        bots: Arc::new(bots),
        bindings: Arc::new(bindings),
        messages: Arc::new(messages),
        ledger: Arc::new(ledger),
        events: Arc::new(events),
        clock: clock(),
    }
}
