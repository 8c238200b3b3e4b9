//! Use case: accept a platform's webhook — verify it, parse it, and record each message durably.

use crate::ports::{
    Channels, Clock, EventPublisher, InboundRecord, InboundRequest, Ledger, ParseError, Recorded,
    VerifyError,
};
use domain::repositories::BindingRepository;
use domain::{BotId, DomainEvent, PlatformKind, RepoError};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReceiveError {
    #[error("no {0} binding for this bot")]
    UnknownBinding(PlatformKind),
    #[error(transparent)]
    Unauthorized(#[from] VerifyError),
    #[error(transparent)]
    Malformed(#[from] ParseError),
    #[error("storage is unavailable")]
    Unavailable(#[source] RepoError),
}

/// What was done with an accepted webhook.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Receipt {
    pub recorded: usize,
    pub duplicates: usize,
}

pub struct ReceiveWebhook {
    bindings: Arc<dyn BindingRepository>,
    ledger: Arc<dyn Ledger>,
    channels: Channels,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
}

impl ReceiveWebhook {
    pub fn new(
        bindings: Arc<dyn BindingRepository>,
        ledger: Arc<dyn Ledger>,
        channels: Channels,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            bindings,
            ledger,
            channels,
            events,
            clock,
        }
    }

    /// Nothing is written unless the request is authentic; once this returns `Ok`, every
    /// message in it is stored with its reply job.
    #[tracing::instrument(skip_all, fields(bot_id = %bot_id, platform = %kind))]
    pub async fn handle(
        &self,
        bot_id: BotId,
        kind: PlatformKind,
        request: &InboundRequest,
    ) -> Result<Receipt, ReceiveError> {
        let channel = self
            .channels
            .get(kind)
            .ok_or(ReceiveError::UnknownBinding(kind))?;
        let binding = self
            .bindings
            .get(bot_id, kind)
            .await
            .map_err(ReceiveError::Unavailable)?
            .ok_or(ReceiveError::UnknownBinding(kind))?;
        channel.verify(&binding, request)?;
        let messages = channel.parse(&request.body)?;
        let mut receipt = Receipt::default();
        for message in messages {
            let record = InboundRecord {
                bot_id,
                platform: kind,
                chat: message.chat,
                external_id: message.external_id,
                content: message.content,
                received_at: self.clock.now(),
            };
            match self
                .ledger
                .record_inbound(&record)
                .await
                .map_err(ReceiveError::Unavailable)?
            {
                Recorded::New {
                    conversation_id,
                    message_id,
                } => {
                    receipt.recorded += 1;
                    self.events.publish(DomainEvent::MessageReceived {
                        bot_id,
                        conversation_id,
                        message_id,
                        platform: kind,
                    });
                }
                Recorded::Duplicate => receipt.duplicates += 1,
            }
        }
        tracing::debug!(
            recorded = receipt.recorded,
            duplicates = receipt.duplicates,
            "webhook accepted"
        );
        Ok(receipt)
    }
}
