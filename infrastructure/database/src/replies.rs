//! [`Ledger`](application::ports::Ledger)'s reply writes: a stored reply turns its job into the delivery, and a finished delivery marks its message sent and leaves its lane; one round trip each on PostgreSQL.
//!
//! PostgreSQL runs each write as one statement (data-modifying CTEs, and the
//! `switchboard_leave_lane` function); SQLite, which has neither, runs the same steps as a
//! transaction, where a round trip costs nothing.

use crate::entities::{conversations, messages};
use crate::errors::repo_err;
use crate::ledger::{begin, commit, insert_unless_conflict, rollback, same_reply, touch};
use crate::mapping::{message_row, millis, to_json};
use crate::queue::{answer, commit_leaving, delete_held, is_held, leaving, turned_into};
use crate::SeaStore;
use application::ports::{ClaimedJob, ReplyStored};
use chrono::Utc;
use domain::{
    Broadcast, ConversationId, ConversationMode, ExternalMessageId, Message, MessageId,
    MessageStatus, RepoError,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IdenStatic, Iterable,
    PaginatorTrait, QueryFilter, Statement, Value,
};
use std::sync::OnceLock;

/// Stores a reply (`{columns}` from `$8`) while the job `$1` is held under the lease `$2`, and
/// turns the job into the reply's delivery (`$3`, `$4`) at `$5`, touching the conversation `$7`
/// to `$6`. The held row is locked first, so a claimer cannot take it over meanwhile. When the
/// conversation is handed off, the reply is kept `failed` ([`Message::HANDED_OFF`]) and answers
/// no message (`reply_to` NULL: a release may have the message answered yet), through the
/// [`HANDED_CASE`]s in `{values}`, and the job does not turn into a delivery.
/// Answers whether the job was held, whether it now delivers this reply (not when the message
/// had a reply already), and whether the reply was stored unsent, handed off.
const STORE_REPLY: &str = "WITH held AS (
    SELECT id FROM jobs WHERE id = $1 AND lease_token = $2 AND state = 'running' FOR UPDATE
), handed AS (
    SELECT 1 FROM conversations WHERE id = $7 AND mode = '{human}'
), reply AS (
    INSERT INTO messages ({columns}) SELECT {values} FROM held
    ON CONFLICT (reply_to) DO NOTHING
    RETURNING id
), delivery AS (
    UPDATE jobs SET kind = $3, payload = $4, attempts = 1, last_error = NULL, updated_at = $5
    WHERE id = $1 AND EXISTS (SELECT 1 FROM reply) AND NOT EXISTS (SELECT 1 FROM handed)
    RETURNING id
), touched AS (
    UPDATE conversations SET updated_at = GREATEST(updated_at, $6)
    WHERE id = $7 AND EXISTS (SELECT 1 FROM reply)
)
SELECT EXISTS (SELECT 1 FROM held), EXISTS (SELECT 1 FROM delivery),
    EXISTS (SELECT 1 FROM reply) AND EXISTS (SELECT 1 FROM handed)";

/// A reply column's value in [`STORE_REPLY`]: `{then}` when the conversation is handed off,
/// else its parameter.
const HANDED_CASE: &str = "CASE WHEN EXISTS (SELECT 1 FROM handed) THEN {then} ELSE {value} END";

/// The parameters of [`STORE_REPLY`] before the reply's columns.
const STORE_REPLY_PARAMETERS: usize = 7;

/// Marks message `$1` sent (`$3`) with the platform id `$2` (if given, and unless another of
/// the bot's messages has it), if it may get there from where it stands (`{from}`), or if a
/// broadcast's cancellation (`{cancelled}`) came while it was going out: it went all the same.
const MARK_SENT: &str = "UPDATE messages
SET status = $3, error = NULL, external_id = CASE
    WHEN EXISTS (
        SELECT 1 FROM messages other
        WHERE other.bot_id = messages.bot_id AND other.platform = messages.platform
          AND other.direction = messages.direction AND other.external_id = $2
    ) THEN external_id
    ELSE COALESCE($2, external_id)
END
WHERE id = $1 AND (status IN ({from}) OR (status = 'failed' AND error = '{cancelled}'))";

