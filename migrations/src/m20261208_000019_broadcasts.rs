//! Broadcasts: one message an operator sends to many chats, and the message each recipient got.
//!
//! `broadcasts` holds what was sent (`content`, JSON as in `messages`), to how many chats, and
//! when it was cancelled. `broadcast_messages` ties each recipient's message (stored and
//! delivered as any message the bot starts) to its broadcast; a broadcast's progress is its
//! messages counted by status.

const BROADCASTS: &str = "CREATE TABLE broadcasts (
    id TEXT PRIMARY KEY,
    bot_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    content TEXT NOT NULL,
    total INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    cancelled_at BIGINT NULL
)";

const BROADCAST_MESSAGES: &str = "CREATE TABLE broadcast_messages (
    broadcast_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (broadcast_id, message_id)
)";

sql_migration! {
    up: [BROADCASTS, BROADCAST_MESSAGES],
    down: ["DROP TABLE broadcast_messages", "DROP TABLE broadcasts"],
}
