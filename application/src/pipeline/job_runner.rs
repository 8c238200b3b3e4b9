//! Use case: run a claimed job's handler and apply the outcome (complete, retry, dead-letter).

use crate::backoff::backoff_delay;
use crate::deliver_reply::DeliverReply;
use crate::dispatcher::RunJob;
use crate::generate_reply::GenerateReply;
use crate::jobs::{DeadEnd, Delivery, Gone, Step};
use crate::metrics::{self, JobOutcome};
use crate::ports::{ClaimedJob, Clock, JobPayload, JobQueue, NoTrace, TraceContext};
use crate::schedules::RunSchedule;
use crate::settings::PipelineSettings;
use crate::webhooks::DeliverWebhook;
use async_trait::async_trait;
use chrono::TimeDelta;
use domain::{RepoError, TextRule};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// What became of a job, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    Retrying { after: Duration },
    DeadLettered,
    LeaseLost,
}

impl Outcome {
    fn label(&self) -> JobOutcome {
        match self {
            Self::Completed => JobOutcome::Completed,
            Self::Retrying { .. } => JobOutcome::Retried,
            Self::DeadLettered => JobOutcome::Dead,
            Self::LeaseLost => JobOutcome::LeaseLost,
        }
    }
}

pub struct JobRunner {
    queue: Arc<dyn JobQueue>,
    generate: GenerateReply,
    deliver: DeliverReply,
    clock: Arc<dyn Clock>,
    settings: PipelineSettings,
    /// Makes each job's span a child of the trace stored with it.
    trace: Arc<dyn TraceContext>,
    /// Posts outgoing webhooks' deliveries; `None` where none are run (a webhook job then
    /// dies saying so).
    webhooks: Option<Arc<DeliverWebhook>>,
    /// Runs the schedules' jobs; `None` where none are run.
    schedules: Option<Arc<RunSchedule>>,
}

impl JobRunner {
    pub fn new(
        queue: Arc<dyn JobQueue>,
        generate: GenerateReply,
        deliver: DeliverReply,
        clock: Arc<dyn Clock>,
        settings: PipelineSettings,
    ) -> Self {
        Self {
            queue,
            generate,
            deliver,
            clock,
            settings,
            trace: Arc::new(NoTrace),
            webhooks: None,
            schedules: None,
        }
    }

    /// Runs the schedules' jobs with `schedules`.
    pub fn running_schedules(self, schedules: RunSchedule) -> Self {
        Self {
            schedules: Some(Arc::new(schedules)),
            ..self
        }
    }

    /// Runs the outgoing webhooks' delivery jobs with `webhooks`.
    pub fn delivering_webhooks(self, webhooks: DeliverWebhook) -> Self {
        Self {
            webhooks: Some(Arc::new(webhooks)),
            ..self
        }
    }

    /// Continues the traces stored with the jobs through `trace` (traces on).
    pub fn traced(self, trace: Arc<dyn TraceContext>) -> Self {
        Self { trace, ..self }
    }

    /// Runs a claimed job to its outcome in a `job` span, a child of the span that enqueued
    /// it when the job carries its `traceparent`.
    pub async fn run(&self, job: &ClaimedJob) -> Result<Outcome, RepoError> {
        let span = job_span(job);
        if let Some(parent) = &job.trace_parent {
            self.trace.adopt(&span, parent);
        }
        let started = Instant::now();
        let outcome = self.run_job(job).instrument(span.clone()).await;
        span.record("outcome", outcome.as_ref().map_or("error", Outcome::as_str));
        if let Ok(outcome) = &outcome {
            metrics::job_run(job.payload.kind(), outcome.label(), started.elapsed());
        }
        outcome
    }

