//! Test support: in-memory fakes of the repositories and ports, and a request helper.

use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::web;
use application::api_keys::{hash_key, SHOWN_PREFIX_LEN};
use application::ports::{
    Channel, Channels, Claim, ClaimTimes, ClaimToken, ClaimedJob, Clock, EventPublisher,
    EventSubscriber, HealthCheck, IdempotencyStore, IdempotentRequest, Inbound, InboundMessage,
    InboundRecord, InboundRequest, Ledger, ParseError, Recipient, Recorded, ReplyStored, SendError,
    StoredResponse, Timer, TraceContext, VerifyError,
};
use application::{
    ApiKeys, BindPlatform, BotAdmin, EndConversation, Idempotency, Intake, IntakeSettings,
    LocalRateLimiter, ReceiveWebhook, SendOperatorMessage, SocketCounts, Stores, VisitorTokens,
    WebChat, WebChatSettings,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::repositories::{
    ApiKeyRepository, BindingRepository, BotRepository, ConversationFilter, ConversationRepository,
    MessageInContext, MessageRepository, SummaryRepository,
};
use domain::{
    ApiKey, ApiKeyId, Bot, BotDraft, BotId, BotName, Conversation, ConversationId,
    ConversationStatus, Credentials, DeliveryReport, DomainEvent, ExternalChatId,
    ExternalMessageId, Message, MessageContent, MessageId, MessageStatus, MessengerCredentials,
    Page, PageRequest, PlatformBinding, PlatformKind, RepoError, Role, SystemPrompt,
    TelegramCredentials, WebChatCredentials, WhatsappCredentials,
};
use domain::{BotSummary, TimeRange};
use futures::stream::BoxStream;
use presentation::WebhookBodies;
use presentation::{AppState, HttpSettings};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub const ADMIN_KEY: &str = "sb_a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0";
pub const OPERATOR_KEY: &str =
    "sb_b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1";
pub const VIEWER_KEY: &str = "sb_c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2";
pub const TELEGRAM_TOKEN: &str = "123456:very-secret-bot-token-DEF1234ghIkl-zyx57W";
pub const TELEGRAM_SECRET: &str = "webhook-secret_42";
/// The verify token of the Messenger and WhatsApp bindings of [`TestApp::seed_meta_bound_bot`].
pub const META_VERIFY_TOKEN: &str = "meta-verify_42";

fn down() -> RepoError {
    RepoError::Unavailable("connection refused".into())
}

/// Pages rows sorted by their id text, as the real repositories do.
fn page_of<T: Clone>(mut rows: Vec<T>, page: &PageRequest, key: impl Fn(&T) -> String) -> Page<T> {
    rows.sort_by_key(&key);
    let rows: Vec<T> = rows
        .into_iter()
        .filter(|row| page.after.as_ref().is_none_or(|after| key(row) > after.0))
        .take(page.fetch_limit() as usize)
        .collect();
    Page::from_overfetch(rows, page, key)
}

#[derive(Default)]
pub struct FakeBots(pub Mutex<Vec<Bot>>);

#[async_trait]
impl BotRepository for FakeBots {
    async fn insert(&self, bot: &Bot) -> Result<(), RepoError> {
        self.0.lock().unwrap().push(bot.clone());
        Ok(())
    }
    async fn get(&self, id: BotId) -> Result<Option<Bot>, RepoError> {
        Ok(self.0.lock().unwrap().iter().find(|b| b.id == id).cloned())
    }
    async fn list(&self, page: &PageRequest) -> Result<Page<Bot>, RepoError> {
        Ok(page_of(self.0.lock().unwrap().clone(), page, |b| {
            b.id.to_string()
        }))
    }
    async fn update(&self, bot: &Bot) -> Result<bool, RepoError> {
        let mut bots = self.0.lock().unwrap();
        let found = bots.iter_mut().find(|b| b.id == bot.id);
        Ok(found.map(|b| *b = bot.clone()).is_some())
    }
    async fn save_pause(&self, bot: &Bot) -> Result<bool, RepoError> {
        self.update(bot).await
    }
    async fn delete(&self, id: BotId) -> Result<bool, RepoError> {
        let mut bots = self.0.lock().unwrap();
        let before = bots.len();
        bots.retain(|b| b.id != id);
        Ok(bots.len() < before)
    }
}

#[derive(Default)]
pub struct FakeBindings {
    rows: Mutex<Vec<PlatformBinding>>,
    pub unavailable: AtomicBool,
}

impl FakeBindings {
    fn check(&self) -> Result<(), RepoError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(down());
        }
        Ok(())
    }
}

