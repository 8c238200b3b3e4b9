//! Facebook Messenger: the Send API calls and the parsing of `entry[].messaging[]` events.

use crate::channel::{GraphCall, Media, MetaChannel, MetaPlatform};
use crate::inbound::{inbound, notification};
use application::format::Markup;
use application::ports::{Inbound, InboundMessage, ParseError};
use domain::{
    Credentials, ExternalChatId, MessageContent, MessengerCredentials, PlatformBinding,
    PlatformKind,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// The Send API's limit for one text message, in characters.
pub const MESSENGER_MAX_TEXT_LEN: usize = 2000;

/// The Messenger side of [`MetaChannel`].
#[derive(Debug, Clone, Copy)]
pub enum Messenger {}

pub type MessengerChannel = MetaChannel<Messenger>;

impl MetaPlatform for Messenger {
    type Credentials = MessengerCredentials;
    const KIND: PlatformKind = PlatformKind::Messenger;
    const MAX_TEXT_LEN: usize = MESSENGER_MAX_TEXT_LEN;
    /// Messenger shows text as it is: Markdown's markers are taken out.
    const MARKUP: Markup = Markup::Plain;
    const MEDIA: Media = Media::ByUrl;

    fn credentials(binding: &PlatformBinding) -> Option<&MessengerCredentials> {
        match &binding.credentials {
            Credentials::Messenger(credentials) => Some(credentials),
            _ => None,
        }
    }

    fn app_secret(credentials: &MessengerCredentials) -> &str {
        credentials.app_secret.expose()
    }

    fn access_token(credentials: &MessengerCredentials) -> &str {
        credentials.page_access_token.expose()
    }

    /// Delivery and read events are not reported on: they carry watermarks, not message ids.
    /// An echo of a message Switchboard did not send (no [`SENT_BY_SWITCHBOARD`] metadata) is
    /// a person answering from the Page's inbox.
    fn parse(body: &[u8]) -> Result<Inbound, ParseError> {
        let notification = notification::<Entry>(body, "Messenger")?;
        let events = || notification.entry.iter().flat_map(|entry| &entry.messaging);
        Ok(Inbound {
            messages: events().filter_map(Event::inbound).collect(),
            answered_by_a_person: events().filter_map(Event::answered_by_a_person).collect(),
            ..Inbound::default()
        })
    }

    /// A reply within the 24-hour standard messaging window.
    fn send_text(_: &MessengerCredentials, chat: &ExternalChatId, text: &str) -> GraphCall {
        GraphCall {
            path: "me/messages".to_owned(),
            body: json!({
                "recipient": {"id": chat.as_str()},
                "messaging_type": "RESPONSE",
                "message": {"text": text, "metadata": SENT_BY_SWITCHBOARD},
            }),
        }
    }

    /// `{"recipient_id": "…", "message_id": "m_…"}`.
    fn sent_id(answer: &Value) -> Option<&str> {
        answer.get("message_id")?.as_str()
    }

    fn typing(_: &MessengerCredentials, chat: &ExternalChatId) -> Option<GraphCall> {
        Some(GraphCall {
            path: "me/messages".to_owned(),
            body: json!({"recipient": {"id": chat.as_str()}, "sender_action": "typing_on"}),
        })
    }
}

/// Sent with each of our messages and echoed back with it, to tell our echoes from a person's.
const SENT_BY_SWITCHBOARD: &str = "switchboard";

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    messaging: Vec<Event>,
}

/// One messaging event; deliveries, reads, reactions and others carry neither key we read.
#[derive(Deserialize)]
struct Event {
    sender: Option<Party>,
    recipient: Option<Party>,
    timestamp: Option<i64>,
    message: Option<Message>,
    postback: Option<Postback>,
}

#[derive(Deserialize)]
struct Party {
    id: String,
}

#[derive(Deserialize)]
struct Message {
    mid: Option<String>,
    text: Option<String>,
    #[serde(default)]
    is_echo: bool,
    /// What the sender attached to an echoed message.
    metadata: Option<String>,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

#[derive(Deserialize)]
struct Attachment {
    #[serde(rename = "type")]
    kind: Option<String>,
    payload: Option<Payload>,
}

#[derive(Deserialize)]
struct Payload {
    url: Option<String>,
}

#[derive(Deserialize)]
struct Postback {
    mid: Option<String>,
    payload: Option<String>,
    title: Option<String>,
}

impl Event {
    /// The user's message or postback; `None` for echoes of our own sends and other events.
    fn inbound(&self) -> Option<InboundMessage> {
        let sender = &self.sender.as_ref()?.id;
        if let Some(message) = &self.message {
            if message.is_echo {
                return None;
            }
            return inbound(message.mid.as_deref()?, sender, message.content());
        }
        let postback = self.postback.as_ref()?;
        let text = postback.payload.as_ref().or(postback.title.as_ref())?;
        inbound(
            &self.postback_id(postback)?,
            sender,
            MessageContent::text(text),
        )
    }

