//! Use case: accept a platform's webhook — verify it, parse it, and record each message durably.

use crate::handoff::hand_over;
use crate::intake::Intake;
use crate::metrics::{self, ReportStatus};
use crate::ports::{
    Channel, Channels, Clock, EventPublisher, InboundMessage, InboundRecord, InboundRequest,
    ParseError, Recorded, VerifyError,
};
use crate::secrets::secrets_match;
use domain::repositories::{BindingRepository, ConversationRepository, MessageRepository};
use domain::{
    BotId, DeliveryReport, DomainEvent, ExternalChatId, MessageStatus, PlatformBinding,
    PlatformKind, RepoError,
};
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

/// A report's status as the metrics count it; only delivered, read and failed are reported.
fn report_label(status: MessageStatus) -> Option<ReportStatus> {
    match status {
        MessageStatus::Delivered => Some(ReportStatus::Delivered),
        MessageStatus::Read => Some(ReportStatus::Read),
        MessageStatus::Failed => Some(ReportStatus::Failed),
        _ => None,
    }
}

/// The `hub.mode` that asks to subscribe.
const SUBSCRIBE: &str = "subscribe";

/// What was done with an accepted webhook, and what to answer the platform.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    pub recorded: usize,
    pub duplicates: usize,
    /// Reports that moved one of the bot's messages.
    pub reports_applied: usize,
    /// The JSON body the platform expects back, if it expects one.
    pub answer: Option<String>,
}

/// The stores the use case writes to; new messages go through the intake writer.
pub struct Stores {
    pub bindings: Arc<dyn BindingRepository>,
    pub messages: Arc<dyn MessageRepository>,
    pub conversations: Arc<dyn ConversationRepository>,
    pub intake: Intake,
}

/// A webhook whose binding exists and whose headers passed the channel's early check: its body
/// may now be read.
pub struct Admitted {
    bot_id: BotId,
    kind: PlatformKind,
    binding: PlatformBinding,
    channel: Arc<dyn Channel>,
}

impl Admitted {
    pub fn platform(&self) -> PlatformKind {
        self.kind
    }
}

pub struct ReceiveWebhook {
    bindings: Arc<dyn BindingRepository>,
    messages: Arc<dyn MessageRepository>,
    conversations: Arc<dyn ConversationRepository>,
    intake: Intake,
    channels: Channels,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
}

