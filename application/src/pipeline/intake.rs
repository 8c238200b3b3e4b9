//! Use case: the intake writer — group-commits the inbound records that wait, one ledger
//! transaction per batch, announces each new message, and answers each submitter with its own
//! result.
//!
//! Handlers submit through a cheap [`Intake`] handle and await their answer. An
//! [`IntakeWriter`] takes whatever is waiting (it waits for the first record, then takes the
//! others without waiting, up to a maximum), records them with one
//! [`Ledger::record_inbound_batch`] and answers each. There is no timer: a batch is what
//! accumulated while the previous one was being committed, so a lone record goes at once.
//! Several writers may share one inbox (PostgreSQL): one takes a batch while the others'
//! transactions are in flight. A chat's messages still go in arrival order, as long as its
//! platform waits for each acknowledgement before sending the next (messages sent at the same
//! moment have no order to keep).

use crate::ports::{EventPublisher, InboundRecord, Ledger, Recorded, TraceContext};
use domain::{DomainEvent, RepoError};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};
use tracing::Instrument;

/// How the writer batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntakeSettings {
    /// The most records one transaction takes.
    pub max_batch: usize,
    /// How many records may wait for the writer; beyond that, submitters wait their turn.
    pub capacity: usize,
}

impl Default for IntakeSettings {
    fn default() -> Self {
        Self {
            max_batch: 512,
            capacity: 4096,
        }
    }
}

/// Records that go into one batch together, in order, and where their answer goes.
struct Submission {
    records: Vec<InboundRecord>,
    answer: oneshot::Sender<Result<Vec<Recorded>, RepoError>>,
}

/// Submits records to the writer; clone it freely. The writer stops once every handle is gone.
#[derive(Clone)]
pub struct Intake {
    inbox: mpsc::Sender<Submission>,
    /// Stamps each record with the submitter's trace, for its `reply` job to continue; `None`
    /// (traces off) opens no span and reads no context.
    trace: Option<Arc<dyn TraceContext>>,
}

/// A task that writes batches; run it with [`IntakeWriter::run`]. Its clones share the inbox:
/// run several for several transactions in flight.
#[derive(Clone)]
pub struct IntakeWriter {
    ledger: Arc<dyn Ledger>,
    /// Shared by the writers: the one that holds it takes the next batch.
    inbox: Arc<Mutex<mpsc::Receiver<Submission>>>,
    max_batch: usize,
    /// Where new messages are announced, right after their batch commits; `None`: not at all.
    events: Option<Arc<dyn EventPublisher>>,
}

/// What a submitter hears when the writer is gone (stopped, or its task died).
fn writer_gone() -> RepoError {
    RepoError::Unavailable("the intake writer has stopped".into())
}

impl Intake {
    /// A handle and the writer that serves it; spawn `writer.run()` (or several clones').
    pub fn new(ledger: Arc<dyn Ledger>, settings: IntakeSettings) -> (Self, IntakeWriter) {
        let (sender, inbox) = mpsc::channel(settings.capacity.max(1));
        let writer = IntakeWriter {
            ledger,
            inbox: Arc::new(Mutex::new(inbox)),
            max_batch: settings.max_batch.max(1),
            events: None,
        };
        let intake = Self {
            inbox: sender,
            trace: None,
        };
        (intake, writer)
    }

    /// Stamps the records with the submitter's trace context from `trace` (traces on).
    pub fn traced(self, trace: Arc<dyn TraceContext>) -> Self {
        Self {
            trace: Some(trace),
            ..self
        }
    }

    /// Stores `record` in the next batch; answers once that batch has committed (or failed).
    pub async fn record(&self, record: InboundRecord) -> Result<Recorded, RepoError> {
        let mut recorded = self.record_all(vec![record]).await?;
        recorded.pop().ok_or_else(|| wrong_count(1, 0))
    }

