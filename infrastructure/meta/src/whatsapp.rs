//! WhatsApp Cloud API: the messages endpoint and the parsing of `entry[].changes[].value.messages[]`.

use crate::channel::{GraphCall, MetaChannel, MetaPlatform};
use crate::inbound::{inbound, notification, unsupported};
use application::ports::{InboundMessage, ParseError};
use domain::{
    Credentials, ExternalChatId, MessageContent, PlatformBinding, PlatformKind, WhatsappCredentials,
};
use serde::Deserialize;
use serde_json::json;

/// The Cloud API's limit for one text message body, in characters.
pub const WHATSAPP_MAX_TEXT_LEN: usize = 4096;

/// Message types that are not a user speaking to the bot: acknowledged and ignored.
const IGNORED_TYPES: &[&str] = &["reaction", "system"];

/// The WhatsApp side of [`MetaChannel`].
#[derive(Debug, Clone, Copy)]
pub enum Whatsapp {}

pub type WhatsappChannel = MetaChannel<Whatsapp>;

impl MetaPlatform for Whatsapp {
    type Credentials = WhatsappCredentials;
    const KIND: PlatformKind = PlatformKind::Whatsapp;
    const MAX_TEXT_LEN: usize = WHATSAPP_MAX_TEXT_LEN;

    fn credentials(binding: &PlatformBinding) -> Option<&WhatsappCredentials> {
        match &binding.credentials {
            Credentials::Whatsapp(credentials) => Some(credentials),
            _ => None,
        }
    }

    fn app_secret(credentials: &WhatsappCredentials) -> &str {
        credentials.app_secret.expose()
    }

    fn access_token(credentials: &WhatsappCredentials) -> &str {
        credentials.access_token.expose()
    }

    /// Messages only: `statuses[]` (sent, delivered, read, failed) are not read for now.
    fn parse(body: &[u8]) -> Result<Vec<InboundMessage>, ParseError> {
        let notification = notification::<Entry>(body, "WhatsApp")?;
        Ok(notification
            .entry
            .iter()
            .flat_map(|entry| &entry.changes)
            .filter_map(|change| change.value.as_ref())
            .flat_map(|value| &value.messages)
            .filter_map(Message::inbound)
            .collect())
    }

    /// Plain text without link previews.
    fn send_text(
        credentials: &WhatsappCredentials,
        chat: &ExternalChatId,
        text: &str,
    ) -> GraphCall {
        GraphCall {
            path: format!("{}/messages", credentials.phone_number_id),
            body: json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": chat.as_str(),
                "type": "text",
                "text": {"body": text, "preview_url": false},
            }),
        }
    }

    /// The Cloud API has no typing indicator.
    fn typing(_: &WhatsappCredentials, _: &ExternalChatId) -> Option<GraphCall> {
        None
    }
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    value: Option<Value>,
}

#[derive(Deserialize)]
struct Value {
    #[serde(default)]
    messages: Vec<Message>,
}

#[derive(Deserialize)]
struct Message {
    from: Option<String>,
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<Text>,
}

#[derive(Deserialize)]
struct Text {
    body: Option<String>,
}

impl Message {
    /// The user's message; `None` for reactions, system notices and events missing an id.
    fn inbound(&self) -> Option<InboundMessage> {
        let kind = self.kind.as_deref().unwrap_or("unknown");
        if IGNORED_TYPES.contains(&kind) {
            return None;
        }
        let body = self.text.as_ref().and_then(|t| t.body.as_ref());
        let content = match (kind, body) {
            ("text", Some(body)) => MessageContent::text(body),
            _ => unsupported(kind),
        };
        inbound(self.id.as_deref()?, self.from.as_deref()?, content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../tests/fixtures/whatsapp_", $name, ".json")).as_slice()
        };
    }

    fn parse(body: &[u8]) -> Vec<InboundMessage> {
        Whatsapp::parse(body).unwrap()
    }

    #[test]
    fn the_docs_text_sample_is_read() {
        let messages = parse(fixture!("text"));
        assert_eq!(messages.len(), 1);
        assert_eq!(
            messages[0].external_id.as_str(),
            "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
        );
        assert_eq!(messages[0].chat.as_str(), "16315551234");
        assert_eq!(
            messages[0].content,
            MessageContent::text("this is a text message")
        );
    }

    #[test]
    fn every_message_of_every_change_and_entry_is_read() {
        let ids: Vec<_> = parse(fixture!("batched"))
            .into_iter()
            .map(|m| m.external_id.as_str().to_owned())
            .collect();
        assert_eq!(ids, ["wamid.A", "wamid.B", "wamid.C"]);
    }

    #[test]
    fn statuses_are_ignored() {
        assert_eq!(parse(fixture!("statuses")), Vec::new());
    }

    #[test]
    fn non_text_messages_are_unsupported_by_type_and_reactions_ignored() {
        let contents: Vec<_> = parse(fixture!("media"))
            .into_iter()
            .map(|m| m.content)
            .collect();
        assert_eq!(
            contents,
            [
                unsupported("image"),
                unsupported("location"),
                unsupported("unsupported")
            ]
        );
    }

    #[test]
    fn garbage_is_a_parse_error() {
        for body in [b"not json".as_slice(), b"{}", b"[]", br#"{"entry": "x"}"#] {
            assert!(
                Whatsapp::parse(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
