//! Use case: links to the pictures users sent, for the messages API — signed (HMAC-SHA256 over the bot, the picture and the expiry) and expiring, so that `GET /attachments/{id}` opens one without an API key while its link holds.

use crate::images::upload_id;
use crate::ports::{Clock, Image, Uploads};
use crate::secrets::SigningKey;
use chrono::{DateTime, Duration, Utc};
use domain::{BotId, Message, MessageId, RepoError};
use hmac::Mac;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// How long a link opens its picture.
pub const LINK_TTL: Duration = Duration::hours(1);
/// Separates the link key from the secret it is derived from.
const KEY_LABEL: &[u8] = b"switchboard/attachments/link/v1";

/// A kept picture of a message, with the link that opens it until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: String,
    pub bot_id: BotId,
    pub media_type: String,
    pub expires_at: DateTime<Utc>,
    pub signature: String,
}

/// Why a link opens nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefused {
    #[error("the link is not valid or has expired")]
    Invalid,
    #[error("no such attachment")]
    Missing,
}

/// Signs the links to kept pictures and opens the pictures their links name.
pub struct Attachments {
    uploads: Arc<dyn Uploads>,
    clock: Arc<dyn Clock>,
    key: SigningKey,
}

impl Attachments {
    pub fn new(uploads: Arc<dyn Uploads>, clock: Arc<dyn Clock>, secret: Option<&[u8]>) -> Self {
        let key = match secret {
            Some(secret) => SigningKey::derived(secret, KEY_LABEL),
            None => SigningKey::random(),
        };
        Self {
            uploads,
            clock,
            key,
        }
    }

    /// The kept pictures of `messages` (their photos, once kept), by message, with fresh links:
    /// one read per bot among them (a conversation's messages are one bot's).
    pub async fn of(
        &self,
        messages: &[Message],
    ) -> Result<HashMap<MessageId, Attachment>, RepoError> {
        let mut photos: BTreeMap<BotId, Vec<(MessageId, String)>> = BTreeMap::new();
        for message in messages {
            if let Some(id) = upload_id(message) {
                photos
                    .entry(message.bot_id)
                    .or_default()
                    .push((message.id, id));
            }
        }
        let expires_at = self.clock.now() + LINK_TTL;
        let mut found = HashMap::new();
        for (bot_id, photos) in photos {
            let ids: Vec<String> = photos.iter().map(|(_, id)| id.clone()).collect();
            let mut kept = self.uploads.kept(bot_id, &ids).await?;
            for (message_id, id) in photos {
                let Some(media_type) = kept.remove(&id) else {
                    continue;
                };
                let signature = self.signature(bot_id, &id, expires_at.timestamp());
                let attachment = Attachment {
                    id,
                    bot_id,
                    media_type,
                    expires_at,
                    signature,
                };
                found.insert(message_id, attachment);
            }
        }
        Ok(found)
    }

    /// The picture `id` of `bot`, when the link (`expires`, in Unix seconds, and `signature`)
    /// is this server's and has not expired.
    pub async fn open(
        &self,
        bot: BotId,
        id: &str,
        expires: i64,
        signature: &str,
    ) -> Result<Image, LinkRefused> {
        let signed = hex::decode(signature).map_err(|_| LinkRefused::Invalid)?;
        let mac = self.mac(bot, id, expires);
        mac.verify_slice(&signed)
            .map_err(|_| LinkRefused::Invalid)?;
        if self.clock.now().timestamp() >= expires {
            return Err(LinkRefused::Invalid);
        }
        let image = self.uploads.image(bot, id).await;
        image.ok().flatten().ok_or(LinkRefused::Missing)
    }

    fn signature(&self, bot: BotId, id: &str, expires: i64) -> String {
        hex::encode(self.mac(bot, id, expires).finalize().into_bytes())
    }

    fn mac(&self, bot: BotId, id: &str, expires: i64) -> hmac::Hmac<sha2::Sha256> {
        let mut mac = self.key.mac();
        mac.update(format!("{bot}/{id}/{expires}").as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{clock, World};
    use crate::ports::MockUploads;
    use domain::MessageContent;

    const GIF: &[u8] = b"GIF89a";

    /// Pictures kept for every id but `gone`'s, read for the listing `reads` times.
    fn uploads(reads: usize) -> MockUploads {
        let mut uploads = MockUploads::new();
        uploads.expect_kept().times(reads).returning(|_, ids| {
            let kept = ids.iter().filter(|id| *id != "gone");
            Ok(kept
                .map(|id| (id.clone(), "image/gif".to_owned()))
                .collect())
        });
        uploads.expect_image().returning(|_, _| {
            Ok(Some(Image {
                media_type: "image/gif",
                bytes: GIF.to_vec(),
            }))
        });
        uploads
    }

    #[tokio::test]
    async fn a_photos_link_opens_its_picture_until_it_expires_and_only_as_signed() {
        let world = World::new();
        let photo = world.inbound(MessageContent::image("f", None));
        let other = world.inbound(MessageContent::image("g", None));
        let text = world.inbound(MessageContent::text("hi"));
        let links = Attachments::new(Arc::new(uploads(1)), clock(), Some(b"secret"));

        let listed = [photo.clone(), text.clone(), other.clone()];
        let found = links.of(&listed).await.unwrap();
        assert_eq!(found.len(), 2, "the photos have pictures, read in one go");
        assert!(found.contains_key(&other.id));
        let link = &found[&photo.id];
        assert_eq!(
            (link.id.as_str(), link.media_type.as_str()),
            (photo.id.to_string().as_str(), "image/gif")
        );
        let expires = link.expires_at.timestamp();
        let bot = world.bot.id;
        let opened = links.open(bot, &link.id, expires, &link.signature).await;
        assert_eq!(opened.map(|i| i.bytes), Ok(GIF.to_vec()));

        let refused = [
            links
                .open(bot, &link.id, expires + 1, &link.signature)
                .await,
            links
                .open(BotId::new(), &link.id, expires, &link.signature)
                .await,
            links.open(bot, "other", expires, &link.signature).await,
            links.open(bot, &link.id, expires, "00").await,
        ];
        assert!(
            refused.iter().all(|r| *r == Err(LinkRefused::Invalid)),
            "{refused:?}"
        );
        let elsewhere = Attachments::new(Arc::new(uploads(0)), clock(), Some(b"other key"));
        let foreign = elsewhere
            .open(bot, &link.id, expires, &link.signature)
            .await;
        assert_eq!(foreign, Err(LinkRefused::Invalid), "another key's link");
        let past = clock().now().timestamp();
        let stale = links.signature(bot, &link.id, past);
        let expired = links.open(bot, &link.id, past, &stale).await;
        assert_eq!(expired, Err(LinkRefused::Invalid), "expired");
    }
}