    /// Runs a claimed job to its outcome. A storage failure inside the handler is retried
    /// with backoff like any transient failure. A reply job that stored its answer becomes
    /// its delivery and runs on at once, in this task.
    async fn run_job(&self, job: &ClaimedJob) -> Result<Outcome, RepoError> {
        let step = match &job.payload {
            JobPayload::Reply { message_id } => self.generate.run(job, *message_id).await,
            JobPayload::Deliver {
                message_id,
                parts_sent,
            } => self.deliver.run(job, *message_id, *parts_sent).await,
            JobPayload::Webhook { delivery_id } => match &self.webhooks {
                Some(webhooks) => webhooks.run(job, *delivery_id).await,
                None => Ok(Step::Dead(DeadEnd::Gone(Gone::Webhooks))),
            },
            JobPayload::Schedule { name } => match &self.schedules {
                Some(schedules) => schedules.run(job, name).await,
                None => Ok(Step::Dead(DeadEnd::Gone(Gone::Schedule(name.clone())))),
            },
        };
        match retried_on_error(job, step) {
            Step::Deliver(delivery) => {
                let Delivery { job, target } = *delivery;
                let step = self.deliver.send(&job, &target, 0).await;
                self.apply(&job, retried_on_error(&job, step)).await
            }
            step => self.apply(job, step).await,
        }
    }

    async fn apply(&self, job: &ClaimedJob, step: Step) -> Result<Outcome, RepoError> {
        match step {
            Step::Settled => Ok(Outcome::Completed),
            Step::LeaseLost => Ok(Outcome::LeaseLost),
            // Only a reply job hands over a delivery, and `run` runs it.
            Step::Deliver(delivery) => Err(RepoError::Other(format!("{delivery:?} was not run"))),
            Step::Complete => Ok(self.settled(self.queue.complete(job).await?, Outcome::Completed)),
            Step::Dead(dead_end) => self.bury(job, &dead_end.to_string()).await,
            Step::Defer {
                payload,
                after,
                reason,
            } => {
                tracing::debug!(%reason, ?after, "job deferred; this attempt is not counted");
                let until = self.clock.now() + TimeDelta::from_std(after).unwrap_or(TimeDelta::MAX);
                let reason = storable(reason);
                let kept = self.queue.defer(job, &payload, until, &reason).await?;
                Ok(self.settled(kept, Outcome::Retrying { after }))
            }
            Step::Retry { error, .. } if job.attempts >= self.settings.max_attempts => {
                self.bury(
                    job,
                    &format!("gave up after {} attempts: {error}", job.attempts),
                )
                .await
            }
            Step::Retry {
                payload,
                after,
                error,
            } => {
                let after = after.unwrap_or_else(|| {
                    backoff_delay(
                        job.attempts,
                        self.settings.retry_base,
                        self.settings.retry_cap,
                    )
                });
                let run_at =
                    self.clock.now() + TimeDelta::from_std(after).unwrap_or(TimeDelta::MAX);
                tracing::info!(%error, ?after, "job will be retried");
                let kept = self
                    .queue
                    .retry(job, &payload, run_at, &storable(error))
                    .await?;
                Ok(self.settled(kept, Outcome::Retrying { after }))
            }
        }
    }

    async fn bury(&self, job: &ClaimedJob, error: &str) -> Result<Outcome, RepoError> {
        tracing::warn!(%error, "job dead-lettered");
        let error = storable(error.to_owned());
        let held = self.queue.bury(job, &error).await?;
        if let (true, JobPayload::Deliver { message_id, .. }) = (held, &job.payload) {
            self.deliver.give_up(*message_id, &error).await?;
        }
        Ok(self.settled(held, Outcome::DeadLettered))
    }

    fn settled(&self, lease_held: bool, outcome: Outcome) -> Outcome {
        if lease_held {
            outcome
        } else {
            Outcome::LeaseLost
        }
    }
}

impl Outcome {
    /// The outcome's name, as a span records it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Retrying { .. } => "retrying",
            Self::DeadLettered => "dead_lettered",
            Self::LeaseLost => "lease_lost",
        }
    }
}

/// The span a job runs in (`job reply`, `job deliver`); `outcome` is recorded at its end.
fn job_span(job: &ClaimedJob) -> tracing::Span {
    let name = match job.payload {
        JobPayload::Reply { .. } => "job reply",
        JobPayload::Deliver { .. } => "job deliver",
        JobPayload::Webhook { .. } => "job webhook",
        JobPayload::Schedule { .. } => "job schedule",
    };
    tracing::info_span!(
        "job",
        otel.name = name,
        otel.kind = "consumer",
        job_id = job.id,
        kind = job.payload.kind(),
        attempt = i64::from(job.attempts),
        outcome = tracing::field::Empty,
    )
}

