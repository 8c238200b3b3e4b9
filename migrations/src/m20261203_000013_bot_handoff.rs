//! Bots say how they hand a chat to a person: the keywords that ask for one (a JSON array of
//! strings), what the user is told (`NULL`: the built-in text), and after how many minutes
//! without an operator's message a handed-off chat returns to the bot.

sql_migration! {
    up: [
        "ALTER TABLE bots ADD COLUMN handoff_keywords TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE bots ADD COLUMN handoff_message TEXT NULL",
        "ALTER TABLE bots ADD COLUMN handoff_idle_minutes BIGINT NOT NULL DEFAULT 60",
    ],
    down: [
        "ALTER TABLE bots DROP COLUMN handoff_idle_minutes",
        "ALTER TABLE bots DROP COLUMN handoff_message",
        "ALTER TABLE bots DROP COLUMN handoff_keywords",
    ],
}
