//! [`Ledger::record_inbound_batch`](application::ports::Ledger): a batch of inbound messages,
//! their conversations and `reply` jobs in one transaction of a constant number of statements,
//! whatever the batch's size, on SQLite and PostgreSQL.
//!
//! The steps, in the order that keeps concurrent writers from deadlocking:
//! 1. upsert the chats' active conversations (sorted by chat; a rival's wins, see
//!    `one_active_per_chat`), which locks each chat's row in that order and returns it, telling
//!    which ones this batch started: as in `touching`, the row lock makes a lane's writers
//!    allocate job ids and commit in turn. On PostgreSQL the same statement then takes the
//!    lanes' advisory locks (as `lock_lane`, in key order), before anything looks at heads;
//! 2. insert the messages (sorted by their unique key), learning which ones are new (and drop
//!    a conversation this batch started for duplicates only, which is rare: one more statement
//!    then);
//! 3. touch the conversations that received a new message and read which of their lanes have
//!    a head (one statement on PostgreSQL, two on SQLite);
//! 4. insert the `reply` jobs in arrival order: the first new job of a lane without a head is
//!    `queued`, every other one `waiting`; on PostgreSQL the same statement NOTIFYs the
//!    dispatchers when a job is queued. Then commit.
//!
//! The engines differ only in how a step's statements carry the batch and in how many a step
//! takes. On PostgreSQL a statement binds whole arrays (a JSON array of rows for inserts), so
//! that its text is the same whatever the batch's size: it is parsed and prepared once per
//! connection and stays in the connection's statement cache. After a few runs PostgreSQL may
//! also keep one plan for it (a generic plan), made while the tables were still small: every
//! lookup is written so that this plan finds rows by key however the tables grow (see
//! `touching_and_heads`). SQLite, which has no arrays, binds one parameter a value.

use crate::entities::jobs::{self, state};
use crate::entities::{conversations, messages};
use crate::errors::{corrupt, repo_err};
use crate::ledger::{begin, commit, inbound_message, lane_of, one_active_per_chat, rollback};
use crate::ledger::{same_delivery, touching_many};
use crate::mapping::{conversation_row, message_row, millis};
use crate::queue::{job_row, JOBS_CHANNEL};
use crate::SeaStore;
use application::ports::{InboundRecord, JobPayload, Recorded};
use chrono::{DateTime, Utc};
use domain::{Conversation, ConversationId, Message, RepoError};
use sea_orm::sea_query::{
    sea_value_to_json_value, Alias, ArrayType, Expr, Func, InsertStatement, Query,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityName,
    EntityTrait, IdenStatic, Insert, Iterable, QueryFilter, QueryResult, QuerySelect, QueryTrait,
    Statement, Value,
};
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The most records one batch may hold: on SQLite its touch binds up to three parameters a
/// record in one statement, within SQLite's 32,766 (PostgreSQL binds arrays).
pub(crate) const MAX_BATCH: usize = 8192;

/// The parameters one multi-row insert binds at most on SQLite; larger inserts go in several.
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
    let Some(stored) = store_messages(&tx, &deliveries).await? else {
        rollback(tx).await?;
        return Ok(vec![Recorded::Duplicate; records.len()]);
    };
    let headed = touch_and_read_heads(&tx, &stored.messages).await?;
    enqueue_replies(&tx, &deliveries, &stored.messages, headed).await?;
    commit(tx).await?;
    Ok(outcome(&firsts, stored))
}

/// What step 2 stored.
struct Stored {
    /// The new messages, by their delivery's index.
    messages: HashMap<usize, Message>,
    /// The ids of the conversations this batch started (each has a new message).
    started: HashSet<String>,
}

/// What each record became: its message when new, else a duplicate. The first new message of
/// a conversation the batch started (in input order) is the one that started it.
fn outcome(firsts: &[Option<&InboundRecord>], stored: Stored) -> Vec<Recorded> {
    let Stored {
        messages,
        mut started,
    } = stored;
    let mut deliveries = 0..;
    firsts
        .iter()
        .map(|first| {
            let message = first
                .and_then(|_| deliveries.next())
                .and_then(|index| messages.get(&index));
            match message {
                Some(message) => Recorded::New {
                    conversation_id: message.conversation_id,
                    message_id: message.id,
                    started: started.remove(&message.conversation_id.to_string()),
                },
                None => Recorded::Duplicate,
            }
        })
        .collect()
}

