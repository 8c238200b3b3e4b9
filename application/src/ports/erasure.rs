//! The erasure port: everything stored of one end user's chat with a bot removed in one transaction (GDPR Art. 17).

use async_trait::async_trait;
use domain::{BotId, ExternalChatId, PlatformKind, RepoError};

/// What an erasure removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    pub conversations: u64,
    pub messages: u64,
    /// Pictures the user sent (uploaded, or fetched from the platform and kept).
    pub attachments: u64,
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Erasure: Send + Sync {
    /// In one transaction: every conversation of `bot_id` with `chat` on `platform`, their
    /// messages, their queued jobs, their journaled events, their places in broadcasts and the
    /// pictures the chat uploaded.
    async fn erase_chat(
        &self,
        bot_id: BotId,
        platform: PlatformKind,
        chat: &ExternalChatId,
    ) -> Result<Erased, RepoError>;
}
