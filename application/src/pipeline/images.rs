//! Photos users send, for a bot whose model sees them: fetched from the platform (at most [`MAX_IMAGE_BYTES`]), shown to the model only when their bytes are an image of a type models read, and kept once fetched.

use crate::jobs::Target;
use crate::ports::{Image, Upload, Uploads};
use chrono::{DateTime, Utc};
use domain::{Message, MessageContent, PlatformKind};

/// The largest photo fetched for a model.
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;

/// The answer to a photo that could not be fetched or is not an image models read.
pub const UNREADABLE_IMAGE_REPLY: &str = "Sorry, I could not open that photo.";

/// The image type of `bytes`, told by their first bytes (never by a name or a header).
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Some("image/jpeg"),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some("image/png"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        _ => None,
    }
}

/// `bytes` as an image for the model, if they are one.
pub fn checked(bytes: Vec<u8>) -> Option<Image> {
    let media_type = image_type(&bytes)?;
    Some(Image { media_type, bytes })
}

/// Where the picture of a photo `message` is kept: a web chat visitor's upload under its own id
/// (the message's `media`), a platform's photo, once fetched, under the message's id.
pub fn upload_id(message: &Message) -> Option<String> {
    match &message.content {
        MessageContent::Image { media, .. } if message.platform == PlatformKind::WebChat => {
            Some(media.clone())
        }
        MessageContent::Image { .. } => Some(message.id.to_string()),
        _ => None,
    }
}

/// The photo `media` of `target`'s message: the one kept already (a web chat visitor's picture
/// is kept from the moment it is sent), or fetched through the message's channel and checked,
/// then kept. Why not, as a sentence for the log.
pub async fn photo(
    target: &Target,
    media: &str,
    uploads: Option<&dyn Uploads>,
    now: DateTime<Utc>,
) -> Result<Image, String> {
    let message = &target.message;
    let id = upload_id(message).unwrap_or_else(|| message.id.to_string());
    if let Some(uploads) = uploads {
        if let Ok(Some(image)) = uploads.image(message.bot_id, &id).await {
            return Ok(image);
        }
    }
    let fetched = (target.channel)
        .fetch_media(&target.binding, media, MAX_IMAGE_BYTES)
        .await;
    let bytes = fetched.map_err(|e| format!("the photo could not be fetched: {e}"))?;
    let image = checked(bytes).ok_or("the photo is not an image a model reads")?;
    if let Some(uploads) = uploads {
        let upload = Upload {
            id,
            bot_id: message.bot_id,
            platform: message.platform,
            chat: target.chat.clone(),
            image: image.clone(),
            created_at: now,
        };
        if let Err(error) = uploads.put(&upload).await {
            tracing::warn!(%error, "the photo was not kept; it is fetched again when needed");
        }
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_is_known_by_its_bytes() {
        let cases: [(&[u8], Option<&str>); 7] = [
            (b"\xFF\xD8\xFF\xE0rest", Some("image/jpeg")),
            (b"\x89PNG\r\n\x1a\nrest", Some("image/png")),
            (b"GIF89a..", Some("image/gif")),
            (b"RIFF\x10\0\0\0WEBPVP8 ", Some("image/webp")),
            (b"%PDF-1.7", None),
            (b"<svg xmlns=", None),
            (b"", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(image_type(bytes), expected, "{bytes:?}");
        }
        assert_eq!(
            checked(b"GIF87a".to_vec()).map(|i| i.media_type),
            Some("image/gif")
        );
        assert_eq!(checked(b"hello".to_vec()), None);
    }

    use crate::fixtures::{now, telegram_channel, World};
    use crate::ports::{MockUploads, SendError};
    use domain::MessageContent;
    use std::sync::Arc;

    const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0jpeg";

    /// A Telegram photo's target, whose channel serves `served` for file `f`.
    fn target(served: Result<&'static [u8], SendError>) -> Target {
        let world = World::new();
        let mut target = world.target(world.inbound(MessageContent::image("f", None)));
        let mut channel = telegram_channel();
        channel
            .expect_fetch_media()
            .withf(|_, media, max| media == "f" && *max == MAX_IMAGE_BYTES)
            .returning(move |_, _, _| served.clone().map(<[u8]>::to_vec));
        target.channel = Arc::new(channel);
        target
    }

    #[tokio::test]
    async fn a_platforms_photo_is_fetched_once_and_kept_under_its_message() {
        let fetching = target(Ok(JPEG));
        let message_id = fetching.message.id.to_string();
        let mut uploads = MockUploads::new();
        uploads.expect_image().returning(|_, _| Ok(None));
        let id = message_id.clone();
        uploads
            .expect_put()
            .withf(move |u| {
                u.id == id && u.image.bytes == JPEG && u.platform == PlatformKind::Telegram
            })
            .times(1)
            .returning(|_| Ok(()));
        let image = photo(&fetching, "f", Some(&uploads), now()).await.unwrap();
        assert_eq!(image.media_type, "image/jpeg");

        let mut kept = MockUploads::new();
        let stored = image.clone();
        kept.expect_image()
            .withf(move |_, id| id == message_id)
            .returning(move |_, _| Ok(Some(stored.clone())));
        let world = World::new();
        let mut again = world.target(world.inbound(MessageContent::image("f", None)));
        again.message.id = fetching.message.id;
        let mut no_fetch = telegram_channel();
        no_fetch.expect_fetch_media().never();
        again.channel = Arc::new(no_fetch);
        assert_eq!(photo(&again, "f", Some(&kept), now()).await, Ok(image));
    }

    #[tokio::test]
    async fn a_photo_that_cannot_be_fetched_or_is_no_image_is_not_kept() {
        let mut uploads = MockUploads::new();
        uploads.expect_image().returning(|_, _| Ok(None));
        uploads.expect_put().never();
        let down = target(Err(SendError::Transient("HTTP 502".into())));
        let why = photo(&down, "f", Some(&uploads), now()).await.unwrap_err();
        assert!(why.contains("could not be fetched"), "{why}");
        let pdf = target(Ok(b"%PDF-1.7"));
        let why = photo(&pdf, "f", Some(&uploads), now()).await.unwrap_err();
        assert!(why.contains("not an image"), "{why}");
    }
}