/// A failure's text as it may be stored: it quotes what a platform or a model answered, which
/// may hold anything, and PostgreSQL refuses a NUL in text (the job could then never settle).
fn storable(error: String) -> String {
    TextRule::MultiLine.scrub(error)
}

/// A handler's storage failure is retried with backoff like any transient failure.
fn retried_on_error(job: &ClaimedJob, step: Result<Step, RepoError>) -> Step {
    step.unwrap_or_else(|error| Step::Retry {
        payload: job.payload.clone(),
        after: None,
        error: error.to_string(),
    })
}

#[async_trait]
impl RunJob for JobRunner {
    async fn run(&self, job: &ClaimedJob) -> Result<Outcome, RepoError> {
        JobRunner::run(self, job).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{clock, job, now, telegram_channel, World};
    use crate::ports::{
        Completion, Ledger, MockChannel, MockEventPublisher, MockJobQueue, MockLanguageModel,
        MockLedger, ReplyStored, SendError,
    };
    use domain::repositories::MockMessageRepository;
    use domain::{ExternalMessageId, Message, MessageContent, MessageStatus};

    /// The ports a runner is built on, each a mock the test sets up.
    struct Rig {
        messages: MockMessageRepository,
        channel: MockChannel,
        queue: MockJobQueue,
        ledger: MockLedger,
        model: MockLanguageModel,
    }

    impl Rig {
        /// Serves `stored` messages; the channel takes 4096 characters at a time and shows typing.
        fn new(world: &World, stored: Vec<Message>) -> Self {
            let mut channel = telegram_channel();
            channel.expect_max_text_len().return_const(4096usize);
            channel.expect_typing().returning(|_, _| Ok(()));
            Self {
                messages: world.messages_holding(stored),
                channel,
                queue: MockJobQueue::new(),
                ledger: MockLedger::new(),
                model: MockLanguageModel::new(),
            }
        }

        fn runner(self, world: &World) -> JobRunner {
            let mut events = MockEventPublisher::new();
            events.expect_publish().return_const(());
            let events = Arc::new(events);
            let queue: Arc<dyn JobQueue> = Arc::new(self.queue);
            let ledger: Arc<dyn Ledger> = Arc::new(self.ledger);
            let lookup = world.lookup(self.messages, self.channel);
            let generate = GenerateReply::new(
                lookup.clone(),
                ledger.clone(),
                Arc::new(self.model),
                events.clone(),
                clock(),
                Arc::new(crate::ports::MockTimer::new()),
                PipelineSettings {
                    typing_interval: Duration::ZERO,
                    ..PipelineSettings::default()
                },
            );
            let deliver = DeliverReply::new(
                lookup,
                queue.clone(),
                ledger,
                events,
                Arc::new(crate::ports::MockTimer::new()),
                crate::fixtures::unpaced(),
                clock(),
            );
            let settings = PipelineSettings {
                max_attempts: 3,
                ..PipelineSettings::default()
            };
            JobRunner::new(queue, generate, deliver, clock(), settings)
        }
    }

    /// A runner whose deliveries always fail with `error`; `marked` is the status the message
    /// must be set to (once), or `None` for no change.
    fn runner(
        world: &World,
        reply: &Message,
        error: SendError,
        queue: MockJobQueue,
        marked: Option<MessageStatus>,
    ) -> JobRunner {
        let mut rig = Rig::new(world, vec![reply.clone()]);
        match marked {
            Some(status) => {
                rig.messages
                    .expect_advance()
                    .withf(move |_, s, error| {
                        *s == status && error.as_deref().is_some_and(|e| e.contains("gave up"))
                    })
                    .times(1)
                    .returning(|_, _, _| Ok(true));
            }
            None => {
                rig.messages.expect_advance().never();
            }
        }
        rig.channel
            .expect_send_text()
            .returning(move |_, _, _| Err(error.clone()));
        rig.queue = queue;
        rig.runner(world)
    }

    /// A rig in which `inbound` is answered "hello" by the model and the reply stored.
    fn answering(world: &World, inbound: &Message) -> Rig {
        let mut rig = Rig::new(world, vec![inbound.clone()]);
        rig.model
            .expect_complete()
            .times(1)
            .returning(|_| Ok(Completion::text("hello")));
        rig.ledger
            .expect_store_reply()
            .times(1)
            .returning(|job, reply| Ok(ReplyStored::Delivering(job.delivering(reply.id))));
        rig
    }

    /// The job that answers `inbound`, at its `attempts`th attempt.
    fn reply_job(inbound: &Message, attempts: u32) -> ClaimedJob {
        let message_id = inbound.id;
        job(JobPayload::Reply { message_id }, attempts)
    }

    #[tokio::test]
    async fn a_stored_reply_is_delivered_by_the_same_job_in_the_same_run() {
        let world = World::new();
        let inbound = world.inbound(MessageContent::text("hi"));
        let mut rig = answering(&world, &inbound);
        rig.channel
            .expect_send_text()
            .withf(|_, _, part| part.text == "hello")
            .times(1)
            .returning(|_, _, _| Ok(Some(ExternalMessageId::parse("tg-9").unwrap())));
        rig.ledger
            .expect_finish_delivery()
            .withf(|job, _, external_id| {
                job.id == 7
                    && job.attempts == 1
                    && job.lease.0 == "lease"
                    && job.payload.kind() == "deliver"
                    && external_id.as_ref().map(|id| id.as_str()) == Some("tg-9")
            })
            .times(1)
            .returning(|_, _, _| Ok(true));
        // Neither another claim nor a separate completion: the delivery finishes the job.
        rig.queue.expect_complete().never();
        let reply_job = reply_job(&inbound, 2);
        let outcome = rig.runner(&world).run(&reply_job).await.unwrap();
        assert_eq!(outcome, Outcome::Completed);
    }

    #[tokio::test]
    async fn a_handed_on_delivery_that_fails_is_retried_as_the_delivery() {
        let world = World::new();
        let inbound = world.inbound(MessageContent::text("hi"));
        let mut rig = answering(&world, &inbound);
        rig.channel
            .expect_send_text()
            .returning(|_, _, _| Err(SendError::Transient("502".into())));
        rig.queue
            .expect_retry()
            .withf(|job, payload, _, _| {
                job.attempts == 1
                    && *payload == job.payload
                    && matches!(payload, JobPayload::Deliver { parts_sent: 0, .. })
            })
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        // The reply job's attempts were nearly spent; the delivery starts its own count.
        let reply_job = reply_job(&inbound, 3);
        let outcome = rig.runner(&world).run(&reply_job).await.unwrap();
        assert!(matches!(outcome, Outcome::Retrying { .. }), "{outcome:?}");
    }

    fn reply(world: &World) -> Message {
        Message::reply(&world.inbound(MessageContent::text("q")), "answer", now())
    }

    fn delivery(reply: &Message, attempts: u32) -> ClaimedJob {
        job(
            JobPayload::Deliver {
                message_id: reply.id,
                parts_sent: 0,
            },
            attempts,
        )
    }

    #[tokio::test]
    async fn a_deferred_job_is_put_back_uncounted_even_on_its_last_attempt() {
        let world = World::new();
        let reply = reply(&world);
        let mut rig = Rig::new(&world, vec![reply.clone()]);
        let expected_at = now() + TimeDelta::seconds(30);
        rig.queue
            .expect_defer()
            .withf(move |_, _, at, reason| *at == expected_at && reason.contains("breaker"))
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        rig.queue.expect_bury().never();
        let job = delivery(&reply, 3);
        let wait = Step::Defer {
            payload: job.payload.clone(),
            after: Duration::from_secs(30),
            reason: "the platform's circuit breaker is open".into(),
        };
        let outcome = rig.runner(&world).apply(&job, wait).await.unwrap();
        let after = Duration::from_secs(30);
        assert_eq!(outcome, Outcome::Retrying { after });
    }

    #[tokio::test]
    async fn a_rate_limited_delivery_is_retried_when_the_platform_said() {
        let world = World::new();
        let reply = reply(&world);
        let mut queue = MockJobQueue::new();
        let expected_at = now() + TimeDelta::seconds(7);
        queue
            .expect_retry()
            .withf(move |_, _, at, _| *at == expected_at)
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        let limited = SendError::RateLimited {
            retry_after: Duration::from_secs(7),
        };
        let outcome = runner(&world, &reply, limited, queue, None)
            .run(&delivery(&reply, 1))
            .await
            .unwrap();
        assert_eq!(
            outcome,
            Outcome::Retrying {
                after: Duration::from_secs(7)
            }
        );
    }

    #[tokio::test]
    async fn the_last_attempt_dead_letters_and_marks_the_message_failed() {
        let world = World::new();
        let reply = reply(&world);
        let mut queue = MockJobQueue::new();
        queue.expect_retry().never();
        queue
            .expect_bury()
            .withf(|_, error| error.contains("gave up after 3"))
            .times(1)
            .returning(|_, _| Ok(true));
        let failing = SendError::Transient("502".into());
        let outcome = runner(&world, &reply, failing, queue, Some(MessageStatus::Failed))
            .run(&delivery(&reply, 3))
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::DeadLettered);
    }

