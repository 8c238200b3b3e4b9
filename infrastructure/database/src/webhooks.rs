//! [`WebhookRepository`] on the `webhooks` table, secrets sealed when a master key is set.

use crate::entities::webhooks::{ActiveModel, Column, Entity, Model};
use crate::errors::{corrupt, repo_err};
use crate::mapping::{from_json, millis, parse, time, time_opt, to_json};
use crate::{paging, SeaStore};
use async_trait::async_trait;
use domain::repositories::WebhookRepository;
use domain::webhook::Disabled;
use domain::{
    BotId, EventSelection, Page, PageRequest, RepoError, Secret, Webhook, WebhookId, WebhookUrl,
};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

const SECRET: &str = "webhooks.secret";

/// What a row's sealed secret is bound to: moved to another webhook, it no longer opens.
pub(crate) fn row_context(id: &str) -> Vec<u8> {
    format!("switchboard/webhooks/{id}/secret").into_bytes()
}

impl SeaStore {
    /// The `secret` column for `webhook`: sealed with the master key if there is one.
    fn secret_text(&self, webhook: &Webhook) -> Result<String, RepoError> {
        let context = row_context(&webhook.id.to_string());
        self.stored_secret(webhook.secret.expose(), &context, SECRET)
    }

    fn webhook_row(&self, webhook: &Webhook) -> Result<ActiveModel, RepoError> {
        let bot_ids = webhook.bot_ids.as_ref().map(to_json).transpose()?;
        let disabled = webhook.disabled.as_ref();
        Ok(ActiveModel {
            id: Set(webhook.id.to_string()),
            url: Set(webhook.url.as_str().to_owned()),
            events: Set(to_json(&webhook.events.names())?),
            bot_ids: Set(bot_ids),
            secret: Set(self.secret_text(webhook)?),
            failures: Set(i32::try_from(webhook.failures).unwrap_or(i32::MAX)),
            disabled_at: Set(disabled.map(|d| millis(d.at))),
            disabled_reason: Set(disabled.map(|d| d.reason.clone())),
            created_at: Set(millis(webhook.created_at)),
            updated_at: Set(millis(webhook.updated_at)),
        })
    }

    pub(crate) fn webhook(&self, row: Model) -> Result<Webhook, RepoError> {
        let secret = self.opened_secret(&row.secret, &row_context(&row.id), SECRET)?;
        let names: Vec<String> = from_json("webhooks.events", &row.events)?;
        let bot_ids: Option<Vec<BotId>> = (row.bot_ids.as_deref())
            .map(|ids| from_json("webhooks.bot_ids", ids))
            .transpose()?;
        let disabled = time_opt("webhooks.disabled_at", row.disabled_at)?.map(|at| Disabled {
            at,
            reason: row.disabled_reason.clone().unwrap_or_default(),
        });
        Ok(Webhook {
            id: parse("webhooks.id", &row.id)?,
            url: WebhookUrl::parse(&row.url).map_err(|e| corrupt("webhooks.url", e))?,
            events: EventSelection::parse(&names).map_err(|e| corrupt("webhooks.events", e))?,
            bot_ids,
            secret: Secret::new(secret),
            failures: u32::try_from(row.failures).unwrap_or_default(),
            disabled,
            created_at: time("webhooks.created_at", row.created_at)?,
            updated_at: time("webhooks.updated_at", row.updated_at)?,
        })
    }
}

#[async_trait]
impl WebhookRepository for SeaStore {
    async fn insert(&self, webhook: &Webhook) -> Result<(), RepoError> {
        Entity::insert(self.webhook_row(webhook)?)
            .exec_without_returning(self.db())
            .await
            .map_err(repo_err)?;
        Ok(())
    }

    async fn get(&self, id: WebhookId) -> Result<Option<Webhook>, RepoError> {
        let row = Entity::find_by_id(id.to_string())
            .one(self.db())
            .await
            .map_err(repo_err)?;
        row.map(|row| self.webhook(row)).transpose()
    }

    async fn list(&self, page: &PageRequest) -> Result<Page<Webhook>, RepoError> {
        let map = |row| self.webhook(row);
        let order = (Column::Id, sea_orm::Order::Asc);
        paging::in_order(self.db(), Entity::find(), order, page, map, |w| {
            w.id.to_string()
        })
        .await
    }

    async fn enabled(&self) -> Result<Vec<Webhook>, RepoError> {
        let rows = Entity::find()
            .filter(Column::DisabledAt.is_null())
            .order_by_asc(Column::Id)
            .all(self.db())
            .await
            .map_err(repo_err)?;
        rows.into_iter().map(|row| self.webhook(row)).collect()
    }

    async fn update(&self, webhook: &Webhook) -> Result<bool, RepoError> {
        let row = ActiveModel {
            id: NotSet,
            created_at: NotSet,
            ..self.webhook_row(webhook)?
        };
        let result = Entity::update_many()
            .set(row)
            .filter(Column::Id.eq(webhook.id.to_string()))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }

    /// Its deliveries and their attempts go with it (foreign keys).
    async fn delete(&self, id: WebhookId) -> Result<bool, RepoError> {
        let result = Entity::delete_by_id(id.to_string())
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }
}
