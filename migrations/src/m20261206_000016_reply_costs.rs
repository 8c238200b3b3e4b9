//! What each model reply cost: `cost_nanos` in billionths of `cost_currency` (both set, or
//! both `NULL` for a reply of an unpriced model and for every other message).

sql_migration! {
    up: [
        "ALTER TABLE messages ADD COLUMN cost_nanos BIGINT NULL",
        "ALTER TABLE messages ADD COLUMN cost_currency TEXT NULL",
    ],
    down: [
        "ALTER TABLE messages DROP COLUMN cost_currency",
        "ALTER TABLE messages DROP COLUMN cost_nanos",
    ],
}
