//! The events socket's frames (JSON text): what a client may send, and what the server pushes.

use application::Replay;
use chrono::{DateTime, SecondsFormat, Utc};
use domain::{
    BotId, ConversationId, DomainEvent, EventId, MessageId, PlatformKind, PublishedEvent, Scope,
};
use serde::{Deserialize, Serialize};

/// The largest frame a client may send, in bytes.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

/// The codes of the error frames that are the socket's own (the others, `unauthenticated`
/// and `unavailable`, are those of the same refusals over HTTP).
pub mod codes {
    pub const UNKNOWN_TOPIC: &str = "unknown_topic";
    pub const TOO_MANY_TOPICS: &str = "too_many_topics";
    pub const READ_ONLY: &str = "read_only";
    pub const MALFORMED_FRAME: &str = "malformed_frame";
    pub const UNSUPPORTED_FRAME: &str = "unsupported_frame";
    pub const FRAME_TOO_LARGE: &str = "frame_too_large";
    pub const ALREADY_AUTHENTICATED: &str = "already_authenticated";

    pub const ALL: [&str; 7] = [
        UNKNOWN_TOPIC,
        TOO_MANY_TOPICS,
        READ_ONLY,
        MALFORMED_FRAME,
        UNSUPPORTED_FRAME,
        FRAME_TOO_LARGE,
        ALREADY_AUTHENTICATED,
    ];
}

/// What a client sends. Nothing here changes state: the socket only follows.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// `{type: "auth", key}`: the API key, for browsers, which cannot set headers on a socket.
    Auth { key: String },
    /// Follow these topics too (`bots/{id}`, `conversations/{id}`, `handoffs`).
    Subscribe { topics: Vec<String> },
    /// Stop following these topics.
    Unsubscribe { topics: Vec<String> },
}

/// What the server pushes.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The key was accepted: what it may see.
    Ready {
        role: &'static str,
    },
    /// The topics now followed, after a `subscribe` or `unsubscribe`.
    Subscribed {
        topics: Vec<String>,
    },
    Event {
        event: EventBody,
    },
    /// The end of a replay (`?after=`): how many events it held, and whether some may be
    /// missing (away longer than the window, or more than a replay holds).
    Replayed {
        count: usize,
        complete: bool,
    },
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

    pub fn replayed(replay: &Replay) -> Self {
        Self::Replayed {
            count: replay.events.len(),
            complete: replay.complete,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One event, as operators' clients (and the outgoing webhooks) see it.
#[derive(Debug, Serialize)]
pub struct EventBody {
    /// Time-ordered: reconnect with `?after=` the last one seen.
    pub id: EventId,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub created_at: String,
    pub data: EventData,
}

#[derive(Debug, Serialize)]
pub struct EventData {
    pub bot_id: BotId,
    pub conversation_id: ConversationId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformKind>,
    /// For budget events: whose limit (`bot`, `user`, `conversation`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// For `budget.threshold`: the share of the limit reached (50, 80, 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
}

impl EventBody {
    /// The body of an event with a public name; `None` for the pipeline's inner steps.
    pub fn of(published: &PublishedEvent) -> Option<Self> {
        let event = &published.event;
        Some(Self {
            id: published.id,
            kind: event.public_name()?,
            created_at: timestamp(published.at),
            data: EventData {
                bot_id: event.bot_id(),
                conversation_id: event.conversation_id(),
                message_id: message_of(event),
                platform: platform_of(event),
                scope: scope_of(event),
                percent: match event {
                    DomainEvent::BudgetThreshold { percent, .. } => Some(*percent),
                    _ => None,
                },
            },
        })
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn message_of(event: &DomainEvent) -> Option<MessageId> {
    match event {
        DomainEvent::MessageReceived { message_id, .. }
        | DomainEvent::ReplyStarted { message_id, .. }
        | DomainEvent::ReplyStored { message_id, .. }
        | DomainEvent::OperatorMessageStored { message_id, .. }
        | DomainEvent::MessageDelivered { message_id, .. }
        | DomainEvent::DeliveryFailed { message_id, .. }
        | DomainEvent::MessageRateLimited { message_id, .. } => Some(*message_id),
        _ => None,
    }
}

fn scope_of(event: &DomainEvent) -> Option<Scope> {
    match event {
        DomainEvent::BudgetThreshold { scope, .. } | DomainEvent::BudgetRefused { scope, .. } => {
            Some(*scope)
        }
        _ => None,
    }
}

fn platform_of(event: &DomainEvent) -> Option<PlatformKind> {
    match event {
        DomainEvent::MessageReceived { platform, .. }
        | DomainEvent::ConversationStarted { platform, .. } => Some(*platform),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn an_event_frame_has_the_documented_shape() {
        let (bot_id, conversation_id, message_id) =
            (BotId::new(), ConversationId::new(), MessageId::new());
        let id = EventId::new();
        let published = PublishedEvent {
            id,
            at: id.created_at().unwrap(),
            event: DomainEvent::MessageReceived {
                bot_id,
                conversation_id,
                message_id,
                platform: PlatformKind::Telegram,
            },
        };
        let frame = ServerFrame::Event {
            event: EventBody::of(&published).unwrap(),
        };
        let frame: Value = serde_json::from_str(&frame.to_json()).unwrap();
        assert_eq!(frame["type"], "event");
        let event = &frame["event"];
        assert_eq!(event["id"], id.to_string());
        assert_eq!(event["type"], "message.received");
        assert!(event["created_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(event["data"]["bot_id"], bot_id.to_string());
        assert_eq!(event["data"]["message_id"], message_id.to_string());
        assert_eq!(event["data"]["platform"], "telegram");
        let inner = PublishedEvent {
            event: DomainEvent::ReplyStored {
                bot_id,
                conversation_id,
                message_id,
            },
            ..published
        };
        assert!(EventBody::of(&inner).is_none());
    }

    #[test]
    fn client_frames_are_only_auth_and_subscriptions() {
        let frame: ClientFrame =
            serde_json::from_str(r#"{"type":"subscribe","topics":["handoffs"]}"#).unwrap();
        assert!(matches!(frame, ClientFrame::Subscribe { ref topics } if topics == &["handoffs"]));
        for write in [
            r#"{"type":"message","conversation_id":"x","text":"hi"}"#,
            r#"{"type":"handoff","conversation_id":"x"}"#,
            r#"{"type":"subscribe","topics":["handoffs"],"also":"write"}"#,
        ] {
            assert!(
                serde_json::from_str::<ClientFrame>(write).is_err(),
                "{write}"
            );
        }
    }
}
