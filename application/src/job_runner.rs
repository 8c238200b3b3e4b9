//! Use case: claim a job, run its handler, and apply the outcome (complete, retry, dead-letter).

use crate::backoff::backoff_delay;
use crate::deliver_reply::DeliverReply;
use crate::generate_reply::GenerateReply;
use crate::jobs::Step;
use crate::ports::{ClaimedJob, Clock, JobPayload, JobQueue};
use crate::settings::PipelineSettings;
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

    pub fn lease(&self) -> Duration {
        self.settings.lease
    }

    pub async fn claim(&self) -> Result<Option<ClaimedJob>, RepoError> {
        self.queue
            .claim(self.clock.now(), self.settings.lease)
            .await
    }

    /// Extends the lease; `false` when the job was lost to another worker.
    pub async fn heartbeat(&self, job: &ClaimedJob) -> Result<bool, RepoError> {
        self.queue
            .heartbeat(job, self.clock.now(), self.settings.lease)
            .await
    }

    /// Hands a job back untouched, for a worker that is shutting down.
    pub async fn release(&self, job: &ClaimedJob) -> Result<bool, RepoError> {
        self.queue.release(job).await
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
        if let JobPayload::Deliver { message_id, .. } = &job.payload {
            self.deliver.give_up(*message_id).await?;
        }
        Ok(self.settled(self.queue.bury(job, error).await?, Outcome::DeadLettered))
    }

    fn settled(&self, lease_held: bool, outcome: Outcome) -> Outcome {
        if lease_held {
            outcome
        } else {
            Outcome::LeaseLost
        }
    }
}
