//! Outgoing webhooks: the subscriptions (secret sealed; disabled with a reason after failing too often), each event's delivery to each (its body fixed, its state), and every attempt at one with the receiver's status.

const WEBHOOKS: &str = "CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    bot_ids TEXT NULL,
    secret TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    disabled_at BIGINT NULL,
    disabled_reason TEXT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)";

const DELIVERIES: &str = "CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    bot_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)";

const ATTEMPTS: &str = "CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    at BIGINT NOT NULL,
    status INTEGER NULL,
    error TEXT NULL,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
)";

sql_migration! {
    up: [
        WEBHOOKS,
        DELIVERIES,
        "CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id)",
        "CREATE INDEX webhook_deliveries_conversation ON webhook_deliveries (conversation_id)",
        ATTEMPTS,
    ],
    down: [
        "DROP TABLE webhook_attempts",
        "DROP INDEX webhook_deliveries_conversation",
        "DROP INDEX webhook_deliveries_webhook",
        "DROP TABLE webhook_deliveries",
        "DROP TABLE webhooks",
    ],
}
