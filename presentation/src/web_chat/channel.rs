//! The web chat's channel: replies are stored before delivery and pushed to the visitor's socket
//! from the events, so there is nothing to send and a delivery simply succeeds.

use application::format::RichText;
use application::ports::{
    Channel, Inbound, InboundRequest, ParseError, Recipient, SendError, VerifyError,
};
use async_trait::async_trait;
use domain::{ExternalChatId, ExternalMessageId, PlatformBinding, PlatformKind};

/// Long enough that a reply is never split: the page shows it whole.
const MAX_TEXT_LEN: usize = 1 << 20;

#[derive(Debug, Clone, Copy, Default)]
pub struct WebChatChannel;

#[async_trait]
impl Channel for WebChatChannel {
    fn kind(&self) -> PlatformKind {
        PlatformKind::WebChat
    }

    /// The web chat takes no webhooks (its messages come over the socket): every one is refused.
    fn verify(&self, _: &PlatformBinding, _: &InboundRequest) -> Result<(), VerifyError> {
        Err(VerifyError::Missing)
    }

    fn parse(&self, _: &[u8]) -> Result<Inbound, ParseError> {
        Ok(Inbound::default())
    }

    fn max_text_len(&self) -> usize {
        MAX_TEXT_LEN
    }

    /// The reply is already stored; the socket session pushes it on `MessageDelivered`.
    async fn send_text(
        &self,
        _: &PlatformBinding,
        _: &Recipient,
        _: &RichText,
    ) -> Result<Option<ExternalMessageId>, SendError> {
        Ok(None)
    }

    /// The page learns of typing from `ReplyStarted` instead.
    async fn typing(&self, _: &PlatformBinding, _: &ExternalChatId) -> Result<(), SendError> {
        Ok(())
    }

    async fn register_webhook(&self, _: &PlatformBinding, _: &str) -> Result<bool, SendError> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{BotId, Credentials, WebChatCredentials};

    #[actix_web::test]
    async fn deliveries_succeed_unsplit_and_webhooks_are_refused() {
        let channel = WebChatChannel;
        let binding = PlatformBinding::new(
            BotId::new(),
            Credentials::WebChat(WebChatCredentials::default()),
            chrono::Utc::now(),
        );
        let to = Recipient {
            chat: ExternalChatId::parse("v").unwrap(),
            reply_handle: None,
            part: 0,
            draft: None,
        };
        assert_eq!(
            channel
                .send_text(&binding, &to, &RichText::plain("hi"))
                .await,
            Ok(None)
        );
        assert!(channel.max_text_len() >= 100_000);
        assert_eq!(
            channel.verify(&binding, &InboundRequest::default()),
            Err(VerifyError::Missing)
        );
        assert_eq!(channel.register_webhook(&binding, "u").await, Ok(false));
    }
}
