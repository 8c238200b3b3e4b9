//! Conversations can be handed to a person: `mode` (`bot` or `human`), since when, to whom, and
//! when the person was last heard from (a handoff, an operator's message, an answer from the
//! platform's own app).
//!
//! Every existing conversation stays with the bot. The partial index serves the operators'
//! inbox, the handed-off conversations that have waited longest first.

sql_migration! {
    up: [
        "ALTER TABLE conversations ADD COLUMN mode TEXT NOT NULL DEFAULT 'bot' \
         CHECK (mode IN ('bot', 'human'))",
        "ALTER TABLE conversations ADD COLUMN handed_off_at BIGINT NULL",
        "ALTER TABLE conversations ADD COLUMN assigned_to TEXT NULL",
        "ALTER TABLE conversations ADD COLUMN operator_active_at BIGINT NULL",
        "CREATE INDEX conversations_handed_off ON conversations (handed_off_at, id) \
         WHERE mode = 'human'",
    ],
    down: [
        "DROP INDEX conversations_handed_off",
        "ALTER TABLE conversations DROP COLUMN operator_active_at",
        "ALTER TABLE conversations DROP COLUMN assigned_to",
        "ALTER TABLE conversations DROP COLUMN handed_off_at",
        "ALTER TABLE conversations DROP COLUMN mode",
    ],
}