/// [`MARK_SENT`] and the job (`$4`, lease `$5`, at `$6`) leaving its lane, in one statement.
const FINISH_DELIVERY: &str =
    "WITH sent AS ({mark_sent}) SELECT switchboard_leave_lane($4, $5, $6, NULL)";

/// The texts of the statements above with their lists filled in, built once: they depend on
/// the schema and the statuses, not on the values.
struct Texts {
    store_reply: String,
    mark_sent: String,
    finish_delivery: String,
}

fn texts() -> &'static Texts {
    static TEXTS: OnceLock<Texts> = OnceLock::new();
    TEXTS.get_or_init(|| {
        let columns: Vec<String> = messages::Column::iter()
            .map(|column| format!("\"{}\"", column.as_str()))
            .collect();
        let placeholders: Vec<String> = messages::Column::iter()
            .zip(1..)
            .map(|(column, n)| reply_value(column, STORE_REPLY_PARAMETERS + n))
            .collect();
        let from: Vec<String> = MessageStatus::Sent
            .reachable_from()
            .iter()
            .map(|status| format!("'{}'", status.as_str()))
            .collect();
        let mark_sent = MARK_SENT
            .replace("{from}", &from.join(", "))
            .replace("{cancelled}", Broadcast::CANCELLED);
        Texts {
            store_reply: STORE_REPLY
                .replace("{human}", ConversationMode::Human.as_str())
                .replace("{columns}", &columns.join(", "))
                .replace("{values}", &placeholders.join(", ")),
            finish_delivery: FINISH_DELIVERY.replace("{mark_sent}", &mark_sent),
            mark_sent,
        }
    })
}

/// Parameter `$n` as [`STORE_REPLY`] inserts it into `column`: as it is, but for what
/// [`kept_unsent`] changes of a reply to a handed-off conversation.
fn reply_value(column: messages::Column, n: usize) -> String {
    let value = format!("${n}");
    let handed = |then: &str| {
        HANDED_CASE
            .replace("{then}", then)
            .replace("{value}", &value)
    };
    let quoted = |text: &str| format!("'{text}'");
    match column {
        messages::Column::Status => handed(&quoted(MessageStatus::Failed.as_str())),
        messages::Column::Error => handed(&quoted(Message::HANDED_OFF)),
        messages::Column::ReplyTo => handed("NULL"),
        _ => value,
    }
}

/// `reply` as it is kept when the conversation was handed off before it was stored: failed,
/// answering no message.
fn kept_unsent(reply: &Message) -> Message {
    Message {
        status: MessageStatus::Failed,
        error: Some(Message::HANDED_OFF.to_owned()),
        reply_to: None,
        ..reply.clone()
    }
}

/// The reply's values, in the order of the table's columns.
fn reply_values(reply: &Message) -> Result<Vec<Value>, RepoError> {
    let row = message_row(reply)?;
    messages::Column::iter()
        .map(|column| {
            let value = row.get(column).into_value();
            value.ok_or_else(|| RepoError::Other(format!("{column:?} is not set")))
        })
        .collect()
}

