//! A bot's activity summary: the `?from=&to=` range in, the counts out.

use crate::errors::ApiError;
use chrono::{DateTime, Utc};
use domain::{BotId, BotSummary, TimeRange};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `?from=&to=`: RFC 3339 instants, `from` inclusive and `to` exclusive, each optional.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    #[serde(default, deserialize_with = "super::time::rfc3339")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::time::rfc3339")]
    pub to: Option<DateTime<Utc>>,
}

impl SummaryQuery {
    /// The range; `from` after `to` is refused (422, naming `from`).
    pub fn range(&self) -> Result<TimeRange, ApiError> {
        Ok(TimeRange::new(self.from, self.to)?)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageCounts {
    pub inbound: u64,
    pub outbound: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCounts {
    pub prompt: u64,
    pub completion: u64,
    pub total: u64,
}

impl TokenCounts {
    pub fn new(prompt: u64, completion: u64) -> Self {
        Self {
            prompt,
            completion,
            total: prompt.saturating_add(completion),
        }
    }
}

/// `GET /api/v1/bots/{id}/summary`: what the bot did within the range (`null` bounds are open).
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryBody {
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub bot_id: BotId,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Conversations started in the range.
    pub conversations: u64,
    pub messages: MessageCounts,
    /// Outbound messages of the range whose delivery failed.
    pub failures: u64,
    pub tokens: TokenCounts,
    /// What the range's model replies cost, per currency (`{"EUR": 0.0123}`).
    #[schema(value_type = std::collections::BTreeMap<String, f64>)]
    pub costs: super::usage::Costs,
}

impl SummaryBody {
    pub fn new(bot_id: BotId, range: &TimeRange, summary: BotSummary) -> Self {
        Self {
            bot_id,
            from: range.from(),
            to: range.to(),
            conversations: summary.conversations,
            messages: MessageCounts {
                inbound: summary.inbound,
                outbound: summary.outbound,
            },
            failures: summary.failures,
            tokens: TokenCounts::new(summary.prompt_tokens, summary.completion_tokens),
            costs: super::usage::costs(&summary.costs),
        }
    }
}
