//! Use case: the schedules — ending idle conversations, purging what bots keep no longer, and housekeeping — each a job on the queue that one replica at a time runs, in small batches (checking between them that it still holds the job), and re-arms for its next period.

use crate::end_conversation::EndConversation;
use crate::jobs::{DeadEnd, Gone, Step};
use crate::ports::{ClaimedJob, Clock, Housekeeping, JobQueue, ScheduleStore, Timer};
use chrono::{DateTime, TimeDelta, Utc};
use domain::repositories::BotRepository;
use domain::{Bot, PageRequest, RepoError};
use std::sync::Arc;
use std::time::Duration;

/// The schedules there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Ends the conversations idle for their bot's `idle_timeout` (minutes); every minute.
    IdleConversations,
    /// Deletes the messages (and then the emptied conversations) older than their bot's
    /// `retention_days`; every hour.
    Retention,
    /// Deletes expired idempotency keys, and dead jobs and settled webhook deliveries older
    /// than [`ScheduleSettings::keep_settled`]; every hour.
    Housekeeping,
}

impl Schedule {
    pub const ALL: [Schedule; 3] = [Self::IdleConversations, Self::Retention, Self::Housekeeping];

    pub fn name(self) -> &'static str {
        match self {
            Self::IdleConversations => "idle_conversations",
            Self::Retention => "retention",
            Self::Housekeeping => "housekeeping",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// How often it runs: at most once per period.
    pub fn period(self) -> TimeDelta {
        match self {
            Self::IdleConversations => TimeDelta::minutes(1),
            Self::Retention | Self::Housekeeping => TimeDelta::hours(1),
        }
    }

    pub fn names() -> [&'static str; 3] {
        Self::ALL.map(Self::name)
    }
}

/// How the schedules work through their rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleSettings {
    /// Rows per statement.
    pub batch: u64,
    /// The pause between two batches, which lets the pipeline's writes in.
    pub pause: Duration,
    /// How long dead jobs and settled webhook deliveries are kept.
    pub keep_settled: TimeDelta,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        Self {
            batch: 500,
            pause: Duration::from_millis(10),
            keep_settled: TimeDelta::days(30),
        }
    }
}

/// What the schedules need.
pub struct SchedulePorts {
    pub store: Arc<dyn ScheduleStore>,
    pub housekeeping: Arc<dyn Housekeeping>,
    pub bots: Arc<dyn BotRepository>,
    /// Ends a conversation and announces it.
    pub end: Arc<EndConversation>,
    /// Tells whether the job is still held, between batches.
    pub queue: Arc<dyn JobQueue>,
    pub clock: Arc<dyn Clock>,
    pub timer: Arc<dyn Timer>,
}

pub struct RunSchedule {
    ports: SchedulePorts,
    settings: ScheduleSettings,
}

/// Why a run stopped before its end.
enum Stop {
    /// Another replica took the job over: it runs the schedule now.
    LeaseLost,
    Failed(RepoError),
}

impl From<RepoError> for Stop {
    fn from(error: RepoError) -> Self {
        Self::Failed(error)
    }
}

/// One batch's count, or why the run stops.
type Batch = Result<u64, Stop>;

impl RunSchedule {
    pub fn new(ports: SchedulePorts, settings: ScheduleSettings) -> Self {
        Self { ports, settings }
    }

    /// Runs the job of schedule `name` and re-arms it for its next period; a failed run is
    /// recorded and re-armed too (its next run tries again), never retried at once.
    #[tracing::instrument(skip_all, fields(schedule = name))]
    pub async fn run(&self, job: &ClaimedJob, name: &str) -> Result<Step, RepoError> {
        let Some(schedule) = Schedule::parse(name) else {
            return Ok(Step::Dead(DeadEnd::Gone(Gone::Schedule(name.to_owned()))));
        };
        let started = self.ports.clock.now();
        let outcome = match self.work(job, schedule, started).await {
            Ok(done) => done,
            Err(Stop::LeaseLost) => return Ok(Step::LeaseLost),
            Err(Stop::Failed(error)) => {
                tracing::warn!(%error, "schedule run failed");
                format!("failed: {error}")
            }
        };
        let next = started + schedule.period();
        let store = &self.ports.store;
        Ok(
            match store.rearm(job, name, started, &outcome, next).await? {
                true => Step::Settled,
                false => Step::LeaseLost,
            },
        )
    }

