//! The AsyncAPI 3.0 document of the two WebSockets, the web chat's and the operators' events
//! (`/asyncapi.json`), their error codes from the errors' one table.

use crate::errors::ApiError;
use crate::live_events::frames::codes as event_codes;
use crate::web_chat::frames::{MAX_CLIENT_ID, MAX_FRAME_BYTES};
use application::events::topic::MAX_TOPICS;
use application::VisitorRefused;
use domain::ValidationError;
use serde_json::{json, Value};
use std::sync::LazyLock;
use std::time::Duration;

/// The document, built once.
pub fn document() -> &'static str {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| build().to_string());
    &DOCUMENT
}

/// Every `code` an error frame may carry, as the same refusals have over HTTP.
pub fn error_codes() -> Vec<&'static str> {
    let invalid = ValidationError::new("text", "is invalid");
    let refusals = [
        ApiError::from(invalid),
        ApiError::RateLimited {
            retry_after: Duration::ZERO,
        },
        ApiError::NotFound(String::new()),
        ApiError::Unavailable(String::new()),
        ApiError::OriginNotAllowed,
        ApiError::TooManySockets,
        ApiError::VisitorRefused(VisitorRefused::InvalidToken),
        ApiError::VisitorRefused(VisitorRefused::TokenRequired),
    ];
    refusals.iter().map(ApiError::code).collect()
}

fn build() -> Value {
    let mut doc = web_chat_and_operations();
    if let Some(messages) = doc["components"]["messages"].as_object_mut() {
        messages.extend(events_messages());
    }
    doc
}

