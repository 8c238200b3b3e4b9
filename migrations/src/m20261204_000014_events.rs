//! The event log: the announced events of the last minutes, so that a client that reconnects,
//! to any replica, gets what it missed.
//!
//! `id` is the event's hyphenated UUIDv7, as every id here: compared as text it sorts in time
//! order on both engines (lowercase hex at fixed places, under SQLite's BINARY collation and
//! PostgreSQL's, whatever the locale). `kind` is the event's public name and `body` the whole
//! event as JSON. There is no foreign key: an event outlives nothing it names by more than a
//! few minutes, and appending must not fail because a bot was deleted meanwhile. Old events
//! are pruned by `created_at`.

const EVENTS: &str = "CREATE TABLE events (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    bot_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL
)";

sql_migration! {
    up: [
        EVENTS,
        "CREATE INDEX events_created_at ON events (created_at)",
    ],
    down: ["DROP TABLE events"],
}
