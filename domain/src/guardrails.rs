//! A bot's guardrails: the rate limits and budgets that keep an open bot from being flooded or running up costs, the moderation of what goes in and out, and what users are told when one holds.

use crate::budget::{Budget, DEFAULT_BUDGET_MESSAGE};
use crate::moderation::{BlockedTerms, ModerationPolicy, DEFAULT_MODERATION_MESSAGE};
use crate::rate_limit::{RateLimits, DEFAULT_RATE_LIMIT_MESSAGE};
use serde::{Deserialize, Serialize};

/// The per-bot limits; the default limits only each user's rate ([`RateLimits::default`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Guardrails {
    #[serde(default)]
    pub budget: Budget,
    /// Sent instead of asking the model once a budget is spent; `None` uses
    /// [`DEFAULT_BUDGET_MESSAGE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_message: Option<String>,
    #[serde(default)]
    pub moderation: ModerationPolicy,
    #[serde(default)]
    pub blocked_terms: BlockedTerms,
    /// Sent instead of an answer to a flagged message, and instead of a flagged answer;
    /// `None` uses [`DEFAULT_MODERATION_MESSAGE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderation_message: Option<String>,
    #[serde(default)]
    pub rate_limit: RateLimits,
    /// Told (at most once a window) to a user over the rate limit; `None` uses
    /// [`DEFAULT_RATE_LIMIT_MESSAGE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_message: Option<String>,
}

impl Guardrails {
    /// What a user is told when a budget is spent.
    pub fn budget_message(&self) -> &str {
        self.budget_message
            .as_deref()
            .unwrap_or(DEFAULT_BUDGET_MESSAGE)
    }

    /// What a user is told when their message or the model's answer is flagged.
    pub fn moderation_message(&self) -> &str {
        self.moderation_message
            .as_deref()
            .unwrap_or(DEFAULT_MODERATION_MESSAGE)
    }

    /// What a user over the rate limit is told.
    pub fn rate_limit_message(&self) -> &str {
        self.rate_limit_message
            .as_deref()
            .unwrap_or(DEFAULT_RATE_LIMIT_MESSAGE)
    }
}