    #[tokio::test]
    async fn what_a_platform_answered_is_stored_without_control_characters() {
        let world = World::new();
        let reply = reply(&world);
        let mut queue = MockJobQueue::new();
        queue
            .expect_retry()
            .withf(|_, _, _, error| {
                error.contains("bad\u{fffd}gateway\u{fffd}") && !error.contains('\0')
            })
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        let failing = SendError::Transient("bad\0gateway\u{1b}".into());
        let outcome = runner(&world, &reply, failing.clone(), queue, None)
            .run(&delivery(&reply, 1))
            .await
            .unwrap();
        assert!(matches!(outcome, Outcome::Retrying { .. }), "{outcome:?}");
        let mut queue = MockJobQueue::new();
        queue
            .expect_bury()
            .withf(|_, error| error.contains("bad\u{fffd}gateway") && !error.contains('\0'))
            .times(1)
            .returning(|_, _| Ok(true));
        let outcome = runner(&world, &reply, failing, queue, Some(MessageStatus::Failed))
            .run(&delivery(&reply, 3))
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::DeadLettered);
    }

    #[tokio::test]
    async fn a_delivery_buried_under_a_lost_lease_leaves_the_message_alone() {
        let world = World::new();
        let reply = reply(&world);
        let mut queue = MockJobQueue::new();
        queue.expect_bury().times(1).returning(|_, _| Ok(false));
        let failing = SendError::Permanent("chat not found".into());
        let outcome = runner(&world, &reply, failing, queue, None)
            .run(&delivery(&reply, 1))
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::LeaseLost);
    }

    #[tokio::test]
    async fn a_lost_lease_is_reported_not_hidden() {
        let world = World::new();
        let reply = reply(&world);
        let mut queue = MockJobQueue::new();
        queue.expect_retry().returning(|_, _, _, _| Ok(false));
        let failing = SendError::Transient("502".into());
        let outcome = runner(&world, &reply, failing, queue, None)
            .run(&delivery(&reply, 1))
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::LeaseLost);
    }

    /// Remembers the parents spans were given.
    #[derive(Default)]
    struct Adoptions(std::sync::Mutex<Vec<String>>);

    impl TraceContext for Adoptions {
        fn current(&self) -> Option<String> {
            None
        }

        fn adopt(&self, _: &tracing::Span, traceparent: &str) {
            self.0.lock().unwrap().push(traceparent.to_owned());
        }
    }

    #[tokio::test]
    async fn a_job_runs_as_a_child_of_the_trace_stored_with_it() {
        let world = World::new();
        let reply = reply(&world);
        let mut queue = MockJobQueue::new();
        queue.expect_retry().returning(|_, _, _, _| Ok(true));
        let failing = SendError::Transient("502".into());
        let adoptions = Arc::new(Adoptions::default());
        let runner = runner(&world, &reply, failing, queue, None).traced(adoptions.clone());
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let traced = ClaimedJob {
            trace_parent: Some(parent.to_owned()),
            ..delivery(&reply, 1)
        };
        runner.run(&traced).await.unwrap();
        runner.run(&delivery(&reply, 1)).await.unwrap();
        assert_eq!(
            *adoptions.0.lock().unwrap(),
            [parent],
            "only the traced job"
        );
    }
}
