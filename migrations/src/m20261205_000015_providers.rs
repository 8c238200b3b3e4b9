//! Model providers, and the bot's choice of one.
//!
//! `providers` holds each provider's kind (`openai`, `azure_openai`, `openai_compatible`),
//! address and key: `api_key` is sealed with `security.master_key` as platform credentials are
//! (`sealed:v1:…`, bound to the row's id), or plain text when no master key is set. `models`
//! is a JSON array of model names, `prices` a JSON object (`{"currency", "models"}`) or `NULL`.
//!
//! `bots.provider_id` names the provider a bot uses (`NULL`: the configured default). There is
//! no foreign key: deleting a provider checks for bots that name it in the same transaction,
//! and answers that it is in use instead.

const PROVIDERS: &str = "CREATE TABLE providers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    base_url TEXT NOT NULL,
    api_key TEXT NOT NULL,
    models TEXT NOT NULL DEFAULT '[]',
    prices TEXT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)";

sql_migration! {
    up: [
        PROVIDERS,
        "ALTER TABLE bots ADD COLUMN provider_id TEXT NULL",
        "CREATE INDEX bots_provider ON bots (provider_id)",
    ],
    down: [
        "DROP INDEX bots_provider",
        "ALTER TABLE bots DROP COLUMN provider_id",
        "DROP TABLE providers",
    ],
}
