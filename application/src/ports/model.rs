//! The language-model port: a chat completion with the bot's prompt and the conversation so far.

use async_trait::async_trait;
pub use domain::TokenUsage;
use domain::{Cost, Provider, ProviderId};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnRole {
    User,
    Assistant,
}

/// One earlier (or the current) message of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatTurn {
    pub role: TurnRole,
    pub content: String,
}

/// What the model is asked; the last turn is the user's message to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The bot's provider; `None` asks the configured default (`ai.*`).
    pub provider_id: Option<ProviderId>,
    /// `None` uses the adapter's configured default model.
    pub model: Option<String>,
    pub temperature: Option<f32>,
    pub system_prompt: String,
    pub turns: Vec<ChatTurn>,
}

/// The model's answer, with the tokens it took when the provider reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub text: String,
    pub usage: Option<TokenUsage>,
    /// What the answer cost, when the provider prices the model it asked.
    pub cost: Option<Cost>,
}

impl Completion {
    /// An answer whose cost is unknown.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            usage: None,
            cost: None,
        }
    }
}

/// Why no answer came, after the adapter's own retries.
#[derive(Debug, Error)]
pub enum ModelError {
    /// Timeouts, 429s and 5xx that outlasted the retries.
    #[error("the model is unavailable: {0}")]
    Unavailable(String),
    /// The request itself was refused (4xx other than 429) or the answer was unusable.
    #[error("the model refused the request: {0}")]
    Rejected(String),
}

/// A text to check with the provider's moderation (`/moderations`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModerationRequest {
    /// The provider whose moderation is asked; `None`, the configured default's.
    pub provider_id: Option<ProviderId>,
    pub text: String,
}

/// The categories that flagged the text; empty when it passed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags(pub Vec<String>);

/// Where a streamed answer's text goes as the model writes it.
#[cfg_attr(test, mockall::automock)]
pub trait AnswerSink: Send + Sync {
    /// The answer's next piece.
    fn piece(&self, text: &str);
    /// The answer starts again from nothing: what came so far is void (a stream cut off
    /// mid-way is asked for again whole).
    fn restart(&self);
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait LanguageModel: Send + Sync {
    async fn complete(&self, request: &ChatRequest) -> Result<Completion, ModelError>;

    /// [`LanguageModel::complete`], handing the answer's pieces to `sink` as they come; the
    /// whole answer is still what it returns. A model that cannot stream gives no pieces.
    async fn stream(
        &self,
        request: &ChatRequest,
        sink: Arc<dyn AnswerSink>,
    ) -> Result<Completion, ModelError> {
        drop(sink);
        self.complete(request).await
    }

    /// Checks `request.text` with the provider's moderation.
    async fn moderate(&self, request: &ModerationRequest) -> Result<Flags, ModelError>;
}

/// Builds the client of a stored provider (its kind, address and key).
#[cfg_attr(test, mockall::automock)]
pub trait ModelFactory: Send + Sync {
    fn model_for(&self, provider: &Provider) -> Result<Arc<dyn LanguageModel>, ModelError>;
}
