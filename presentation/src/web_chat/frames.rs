//! The web chat's WebSocket frames (JSON text, as DESIGN.md fixes them).

use crate::dto::MessageBody;
use crate::errors::ApiError;
use application::web_chat::retry_after_secs;
use domain::{ConversationId, ExternalMessageId, MessageId, ValidationError};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The largest frame a visitor may send, in bytes.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;
/// The longest `client_id`, in bytes.
pub const MAX_CLIENT_ID: usize = 64;

/// What the page sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// `{type: "message", text, client_id?}`: a resend with the same `client_id` is stored once.
    Message {
        text: String,
        #[serde(default)]
        client_id: Option<String>,
    },
}

/// What the server pushes.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Hello {
        visitor_id: String,
        /// The credential for the visitor's history: the page keeps it and sends it back as
        /// `?visitor_token=` (`visitor_id` stays for clients written before tokens).
        visitor_token: String,
        conversation_id: Option<ConversationId>,
        history: Vec<MessageBody>,
    },
    Message {
        message: Box<MessageBody>,
    },
    Typing,
    /// The next piece of the reply to `reply_to` as the model writes it; the page shows the
    /// pieces joined until the reply's own `message` frame replaces them.
    ReplyDelta {
        reply_to: MessageId,
        delta: String,
    },
    /// The reply to `reply_to` starts again: the pieces shown so far are void.
    ReplyRestart {
        reply_to: MessageId,
    },
    Error {
        code: &'static str,
        detail: String,
        /// Whole seconds to wait before sending again (`rate_limited` only).
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
}

impl ServerFrame {
    pub fn error(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Error {
            code,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// The message was not stored: the visitor's or the address's allowance is spent.
    pub fn rate_limited(wait: Duration) -> Self {
        let problem = ApiError::RateLimited { retry_after: wait };
        Self::Error {
            code: problem.code(),
            detail: problem.to_string(),
            retry_after: Some(retry_after_secs(wait)),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The external id of a visitor's message: scoped to the visitor, from the page's `client_id`
/// when it gives one (so a resend is a duplicate), else fresh.
pub fn external_id(
    visitor: &str,
    client_id: Option<&str>,
) -> Result<ExternalMessageId, ValidationError> {
    let id = match client_id {
        Some(id) => {
            let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
            if id.is_empty() || id.len() > MAX_CLIENT_ID || !id.chars().all(allowed) {
                return Err(ValidationError::new(
                    "client_id",
                    format!("must be 1-{MAX_CLIENT_ID} characters of A-Z, a-z, 0-9, - and _"),
                ));
            }
            id.to_owned()
        }
        None => uuid::Uuid::now_v7().to_string(),
    };
    ExternalMessageId::parse(format!("{visitor}:{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_make_resends_the_same_message_and_are_checked() {
        let a = external_id("v1", Some("abc-1")).unwrap();
        assert_eq!(a, external_id("v1", Some("abc-1")).unwrap());
        assert_ne!(a, external_id("v2", Some("abc-1")).unwrap());
        assert_ne!(
            external_id("v1", None).unwrap(),
            external_id("v1", None).unwrap()
        );
        for bad in ["", "has space", "x/y", &"x".repeat(65)] {
            assert_eq!(external_id("v", Some(bad)).unwrap_err().field, "client_id");
        }
    }

    #[test]
    fn frames_have_the_documented_shapes() {
        let frame: ClientFrame = serde_json::from_str(r#"{"type":"message","text":"hi"}"#).unwrap();
        assert!(
            matches!(frame, ClientFrame::Message { ref text, client_id: None } if text == "hi")
        );
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"shout","text":"hi"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"message"}"#).is_err());
        assert_eq!(ServerFrame::Typing.to_json(), r#"{"type":"typing"}"#);
        let error: serde_json::Value =
            serde_json::from_str(&ServerFrame::error("rate_limited", "slow down").to_json())
                .unwrap();
        assert_eq!(error["type"], "error");
        assert_eq!(error["code"], "rate_limited");
        assert_eq!(error["detail"], "slow down");
        assert!(error.get("retry_after").is_none());
        let limited: serde_json::Value =
            serde_json::from_str(&ServerFrame::rate_limited(Duration::from_millis(1500)).to_json())
                .unwrap();
        assert_eq!(limited["code"], "rate_limited");
        assert_eq!(limited["retry_after"], 2);
    }
}
