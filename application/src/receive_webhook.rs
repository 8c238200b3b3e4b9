//! Use case: accept a platform's webhook — verify it, parse it, and record each message durably.

use crate::ports::{
    Channels, Clock, EventPublisher, InboundRecord, InboundRequest, Ledger, ParseError, Recorded,
    VerifyError,
};
use crate::secrets::secrets_match;
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

/// Why Meta's subscription handshake was refused.
#[derive(Debug, Error)]
pub enum SubscribeError {
    #[error("no {0} binding for this bot")]
    UnknownBinding(PlatformKind),
    #[error("not a subscription with the binding's verify token")]
    Refused,
    #[error("storage is unavailable")]
    Unavailable(#[source] RepoError),
}

/// The `hub.mode` that asks to subscribe.
const SUBSCRIBE: &str = "subscribe";

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

    /// Meta's handshake (`GET` with `hub.mode` and `hub.verify_token`): accepted only for
    /// `subscribe` with the binding's verify token, compared in constant time.
    #[tracing::instrument(skip_all, fields(bot_id = %bot_id, platform = %kind))]
    pub async fn confirm_subscription(
        &self,
        bot_id: BotId,
        kind: PlatformKind,
        mode: Option<&str>,
        verify_token: Option<&str>,
    ) -> Result<(), SubscribeError> {
        let binding = self
            .bindings
            .get(bot_id, kind)
            .await
            .map_err(SubscribeError::Unavailable)?
            .ok_or(SubscribeError::UnknownBinding(kind))?;
        let expected = binding.credentials.verify_token();
        let token_matches = expected
            .zip(verify_token)
            .is_some_and(|(expected, presented)| secrets_match(expected.expose(), presented));
        if mode == Some(SUBSCRIBE) && token_matches {
            Ok(())
        } else {
            Err(SubscribeError::Refused)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{clock, telegram_channel, World};
    use crate::ports::{InboundMessage, MockEventPublisher, MockLedger};
    use domain::repositories::MockBindingRepository;
    use domain::{ConversationId, ExternalChatId, ExternalMessageId, MessageContent, MessageId};

    fn message(id: &str) -> InboundMessage {
        InboundMessage {
            external_id: ExternalMessageId::parse(id).unwrap(),
            chat: ExternalChatId::parse("42").unwrap(),
            content: MessageContent::text("hi"),
        }
    }

    fn use_case(
        binding: Option<domain::PlatformBinding>,
        verdict: Result<(), VerifyError>,
        ledger: MockLedger,
        events: MockEventPublisher,
    ) -> ReceiveWebhook {
        let mut bindings = MockBindingRepository::new();
        bindings
            .expect_get()
            .returning(move |_, _| Ok(binding.clone()));
        let mut channel = telegram_channel();
        channel
            .expect_verify()
            .returning(move |_, _| verdict.clone());
        channel
            .expect_parse()
            .returning(|_| Ok(vec![message("1:1"), message("1:2")]));
        ReceiveWebhook::new(
            Arc::new(bindings),
            Arc::new(ledger),
            Channels::new([Arc::new(channel) as Arc<dyn crate::ports::Channel>]),
            Arc::new(events),
            clock(),
        )
    }

    #[tokio::test]
    async fn a_forged_request_is_refused_before_anything_is_written() {
        let world = World::new();
        let mut ledger = MockLedger::new();
        ledger.expect_record_inbound().never();
        let mut events = MockEventPublisher::new();
        events.expect_publish().never();
        let result = use_case(
            Some(world.binding.clone()),
            Err(VerifyError::Mismatch),
            ledger,
            events,
        )
        .handle(
            world.bot.id,
            PlatformKind::Telegram,
            &InboundRequest::default(),
        )
        .await;
        assert!(matches!(
            result,
            Err(ReceiveError::Unauthorized(VerifyError::Mismatch))
        ));
    }

    #[tokio::test]
    async fn an_unbound_bot_is_unknown() {
        let mut ledger = MockLedger::new();
        ledger.expect_record_inbound().never();
        let result = use_case(None, Ok(()), ledger, MockEventPublisher::new())
            .handle(
                BotId::new(),
                PlatformKind::Telegram,
                &InboundRequest::default(),
            )
            .await;
        assert!(matches!(
            result,
            Err(ReceiveError::UnknownBinding(PlatformKind::Telegram))
        ));
    }

    #[tokio::test]
    async fn each_message_is_recorded_and_duplicates_are_counted_not_announced() {
        let world = World::new();
        let mut ledger = MockLedger::new();
        ledger.expect_record_inbound().times(2).returning(|record| {
            Ok(if record.external_id.as_str() == "1:1" {
                Recorded::New {
                    conversation_id: ConversationId::new(),
                    message_id: MessageId::new(),
                }
            } else {
                Recorded::Duplicate
            })
        });
        let mut events = MockEventPublisher::new();
        events.expect_publish().times(1).return_const(());
        let receipt = use_case(Some(world.binding.clone()), Ok(()), ledger, events)
            .handle(
                world.bot.id,
                PlatformKind::Telegram,
                &InboundRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(
            receipt,
            Receipt {
                recorded: 1,
                duplicates: 1
            }
        );
    }

    #[tokio::test]
    async fn a_storage_outage_is_reported_as_unavailable() {
        let world = World::new();
        let mut ledger = MockLedger::new();
        ledger
            .expect_record_inbound()
            .returning(|_| Err(RepoError::Unavailable("down".into())));
        let result = use_case(
            Some(world.binding.clone()),
            Ok(()),
            ledger,
            MockEventPublisher::new(),
        )
        .handle(
            world.bot.id,
            PlatformKind::Telegram,
            &InboundRequest::default(),
        )
        .await;
        assert!(matches!(result, Err(ReceiveError::Unavailable(_))));
    }

    fn handshake_use_case(binding: Option<domain::PlatformBinding>) -> ReceiveWebhook {
        let mut bindings = MockBindingRepository::new();
        bindings
            .expect_get()
            .returning(move |_, _| Ok(binding.clone()));
        let mut ledger = MockLedger::new();
        ledger.expect_record_inbound().never();
        ReceiveWebhook::new(
            Arc::new(bindings),
            Arc::new(ledger),
            Channels::default(),
            Arc::new(MockEventPublisher::new()),
            clock(),
        )
    }

    fn whatsapp_binding(bot_id: BotId) -> domain::PlatformBinding {
        let credentials =
            domain::WhatsappCredentials::parse("1098765432", "token", "app", "verify-me").unwrap();
        domain::PlatformBinding::new(
            bot_id,
            domain::Credentials::Whatsapp(credentials),
            crate::fixtures::now(),
        )
    }

    #[tokio::test]
    async fn a_subscription_with_the_verify_token_is_confirmed() {
        let bot_id = BotId::new();
        let use_case = handshake_use_case(Some(whatsapp_binding(bot_id)));
        let confirm = |mode, token| {
            use_case.confirm_subscription(bot_id, PlatformKind::Whatsapp, mode, token)
        };
        assert!(confirm(Some("subscribe"), Some("verify-me")).await.is_ok());
        for (mode, token) in [
            (Some("subscribe"), Some("verify-mE")),
            (Some("subscribe"), Some("verify-me-too")),
            (Some("subscribe"), None),
            (Some("unsubscribe"), Some("verify-me")),
            (None, Some("verify-me")),
        ] {
            assert!(
                matches!(confirm(mode, token).await, Err(SubscribeError::Refused)),
                "{mode:?} {token:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_subscription_needs_a_binding_with_a_verify_token() {
        let result = handshake_use_case(None)
            .confirm_subscription(
                BotId::new(),
                PlatformKind::Whatsapp,
                Some("subscribe"),
                Some("verify-me"),
            )
            .await;
        assert!(matches!(result, Err(SubscribeError::UnknownBinding(_))));
        let world = World::new();
        let result = handshake_use_case(Some(world.binding.clone()))
            .confirm_subscription(
                world.bot.id,
                PlatformKind::Telegram,
                Some("subscribe"),
                Some(""),
            )
            .await;
        assert!(matches!(result, Err(SubscribeError::Refused)));
    }
}
