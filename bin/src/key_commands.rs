//! `switchboard api-keys create|list|revoke`: admin keys in the configured database, no server needed.

use crate::cli::ApiKeysAction;
use crate::commands::CommandError;
use crate::listing::{all_pages, print_listing, printable, when};
use crate::run::connect_store;
use crate::settings::Settings;
use application::ports::SystemClock;
use application::{ApiKeyError, ApiKeys};
use chrono::{TimeDelta, Utc};
use domain::{ApiKey, ApiKeyId, Role};
use presentation::dto::ApiKeyBody;
use std::sync::Arc;

pub async fn api_keys(settings: &Settings, action: ApiKeysAction) -> Result<(), CommandError> {
    let keys = open(settings).await?;
    match action {
        ApiKeysAction::Create {
            name,
            role,
            expires_in_days,
        } => create(&keys, &name, role.into(), expires_in_days).await,
        ApiKeysAction::List { json } => list(&keys, json).await,
        ApiKeysAction::Revoke { id } => revoke(&keys, id).await,
    }
}

/// The use cases on the configured store (see [`connect_store`]).
async fn open(settings: &Settings) -> Result<ApiKeys, CommandError> {
    let store = Arc::new(connect_store(settings).await?);
    Ok(ApiKeys::new(store, Arc::new(SystemClock), None))
}

/// Prints the new key alone on stdout; what it is goes to stderr.
async fn create(
    keys: &ApiKeys,
    name: &str,
    role: Role,
    expires_in_days: Option<u32>,
) -> Result<(), CommandError> {
    let expires_at = expires_in_days.map(|days| Utc::now() + TimeDelta::days(days.into()));
    let issued = keys
        .issue(name, role, expires_at)
        .await
        .map_err(|e| CommandError::Failed(format!("cannot create the key: {e}")))?;
    let record = &issued.record;
    let expiry = record.expires_at.map_or_else(
        || "never expires".to_owned(),
        |at| format!("expires {}", when(Some(at))),
    );
    eprintln!(
        "created {} key `{}` ({}) that {expiry}; it is shown once:",
        record.role.as_str(),
        printable(&record.name),
        record.id,
    );
    println!("{}", issued.key.expose());
    Ok(())
}

async fn list(keys: &ApiKeys, json: bool) -> Result<(), CommandError> {
    let all = all_pages("keys", |request| async move { keys.list(&request).await }).await?;
    print_listing::<_, ApiKeyBody, 8>(all, json, COLUMNS, row)
}

async fn revoke(keys: &ApiKeys, id: ApiKeyId) -> Result<(), CommandError> {
    match keys.revoke(id).await {
        Ok(()) => {
            eprintln!("revoked API key {id}");
            Ok(())
        }
        Err(ApiKeyError::NotFound(_)) => {
            Err(CommandError::Failed(format!("no API key has the id {id}")))
        }
        Err(e) => Err(CommandError::Failed(format!("cannot revoke the key: {e}"))),
    }
}

const COLUMNS: [&str; 8] = [
    "ID",
    "NAME",
    "ROLE",
    "PREFIX",
    "CREATED",
    "EXPIRES",
    "LAST USED",
    "REVOKED",
];

fn row(key: &ApiKey) -> [String; 8] {
    [
        key.id.to_string(),
        key.name.clone(),
        key.role.as_str().to_owned(),
        key.prefix.clone(),
        when(Some(key.created_at)),
        when(key.expires_at),
        when(key.last_used_at),
        when(key.revoked_at),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn table(keys: &[ApiKey]) -> String {
        crate::listing::table(COLUMNS, keys.iter().map(row))
    }

    #[test]
    fn the_table_aligns_columns_under_a_header() {
        let created = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
        let key = ApiKey {
            id: ApiKeyId::new(),
            name: "deploy bot".into(),
            role: Role::Operator,
            key_hash: "digest".into(),
            prefix: "sb_0123456".into(),
            created_at: created,
            expires_at: None,
            last_used_at: Some(created),
            revoked_at: None,
        };
        let text = table(std::slice::from_ref(&key));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("ID "), "{text}");
        let expected = format!(
            "{}  deploy bot  operator  sb_0123456  2030-03-17T17:46:40Z  -        \
             2030-03-17T17:46:40Z  -",
            key.id
        );
        assert_eq!(lines[1], expected);
        assert_eq!(lines[0].find("NAME"), lines[1].find("deploy bot"));
        assert_eq!(lines[0].find("LAST USED"), lines[1].rfind("2030"));
        assert!(!text.contains("digest"));
    }
}