impl ReceiveWebhook {
    pub fn new(
        stores: Stores,
        channels: Channels,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            bindings: stores.bindings,
            messages: stores.messages,
            conversations: stores.conversations,
            intake: stores.intake,
            channels,
            events,
            clock,
        }
    }

    /// Nothing is written unless the request is authentic; once this returns `Ok`, every
    /// message in it is stored with its reply job.
    pub async fn handle(
        &self,
        bot_id: BotId,
        kind: PlatformKind,
        request: &InboundRequest,
    ) -> Result<Receipt, ReceiveError> {
        let admitted = self.admit(bot_id, kind, request).await?;
        self.accept(admitted, request).await
    }

    /// The checks that need no body: the binding exists and the headers carry what the
    /// platform signs with. The HTTP edge reads the body only after this (`request.body` is not
    /// looked at), so that a stranger's request holds no memory.
    #[tracing::instrument(skip_all, fields(bot_id = %bot_id, platform = %kind))]
    pub async fn admit(
        &self,
        bot_id: BotId,
        kind: PlatformKind,
        request: &InboundRequest,
    ) -> Result<Admitted, ReceiveError> {
        let channel = self
            .channels
            .get(kind)
            .cloned()
            .ok_or(ReceiveError::UnknownBinding(kind))?;
        let binding = self
            .bindings
            .get(bot_id, kind)
            .await
            .map_err(ReceiveError::Unavailable)?
            .ok_or(ReceiveError::UnknownBinding(kind))?;
        channel.check_headers(&binding, request)?;
        Ok(Admitted {
            bot_id,
            kind,
            binding,
            channel,
        })
    }

    /// Verifies the admitted request with its body, then stores what it carries.
    #[tracing::instrument(skip_all, fields(bot_id = %admitted.bot_id, platform = %admitted.kind))]
    pub async fn accept(
        &self,
        admitted: Admitted,
        request: &InboundRequest,
    ) -> Result<Receipt, ReceiveError> {
        let Admitted {
            bot_id,
            kind,
            binding,
            channel,
        } = admitted;
        channel.verify(&binding, request)?;
        let inbound = channel.parse(&request.body)?;
        let mut receipt = Receipt {
            answer: inbound.answer,
            ..Receipt::default()
        };
        let recorded = self.record_all(bot_id, kind, inbound.messages).await;
        for recorded in recorded.map_err(ReceiveError::Unavailable)? {
            match recorded {
                Recorded::New { .. } => receipt.recorded += 1,
                Recorded::Duplicate => receipt.duplicates += 1,
            }
        }
        for chat in &inbound.answered_by_a_person {
            self.hand_to_person(bot_id, kind, chat).await?;
        }
        for report in &inbound.reports {
            if let Some(status) = report_label(report.status) {
                metrics::delivery_report(kind, status);
            }
            if self.apply(bot_id, kind, report).await? {
                receipt.reports_applied += 1;
            }
        }
        tracing::debug!(
            recorded = receipt.recorded,
            duplicates = receipt.duplicates,
            reports = receipt.reports_applied,
            "webhook accepted"
        );
        Ok(receipt)
    }

    /// A person answered `chat` from the platform's own app: its active conversation is theirs
    /// (or, when it is theirs already, they were heard from now).
    async fn hand_to_person(
        &self,
        bot_id: BotId,
        kind: PlatformKind,
        chat: &ExternalChatId,
    ) -> Result<(), ReceiveError> {
        let unavailable = ReceiveError::Unavailable;
        let active = self.conversations.find_active(bot_id, kind, chat).await;
        let Some(conversation) = active.map_err(unavailable)? else {
            return Ok(());
        };
        let chat = (bot_id, conversation.id);
        let now = self.clock.now();
        let handed = hand_over(&*self.conversations, &*self.events, chat, None, now).await;
        if handed.map_err(unavailable)? {
            tracing::info!(conversation_id = %conversation.id, "a person answered from the platform's app: the conversation is handed off");
        }
        Ok(())
    }

    /// Stores every message with its reply job in one intake submission, so that they go in
    /// one batch, in order (two of one chat never race in concurrent batches); the intake
    /// writer announces each new one. `Err` when the batch failed and none was stored.
    pub async fn record_all(
        &self,
        bot_id: BotId,
        platform: PlatformKind,
        messages: Vec<InboundMessage>,
    ) -> Result<Vec<Recorded>, RepoError> {
        let received_at = self.clock.now();
        let records = messages
            .into_iter()
            .map(|message| InboundRecord {
                bot_id,
                platform,
                chat: message.chat,
                external_id: message.external_id,
                content: message.content,
                reply_handle: message.reply_handle,
                received_at,
                trace_parent: None,
            })
            .collect();
        self.intake.record_all(records).await
    }

    /// [`ReceiveWebhook::record_all`] for one message.
    pub async fn record(
        &self,
        bot_id: BotId,
        platform: PlatformKind,
        message: InboundMessage,
    ) -> Result<Recorded, RepoError> {
        let mut recorded = self.record_all(bot_id, platform, vec![message]).await?;
        recorded
            .pop()
            .ok_or_else(|| RepoError::Other("the intake answered nothing".into()))
    }

    /// Moves the reported message forward; a report on a message we do not know (sent before
    /// its id was stored, or by someone else) is ignored.
    async fn apply(
        &self,
        bot_id: BotId,
        platform: PlatformKind,
        report: &DeliveryReport,
    ) -> Result<bool, ReceiveError> {
        let moved = self
            .messages
            .apply_report(bot_id, platform, report)
            .await
            .map_err(ReceiveError::Unavailable)?;
        let Some(message) = moved else {
            return Ok(false);
        };
        if report.status == MessageStatus::Failed {
            tracing::warn!(message_id = %message.id, error = ?report.error, "the platform reports a failed delivery");
            self.events.publish(DomainEvent::DeliveryFailed {
                bot_id,
                conversation_id: message.conversation_id,
                message_id: message.id,
            });
        }
        Ok(true)
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
    use crate::fixtures::{clock, intake, per_record, telegram_channel, World};
    use crate::ports::{Inbound, InboundMessage, MockChannel, MockEventPublisher, MockLedger};
    use domain::repositories::{
        MockBindingRepository, MockConversationRepository, MockMessageRepository,
    };
    use domain::{
        ConversationId, ExternalChatId, ExternalMessageId, Message, MessageContent, MessageId,
    };

    fn message(id: &str) -> InboundMessage {
        InboundMessage::new(
            ExternalMessageId::parse(id).unwrap(),
            ExternalChatId::parse("42").unwrap(),
            MessageContent::text("hi"),
        )
    }

    fn report(id: &str, status: MessageStatus) -> DeliveryReport {
        DeliveryReport {
            external_id: ExternalMessageId::parse(id).unwrap(),
            status,
            error: None,
        }
    }

    fn use_case(
        binding: Option<domain::PlatformBinding>,
        verdict: Result<(), VerifyError>,
        ledger: MockLedger,
        events: MockEventPublisher,
    ) -> ReceiveWebhook {
        let inbound = Inbound::from(vec![message("1:1"), message("1:2")]);
        use_case_with(
            binding,
            verdict,
            ledger,
            events,
            inbound,
            MockMessageRepository::new(),
        )
    }

    fn use_case_with(
        binding: Option<domain::PlatformBinding>,
        verdict: Result<(), VerifyError>,
        ledger: MockLedger,
        events: MockEventPublisher,
        inbound: Inbound,
        messages: MockMessageRepository,
    ) -> ReceiveWebhook {
        let mut bindings = MockBindingRepository::new();
        bindings
            .expect_get()
            .returning(move |_, _| Ok(binding.clone()));
        let mut channel = telegram_channel();
        channel.expect_check_headers().returning(|_, _| Ok(()));
        channel
            .expect_verify()
            .returning(move |_, _| verdict.clone());
        channel
            .expect_parse()
            .returning(move |_| Ok(inbound.clone()));
        assemble(bindings, channel, ledger, events, messages)
    }

    /// The use case over these mocks.
    fn assemble(
        bindings: MockBindingRepository,
        channel: MockChannel,
        ledger: MockLedger,
        events: MockEventPublisher,
        messages: MockMessageRepository,
    ) -> ReceiveWebhook {
        let events: Arc<dyn EventPublisher> = Arc::new(events);
        ReceiveWebhook::new(
            Stores {
                bindings: Arc::new(bindings),
                messages: Arc::new(messages),
                conversations: Arc::new(MockConversationRepository::new()),
                intake: intake(ledger, events.clone()),
            },
            Channels::new([Arc::new(channel) as Arc<dyn crate::ports::Channel>]),
            events,
            clock(),
        )
    }

    #[tokio::test]
    async fn a_forged_request_is_refused_before_anything_is_written() {
        let world = World::new();
        let mut ledger = MockLedger::new();
        ledger.expect_record_inbound_batch().never();
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
    async fn headers_the_channel_refuses_end_the_request_before_its_body_is_looked_at() {
        let world = World::new();
        let mut bindings = MockBindingRepository::new();
        let binding = world.binding.clone();
        bindings
            .expect_get()
            .returning(move |_, _| Ok(Some(binding.clone())));
        let mut channel = telegram_channel();
        channel
            .expect_check_headers()
            .returning(|_, _| Err(VerifyError::Missing));
        channel.expect_verify().never();
        channel.expect_parse().never();
        let mut ledger = MockLedger::new();
        ledger.expect_record_inbound_batch().never();
        let use_case = assemble(
            bindings,
            channel,
            ledger,
            MockEventPublisher::new(),
            MockMessageRepository::new(),
        );
        let result = use_case
            .admit(
                world.bot.id,
                PlatformKind::Telegram,
                &InboundRequest::default(),
            )
            .await;
        assert!(matches!(
            result,
            Err(ReceiveError::Unauthorized(VerifyError::Missing))
        ));
    }

    #[tokio::test]
    async fn an_unbound_bot_is_unknown() {
        let mut ledger = MockLedger::new();
        ledger.expect_record_inbound_batch().never();
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
        ledger
            .expect_record_inbound_batch()
            .withf(|records| records.len() == 2 && records[0].external_id.as_str() == "1:1")
            .times(1)
            .returning(per_record(|record| {
                Ok(if record.external_id.as_str() == "1:1" {
                    Recorded::New {
                        conversation_id: ConversationId::new(),
                        message_id: MessageId::new(),
                        started: true,
                    }
                } else {
                    Recorded::Duplicate
                })
            }));
        let mut events = MockEventPublisher::new();
        let mut announced = mockall::Sequence::new();
        for name in ["conversation.started", "message.received"] {
            events
                .expect_publish()
                .withf(move |event| event.public_name() == Some(name))
                .times(1)
                .in_sequence(&mut announced)
                .return_const(());
        }
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
                duplicates: 1,
                ..Receipt::default()
            }
        );
    }

    #[tokio::test]
    async fn reports_move_known_messages_and_a_failure_is_announced() {
        let world = World::new();
        let failed_reply = Message::reply(
            &world.inbound(MessageContent::text("q")),
            "a",
            crate::fixtures::now(),
        );
        let mut messages = MockMessageRepository::new();
        messages
            .expect_apply_report()
            .times(3)
            .returning(move |_, _, report| {
                Ok(match report.external_id.as_str() {
                    "unknown" => None,
                    _ => Some(failed_reply.clone()),
                })
            });
        let mut events = MockEventPublisher::new();
        events
            .expect_publish()
            .times(1)
            .withf(|event| matches!(event, DomainEvent::DeliveryFailed { .. }))
            .return_const(());
        let inbound = Inbound {
            reports: vec![
                report("wamid.1", MessageStatus::Read),
                report("unknown", MessageStatus::Delivered),
                report("wamid.2", MessageStatus::Failed),
            ],
            answer: Some("{}".into()),
            ..Inbound::default()
        };
        let mut ledger = MockLedger::new();
        ledger.expect_record_inbound_batch().never();
        let receipt = use_case_with(
            Some(world.binding.clone()),
            Ok(()),
            ledger,
            events,
            inbound,
            messages,
        )
        .handle(
            world.bot.id,
            PlatformKind::Telegram,
            &InboundRequest::default(),
        )
        .await
        .unwrap();
        assert_eq!(receipt.reports_applied, 2);
        assert_eq!(receipt.recorded, 0);
        assert_eq!(receipt.answer.as_deref(), Some("{}"));
    }

    #[tokio::test]
    async fn a_storage_outage_is_reported_as_unavailable() {
        let world = World::new();
        let mut ledger = MockLedger::new();
        ledger
            .expect_record_inbound_batch()
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
        ledger.expect_record_inbound_batch().never();
        ReceiveWebhook::new(
            Stores {
                bindings: Arc::new(bindings),
                messages: Arc::new(MockMessageRepository::new()),
                conversations: Arc::new(MockConversationRepository::new()),
                intake: intake(ledger, Arc::new(MockEventPublisher::new())),
            },
            Channels::default(),
            Arc::new(MockEventPublisher::new()),
            clock(),
        )
    }

    fn whatsapp_binding(bot_id: BotId) -> domain::PlatformBinding {
        let app_secret = "ab".repeat(16);
        let credentials =
            domain::WhatsappCredentials::parse("1098765432", "token", &app_secret, "verify-me")
                .unwrap();
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
