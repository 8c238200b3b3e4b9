//! A bot's guardrails, the index a per-user budget reads through, and moderation's flags.
//!
//! `bots.guardrails` is a JSON object (`{"budget": {"bot", "per_user", "per_conversation"},
//! "budget_message", "moderation", "blocked_terms", "moderation_message"}`, every part
//! optional; `{}` limits nothing). `conversations_chat` finds a chat's conversations with a
//! bot, ended ones too, for what its end user spent. `messages.flagged` is a JSON array of the
//! moderation categories that flagged a message, or `NULL`.

sql_migration! {
    up: [
        "ALTER TABLE bots ADD COLUMN guardrails TEXT NOT NULL DEFAULT '{}'",
        "CREATE INDEX conversations_chat ON conversations (bot_id, platform, external_chat_id)",
        "ALTER TABLE messages ADD COLUMN flagged TEXT NULL",
    ],
    down: [
        "ALTER TABLE messages DROP COLUMN flagged",
        "DROP INDEX conversations_chat",
        "ALTER TABLE bots DROP COLUMN guardrails",
    ],
}
