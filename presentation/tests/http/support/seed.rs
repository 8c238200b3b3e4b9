//! Seeding the real store as the application would have filled it, and reading it back.

use super::{TestApp, META_VERIFY_TOKEN, TELEGRAM_SECRET, TELEGRAM_TOKEN};
use application::api_keys::{hash_key, SHOWN_PREFIX_LEN};
use application::ports::{InboundRecord, Ledger, Recorded};
use chrono::{DateTime, Utc};
use domain::repositories::{
    ApiKeyRepository, BindingRepository, BotRepository, ConversationRepository, MessageRepository,
};
use domain::{
    ApiKey, ApiKeyId, Bot, BotDraft, BotId, BotName, Conversation, ConversationId, Cost,
    Credentials, ExternalChatId, ExternalMessageId, Message, MessageContent, MessengerCredentials,
    PageRequest, PlatformBinding, PlatformKind, Role, SystemPrompt, TelegramCredentials,
    TokenUsage, WebChatCredentials, WhatsappCredentials,
};

/// A key for `secret`, created now, not yet stored.
pub fn api_key(secret: &str, role: Role) -> ApiKey {
    ApiKey {
        id: ApiKeyId::new(),
        name: role.as_str().into(),
        role,
        key_hash: hash_key(secret),
        prefix: secret[..SHOWN_PREFIX_LEN].to_owned(),
        created_at: Utc::now(),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    }
}

/// As many rows as one page may hold: more than any test stores.
fn everything() -> PageRequest {
    PageRequest::new(None, Some(PageRequest::MAX_LIMIT))
}

impl TestApp {
    pub async fn seed_key(&self, key: &ApiKey) {
        ApiKeyRepository::insert(&*self.store, key).await.unwrap();
    }

    /// Every stored key, oldest first.
    pub async fn stored_keys(&self) -> Vec<ApiKey> {
        let page = everything();
        let keys = ApiKeyRepository::list(&*self.store, &page).await;
        keys.unwrap().items
    }

    /// Stores a bot.
    pub async fn seed_bot(&self, name: &str) -> Bot {
        let bot = Bot::create(
            BotDraft {
                name: BotName::parse(name).unwrap(),
                system_prompt: SystemPrompt::parse("be kind").unwrap(),
                model: None,
                temperature: None,
                fallback_message: None,
                handoff: domain::HandoffPolicy::default(),
                provider_id: None,
                guardrails: Default::default(),
                replies: Default::default(),
                lifecycle: Default::default(),
            },
            Utc::now(),
        );
        BotRepository::insert(&*self.store, &bot).await.unwrap();
        bot
    }

    /// Every stored bot, oldest first.
    pub async fn stored_bots(&self) -> Vec<Bot> {
        let page = everything();
        let bots = BotRepository::list(&*self.store, &page).await;
        bots.unwrap().items
    }

    /// Binds `bot` with `credentials`.
    async fn seed_binding(&self, bot: &Bot, credentials: Credentials) {
        let binding = PlatformBinding::new(bot.id, credentials, Utc::now());
        self.store.upsert(&binding).await.unwrap();
    }

    /// Stores a bot with a Telegram binding.
    pub async fn seed_bound_bot(&self) -> Bot {
        let bot = self.seed_bot("bound").await;
        let creds = TelegramCredentials::parse(TELEGRAM_TOKEN, TELEGRAM_SECRET).unwrap();
        self.seed_binding(&bot, Credentials::Telegram(creds)).await;
        bot
    }

    /// Stores a bot bound to the web chat, accepting sockets from `origins` (none: any).
    pub async fn seed_web_chat_bot(&self, origins: &[&str]) -> Bot {
        let bot = self.seed_bot("web").await;
        let origins: Vec<String> = origins.iter().map(|o| o.to_string()).collect();
        let credentials = Credentials::WebChat(WebChatCredentials::parse(&origins).unwrap());
        self.seed_binding(&bot, credentials).await;
        bot
    }

    /// Stores a bot bound to Messenger and WhatsApp, both with [`META_VERIFY_TOKEN`].
    pub async fn seed_meta_bound_bot(&self) -> Bot {
        let bot = self.seed_bot("meta").await;
        let app = "ab".repeat(16);
        let messenger = MessengerCredentials::parse("104233", "page", &app, META_VERIFY_TOKEN);
        let whatsapp = WhatsappCredentials::parse("106540", "access", &app, META_VERIFY_TOKEN);
        for credentials in [
            Credentials::Messenger(messenger.unwrap()),
            Credentials::Whatsapp(whatsapp.unwrap()),
        ] {
            self.seed_binding(&bot, credentials).await;
        }
        bot
    }

    /// Records `content` from the bot's Telegram chat `chat` at `at`, as a webhook would (the
    /// chat's conversation starts then if none is active); returns the stored message.
    pub async fn seed_inbound(
        &self,
        bot_id: BotId,
        chat: &str,
        external_id: &str,
        content: MessageContent,
        at: DateTime<Utc>,
    ) -> Message {
        let record = InboundRecord {
            bot_id,
            platform: PlatformKind::Telegram,
            chat: ExternalChatId::parse(chat).unwrap(),
            external_id: ExternalMessageId::parse(external_id).unwrap(),
            content,
            reply_handle: None,
            received_at: at,
            trace_parent: None,
        };
        let recorded = self.store.record_inbound_batch(&[record]).await.unwrap();
        let [Recorded::New { message_id, .. }] = recorded[..] else {
            panic!("{external_id} was not new: {recorded:?}");
        };
        let message = MessageRepository::get(&*self.store, message_id);
        message.await.unwrap().unwrap()
    }

    /// Queues the bot's answer to `question`, written at `at` with `usage` and `cost`; it stays
    /// pending.
    pub async fn seed_answer(
        &self,
        question: &Message,
        at: DateTime<Utc>,
        usage: Option<TokenUsage>,
        cost: Option<Cost>,
    ) -> Message {
        let answer = Message::reply(question, "hi there", at).with_usage(usage, cost);
        assert!(self.store.queue_outbound(&answer).await.unwrap());
        answer
    }

    /// Stores a conversation with one inbound message, its reply and an unsupported photo.
    pub async fn seed_conversation(&self, bot: &Bot) -> Conversation {
        self.seed_conversation_at(bot, Utc::now()).await
    }

    /// [`TestApp::seed_conversation`], started at `at`.
    pub async fn seed_conversation_at(&self, bot: &Bot, at: DateTime<Utc>) -> Conversation {
        let hello = MessageContent::text("hello");
        let question = self.seed_inbound(bot.id, "777", "1", hello, at).await;
        self.seed_answer(&question, at, None, None).await;
        let photo = MessageContent::Unsupported {
            kind: "photo".into(),
        };
        self.seed_inbound(bot.id, "777", "2", photo, at).await;
        self.stored_conversation(question.conversation_id).await
    }

    pub async fn stored_conversation(&self, id: ConversationId) -> Conversation {
        let conversation = ConversationRepository::get(&*self.store, id);
        conversation.await.unwrap().unwrap()
    }

    /// The conversation's messages, oldest first.
    pub async fn stored_messages(&self, id: ConversationId) -> Vec<Message> {
        let page = everything();
        let messages = MessageRepository::list(&*self.store, id, &page).await;
        messages.unwrap().items
    }
}
