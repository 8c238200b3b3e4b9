//! Leases: one holder at a time for a named duty across replicas, until it expires.

const LEASES: &str = "CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
)";

sql_migration! {
    up: [LEASES],
    down: ["DROP TABLE leases"],
}
