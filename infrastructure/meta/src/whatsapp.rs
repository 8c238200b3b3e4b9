//! WhatsApp Cloud API: the messages endpoint and the parsing of `entry[].changes[].value.messages[]`.

use crate::channel::{GraphCall, Media, MetaChannel, MetaPlatform};
use crate::inbound::{inbound, notification};
use application::format::Markup;
use application::ports::{Inbound, InboundMessage, ParseError};
use domain::{
    Credentials, DeliveryReport, ExternalChatId, ExternalMessageId, MessageContent, MessageStatus,
    PlatformBinding, PlatformKind, Template, TemplateComponent, TemplateParameter, TemplatePart,
    TextRule, WhatsappCredentials,
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
    /// WhatsApp's own markers: `*bold*`, `_italic_`, `~strike~`, code.
    const MARKUP: Markup = Markup::WhatsApp;
    const MEDIA: Media = Media::ById;

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

    /// `messages[]` are the users'; `statuses[]` report on ours (sent, delivered, read, failed);
    /// `message_echoes[]` (the `smb_message_echoes` field of a number shared with the WhatsApp
    /// Business app) are a person answering from that app.
    fn parse(body: &[u8]) -> Result<Inbound, ParseError> {
        let notification = notification::<Entry>(body, "WhatsApp")?;
        let values: Vec<&Value> = notification
            .entry
            .iter()
            .flat_map(|entry| &entry.changes)
            .filter_map(|change| change.value.as_ref())
            .collect();
        Ok(Inbound {
            messages: values
                .iter()
                .flat_map(|value| &value.messages)
                .filter_map(Message::inbound)
                .collect(),
            reports: values
                .iter()
                .flat_map(|value| &value.statuses)
                .filter_map(Status::report)
                .collect(),
            answered_by_a_person: values
                .iter()
                .flat_map(|value| &value.message_echoes)
                .filter_map(|echo| ExternalChatId::parse(echo.to.as_deref()?).ok())
                .collect(),
            answer: None,
        })
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

    /// `type: template`: the template by name and language, each component's parameters.
    fn send_template(
        credentials: &WhatsappCredentials,
        chat: &ExternalChatId,
        template: &Template,
    ) -> Option<GraphCall> {
        let components: Vec<_> = template.components.iter().map(component).collect();
        Some(GraphCall {
            path: format!("{}/messages", credentials.phone_number_id),
            body: json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": chat.as_str(),
                "type": "template",
                "template": {
                    "name": template.name,
                    "language": {"code": template.language},
                    "components": components,
                },
            }),
        })
    }

    /// `{"messaging_product": "whatsapp", "contacts": […], "messages": [{"id": "wamid.…"}]}`.
    fn sent_id(answer: &serde_json::Value) -> Option<&str> {
        answer.get("messages")?.get(0)?.get("id")?.as_str()
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
    #[serde(default)]
    statuses: Vec<Status>,
    #[serde(default)]
    message_echoes: Vec<Echo>,
}

/// A message the business sent from the WhatsApp Business app, to the user `to`.
#[derive(Deserialize)]
struct Echo {
    to: Option<String>,
}

/// A report on a message the business sent.
#[derive(Deserialize)]
struct Status {
    id: Option<String>,
    status: Option<String>,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Deserialize)]
struct StatusError {
    code: Option<i64>,
    title: Option<String>,
}

impl Status {
    /// The report; `None` for a status we do not track (`deleted`, `warning`) or without an id.
    fn report(&self) -> Option<DeliveryReport> {
        let status = match self.status.as_deref()? {
            "sent" => MessageStatus::Sent,
            "delivered" => MessageStatus::Delivered,
            "read" => MessageStatus::Read,
            "failed" => MessageStatus::Failed,
            _ => return None,
        };
        Some(DeliveryReport {
            external_id: ExternalMessageId::parse(self.id.as_deref()?).ok()?,
            status,
            error: (status == MessageStatus::Failed).then(|| self.error()),
        })
    }

    /// `"131047: Re-engagement message"`: the first error's code and title, on one line (it is
    /// stored as the message's error).
    fn error(&self) -> String {
        match self.errors.first() {
            Some(StatusError { code, title }) => TextRule::SingleLine.scrub(format!(
                "{}: {}",
                code.map_or_else(|| "no code".to_owned(), |c| c.to_string()),
                title.as_deref().unwrap_or("no title")
            )),
            None => "failed without an error".to_owned(),
        }
    }
}

#[derive(Deserialize)]
struct Message {
    from: Option<String>,
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<Text>,
    image: Option<Image>,
}

#[derive(Deserialize)]
struct Text {
    body: Option<String>,
}

/// A photo: its media id, and what the user wrote with it.
#[derive(Deserialize)]
struct Image {
    id: Option<String>,
    caption: Option<String>,
}