fn web_chat_and_operations() -> Value {
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Switchboard sockets",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The WebSockets: the built-in web chat's, where a visitor's page talks to a \
                bot bound to `web_chat`, and the operators' live events. Frames are JSON text. The \
                HTTP API is described by /openapi.json."
        },
        "channels": {
            "webChat": {
                "address": "/ws/chat/{bot_id}",
                "title": "A visitor's chat with a bot",
                "description": "Opened by the chat page; the `Origin` must be one the binding allows. \
                    Query: `visitor_token` (from `hello`, to see one's history again) or, while \
                    `web_chat.accept_plain_visitor_ids` is on, `visitor_id`. A refused visitor is told \
                    an error frame, then the socket closes with 4401; a visitor or address over its \
                    socket cap, with 4429.",
                "parameters": {"bot_id": {"description": "The bot's id (a UUID)."}},
                "messages": {
                    "say": {"$ref": "#/components/messages/say"},
                    "picture": {"$ref": "#/components/messages/picture"},
                    "hello": {"$ref": "#/components/messages/hello"},
                    "message": {"$ref": "#/components/messages/message"},
                    "typing": {"$ref": "#/components/messages/typing"},
                    "replyDelta": {"$ref": "#/components/messages/replyDelta"},
                    "replyRestart": {"$ref": "#/components/messages/replyRestart"},
                    "error": {"$ref": "#/components/messages/error"}
                },
                "bindings": {"ws": {"query": {
                    "type": "object",
                    "properties": {
                        "visitor_token": {"type": "string"},
                        "visitor_id": {"type": "string", "format": "uuid"}
                    }
                }}}
            },
            "events": events_channel()
        },
        "operations": {
            "sendMessage": operation("receive", "say",
                "The visitor says something; a resend with the same client_id is stored once."),
            "sendPicture": operation("receive", "picture",
                "The visitor sends a picture (a binary frame): stored with a message of content `image` when it is a JPEG, PNG, GIF or WebP within `web_chat.max_upload_bytes`, else refused with an error frame (`invalid_field`) and nothing stored."),
            "greet": operation("send", "hello",
                "First frame: who the visitor is and their conversation so far."),
            "deliver": operation("send", "message",
                "A message of the conversation: the bot's reply, an operator's, or the visitor's own from another tab."),
            "showTyping": operation("send", "typing", "The bot is composing a reply."),
            "streamReply": operation("send", "replyDelta",
                "The next piece of a reply as the model writes it."),
            "restartReply": operation("send", "replyRestart",
                "A reply being written starts again: forget its pieces so far."),
            "refuse": operation("send", "error", "A message was not stored, or the socket is refused."),
            "signIn": events_operation("receive", "auth",
                "A browser's key, as the first frame (a client that can set headers sends `Authorization: Bearer` instead)."),
            "subscribe": events_operation("receive", "subscribe",
                "Follow these topics too; with `?after=`, the stored events of the new topics come first, then `replayed`."),
            "unsubscribe": events_operation("receive", "unsubscribe", "Stop following these topics."),
            "welcome": events_operation("send", "ready", "The key was accepted."),
            "confirmTopics": events_operation("send", "subscribed", "The topics now followed."),
            "announce": events_operation("send", "event", "Something happened in a followed topic."),
            "endReplay": events_operation("send", "replayed", "The replay after `?after=` is over."),
            "refuseFrame": events_operation("send", "eventsError", "A frame was refused, or the socket is about to close.")
        },
        "components": {
            "messages": {
                "say": message("say", json!({
                    "type": "object",
                    "required": ["type", "text"],
                    "additionalProperties": false,
                    "properties": {
                        "type": {"const": "message"},
                        "text": {"type": "string", "minLength": 1},
                        "client_id": {"type": "string", "minLength": 1, "maxLength": MAX_CLIENT_ID,
                                      "pattern": "^[A-Za-z0-9_-]+$"}
                    }
                }), &format!("At most {MAX_FRAME_BYTES} bytes.")),
                "picture": {
                    "name": "picture",
                    "contentType": "application/octet-stream",
                    "description": "The picture's bytes, in one binary frame; its type is told by its content.",
                    "payload": {"type": "string", "format": "binary"}
                },
                "hello": message("hello", json!({
                    "type": "object",
                    "required": ["type", "visitor_id", "visitor_token", "conversation_id", "history"],
                    "properties": {
                        "type": {"const": "hello"},
                        "visitor_id": {"type": "string"},
                        "visitor_token": {"type": "string", "description": "Kept by the page and sent back as `?visitor_token=`."},
                        "conversation_id": {"type": ["string", "null"]},
                        "history": {"type": "array", "items": {"$ref": "#/components/schemas/messageBody"}}
                    }
                }), "The latest messages, oldest first."),
                "message": message("message", json!({
                    "type": "object",
                    "required": ["type", "message"],
                    "properties": {
                        "type": {"const": "message"},
                        "message": {"$ref": "#/components/schemas/messageBody"}
                    }
                }), "One message, as the HTTP API shows it."),
                "typing": message("typing", json!({
                    "type": "object",
                    "required": ["type"],
                    "properties": {"type": {"const": "typing"}}
                }), "Shown until the next message."),
                "replyDelta": message("reply_delta", json!({
                    "type": "object",
                    "required": ["type", "reply_to", "delta"],
                    "properties": {
                        "type": {"const": "reply_delta"},
                        "reply_to": {"type": "string", "description": "The visitor's message being answered."},
                        "delta": {"type": "string", "minLength": 1}
                    }
                }), "Join the pieces of one `reply_to` in order and show them until the reply's `message` frame (whose `reply_to` is the same) replaces them. Not sent when the bot's output moderation is on."),
                "replyRestart": message("reply_restart", json!({
                    "type": "object",
                    "required": ["type", "reply_to"],
                    "properties": {
                        "type": {"const": "reply_restart"},
                        "reply_to": {"type": "string"}
                    }
                }), "The model's stream broke and is asked for again whole: drop the pieces of this `reply_to` shown so far."),
                "error": message("error", json!({
                    "type": "object",
                    "required": ["type", "code", "detail"],
                    "properties": {
                        "type": {"const": "error"},
                        "code": {"type": "string", "enum": error_codes()},
                        "detail": {"type": "string"},
                        "retry_after": {"type": "integer", "minimum": 0,
                                        "description": "Whole seconds to wait before sending again (`rate_limited` only)."}
                    }
                }), "Codes are those of the same refusals over HTTP.")
            },
            "schemas": {
                "messageBody": {
                    "type": "object",
                    "description": "A message as /openapi.json's MessageBody describes it.",
                    "required": ["id", "conversation_id", "direction", "text", "status", "created_at"],
                    "properties": {
                        "id": {"type": "string"},
                        "conversation_id": {"type": "string"},
                        "direction": {"type": "string", "enum": ["inbound", "outbound"]},
                        "text": {"type": "string"},
                        "status": {"type": "string"},
                        "created_at": {"type": "string", "format": "date-time"}
                    }
                }
            }
        }
    })
}

