//! How a bot answers beyond its prompt: how long it lets a chat's burst of short messages run on before answering them together, what it sends where WhatsApp's 24-hour window has closed, whether chats see a reply as it is written, whether its model sees photos, and the MCP servers whose tools it may call.

use crate::{McpServer, Template, ValidationError};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A bot's reply settings; by default it answers each message at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyStyle {
    /// How long after a chat's latest message the bot waits before asking the model, answering
    /// everything that came in the meantime in one reply; 0: no wait.
    #[serde(default)]
    pub debounce_ms: u32,
    /// Sent on WhatsApp in place of a text (a late reply, an operator's message) when the
    /// chat's 24-hour window has closed; without one, such a text is not sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_template: Option<Template>,
    /// On platforms that can show a message being written (Telegram's drafts), the reply is
    /// shown as the model writes it; the web chat always shows it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub streaming: bool,
    /// Photos users send are shown to the model (one that reads images); otherwise they are
    /// answered with the canned text for what the bot cannot read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub vision: bool,
    /// The MCP servers whose tools the model may call while it writes a reply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_servers: Vec<McpServer>,
}

impl ReplyStyle {
    /// The longest wait a bot may name: a minute.
    pub const MAX_DEBOUNCE_MS: u32 = 60_000;

    pub fn new(
        debounce_ms: u32,
        window_template: Option<Template>,
    ) -> Result<Self, ValidationError> {
        if debounce_ms > Self::MAX_DEBOUNCE_MS {
            return Err(ValidationError::new("debounce_ms", "must be 0 to 60000"));
        }
        Ok(Self {
            debounce_ms,
            window_template,
            streaming: false,
            vision: false,
            mcp_servers: Vec::new(),
        })
    }

    /// The same, streamed or not.
    pub fn streamed(self, streaming: bool) -> Self {
        Self { streaming, ..self }
    }

    /// The same, seeing photos or not.
    pub fn seeing(self, vision: bool) -> Self {
        Self { vision, ..self }
    }

    /// The same, with tools from `servers` (checked).
    pub fn with_tools(self, mcp_servers: Vec<McpServer>) -> Result<Self, ValidationError> {
        McpServer::check_all(&mcp_servers)?;
        Ok(Self {
            mcp_servers,
            ..self
        })
    }

    pub fn debounce(&self) -> Duration {
        Duration::from_millis(u64::from(self.debounce_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_debounce_is_at_most_a_minute_and_absent_is_none() {
        assert_eq!(
            ReplyStyle::new(1500, None).unwrap().debounce(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            ReplyStyle::new(60_001, None).unwrap_err().field,
            "debounce_ms"
        );
        let stored: ReplyStyle = serde_json::from_str("{}").unwrap();
        assert_eq!(stored, ReplyStyle::default());
    }
}