#[async_trait]
impl BindingRepository for FakeBindings {
    async fn upsert(&self, binding: &PlatformBinding) -> Result<(), RepoError> {
        self.check()?;
        let mut rows = self.rows.lock().unwrap();
        rows.retain(|b| !(b.bot_id == binding.bot_id && b.kind() == binding.kind()));
        rows.push(binding.clone());
        Ok(())
    }
    async fn get(
        &self,
        bot_id: BotId,
        kind: PlatformKind,
    ) -> Result<Option<PlatformBinding>, RepoError> {
        self.check()?;
        let rows = self.rows.lock().unwrap();
        Ok(rows
            .iter()
            .find(|b| b.bot_id == bot_id && b.kind() == kind)
            .cloned())
    }
    async fn list_for_bot(&self, bot_id: BotId) -> Result<Vec<PlatformBinding>, RepoError> {
        self.check()?;
        let rows = self.rows.lock().unwrap();
        Ok(rows
            .iter()
            .filter(|b| b.bot_id == bot_id)
            .cloned()
            .collect())
    }
    async fn list_by_platform(
        &self,
        kind: PlatformKind,
    ) -> Result<Vec<PlatformBinding>, RepoError> {
        self.check()?;
        let rows = self.rows.lock().unwrap();
        Ok(rows.iter().filter(|b| b.kind() == kind).cloned().collect())
    }
    async fn delete(&self, bot_id: BotId, kind: PlatformKind) -> Result<bool, RepoError> {
        self.check()?;
        let mut rows = self.rows.lock().unwrap();
        let before = rows.len();
        rows.retain(|b| !(b.bot_id == bot_id && b.kind() == kind));
        Ok(rows.len() < before)
    }
}

#[derive(Default)]
pub struct FakeConversations(pub Mutex<Vec<Conversation>>);

#[async_trait]
impl ConversationRepository for FakeConversations {
    async fn get(&self, id: ConversationId) -> Result<Option<Conversation>, RepoError> {
        Ok(self.0.lock().unwrap().iter().find(|c| c.id == id).cloned())
    }
    async fn find_active(
        &self,
        bot_id: BotId,
        platform: PlatformKind,
        chat: &ExternalChatId,
    ) -> Result<Option<Conversation>, RepoError> {
        let rows = self.0.lock().unwrap();
        Ok(rows
            .iter()
            .find(|c| {
                c.bot_id == bot_id
                    && c.platform == platform
                    && &c.external_chat_id == chat
                    && c.is_active()
            })
            .cloned())
    }
    async fn list(
        &self,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, RepoError> {
        let rows: Vec<Conversation> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|c| filter.bot_id.is_none_or(|id| c.bot_id == id))
            .filter(|c| filter.platform.is_none_or(|p| c.platform == p))
            .filter(|c| filter.status.is_none_or(|s| c.status == s))
            .filter(|c| filter.created_after.is_none_or(|at| c.created_at >= at))
            .filter(|c| filter.created_before.is_none_or(|at| c.created_at < at))
            .cloned()
            .collect();
        Ok(page_of(rows, page, |c| c.id.to_string()))
    }
    async fn end(
        &self,
        id: ConversationId,
        at: DateTime<Utc>,
    ) -> Result<Option<Conversation>, RepoError> {
        let mut rows = self.0.lock().unwrap();
        Ok(rows.iter_mut().find(|c| c.id == id).map(|c| {
            c.status = ConversationStatus::Ended;
            c.updated_at = at;
            c.clone()
        }))
    }
}

