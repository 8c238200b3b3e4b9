//! Master-key rotation: every sealed secret (platform credentials, provider keys, bots' MCP header values) opened with the current or the previous key — or read as plain text, if it was stored before a key was set — and sealed again under the current key, all in one transaction.

use crate::bindings;
use crate::bots::{change_headers, HEADERS};
use crate::entities::{bindings as binding_rows, bots as bot_rows, providers as provider_rows};
use crate::errors::{repo_err, unsealable};
use crate::ledger::{begin, commit};
use crate::mapping::{from_json, to_json};
use crate::providers;
use crate::sealing::{is_sealed, open_stored, Sealer};
use crate::SeaStore;
use domain::RepoError;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    QuerySelect,
};

/// How many secrets a rotation sealed again; those already under the current key are left.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    pub credentials: usize,
    pub provider_keys: usize,
    /// Header values of bots' MCP servers.
    pub mcp_headers: usize,
    /// Secrets found already sealed under the current key.
    pub unchanged: usize,
}

impl SeaStore {
    /// Seals every secret under the store's current master key, in one transaction (the rows
    /// locked on PostgreSQL, so that a binding saved meanwhile waits for it). A secret that
    /// opens with neither key fails the whole rotation and nothing is changed.
    pub async fn reseal_all(&self) -> Result<Resealed, RepoError> {
        let sealer = self.sealer().ok_or_else(|| {
            RepoError::Other("security.master_key is not set: there is no key to seal with".into())
        })?;
        let tx = begin(self).await?;
        let mut resealed = Resealed::default();
        let locking = tx.get_database_backend() == DbBackend::Postgres;
        let mut rows = binding_rows::Entity::find();
        if locking {
            rows = rows.lock_exclusive();
        }
        for row in rows.all(&tx).await.map_err(repo_err)? {
            let context = bindings::row_context(&row.bot_id, &row.platform);
            let what = "platform_bindings.credentials";
            let Some(sealed) = sealed_anew(sealer, &row.credentials, &context, what)? else {
                resealed.unchanged += 1;
                continue;
            };
            binding_rows::Entity::update_many()
                .col_expr(binding_rows::Column::Credentials, Expr::value(sealed))
                .filter(binding_rows::Column::BotId.eq(row.bot_id.as_str()))
                .filter(binding_rows::Column::Platform.eq(row.platform.as_str()))
                .exec(&tx)
                .await
                .map_err(repo_err)?;
            resealed.credentials += 1;
        }
        reseal_provider_keys(&tx, sealer, locking, &mut resealed).await?;
        reseal_mcp_headers(&tx, sealer, locking, &mut resealed).await?;
        commit(tx).await?;
        Ok(resealed)
    }
}

async fn reseal_provider_keys(
    tx: &DatabaseTransaction,
    sealer: &Sealer,
    locking: bool,
    resealed: &mut Resealed,
) -> Result<(), RepoError> {
    let mut rows = provider_rows::Entity::find();
    if locking {
        rows = rows.lock_exclusive();
    }
    for row in rows.all(tx).await.map_err(repo_err)? {
        let context = providers::row_context(&row.id);
        let Some(sealed) = sealed_anew(sealer, &row.api_key, &context, "providers.api_key")? else {
            resealed.unchanged += 1;
            continue;
        };
        provider_rows::Entity::update_many()
            .col_expr(provider_rows::Column::ApiKey, Expr::value(sealed))
            .filter(provider_rows::Column::Id.eq(row.id.as_str()))
            .exec(tx)
            .await
            .map_err(repo_err)?;
        resealed.provider_keys += 1;
    }
    Ok(())
}

async fn reseal_mcp_headers(
    tx: &DatabaseTransaction,
    sealer: &Sealer,
    locking: bool,
    resealed: &mut Resealed,
) -> Result<(), RepoError> {
    let mut rows = bot_rows::Entity::find().filter(bot_rows::Column::Replies.contains("headers"));
    if locking {
        rows = rows.lock_exclusive();
    }
    for row in rows.all(tx).await.map_err(repo_err)? {
        let mut replies = from_json("bots.replies", &row.replies)?;
        let mut total = 0;
        let changed = change_headers(&mut replies, &row.id, |context, stored| {
            total += 1;
            sealed_anew(sealer, stored, context, HEADERS)
        })?;
        resealed.unchanged += total - changed;
        if changed == 0 {
            continue;
        }
        bot_rows::Entity::update_many()
            .col_expr(bot_rows::Column::Replies, Expr::value(to_json(&replies)?))
            .filter(bot_rows::Column::Id.eq(row.id.as_str()))
            .exec(tx)
            .await
            .map_err(repo_err)?;
        resealed.mcp_headers += changed;
    }
    Ok(())
}

/// `stored` sealed under the current key, or `None` when it already is.
fn sealed_anew(
    sealer: &Sealer,
    stored: &str,
    context: &[u8],
    what: &str,
) -> Result<Option<String>, RepoError> {
    if is_sealed(stored) && sealer.opens_with_current(stored, context) {
        return Ok(None);
    }
    let plain = open_stored(Some(sealer), stored, context).map_err(|e| unsealable(what, e))?;
    let sealed = sealer
        .seal(&plain, context)
        .map_err(|e| RepoError::Other(format!("cannot seal {what}: {e}")))?;
    Ok(Some(sealed))
}