/// Steps 1 and 2: the new messages and the conversations they started; `None` when no
/// message is new.
async fn store_messages(
    tx: &DatabaseTransaction,
    deliveries: &[&InboundRecord],
) -> Result<Option<Stored>, RepoError> {
    let Active { chats, started } = lock_conversations(tx, deliveries).await?;
    let mut candidates = Vec::with_capacity(deliveries.len());
    for record in deliveries {
        let conversation_id = chats
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
    let started = drop_unused(tx, started, &new).await?;
    Ok(Some(Stored {
        messages: new,
        started,
    }))
}

/// The chats' active conversations, their rows locked.
struct Active {
    chats: HashMap<Chat, ConversationId>,
    /// The ids of those this batch started.
    started: HashSet<String>,
}

/// Step 1: upserts a conversation for every chat (a chat's first record gives the start time
/// of one it starts); an active one of the chat is kept as it is, but locked and returned.
async fn lock_conversations(
    tx: &DatabaseTransaction,
    deliveries: &[&InboundRecord],
) -> Result<Active, RepoError> {
    let mut chats = BTreeMap::new();
    for record in deliveries {
        chats.entry(chat_of(record)).or_insert(*record);
    }
    let fresh: Vec<Conversation> = (chats.into_values())
        .map(|r| Conversation::start(r.bot_id, r.platform, r.chat.clone(), r.received_at))
        .collect();
    let fresh_ids: HashSet<String> = fresh.iter().map(|c| c.id.to_string()).collect();
    let rows = fresh.iter().map(conversation_row).collect();
    let mut active = Active {
        chats: HashMap::with_capacity(fresh.len()),
        started: HashSet::new(),
    };
    for upsert in upserts(tx.get_database_backend(), rows)? {
        for row in tx.query_all(upsert).await.map_err(repo_err)? {
            let (chat, id) = chat_and_id(&row)?;
            let parsed = id.parse().map_err(|e| corrupt("conversations.id", e))?;
            active.chats.insert(chat, parsed);
            if fresh_ids.contains(&id) {
                active.started.insert(id);
            }
        }
    }
    Ok(active)
}

/// The chat and the id of a conversation the upsert returned.
fn chat_and_id(row: &QueryResult) -> Result<(Chat, String), RepoError> {
    let text = |column| row.try_get::<String>("", column).map_err(repo_err);
    let chat = (
        text("bot_id")?,
        text("platform")?,
        text("external_chat_id")?,
    );
    Ok((chat, text("id")?))
}

/// The upserts of step 1. The rival of a conflict stays as it is (`updated_at` is set to
/// itself), but the update locks its row and makes `RETURNING` return it. On PostgreSQL the
/// statement goes on to take the lanes' advisory locks once it has every row lock.
pub(crate) fn upserts(
    backend: DbBackend,
    rows: Vec<conversations::ActiveModel>,
) -> Result<Vec<Statement>, RepoError> {
    use conversations::{Column, Entity};
    let keep = Expr::col((Entity, Column::UpdatedAt));
    let conflict = one_active_per_chat()
        .value(Column::UpdatedAt, keep)
        .to_owned();
    let returned = [
        Column::Id,
        Column::BotId,
        Column::Platform,
        Column::ExternalChatId,
    ];
    let statements = inserts(backend, rows)?.into_iter().map(|mut insert| {
        insert
            .on_conflict(conflict.clone())
            .returning(Query::returning().columns(returned));
        backend.build(&insert)
    });
    Ok(match backend {
        DbBackend::Postgres => statements.map(locking_lanes).collect(),
        _ => statements.collect(),
    })
}

/// `upsert` followed, in the same statement, by the advisory locks of the lanes of the
/// conversations it returns (a conversation's lane is its id, see `lane_of`): as `lock_lane`
/// takes one, but for every lane, in the order of their keys (not of the lanes' names, which a
/// hash collision would make ambiguous) so that two multi-lane writers cannot deadlock.
/// `locks` reads every row of `chats` (so the upsert has finished and holds all its row locks)
/// and sorts the keys before any lock is taken: PostgreSQL evaluates a volatile function of the
/// select list above the sort.
fn locking_lanes(upsert: Statement) -> Statement {
    let locks = ",
locks AS (
    SELECT pg_advisory_xact_lock(k) FROM (
        SELECT DISTINCT hashtextextended(id, 0) AS k FROM chats
    ) AS keys ORDER BY k
)
SELECT chats.*, (SELECT count(*) FROM locks) AS locks FROM chats";
    within(upsert, "chats", locks)
}

/// `statement` as the table `name` of a PostgreSQL `WITH`, then `rest`.
fn within(statement: Statement, name: &str, rest: &str) -> Statement {
    let sql = format!("WITH {name} AS ({}){rest}", statement.sql);
    let values = statement.values.map(|values| values.0).unwrap_or_default();
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// Step 2: inserts the messages in the order of their unique key (so that two batches racing
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
    let backend = tx.get_database_backend();
    let mut ids = HashSet::new();
    for mut insert in inserts(backend, rows)? {
        insert
            .on_conflict(same_delivery())
            .returning_col(messages::Column::Id);
        for row in tx
            .query_all(backend.build(&insert))
            .await
            .map_err(repo_err)?
        {
            ids.insert(row.try_get::<String>("", "id").map_err(repo_err)?);
        }
    }
    Ok(ids)
}

/// Inserts of `rows`, in order: on PostgreSQL one that reads them from a JSON array (which,
/// unlike an array of a column's type bound through sea-query, may hold NULLs), elsewhere
/// multi-row inserts that each bind at most [`INSERT_PARAMETERS`].
pub(crate) fn inserts<A: ActiveModelTrait>(
    backend: DbBackend,
    rows: Vec<A>,
) -> Result<Vec<InsertStatement>, RepoError> {
    match backend {
        DbBackend::Postgres => Ok(vec![insert_from_json(rows)?]),
        _ => Ok(insert_chunks(rows)),
    }
}

/// `rows` in order, cut into inserts that each bind at most [`INSERT_PARAMETERS`].
fn insert_chunks<A: ActiveModelTrait>(rows: Vec<A>) -> Vec<InsertStatement> {
    let columns = <A::Entity as EntityTrait>::Column::iter().count();
    let per_statement = (INSERT_PARAMETERS / columns.max(1)).max(1);
    let mut rows = rows.into_iter().peekable();
    let mut inserts = Vec::new();
    while rows.peek().is_some() {
        inserts.push(Insert::many(rows.by_ref().take(per_statement)).into_query());
    }
    inserts
}

/// `INSERT INTO table (columns) SELECT columns FROM json_populate_recordset(NULL::table, $1)`:
/// the columns set in the first row, the rows one JSON array of objects, inserted in the
/// array's order (the function's rows feed the insert one by one, as a VALUES list's do).
fn insert_from_json<A: ActiveModelTrait>(rows: Vec<A>) -> Result<InsertStatement, RepoError> {
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter()
        .filter(|&column| rows.first().is_some_and(|row| row.get(column).is_set()))
        .collect();
    let objects = rows.into_iter().map(|row| {
        let fields = columns.iter().map(|&column| {
            let value = row.get(column).into_value();
            let value = value.map_or(Json::Null, |v| sea_value_to_json_value(&v));
            (column.as_str().to_owned(), value)
        });
        Json::Object(fields.collect::<Map<_, _>>())
    });
    let table = A::Entity::default();
    let json = Json::Array(objects.collect()).to_string();
    let rows = Func::cust(Alias::new("json_populate_recordset"))
        .arg(Expr::cust(format!("NULL::{}", table.table_name())))
        .arg(Expr::val(json).cast_as(Alias::new("json")));
    let select = Query::select()
        .columns(columns.clone())
        .from_function(rows, Alias::new("rows"))
        .to_owned();
    Query::insert()
        .into_table(table)
        .columns(columns)
        .select_from(select)
        .map(|insert| insert.to_owned())
        .map_err(|e| RepoError::Other(format!("cannot build an insert: {e}")))
}

/// A PostgreSQL `text[]` of `values`.
pub(crate) fn text_array(values: impl IntoIterator<Item = String>) -> Value {
    let values = values.into_iter().map(Value::from).collect();
    Value::Array(ArrayType::String, Some(Box::new(values)))
}

/// Deletes the conversations this batch started that received no new message (their chat's
/// messages were all redeliveries), as if they had never been started; returns the others.
async fn drop_unused(
    tx: &DatabaseTransaction,
    started: HashSet<String>,
    new: &HashMap<usize, Message>,
) -> Result<HashSet<String>, RepoError> {
    let used: HashSet<String> = new
        .values()
        .map(|m| m.conversation_id.to_string())
        .collect();
    let (kept, unused): (HashSet<String>, HashSet<String>) =
        started.into_iter().partition(|id| used.contains(id));
    if unused.is_empty() {
        return Ok(kept);
    }
    let backend = tx.get_database_backend();
    let delete = match backend {
        DbBackend::Postgres => Statement::from_sql_and_values(
            backend,
            "DELETE FROM conversations WHERE id = ANY ($1)",
            [text_array(unused)],
        ),
        _ => (conversations::Entity::delete_many())
            .filter(conversations::Column::Id.is_in(unused))
            .build(backend),
    };
    tx.execute(delete).await.map_err(repo_err)?;
    Ok(kept)
}

/// Step 3: moves each conversation's `updated_at` to its latest new message; returns which of
/// their lanes have a head (a `queued` or `running` job).
async fn touch_and_read_heads(
    tx: &DatabaseTransaction,
    new: &HashMap<usize, Message>,
) -> Result<HashSet<String>, RepoError> {
    let mut latest = BTreeMap::new();
    for message in new.values() {
        let at = latest
            .entry(message.conversation_id)
            .or_insert(message.created_at);
        *at = (*at).max(message.created_at);
    }
    let mut headed = HashSet::new();
    for statement in touching_and_heads(tx.get_database_backend(), &latest) {
        for row in tx.query_all(statement).await.map_err(repo_err)? {
            headed.insert(row.try_get::<String>("", "lane").map_err(repo_err)?);
        }
    }
    Ok(headed)
}

/// The statements of step 3: the touch, then the heads' lanes (`lane`).
///
/// On PostgreSQL both go in one statement, each lookup a `LATERAL` subquery with a `LIMIT`,
/// which PostgreSQL plans as an index lookup per key (here `conversations_pkey` and
/// `jobs_lane_state`) rather than as a join that reads a table whole (which a plan made while
/// the table was small would go on doing); the touch then updates each row found by its `ctid`,
/// which stays put until then: the row is locked, and nothing else updates it in between.
fn touching_and_heads(
    backend: DbBackend,
    latest: &BTreeMap<ConversationId, DateTime<Utc>>,
) -> Vec<Statement> {
    let lanes = latest.keys().map(|&id| lane_of(id));
    if backend != DbBackend::Postgres {
        let heads = (jobs::Entity::find().select_only())
            .column(jobs::Column::Lane)
            .filter(jobs::Column::Lane.is_in(lanes))
            .filter(jobs::Column::State.is_in([state::QUEUED, state::RUNNING]))
            .distinct();
        return vec![touching_many(latest).build(backend), heads.build(backend)];
    }
    let sql = "WITH touched AS (
    UPDATE conversations SET updated_at = GREATEST(conversations.updated_at, latest.at)
    FROM unnest($1::text[], $2::bigint[]) AS latest (id, at)
    CROSS JOIN LATERAL (SELECT ctid FROM conversations WHERE id = latest.id LIMIT 1) AS found
    WHERE conversations.ctid = found.ctid
)
SELECT lanes.lane FROM unnest($3::text[]) AS lanes (lane)
CROSS JOIN LATERAL (
    SELECT 1 FROM jobs WHERE jobs.lane = lanes.lane AND jobs.state IN ('queued', 'running')
    LIMIT 1
) AS head";
    let ids = text_array(latest.keys().map(ToString::to_string));
    let ats = latest.values().map(|&at| Value::from(millis(at))).collect();
    let ats = Value::Array(ArrayType::BigInt, Some(Box::new(ats)));
    vec![Statement::from_sql_and_values(
        backend,
        sql,
        [ids, ats, text_array(lanes)],
    )]
}

/// Step 4: a `reply` job per new message, in arrival order; the lanes of `headed` have a head.
async fn enqueue_replies(
    tx: &DatabaseTransaction,
    deliveries: &[&InboundRecord],
    new: &HashMap<usize, Message>,
    mut headed: HashSet<String>,
) -> Result<(), RepoError> {
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
            Some(record.bot_id),
            record.received_at,
            arrival,
            record.trace_parent.as_deref(),
        )?);
    }
    let backend = tx.get_database_backend();
    for insert in inserts(backend, rows)? {
        let insert = backend.build(&insert);
        let insert = match backend {
            DbBackend::Postgres if queued => notifying(insert),
            _ => insert,
        };
        tx.execute(insert).await.map_err(repo_err)?;
    }
    Ok(())
}

/// `insert` followed, in the same statement, by a NOTIFY of the dispatchers (delivered at
/// commit, as `announce`'s). SQLite's only writer wakes its own dispatcher in memory.
fn notifying(insert: Statement) -> Statement {
    let notify = format!(" SELECT pg_notify('{JOBS_CHANNEL}', '')");
    within(insert, "inserted", &notify)
}