#[derive(Default)]
pub struct FakeMessages(pub Mutex<Vec<Message>>);

#[async_trait]
impl MessageRepository for FakeMessages {
    async fn get(&self, id: MessageId) -> Result<Option<Message>, RepoError> {
        Ok(self.0.lock().unwrap().iter().find(|m| m.id == id).cloned())
    }
    /// The HTTP tests run no jobs, which alone read this.
    async fn get_in_context(
        &self,
        _id: MessageId,
        _recent: u32,
    ) -> Result<Option<MessageInContext>, RepoError> {
        Ok(None)
    }
    async fn list(
        &self,
        conversation_id: ConversationId,
        page: &PageRequest,
    ) -> Result<Page<Message>, RepoError> {
        let rows: Vec<Message> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.conversation_id == conversation_id)
            .cloned()
            .collect();
        Ok(page_of(rows, page, |m| m.id.to_string()))
    }
    async fn recent(
        &self,
        _conversation_id: ConversationId,
        _limit: u32,
    ) -> Result<Vec<Message>, RepoError> {
        Ok(Vec::new())
    }
    async fn advance(
        &self,
        _id: MessageId,
        _status: MessageStatus,
        _error: Option<String>,
    ) -> Result<bool, RepoError> {
        Ok(true)
    }
    async fn set_external_id(
        &self,
        _id: MessageId,
        _external_id: &ExternalMessageId,
    ) -> Result<(), RepoError> {
        Ok(())
    }
    async fn apply_report(
        &self,
        _bot_id: BotId,
        _platform: PlatformKind,
        _report: &DeliveryReport,
    ) -> Result<Option<Message>, RepoError> {
        Ok(None)
    }
}

/// Answers every summary with `summary`, recording what was asked.
#[derive(Default)]
pub struct FakeSummaries {
    pub summary: Mutex<BotSummary>,
    pub asked: Mutex<Vec<(BotId, TimeRange)>>,
}

#[async_trait]
impl SummaryRepository for FakeSummaries {
    async fn summarize(&self, bot_id: BotId, range: &TimeRange) -> Result<BotSummary, RepoError> {
        self.asked.lock().unwrap().push((bot_id, *range));
        Ok(*self.summary.lock().unwrap())
    }
}

/// An API key repository in memory, holding a key of each role to begin with.
pub struct FakeApiKeys(pub Mutex<Vec<ApiKey>>);

/// A stored key for `secret`, created now.
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

impl Default for FakeApiKeys {
    fn default() -> Self {
        Self(Mutex::new(vec![
            api_key(ADMIN_KEY, Role::Admin),
            api_key(OPERATOR_KEY, Role::Operator),
            api_key(VIEWER_KEY, Role::Viewer),
        ]))
    }
}

impl FakeApiKeys {
    /// Applies `change` to the key with this id; `false` when there is none.
    fn update(&self, id: ApiKeyId, change: impl FnOnce(&mut ApiKey)) -> bool {
        let mut keys = self.0.lock().unwrap();
        keys.iter_mut().find(|k| k.id == id).map(change).is_some()
    }
}

