//! The audit log: one row per admin API write — who (key id and name), what (method, route, path parameters, the body's field names, never their values), the answer's status, when, the request id and the client's address. Appended by the API, never changed by it.

const AUDIT_LOG: &str = "CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    key_id TEXT NULL,
    key_name TEXT NULL,
    role TEXT NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    params TEXT NOT NULL,
    fields TEXT NOT NULL,
    status INTEGER NOT NULL,
    request_id TEXT NULL,
    source_ip TEXT NULL
)";

sql_migration! {
    up: [AUDIT_LOG, "CREATE INDEX audit_log_at ON audit_log (at)"],
    down: ["DROP INDEX audit_log_at", "DROP TABLE audit_log"],
}
