//! Settings of the OpenAI-compatible adapter: endpoint, credentials, timeouts and retry policy.

use domain::Secret;
use std::time::Duration;

/// Where and how to call the chat-completions API; passed by value from configuration.
#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    /// The API root, e.g. `https://api.openai.com/v1`; `/chat/completions` is appended.
    pub base_url: String,
    /// Sent as `Authorization: Bearer …` (or Azure's `api-key`) when set; redacted in `Debug`.
    pub api_key: Option<Secret>,
    /// How the key is sent.
    pub key_header: KeyHeader,
    /// Query parameters every request carries (Azure's `api-version`).
    pub query: Vec<(String, String)>,
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
            key_header: KeyHeader::Bearer,
            query: Vec::new(),
            default_model: "gpt-4o-mini".to_owned(),
            timeout: Duration::from_secs(60),
            max_retries: 3,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(8),
        }
    }
}

/// Where the key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyHeader {
    /// `Authorization: Bearer <key>`: OpenAI and the compatible endpoints.
    Bearer,
    /// `api-key: <key>`: Azure OpenAI.
    AzureApiKey,
}