#[async_trait]
impl ApiKeyRepository for FakeApiKeys {
    async fn insert(&self, key: &ApiKey) -> Result<(), RepoError> {
        self.0.lock().unwrap().push(key.clone());
        Ok(())
    }
    async fn find_by_prefix(&self, prefix: &str) -> Result<Vec<ApiKey>, RepoError> {
        let keys = self.0.lock().unwrap();
        Ok(keys
            .iter()
            .filter(|k| k.prefix == prefix)
            .cloned()
            .collect())
    }
    async fn list(&self, page: &PageRequest) -> Result<Page<ApiKey>, RepoError> {
        Ok(page_of(self.0.lock().unwrap().clone(), page, |k| {
            k.id.to_string()
        }))
    }
    async fn revoke(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool, RepoError> {
        Ok(self.update(id, |k| {
            k.revoked_at.get_or_insert(at);
        }))
    }
    async fn touch_last_used(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), RepoError> {
        self.update(id, |k| k.last_used_at = k.last_used_at.max(Some(at)));
        Ok(())
    }
}

/// Counts every write attempt (each record of a batch is one); can be made unavailable, and
/// its inbound batches can be held until released. Queued outbound messages are stored in
/// `messages`, as the real ledger would.
#[derive(Default)]
pub struct FakeLedger {
    pub calls: AtomicUsize,
    pub unavailable: AtomicBool,
    pub messages: Arc<FakeMessages>,
    /// The size of each inbound batch, in the order they were written.
    pub batches: Mutex<Vec<usize>>,
    /// While set, an inbound batch decides its outcome, then waits for `release`.
    pub hold: AtomicBool,
    pub release: tokio::sync::Notify,
}

impl FakeLedger {
    /// Counts a write attempt; fails when unavailable.
    fn write(&self) -> Result<(), RepoError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(down());
        }
        Ok(())
    }

    pub fn batches(&self) -> Vec<usize> {
        self.batches.lock().unwrap().clone()
    }
}

#[async_trait]
impl Ledger for FakeLedger {
    async fn record_inbound_batch(
        &self,
        records: &[InboundRecord],
    ) -> Result<Vec<Recorded>, RepoError> {
        self.batches.lock().unwrap().push(records.len());
        let outcome: Result<Vec<()>, RepoError> = records.iter().map(|_| self.write()).collect();
        if self.hold.load(Ordering::SeqCst) {
            self.release.notified().await;
        }
        outcome?;
        let new = || Recorded::New {
            conversation_id: ConversationId::new(),
            message_id: MessageId::new(),
        };
        Ok(records.iter().map(|_| new()).collect())
    }
    async fn store_reply(
        &self,
        _job: &ClaimedJob,
        _reply: &Message,
    ) -> Result<ReplyStored, RepoError> {
        Ok(ReplyStored::LeaseLost)
    }
    async fn finish_delivery(
        &self,
        _job: &ClaimedJob,
        _message_id: MessageId,
        _external_id: Option<ExternalMessageId>,
    ) -> Result<bool, RepoError> {
        Ok(false)
    }
    async fn queue_outbound(&self, message: &Message) -> Result<bool, RepoError> {
        self.write()?;
        self.messages.0.lock().unwrap().push(message.clone());
        Ok(true)
    }
}

/// An idempotency store in memory: one record per scope and key, no expiry or takeover.
#[derive(Default)]
pub struct FakeIdempotency(pub Mutex<HashMap<(String, String), IdempotencyRecord>>);

#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    pub fingerprint: String,
    /// Set while the claim runs.
    pub token: Option<ClaimToken>,
    pub answer: Option<StoredResponse>,
}

fn key_of(request: &IdempotentRequest) -> (String, String) {
    (request.scope.clone(), request.key.clone())
}

