//! Outbound messages keep why their delivery failed; inbound ones keep the platform's handle for answering in place.

const UP: [&str; 2] = [
    "ALTER TABLE messages ADD COLUMN error TEXT NULL",
    "ALTER TABLE messages ADD COLUMN reply_handle TEXT NULL",
];

const DOWN: [&str; 2] = [
    "ALTER TABLE messages DROP COLUMN reply_handle",
    "ALTER TABLE messages DROP COLUMN error",
];

sql_migration! {
    up: UP,
    down: DOWN,
}
