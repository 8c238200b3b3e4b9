//! Decorators of the real store for the tests that need an outage: they delegate every call,
//! unless switched to answer `RepoError::Unavailable`; the ledger's also counts and holds writes.

use application::ports::{ClaimedJob, InboundRecord, Ledger, Recorded, ReplyStored};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use database::SeaStore;
use domain::repositories::{BindingRepository, SummaryRepository};
use domain::{
    BotId, BotSummary, ConversationId, ExternalMessageId, Message, MessageId, PlatformBinding,
    PlatformKind, RepoError, TimeRange, Usage,
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Off by default; on, the store behind it is unreachable.
#[derive(Default)]
pub struct Switch(AtomicBool);

impl Switch {
    pub fn set(&self, unavailable: bool) {
        self.0.store(unavailable, Ordering::SeqCst);
    }

    /// `Unavailable` while switched on.
    fn check(&self) -> Result<(), RepoError> {
        if self.0.load(Ordering::SeqCst) {
            return Err(RepoError::Unavailable("connection refused".into()));
        }
        Ok(())
    }
}

/// The real store behind a [`Switch`]: bindings and summaries.
pub struct Outage {
    store: Arc<SeaStore>,
    pub unavailable: Switch,
}

impl Outage {
    pub fn new(store: Arc<SeaStore>) -> Self {
        Self {
            store,
            unavailable: Switch::default(),
        }
    }

    /// The store, unless switched off.
    fn store(&self) -> Result<&SeaStore, RepoError> {
        self.unavailable.check()?;
        Ok(&self.store)
    }
}

#[async_trait]
impl BindingRepository for Outage {
    async fn upsert(&self, binding: &PlatformBinding) -> Result<(), RepoError> {
        self.store()?.upsert(binding).await
    }
    async fn get(
        &self,
        bot_id: BotId,
        kind: PlatformKind,
    ) -> Result<Option<PlatformBinding>, RepoError> {
        BindingRepository::get(self.store()?, bot_id, kind).await
    }
    async fn list_for_bot(&self, bot_id: BotId) -> Result<Vec<PlatformBinding>, RepoError> {
        self.store()?.list_for_bot(bot_id).await
    }
    async fn list_by_platform(
        &self,
        kind: PlatformKind,
    ) -> Result<Vec<PlatformBinding>, RepoError> {
        self.store()?.list_by_platform(kind).await
    }
    async fn delete(&self, bot_id: BotId, kind: PlatformKind) -> Result<bool, RepoError> {
        BindingRepository::delete(self.store()?, bot_id, kind).await
    }
}

#[async_trait]
impl SummaryRepository for Outage {
    async fn summarize(&self, bot_id: BotId, range: &TimeRange) -> Result<BotSummary, RepoError> {
        self.store()?.summarize(bot_id, range).await
    }
    async fn conversation_usage(&self, id: ConversationId) -> Result<Usage, RepoError> {
        self.store()?.conversation_usage(id).await
    }
    async fn daily_usage(
        &self,
        bot_id: BotId,
        range: &TimeRange,
    ) -> Result<Vec<(NaiveDate, Usage)>, RepoError> {
        self.store()?.daily_usage(bot_id, range).await
    }
}

/// The real ledger behind a [`Switch`], counting every write attempt (each record of a batch is
/// one); its inbound batches can be held until released.
pub struct WatchedLedger {
    store: Arc<SeaStore>,
    pub unavailable: Switch,
    calls: AtomicUsize,
    /// The size of each inbound batch, in the order they were written.
    batches: Mutex<Vec<usize>>,
    /// While set, an inbound batch decides its outcome, then waits for `release`.
    pub hold: AtomicBool,
    pub release: Notify,
}

impl WatchedLedger {
    pub fn new(store: Arc<SeaStore>) -> Self {
        Self {
            store,
            unavailable: Switch::default(),
            calls: AtomicUsize::default(),
            batches: Mutex::default(),
            hold: AtomicBool::default(),
            release: Notify::new(),
        }
    }

    /// Write attempts so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn batches(&self) -> Vec<usize> {
        self.batches.lock().unwrap().clone()
    }

    /// Counts `writes` attempts; fails when unavailable.
    fn write(&self, writes: usize) -> Result<(), RepoError> {
        self.calls.fetch_add(writes, Ordering::SeqCst);
        self.unavailable.check()
    }
}

#[async_trait]
impl Ledger for WatchedLedger {
    async fn record_inbound_batch(
        &self,
        records: &[InboundRecord],
    ) -> Result<Vec<Recorded>, RepoError> {
        self.batches.lock().unwrap().push(records.len());
        let outcome = self.write(records.len());
        if self.hold.load(Ordering::SeqCst) {
            self.release.notified().await;
        }
        outcome?;
        self.store.record_inbound_batch(records).await
    }
    async fn store_reply(
        &self,
        job: &ClaimedJob,
        reply: &Message,
    ) -> Result<ReplyStored, RepoError> {
        self.store.store_reply(job, reply).await
    }
    async fn finish_delivery(
        &self,
        job: &ClaimedJob,
        message_id: MessageId,
        external_id: Option<ExternalMessageId>,
    ) -> Result<bool, RepoError> {
        self.store
            .finish_delivery(job, message_id, external_id)
            .await
    }
    async fn queue_outbound(&self, message: &Message) -> Result<bool, RepoError> {
        self.write(1)?;
        self.store.queue_outbound(message).await
    }
    async fn start_outbound(
        &self,
        conversation: &domain::Conversation,
        message: &Message,
    ) -> Result<Message, RepoError> {
        self.write(1)?;
        self.store.start_outbound(conversation, message).await
    }
    async fn hand_back(
        &self,
        id: ConversationId,
        answer_pending: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        self.write(1)?;
        self.store.hand_back(id, answer_pending, at).await
    }
}
