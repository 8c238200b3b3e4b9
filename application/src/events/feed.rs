//! Use case: an operator's live events — the announced events as they come, and the stored
//! ones a reconnecting client missed.

use super::journal::{GATHER, REPLAY_WINDOW};
use crate::ports::{Clock, EventLog, EventScope, EventSubscriber, Followed};
use domain::{EventId, PublishedEvent, RepoError};
use futures::stream::BoxStream;
use std::sync::Arc;
use std::time::Duration;

/// The most events one replay answers; a client that missed more re-reads what it shows.
pub const REPLAY_LIMIT: u64 = 1000;
/// How long a follower has followed before the log is read: by then every replica's journal
/// has written what was announced before it began, so nothing falls between the two.
pub const SETTLE: Duration = Duration::from_millis(GATHER.as_millis() as u64 * 4);

/// What a reconnecting client missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// Oldest first.
    pub events: Vec<PublishedEvent>,
    /// False when some may be missing: the client was away longer than the replay window, or
    /// missed more than [`REPLAY_LIMIT`] events; it should re-read what it shows.
    pub complete: bool,
}

pub struct EventFeed {
    subscriber: Arc<dyn EventSubscriber>,
    log: Arc<dyn EventLog>,
    clock: Arc<dyn Clock>,
}

impl EventFeed {
    pub fn new(
        subscriber: Arc<dyn EventSubscriber>,
        log: Arc<dyn EventLog>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            subscriber,
            log,
            clock,
        }
    }

    /// Every event from now on, of this replica and the others.
    pub fn follow(&self) -> BoxStream<'static, Followed> {
        self.subscriber.follow()
    }

    /// The stored events after `after` that `scope` covers, for a client that has followed
    /// live for `followed_for` (it waits until [`SETTLE`] has passed). Live events may repeat
    /// some of them: the caller skips those by id.
    pub async fn replay(
        &self,
        after: EventId,
        scope: &EventScope,
        followed_for: Duration,
    ) -> Result<Replay, RepoError> {
        if scope.is_empty() {
            return Ok(Replay {
                events: Vec::new(),
                complete: true,
            });
        }
        tokio::time::sleep(SETTLE.saturating_sub(followed_for)).await;
        let events = self.log.after(after, scope, REPLAY_LIMIT).await?;
        let oldest_kept = self.clock.now() - REPLAY_WINDOW;
        let within = after.created_at().is_some_and(|at| at >= oldest_kept);
        Ok(Replay {
            complete: within && (events.len() as u64) < REPLAY_LIMIT,
            events,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockClock, MockEventLog};
    use chrono::Utc;
    use domain::{BotId, ConversationId, DomainEvent};

    struct Silent;

    impl EventSubscriber for Silent {
        fn follow(&self) -> BoxStream<'static, Followed> {
            Box::pin(futures::stream::empty())
        }
        fn subscribe(&self) -> BoxStream<'static, DomainEvent> {
            Box::pin(futures::stream::empty())
        }
    }

    fn feed(log: MockEventLog) -> EventFeed {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        EventFeed::new(Arc::new(Silent), Arc::new(log), Arc::new(clock))
    }

    fn stored(bot_id: BotId) -> PublishedEvent {
        PublishedEvent {
            id: EventId::new(),
            at: Utc::now(),
            event: DomainEvent::ConversationEnded {
                bot_id,
                conversation_id: ConversationId::new(),
            },
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_recent_client_gets_the_stored_events_of_its_scope_after_its_last() {
        let bot = BotId::new();
        let after = EventId::new();
        let events = vec![stored(bot), stored(bot)];
        let mut log = MockEventLog::new();
        let answer = events.clone();
        log.expect_after()
            .withf(move |a, scope, limit| {
                *a == after && scope.bots == [bot] && *limit == REPLAY_LIMIT
            })
            .times(1)
            .returning(move |_, _, _| Ok(answer.clone()));
        let scope = EventScope {
            bots: vec![bot],
            ..EventScope::default()
        };
        let replay = feed(log).replay(after, &scope, SETTLE).await.unwrap();
        assert_eq!(
            replay,
            Replay {
                events,
                complete: true
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_away_too_long_or_behind_by_the_limit_is_told_the_replay_is_incomplete() {
        let bot = BotId::new();
        let scope = EventScope {
            bots: vec![bot],
            ..EventScope::default()
        };
        let mut log = MockEventLog::new();
        log.expect_after()
            .times(1)
            .returning(|_, _, _| Ok(Vec::new()));
        let long_ago: EventId = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            (Utc::now() - REPLAY_WINDOW).timestamp() as u64 - 60,
            0,
        ))
        .to_string()
        .parse()
        .unwrap();
        let replay = feed(log).replay(long_ago, &scope, SETTLE).await.unwrap();
        assert!(!replay.complete);
        let mut log = MockEventLog::new();
        log.expect_after()
            .returning(move |_, _, _| Ok((0..REPLAY_LIMIT).map(|_| stored(bot)).collect()));
        let replay = feed(log)
            .replay(EventId::new(), &scope, SETTLE)
            .await
            .unwrap();
        assert!(!replay.complete);
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_scope_reads_nothing() {
        let mut log = MockEventLog::new();
        log.expect_after().never();
        let replay = feed(log)
            .replay(EventId::new(), &EventScope::default(), Duration::ZERO)
            .await
            .unwrap();
        assert!(replay.complete && replay.events.is_empty());
    }
}
