//! Use case: run a claimed job's handler and apply the outcome (complete, retry, dead-letter).

use crate::backoff::backoff_delay;
use crate::deliver_reply::DeliverReply;
use crate::dispatcher::RunJob;
use crate::generate_reply::GenerateReply;
use crate::jobs::Step;
use crate::ports::{ClaimedJob, Clock, JobPayload, JobQueue};
use crate::settings::PipelineSettings;
use async_trait::async_trait;
use chrono::TimeDelta;
use domain::RepoError;
use std::sync::Arc;
use std::time::Duration;

/// What became of a job, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    Retrying { after: Duration },
    DeadLettered,
    LeaseLost,
}

pub struct JobRunner {
    queue: Arc<dyn JobQueue>,
    generate: GenerateReply,
    deliver: DeliverReply,
    clock: Arc<dyn Clock>,
    settings: PipelineSettings,
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
        }
    }

    /// Runs a claimed job to its outcome. A storage failure inside the handler is retried
    /// with backoff like any transient failure.
    #[tracing::instrument(skip_all, fields(job_id = job.id, kind = job.payload.kind(), attempt = job.attempts))]
    pub async fn run(&self, job: &ClaimedJob) -> Result<Outcome, RepoError> {
        let step = match &job.payload {
            JobPayload::Reply { message_id } => self.generate.run(job, *message_id).await,
            JobPayload::Deliver {
                message_id,
                parts_sent,
            } => self.deliver.run(job, *message_id, *parts_sent).await,
        };
        let step = step.unwrap_or_else(|error| Step::Retry {
            payload: job.payload.clone(),
            after: None,
            error: error.to_string(),
        });
        self.apply(job, step).await
    }

    async fn apply(&self, job: &ClaimedJob, step: Step) -> Result<Outcome, RepoError> {
        match step {
            Step::Finished => Ok(Outcome::Completed),
            Step::LeaseLost => Ok(Outcome::LeaseLost),
            Step::Done => Ok(self.settled(self.queue.complete(job).await?, Outcome::Completed)),
            Step::Dead(error) => self.bury(job, &error).await,
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
                let kept = self.queue.retry(job, &payload, run_at, &error).await?;
                Ok(self.settled(kept, Outcome::Retrying { after }))
            }
        }
    }

    async fn bury(&self, job: &ClaimedJob, error: &str) -> Result<Outcome, RepoError> {
        tracing::warn!(%error, "job dead-lettered");
        let held = self.queue.bury(job, error).await?;
        if let (true, JobPayload::Deliver { message_id, .. }) = (held, &job.payload) {
            self.deliver.give_up(*message_id, error).await?;
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

#[async_trait]
impl RunJob for JobRunner {
    async fn run(&self, job: &ClaimedJob) -> Result<Outcome, RepoError> {
        JobRunner::run(self, job).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{clock, job, messages_holding, now, telegram_channel, World};
    use crate::ports::{
        MockEventPublisher, MockJobQueue, MockLanguageModel, MockLedger, SendError,
    };
    use domain::repositories::MockBotRepository;
    use domain::{Message, MessageContent, MessageStatus};

    /// A runner whose deliveries always fail with `error`; `marked` is the status the message
    /// must be set to (once), or `None` for no change.
    fn runner(
        world: &World,
        reply: &Message,
        error: SendError,
        queue: MockJobQueue,
        marked: Option<MessageStatus>,
    ) -> JobRunner {
        let mut messages = messages_holding(vec![reply.clone()]);
        match marked {
            Some(status) => {
                messages
                    .expect_advance()
                    .withf(move |_, s, error| {
                        *s == status && error.as_deref().is_some_and(|e| e.contains("gave up"))
                    })
                    .times(1)
                    .returning(|_, _, _| Ok(true));
            }
            None => {
                messages.expect_advance().never();
            }
        }
        let mut channel = telegram_channel();
        channel.expect_max_text_len().return_const(4096usize);
        channel
            .expect_send_text()
            .returning(move |_, _, _| Err(error.clone()));
        let mut events = MockEventPublisher::new();
        events.expect_publish().return_const(());
        let events = Arc::new(events);
        let queue: Arc<dyn JobQueue> = Arc::new(queue);
        let lookup = world.lookup(messages, channel);
        let generate = GenerateReply {
            lookup: lookup.clone(),
            bots: Arc::new(MockBotRepository::new()),
            ledger: Arc::new(MockLedger::new()),
            model: Arc::new(MockLanguageModel::new()),
            events: events.clone(),
            clock: clock(),
            timer: Arc::new(crate::ports::MockTimer::new()),
            settings: PipelineSettings::default(),
        };
        let deliver = DeliverReply {
            lookup,
            queue: queue.clone(),
            events,
        };
        let settings = PipelineSettings {
            max_attempts: 3,
            ..PipelineSettings::default()
        };
        JobRunner::new(queue, generate, deliver, clock(), settings)
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
}
