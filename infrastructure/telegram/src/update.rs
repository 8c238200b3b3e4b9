//! Lenient parsing of Telegram webhook updates into inbound messages.
//!
//! Our own small serde structs rather than teloxide's `Update`: only the fields we read are
//! required, unknown fields are ignored, and older shapes (no `from.is_bot`, no `chat.type`)
//! still parse.

use application::ports::{InboundMessage, ParseError};
use domain::{ExternalChatId, ExternalMessageId, MessageContent};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Content keys of messages Switchboard does not read, in priority order: an animation also
/// carries `document`, and a venue also carries `location`.
const MEDIA_KINDS: &[&str] = &[
    "animation",
    "video_note",
    "sticker",
    "photo",
    "video",
    "voice",
    "audio",
    "document",
    "venue",
    "location",
    "contact",
    "poll",
    "dice",
    "game",
    "story",
    "invoice",
    "paid_media",
    "giveaway",
];

/// Keys of service messages (status updates about the chat): acknowledged and ignored.
const SERVICE_KEYS: &[&str] = &[
    "new_chat_members",
    "left_chat_member",
    "new_chat_title",
    "new_chat_photo",
    "delete_chat_photo",
    "group_chat_created",
    "supergroup_chat_created",
    "channel_chat_created",
    "message_auto_delete_timer_changed",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
    "pinned_message",
    "successful_payment",
    "refunded_payment",
    "users_shared",
    "chat_shared",
    "connected_website",
    "write_access_allowed",
    "proximity_alert_triggered",
    "boost_added",
    "chat_background_set",
    "forum_topic_created",
    "forum_topic_edited",
    "forum_topic_closed",
    "forum_topic_reopened",
    "general_forum_topic_hidden",
    "general_forum_topic_unhidden",
    "giveaway_created",
    "giveaway_completed",
    "video_chat_scheduled",
    "video_chat_started",
    "video_chat_ended",
    "video_chat_participants_invited",
];

#[derive(Deserialize)]
struct Update {
    #[expect(dead_code, reason = "required, so that a body without it is rejected")]
    update_id: i64,
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    message_id: i64,
    chat: Chat,
    from: Option<Sender>,
    text: Option<String>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
}

#[derive(Deserialize)]
struct Sender {
    is_bot: Option<bool>,
}

/// The user messages in a webhook body: at most one, since only `message` updates count.
pub(crate) fn parse_update(body: &[u8]) -> Result<Vec<InboundMessage>, ParseError> {
    let update: Update = serde_json::from_slice(body).map_err(not_an_update)?;
    messages_of(update)
}

/// The same for one update of a `getUpdates` answer.
pub(crate) fn parse_polled(update: Value) -> Result<Vec<InboundMessage>, ParseError> {
    let update: Update = serde_json::from_value(update).map_err(not_an_update)?;
    messages_of(update)
}

fn not_an_update(error: serde_json::Error) -> ParseError {
    ParseError(format!("not a Telegram update: {error}"))
}

fn messages_of(update: Update) -> Result<Vec<InboundMessage>, ParseError> {
    let Some(message) = update.message else {
        return Ok(Vec::new());
    };
    if message.from.as_ref().and_then(|f| f.is_bot) == Some(true) {
        return Ok(Vec::new());
    }
    let Some(content) = content(&message) else {
        return Ok(Vec::new());
    };
    Ok(vec![inbound(&message, content)?])
}

/// What the message carries; `None` for a service message.
fn content(message: &Message) -> Option<MessageContent> {
    if let Some(text) = &message.text {
        return Some(MessageContent::text(text));
    }
    if let Some(photo) = photo(message) {
        return Some(photo);
    }
    let has = |key: &str| message.rest.contains_key(key);
    if let Some(kind) = MEDIA_KINDS.iter().copied().find(|key| has(key)) {
        return Some(MessageContent::unsupported(kind));
    }
    if SERVICE_KEYS.iter().any(|key| has(key)) {
        return None;
    }
    Some(MessageContent::unsupported("unknown"))
}

/// A photo: its largest size (Telegram lists them smallest first) and its caption.
fn photo(message: &Message) -> Option<MessageContent> {
    let largest = message.rest.get("photo")?.as_array()?.last()?;
    let file_id = largest["file_id"].as_str().filter(|id| !id.is_empty())?;
    let caption = message.rest.get("caption").and_then(Value::as_str);
    Some(MessageContent::image(file_id, caption.map(str::to_owned)))
}

/// Telegram's `message_id` is unique only within its chat, hence `"{chat_id}:{message_id}"`.
fn inbound(message: &Message, content: MessageContent) -> Result<InboundMessage, ParseError> {
    let chat_id = message.chat.id;
    let invalid = |e: domain::ValidationError| ParseError(e.to_string());
    Ok(InboundMessage::new(
        ExternalMessageId::parse(format!("{chat_id}:{}", message.message_id)).map_err(invalid)?,
        ExternalChatId::parse(chat_id.to_string()).map_err(invalid)?,
        content,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../tests/fixtures/", $name, ".json")).as_slice()
        };
    }

    fn one(body: &[u8]) -> InboundMessage {
        let mut messages = parse_update(body).unwrap();
        assert_eq!(messages.len(), 1);
        messages.remove(0)
    }

    fn kind_of(body: &[u8]) -> String {
        match one(body).content {
            MessageContent::Unsupported { kind } => kind,
            other => panic!("expected unsupported content, got {other:?}"),
        }
    }

    #[test]
    fn docs_sample_without_is_bot_is_a_human_text() {
        let message = one(fixture!("docs_text"));
        assert_eq!(message.content, MessageContent::text("/start"));
        assert_eq!(message.chat.as_str(), "1111111");
        assert_eq!(message.external_id.as_str(), "1111111:1365");
    }

    #[test]
    fn group_text_ids_carry_the_chat_and_unknown_fields_are_ignored() {
        let message = one(fixture!("group_text"));
        assert_eq!(message.content, MessageContent::text("hello bot"));
        assert_eq!(message.chat.as_str(), "-1001234567890");
        assert_eq!(message.external_id.as_str(), "-1001234567890:42");
    }

    #[test]
    fn media_messages_are_unsupported_by_kind_but_photos() {
        assert_eq!(
            one(fixture!("photo")).content,
            MessageContent::image("AgAD2", Some("look at this".into())),
            "the largest size"
        );
        let no_sizes =
            br#"{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 7}, "photo": []}}"#;
        assert_eq!(kind_of(no_sizes), "photo");
        assert_eq!(kind_of(fixture!("sticker")), "sticker");
        assert_eq!(kind_of(fixture!("animation")), "animation");
    }

    #[test]
    fn a_message_of_an_unknown_kind_is_unsupported_unknown() {
        assert_eq!(kind_of(fixture!("unknown_content")), "unknown");
    }

    #[test]
    fn ignored_updates_yield_nothing() {
        for body in [
            fixture!("edited"),
            fixture!("from_bot"),
            fixture!("poll"),
            fixture!("callback_query"),
            fixture!("channel_post"),
            fixture!("new_members"),
            br#"{"update_id": 1}"#.as_slice(),
        ] {
            assert_eq!(parse_update(body).unwrap(), Vec::new());
        }
    }

    #[test]
    fn garbage_is_a_parse_error() {
        for body in [
            b"not json".as_slice(),
            b"".as_slice(),
            b"{}".as_slice(),
            b"[]".as_slice(),
            br#"{"update_id": "one"}"#.as_slice(),
            br#"{"update_id": 1, "message": {"message_id": 2, "text": "no chat"}}"#.as_slice(),
        ] {
            assert!(
                parse_update(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
