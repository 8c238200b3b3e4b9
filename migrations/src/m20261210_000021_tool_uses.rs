//! A reply keeps the tool calls its model made while writing it, as a JSON array (`NULL`: none).

sql_migration! {
    up: ["ALTER TABLE messages ADD COLUMN tool_uses TEXT"],
    down: ["ALTER TABLE messages DROP COLUMN tool_uses"],
}
