//! A bot's guardrails, and the index a per-user budget reads through.
//!
//! `bots.guardrails` is a JSON object (`{"budget": {"bot", "per_user", "per_conversation"},
//! "budget_message"}`, every part optional; `{}` limits nothing). `conversations_chat` finds a
//! chat's conversations with a bot, ended ones too, for what its end user spent.

sql_migration! {
    up: [
        "ALTER TABLE bots ADD COLUMN guardrails TEXT NOT NULL DEFAULT '{}'",
        "CREATE INDEX conversations_chat ON conversations (bot_id, platform, external_chat_id)",
    ],
    down: [
        "DROP INDEX conversations_chat",
        "ALTER TABLE bots DROP COLUMN guardrails",
    ],
}
