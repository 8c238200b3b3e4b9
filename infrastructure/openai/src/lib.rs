//! The language-model port over an OpenAI-compatible chat-completions API, and the echo fallback.

mod echo;
mod model;
mod providers;
mod settings;
mod span;
mod stream;
mod wire;

pub use echo::{EchoModel, ECHO_MODEL};
pub use model::{BuildError, OpenAiModel};
pub use providers::{ProviderClients, AZURE_API_VERSION};
pub use settings::{KeyHeader, OpenAiSettings};
