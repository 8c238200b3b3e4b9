//! A bot's budget (`{period, max_tokens?, max_cost?, per_user?, per_conversation?}`) and moderation (`{input, output, on_error}`) as the API takes and shows them, each part checked and refused naming its field.

use domain::moderation::{ModerationPolicy, OnError};
use domain::{Budget, Limit, Period, ValidationError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One limit over a UTC `day` or `month`: tokens, cost in the provider's currency, or both.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitBody {
    /// `day` or `month` (UTC).
    #[schema(value_type = String, pattern = "^(day|month)$")]
    pub period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub max_tokens: Option<i64>,
    /// In the currency of the provider's prices; only priced replies count toward it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(exclusive_minimum = 0.0)]
    pub max_cost: Option<f64>,
}

/// A bot's budget: its own limit (the top-level fields), and one per end user and per
/// conversation; each part optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetBody {
    /// The bot's own limit's period; needed when `max_tokens` or `max_cost` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, pattern = "^(day|month)$")]
    pub period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub max_tokens: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(exclusive_minimum = 0.0)]
    pub max_cost: Option<f64>,
    /// Each end user's limit (a platform chat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_user: Option<LimitBody>,
    /// Each conversation's limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_conversation: Option<LimitBody>,
}

impl LimitBody {
    /// The limit; a bad part is refused naming `field`.
    fn into_limit(self, field: &'static str) -> Result<Limit, ValidationError> {
        let period = match self.period.as_deref() {
            Some("day") => Period::Day,
            Some("month") => Period::Month,
            _ => {
                return Err(ValidationError::new(
                    field,
                    "period must be `day` or `month`",
                ))
            }
        };
        let max_tokens = match self.max_tokens {
            Some(tokens) => Some(u64::try_from(tokens).map_err(|_| {
                ValidationError::new(field, "max_tokens must be 1 to 1000000000000")
            })?),
            None => None,
        };
        Limit::new(field, period, max_tokens, self.max_cost)
    }

    fn from_limit(limit: Limit) -> Self {
        Self {
            period: Some(period_name(limit.period).to_owned()),
            max_tokens: limit.max_tokens.map(|t| t as i64),
            max_cost: limit.max_cost,
        }
    }
}

fn period_name(period: Period) -> &'static str {
    match period {
        Period::Day => "day",
        Period::Month => "month",
    }
}

impl BudgetBody {
    /// The domain budget; the bot's own limit exists when it names a maximum.
    pub fn into_budget(self) -> Result<Budget, ValidationError> {
        let own = LimitBody {
            period: self.period,
            max_tokens: self.max_tokens,
            max_cost: self.max_cost,
        };
        let names_a_maximum = own.max_tokens.is_some() || own.max_cost.is_some();
        let bot = if names_a_maximum {
            Some(own.into_limit("budget")?)
        } else if own.period.is_some() {
            return Err(ValidationError::new(
                "budget",
                "a period needs max_tokens, max_cost or both",
            ));
        } else {
            None
        };
        let nested = |limit: Option<LimitBody>, field| limit.map(|l| l.into_limit(field));
        Ok(Budget {
            bot,
            per_user: nested(self.per_user, "budget.per_user").transpose()?,
            per_conversation: nested(self.per_conversation, "budget.per_conversation")
                .transpose()?,
        })
    }

    /// The body of a budget; `None` for one that limits nothing.
    pub fn shown(budget: &Budget) -> Option<Self> {
        if budget.is_empty() {
            return None;
        }
        let own = budget.bot.map(LimitBody::from_limit).unwrap_or_default();
        Some(Self {
            period: own.period,
            max_tokens: own.max_tokens,
            max_cost: own.max_cost,
            per_user: budget.per_user.map(LimitBody::from_limit),
            per_conversation: budget.per_conversation.map(LimitBody::from_limit),
        })
    }
}

/// Which texts the provider's moderation checks, and what its outage means.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModerationBody {
    /// Check users' messages before the model sees them; absent, `false`.
    #[serde(default)]
    pub input: bool,
    /// Check the model's answers before they are sent; absent, `false`.
    #[serde(default)]
    pub output: bool,
    /// `allow` (the default: go on) or `refuse` (answer with the moderation message) when
    /// moderation does not answer.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^(allow|refuse)$")]
    pub on_error: Option<String>,
}

impl ModerationBody {
    pub fn into_policy(self) -> Result<ModerationPolicy, ValidationError> {
        let on_error = match self.on_error.as_deref() {
            None | Some("allow") => OnError::Allow,
            Some("refuse") => OnError::Refuse,
            Some(_) => {
                let reason = "must be `allow` or `refuse`";
                return Err(ValidationError::new("moderation.on_error", reason));
            }
        };
        Ok(ModerationPolicy {
            input: self.input,
            output: self.output,
            on_error,
        })
    }

    pub fn shown(policy: &ModerationPolicy) -> Self {
        let on_error = match policy.on_error {
            OnError::Allow => "allow",
            OnError::Refuse => "refuse",
        };
        Self {
            input: policy.input,
            output: policy.output,
            on_error: Some(on_error.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn budget(value: serde_json::Value) -> Result<Budget, ValidationError> {
        serde_json::from_value::<BudgetBody>(value)
            .unwrap()
            .into_budget()
    }

    #[test]
    fn a_budget_round_trips_and_an_empty_one_is_shown_as_none() {
        let body = json!({"period": "day", "max_tokens": 1000,
            "per_user": {"period": "month", "max_cost": 2.5}});
        let parsed = budget(body.clone()).unwrap();
        assert_eq!(parsed.bot.unwrap().max_tokens, Some(1000));
        let shown = serde_json::to_value(BudgetBody::shown(&parsed)).unwrap();
        assert_eq!(shown, body);
        assert!(BudgetBody::shown(&budget(json!({})).unwrap()).is_none());
    }

    #[test]
    fn moderation_defaults_to_off_and_allow_and_refuses_other_outage_answers() {
        let parse = |value| serde_json::from_value::<ModerationBody>(value).unwrap();
        let default = parse(json!({})).into_policy().unwrap();
        assert_eq!(default, ModerationPolicy::default());
        let refusing = parse(json!({"input": true, "on_error": "refuse"}));
        let policy = refusing.into_policy().unwrap();
        assert_eq!((policy.input, policy.on_error), (true, OnError::Refuse));
        let bad = parse(json!({"on_error": "panic"})).into_policy();
        assert_eq!(bad.unwrap_err().field, "moderation.on_error");
    }

    #[test]
    fn each_bad_part_is_refused_naming_its_field() {
        for (body, field) in [
            (json!({"period": "week", "max_tokens": 1}), "budget"),
            (json!({"max_tokens": 1}), "budget"),
            (json!({"period": "day"}), "budget"),
            (json!({"period": "day", "max_tokens": -5}), "budget"),
            (
                json!({"per_user": {"period": "day", "max_cost": 0}}),
                "budget.per_user",
            ),
            (
                json!({"per_conversation": {"max_tokens": 10}}),
                "budget.per_conversation",
            ),
        ] {
            assert_eq!(budget(body.clone()).unwrap_err().field, field, "{body}");
        }
    }
}
