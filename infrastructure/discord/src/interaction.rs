//! Parsing of the interactions endpoint's payloads into messages, and the answer each type expects.

use application::ports::{Inbound, InboundMessage, ParseError};
use domain::{ExternalChatId, ExternalMessageId, MessageContent, Secret, TextRule};
use serde::Deserialize;
use serde_json::Value;

/// The slash command whose `question` option is the user's message as it is.
pub const ASK_COMMAND: &str = "ask";
/// The option of `/ask` that carries the question.
pub const QUESTION_OPTION: &str = "question";

/// Interaction types, from Discord's docs.
const PING: u8 = 1;
const APPLICATION_COMMAND: u8 = 2;
const MESSAGE_COMPONENT: u8 = 3;
const AUTOCOMPLETE: u8 = 4;
const MODAL_SUBMIT: u8 = 5;

/// Interaction callback bodies.
const PONG: &str = r#"{"type":1}"#;
/// `DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE`: "thinking…" until the reply edits `@original`.
const DEFERRED_MESSAGE: &str = r#"{"type":5}"#;
/// `DEFERRED_UPDATE_MESSAGE`: acknowledged, nothing shown.
const DEFERRED_UPDATE: &str = r#"{"type":6}"#;
const NO_CHOICES: &str = r#"{"type":8,"data":{"choices":[]}}"#;
/// An ephemeral notice (flag 64) for a command from a bot, which is never answered.
const BOTS_IGNORED: &str =
    r#"{"type":4,"data":{"content":"Messages from bots are not answered.","flags":64}}"#;

#[derive(Deserialize)]
struct Interaction {
    #[serde(rename = "type")]
    kind: u8,
    id: Option<String>,
    token: Option<String>,
    channel_id: Option<String>,
    channel: Option<Channel>,
    user: Option<User>,
    member: Option<Member>,
    data: Option<CommandData>,
}

#[derive(Deserialize)]
struct Channel {
    id: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct User {
    #[serde(default)]
    pub(crate) bot: bool,
}

#[derive(Deserialize)]
struct Member {
    user: Option<User>,
}

#[derive(Deserialize)]
struct CommandData {
    #[serde(default)]
    name: String,
    #[serde(default)]
    options: Vec<CommandOption>,
}

/// An option, or a subcommand (group) with options of its own.
#[derive(Deserialize)]
struct CommandOption {
    name: String,
    value: Option<Value>,
    #[serde(default)]
    options: Vec<CommandOption>,
}

/// Reads one interaction: PING is answered PONG, a slash command becomes a message answered
/// by a deferred response, and every other type is acknowledged without a message.
pub fn parse_interaction(body: &[u8]) -> Result<Inbound, ParseError> {
    let interaction: Interaction = serde_json::from_slice(body)
        .map_err(|e| ParseError(format!("not a Discord interaction: {e}")))?;
    let (answer, messages) = match interaction.kind {
        PING => (PONG, Vec::new()),
        APPLICATION_COMMAND if interaction.is_from_a_bot() => (BOTS_IGNORED, Vec::new()),
        APPLICATION_COMMAND => (DEFERRED_MESSAGE, vec![interaction.command()?]),
        AUTOCOMPLETE => (NO_CHOICES, Vec::new()),
        MESSAGE_COMPONENT | MODAL_SUBMIT => (DEFERRED_UPDATE, Vec::new()),
        other => {
            tracing::debug!(
                kind = other,
                "acknowledging an interaction type we do not know"
            );
            (DEFERRED_UPDATE, Vec::new())
        }
    };
    Ok(Inbound {
        messages,
        answer: Some(answer.to_owned()),
        ..Inbound::default()
    })
}

impl Interaction {
    fn is_from_a_bot(&self) -> bool {
        let member_user = self.member.as_ref().and_then(|m| m.user.as_ref());
        [self.user.as_ref(), member_user]
            .into_iter()
            .flatten()
            .any(|user| user.bot)
    }