fn store_reply_statement(job: &ClaimedJob, reply: &Message) -> Result<Statement, RepoError> {
    let delivery = job.delivering(reply.id).payload;
    let mut values: Vec<Value> = vec![
        job.id.into(),
        job.lease.0.as_str().into(),
        delivery.kind().into(),
        to_json(&delivery)?.into(),
        millis(Utc::now()).into(),
        millis(reply.created_at).into(),
        reply.conversation_id.to_string().into(),
    ];
    values.extend(reply_values(reply)?);
    let sql = texts().store_reply.as_str();
    Ok(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
}

/// What storing a reply did.
struct Stored {
    /// The job was held under its lease.
    held: bool,
    /// The job now delivers the reply.
    delivering: bool,
    /// The reply was stored unsent: the conversation is handed off.
    handed_off: bool,
}

async fn store_reply_at_once(
    store: &SeaStore,
    job: &ClaimedJob,
    reply: &Message,
) -> Result<Stored, RepoError> {
    let statement = store_reply_statement(job, reply)?;
    let row = store.db().query_one(statement).await.map_err(repo_err)?;
    let row = row.ok_or_else(|| RepoError::Other("storing a reply answered no row".into()))?;
    let flag = |index| row.try_get_by_index::<bool>(index).map_err(repo_err);
    Ok(Stored {
        held: flag(0)?,
        delivering: flag(1)?,
        handed_off: flag(2)?,
    })
}

/// [`store_reply_at_once`] as a transaction of single statements (SQLite).
async fn store_reply_in_steps(
    store: &SeaStore,
    job: &ClaimedJob,
    reply: &Message,
) -> Result<Stored, RepoError> {
    let tx = begin(store).await?;
    let held = is_held(&tx, job).await?;
    let handed_off = held && is_handed_off(&tx, reply.conversation_id).await?;
    let reply = match handed_off {
        true => kept_unsent(reply),
        false => reply.clone(),
    };
    let inserted = held && insert_unless_conflict(&tx, &reply, same_reply()).await?;
    if !inserted {
        rollback(tx).await?;
        return Ok(Stored {
            held,
            delivering: false,
            handed_off: false,
        });
    }
    if !handed_off {
        let delivery = job.delivering(reply.id).payload;
        turned_into(job, &delivery)?
            .exec(&tx)
            .await
            .map_err(repo_err)?;
    }
    touch(&tx, reply.conversation_id, reply.created_at).await?;
    commit(tx).await?;
    Ok(Stored {
        held,
        delivering: !handed_off,
        handed_off,
    })
}

/// Whether conversation `id` is with a person.
async fn is_handed_off<C: ConnectionTrait>(tx: &C, id: ConversationId) -> Result<bool, RepoError> {
    use conversations::Column;
    let found = conversations::Entity::find_by_id(id.to_string())
        .filter(Column::Mode.eq(ConversationMode::Human.as_str()))
        .count(tx)
        .await
        .map_err(repo_err)?;
    Ok(found > 0)
}

pub(crate) async fn store_reply(
    store: &SeaStore,
    job: &ClaimedJob,
    reply: &Message,
) -> Result<ReplyStored, RepoError> {
    let stored = match store.backend() {
        DbBackend::Postgres => store_reply_at_once(store, job, reply).await?,
        _ => store_reply_in_steps(store, job, reply).await?,
    };
    Ok(match stored {
        Stored {
            delivering: true, ..
        } => ReplyStored::Delivering(job.delivering(reply.id)),
        Stored {
            handed_off: true, ..
        } => ReplyStored::HandedOff,
        Stored { held: true, .. } => ReplyStored::AlreadyAnswered,
        Stored { held: false, .. } => ReplyStored::LeaseLost,
    })
}

/// The values of [`MARK_SENT`].
fn marking(message_id: MessageId, external_id: Option<ExternalMessageId>) -> [Value; 3] {
    [
        message_id.to_string().into(),
        external_id.map(|id| id.as_str().to_owned()).into(),
        MessageStatus::Sent.as_str().into(),
    ]
}

pub(crate) async fn finish_delivery(
    store: &SeaStore,
    job: &ClaimedJob,
    message_id: MessageId,
    external_id: Option<ExternalMessageId>,
) -> Result<bool, RepoError> {
    match finish_once(store, job, message_id, external_id).await {
        // A concurrent delivery was given the same platform id and kept it first (the guard in
        // MARK_SENT cannot see an uncommitted row): the platform reused it, so its reports
        // cannot tell the two apart. The message was sent all the same: record it without.
        Err(RepoError::Duplicate(detail)) => {
            tracing::warn!(%message_id, %detail, "a platform message id was given twice; not kept");
            finish_once(store, job, message_id, None).await
        }
        finished => finished,
    }
}

async fn finish_once(
    store: &SeaStore,
    job: &ClaimedJob,
    message_id: MessageId,
    external_id: Option<ExternalMessageId>,
) -> Result<bool, RepoError> {
    let marks = marking(message_id, external_id);
    let backend = store.backend();
    if backend == DbBackend::Postgres {
        let [id, lease, at, _] = leaving(job.id, &job.lease.0, None);
        let values = marks.into_iter().chain([id, lease, at]);
        let sql = texts().finish_delivery.as_str();
        let statement = Statement::from_sql_and_values(backend, sql, values);
        return answer(store.db(), statement).await;
    }
    let tx = begin(store).await?;
    let mark = Statement::from_sql_and_values(backend, texts().mark_sent.as_str(), marks);
    tx.execute(mark).await.map_err(repo_err)?;
    let completed = delete_held(&tx, job).await?;
    commit_leaving(tx, &job.lane, completed).await
}