    async fn work(
        &self,
        job: &ClaimedJob,
        schedule: Schedule,
        now: DateTime<Utc>,
    ) -> Result<String, Stop> {
        Ok(match schedule {
            Schedule::IdleConversations => {
                let ended = self.end_idle(job, now).await?;
                format!("ended {ended} idle conversations")
            }
            Schedule::Retention => {
                let (messages, conversations) = self.retain(job, now).await?;
                format!("deleted {messages} messages and {conversations} conversations")
            }
            Schedule::Housekeeping => {
                let (keys, settled) = self.tidy(job, now).await?;
                format!("deleted {keys} expired idempotency keys and {settled} settled jobs and deliveries")
            }
        })
    }

    async fn end_idle(&self, job: &ClaimedJob, now: DateTime<Utc>) -> Result<u64, Stop> {
        let mut ended = 0;
        for bot in self.bots().await? {
            let Some(timeout) = bot.lifecycle.idle_timeout() else {
                continue;
            };
            let batch = self.settings.batch;
            ended += self
                .in_batches(job, || async {
                    let housekeeping = &self.ports.housekeeping;
                    let idle = housekeeping.idle_conversations(bot.id, now - timeout, batch);
                    let idle = idle.await?;
                    for id in &idle {
                        self.ports.end.end(*id).await?;
                    }
                    Ok(idle.len() as u64)
                })
                .await?;
        }
        Ok(ended)
    }

    async fn retain(&self, job: &ClaimedJob, now: DateTime<Utc>) -> Result<(u64, u64), Stop> {
        let (mut messages, mut conversations) = (0, 0);
        let (housekeeping, batch) = (&self.ports.housekeeping, self.settings.batch);
        for bot in self.bots().await? {
            let Some(retention) = bot.lifecycle.retention() else {
                continue;
            };
            let before = now - retention;
            let purge = || async { Ok(housekeeping.purge_messages(bot.id, before, batch).await?) };
            messages += self.in_batches(job, purge).await?;
            let purge = || async {
                Ok(housekeeping
                    .purge_conversations(bot.id, before, batch)
                    .await?)
            };
            conversations += self.in_batches(job, purge).await?;
        }
        Ok((messages, conversations))
    }

    async fn tidy(&self, job: &ClaimedJob, now: DateTime<Utc>) -> Result<(u64, u64), Stop> {
        let (housekeeping, batch) = (&self.ports.housekeeping, self.settings.batch);
        let purge = || async { Ok(housekeeping.purge_idempotency_keys(now, batch).await?) };
        let keys = self.in_batches(job, purge).await?;
        let before = now - self.settings.keep_settled;
        let purge = || async { Ok(housekeeping.purge_settled(before, batch).await?) };
        let settled = self.in_batches(job, purge).await?;
        Ok((keys, settled))
    }

    /// Runs `step` until a batch comes back short, pausing between batches and stopping when
    /// the job's lease is lost; the rows done in all.
    async fn in_batches<F, Fut>(&self, job: &ClaimedJob, mut step: F) -> Batch
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Batch>,
    {
        let mut done = 0;
        loop {
            let count = step().await?;
            done += count;
            if count < self.settings.batch {
                return Ok(done);
            }
            if !self.ports.queue.save_progress(job, &job.payload).await? {
                return Err(Stop::LeaseLost);
            }
            self.ports.timer.sleep(self.settings.pause).await;
        }
    }