#[async_trait]
impl IdempotencyStore for FakeIdempotency {
    async fn claim(
        &self,
        request: &IdempotentRequest,
        _times: ClaimTimes,
    ) -> Result<Claim, RepoError> {
        let mut records = self.0.lock().unwrap();
        let Some(record) = records.get(&key_of(request)) else {
            let token = ClaimToken(uuid::Uuid::new_v4().to_string());
            let record = IdempotencyRecord {
                fingerprint: request.fingerprint.clone(),
                token: Some(token.clone()),
                answer: None,
            };
            records.insert(key_of(request), record);
            return Ok(Claim::Acquired(token));
        };
        Ok(match &record.answer {
            _ if record.fingerprint != request.fingerprint => Claim::Mismatch,
            Some(answer) => Claim::Completed(answer.clone()),
            None => Claim::InProgress,
        })
    }
    async fn complete(
        &self,
        request: &IdempotentRequest,
        token: &ClaimToken,
        response: &StoredResponse,
    ) -> Result<bool, RepoError> {
        let mut records = self.0.lock().unwrap();
        let held = records
            .get_mut(&key_of(request))
            .filter(|r| r.token.as_ref() == Some(token));
        Ok(held
            .map(|record| {
                record.token = None;
                record.answer = Some(response.clone());
            })
            .is_some())
    }
    async fn release(
        &self,
        request: &IdempotentRequest,
        token: &ClaimToken,
    ) -> Result<bool, RepoError> {
        let mut records = self.0.lock().unwrap();
        let held = records
            .get(&key_of(request))
            .is_some_and(|r| r.token.as_ref() == Some(token));
        if held {
            records.remove(&key_of(request));
        }
        Ok(held)
    }
}

/// A Telegram-like channel: the secret header must match; `{"message": {...}}` holds one message.
#[derive(Default)]
pub struct FakeTelegram {
    pub refuse_webhook: bool,
}

#[async_trait]
impl Channel for FakeTelegram {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Telegram
    }
    fn verify(
        &self,
        binding: &PlatformBinding,
        request: &InboundRequest,
    ) -> Result<(), VerifyError> {
        self.check_headers(binding, request)
    }
    /// As the real channel: the secret is a header, checked before the body is read.
    fn check_headers(
        &self,
        binding: &PlatformBinding,
        request: &InboundRequest,
    ) -> Result<(), VerifyError> {
        let Credentials::Telegram(creds) = &binding.credentials else {
            return Err(VerifyError::Mismatch);
        };
        match request.header("x-telegram-bot-api-secret-token") {
            None => Err(VerifyError::Missing),
            Some(s) if s == creds.secret_token.expose() => Ok(()),
            Some(_) => Err(VerifyError::Mismatch),
        }
    }
    fn parse(&self, body: &[u8]) -> Result<Inbound, ParseError> {
        let update: Value = serde_json::from_slice(body).map_err(|e| ParseError(e.to_string()))?;
        let Some(message) = update.get("message") else {
            return Ok(Inbound::default());
        };
        let field = |name: &str| message[name].to_string();
        Ok(Inbound::from(vec![InboundMessage::new(
            ExternalMessageId::parse(field("message_id")).unwrap(),
            ExternalChatId::parse(field("chat_id")).unwrap(),
            MessageContent::text(message["text"].as_str().unwrap_or_default()),
        )]))
    }
    fn max_text_len(&self) -> usize {
        4096
    }
    async fn send_text(
        &self,
        _binding: &PlatformBinding,
        _to: &Recipient,
        _text: &str,
    ) -> Result<Option<ExternalMessageId>, SendError> {
        Ok(None)
    }
    async fn typing(
        &self,
        _binding: &PlatformBinding,
        _chat: &ExternalChatId,
    ) -> Result<(), SendError> {
        Ok(())
    }
    async fn register_webhook(
        &self,
        _binding: &PlatformBinding,
        _webhook_url: &str,
    ) -> Result<bool, SendError> {
        self.refusal()?;
        Ok(true)
    }
    async fn unregister_webhook(&self, _binding: &PlatformBinding) -> Result<(), SendError> {
        self.refusal()
    }
}

impl FakeTelegram {
    /// Telegram's answer to a webhook call: a refused token when so configured.
    fn refusal(&self) -> Result<(), SendError> {
        if self.refuse_webhook {
            return Err(SendError::Permanent(
                "Unauthorized: token 123 is wrong".into(),
            ));
        }
        Ok(())
    }
}

pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

pub struct NoEvents;

