//! The event journal: writes the announced events to the event log in batches, off the
//! pipeline's path, and forgets those older than the replay window.
//!
//! Publishing hands an event to a bounded inbox and returns; the [`JournalWriter`] takes the
//! first event waiting, lets more gather for [`GATHER`], and appends them all in one
//! statement, so a busy replica writes a few batches a second, not a row per event. Events
//! are announcements: a full inbox or a failed write drops events (counted and logged) rather
//! than growing a backlog; the facts themselves are in the store. Each batch then goes to
//! the outgoing webhooks' fan-out, which queues their deliveries durably.

use crate::metrics;
use crate::ports::{Clock, EventLog};
use crate::webhooks::WebhookFanout;
use domain::PublishedEvent;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long a reconnecting client may be away and still get what it missed.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(5 * 60);
/// How long the writer lets events gather after the first one of a batch.
pub const GATHER: Duration = Duration::from_millis(50);
/// The most events one append takes.
const MAX_BATCH: usize = 1024;
/// Events that may wait for the writer; beyond that they are not journaled.
const CAPACITY: usize = 16 * 1024;
/// How long the writer waits before queuing a batch's webhook deliveries again.
const FAN_OUT_RETRY: Duration = Duration::from_millis(500);
/// How often the writer forgets the events older than the window.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// Hands events to the writer; clone it freely. The writer stops once every handle is gone.
#[derive(Clone)]
pub struct Journal {
    inbox: mpsc::Sender<PublishedEvent>,
    /// Events not journaled so far, to warn once per [`WARN_EVERY`] rather than per event.
    dropped: Arc<AtomicU64>,
}

/// One warning per this many events dropped.
const WARN_EVERY: u64 = 1000;

/// Appends what the [`Journal`] handles were given; run it with [`JournalWriter::run`].
pub struct JournalWriter {
    log: Arc<dyn EventLog>,
    clock: Arc<dyn Clock>,
    inbox: mpsc::Receiver<PublishedEvent>,
    /// Queues each batch's deliveries to the outgoing webhooks.
    fanout: Option<Arc<WebhookFanout>>,
}

impl Journal {
    /// A handle and the writer that serves it; spawn `writer.run()`.
    pub fn new(log: Arc<dyn EventLog>, clock: Arc<dyn Clock>) -> (Self, JournalWriter) {
        let (inbox, pending) = mpsc::channel(CAPACITY);
        let writer = JournalWriter {
            log,
            clock,
            inbox: pending,
            fanout: None,
        };
        let dropped = Arc::default();
        (Self { inbox, dropped }, writer)
    }

    /// Queues `event` for the log if operators' clients know it; never waits.
    pub fn keep(&self, event: &PublishedEvent) {
        if event.event.public_name().is_none() {
            return;
        }
        if self.inbox.try_send(event.clone()).is_err() {
            metrics::events_dropped(1);
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed);
            if dropped.is_multiple_of(WARN_EVERY) {
                tracing::warn!(
                    dropped = dropped + 1,
                    "the event journal is not keeping up: events will not be replayed"
                );
            }
        }
    }
}

impl JournalWriter {
    /// Hands every batch to `fanout` once it is appended.
    pub fn fanning_out(self, fanout: Arc<WebhookFanout>) -> Self {
        Self {
            fanout: Some(fanout),
            ..self
        }
    }

    /// Appends batches until every [`Journal`] handle is gone and the inbox is drained.
    pub async fn run(mut self) {
        let mut forgotten_at: Option<Instant> = None;
        while let Some(first) = self.inbox.recv().await {
            tokio::time::sleep(GATHER).await;
            let batch = self.gather(first);
            self.append(&batch).await;
            self.fan_out(&batch).await;
            if forgotten_at.is_none_or(|at| at.elapsed() >= FORGET_EVERY) {
                self.forget().await;
                forgotten_at = Some(Instant::now());
            }
        }
    }

