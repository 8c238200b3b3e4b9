//! Bots can be paused; replies record the model's token usage; summaries read messages by bot and time.

const UP: [&str; 4] = [
    "ALTER TABLE bots ADD COLUMN paused_at BIGINT NULL",
    "ALTER TABLE messages ADD COLUMN prompt_tokens INTEGER NULL",
    "ALTER TABLE messages ADD COLUMN completion_tokens INTEGER NULL",
    "CREATE INDEX messages_bot_created ON messages (bot_id, created_at)",
];

const DOWN: [&str; 4] = [
    "DROP INDEX messages_bot_created",
    "ALTER TABLE messages DROP COLUMN completion_tokens",
    "ALTER TABLE messages DROP COLUMN prompt_tokens",
    "ALTER TABLE bots DROP COLUMN paused_at",
];

sql_migration! {
    up: UP,
    down: DOWN,
}
