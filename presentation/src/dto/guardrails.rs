//! A bot's budget (`{period, max_tokens?, max_cost?, per_user?, per_conversation?}`), moderation (`{input, output, on_error}`) and rate limit (`{per_user?, per_bot?}`) as the API takes and shows them, each part checked and refused naming its field.

use domain::moderation::{ModerationPolicy, OnError};
use domain::{Allowance, Budget, Limit, Period, RateLimits, ValidationError};
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

/// `messages` per `per_seconds` on average, up to `burst` at once.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowanceBody {
    #[schema(minimum = 1, maximum = 1000000)]
    pub messages: i64,
    #[schema(minimum = 1, maximum = 86400)]
    pub per_seconds: i64,
    /// How many may come at once; absent, `messages`.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000000)]
    pub burst: Option<i64>,
}

/// Each end user's (a platform chat) and the whole bot's allowance of messages; beyond one,
/// a message is stored as `rate_limited`, not answered, and the user told once a window. An
/// absent part takes its default (per user: 20 per 60 s, 10 at once; per bot: none), `null`
/// turns it off.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitBody {
    #[serde(default, deserialize_with = "super::patch::present")]
    #[schema(value_type = Option<AllowanceBody>)]
    pub per_user: Option<Option<AllowanceBody>>,
    #[serde(default, deserialize_with = "super::patch::present")]
    #[schema(value_type = Option<AllowanceBody>)]
    pub per_bot: Option<Option<AllowanceBody>>,
}

impl AllowanceBody {
    fn into_allowance(self, field: &'static str) -> Result<Allowance, ValidationError> {
        let count = |value: i64| u32::try_from(value).unwrap_or(0);
        let burst = self.burst.map(count);
        Allowance::new(field, count(self.messages), count(self.per_seconds), burst)
    }

    fn from_allowance(allowance: Allowance) -> Self {
        Self {
            messages: allowance.messages.into(),
            per_seconds: allowance.per_seconds.into(),
            burst: Some(allowance.burst.into()),
        }
    }
}

impl RateLimitBody {
    pub fn into_limits(self) -> Result<RateLimits, ValidationError> {
        let default = RateLimits::default();
        let part = |given: Option<Option<AllowanceBody>>, default, field| match given {
            None => Ok(default),
            Some(None) => Ok(None),
            Some(Some(body)) => body.into_allowance(field).map(Some),
        };
        Ok(RateLimits {
            per_user: part(self.per_user, default.per_user, "rate_limit.per_user")?,
            per_bot: part(self.per_bot, default.per_bot, "rate_limit.per_bot")?,
        })
    }

    pub fn shown(limits: &RateLimits) -> Self {
        let part =
            |allowance: Option<Allowance>| Some(allowance.map(AllowanceBody::from_allowance));
        Self {
            per_user: part(limits.per_user),
            per_bot: part(limits.per_bot),
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
    fn a_rate_limit_takes_defaults_for_absent_parts_and_null_turns_one_off() {
        let parse = |value| serde_json::from_value::<RateLimitBody>(value).unwrap();
        assert_eq!(
            parse(json!({})).into_limits().unwrap(),
            RateLimits::default()
        );
        let limits =
            parse(json!({"per_user": null, "per_bot": {"messages": 100, "per_seconds": 60}}));
        let limits = limits.into_limits().unwrap();
        assert_eq!(limits.per_user, None);
        assert_eq!(limits.per_bot.unwrap().burst, 100);
        let shown = serde_json::to_value(RateLimitBody::shown(&limits)).unwrap();
        let expected = json!({"per_user": null,
            "per_bot": {"messages": 100, "per_seconds": 60, "burst": 100}});
        assert_eq!(shown, expected);
        for (body, field) in [
            (
                json!({"per_user": {"messages": 0, "per_seconds": 60}}),
                "rate_limit.per_user",
            ),
            (
                json!({"per_bot": {"messages": 5, "per_seconds": -1}}),
                "rate_limit.per_bot",
            ),
            (
                json!({"per_bot": {"messages": 5, "per_seconds": 9, "burst": 0}}),
                "rate_limit.per_bot",
            ),
        ] {
            let refused = parse(body.clone()).into_limits().unwrap_err();
            assert_eq!(refused.field, field, "{body}");
        }
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