    /// Stores `records` together in one batch, in order (a webhook's messages, which may be
    /// of one chat, never race each other in concurrent batches); answers once it committed.
    /// When traced, this is an `intake` span, whose context each record's job continues.
    pub async fn record_all(
        &self,
        records: Vec<InboundRecord>,
    ) -> Result<Vec<Recorded>, RepoError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        match &self.trace {
            None => self.submit(records).await,
            Some(trace) => {
                let span = tracing::info_span!("intake", records = records.len());
                let traced = stamped(records, trace.as_ref(), &span);
                self.submit(traced).instrument(span).await
            }
        }
    }

    /// Hands `records` to the writers and waits for their answer.
    async fn submit(&self, records: Vec<InboundRecord>) -> Result<Vec<Recorded>, RepoError> {
        let (answer, answered) = oneshot::channel();
        let submission = Submission { records, answer };
        self.inbox
            .send(submission)
            .await
            .map_err(|_| writer_gone())?;
        answered.await.map_err(|_| writer_gone())?
    }

    /// Records submitted and not yet taken into a batch.
    pub fn waiting(&self) -> usize {
        self.inbox.max_capacity() - self.inbox.capacity()
    }
}

impl IntakeWriter {
    /// Announces each new message (and conversation) on `events` as soon as its batch has
    /// committed, before its submitter is answered: its reply job, which the commit makes
    /// runnable, cannot announce anything of the chat before it.
    pub fn announcing(self, events: Arc<dyn EventPublisher>) -> Self {
        Self {
            events: Some(events),
            ..self
        }
    }

    /// Writes batches until every [`Intake`] handle is dropped and nothing waits. A batch
    /// whose write panics is lost to its submitters (they hear that the writer is gone) but
    /// not to the next batches: this one task serves every inbound message of the process.
    pub async fn run(self) {
        let mut batch = Vec::with_capacity(self.max_batch);
        while self.take(&mut batch).await > 0 {
            let write = AssertUnwindSafe(self.write(batch.drain(..)));
            if write.catch_unwind().await.is_err() {
                tracing::error!(
                    "an intake batch panicked; its submitters hear that the writer is gone"
                );
            }
        }
        tracing::debug!("the intake writer stops: no handle is left");
    }

    /// Waits for the inbox, then for records; takes what waits, up to a batch.
    async fn take(&self, batch: &mut Vec<Submission>) -> usize {
        let mut inbox = self.inbox.lock().await;
        inbox.recv_many(batch, self.max_batch).await
    }

    /// Writes the submissions taken, in order, in transactions of at most `max_batch` records
    /// (a submission is never split).
    async fn write(&self, batch: impl ExactSizeIterator<Item = Submission>) {
        let mut chunk = Vec::new();
        let mut records = 0;
        for submission in batch {
            if !chunk.is_empty() && records + submission.records.len() > self.max_batch {
                self.write_chunk(std::mem::take(&mut chunk)).await;
                records = 0;
            }
            records += submission.records.len();
            chunk.push(submission);
        }
        if !chunk.is_empty() {
            self.write_chunk(chunk).await;
        }
    }

    /// One transaction for `chunk`; each submitter gets its own results, or the chunk's error.
    #[tracing::instrument(skip_all, fields(submissions = chunk.len()))]
    async fn write_chunk(&self, chunk: Vec<Submission>) {
        let (groups, answers): (Vec<_>, Vec<_>) =
            chunk.into_iter().map(|s| (s.records, s.answer)).unzip();
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        let records: Vec<InboundRecord> = groups.into_iter().flatten().collect();
        let results = match self.ledger.record_inbound_batch(&records).await {
            Ok(results) if results.len() == records.len() => Ok(results),
            Ok(results) => Err(wrong_count(records.len(), results.len())),
            Err(err) => {
                tracing::warn!(error = %err, "an intake batch failed; none of it is stored");
                Err(err)
            }
        };
        if let (Some(events), Ok(results)) = (&self.events, &results) {
            for (record, recorded) in records.iter().zip(results) {
                announce(events.as_ref(), record, recorded);
            }
        }
        let mut results = results.map(Vec::into_iter);
        for (answer, size) in answers.into_iter().zip(sizes) {
            let share = match &mut results {
                Ok(all) => Ok(all.by_ref().take(size).collect()),
                Err(err) => Err(err.clone()),
            };
            // A submitter that stopped waiting (its request was dropped) needs no answer.
            let _ = answer.send(share);
        }
    }
}

