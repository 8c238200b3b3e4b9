//! The web chat's WebSocket frames (JSON text, as DESIGN.md fixes them) and the per-socket limits.

use crate::dto::MessageBody;
use domain::{ConversationId, ExternalMessageId, ValidationError};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// The largest frame a visitor may send, in bytes.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;
/// The longest `client_id`, in bytes.
const MAX_CLIENT_ID: usize = 64;

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
        conversation_id: Option<ConversationId>,
        history: Vec<MessageBody>,
    },
    Message {
        message: MessageBody,
    },
    Typing,
    Error {
        code: &'static str,
        detail: String,
    },
}

impl ServerFrame {
    pub fn error(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Error {
            code,
            detail: detail.into(),
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

/// A token bucket: `burst` messages at once, then one per `every`.
#[derive(Debug)]
pub struct RateLimit {
    tokens: f64,
    burst: f64,
    every: Duration,
    last: Instant,
}

impl RateLimit {
    pub fn new(burst: u32, every: Duration) -> Self {
        Self {
            tokens: f64::from(burst),
            burst: f64::from(burst),
            every,
            last: Instant::now(),
        }
    }

    /// Takes a token if there is one at `now`.
    pub fn allow(&mut self, now: Instant) -> bool {
        let refill = now.duration_since(self.last).as_secs_f64() / self.every.as_secs_f64();
        self.tokens = (self.tokens + refill).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_one_per_period() {
        let start = Instant::now();
        let mut limit = RateLimit::new(3, Duration::from_secs(1));
        assert!((0..3).all(|_| limit.allow(start)));
        assert!(!limit.allow(start));
        assert!(!limit.allow(start + Duration::from_millis(500)));
        assert!(limit.allow(start + Duration::from_millis(1000)));
        assert!(!limit.allow(start + Duration::from_millis(1100)));
        assert!((0..3).all(|_| limit.allow(start + Duration::from_secs(60))));
    }

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
    }
}
