//! API keys can expire and record their last use; keys are looked up by their prefix.

sql_migration! {
    up: [
        "ALTER TABLE api_keys ADD COLUMN expires_at BIGINT NULL",
        "ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT NULL",
        "CREATE INDEX api_keys_prefix ON api_keys (prefix)",
    ],
    down: [
        "DROP INDEX api_keys_prefix",
        "ALTER TABLE api_keys DROP COLUMN last_used_at",
        "ALTER TABLE api_keys DROP COLUMN expires_at",
    ],
}
