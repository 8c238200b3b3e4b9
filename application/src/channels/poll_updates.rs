//! Use case: long-poll a Telegram binding's updates under a cross-replica lease and record them like webhooks.
//!
//! One round: hold the lease `telegram-poll:{bot_id}`, fetch from the committed offset, check
//! the lease is still ours, record every message (stored, deduplicated, answered by the
//! workers), and only then commit the new offset. A crash or failure before the commit
//! re-delivers the batch, which deduplication makes harmless.

use crate::ports::{Clock, Leases, PollError, PollOffsets, UpdateBatch, UpdateSource};
use crate::receive_webhook::ReceiveWebhook;
use domain::{BotId, Credentials, PlatformBinding, PlatformKind, RepoError};
use futures::future::{select, Either};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// How the poller paces itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollSettings {
    /// How long one `getUpdates` waits for an update (Telegram's long-poll `timeout`).
    pub timeout: Duration,
    /// How long a held lease lasts unrenewed; renewed before and after every fetch, so it must
    /// outlast one fetch.
    pub lease_ttl: Duration,
    /// How long a poller that does not hold the lease waits before trying to take it again.
    pub standby: Duration,
    /// The pause after a transient failure (network, storage).
    pub retry: Duration,
    /// The pause after the platform refused polling (a webhook still set, a bad token).
    pub refused_retry: Duration,
}

impl Default for PollSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(25),
            lease_ttl: Duration::from_secs(60),
            standby: Duration::from_secs(3),
            retry: Duration::from_secs(5),
            refused_retry: Duration::from_secs(60),
        }
    }
}

/// What the driver does after a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Poll again at once.
    Poll,
    /// Wait this long first (back-off, or standby while another replica holds the lease).
    Wait(Duration),
    /// Stopping was asked while the fetch was in flight; nothing was recorded or committed.
    Stopped,
}

