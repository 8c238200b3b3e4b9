//! The web chat's channel: replies are stored before delivery and pushed to the visitor's socket
//! from the events, so there is nothing to send and a delivery simply succeeds.

use application::format::RichText;
use application::ports::{
    Channel, Inbound, InboundRequest, ParseError, Recipient, SendError, Uploads, VerifyError,
};
use async_trait::async_trait;
use domain::{ExternalChatId, ExternalMessageId, PlatformBinding, PlatformKind};
use std::sync::Arc;

/// Long enough that a reply is never split: the page shows it whole.
const MAX_TEXT_LEN: usize = 1 << 20;

/// Sends nothing; reads the pictures visitors uploaded from `uploads`.
#[derive(Clone)]
pub struct WebChatChannel {
    uploads: Arc<dyn Uploads>,
}

impl WebChatChannel {
    pub fn new(uploads: Arc<dyn Uploads>) -> Self {
        Self { uploads }
    }
}

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

    /// A visitor's picture, by the upload id its message names (checked when it was taken).
    async fn fetch_media(
        &self,
        binding: &PlatformBinding,
        media: &str,
        max_bytes: usize,
    ) -> Result<Vec<u8>, SendError> {
        let image = self.uploads.image(binding.bot_id, media).await;
        let image = image.map_err(|e| SendError::Transient(e.to_string()))?;
        let image = image.ok_or_else(|| SendError::Permanent("no such upload".to_owned()))?;
        match image.bytes.len() <= max_bytes {
            true => Ok(image.bytes),
            false => Err(SendError::Permanent(format!(
                "the upload is larger than {max_bytes} bytes"
            ))),
        }
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
    use application::ports::{Image, Upload};
    use domain::{BotId, Credentials, RepoError, WebChatCredentials};

    /// One stored picture, `u1`, of any bot.
    struct OneUpload;

    #[async_trait]
    impl Uploads for OneUpload {
        async fn put(&self, _: &Upload) -> Result<(), RepoError> {
            Ok(())
        }

        async fn kept(
            &self,
            _: BotId,
            _: &[String],
        ) -> Result<std::collections::HashMap<String, String>, RepoError> {
            unreachable!("the channel only reads pictures")
        }

        async fn image(&self, _: BotId, id: &str) -> Result<Option<Image>, RepoError> {
            let bytes = b"GIF89a....".to_vec();
            Ok((id == "u1").then_some(Image {
                media_type: "image/gif",
                bytes,
            }))
        }
    }

    #[actix_web::test]
    async fn deliveries_succeed_unsplit_webhooks_are_refused_and_uploads_are_read() {
        let channel = WebChatChannel::new(Arc::new(OneUpload));
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
        let read = channel.fetch_media(&binding, "u1", 100).await;
        assert_eq!(read.as_deref(), Ok(b"GIF89a....".as_slice()));
        let missing = channel.fetch_media(&binding, "u2", 100).await;
        assert!(matches!(missing, Err(SendError::Permanent(_))));
        let too_large = channel.fetch_media(&binding, "u1", 5).await;
        assert!(matches!(too_large, Err(SendError::Permanent(_))));
    }
}
