//! The polling ports: fetch a bot's pending updates from the platform, and keep where the last fetch ended.

use crate::ports::InboundMessage;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{BotId, PlatformBinding, RepoError};
use std::time::Duration;
use thiserror::Error;

/// What one `getUpdates` answered: the users' messages in it, in order, and the offset that
/// confirms the whole batch to the platform.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateBatch {
    pub messages: Vec<InboundMessage>,
    /// The last update's id plus one; `None` when the batch was empty.
    pub next_offset: Option<i64>,
}

/// Why a fetch failed, classified for the poller's back-off.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PollError {
    /// The platform will not be polled as things stand (a webhook is still set: 409; the token
    /// is refused: 401); an operator has to act.
    #[error("the platform refuses polling: {0}")]
    Refused(String),
    /// The platform asked us to wait.
    #[error("rate limited; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// Network errors, 5xx, unreadable answers: worth trying again soon.
    #[error("transient failure: {0}")]
    Transient(String),
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait UpdateSource: Send + Sync {
    /// Long-polls the binding's updates from `offset` on (all pending ones when `None`),
    /// waiting up to `timeout` for the first one.
    async fn fetch(
        &self,
        binding: &PlatformBinding,
        offset: Option<i64>,
        timeout: Duration,
    ) -> Result<UpdateBatch, PollError>;
}

/// The Telegram bindings to poll and their durable offsets.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait PollOffsets: Send + Sync {
    /// Every binding in polling mode.
    async fn polling_bindings(&self) -> Result<Vec<PlatformBinding>, RepoError>;

    /// The offset committed for the bot while it was the platform account `account`; `None`
    /// when none was, or it was for another account (another token).
    async fn offset(&self, bot_id: BotId, account: &str) -> Result<Option<i64>, RepoError>;

    /// Records `offset` for the bot's `account`; never moves an account's offset back.
    async fn commit_offset(
        &self,
        bot_id: BotId,
        account: &str,
        offset: i64,
        at: DateTime<Utc>,
    ) -> Result<(), RepoError>;
}
