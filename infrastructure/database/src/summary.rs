//! [`SummaryRepository`]: a bot's counts as one aggregate query, and the model's usage (replies, tokens, costs per currency) of a bot per day or of one conversation.

use crate::errors::{corrupt, repo_err};
use crate::mapping::millis;
use crate::SeaStore;
use async_trait::async_trait;
use chrono::NaiveDate;
use domain::repositories::SummaryRepository;
use domain::{BotId, BotSummary, ConversationId, RepoError, TimeRange, Usage};
use sea_orm::{ConnectionTrait, QueryResult, Statement, Value};

/// `$1` the bot, `[$2, $3)` the range in epoch milliseconds: the counts; the tokens and costs
/// come from [`USAGE`] over the same range. The index `messages_bot_created` keeps the scan to
/// the range's messages.
const SUMMARY: &str = "SELECT
    (SELECT COUNT(*) FROM conversations
        WHERE bot_id = $1 AND created_at >= $2 AND created_at < $3) AS conversations,
    COALESCE(SUM(CASE WHEN direction = 'inbound' THEN 1 ELSE 0 END), 0) AS inbound,
    COALESCE(SUM(CASE WHEN direction = 'outbound' THEN 1 ELSE 0 END), 0) AS outbound,
    COALESCE(SUM(CASE WHEN direction = 'outbound' AND status = 'failed' THEN 1 ELSE 0 END), 0)
        AS failures
FROM messages
WHERE bot_id = $1 AND created_at >= $2 AND created_at < $3";

/// The model's replies (only they carry tokens) matching `{scope}`, per currency and
/// `{day}`: their count, tokens and cost. PostgreSQL sums BIGINT as NUMERIC, hence the casts.
const USAGE: &str = "SELECT {day}cost_currency,
    COUNT(*) AS replies,
    CAST(COALESCE(SUM(prompt_tokens), 0) AS BIGINT) AS prompt_tokens,
    CAST(COALESCE(SUM(completion_tokens), 0) AS BIGINT) AS completion_tokens,
    CAST(COALESCE(SUM(cost_nanos), 0) AS BIGINT) AS cost_nanos
FROM messages
WHERE {scope} AND prompt_tokens IS NOT NULL
GROUP BY {group}cost_currency{order}";

/// Milliseconds in a day: `created_at / DAY_MILLIS` is the UTC day a message was created on.
const DAY_MILLIS: i64 = 86_400_000;

/// [`USAGE`] for `scope`, per UTC day or all together.
fn usage_sql(scope: &str, per_day: bool) -> String {
    let day = format!("(created_at / {DAY_MILLIS})");
    let (select, group, order) = if per_day {
        (
            format!("{day} AS day, "),
            format!("{day}, "),
            " ORDER BY day",
        )
    } else {
        (String::new(), String::new(), "")
    };
    USAGE
        .replace("{scope}", scope)
        .replace("{day}", &select)
        .replace("{group}", &group)
        .replace("{order}", order)
}

/// Adds one row of [`USAGE`] (one currency's replies) to `usage`.
fn add_row(usage: &mut Usage, row: &QueryResult) -> Result<(), RepoError> {
    usage.add(&Usage {
        replies: count(row, "replies")?,
        prompt_tokens: count(row, "prompt_tokens")?,
        completion_tokens: count(row, "completion_tokens")?,
        costs: Default::default(),
    });
    let currency: Option<String> = row.try_get("", "cost_currency").map_err(repo_err)?;
    if let Some(currency) = currency {
        let nanos: i64 = row.try_get("", "cost_nanos").map_err(repo_err)?;
        *usage.costs.entry(currency).or_default() += nanos;
    }
    Ok(())
}

/// The UTC day of a [`USAGE`] row.
fn day(row: &QueryResult) -> Result<NaiveDate, RepoError> {
    let index: i64 = row.try_get("", "day").map_err(repo_err)?;
    let start = chrono::DateTime::from_timestamp_millis(index.saturating_mul(DAY_MILLIS));
    start
        .map(|at| at.date_naive())
        .ok_or_else(|| corrupt("messages.created_at", format!("day {index}")))
}

/// The range's bounds as stored; an open side becomes the widest value.
fn bounds(range: &TimeRange) -> (i64, i64) {
    (
        range.from().map_or(i64::MIN, millis),
        range.to().map_or(i64::MAX, millis),
    )
}

/// A non-negative count from column `name`.
fn count(row: &QueryResult, name: &str) -> Result<u64, RepoError> {
    let value: i64 = row.try_get("", name).map_err(repo_err)?;
    u64::try_from(value).map_err(|e| corrupt(name, e))
}

/// The counts of a [`SUMMARY`] row, with the model's `usage` over the same range.
fn summary(row: &QueryResult, usage: Usage) -> Result<BotSummary, RepoError> {
    Ok(BotSummary {
        conversations: count(row, "conversations")?,
        inbound: count(row, "inbound")?,
        outbound: count(row, "outbound")?,
        failures: count(row, "failures")?,
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        costs: usage.costs,
    })
}

/// The scope of a bot's replies within a range: `$1` the bot, `[$2, $3)` the range.
const BOT_RANGE: &str = "bot_id = $1 AND created_at >= $2 AND created_at < $3";

fn bot_range(bot_id: BotId, range: &TimeRange) -> [Value; 3] {
    let (from, to) = bounds(range);
    [bot_id.to_string().into(), from.into(), to.into()]
}

impl SeaStore {
    /// The model's usage over the replies matching `scope`, all currencies' rows added up.
    async fn usage(&self, scope: &str, values: Vec<Value>) -> Result<Usage, RepoError> {
        let rows = self.usage_rows(usage_sql(scope, false), values).await?;
        let mut usage = Usage::default();
        for row in &rows {
            add_row(&mut usage, row)?;
        }
        Ok(usage)
    }

    async fn usage_rows(
        &self,
        sql: String,
        values: Vec<Value>,
    ) -> Result<Vec<QueryResult>, RepoError> {
        let query = Statement::from_sql_and_values(self.backend(), sql, values);
        self.db().query_all(query).await.map_err(repo_err)
    }
}

#[async_trait]
impl SummaryRepository for SeaStore {
    async fn summarize(&self, bot_id: BotId, range: &TimeRange) -> Result<BotSummary, RepoError> {
        let query =
            Statement::from_sql_and_values(self.backend(), SUMMARY, bot_range(bot_id, range));
        let row = self
            .db()
            .query_one(query)
            .await
            .map_err(repo_err)?
            .ok_or_else(|| RepoError::Other("the summary query returned no row".into()))?;
        let usage = self
            .usage(BOT_RANGE, bot_range(bot_id, range).into())
            .await?;
        summary(&row, usage)
    }

    async fn conversation_usage(&self, id: ConversationId) -> Result<Usage, RepoError> {
        self.usage("conversation_id = $1", vec![id.to_string().into()])
            .await
    }

    async fn daily_usage(
        &self,
        bot_id: BotId,
        range: &TimeRange,
    ) -> Result<Vec<(NaiveDate, Usage)>, RepoError> {
        let sql = usage_sql(BOT_RANGE, true);
        let rows = self
            .usage_rows(sql, bot_range(bot_id, range).into())
            .await?;
        let mut days: Vec<(NaiveDate, Usage)> = Vec::new();
        for row in &rows {
            let day = day(row)?;
            if days.last().is_none_or(|(last, _)| *last != day) {
                days.push((day, Usage::default()));
            }
            if let Some((_, usage)) = days.last_mut() {
                add_row(usage, row)?;
            }
        }
        Ok(days)
    }
}
