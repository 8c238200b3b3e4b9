//! Master-key rotation: every sealed secret (platform credentials, provider keys, bots' MCP header values, webhook secrets) opened with the current or the previous key — or read as plain text, if it was stored before a key was set — and sealed again under the current key, all in one transaction.

use crate::bindings;
use crate::bots::{change_headers, HEADERS};
use crate::entities::{bindings as binding_rows, bots as bot_rows};
use crate::entities::{providers as provider_rows, webhooks as webhook_rows};
use crate::errors::{repo_err, unsealable};
use crate::ledger::{begin, commit};
use crate::mapping::{from_json, to_json};
use crate::sealing::{is_sealed, open_stored, Sealer};
use crate::SeaStore;
use crate::{providers, webhooks};
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
    /// Outgoing webhooks' signing secrets.
    pub webhook_secrets: usize,
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
        let provider_keys = (provider_rows::Column::Id, provider_rows::Column::ApiKey);
        resealed.provider_keys = reseal_column::<provider_rows::Entity>(
            &tx,
            sealer,
            locking,
            provider_keys,
            providers::row_context,
            "providers.api_key",
            &mut resealed,
        )
        .await?;
        let secrets = (webhook_rows::Column::Id, webhook_rows::Column::Secret);
        resealed.webhook_secrets = reseal_column::<webhook_rows::Entity>(
            &tx,
            sealer,
            locking,
            secrets,
            webhooks::row_context,
            "webhooks.secret",
            &mut resealed,
        )
        .await?;
        reseal_mcp_headers(&tx, sealer, locking, &mut resealed).await?;
        commit(tx).await?;
        Ok(resealed)
    }
}

/// Seals again the secrets in `column` of the rows of `E`, each bound to its `id` column's
/// value by `context`; answers how many changed (the others count as unchanged).
#[allow(clippy::too_many_arguments)]
async fn reseal_column<E: EntityTrait>(
    tx: &DatabaseTransaction,
    sealer: &Sealer,
    locking: bool,
    (id, column): (E::Column, E::Column),
    context: fn(&str) -> Vec<u8>,
    what: &str,
    resealed: &mut Resealed,
) -> Result<usize, RepoError> {
    let mut rows = E::find().select_only().column(id).column(column);
    if locking {
        rows = rows.lock_exclusive();
    }
    let rows: Vec<(String, String)> = rows.into_tuple().all(tx).await.map_err(repo_err)?;
    let mut changed = 0;
    for (row_id, stored) in rows {
        let Some(sealed) = sealed_anew(sealer, &stored, &context(&row_id), what)? else {
            resealed.unchanged += 1;
            continue;
        };
        E::update_many()
            .col_expr(column, Expr::value(sealed))
            .filter(id.eq(row_id.as_str()))
            .exec(tx)
            .await
            .map_err(repo_err)?;
        changed += 1;
    }
    Ok(changed)
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