/// `/api/v1/events`: operators' live events.
fn events_channel() -> Value {
    let names = [
        "auth",
        "subscribe",
        "unsubscribe",
        "ready",
        "subscribed",
        "event",
        "replayed",
        "eventsError",
    ];
    let messages: serde_json::Map<String, Value> = names
        .iter()
        .map(|name| {
            (
                name.to_string(),
                json!({"$ref": format!("#/components/messages/{name}")}),
            )
        })
        .collect();
    json!({
        "address": "/api/v1/events",
        "title": "An operator's live events",
        "description": "The API key goes in the `Authorization: Bearer` header or, from a browser, in \
            a first `auth` frame within 5 s; a missing, unknown or revoked key gets an error frame, \
            then close code 4401. Any role may follow any topic; nothing on this socket changes \
            state (a frame that asks to is answered `read_only`). Events come in the order they \
            were announced: one conversation's in the order its facts were stored. A client that \
            stops reading, or falls more than 1024 events behind, is closed with 4408 (or, when \
            not even the close can be sent, dropped). Reconnect with `?after=` the last event id \
            seen to get, from the database, what was missed in the last 5 minutes. The key is \
            checked again at each `subscribe` and every 20 s (revoked or expired: 4401); a server \
            shutting down closes the socket with 1001.",
        "messages": messages,
        "bindings": {"ws": {"query": {
            "type": "object",
            "properties": {
                "after": {"type": "string", "format": "uuid",
                          "description": "The id of the last event seen: the stored events after it are replayed on subscribing."}
            }
        }}}
    })
}

/// The events channel's operation `action` of its message `message`.
fn events_operation(action: &str, message: &str, summary: &str) -> Value {
    json!({
        "action": action,
        "channel": {"$ref": "#/channels/events"},
        "summary": summary,
        "messages": [{"$ref": format!("#/channels/events/messages/{message}")}]
    })
}

fn topics_payload(kind: &str) -> Value {
    json!({
        "type": "object",
        "required": ["type", "topics"],
        "additionalProperties": false,
        "properties": {
            "type": {"const": kind},
            "topics": {"type": "array", "maxItems": MAX_TOPICS, "items": {
                "type": "string",
                "pattern": "^(bots/[0-9a-f-]{36}|conversations/[0-9a-f-]{36}|handoffs)$"
            }}
        }
    })
}

