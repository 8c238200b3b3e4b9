//! Test doubles of the ports that are not stores: a Telegram-like channel, no events, a clock
//! and a timer, and fixed health checks.

use application::format::RichText;
use application::ports::{
    Channel, Clock, EventPublisher, EventSubscriber, Followed, HealthCheck, Inbound,
    InboundMessage, InboundRequest, ParseError, Recipient, SendError, Timer, VerifyError,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    Credentials, DomainEvent, ExternalChatId, ExternalMessageId, MessageContent, PlatformBinding,
    PlatformKind,
};
use futures::stream::BoxStream;
use serde_json::Value;

/// A Telegram-like channel: the secret header must match; `{"message": {...}}` holds one message.
#[derive(Default)]
pub struct FakeTelegram {
    pub refuse_webhook: bool,
}

#[async_trait]
impl Channel for FakeTelegram {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Telegram
    }
    fn verify(
        &self,
        binding: &PlatformBinding,
        request: &InboundRequest,
    ) -> Result<(), VerifyError> {
        self.check_headers(binding, request)
    }
    /// As the real channel: the secret is a header, checked before the body is read.
    fn check_headers(
        &self,
        binding: &PlatformBinding,
        request: &InboundRequest,
    ) -> Result<(), VerifyError> {
        let Credentials::Telegram(creds) = &binding.credentials else {
            return Err(VerifyError::Mismatch);
        };
        match request.header("x-telegram-bot-api-secret-token") {
            None => Err(VerifyError::Missing),
            Some(s) if s == creds.secret_token.expose() => Ok(()),
            Some(_) => Err(VerifyError::Mismatch),
        }
    }
    fn parse(&self, body: &[u8]) -> Result<Inbound, ParseError> {
        let update: Value = serde_json::from_slice(body).map_err(|e| ParseError(e.to_string()))?;
        let Some(message) = update.get("message") else {
            return Ok(Inbound::default());
        };
        let field = |name: &str| message[name].to_string();
        Ok(Inbound::from(vec![InboundMessage::new(
            ExternalMessageId::parse(field("message_id")).unwrap(),
            ExternalChatId::parse(field("chat_id")).unwrap(),
            MessageContent::text(message["text"].as_str().unwrap_or_default()),
        )]))
    }
    fn max_text_len(&self) -> usize {
        4096
    }
    async fn send_text(
        &self,
        _binding: &PlatformBinding,
        _to: &Recipient,
        _part: &RichText,
    ) -> Result<Option<ExternalMessageId>, SendError> {
        Ok(None)
    }
    async fn typing(
        &self,
        _binding: &PlatformBinding,
        _chat: &ExternalChatId,
    ) -> Result<(), SendError> {
        Ok(())
    }
    async fn register_webhook(
        &self,
        _binding: &PlatformBinding,
        _webhook_url: &str,
    ) -> Result<bool, SendError> {
        self.refusal()?;
        Ok(true)
    }
    async fn unregister_webhook(&self, _binding: &PlatformBinding) -> Result<(), SendError> {
        self.refusal()
    }
}

impl FakeTelegram {
    /// Telegram's answer to a webhook call: a refused token when so configured.
    fn refusal(&self) -> Result<(), SendError> {
        if self.refuse_webhook {
            return Err(SendError::Permanent(
                "Unauthorized: token 123 is wrong".into(),
            ));
        }
        Ok(())
    }
}

pub struct NoEvents;

impl EventPublisher for NoEvents {
    fn publish(&self, _event: DomainEvent) {}
}

impl EventSubscriber for NoEvents {
    fn follow(&self) -> BoxStream<'static, Followed> {
        Box::pin(futures::stream::pending())
    }

    fn subscribe(&self) -> BoxStream<'static, DomainEvent> {
        Box::pin(futures::stream::pending())
    }
}

/// The wall clock to the millisecond, as the store keeps time: what a use case answers from its
/// own clock then equals what is read back.
pub struct StoredClock;

impl Clock for StoredClock {
    fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
    }
}

/// The timer port on tokio's clock.
pub struct TokioTimer;

#[async_trait]
impl Timer for TokioTimer {
    async fn sleep(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A health check with a fixed answer.
pub struct FixedCheck {
    pub name: &'static str,
    pub healthy: bool,
}

#[async_trait]
impl HealthCheck for FixedCheck {
    fn name(&self) -> &'static str {
        self.name
    }
    async fn check(&self) -> Result<(), String> {
        if self.healthy {
            Ok(())
        } else {
            Err("connection refused to 10.0.0.7:5432".into())
        }
    }
}
