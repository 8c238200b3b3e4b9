//! Schedules and bots' data lifecycle: a record per schedule (its last run and what it did; its job is on the queue), and each bot's idle timeout and retention.

const SCHEDULES: &str = "CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    last_run_at BIGINT NULL,
    last_outcome TEXT NULL,
    created_at BIGINT NOT NULL
)";

sql_migration! {
    up: [
        SCHEDULES,
        "ALTER TABLE bots ADD COLUMN idle_timeout_minutes INTEGER NULL",
        "ALTER TABLE bots ADD COLUMN retention_days INTEGER NULL",
    ],
    down: [
        "ALTER TABLE bots DROP COLUMN retention_days",
        "ALTER TABLE bots DROP COLUMN idle_timeout_minutes",
        "DROP TABLE schedules",
    ],
}
