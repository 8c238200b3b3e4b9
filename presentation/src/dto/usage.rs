//! What the model's replies cost, as the API shows it: one reply's, a conversation's, and a
//! bot's per day or month (`GET /api/v1/bots/{id}/usage`).

use super::summary::TokenCounts;
use chrono::{DateTime, NaiveDate, Utc};
use domain::usage::units;
use domain::{BotId, Cost, Grouping, TimeRange, TokenUsage, Usage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// Amounts per currency: `{"EUR": 0.0123}`; replies of unpriced models add none.
pub type Costs = BTreeMap<String, f64>;

/// Nanos per currency as amounts per currency.
pub fn costs(nanos: &BTreeMap<String, i64>) -> Costs {
    nanos
        .iter()
        .map(|(currency, nanos)| (currency.clone(), units(*nanos)))
        .collect()
}

/// A cost in a currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct CostBody {
    /// The currency the provider's prices name (`EUR`).
    pub currency: String,
    pub amount: f64,
}

/// What one model reply took: its tokens, and its cost when its provider prices the model.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyUsageBody {
    pub tokens: TokenCounts,
    pub cost: Option<CostBody>,
}

impl ReplyUsageBody {
    pub fn new(usage: TokenUsage, cost: Option<Cost>) -> Self {
        let (prompt, completion) = (usage.prompt_tokens, usage.completion_tokens);
        Self {
            tokens: TokenCounts::new(prompt.into(), completion.into()),
            cost: cost.map(|cost| CostBody {
                amount: units(cost.nanos),
                currency: cost.currency,
            }),
        }
    }
}

/// The model's replies over some scope: how many, their tokens and their costs.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageBody {
    pub replies: u64,
    pub tokens: TokenCounts,
    #[schema(value_type = BTreeMap<String, f64>)]
    pub costs: Costs,
}

impl From<Usage> for UsageBody {
    fn from(usage: Usage) -> Self {
        Self {
            replies: usage.replies,
            tokens: TokenCounts::new(usage.prompt_tokens, usage.completion_tokens),
            costs: costs(&usage.costs),
        }
    }
}

/// `?group_by=`, beside the summary's `?from=&to=`: UTC days (the default) or months.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupByQuery {
    #[serde(default)]
    #[param(value_type = Option<String>, pattern = "^(day|month)$")]
    pub group_by: Grouping,
}

/// One period of a usage series: its start (UTC midnight) and what was used in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodBody {
    pub start: DateTime<Utc>,
    pub usage: UsageBody,
}

/// `GET /api/v1/bots/{id}/usage`: the bot's model usage per period; periods without replies
/// are left out.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageSeriesBody {
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub bot_id: BotId,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    #[schema(value_type = String, pattern = "^(day|month)$")]
    pub group_by: Grouping,
    pub periods: Vec<PeriodBody>,
}

impl UsageSeriesBody {
    pub fn new(
        bot_id: BotId,
        range: &TimeRange,
        group_by: Grouping,
        days: &[(NaiveDate, Usage)],
    ) -> Self {
        let periods = group_by.fold(days);
        Self {
            bot_id,
            from: range.from(),
            to: range.to(),
            group_by,
            periods: (periods.into_iter())
                .map(|(start, usage)| PeriodBody {
                    start,
                    usage: usage.into(),
                })
                .collect(),
        }
    }
}
