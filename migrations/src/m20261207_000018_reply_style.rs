//! Bots keep how they answer beyond their prompt as JSON (`{"debounce_ms": 1500}`): `{}` answers each message at once.

sql_migration! {
    up: ["ALTER TABLE bots ADD COLUMN replies TEXT NOT NULL DEFAULT '{}'"],
    down: ["ALTER TABLE bots DROP COLUMN replies"],
}
