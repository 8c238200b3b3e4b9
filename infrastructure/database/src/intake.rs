//! [`Ledger::record_inbound_batch`](application::ports::Ledger): a batch of inbound messages,
//! their conversations and `reply` jobs in one transaction of a constant number of statements
//! (multi-row VALUES), whatever the batch's size, on SQLite and PostgreSQL.
//!
//! The statements, in the order that keeps concurrent writers from deadlocking:
//! 1. insert the chats' active conversations (sorted by chat; a rival's wins, see
//!    `one_active_per_chat`), learning which ones this batch started;
//! 2. read back every chat's active conversation, locking the rows in id order: as in
//!    `touching`, the row lock makes a lane's writers allocate job ids and commit in turn;
//! 3. take the lanes' advisory locks (`lock_lane`, in key order) before looking at heads;
//! 4. insert the messages (sorted by their unique key), learning which ones are new;
//! 5. touch the conversations that received a new message (and drop one this batch started
//!    for duplicates only, which is rare: one more statement then);
//! 6. read which lanes have a head, then insert the `reply` jobs in arrival order: the first
//!    new job of a lane without a head is `queued`, every other one `waiting`;
//! 7. NOTIFY the dispatchers when a job is queued, and commit.

use crate::entities::jobs::{self, state};
use crate::entities::{conversations, messages};
use crate::errors::{corrupt, repo_err};
use crate::ledger::{begin, commit, inbound_message, lane_of, one_active_per_chat, rollback};
use crate::ledger::{same_delivery, touching_many};
use crate::mapping::{conversation_row, message_row};
use crate::queue::{announce, job_row, lock_lanes};
use crate::SeaStore;
use application::ports::{InboundRecord, JobPayload, Recorded};
use domain::{Conversation, ConversationId, Message, RepoError};
use sea_orm::sea_query::{Alias, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    Insert, Iterable, QueryFilter, QuerySelect, QueryTrait, Statement, Value,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The most records one batch may hold: its reads and updates bind up to three parameters a
/// record in one statement, within SQLite's 32,766 (PostgreSQL allows 65,535).
pub(crate) const MAX_BATCH: usize = 8192;

/// The parameters one multi-row insert binds at most; larger inserts go in several.
const INSERT_PARAMETERS: usize = 30_000;

/// A chat as stored: bot id, platform, external chat id.
type Chat = (String, String, String);

fn chat_of(record: &InboundRecord) -> Chat {
    (
        record.bot_id.to_string(),
        record.platform.as_str().to_owned(),
        record.chat.as_str().to_owned(),
    )
}

/// The first record of each delivery (bot, platform, external id): a record that repeats an
/// earlier one of the batch is a duplicate. `None` at the duplicates' places.
fn first_deliveries(records: &[InboundRecord]) -> Vec<Option<&InboundRecord>> {
    let mut seen = HashSet::new();
    records
        .iter()
        .map(|r| {
            seen.insert((r.bot_id, r.platform, &r.external_id))
                .then_some(r)
        })
        .collect()
}

/// Records the batch; see the module's documentation.
pub(crate) async fn record_batch(
    store: &SeaStore,
    records: &[InboundRecord],
) -> Result<Vec<Recorded>, RepoError> {
    if records.len() > MAX_BATCH {
        return Err(RepoError::Other(format!(
            "an intake batch holds at most {MAX_BATCH} records, not {}",
            records.len()
        )));
    }
    let firsts = first_deliveries(records);
    let deliveries: Vec<&InboundRecord> = firsts.iter().flatten().copied().collect();
    if deliveries.is_empty() {
        return Ok(Vec::new());
    }
    let tx = begin(store).await?;
    let messages = match store_messages(&tx, &deliveries).await? {
        Some(messages) => messages,
        None => {
            rollback(tx).await?;
            return Ok(vec![Recorded::Duplicate; records.len()]);
        }
    };
    enqueue_replies(&tx, &deliveries, &messages).await?;
    commit(tx).await?;
    Ok(outcome(&firsts, &messages))
}

/// What each record became: its message when new, else a duplicate. `new` is keyed by the
/// index among the first deliveries.
fn outcome(firsts: &[Option<&InboundRecord>], new: &HashMap<usize, Message>) -> Vec<Recorded> {
    let mut deliveries = 0..;
    firsts
        .iter()
        .map(|first| {
            let message = first
                .and_then(|_| deliveries.next())
                .and_then(|index| new.get(&index));
            match message {
                Some(message) => Recorded::New {
                    conversation_id: message.conversation_id,
                    message_id: message.id,
                },
                None => Recorded::Duplicate,
            }
        })
        .collect()
}

/// Steps 1 to 5: the new messages, by their delivery's index; `None` when none is new.
async fn store_messages(
    tx: &DatabaseTransaction,
    deliveries: &[&InboundRecord],
) -> Result<Option<HashMap<usize, Message>>, RepoError> {
    let started = start_conversations(tx, deliveries).await?;
    let active = lock_active_conversations(tx, deliveries).await?;
    let lanes: Vec<String> = active.values().map(|&id| lane_of(id)).collect();
    lock_lanes(tx, &lanes.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    let mut candidates = Vec::with_capacity(deliveries.len());
    for record in deliveries {
        let conversation_id = active
            .get(&chat_of(record))
            .ok_or_else(|| RepoError::Other("the active conversation vanished".into()))?;
        candidates.push(inbound_message(record, *conversation_id));
    }
    let inserted = insert_messages(tx, &candidates).await?;
    let new: HashMap<usize, Message> = candidates
        .into_iter()
        .enumerate()
        .filter(|(_, m)| inserted.contains(&m.id.to_string()))
        .collect();
    if new.is_empty() {
        return Ok(None);
    }
    drop_unused(tx, &started, &new).await?;
    touch_conversations(tx, new.values()).await?;
    Ok(Some(new))
}

/// Step 1: inserts a conversation for every chat that has no active one (a chat's first
/// record gives its start time); returns the ids of those this batch inserted.
async fn start_conversations(
    tx: &DatabaseTransaction,
    deliveries: &[&InboundRecord],
) -> Result<HashSet<String>, RepoError> {
    let mut chats = BTreeMap::new();
    for record in deliveries {
        chats.entry(chat_of(record)).or_insert(*record);
    }
    let rows = chats.into_values().map(|r| {
        let fresh = Conversation::start(r.bot_id, r.platform, r.chat.clone(), r.received_at);
        conversation_row(&fresh)
    });
    insert_returning_ids::<conversations::ActiveModel>(tx, rows.collect(), one_active_per_chat)
        .await
}

/// Step 2: each chat's active conversation, its row locked (PostgreSQL) in id order. The chats
/// are a VALUES list: an OR of one condition per chat nests too deep for SQLite (1000 levels).
async fn lock_active_conversations(
    tx: &DatabaseTransaction,
    deliveries: &[&InboundRecord],
) -> Result<HashMap<Chat, ConversationId>, RepoError> {
    let chats: BTreeSet<Chat> = deliveries.iter().map(|r| chat_of(r)).collect();
    let rows = tx
        .query_all(active_chats(tx.get_database_backend(), chats))
        .await
        .map_err(repo_err)?;
    let mut active = HashMap::with_capacity(rows.len());
    for row in rows {
        let text = |column| row.try_get::<String>("", column).map_err(repo_err);
        let id = text("id")?
            .parse()
            .map_err(|e| corrupt("conversations.id", e))?;
        active.insert(
            (
                text("bot_id")?,
                text("platform")?,
                text("external_chat_id")?,
            ),
            id,
        );
    }
    Ok(active)
}

/// The active conversations of `chats`, locked in id order on PostgreSQL. The status is
/// literal, so that PostgreSQL can use the partial index `conversations_active_chat`.
fn active_chats(backend: DbBackend, chats: BTreeSet<Chat>) -> Statement {
    let list = (0..chats.len())
        .map(|n| format!("(${}, ${}, ${})", 3 * n + 1, 3 * n + 2, 3 * n + 3))
        .collect::<Vec<_>>()
        .join(", ");
    let lock = match backend {
        DbBackend::Postgres => " FOR UPDATE",
        _ => "",
    };
    let sql = format!(
        "SELECT id, bot_id, platform, external_chat_id FROM conversations
WHERE status = 'active' AND (bot_id, platform, external_chat_id) IN (VALUES {list})
ORDER BY id{lock}"
    );
    let values = chats
        .into_iter()
        .flat_map(|(bot, platform, chat)| [bot, platform, chat])
        .map(Value::from);
    Statement::from_sql_and_values(backend, sql, values)
}

/// Step 4: inserts the messages in the order of their unique key (so that two batches racing
/// on the same deliveries wait for each other in one order); returns the ids of the new ones.
async fn insert_messages(
    tx: &DatabaseTransaction,
    candidates: &[Message],
) -> Result<HashSet<String>, RepoError> {
    let mut sorted: Vec<&Message> = candidates.iter().collect();
    sorted.sort_by_key(|m| {
        let external_id = m.external_id.as_ref().map(|id| id.as_str());
        (m.bot_id, m.platform.as_str(), external_id)
    });
    let rows = sorted
        .into_iter()
        .map(message_row)
        .collect::<Result<Vec<_>, _>>()?;
    insert_returning_ids::<messages::ActiveModel>(tx, rows, same_delivery).await
}

/// `rows` in order, cut into inserts that each bind at most [`INSERT_PARAMETERS`].
fn insert_chunks<A: ActiveModelTrait>(rows: Vec<A>) -> Vec<Insert<A>> {
    let columns = <A::Entity as EntityTrait>::Column::iter().count();
    let per_statement = (INSERT_PARAMETERS / columns.max(1)).max(1);
    let mut rows = rows.into_iter().peekable();
    let mut inserts = Vec::new();
    while rows.peek().is_some() {
        inserts.push(Insert::many(rows.by_ref().take(per_statement)));
    }
    inserts
}

/// Inserts `rows`, doing nothing on `conflict`; returns the `id`s of the rows inserted.
async fn insert_returning_ids<A: ActiveModelTrait>(
    tx: &DatabaseTransaction,
    rows: Vec<A>,
    conflict: impl Fn() -> OnConflict,
) -> Result<HashSet<String>, RepoError> {
    let backend = tx.get_database_backend();
    let mut ids = HashSet::new();
    for insert in insert_chunks(rows) {
        let mut insert = insert.on_conflict(conflict());
        insert.query().returning_col(Alias::new("id"));
        for row in tx
            .query_all(insert.build(backend))
            .await
            .map_err(repo_err)?
        {
            ids.insert(row.try_get::<String>("", "id").map_err(repo_err)?);
        }
    }
    Ok(ids)
}

/// Deletes the conversations this batch started that received no new message (their chat's
/// messages were all redeliveries), as if they had never been started.
async fn drop_unused(
    tx: &DatabaseTransaction,
    started: &HashSet<String>,
    new: &HashMap<usize, Message>,
) -> Result<(), RepoError> {
    use conversations::{Column, Entity};
    let used: HashSet<String> = new
        .values()
        .map(|m| m.conversation_id.to_string())
        .collect();
    let unused: Vec<&String> = started.difference(&used).collect();
    if unused.is_empty() {
        return Ok(());
    }
    Entity::delete_many()
        .filter(Column::Id.is_in(unused))
        .exec(tx)
        .await
        .map_err(repo_err)?;
    Ok(())
}

/// Step 5: moves each conversation's `updated_at` to its latest new message, in one statement.
async fn touch_conversations<'a>(
    tx: &DatabaseTransaction,
    new: impl Iterator<Item = &'a Message>,
) -> Result<(), RepoError> {
    let mut latest = BTreeMap::new();
    for message in new {
        let at = latest
            .entry(message.conversation_id)
            .or_insert(message.created_at);
        *at = (*at).max(message.created_at);
    }
    touching_many(&latest).exec(tx).await.map_err(repo_err)?;
    Ok(())
}

/// Step 6 and the NOTIFY: a `reply` job per new message, in arrival order.
async fn enqueue_replies(
    tx: &DatabaseTransaction,
    deliveries: &[&InboundRecord],
    new: &HashMap<usize, Message>,
) -> Result<(), RepoError> {
    let lanes: HashSet<String> = new.values().map(|m| lane_of(m.conversation_id)).collect();
    let mut headed = lanes_with_a_head(tx, lanes).await?;
    let mut rows = Vec::with_capacity(new.len());
    let mut queued = false;
    for (index, record) in deliveries.iter().enumerate() {
        let Some(message) = new.get(&index) else {
            continue;
        };
        let lane = lane_of(message.conversation_id);
        let arrival = if headed.insert(lane.clone()) {
            queued = true;
            state::QUEUED
        } else {
            state::WAITING
        };
        let reply = JobPayload::Reply {
            message_id: message.id,
        };
        rows.push(job_row(
            &lane,
            &reply,
            record.bot_id,
            record.received_at,
            arrival,
        )?);
    }
    for insert in insert_chunks(rows) {
        insert.exec_without_returning(tx).await.map_err(repo_err)?;
    }
    if queued {
        announce(tx).await?;
    }
    Ok(())
}

/// Which of `lanes` have a head (a `queued` or `running` job).
async fn lanes_with_a_head(
    tx: &DatabaseTransaction,
    lanes: HashSet<String>,
) -> Result<HashSet<String>, RepoError> {
    use jobs::{Column, Entity};
    let headed: Vec<String> = Entity::find()
        .select_only()
        .column(Column::Lane)
        .distinct()
        .filter(Column::Lane.is_in(lanes))
        .filter(Column::State.is_in([state::QUEUED, state::RUNNING]))
        .into_tuple()
        .all(tx)
        .await
        .map_err(repo_err)?;
    Ok(headed.into_iter().collect())
}