/// The events channel's messages.
fn events_messages() -> serde_json::Map<String, Value> {
    let event_types = domain::DomainEvent::PUBLIC_NAMES;
    let mut codes = vec![
        ApiError::Unauthenticated.code(),
        ApiError::Unavailable(String::new()).code(),
    ];
    codes.extend(event_codes::ALL);
    let messages = json!({
        "auth": message("auth", json!({
            "type": "object",
            "required": ["type", "key"],
            "additionalProperties": false,
            "properties": {"type": {"const": "auth"}, "key": {"type": "string"}}
        }), "An API key of any role."),
        "subscribe": message("subscribe", topics_payload("subscribe"),
            &format!("`bots/{{id}}`: every event of a bot; `conversations/{{id}}`: one conversation's; \
                `handoffs`: conversations handed to a person or given back, of every bot. All or none: \
                an unknown topic refuses the frame. At most {MAX_TOPICS} followed at once.")),
        "unsubscribe": message("unsubscribe", topics_payload("unsubscribe"), "Unknown or unfollowed topics are ignored."),
        "ready": message("ready", json!({
            "type": "object",
            "required": ["type", "role"],
            "properties": {"type": {"const": "ready"}, "role": {"type": "string", "enum": ["viewer", "operator", "admin"]}}
        }), "Signed in; subscribe next."),
        "subscribed": message("subscribed", json!({
            "type": "object",
            "required": ["type", "topics"],
            "properties": {"type": {"const": "subscribed"}, "topics": {"type": "array", "items": {"type": "string"}}}
        }), "Every topic now followed."),
        "event": message("event", json!({
            "type": "object",
            "required": ["type", "event"],
            "properties": {
                "type": {"const": "event"},
                "event": {
                    "type": "object",
                    "required": ["id", "type", "created_at", "data"],
                    "properties": {
                        "id": {"type": "string", "format": "uuid", "description": "Time-ordered (UUIDv7); reconnect with `?after=` it."},
                        "type": {"type": "string", "enum": event_types},
                        "created_at": {"type": "string", "format": "date-time"},
                        "data": {
                            "type": "object",
                            "required": ["bot_id", "conversation_id"],
                            "properties": {
                                "bot_id": {"type": "string", "format": "uuid"},
                                "conversation_id": {"type": "string", "format": "uuid"},
                                "message_id": {"type": "string", "format": "uuid", "description": "The message's events only; read it with GET /api/v1/conversations/{id}/messages."},
                                "platform": {"type": "string", "description": "`conversation.started` and `message.received` only."},
                                "scope": {"type": "string", "enum": ["bot", "user", "conversation"], "description": "`budget.threshold` and `budget.refused` only: whose limit."},
                                "percent": {"type": "integer", "enum": [50, 80, 100], "description": "`budget.threshold` only: the share of the limit reached."}
                            }
                        }
                    }
                }
            }
        }), "The same type names the outgoing webhooks use."),
        "replayed": message("replayed", json!({
            "type": "object",
            "required": ["type", "count", "complete"],
            "properties": {
                "type": {"const": "replayed"},
                "count": {"type": "integer", "minimum": 0},
                "complete": {"type": "boolean", "description": "False when some may be missing (away over 5 minutes, or over 1000 events behind): re-read what you show."}
            }
        }), "After the replayed events of a subscription."),
        "eventsError": message("error", json!({
            "type": "object",
            "required": ["type", "code", "detail"],
            "properties": {
                "type": {"const": "error"},
                "code": {"type": "string", "enum": codes},
                "detail": {"type": "string"}
            }
        }), &format!("At most {} bytes per client frame; a larger one is refused with `frame_too_large`, then close 1009.", crate::live_events::frames::MAX_FRAME_BYTES))
    });
    match messages {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// The web chat channel's operation `action` (`send` or `receive`, as the server sees it) of
/// its message `message`.
fn operation(action: &str, message: &str, summary: &str) -> Value {
    json!({
        "action": action,
        "channel": {"$ref": "#/channels/webChat"},
        "summary": summary,
        "messages": [{"$ref": format!("#/channels/webChat/messages/{message}")}]
    })
}

fn message(name: &str, payload: Value, description: &str) -> Value {
    json!({
        "name": name,
        "contentType": "application/json",
        "description": description,
        "payload": payload
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web_chat::frames::ServerFrame;

    #[test]
    fn every_frame_the_server_sends_is_described() {
        let doc: Value = serde_json::from_str(document()).unwrap();
        let messages = &doc["components"]["messages"];
        let typing: Value = serde_json::from_str(&ServerFrame::Typing.to_json()).unwrap();
        assert_eq!(
            messages["typing"]["payload"]["properties"]["type"]["const"],
            typing["type"]
        );
        let reply_to = domain::MessageId::new();
        let frames = [
            (
                "replyDelta",
                ServerFrame::ReplyDelta {
                    reply_to,
                    delta: "Hel".into(),
                },
            ),
            ("replyRestart", ServerFrame::ReplyRestart { reply_to }),
        ];
        for (name, frame) in frames {
            let frame: Value = serde_json::from_str(&frame.to_json()).unwrap();
            let described = &messages[name]["payload"];
            assert_eq!(described["properties"]["type"]["const"], frame["type"]);
            for field in described["required"].as_array().unwrap() {
                assert!(
                    frame.get(field.as_str().unwrap()).is_some(),
                    "{name}: {field}"
                );
            }
        }
        let limited = ServerFrame::rate_limited(Duration::from_secs(2)).to_json();
        let limited: Value = serde_json::from_str(&limited).unwrap();
        let codes = &messages["error"]["payload"]["properties"]["code"]["enum"];
        assert!(
            codes.as_array().unwrap().contains(&limited["code"]),
            "{codes}"
        );
        for code in ["origin_not_allowed", "too_many_sockets", "invalid_field"] {
            assert!(codes.as_array().unwrap().contains(&json!(code)), "{code}");
        }
    }

    #[test]
    fn the_events_socket_and_its_frames_are_described() {
        let doc: Value = serde_json::from_str(document()).unwrap();
        assert_eq!(doc["channels"]["events"]["address"], "/api/v1/events");
        let messages = &doc["components"]["messages"];
        let types =
            &messages["event"]["payload"]["properties"]["event"]["properties"]["type"]["enum"];
        assert_eq!(types.as_array().unwrap().len(), 11);
        assert_eq!(types[9], "message.rate_limited");
        assert_eq!(types[10], "budget.refused");
        let codes = &messages["eventsError"]["payload"]["properties"]["code"]["enum"];
        for code in [
            "unauthenticated",
            "read_only",
            "unknown_topic",
            "frame_too_large",
        ] {
            assert!(codes.as_array().unwrap().contains(&json!(code)), "{code}");
        }
        for name in ["auth", "subscribe", "ready", "replayed"] {
            let message = &doc["channels"]["events"]["messages"][name]["$ref"];
            assert_eq!(message, &json!(format!("#/components/messages/{name}")));
        }
    }
}