    /// The user's chat, when this echoes a message a person sent from the Page's inbox.
    fn answered_by_a_person(&self) -> Option<ExternalChatId> {
        let message = self.message.as_ref()?;
        let ours = message.metadata.as_deref() == Some(SENT_BY_SWITCHBOARD);
        if !message.is_echo || ours {
            return None;
        }
        ExternalChatId::parse(&self.recipient.as_ref()?.id).ok()
    }

    /// The postback's `mid`; older postbacks have none, so the sender and time stand in.
    fn postback_id(&self, postback: &Postback) -> Option<String> {
        match (&postback.mid, &self.sender, self.timestamp) {
            (Some(mid), _, _) => Some(mid.clone()),
            (None, Some(sender), Some(time)) => Some(format!("postback:{}:{time}", sender.id)),
            _ => None,
        }
    }
}

impl Attachment {
    fn content(&self) -> MessageContent {
        let kind = self.kind.as_deref().unwrap_or("attachment");
        let url = self.payload.as_ref().and_then(|p| p.url.as_deref());
        match (kind, url) {
            ("image", Some(url)) => MessageContent::image(url, None),
            _ => MessageContent::unsupported(kind),
        }
    }
}

impl Message {
    /// Text wins; otherwise a photo by its address, or the first attachment's type (`audio`, …).
    fn content(&self) -> MessageContent {
        match (&self.text, self.attachments.first()) {
            (Some(text), _) => MessageContent::text(text),
            (None, Some(attachment)) => attachment.content(),
            (None, None) => MessageContent::unsupported("unknown"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../tests/fixtures/messenger_", $name, ".json")).as_slice()
        };
    }

    fn parse(body: &[u8]) -> Vec<InboundMessage> {
        Messenger::parse(body).unwrap().messages
    }

    #[test]
    fn every_event_of_every_entry_is_read() {
        let messages = parse(fixture!("batched"));
        let ids: Vec<_> = messages.iter().map(|m| m.external_id.as_str()).collect();
        assert_eq!(ids, ["m_first", "m_second", "m_third"]);
        assert_eq!(messages[0].chat.as_str(), "1254459154682919");
        assert_eq!(messages[0].content, MessageContent::text("hello, world!"));
        assert_eq!(messages[2].chat.as_str(), "6543210987654321");
        assert_eq!(messages[2].content, MessageContent::text("and a third"));
    }

    #[test]
    fn echoes_deliveries_and_reads_are_ignored() {
        assert_eq!(parse(fixture!("ignored")), Vec::new());
    }

    #[test]
    fn an_echo_we_did_not_send_is_a_person_answering() {
        let inbound = Messenger::parse(fixture!("person_echo")).unwrap();
        assert_eq!(inbound.messages, Vec::new(), "an echo is no user message");
        let chats: Vec<_> = inbound
            .answered_by_a_person
            .iter()
            .map(|c| c.as_str())
            .collect();
        assert_eq!(chats, ["1254459154682919"]);
        let ours = Messenger::parse(fixture!("ignored")).unwrap();
        assert!(ours.answered_by_a_person.is_empty(), "our own echo");
    }

    #[test]
    fn a_postback_is_a_text_of_its_payload() {
        let messages = parse(fixture!("postback"));
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].external_id.as_str(), "m_postback");
        assert_eq!(
            messages[0].content,
            MessageContent::text("GET_STARTED_PAYLOAD")
        );
        assert_eq!(
            messages[1].external_id.as_str(),
            "postback:1254459154682919:1527459824"
        );
        assert_eq!(messages[1].content, MessageContent::text("Start over"));
    }

    #[test]
    fn a_photo_is_kept_by_its_address_and_other_attachments_by_type() {
        let kinds: Vec<_> = parse(fixture!("attachments"))
            .into_iter()
            .map(|m| m.content)
            .collect();
        assert_eq!(
            kinds,
            [
                MessageContent::image("https://example.com/cat.jpg", None),
                MessageContent::unsupported("audio")
            ]
        );
    }

    #[test]
    fn garbage_is_a_parse_error() {
        for body in [b"not json".as_slice(), b"{}", b"[]", br#"{"entry": {}}"#] {
            assert!(
                Messenger::parse(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(
            parse(br#"{"object":"page","entry":[{"id":"1","time":1}]}"#),
            Vec::new()
        );
    }
}