/// Announces a newly stored message; a duplicate was announced when it was first stored.
fn announce(events: &dyn EventPublisher, record: &InboundRecord, recorded: &Recorded) {
    let Recorded::New {
        conversation_id,
        message_id,
        started,
    } = *recorded
    else {
        return;
    };
    let (bot_id, platform) = (record.bot_id, record.platform);
    if started {
        events.publish(DomainEvent::ConversationStarted {
            bot_id,
            conversation_id,
            platform,
        });
    }
    events.publish(DomainEvent::MessageReceived {
        bot_id,
        conversation_id,
        message_id,
        platform,
    });
}

/// `records`, each without a trace of its own continuing `span`'s, so that its job joins it.
fn stamped(
    mut records: Vec<InboundRecord>,
    trace: &dyn TraceContext,
    span: &tracing::Span,
) -> Vec<InboundRecord> {
    let Some(parent) = span.in_scope(|| trace.current()) else {
        return records;
    };
    for record in records.iter_mut().filter(|r| r.trace_parent.is_none()) {
        record.trace_parent = Some(parent.clone());
    }
    records
}

fn wrong_count(records: usize, results: usize) -> RepoError {
    RepoError::Other(format!("{results} results for {records} records"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockLedger;
    use domain::{
        BotId, ConversationId, ExternalChatId, ExternalMessageId, MessageContent, MessageId,
        PlatformKind,
    };
    use std::sync::mpsc as std_mpsc;
    use std::time::Duration;

    fn record(external_id: &str) -> InboundRecord {
        InboundRecord {
            bot_id: BotId::new(),
            platform: PlatformKind::Telegram,
            chat: ExternalChatId::parse("42").unwrap(),
            external_id: ExternalMessageId::parse(external_id).unwrap(),
            content: MessageContent::text("hi"),
            reply_handle: None,
            received_at: crate::fixtures::now(),
            trace_parent: None,
        }
    }

    fn new_message() -> Recorded {
        Recorded::New {
            conversation_id: ConversationId::new(),
            message_id: MessageId::new(),
            started: false,
        }
    }

    /// A result that tells the records apart: duplicates are the ids starting with `dup`.
    fn recorded(record: &InboundRecord) -> Recorded {
        if record.external_id.as_str().starts_with("dup") {
            Recorded::Duplicate
        } else {
            new_message()
        }
    }

    fn ids(records: &[InboundRecord]) -> Vec<String> {
        records
            .iter()
            .map(|r| r.external_id.as_str().to_owned())
            .collect()
    }

    type Answer = Result<Recorded, RepoError>;

    fn submit(intake: &Intake, external_id: &str) -> tokio::task::JoinHandle<Answer> {
        let intake = intake.clone();
        let record = record(external_id);
        tokio::spawn(async move { intake.record(record).await })
    }

    /// A ledger whose first batch is answered by `first` and every later one stored; the
    /// size of each batch it is given goes to `sizes`.
    fn first_then_stored(
        first: impl Fn(&[InboundRecord]) -> Result<Vec<Recorded>, RepoError> + Send + 'static,
        sizes: Arc<std::sync::Mutex<Vec<usize>>>,
    ) -> MockLedger {
        let mut ledger = MockLedger::new();
        ledger
            .expect_record_inbound_batch()
            .returning(move |records| {
                let mut sizes = sizes.lock().unwrap();
                sizes.push(records.len());
                if sizes.len() == 1 {
                    drop(sizes);
                    first(records)
                } else {
                    Ok(records.iter().map(recorded).collect())
                }
            });
        ledger
    }

    async fn until_waiting(intake: &Intake, count: usize) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while intake.waiting() < count {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_that_arrive_during_a_commit_go_together_in_the_next_batch() {
        let (entered, first_entered) = std_mpsc::channel();
        let (release, released) = std_mpsc::channel::<()>();
        let mut ledger = MockLedger::new();
        let mut sequence = mockall::Sequence::new();
        ledger
            .expect_record_inbound_batch()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(move |records| {
                entered.send(ids(records)).unwrap();
                // The commit takes a while: the test submits more meanwhile.
                released.recv().unwrap();
                Ok(records.iter().map(recorded).collect())
            });
        ledger
            .expect_record_inbound_batch()
            .times(1)
            .in_sequence(&mut sequence)
            .withf(|records| ids(records) == ["b", "dup-c", "d"])
            .returning(|records| Ok(records.iter().map(recorded).collect()));
        let (intake, writer) = Intake::new(Arc::new(ledger), IntakeSettings::default());
        let writer = tokio::spawn(writer.run());

        let first = submit(&intake, "a");
        let batch = tokio::task::spawn_blocking(move || first_entered.recv().unwrap());
        assert_eq!(batch.await.unwrap(), ["a"], "a lone record goes at once");
        let later: Vec<_> = ["b", "dup-c", "d"]
            .into_iter()
            .map(|id| submit(&intake, id))
            .collect();
        until_waiting(&intake, 3).await;
        release.send(()).unwrap();

        assert!(matches!(first.await.unwrap(), Ok(Recorded::New { .. })));
        let answers = futures::future::join_all(later).await;
        let answers: Vec<_> = answers.into_iter().map(|a| a.unwrap().unwrap()).collect();
        assert!(matches!(answers[0], Recorded::New { .. }));
        assert_eq!(answers[1], Recorded::Duplicate);
        assert!(matches!(answers[2], Recorded::New { .. }));
        drop(intake);
        writer.await.unwrap();
    }

    #[tokio::test]
    async fn each_waiter_gets_its_own_result_and_a_batch_is_capped() {
        let mut ledger = MockLedger::new();
        let mut sequence = mockall::Sequence::new();
        for expected in [vec!["dup-1", "2"], vec!["dup-3"]] {
            ledger
                .expect_record_inbound_batch()
                .times(1)
                .in_sequence(&mut sequence)
                .withf(move |records| ids(records) == expected)
                .returning(|records| Ok(records.iter().map(recorded).collect()));
        }
        let settings = IntakeSettings {
            max_batch: 2,
            ..IntakeSettings::default()
        };
        let (intake, writer) = Intake::new(Arc::new(ledger), settings);
        let waiters: Vec<_> = ["dup-1", "2", "dup-3"]
            .into_iter()
            .map(|id| submit(&intake, id))
            .collect();
        until_waiting(&intake, 3).await;
        tokio::spawn(writer.run());
        let answers = futures::future::join_all(waiters).await;
        let answers: Vec<_> = answers.into_iter().map(|a| a.unwrap().unwrap()).collect();
        assert_eq!(answers[0], Recorded::Duplicate);
        assert!(matches!(answers[1], Recorded::New { .. }));
        assert_eq!(answers[2], Recorded::Duplicate);
    }

    #[tokio::test]
    async fn a_submission_goes_whole_and_in_order_into_one_transaction() {
        let batches: Arc<std::sync::Mutex<Vec<Vec<String>>>> = Arc::default();
        let seen = batches.clone();
        let mut ledger = MockLedger::new();
        ledger
            .expect_record_inbound_batch()
            .returning(move |records| {
                seen.lock().unwrap().push(ids(records));
                Ok(records.iter().map(recorded).collect())
            });
        // Three records a transaction: the two pairs cannot share one, and neither is split.
        let settings = IntakeSettings {
            max_batch: 3,
            ..IntakeSettings::default()
        };
        let (intake, writer) = Intake::new(Arc::new(ledger), settings);
        let pair = |a: &str, b: &str| {
            let intake = intake.clone();
            let records = vec![record(a), record(b)];
            tokio::spawn(async move { intake.record_all(records).await })
        };
        let (first, second) = (pair("a1", "dup-a2"), pair("b1", "b2"));
        until_waiting(&intake, 2).await;
        tokio::spawn(writer.run());
        let first = first.await.unwrap().unwrap();
        assert!(matches!(first[0], Recorded::New { .. }));
        assert_eq!(
            first[1],
            Recorded::Duplicate,
            "answers in the submission's order"
        );
        assert_eq!(second.await.unwrap().unwrap().len(), 2);
        let mut batches = batches.lock().unwrap().clone();
        batches.sort();
        assert_eq!(batches, [vec!["a1", "dup-a2"], vec!["b1", "b2"]]);
    }

    /// A ledger whose batches each wait until another batch is in flight too.
    struct Overlapping(tokio::sync::Barrier);

    #[async_trait::async_trait]
    impl Ledger for Overlapping {
        async fn record_inbound_batch(
            &self,
            records: &[InboundRecord],
        ) -> Result<Vec<Recorded>, RepoError> {
            self.0.wait().await;
            Ok(records.iter().map(recorded).collect())
        }

        async fn store_reply(
            &self,
            _: &crate::ports::ClaimedJob,
            _: &domain::Message,
        ) -> Result<crate::ports::ReplyStored, RepoError> {
            unreachable!("not an intake write")
        }

        async fn finish_delivery(
            &self,
            _: &crate::ports::ClaimedJob,
            _: domain::MessageId,
            _: Option<domain::ExternalMessageId>,
        ) -> Result<bool, RepoError> {
            unreachable!("not an intake write")
        }

        async fn queue_outbound(&self, _: &domain::Message) -> Result<bool, RepoError> {
            unreachable!("not an intake write")
        }

        async fn start_outbound(
            &self,
            _: &domain::Conversation,
            _: &domain::Message,
        ) -> Result<domain::Message, RepoError> {
            unreachable!("not an intake write")
        }

        async fn hand_back(
            &self,
            _: domain::ConversationId,
            _: bool,
            _: chrono::DateTime<chrono::Utc>,
        ) -> Result<bool, RepoError> {
            unreachable!("not an intake write")
        }
    }

    #[tokio::test]
    async fn clones_of_the_writer_have_batches_in_flight_together() {
        // One writer alone would hold its first batch forever.
        let ledger = Arc::new(Overlapping(tokio::sync::Barrier::new(2)));
        let (intake, writer) = Intake::new(ledger, IntakeSettings::default());
        let first = submit(&intake, "a");
        until_waiting(&intake, 1).await;
        tokio::spawn(writer.clone().run());
        tokio::time::timeout(Duration::from_secs(10), async {
            while intake.waiting() > 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        // The first writer is busy with "a"; the second takes "b".
        let second = submit(&intake, "b");
        until_waiting(&intake, 1).await;
        tokio::spawn(writer.run());
        let answers = tokio::time::timeout(
            Duration::from_secs(10),
            futures::future::join_all([first, second]),
        )
        .await
        .expect("two batches were in flight at once");
        assert!(answers.into_iter().all(|a| a.unwrap().is_ok()));
    }

    #[tokio::test]
    async fn a_failed_batch_fails_every_waiter_in_it_and_the_next_batch_still_works() {
        let sizes = Arc::default();
        let down = |_: &[InboundRecord]| Err(RepoError::Unavailable("down".into()));
        let ledger = first_then_stored(down, Arc::clone(&sizes));
        let (intake, writer) = Intake::new(Arc::new(ledger), IntakeSettings::default());
        let waiters: Vec<_> = ["1", "2", "3"]
            .into_iter()
            .map(|id| submit(&intake, id))
            .collect();
        until_waiting(&intake, 3).await;
        tokio::spawn(writer.run());
        for answer in futures::future::join_all(waiters).await {
            assert!(matches!(answer.unwrap(), Err(RepoError::Unavailable(_))));
        }
        let after = intake.record(record("4")).await;
        assert!(matches!(after, Ok(Recorded::New { .. })), "{after:?}");
        assert_eq!(*sizes.lock().unwrap(), [3, 1]);
    }

    #[tokio::test]
    async fn a_batch_answered_with_the_wrong_number_of_results_fails_it() {
        let mut ledger = MockLedger::new();
        ledger
            .expect_record_inbound_batch()
            .returning(|_| Ok(vec![]));
        let (intake, writer) = Intake::new(Arc::new(ledger), IntakeSettings::default());
        tokio::spawn(writer.run());
        let answer = intake.record(record("1")).await;
        assert!(matches!(answer, Err(RepoError::Other(_))), "{answer:?}");
    }

    #[tokio::test]
    async fn a_batch_that_panics_fails_its_waiters_and_the_writer_goes_on() {
        // Two expectations: a panic inside one poisons it for the calls after.
        let mut ledger = MockLedger::new();
        let mut sequence = mockall::Sequence::new();
        ledger
            .expect_record_inbound_batch()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_| panic!("a bug in the ledger"));
        ledger
            .expect_record_inbound_batch()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|records| Ok(records.iter().map(recorded).collect()));
        let (intake, writer) = Intake::new(Arc::new(ledger), IntakeSettings::default());
        tokio::spawn(writer.run());
        let lost = intake.record(record("1")).await;
        assert!(matches!(lost, Err(RepoError::Unavailable(_))), "{lost:?}");
        let after = intake.record(record("2")).await;
        assert!(matches!(after, Ok(Recorded::New { .. })), "{after:?}");
    }

    #[tokio::test]
    async fn without_a_writer_a_submission_fails_instead_of_hanging() {
        let mut ledger = MockLedger::new();
        ledger.expect_record_inbound_batch().never();
        let (intake, writer) = Intake::new(Arc::new(ledger), IntakeSettings::default());
        let queued = submit(&intake, "1");
        until_waiting(&intake, 1).await;
        drop(writer);
        let answer = tokio::time::timeout(Duration::from_secs(10), queued).await;
        assert!(matches!(
            answer.unwrap().unwrap(),
            Err(RepoError::Unavailable(_))
        ));
        let later = tokio::time::timeout(Duration::from_secs(10), intake.record(record("2")));
        assert!(matches!(
            later.await.unwrap(),
            Err(RepoError::Unavailable(_))
        ));
    }

    /// Says every span is the one `PARENT` names.
    struct Fixed;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    impl TraceContext for Fixed {
        fn current(&self) -> Option<String> {
            Some(PARENT.to_owned())
        }

        fn adopt(&self, _: &tracing::Span, _: &str) {}
    }

    /// The `trace_parent`s of the records each batch was given, with `traced` or not.
    async fn stored_parents(traced: bool, records: Vec<InboundRecord>) -> Vec<Option<String>> {
        let seen: Arc<std::sync::Mutex<Vec<Option<String>>>> = Arc::default();
        let sink = seen.clone();
        let mut ledger = MockLedger::new();
        ledger
            .expect_record_inbound_batch()
            .returning(move |records| {
                let parents = records.iter().map(|r| r.trace_parent.clone());
                sink.lock().unwrap().extend(parents);
                Ok(records.iter().map(recorded).collect())
            });
        let (intake, writer) = Intake::new(Arc::new(ledger), IntakeSettings::default());
        let intake = if traced {
            intake.traced(Arc::new(Fixed))
        } else {
            intake
        };
        tokio::spawn(writer.run());
        intake.record_all(records).await.unwrap();
        let parents = seen.lock().unwrap().clone();
        parents
    }

    #[tokio::test]
    async fn a_traced_intake_stamps_each_record_with_the_submitters_trace() {
        let own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let named = InboundRecord {
            trace_parent: Some(own.to_owned()),
            ..record("b")
        };
        let parents = stored_parents(true, vec![record("a"), named]).await;
        assert_eq!(parents, [Some(PARENT.to_owned()), Some(own.to_owned())]);
        let untraced = stored_parents(false, vec![record("c")]).await;
        assert_eq!(untraced, [None], "traces off: nothing is read");
    }
}
