//! [`SummaryRepository`] as one aggregate query over a bot's conversations and messages.

use crate::errors::{corrupt, repo_err};
use crate::mapping::millis;
use crate::SeaStore;
use async_trait::async_trait;
use domain::repositories::SummaryRepository;
use domain::{BotId, BotSummary, RepoError, TimeRange};
use sea_orm::{ConnectionTrait, QueryResult, Statement, Value};

/// `$1` the bot, `[$2, $3)` the range in epoch milliseconds. Replies are the only messages that
/// carry token counts; the index `messages_bot_created` keeps the scan to the range's messages.
const SUMMARY: &str = "SELECT
    (SELECT COUNT(*) FROM conversations
        WHERE bot_id = $1 AND created_at >= $2 AND created_at < $3) AS conversations,
    COALESCE(SUM(CASE WHEN direction = 'inbound' THEN 1 ELSE 0 END), 0) AS inbound,
    COALESCE(SUM(CASE WHEN direction = 'outbound' THEN 1 ELSE 0 END), 0) AS outbound,
    COALESCE(SUM(CASE WHEN direction = 'outbound' AND status = 'failed' THEN 1 ELSE 0 END), 0)
        AS failures,
    COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,
    COALESCE(SUM(completion_tokens), 0) AS completion_tokens
FROM messages
WHERE bot_id = $1 AND created_at >= $2 AND created_at < $3";

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

fn summary(row: &QueryResult) -> Result<BotSummary, RepoError> {
    Ok(BotSummary {
        conversations: count(row, "conversations")?,
        inbound: count(row, "inbound")?,
        outbound: count(row, "outbound")?,
        failures: count(row, "failures")?,
        prompt_tokens: count(row, "prompt_tokens")?,
        completion_tokens: count(row, "completion_tokens")?,
    })
}

#[async_trait]
impl SummaryRepository for SeaStore {
    async fn summarize(&self, bot_id: BotId, range: &TimeRange) -> Result<BotSummary, RepoError> {
        let (from, to) = bounds(range);
        let values: [Value; 3] = [bot_id.to_string().into(), from.into(), to.into()];
        let query = Statement::from_sql_and_values(self.backend(), SUMMARY, values);
        let row = self
            .db()
            .query_one(query)
            .await
            .map_err(repo_err)?
            .ok_or_else(|| RepoError::Other("the summary query returned no row".into()))?;
        summary(&row)
    }
}
