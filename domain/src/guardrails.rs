//! A bot's guardrails: the limits that keep an open bot from running up costs, and what users are told when one holds.

use crate::budget::{Budget, DEFAULT_BUDGET_MESSAGE};
use serde::{Deserialize, Serialize};

/// The per-bot limits; the default limits nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Guardrails {
    #[serde(default)]
    pub budget: Budget,
    /// Sent instead of asking the model once a budget is spent; `None` uses
    /// [`DEFAULT_BUDGET_MESSAGE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_message: Option<String>,
}

impl Guardrails {
    /// What a user is told when a budget is spent.
    pub fn budget_message(&self) -> &str {
        self.budget_message
            .as_deref()
            .unwrap_or(DEFAULT_BUDGET_MESSAGE)
    }
}
