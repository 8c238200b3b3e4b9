//! Tunables of the message pipeline, passed in by value from configuration.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct PipelineSettings {
    /// How many recent messages are read to build the model's history.
    pub history_messages: u32,
    /// The history sent to the model stays within this many (estimated) tokens.
    pub history_token_budget: usize,
    /// A job that failed this many times is dead-lettered.
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// How long a claimed job is held without a heartbeat.
    pub lease: Duration,
    /// While the model works, "typing…" is shown again this often (Telegram's lasts about
    /// 5 s); zero shows it once, without renewing it.
    pub typing_interval: Duration,
    /// How long a webhook's binding lookup is served from memory (see `CachedBindings`);
    /// other replicas see a binding change after at most this long.
    pub binding_cache_ttl: Duration,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        Self {
            history_messages: 50,
            history_token_budget: 3_000,
            max_attempts: 8,
            retry_base: Duration::from_secs(1),
            retry_cap: Duration::from_secs(300),
            lease: Duration::from_secs(30),
            typing_interval: Duration::from_secs(4),
            binding_cache_ttl: Duration::from_secs(5),
        }
    }
}
