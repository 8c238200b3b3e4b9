//! Telegram polling offsets: where each polling bot's next `getUpdates` starts, per Telegram bot account.

/// `account` is the Telegram bot's id (the token's public part): update ids count per Telegram
/// bot, so an offset is only valid for the account it was committed for.
const OFFSETS: &str = "CREATE TABLE telegram_poll_offsets (
    bot_id TEXT PRIMARY KEY REFERENCES bots (id) ON DELETE CASCADE,
    account TEXT NOT NULL,
    next_offset BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)";

sql_migration! {
    up: [OFFSETS],
    down: ["DROP TABLE telegram_poll_offsets"],
}
