//! The language-model port: a chat completion with the bot's prompt and the conversation so far, and the tools the model may call on the way.

use async_trait::async_trait;
pub use domain::TokenUsage;
use domain::{Cost, Provider, ProviderId, ToolUse};
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

/// A tool offered to the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// The JSON Schema of its arguments, as JSON text.
    pub parameters: String,
}

/// A tool call the model asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// The model's id of the call, quoted back with its result.
    pub id: String,
    pub name: String,
    /// The arguments, as the JSON text the model wrote.
    pub arguments: String,
}

/// The calls of one of the model's answers, and what each gave back (in the same order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolStep {
    pub calls: Vec<ToolCall>,
    pub results: Vec<String>,
}

/// A picture shown to the model, checked to be an image of a known type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// `image/jpeg`, `image/png`, `image/gif` or `image/webp`.
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
}

/// What the model is asked; the last turn is the user's message to answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// The bot's provider; `None` asks the configured default (`ai.*`).
    pub provider_id: Option<ProviderId>,
    /// `None` uses the adapter's configured default model.
    pub model: Option<String>,
    pub temperature: Option<f32>,
    pub system_prompt: String,
    pub turns: Vec<ChatTurn>,
    /// Pictures that come with the last turn (a photo the user sent).
    pub images: Vec<Image>,
    /// The tools the model may call; empty, none.
    pub tools: Vec<ToolSpec>,
    /// The tool calls already made for this answer, with their results, after the turns.
    pub tool_steps: Vec<ToolStep>,
    /// The model must answer now, without another call (the reply's steps are spent).
    pub tools_closed: bool,
}

/// The model's answer, with the tokens it took when the provider reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    pub text: String,
    pub usage: Option<TokenUsage>,
    /// What the answer cost, when the provider prices the model it asked.
    pub cost: Option<Cost>,
    /// The tools the model asks to call before it answers; empty, `text` is the answer.
    pub tool_calls: Vec<ToolCall>,
    /// The calls made on the way to this answer, as the reply keeps them.
    pub tool_uses: Vec<ToolUse>,
}

impl Completion {
    /// An answer whose cost is unknown.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
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