impl EventPublisher for NoEvents {
    fn publish(&self, _event: DomainEvent) {}
}

impl EventSubscriber for NoEvents {
    fn subscribe(&self) -> BoxStream<'static, DomainEvent> {
        Box::pin(futures::stream::pending())
    }
}

/// The timer port on tokio's clock.
pub struct TokioTimer;

#[async_trait]
impl Timer for TokioTimer {
    async fn sleep(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// How long the REST channel waits in these tests, with no worker to answer.
pub const REPLY_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

/// A health check with a fixed answer.
pub struct FixedCheck {
    pub name: &'static str,
    pub healthy: bool,
}

#[async_trait]
impl HealthCheck for FixedCheck {
    fn name(&self) -> &'static str {
        self.name
    }
    async fn check(&self) -> Result<(), String> {
        if self.healthy {
            Ok(())
        } else {
            Err("connection refused to 10.0.0.7:5432".into())
        }
    }
}

/// How to build a test application.
#[derive(Default)]
pub struct Options {
    pub public_url: Option<String>,
    pub refuse_webhook: bool,
    pub checks: Vec<FixedCheck>,
    pub settings: HttpSettings,
    pub metrics: Option<Arc<application::Scrape>>,
    pub trace: Option<Arc<dyn TraceContext>>,
}

/// The application under test and handles on its fakes.
pub struct TestApp {
    pub data: web::Data<AppState>,
    pub settings: HttpSettings,
    pub bots: Arc<FakeBots>,
    pub bindings: Arc<FakeBindings>,
    pub conversations: Arc<FakeConversations>,
    pub messages: Arc<FakeMessages>,
    pub summaries: Arc<FakeSummaries>,
    pub ledger: Arc<FakeLedger>,
    /// The webhook route's intake writer, to see what waits for it.
    pub intake: Intake,
    pub api_keys: Arc<FakeApiKeys>,
    pub idempotency: Arc<FakeIdempotency>,
}

/// A response, its body parsed as JSON (`Null` when empty).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub raw: String,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    pub fn new() -> Self {
        Self::with(Options::default())
    }

    pub fn with(options: Options) -> Self {
        let bots = Arc::new(FakeBots::default());
        let bindings = Arc::new(FakeBindings::default());
        let conversations = Arc::new(FakeConversations::default());
        let messages = Arc::new(FakeMessages::default());
        let summaries = Arc::new(FakeSummaries::default());
        let ledger = Arc::new(FakeLedger {
            messages: messages.clone(),
            ..FakeLedger::default()
        });
        let api_keys = Arc::new(FakeApiKeys::default());
        let idempotency = Arc::new(FakeIdempotency::default());
        let clock: Arc<dyn Clock> = Arc::new(WallClock);
        let telegram: Arc<dyn Channel> = Arc::new(FakeTelegram {
            refuse_webhook: options.refuse_webhook,
        });
        let channels = Channels::new([telegram]);
        let send_message = Arc::new(SendOperatorMessage::new(
            conversations.clone(),
            bindings.clone(),
            ledger.clone(),
            Arc::new(NoEvents),
            clock.clone(),
        ));
        // The writer runs on the test's runtime until the app (every intake handle) is dropped.
        let (intake, writer) = Intake::new(ledger.clone(), IntakeSettings::default());
        tokio::spawn(writer.run());
        let receive = Arc::new(ReceiveWebhook::new(
            Stores {
                bindings: bindings.clone(),
                messages: messages.clone(),
                intake: intake.clone(),
            },
            channels.clone(),
            Arc::new(NoEvents),
            clock.clone(),
        ));
        let web_chat = Arc::new(WebChat {
            bindings: bindings.clone(),
            conversations: conversations.clone(),
            messages: messages.clone(),
            receive: receive.clone(),
            events: Arc::new(NoEvents),
            timer: Arc::new(TokioTimer),
            limiter: Arc::new(LocalRateLimiter::default()),
            tokens: VisitorTokens::random(),
            sockets: SocketCounts::default(),
            settings: WebChatSettings {
                reply_wait: REPLY_WAIT,
                ..WebChatSettings::default()
            },
        });
        let state = AppState {
            receive,
            web_chat,
            bot_admin: Arc::new(BotAdmin::new(bots.clone(), clock.clone())),
            bind: Arc::new(BindPlatform::new(
                bots.clone(),
                bindings.clone(),
                channels,
                clock.clone(),
                options.public_url,
            )),
            api_keys: Arc::new(ApiKeys::new(api_keys.clone(), clock.clone(), None)),
            send_message,
            end_conversation: Arc::new(EndConversation::new(
                conversations.clone(),
                Arc::new(NoEvents),
                clock.clone(),
            )),
            idempotency: Arc::new(Idempotency::new(idempotency.clone(), clock)),
            bots: bots.clone(),
            bindings: bindings.clone(),
            conversations: conversations.clone(),
            messages: messages.clone(),
            summaries: summaries.clone(),
            health: options
                .checks
                .into_iter()
                .map(|c| Arc::new(c) as Arc<dyn HealthCheck>)
                .collect(),
            metrics: options.metrics,
            trace: options.trace,
        };
        Self {
            data: web::Data::new(state),
            settings: options.settings,
            bots,
            bindings,
            conversations,
            messages,
            summaries,
            ledger,
            intake,
            api_keys,
            idempotency,
        }
    }

    /// Serves one request through the full application (middleware included).
    pub async fn send(&self, request: TestRequest) -> Reply {
        let bodies = presentation::WebhookBodies::new(self.settings.max_webhook_bodies);
        self.send_with_bodies(bodies, request).await
    }

    /// [`TestApp::send`] with the webhook body slots given, to see them run out.
    pub async fn send_with_bodies(&self, bodies: WebhookBodies, request: TestRequest) -> Reply {
        let app =
            test::init_service(presentation::app(self.data.clone(), &self.settings, bodies)).await;
        let response = test::call_service(&app, request.to_request()).await;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = test::read_body(response).await;
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            raw,
            body,
        }
    }

    /// Sends `request` with the given key as a bearer token.
    pub async fn as_key(&self, key: &str, request: TestRequest) -> Reply {
        self.send(request.insert_header(("Authorization", format!("Bearer {key}"))))
            .await
    }

    pub async fn admin(&self, request: TestRequest) -> Reply {
        self.as_key(ADMIN_KEY, request).await
    }

    /// Stores a bot directly in the fake repository.
    pub fn seed_bot(&self, name: &str) -> Bot {
        let bot = Bot::create(
            BotDraft {
                name: BotName::parse(name).unwrap(),
                system_prompt: SystemPrompt::parse("be kind").unwrap(),
                model: None,
                temperature: None,
                fallback_message: None,
            },
            Utc::now(),
        );
        self.bots.0.lock().unwrap().push(bot.clone());
        bot
    }

    /// Stores a bot with a Telegram binding.
    pub fn seed_bound_bot(&self) -> Bot {
        let bot = self.seed_bot("bound");
        let creds = TelegramCredentials::parse(TELEGRAM_TOKEN, TELEGRAM_SECRET).unwrap();
        let binding = PlatformBinding::new(bot.id, Credentials::Telegram(creds), Utc::now());
        self.bindings.rows.lock().unwrap().push(binding);
        bot
    }

    /// Stores a bot bound to the web chat, accepting sockets from `origins` (none: any).
    pub fn seed_web_chat_bot(&self, origins: &[&str]) -> Bot {
        let bot = self.seed_bot("web");
        let origins: Vec<String> = origins.iter().map(|o| o.to_string()).collect();
        let credentials = Credentials::WebChat(WebChatCredentials::parse(&origins).unwrap());
        let binding = PlatformBinding::new(bot.id, credentials, Utc::now());
        self.bindings.rows.lock().unwrap().push(binding);
        bot
    }

    /// Stores a bot bound to Messenger and WhatsApp, both with [`META_VERIFY_TOKEN`].
    pub fn seed_meta_bound_bot(&self) -> Bot {
        let bot = self.seed_bot("meta");
        let app = "ab".repeat(16);
        let messenger = MessengerCredentials::parse("104233", "page", &app, META_VERIFY_TOKEN);
        let whatsapp = WhatsappCredentials::parse("106540", "access", &app, META_VERIFY_TOKEN);
        let mut rows = self.bindings.rows.lock().unwrap();
        for credentials in [
            Credentials::Messenger(messenger.unwrap()),
            Credentials::Whatsapp(whatsapp.unwrap()),
        ] {
            rows.push(PlatformBinding::new(bot.id, credentials, Utc::now()));
        }
        drop(rows);
        bot
    }

    /// Stores a conversation with one inbound message and its reply.
    pub fn seed_conversation(&self, bot: &Bot) -> Conversation {
        let conversation = Conversation::start(
            bot.id,
            PlatformKind::Telegram,
            ExternalChatId::parse("777").unwrap(),
            Utc::now(),
        );
        let question = Message::inbound(
            conversation.id,
            bot.id,
            PlatformKind::Telegram,
            ExternalMessageId::parse("1").unwrap(),
            MessageContent::text("hello"),
            Utc::now(),
        );
        let answer = Message::reply(&question, "hi there", Utc::now());
        let photo = Message::inbound(
            conversation.id,
            bot.id,
            PlatformKind::Telegram,
            ExternalMessageId::parse("2").unwrap(),
            MessageContent::Unsupported {
                kind: "photo".into(),
            },
            Utc::now(),
        );
        self.messages
            .0
            .lock()
            .unwrap()
            .extend([question, answer, photo]);
        self.conversations
            .0
            .lock()
            .unwrap()
            .push(conversation.clone());
        conversation
    }

    pub fn ledger_calls(&self) -> usize {
        self.ledger.calls.load(Ordering::SeqCst)
    }
}

