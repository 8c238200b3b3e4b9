//! The AsyncAPI 3.0 document of the web chat's WebSocket (`/asyncapi.json`), its error codes from the errors' one table.

use crate::errors::ApiError;
use crate::web_chat::frames::{MAX_CLIENT_ID, MAX_FRAME_BYTES};
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
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Switchboard sockets",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The WebSocket of the built-in web chat: a visitor's page talks to a bot \
                bound to `web_chat`. Frames are JSON text. The HTTP API is described by /openapi.json."
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
                    "hello": {"$ref": "#/components/messages/hello"},
                    "message": {"$ref": "#/components/messages/message"},
                    "typing": {"$ref": "#/components/messages/typing"},
                    "error": {"$ref": "#/components/messages/error"}
                },
                "bindings": {"ws": {"query": {
                    "type": "object",
                    "properties": {
                        "visitor_token": {"type": "string"},
                        "visitor_id": {"type": "string", "format": "uuid"}
                    }
                }}}
            }
        },
        "operations": {
            "sendMessage": operation("receive", "say",
                "The visitor says something; a resend with the same client_id is stored once."),
            "greet": operation("send", "hello",
                "First frame: who the visitor is and their conversation so far."),
            "deliver": operation("send", "message",
                "A message of the conversation: the bot's reply, an operator's, or the visitor's own from another tab."),
            "showTyping": operation("send", "typing", "The bot is composing a reply."),
            "refuse": operation("send", "error", "A message was not stored, or the socket is refused.")
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
}
