//! What a stolen backup shows: with a master key, a dump of the database holds no API key, no
//! platform secret and no provider key; without one (the control), those secrets are there.

use crate::support::{every_binding, new_bot, sealer, MASTER_KEY, PLATFORM_SECRETS};
use application::api_keys::SHOWN_PREFIX_LEN;
use application::ports::SystemClock;
use application::ApiKeys;
use database::testing::{fresh_databases, TestDatabase};
use database::{SeaStore, Sealer};
use domain::repositories::{BindingRepository, ProviderRepository};
use domain::{BaseUrl, Provider, ProviderDraft, ProviderKind, ProviderName, Role, Secret};
use sea_orm::{ConnectionTrait, Statement};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

/// A model provider's key, stored with the provider.
const PROVIDER_KEY: &str = "sk-proj-dumped-provider-key-8d2f6b";

async fn add_provider(store: &SeaStore) {
    let draft = ProviderDraft {
        name: ProviderName::parse("OpenAI").unwrap(),
        kind: ProviderKind::Openai,
        base_url: BaseUrl::parse("https://api.openai.com/v1").unwrap(),
        api_key: Secret::new(PROVIDER_KEY),
        models: Vec::new(),
        prices: None,
    };
    let provider = Provider::create(draft, chrono::Utc::now());
    ProviderRepository::insert(store, &provider).await.unwrap();
}

/// Creates an admin API key through the use case (a real `sb_…` key), a binding of every
/// platform and a model provider; returns the key.
async fn populate(store: &SeaStore) -> String {
    let keys = ApiKeys::new(Arc::new(store.clone()), Arc::new(SystemClock), None);
    let issued = keys.issue("ops", Role::Admin, None).await.unwrap();
    let bot = new_bot(store, "Ada Lovelace").await;
    for binding in every_binding(bot.id) {
        store.upsert(&binding).await.unwrap();
    }
    add_provider(store).await;
    issued.key.expose().to_owned()
}

/// Everything the database holds, as bytes, seen each way we can: the SQLite file and its WAL
/// once the pool is closed; for PostgreSQL, `pg_dump` when it is on the PATH, and every row of
/// every table as text.
async fn dumps(db: &TestDatabase, store: SeaStore) -> Vec<Vec<u8>> {
    if db.backend() == "sqlite" {
        store.connection().clone().close().await.unwrap();
        return vec![sqlite_files(db.url())];
    }
    let rows = rows_as_text(&store).await;
    pg_dump(db.url()).into_iter().chain([rows]).collect()
}

fn sqlite_files(url: &str) -> Vec<u8> {
    let path = url.trim_start_matches("sqlite://");
    let path = PathBuf::from(path.split('?').next().unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    let wal = path.with_extension("db-wal");
    bytes.extend(std::fs::read(wal).unwrap_or_default());
    bytes
}

/// `pg_dump`'s plain output, or `None` when it is not installed.
fn pg_dump(url: &str) -> Option<Vec<u8>> {
    let output = Command::new("pg_dump")
        .arg(format!("--dbname={url}"))
        .output()
        .ok()?;
    assert!(
        output.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(output.stdout)
}

/// Every row of every table in the public schema, as PostgreSQL prints a row.
async fn rows_as_text(store: &SeaStore) -> Vec<u8> {
    let db = store.connection();
    let query = |sql: String| Statement::from_string(db.get_database_backend(), sql);
    let tables = db
        .query_all(query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'".into(),
        ))
        .await
        .unwrap();
    let mut text = Vec::new();
    for table in tables {
        let name: String = table.try_get_by_index(0).unwrap();
        let rows = db
            .query_all(query(format!("SELECT t::text FROM \"{name}\" t")))
            .await
            .unwrap();
        for row in rows {
            text.extend(row.try_get_by_index::<String>(0).unwrap().into_bytes());
            text.push(b'\n');
        }
    }
    text
}

fn holds(dump: &[u8], needle: &str) -> bool {
    dump.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Populates a fresh store sealed with `sealer` (or not), dumps it; the dumps and the API key.
async fn dumped(db: &TestDatabase, sealer: Option<Sealer>) -> (Vec<Vec<u8>>, String) {
    let store = db.store().await.sealed_with(sealer);
    let key = populate(&store).await;
    let dumps = dumps(db, store).await;
    for dump in &dumps {
        assert!(holds(dump, "Ada Lovelace"), "{}: no dump", db.backend());
    }
    (dumps, key)
}

#[tokio::test]
async fn with_a_master_key_a_dump_holds_no_api_key_and_no_platform_or_provider_secret() {
    for db in fresh_databases().await {
        let (dumps, key) = dumped(&db, Some(sealer(MASTER_KEY))).await;
        for dump in &dumps {
            assert!(!holds(dump, &key), "{}: the API key", db.backend());
            assert!(!holds(dump, &key[SHOWN_PREFIX_LEN..]), "{}", db.backend());
            for secret in PLATFORM_SECRETS.into_iter().chain([PROVIDER_KEY]) {
                assert!(!holds(dump, secret), "{}: {secret}", db.backend());
            }
        }
    }
}

#[tokio::test]
async fn without_a_master_key_a_dump_shows_the_platform_and_provider_secrets() {
    for db in fresh_databases().await {
        let (dumps, key) = dumped(&db, None).await;
        let expected = if db.backend() == "postgres" && pg_dump_installed() {
            2
        } else {
            1
        };
        assert_eq!(dumps.len(), expected, "{}", db.backend());
        for dump in &dumps {
            for secret in PLATFORM_SECRETS.into_iter().chain([PROVIDER_KEY]) {
                assert!(holds(dump, secret), "{}: {secret} not found", db.backend());
            }
            assert!(!holds(dump, &key), "API keys are only ever stored digested");
        }
    }
}

fn pg_dump_installed() -> bool {
    Command::new("pg_dump").arg("--version").output().is_ok()
}