    /// `first` and whatever else waits, up to a batch.
    fn gather(&mut self, first: PublishedEvent) -> Vec<PublishedEvent> {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match self.inbox.try_recv() {
                Ok(event) => batch.push(event),
                Err(_) => break,
            }
        }
        batch
    }

    async fn append(&self, batch: &[PublishedEvent]) {
        if let Err(error) = self.log.append(batch).await {
            metrics::events_dropped(batch.len() as u64);
            tracing::warn!(%error, events = batch.len(), "events were not journaled");
        }
    }

    /// Queues the batch's webhook deliveries; a failed write is tried once more, then its
    /// deliveries are lost (counted and logged).
    async fn fan_out(&self, batch: &[PublishedEvent]) {
        let Some(fanout) = &self.fanout else {
            return;
        };
        let mut outcome = fanout.fan_out(batch).await;
        if outcome.is_err() {
            tokio::time::sleep(FAN_OUT_RETRY).await;
            outcome = fanout.fan_out(batch).await;
        }
        if let Err(error) = outcome {
            metrics::webhook_events_dropped(batch.len() as u64);
            tracing::error!(%error, events = batch.len(), "events were not queued for the webhooks");
        }
    }

    async fn forget(&self) {
        let before = self.clock.now() - REPLAY_WINDOW;
        match self.log.forget_before(before).await {
            Ok(0) => {}
            Ok(forgotten) => tracing::debug!(forgotten, "forgot the events past the replay window"),
            Err(error) => tracing::warn!(%error, "old events were not forgotten"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::now;
    use crate::ports::{MockClock, MockEventLog};
    use domain::{BotId, ConversationId, DomainEvent, EventId, MessageId, RepoError};
    use std::sync::Mutex;

    fn published(event: DomainEvent) -> PublishedEvent {
        PublishedEvent {
            id: EventId::new(),
            at: now(),
            event,
        }
    }

    fn ended() -> PublishedEvent {
        published(DomainEvent::ConversationEnded {
            bot_id: BotId::new(),
            conversation_id: ConversationId::new(),
        })
    }

    fn clock() -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(now());
        Arc::new(clock)
    }

    #[tokio::test(start_paused = true)]
    async fn events_waiting_together_are_appended_in_one_batch_and_inner_steps_are_skipped() {
        let batches = Arc::new(Mutex::new(Vec::<Vec<EventId>>::new()));
        let mut log = MockEventLog::new();
        let seen = batches.clone();
        log.expect_append().returning(move |events| {
            seen.lock()
                .unwrap()
                .push(events.iter().map(|e| e.id).collect());
            Ok(())
        });
        log.expect_forget_before()
            .withf(|before| *before == now() - REPLAY_WINDOW)
            .times(1)
            .returning(|_| Ok(3));
        let (journal, writer) = Journal::new(Arc::new(log), clock());
        let events: Vec<_> = (0..3).map(|_| ended()).collect();
        for event in &events {
            journal.keep(event);
        }
        journal.keep(&published(DomainEvent::ReplyStored {
            bot_id: BotId::new(),
            conversation_id: ConversationId::new(),
            message_id: MessageId::new(),
        }));
        drop(journal);
        writer.run().await;
        let ids: Vec<EventId> = events.iter().map(|e| e.id).collect();
        assert_eq!(*batches.lock().unwrap(), vec![ids]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_append_drops_its_batch_and_the_writer_goes_on() {
        let mut log = MockEventLog::new();
        let calls = Arc::new(Mutex::new(0));
        let counted = calls.clone();
        log.expect_append().returning(move |_| {
            let mut calls = counted.lock().unwrap();
            *calls += 1;
            if *calls == 1 {
                Err(RepoError::Unavailable("down".into()))
            } else {
                Ok(())
            }
        });
        log.expect_forget_before().returning(|_| Ok(0));
        let (journal, writer) = Journal::new(Arc::new(log), clock());
        let running = tokio::spawn(writer.run());
        journal.keep(&ended());
        tokio::time::sleep(GATHER * 2).await;
        journal.keep(&ended());
        drop(journal);
        running.await.unwrap();
        assert_eq!(*calls.lock().unwrap(), 2);
    }
}
