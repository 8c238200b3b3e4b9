//! A message's kept picture as the messages API shows it, with a signed link that opens it until it expires.

use application::attachments::Attachment;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentBody {
    pub id: String,
    /// `image/jpeg`, `image/png`, `image/gif` or `image/webp`.
    pub media_type: String,
    /// Opens the picture without an API key until `expires_at` (relative to the server:
    /// `/attachments/{id}?bot_id=…&expires=…&signature=…`).
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

impl From<Attachment> for AttachmentBody {
    fn from(attachment: Attachment) -> Self {
        let url = format!(
            "/attachments/{}?bot_id={}&expires={}&signature={}",
            attachment.id,
            attachment.bot_id,
            attachment.expires_at.timestamp(),
            attachment.signature
        );
        Self {
            id: attachment.id,
            media_type: attachment.media_type,
            url,
            expires_at: attachment.expires_at,
        }
    }
}
