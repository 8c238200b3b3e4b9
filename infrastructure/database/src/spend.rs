//! [`SpendRepository`] as one statement: a `UNION ALL` of one sum per budget limit, over the replies of the bot, of a chat's conversations, or of one conversation.

use crate::errors::{corrupt, repo_err};
use crate::mapping::millis;
use crate::SeaStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::repositories::{SpendKey, SpendRepository};
use domain::{RepoError, Scope, Spent};
use sea_orm::{ConnectionTrait, QueryResult, Statement, Value};

/// One limit's part: `{part}` its position, `{scope}` which replies, `{since}` the period's
/// start. Only the model's replies carry tokens; costs are summed per currency.
const PART: &str = "SELECT CAST({part} AS BIGINT) AS part,
    CAST(COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS BIGINT) AS tokens,
    CAST(COALESCE(SUM(cost_nanos), 0) AS BIGINT) AS nanos
FROM messages
WHERE {scope} AND created_at >= {since} AND prompt_tokens IS NOT NULL
GROUP BY cost_currency";

/// The statement's text and values, numbering the placeholders as they are added.
#[derive(Default)]
struct Query {
    parts: Vec<String>,
    values: Vec<Value>,
}

impl Query {
    /// A placeholder for `value`.
    fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    /// Which replies `scope` of `key` covers.
    fn scope(&mut self, scope: Scope, key: &SpendKey) -> String {
        match scope {
            Scope::Bot => format!("bot_id = {}", self.bind(key.bot_id.to_string())),
            Scope::Conversation => format!(
                "conversation_id = {}",
                self.bind(key.conversation_id.to_string())
            ),
            // A user's spending is their chat's, over all its conversations with the bot
            // (the index `conversations_chat` finds them).
            Scope::User => format!(
                "conversation_id IN (SELECT id FROM conversations \
                 WHERE bot_id = {} AND platform = {} AND external_chat_id = {})",
                self.bind(key.bot_id.to_string()),
                self.bind(key.platform.as_str()),
                self.bind(key.chat.as_str().to_owned()),
            ),
        }
    }

    fn part(&mut self, index: usize, scope: Scope, key: &SpendKey, since: DateTime<Utc>) {
        let scope = self.scope(scope, key);
        let since = self.bind(millis(since));
        let part = PART
            .replace("{part}", &index.to_string())
            .replace("{scope}", &scope)
            .replace("{since}", &since);
        self.parts.push(part);
    }
}

/// A non-negative sum from column `name`.
fn sum(row: &QueryResult, name: &str) -> Result<i64, RepoError> {
    let value: i64 = row.try_get("", name).map_err(repo_err)?;
    if value < 0 {
        return Err(corrupt(name, format!("a negative sum: {value}")));
    }
    Ok(value)
}

/// Adds one currency's row to its part: tokens add up, the cost is the largest currency's.
fn add(spent: &mut [Spent], row: &QueryResult) -> Result<(), RepoError> {
    let part: i64 = row.try_get("", "part").map_err(repo_err)?;
    let index = usize::try_from(part).map_err(|e| corrupt("part", e))?;
    let slot = spent
        .get_mut(index)
        .ok_or_else(|| corrupt("part", format!("no part {index}")))?;
    slot.tokens = slot.tokens.saturating_add(sum(row, "tokens")? as u64);
    slot.nanos = slot.nanos.max(sum(row, "nanos")?);
    Ok(())
}

#[async_trait]
impl SpendRepository for SeaStore {
    async fn spent(
        &self,
        key: &SpendKey,
        periods: &[(Scope, DateTime<Utc>)],
    ) -> Result<Vec<Spent>, RepoError> {
        let mut spent = vec![Spent::default(); periods.len()];
        if periods.is_empty() {
            return Ok(spent);
        }
        let mut query = Query::default();
        for (index, (scope, since)) in periods.iter().enumerate() {
            query.part(index, *scope, key, *since);
        }
        let sql = query.parts.join("\nUNION ALL\n");
        let statement = Statement::from_sql_and_values(self.backend(), sql, query.values);
        let rows = self.db().query_all(statement).await.map_err(repo_err)?;
        for row in &rows {
            add(&mut spent, row)?;
        }
        Ok(spent)
    }
}