/// Asserts the contract of every error: status, problem+json, stable code, and a request id equal
/// to the `X-Request-Id` header.
pub fn assert_problem(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status.as_u16(), status, "body: {}", reply.raw);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json"),
        "body: {}",
        reply.raw
    );
    let body = &reply.body;
    assert_eq!(body["code"], code, "body: {}", reply.raw);
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().is_some_and(|t| t.ends_with(code)));
    assert!(body["title"].is_string());
    assert!(body["detail"].is_string());
    let id = reply
        .header("x-request-id")
        .expect("an X-Request-Id header");
    assert!(!id.is_empty());
    assert_eq!(body["request_id"], id, "body: {}", reply.raw);
}

/// Asserts a 422 `invalid_field` problem naming `field` first: in `field`, in `errors` and in
/// `detail`.
pub fn assert_invalid_field(reply: &Reply, field: &str) {
    assert_problem(reply, 422, "invalid_field");
    assert_eq!(reply.body["field"], field, "{}", reply.raw);
    assert_eq!(reply.body["errors"][0]["field"], field, "{}", reply.raw);
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(detail.starts_with(field), "{}", reply.raw);
}

/// Asserts a 422 problem naming exactly `fields` (in name order), each with a reason, each in
/// `detail`.
pub fn assert_invalid_fields(reply: &Reply, fields: &[&str]) {
    assert_invalid_field(reply, fields[0]);
    let errors = reply.body["errors"].as_array().unwrap();
    let named: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(named, fields, "{}", reply.raw);
    let detail = reply.body["detail"].as_str().unwrap();
    for error in errors {
        assert!(error["reason"].as_str().is_some_and(|r| !r.is_empty()));
        let field = error["field"].as_str().unwrap();
        assert!(detail.contains(&format!("{field}: ")), "{detail}");
    }
}
