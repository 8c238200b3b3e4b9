//! The uploads port: pictures users send — a web chat visitor's, under its own id (which the message's content names), a platform's photo once fetched, under its message's id — kept until their chat is erased.

use crate::ports::Image;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{BotId, ExternalChatId, PlatformKind, RepoError};
use std::collections::HashMap;

/// A picture a user sent, checked to be an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: String,
    pub bot_id: BotId,
    pub platform: PlatformKind,
    pub chat: ExternalChatId,
    pub image: Image,
    pub created_at: DateTime<Utc>,
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Uploads: Send + Sync {
    async fn put(&self, upload: &Upload) -> Result<(), RepoError>;

    /// The picture stored as `id` for `bot_id`, if any.
    async fn image(&self, bot_id: BotId, id: &str) -> Result<Option<Image>, RepoError>;

    /// The types of those of `ids` kept for `bot_id`, by id (their bytes unread).
    async fn kept(
        &self,
        bot_id: BotId,
        ids: &[String],
    ) -> Result<HashMap<String, String>, RepoError>;
}