    /// Every bot, page by page.
    async fn bots(&self) -> Result<Vec<Bot>, RepoError> {
        let mut bots = Vec::new();
        let mut page = PageRequest {
            after: None,
            limit: PageRequest::MAX_LIMIT,
        };
        loop {
            let found = self.ports.bots.list(&page).await?;
            bots.extend(found.items);
            match found.next_cursor {
                Some(cursor) => page.after = Some(cursor),
                None => return Ok(bots),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{clock, now, World};
    use crate::ports::{
        JobPayload, LeaseToken, MockEventPublisher, MockHousekeeping, MockJobQueue,
        MockScheduleStore, MockTimer,
    };
    use domain::repositories::{MockBotRepository, MockConversationRepository};
    use domain::{Lifecycle, Page};
    use std::sync::atomic::{AtomicU64, Ordering};

    const BATCH: u64 = 2;

    fn job(name: &str) -> ClaimedJob {
        ClaimedJob {
            id: 7,
            lane: crate::ports::schedule_lane(name),
            payload: JobPayload::Schedule { name: name.into() },
            attempts: 1,
            lease: LeaseToken("held".into()),
            trace_parent: None,
        }
    }

    fn bots(lifecycle: Lifecycle) -> MockBotRepository {
        let mut bot = World::new().bot;
        bot.lifecycle = lifecycle;
        let mut bots = MockBotRepository::new();
        bots.expect_list().returning(move |_| {
            Ok(Page {
                items: vec![bot.clone()],
                next_cursor: None,
            })
        });
        bots
    }

    fn run_schedule(
        store: MockScheduleStore,
        housekeeping: MockHousekeeping,
        lifecycle: Lifecycle,
        held: bool,
    ) -> RunSchedule {
        let mut queue = MockJobQueue::new();
        queue.expect_save_progress().returning(move |_, _| Ok(held));
        let mut timer = MockTimer::new();
        timer.expect_sleep().returning(|_| ());
        let end = EndConversation::new(
            Arc::new(MockConversationRepository::new()),
            Arc::new(MockEventPublisher::new()),
            clock(),
        );
        let ports = SchedulePorts {
            store: Arc::new(store),
            housekeeping: Arc::new(housekeeping),
            bots: Arc::new(bots(lifecycle)),
            end: Arc::new(end),
            queue: Arc::new(queue),
            clock: clock(),
            timer: Arc::new(timer),
        };
        let settings = ScheduleSettings {
            batch: BATCH,
            ..ScheduleSettings::default()
        };
        RunSchedule::new(ports, settings)
    }

    /// Housekeeping whose message purge finds `remaining` old messages, `BATCH` at a time.
    fn purging(remaining: u64) -> MockHousekeeping {
        let left = Arc::new(AtomicU64::new(remaining));
        let mut housekeeping = MockHousekeeping::new();
        housekeeping
            .expect_purge_messages()
            .withf(|_, before, limit| *before == now() - TimeDelta::days(3) && *limit == BATCH)
            .returning(move |_, _, limit| {
                let take = left.load(Ordering::SeqCst).min(limit);
                left.fetch_sub(take, Ordering::SeqCst);
                Ok(take)
            });
        housekeeping
            .expect_purge_conversations()
            .returning(|_, _, _| Ok(1));
        housekeeping
    }

    #[tokio::test]
    async fn retention_purges_in_batches_until_one_comes_back_short_then_rearms_a_period_on() {
        let mut store = MockScheduleStore::new();
        store
            .expect_rearm()
            .withf(|_, name, at, outcome, next| {
                name == "retention"
                    && *at == now()
                    && outcome == "deleted 5 messages and 1 conversations"
                    && *next == now() + TimeDelta::hours(1)
            })
            .times(1)
            .returning(|_, _, _, _, _| Ok(true));
        let lifecycle = Lifecycle::new(None, Some(3)).unwrap();
        let run = run_schedule(store, purging(5), lifecycle, true);
        let step = run.run(&job("retention"), "retention").await.unwrap();
        assert_eq!(step, Step::Settled);
    }

    #[tokio::test]
    async fn a_run_whose_lease_is_lost_between_batches_stops_and_rearms_nothing() {
        let mut store = MockScheduleStore::new();
        store.expect_rearm().never();
        let lifecycle = Lifecycle::new(None, Some(3)).unwrap();
        let run = run_schedule(store, purging(10), lifecycle, false);
        let step = run.run(&job("retention"), "retention").await.unwrap();
        assert_eq!(step, Step::LeaseLost);
    }

    #[tokio::test]
    async fn a_failed_run_is_recorded_and_rearmed_rather_than_retried() {
        let mut store = MockScheduleStore::new();
        store
            .expect_rearm()
            .withf(|_, _, _, outcome, _| outcome.starts_with("failed: "))
            .times(1)
            .returning(|_, _, _, _, _| Ok(true));
        let mut housekeeping = MockHousekeeping::new();
        housekeeping
            .expect_purge_idempotency_keys()
            .returning(|_, _| Err(RepoError::Unavailable("down".into())));
        let run = run_schedule(store, housekeeping, Lifecycle::default(), true);
        let step = run.run(&job("housekeeping"), "housekeeping").await.unwrap();
        assert_eq!(step, Step::Settled);
    }

    #[tokio::test]
    async fn bots_without_a_lifecycle_are_left_alone_and_an_unknown_schedule_dies() {
        let mut store = MockScheduleStore::new();
        store
            .expect_rearm()
            .withf(|_, _, _, outcome, _| outcome == "ended 0 idle conversations")
            .returning(|_, _, _, _, _| Ok(true));
        let run = run_schedule(store, MockHousekeeping::new(), Lifecycle::default(), true);
        let name = "idle_conversations";
        assert_eq!(run.run(&job(name), name).await.unwrap(), Step::Settled);
        let unknown = run.run(&job("nightly"), "nightly").await.unwrap();
        assert!(matches!(unknown, Step::Dead(_)), "{unknown:?}");
    }
}
