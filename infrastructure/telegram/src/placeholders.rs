//! Where Telegram shows no drafts (a group, a Bot API server before 9.5), a streamed reply grows in one message sent and then edited; this remembers that message, so the finished reply's first part is written into it and the chat ends with one answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use teloxide_core::types::MessageId;

/// A placeholder whose reply has not come within this long is forgotten: its reply, should it
/// still come, goes as a message of its own.
const KEPT_FOR: Duration = Duration::from_secs(15 * 60);

/// The placeholder messages of replies being written, by (chat, draft id). Kept in the process:
/// a reply delivered by another replica, or after a restart, goes as a new message and the
/// placeholder keeps the text it had.
#[derive(Debug, Clone, Default)]
pub(crate) struct Placeholders(Arc<Mutex<Kept>>);

/// Each placeholder's message and since when it is kept, by (chat, draft id).
type Kept = HashMap<(i64, i64), (MessageId, Instant)>;

impl Placeholders {
    pub(crate) fn get(&self, chat: i64, draft: i64) -> Option<MessageId> {
        self.lock().get(&(chat, draft)).map(|(id, _)| *id)
    }

    /// Remembers `id` as the placeholder of `draft` in `chat`, forgetting stale ones.
    pub(crate) fn keep(&self, chat: i64, draft: i64, id: MessageId) {
        let now = Instant::now();
        let mut kept = self.lock();
        kept.retain(|_, (_, since)| now.duration_since(*since) < KEPT_FOR);
        kept.insert((chat, draft), (id, now));
    }

    pub(crate) fn forget(&self, chat: i64, draft: i64) {
        self.lock().remove(&(chat, draft));
    }

    fn lock(&self) -> MutexGuard<'_, Kept> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placeholder_is_kept_per_chat_and_draft_until_forgotten() {
        let placeholders = Placeholders::default();
        placeholders.keep(-100, 7, MessageId(31));
        assert_eq!(placeholders.get(-100, 7), Some(MessageId(31)));
        assert_eq!(placeholders.get(-100, 8), None);
        assert_eq!(placeholders.get(42, 7), None);
        placeholders.clone().forget(-100, 7);
        assert_eq!(placeholders.get(-100, 7), None, "clones share the map");
    }
}
