//! [`EventLog`] on the `events` table: announced events appended in one insert, read back after a cursor in id order, pruned by age.

use crate::entities::events::{ActiveModel, Column, Entity, Model};
use crate::errors::repo_err;
use crate::intake::inserts;
use crate::mapping::{from_json, millis, to_json};
use crate::SeaStore;
use application::ports::{EventLog, EventScope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{EventId, PublishedEvent, RepoError};
use sea_orm::sea_query::OnConflict;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// The public names of the events a scope's `handoffs` asks for (see `DomainEvent::is_handoff`).
const HANDOFF_KINDS: [&str; 2] = ["conversation.handoff", "conversation.released"];

/// The row of `published`; `None` for an inner step without a public name, which is not kept.
fn event_row(published: &PublishedEvent) -> Result<Option<ActiveModel>, RepoError> {
    let event = &published.event;
    let Some(kind) = event.public_name() else {
        return Ok(None);
    };
    Ok(Some(ActiveModel {
        id: Set(published.id.to_string()),
        created_at: Set(millis(published.at)),
        bot_id: Set(event.bot_id().to_string()),
        conversation_id: Set(event.conversation_id().to_string()),
        kind: Set(kind.to_owned()),
        body: Set(to_json(published)?),
    }))
}

fn published(row: Model) -> Result<PublishedEvent, RepoError> {
    from_json("events.body", &row.body)
}

fn texts<T: ToString>(ids: &[T]) -> Vec<String> {
    ids.iter().map(ToString::to_string).collect()
}

/// The rows `scope` covers (a non-empty scope): its bots', its conversations', the hand-offs.
fn covered(scope: &EventScope) -> Condition {
    let mut any = Condition::any();
    if !scope.bots.is_empty() {
        any = any.add(Column::BotId.is_in(texts(&scope.bots)));
    }
    if !scope.conversations.is_empty() {
        any = any.add(Column::ConversationId.is_in(texts(&scope.conversations)));
    }
    if scope.handoffs {
        any = any.add(Column::Kind.is_in(HANDOFF_KINDS));
    }
    any
}

#[async_trait]
impl EventLog for SeaStore {
    /// One insert (on SQLite, one per [`inserts`]' chunk: a retry skips what was stored).
    async fn append(&self, events: &[PublishedEvent]) -> Result<(), RepoError> {
        let rows = (events.iter())
            .filter_map(|event| event_row(event).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() {
            return Ok(());
        }
        let backend = self.backend();
        let stored_already = OnConflict::column(Column::Id).do_nothing().to_owned();
        for mut insert in inserts(backend, rows)? {
            insert.on_conflict(stored_already.clone());
            let insert = backend.build(&insert);
            self.db().execute(insert).await.map_err(repo_err)?;
        }
        Ok(())
    }

    async fn after(
        &self,
        after: EventId,
        scope: &EventScope,
        limit: u64,
    ) -> Result<Vec<PublishedEvent>, RepoError> {
        if scope.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let rows = Entity::find()
            .filter(Column::Id.gt(after.to_string()))
            .filter(covered(scope))
            .order_by_asc(Column::Id)
            .limit(limit.min(i64::MAX.unsigned_abs()))
            .all(self.db())
            .await
            .map_err(repo_err)?;
        rows.into_iter().map(published).collect()
    }

    async fn forget_before(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let deleted = Entity::delete_many()
            .filter(Column::CreatedAt.lt(millis(before)))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(deleted.rows_affected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{BotId, ConversationId, DomainEvent};

    #[test]
    fn the_handoff_kinds_are_the_handoff_events_names() {
        let (bot_id, conversation_id) = (BotId::new(), ConversationId::new());
        let handoffs = [
            DomainEvent::ConversationHandedOff {
                bot_id,
                conversation_id,
            },
            DomainEvent::ConversationReleased {
                bot_id,
                conversation_id,
            },
        ];
        assert!(handoffs.iter().all(DomainEvent::is_handoff));
        let names = handoffs.map(|event| event.public_name());
        assert_eq!(names, HANDOFF_KINDS.map(Some));
    }
}
