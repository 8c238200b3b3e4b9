//! A broadcast: one message an operator sends to many chats of one platform, and how far its sending has come.

use crate::{BotId, BroadcastId, MessageContent, PlatformKind};
use chrono::{DateTime, Utc};

/// One message sent to many chats of a bot's platform: each recipient gets its own stored
/// message, delivered on the durable path; the broadcast ties them together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broadcast {
    pub id: BroadcastId,
    pub bot_id: BotId,
    pub platform: PlatformKind,
    pub content: MessageContent,
    /// How many chats it goes to.
    pub total: u32,
    pub created_at: DateTime<Utc>,
    /// When an operator stopped what had not gone out yet.
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// Where a broadcast's messages are: each recipient's message counted once, by its state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BroadcastProgress {
    /// Waiting for their turn, or going out now.
    pub queued: u32,
    pub sent: u32,
    /// Refused by the platform or given up on.
    pub failed: u32,
    /// Stopped by a cancellation before they went out.
    pub cancelled: u32,
}

/// A broadcast's state, read off its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastState {
    Sending,
    Completed,
    Cancelled,
}

impl BroadcastState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }
}

impl Broadcast {
    /// Why a message of a broadcast did not go out: it was cancelled first.
    pub const CANCELLED: &'static str = "broadcast cancelled";

    /// `Cancelled` once an operator cancelled it, else `Sending` while any message is queued,
    /// then `Completed`.
    pub fn state(&self, progress: &BroadcastProgress) -> BroadcastState {
        match (self.cancelled_at, progress.queued) {
            (Some(_), _) => BroadcastState::Cancelled,
            (None, 0) => BroadcastState::Completed,
            (None, _) => BroadcastState::Sending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broadcast(cancelled: bool) -> Broadcast {
        let now = Utc::now();
        Broadcast {
            id: BroadcastId::new(),
            bot_id: BotId::new(),
            platform: PlatformKind::Telegram,
            content: MessageContent::Text { text: "hi".into() },
            total: 3,
            created_at: now,
            cancelled_at: cancelled.then_some(now),
        }
    }

    #[test]
    fn its_state_follows_the_queue_until_it_is_cancelled() {
        let queued = BroadcastProgress {
            queued: 1,
            sent: 2,
            ..Default::default()
        };
        let done = BroadcastProgress {
            sent: 2,
            failed: 1,
            ..Default::default()
        };
        assert_eq!(broadcast(false).state(&queued), BroadcastState::Sending);
        assert_eq!(broadcast(false).state(&done), BroadcastState::Completed);
        assert_eq!(broadcast(true).state(&done), BroadcastState::Cancelled);
    }
}