/// Why a round ended early.
#[derive(Debug, Error)]
enum Failure {
    #[error(transparent)]
    Storage(#[from] RepoError),
    #[error(transparent)]
    Poll(#[from] PollError),
    #[error("not a Telegram binding")]
    NotTelegram,
}

/// The ports a poller needs.
pub struct PollPorts {
    pub source: Arc<dyn UpdateSource>,
    pub offsets: Arc<dyn PollOffsets>,
    pub leases: Arc<dyn Leases>,
    pub receive: Arc<ReceiveWebhook>,
    pub clock: Arc<dyn Clock>,
}

pub struct PollUpdates {
    ports: PollPorts,
    settings: PollSettings,
}

/// The lease that makes one replica the bot's only poller.
pub fn lease_name(bot_id: BotId) -> String {
    format!("telegram-poll:{bot_id}")
}

impl PollUpdates {
    pub fn new(ports: PollPorts, settings: PollSettings) -> Self {
        Self { ports, settings }
    }

    pub fn settings(&self) -> &PollSettings {
        &self.settings
    }

    /// The bindings to poll now: every Telegram binding in polling mode.
    pub async fn targets(&self) -> Result<Vec<PlatformBinding>, RepoError> {
        self.ports.offsets.polling_bindings().await
    }

    /// One round for `binding` as `holder` (unique to this poller); `stop` cancels the fetch
    /// in flight, never a recording or a commit.
    #[tracing::instrument(skip_all, fields(bot_id = %binding.bot_id))]
    pub async fn round(
        &self,
        binding: &PlatformBinding,
        holder: &str,
        stop: impl Future<Output = ()> + Send,
    ) -> Next {
        match self.try_round(binding, holder, stop).await {
            Ok(next) => next,
            Err(failure) => self.back_off(&failure),
        }
    }

    async fn try_round(
        &self,
        binding: &PlatformBinding,
        holder: &str,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<Next, Failure> {
        let bot_id = binding.bot_id;
        let Credentials::Telegram(credentials) = &binding.credentials else {
            return Err(Failure::NotTelegram);
        };
        if !self.hold(bot_id, holder).await? {
            return Ok(self.standby());
        }
        let account = credentials.account();
        let offset = self.ports.offsets.offset(bot_id, account).await?;
        let fetch = self
            .ports
            .source
            .fetch(binding, offset, self.settings.timeout);
        let batch = match select(pin!(fetch), pin!(stop)).await {
            Either::Left((batch, _)) => batch?,
            Either::Right(((), _)) => return Ok(Next::Stopped),
        };
        self.store(binding, holder, account, batch).await
    }

    /// Records the batch and then commits its offset, if the lease is still ours.
    async fn store(
        &self,
        binding: &PlatformBinding,
        holder: &str,
        account: &str,
        batch: UpdateBatch,
    ) -> Result<Next, Failure> {
        let bot_id = binding.bot_id;
        let Some(next_offset) = batch.next_offset else {
            return Ok(Next::Poll);
        };
        if !self.hold(bot_id, holder).await? {
            tracing::warn!(
                "the polling lease was lost during a fetch; its batch is left to the new holder"
            );
            return Ok(self.standby());
        }
        let count = batch.messages.len();
        self.ports
            .receive
            .record_all(bot_id, PlatformKind::Telegram, batch.messages)
            .await?;
        let now = self.ports.clock.now();
        self.ports
            .offsets
            .commit_offset(bot_id, account, next_offset, now)
            .await?;
        tracing::debug!(messages = count, next_offset, "polled updates recorded");
        Ok(Next::Poll)
    }

    /// Takes or renews the bot's lease for `holder`.
    async fn hold(&self, bot_id: BotId, holder: &str) -> Result<bool, RepoError> {
        let now = self.ports.clock.now();
        self.ports
            .leases
            .acquire(&lease_name(bot_id), holder, now, self.settings.lease_ttl)
            .await
    }

    fn standby(&self) -> Next {
        Next::Wait(self.settings.standby)
    }

    fn back_off(&self, failure: &Failure) -> Next {
        let wait = match failure {
            Failure::Poll(PollError::RateLimited { retry_after }) => *retry_after,
            Failure::Poll(PollError::Refused(_)) | Failure::NotTelegram => {
                self.settings.refused_retry
            }
            Failure::Poll(PollError::Transient(_)) | Failure::Storage(_) => self.settings.retry,
        };
        tracing::warn!(error = %failure, ?wait, "polling failed; backing off");
        Next::Wait(wait)
    }

    /// Gives the bot's lease up (on shutdown, or when the binding stops polling), so another
    /// replica takes over at once rather than when it expires.
    pub async fn release(&self, bot_id: BotId, holder: &str) {
        if let Err(error) = self.ports.leases.release(&lease_name(bot_id), holder).await {
            tracing::warn!(%bot_id, %error, "could not release the polling lease; it will expire");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{now, per_record, poll_updates, polling_binding, Hanging};
    use crate::ports::{
        InboundMessage, MockLeases, MockLedger, MockPollOffsets, MockUpdateSource, Recorded,
    };
    use domain::{ConversationId, ExternalChatId, ExternalMessageId, MessageContent, MessageId};
    use mockall::predicate::eq;
    use mockall::Sequence;

    const HOLDER: &str = "replica-a/1";

    fn binding() -> PlatformBinding {
        polling_binding(BotId::new(), "777:abc")
    }

    fn message(id: &str) -> InboundMessage {
        InboundMessage::new(
            ExternalMessageId::parse(id).unwrap(),
            ExternalChatId::parse("42").unwrap(),
            MessageContent::text("hi"),
        )
    }

    fn batch(ids: &[&str], next_offset: i64) -> UpdateBatch {
        UpdateBatch {
            messages: ids.iter().map(|id| message(id)).collect(),
            next_offset: Some(next_offset),
        }
    }

    fn settings() -> PollSettings {
        PollSettings {
            timeout: Duration::from_secs(7),
            lease_ttl: Duration::from_secs(30),
            standby: Duration::from_secs(2),
            retry: Duration::from_secs(3),
            refused_retry: Duration::from_secs(40),
        }
    }

    /// Mocks that answer the usual way unless a test sets otherwise.
    struct Mocks {
        source: MockUpdateSource,
        offsets: MockPollOffsets,
        leases: MockLeases,
        ledger: MockLedger,
    }

    impl Mocks {
        fn new() -> Self {
            Self {
                source: MockUpdateSource::new(),
                offsets: MockPollOffsets::new(),
                leases: MockLeases::new(),
                ledger: MockLedger::new(),
            }
        }

        fn leased(mut self, held: bool) -> Self {
            self.leases
                .expect_acquire()
                .withf(|name, holder, _, ttl| {
                    name.starts_with("telegram-poll:")
                        && holder == HOLDER
                        && *ttl == Duration::from_secs(30)
                })
                .returning(move |_, _, _, _| Ok(held));
            self
        }

        fn offset(mut self, offset: Option<i64>) -> Self {
            self.offsets
                .expect_offset()
                .withf(|_, account| account == "777")
                .returning(move |_, _| Ok(offset));
            self
        }

        fn use_case(self) -> PollUpdates {
            let source = Arc::new(self.source);
            Self {
                source: MockUpdateSource::new(),
                ..self
            }
            .use_case_with(source)
        }

        fn use_case_with(self, source: Arc<dyn UpdateSource>) -> PollUpdates {
            poll_updates(source, self.offsets, self.leases, self.ledger, settings())
        }
    }

    fn stored() -> Result<Recorded, RepoError> {
        Ok(Recorded::New {
            conversation_id: ConversationId::new(),
            message_id: MessageId::new(),
            started: false,
        })
    }

    async fn round(use_case: &PollUpdates, binding: &PlatformBinding) -> Next {
        use_case
            .round(binding, HOLDER, std::future::pending())
            .await
    }

    #[tokio::test]
    async fn the_offset_is_committed_only_after_every_message_is_stored() {
        let binding = binding();
        let mut mocks = Mocks::new().leased(true).offset(Some(10));
        let mut order = Sequence::new();
        mocks
            .source
            .expect_fetch()
            .withf(|_, offset, timeout| *offset == Some(10) && *timeout == Duration::from_secs(7))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _| Ok(batch(&["42:1", "42:2"], 12)));
        mocks
            .ledger
            .expect_record_inbound_batch()
            .withf(|records| records.len() == 2)
            .times(1)
            .in_sequence(&mut order)
            .returning(per_record(|_| stored()));
        let bot_id = binding.bot_id;
        mocks
            .offsets
            .expect_commit_offset()
            .with(eq(bot_id), eq("777"), eq(12), eq(now()))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _, _| Ok(()));
        assert_eq!(round(&mocks.use_case(), &binding).await, Next::Poll);
    }

    #[tokio::test]
    async fn duplicates_are_stored_as_no_ops_and_still_committed() {
        let binding = binding();
        let mut mocks = Mocks::new().leased(true).offset(None);
        mocks
            .source
            .expect_fetch()
            .withf(|_, offset, _| offset.is_none())
            .returning(|_, _, _| Ok(batch(&["42:1"], 5)));
        mocks
            .ledger
            .expect_record_inbound_batch()
            .times(1)
            .returning(per_record(|_| Ok(Recorded::Duplicate)));
        mocks
            .offsets
            .expect_commit_offset()
            .withf(|_, _, offset, _| *offset == 5)
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        assert_eq!(round(&mocks.use_case(), &binding).await, Next::Poll);
    }

    #[tokio::test]
    async fn a_store_failure_commits_nothing_and_backs_off() {
        let binding = binding();
        let mut mocks = Mocks::new().leased(true).offset(Some(10));
        mocks
            .source
            .expect_fetch()
            .returning(|_, _, _| Ok(batch(&["42:1", "42:2"], 12)));
        mocks
            .ledger
            .expect_record_inbound_batch()
            .times(1)
            .returning(|_| Err(RepoError::Unavailable("database down".into())));
        mocks.offsets.expect_commit_offset().never();
        let next = round(&mocks.use_case(), &binding).await;
        assert_eq!(next, Next::Wait(Duration::from_secs(3)));
    }

    #[tokio::test]
    async fn without_the_lease_nothing_is_fetched() {
        let binding = binding();
        let mut mocks = Mocks::new().leased(false);
        mocks.offsets.expect_offset().never();
        mocks.source.expect_fetch().never();
        mocks.offsets.expect_commit_offset().never();
        let next = round(&mocks.use_case(), &binding).await;
        assert_eq!(next, Next::Wait(Duration::from_secs(2)), "standby");
    }

    #[tokio::test]
    async fn a_lease_lost_during_the_fetch_stores_and_commits_nothing() {
        let binding = binding();
        let mut mocks = Mocks::new().offset(Some(3));
        let mut order = Sequence::new();
        for held in [true, false] {
            mocks
                .leases
                .expect_acquire()
                .times(1)
                .in_sequence(&mut order)
                .returning(move |_, _, _, _| Ok(held));
        }
        mocks
            .source
            .expect_fetch()
            .times(1)
            .returning(|_, _, _| Ok(batch(&["42:1"], 4)));
        mocks.ledger.expect_record_inbound_batch().never();
        mocks.offsets.expect_commit_offset().never();
        let next = round(&mocks.use_case(), &binding).await;
        assert_eq!(next, Next::Wait(Duration::from_secs(2)));
    }

    #[tokio::test]
    async fn an_empty_batch_polls_again_without_committing() {
        let binding = binding();
        let mut mocks = Mocks::new().leased(true).offset(Some(8));
        mocks
            .source
            .expect_fetch()
            .returning(|_, _, _| Ok(UpdateBatch::default()));
        mocks.offsets.expect_commit_offset().never();
        assert_eq!(round(&mocks.use_case(), &binding).await, Next::Poll);
    }

    #[tokio::test]
    async fn refusals_and_rate_limits_back_off_instead_of_spinning() {
        let cases = [
            (
                PollError::Refused("Conflict: webhook is active".into()),
                Duration::from_secs(40),
            ),
            (
                PollError::RateLimited {
                    retry_after: Duration::from_secs(9),
                },
                Duration::from_secs(9),
            ),
            (PollError::Transient("reset".into()), Duration::from_secs(3)),
        ];
        for (error, wait) in cases {
            let binding = binding();
            let mut mocks = Mocks::new().leased(true).offset(None);
            mocks
                .source
                .expect_fetch()
                .returning(move |_, _, _| Err(error.clone()));
            mocks.offsets.expect_commit_offset().never();
            assert_eq!(round(&mocks.use_case(), &binding).await, Next::Wait(wait));
        }
    }

    #[tokio::test]
    async fn stopping_cancels_the_fetch_in_flight() {
        let binding = binding();
        let mut mocks = Mocks::new().leased(true).offset(None);
        mocks.ledger.expect_record_inbound_batch().never();
        mocks.offsets.expect_commit_offset().never();
        let use_case = mocks.use_case_with(Arc::new(Hanging));
        let stop = tokio::time::sleep(Duration::from_millis(20));
        let next = use_case.round(&binding, HOLDER, stop).await;
        assert_eq!(next, Next::Stopped);
    }

    #[tokio::test]
    async fn releasing_gives_the_bots_lease_up() {
        let binding = binding();
        let mut mocks = Mocks::new();
        let name = lease_name(binding.bot_id);
        mocks
            .leases
            .expect_release()
            .with(eq(name), eq(HOLDER))
            .times(1)
            .returning(|_, _| Ok(()));
        mocks.use_case().release(binding.bot_id, HOLDER).await;
    }
}
