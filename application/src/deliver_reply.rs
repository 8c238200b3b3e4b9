//! Use case: deliver a stored reply in platform-sized parts, resuming after the last part sent.

use crate::jobs::{Lookup, Step, Target};
use crate::ports::{ClaimedJob, Clock, EventPublisher, JobPayload, JobQueue, SendError};
use crate::text::split_for_platform;
use domain::{DomainEvent, MessageId, MessageStatus, RepoError};
use std::sync::Arc;

pub struct DeliverReply {
    pub lookup: Lookup,
    pub queue: Arc<dyn JobQueue>,
    pub events: Arc<dyn EventPublisher>,
    pub clock: Arc<dyn Clock>,
}

impl DeliverReply {
    #[tracing::instrument(skip_all, fields(job_id = job.id, message_id = %message_id, parts_sent))]
    pub async fn run(
        &self,
        job: &ClaimedJob,
        message_id: MessageId,
        parts_sent: u32,
    ) -> Result<Step, RepoError> {
        let target = match self.lookup.target(message_id).await? {
            Ok(target) => target,
            Err(reason) => return Ok(Step::Dead(reason)),
        };
        if target.message.status == MessageStatus::Sent {
            return Ok(Step::Done);
        }
        let text = target.message.content.summary();
        let parts = split_for_platform(&text, target.channel.max_text_len());
        for (index, part) in parts.iter().enumerate().skip(parts_sent as usize) {
            if let Err(error) = target
                .channel
                .send_text(&target.binding, &target.chat, part)
                .await
            {
                return Ok(after_failure(message_id, index as u32, error));
            }
            let progress = JobPayload::Deliver {
                message_id,
                parts_sent: index as u32 + 1,
            };
            if index + 1 < parts.len() && !self.queue.save_progress(job, &progress).await? {
                return Ok(Step::LeaseLost);
            }
        }
        self.settle(&target, MessageStatus::Sent).await?;
        Ok(Step::Done)
    }

    /// Marks a message whose delivery was given up as failed; the runner calls it when a
    /// delivery job is dead-lettered, whatever the reason.
    pub async fn give_up(&self, message_id: MessageId) -> Result<(), RepoError> {
        if let Ok(target) = self.lookup.target(message_id).await? {
            self.settle(&target, MessageStatus::Failed).await?;
        }
        Ok(())
    }

    async fn settle(&self, target: &Target, status: MessageStatus) -> Result<(), RepoError> {
        let message = &target.message;
        self.lookup.messages.set_status(message.id, status).await?;
        let (bot_id, conversation_id, message_id) =
            (message.bot_id, message.conversation_id, message.id);
        self.events.publish(match status {
            MessageStatus::Sent => DomainEvent::MessageDelivered {
                bot_id,
                conversation_id,
                message_id,
            },
            _ => DomainEvent::DeliveryFailed {
                bot_id,
                conversation_id,
                message_id,
            },
        });
        Ok(())
    }
}

/// A failed send: wait as the platform asked, back off, or give up.
fn after_failure(message_id: MessageId, parts_sent: u32, error: SendError) -> Step {
    let payload = JobPayload::Deliver {
        message_id,
        parts_sent,
    };
    match error {
        SendError::RateLimited { retry_after } => Step::Retry {
            payload,
            after: Some(retry_after),
            error: error.to_string(),
        },
        SendError::Transient(_) => Step::Retry {
            payload,
            after: None,
            error: error.to_string(),
        },
        SendError::Permanent(_) => Step::Dead(error.to_string()),
    }
}
