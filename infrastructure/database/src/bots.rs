//! [`BotRepository`] on the `bots` table: edits and pauses write apart; deletion cascades; the header values of a bot's MCP servers sealed when a master key is set.

use crate::entities::bots::{ActiveModel, Column, Entity, Model};
use crate::errors::{corrupt, repo_err, unsealable};
use crate::mapping::{bot, bot_row, millis};
use crate::sealing::open_stored;
use crate::{paging, SeaStore};
use async_trait::async_trait;
use domain::repositories::BotRepository;
use domain::{Bot, BotId, Page, PageRequest, ReplyStyle, RepoError, Secret};
use sea_orm::sea_query::Expr;
use sea_orm::ActiveValue::NotSet;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, UpdateMany};

/// What the header values of bots' MCP servers are, in errors.
pub(crate) const HEADERS: &str = "bots.replies.mcp_servers.headers";

/// What a sealed header value is bound to: its bot, server and header.
fn header_context(bot: &str, server: &str, header: &str) -> Vec<u8> {
    format!("switchboard/bots/{bot}/mcp_servers/{server}/headers/{header}").into_bytes()
}

/// Replaces each header value of `replies`' MCP servers with what `change` makes of it (given
/// the value's sealing context); how many it changed.
pub(crate) fn change_headers(
    replies: &mut ReplyStyle,
    bot: &str,
    mut change: impl FnMut(&[u8], &str) -> Result<Option<String>, RepoError>,
) -> Result<usize, RepoError> {
    let mut changed = 0;
    for server in &mut replies.mcp_servers {
        for (name, value) in &mut server.headers {
            let context = header_context(bot, &server.name, name);
            if let Some(new) = change(&context, value.expose())? {
                *value = Secret::new(new);
                changed += 1;
            }
        }
    }
    Ok(changed)
}

impl SeaStore {
    /// `bot`'s row, its header values sealed with the master key if there is one.
    fn sealed_bot_row(&self, bot: &Bot) -> Result<ActiveModel, RepoError> {
        let Some(sealer) = self.sealer() else {
            return bot_row(bot);
        };
        let mut sealed = bot.clone();
        change_headers(
            &mut sealed.replies,
            &bot.id.to_string(),
            |context, value| {
                let sealed = sealer.seal(value.as_bytes(), context);
                let sealed =
                    sealed.map_err(|e| RepoError::Other(format!("cannot seal {HEADERS}: {e}")))?;
                Ok(Some(sealed))
            },
        )?;
        bot_row(&sealed)
    }

    /// The bot of `row`, its header values opened in memory.
    pub(crate) fn opened_bot(&self, row: Model) -> Result<Bot, RepoError> {
        let mut bot = bot(row)?;
        change_headers(&mut bot.replies, &bot.id.to_string(), |context, value| {
            let plain = open_stored(self.sealer(), value, context);
            let plain = plain.map_err(|e| unsealable(HEADERS, e))?;
            let text = String::from_utf8(plain.to_vec()).map_err(|e| corrupt(HEADERS, e))?;
            Ok(Some(text))
        })?;
        Ok(bot)
    }

    /// Runs `update` on the row of bot `id`; `false` when there is none.
    async fn update_bot(&self, update: UpdateMany<Entity>, id: BotId) -> Result<bool, RepoError> {
        let result = update
            .filter(Column::Id.eq(id.to_string()))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }
}

#[async_trait]
impl BotRepository for SeaStore {
    async fn insert(&self, new: &Bot) -> Result<(), RepoError> {
        Entity::insert(self.sealed_bot_row(new)?)
            .exec_without_returning(self.db())
            .await
            .map_err(repo_err)?;
        Ok(())
    }

    async fn get(&self, id: BotId) -> Result<Option<Bot>, RepoError> {
        let row = Entity::find_by_id(id.to_string())
            .one(self.db())
            .await
            .map_err(repo_err)?;
        row.map(|row| self.opened_bot(row)).transpose()
    }

    async fn list(&self, page: &PageRequest) -> Result<Page<Bot>, RepoError> {
        paging::in_order(
            self.db(),
            Entity::find(),
            (Column::Id, sea_orm::Order::Asc),
            page,
            |row| self.opened_bot(row),
            |b| b.id.to_string(),
        )
        .await
    }

    async fn update(&self, revised: &Bot) -> Result<bool, RepoError> {
        let row = ActiveModel {
            paused_at: NotSet,
            ..self.sealed_bot_row(revised)?
        };
        self.update_bot(Entity::update_many().set(row), revised.id)
            .await
    }

    async fn save_pause(&self, bot: &Bot) -> Result<bool, RepoError> {
        let update = Entity::update_many()
            .col_expr(Column::PausedAt, Expr::value(bot.paused_at.map(millis)))
            .col_expr(Column::UpdatedAt, Expr::value(millis(bot.updated_at)));
        self.update_bot(update, bot.id).await
    }

    async fn delete(&self, id: BotId) -> Result<bool, RepoError> {
        let result = Entity::delete_by_id(id.to_string())
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }
}