    /// The slash command as a message answered in place through its interaction token.
    fn command(&self) -> Result<InboundMessage, ParseError> {
        let missing = |field: &str| ParseError(format!("a command interaction without {field}"));
        let id = self.id.as_deref().ok_or_else(|| missing("an id"))?;
        let chat = self
            .channel_id
            .as_deref()
            .or_else(|| self.channel.as_ref().and_then(|c| c.id.as_deref()))
            .ok_or_else(|| missing("a channel"))?;
        let token = self.token.as_deref().ok_or_else(|| missing("a token"))?;
        let data = self.data.as_ref().ok_or_else(|| missing("data"))?;
        let invalid = |e: domain::ValidationError| ParseError(e.to_string());
        // Kept as the reply handle (a text column) and put in a URL path to answer.
        TextRule::SingleLine
            .check("token", token)
            .map_err(invalid)?;
        Ok(InboundMessage {
            external_id: ExternalMessageId::parse(id).map_err(invalid)?,
            chat: ExternalChatId::parse(chat).map_err(invalid)?,
            content: MessageContent::text(data.text()),
            reply_handle: Some(Secret::new(token)),
        })
    }
}

impl CommandData {
    /// `/ask`'s question as it is; any other command as `/name` and its options' values, so
    /// that `/reset` and `/help` route as commands.
    fn text(&self) -> String {
        if self.name == ASK_COMMAND {
            if let Some(question) = self.options.iter().find(|o| o.name == QUESTION_OPTION) {
                return question.value.as_ref().map(value_text).unwrap_or_default();
            }
        }
        let mut words = vec![format!("/{}", self.name)];
        options_text(&self.options, &mut words);
        words.join(" ")
    }
}

/// Subcommands by name, then the values of their options, depth first.
fn options_text(options: &[CommandOption], words: &mut Vec<String>) {
    for option in options {
        match &option.value {
            Some(value) => words.push(value_text(value)),
            None => {
                words.push(option.name.clone());
                options_text(&option.options, words);
            }
        }
    }
}

/// A string option as it is; numbers, booleans and ids as their JSON text.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../tests/fixtures/", $name, ".json")).as_slice()
        };
    }

    fn answer(body: &[u8]) -> Value {
        serde_json::from_str(&parse_interaction(body).unwrap().answer.unwrap()).unwrap()
    }

    #[test]
    fn a_ping_is_answered_pong_without_a_message() {
        let inbound = parse_interaction(fixture!("ping")).unwrap();
        assert_eq!(inbound.messages, Vec::new());
        assert_eq!(answer(fixture!("ping")), serde_json::json!({"type": 1}));
    }

    #[test]
    fn ask_is_deferred_and_becomes_its_question_answered_through_the_token() {
        let inbound = parse_interaction(fixture!("ask")).unwrap();
        assert_eq!(answer(fixture!("ask")), serde_json::json!({"type": 5}));
        let [message] = inbound.messages.as_slice() else {
            panic!("one message: {:?}", inbound.messages);
        };
        assert_eq!(message.external_id.as_str(), "786008729715212338");
        assert_eq!(message.chat.as_str(), "772908445358620702");
        assert_eq!(
            message.content,
            MessageContent::text("What is the airspeed of a swallow?")
        );
        assert_eq!(
            message.reply_handle.as_ref().map(Secret::expose),
            Some("A_UNIQUE_TOKEN")
        );
    }

    #[test]
    fn other_commands_read_as_slash_commands_with_their_values() {
        let inbound = parse_interaction(fixture!("command_options")).unwrap();
        assert_eq!(
            inbound.messages[0].content,
            MessageContent::text("/blep animal_dog true")
        );
        let reset = parse_interaction(fixture!("reset")).unwrap();
        assert_eq!(reset.messages[0].content, MessageContent::text("/reset"));
        assert_eq!(reset.messages[0].chat.as_str(), "900000000000000002");
    }

    #[test]
    fn subcommands_are_named_before_their_values() {
        let body = br#"{"type":2,"id":"1","token":"t","channel_id":"2","user":{"id":"3"},
            "data":{"name":"config","options":[{"name":"set","type":1,
            "options":[{"name":"key","type":3,"value":"tone"},{"name":"level","type":4,"value":3}]}]}}"#;
        let inbound = parse_interaction(body).unwrap();
        assert_eq!(
            inbound.messages[0].content,
            MessageContent::text("/config set tone 3")
        );
    }

    #[test]
    fn components_and_modals_are_acknowledged_without_a_message() {
        for body in [
            fixture!("component"),
            br#"{"type":5,"id":"1","token":"t","data":{"custom_id":"m","components":[]}}"#,
        ] {
            let inbound = parse_interaction(body).unwrap();
            assert_eq!(inbound.messages, Vec::new());
            assert_eq!(answer(body), serde_json::json!({"type": 6}));
        }
    }

    #[test]
    fn autocomplete_offers_no_choices() {
        let inbound = parse_interaction(fixture!("autocomplete")).unwrap();
        assert_eq!(inbound.messages, Vec::new());
        assert_eq!(
            answer(fixture!("autocomplete")),
            serde_json::json!({"type": 8, "data": {"choices": []}})
        );
    }

    #[test]
    fn commands_from_bots_are_never_recorded() {
        let inbound = parse_interaction(fixture!("bot_author")).unwrap();
        assert_eq!(inbound.messages, Vec::new());
        assert_eq!(answer(fixture!("bot_author"))["type"], 4);
        let direct = br#"{"type":2,"id":"1","token":"t","channel_id":"2",
            "user":{"id":"3","bot":true},"data":{"name":"help"}}"#;
        assert_eq!(parse_interaction(direct).unwrap().messages, Vec::new());
    }

    #[test]
    fn unknown_types_are_acknowledged() {
        let inbound = parse_interaction(br#"{"type":42,"id":"1"}"#).unwrap();
        assert_eq!(inbound.messages, Vec::new());
        assert!(inbound.answer.is_some());
    }

    #[test]
    fn garbage_and_incomplete_commands_are_parse_errors() {
        for body in [
            b"not json".as_slice(),
            b"{}",
            b"[]",
            br#"{"type":"ping"}"#,
            br#"{"type":2,"token":"t","channel_id":"2","data":{"name":"ask"}}"#,
            br#"{"type":2,"id":"1","channel_id":"2","data":{"name":"ask"}}"#,
            br#"{"type":2,"id":"1","token":"t","data":{"name":"ask"}}"#,
            br#"{"type":2,"id":"1","token":"t\u0000","channel_id":"2","data":{"name":"ask"}}"#,
        ] {
            assert!(
                parse_interaction(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
