//! Settings of the OpenAI-compatible adapter: endpoint, credentials, timeouts and retry policy.

use std::time::Duration;

/// Where and how to call the chat-completions API; passed by value from configuration.
#[derive(Clone)]
pub struct OpenAiSettings {
    /// The API root, e.g. `https://api.openai.com/v1`; `/chat/completions` is appended.
    pub base_url: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    /// Used when a request names no model.
    pub default_model: String,
    /// The limit for one HTTP attempt, connection and body included.
    pub timeout: Duration,
    /// Retries after the first attempt, for 408, 429, 5xx, timeouts and network errors.
    pub max_retries: u32,
    /// The first retry's nominal delay; it doubles per retry.
    pub backoff_base: Duration,
    /// No computed delay exceeds this.
    pub backoff_cap: Duration,
}

impl Default for OpenAiSettings {
    fn default() -> Self {
        Self {
            base_url: "https://api.openai.com/v1".to_owned(),
            api_key: None,
            default_model: "gpt-4o-mini".to_owned(),
            timeout: Duration::from_secs(30),
            max_retries: 3,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(8),
        }
    }
}

impl std::fmt::Debug for OpenAiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiSettings")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("default_model", &self.default_model)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_cap", &self.backoff_cap)
            .finish()
    }
}
