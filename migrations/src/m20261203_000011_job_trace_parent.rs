//! Jobs carry the W3C `traceparent` of the request that enqueued them, so that a worker's span joins its trace.
//!
//! Nullable: jobs enqueued while traces are off, and every job enqueued before this migration,
//! have none and start a trace of their own when one is recorded.

sql_migration! {
    up: ["ALTER TABLE jobs ADD COLUMN trace_parent TEXT NULL"],
    down: ["ALTER TABLE jobs DROP COLUMN trace_parent"],
}