impl Message {
    /// The user's message; `None` for reactions, system notices and events missing an id.
    fn inbound(&self) -> Option<InboundMessage> {
        let kind = self.kind.as_deref().unwrap_or("unknown");
        if IGNORED_TYPES.contains(&kind) {
            return None;
        }
        let body = self.text.as_ref().and_then(|t| t.body.as_ref());
        let photo = self
            .image
            .as_ref()
            .and_then(|i| Some((i.id.as_deref()?, &i.caption)));
        let content = match (kind, body, photo) {
            ("text", Some(body), _) => MessageContent::text(body),
            ("image", _, Some((id, caption))) => MessageContent::image(id, caption.clone()),
            _ => MessageContent::unsupported(kind),
        };
        inbound(self.id.as_deref()?, self.from.as_deref()?, content)
    }
}

/// A template component as the Cloud API takes it: buttons as `button` with their sub-type
/// and index (a string), parameters by type.
fn component(component: &TemplateComponent) -> serde_json::Value {
    let parameters: Vec<_> = component
        .parameters
        .iter()
        .map(|parameter| match parameter {
            TemplateParameter::Text { text } => json!({"type": "text", "text": text}),
            TemplateParameter::Payload { payload } => {
                json!({"type": "payload", "payload": payload})
            }
        })
        .collect();
    let mut body = match component.part {
        TemplatePart::Header => json!({"type": "header"}),
        TemplatePart::Body => json!({"type": "body"}),
        TemplatePart::QuickReply => json!({"type": "button", "sub_type": "quick_reply"}),
        TemplatePart::Url => json!({"type": "button", "sub_type": "url"}),
    };
    if let Some(index) = component.index {
        body["index"] = json!(index.to_string());
    }
    body["parameters"] = json!(parameters);
    body
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
        Whatsapp::parse(body).unwrap().messages
    }

    #[test]
    fn a_message_from_the_business_app_is_a_person_answering() {
        let inbound = Whatsapp::parse(fixture!("app_echo")).unwrap();
        assert_eq!(inbound.messages, Vec::new(), "not a user's message");
        let chats: Vec<_> = inbound
            .answered_by_a_person
            .iter()
            .map(|c| c.as_str())
            .collect();
        assert_eq!(chats, ["16315551234"]);
        let text = Whatsapp::parse(fixture!("text")).unwrap();
        assert!(text.answered_by_a_person.is_empty());
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
    fn statuses_are_reports_not_messages() {
        let inbound = Whatsapp::parse(fixture!("statuses")).unwrap();
        assert_eq!(inbound.messages, Vec::new());
        assert_eq!(
            inbound.reports,
            [DeliveryReport {
                external_id: ExternalMessageId::parse(
                    "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA"
                )
                .unwrap(),
                status: MessageStatus::Delivered,
                error: None,
            }]
        );
    }

    #[test]
    fn a_failure_outside_the_window_reports_its_code_and_title() {
        let inbound = Whatsapp::parse(fixture!("status_failed")).unwrap();
        let statuses: Vec<_> = inbound
            .reports
            .iter()
            .map(|r| (r.external_id.as_str(), r.status, r.error.as_deref()))
            .collect();
        assert_eq!(
            statuses,
            [
                ("wamid.SENT", MessageStatus::Sent, None),
                (
                    "wamid.FAILED",
                    MessageStatus::Failed,
                    Some("131047: Re-engagement message")
                ),
            ]
        );
    }

    #[test]
    fn a_failure_title_is_kept_on_one_line_without_a_nul() {
        let status: Status = serde_json::from_value(json!({
            "id": "wamid.F", "status": "failed",
            "errors": [{"code": 1, "title": "bad\u{0}title\nnext"}]
        }))
        .unwrap();
        let report = status.report().unwrap();
        assert_eq!(
            report.error.as_deref(),
            Some("1: bad\u{fffd}title\u{fffd}next")
        );
    }

    #[test]
    fn the_send_answer_names_the_message() {
        let answer = json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": "16505551234", "wa_id": "16505551234"}],
            "messages": [{"id": "wamid.OUT"}]
        });
        assert_eq!(Whatsapp::sent_id(&answer), Some("wamid.OUT"));
        assert_eq!(Whatsapp::sent_id(&json!({})), None);
    }

    #[test]
    fn photos_are_kept_by_media_id_other_media_by_type_and_reactions_ignored() {
        let contents: Vec<_> = parse(fixture!("media"))
            .into_iter()
            .map(|m| m.content)
            .collect();
        assert_eq!(
            contents,
            [
                MessageContent::image("2754859441498128", Some("a cat".into())),
                MessageContent::unsupported("location"),
                MessageContent::unsupported("unsupported")
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
