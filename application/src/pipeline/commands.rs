//! Chat commands (/start, /help, /reset, /human), the bot's handoff keywords, and the canned replies that need no model.

use domain::{Bot, HandoffPolicy, MessageContent};

/// A command the bot answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Start,
    Help,
    Reset,
    /// A person, please: the chat is handed off.
    Human,
}

impl Command {
    /// Recognises `/start`, `/help`, `/reset` and `/human`, also in Telegram's `/start@MyBot`
    /// form.
    pub fn parse(text: &str) -> Option<Self> {
        let word = text.split_whitespace().next()?.strip_prefix('/')?;
        let name = word.split('@').next().unwrap_or(word);
        match name.to_ascii_lowercase().as_str() {
            "start" => Some(Self::Start),
            "help" => Some(Self::Help),
            "reset" => Some(Self::Reset),
            "human" => Some(Self::Human),
            _ => None,
        }
    }

    pub fn reply(self, bot: &Bot) -> String {
        match self {
            Self::Start => format!(
                "Hi! I'm {}. Send me a message and I'll answer.",
                bot.name.as_str()
            ),
            Self::Help => HELP.to_owned(),
            Self::Reset => {
                "Okay, let's start over: I've set our earlier conversation aside.".to_owned()
            }
            Self::Human => bot.handoff.message().to_owned(),
        }
    }
}

const HELP: &str = "Write to me and I'll answer.\n/start: say hello\n/help: this help\n/reset: start a new conversation\n/human: talk to a person";

/// The answer to content Switchboard cannot read (photos, stickers, voice…).
pub const UNSUPPORTED_REPLY: &str = "Sorry, I can only read text messages for now.";

/// What to do with an inbound message before any model is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent<'a> {
    Command(Command),
    Unsupported,
    Ask(&'a str),
    /// A photo (`media`, the platform's reference) with its caption, possibly empty.
    Look {
        media: &'a str,
        caption: &'a str,
    },
}

/// What `content` asks of a bot handing chats off by `handoff`: a message holding one of its
/// keywords asks for a person, as `/human` does.
pub fn intent<'a>(content: &'a MessageContent, handoff: &HandoffPolicy) -> Intent<'a> {
    if let MessageContent::Image { media, caption } = content {
        let caption = caption.as_deref().unwrap_or_default();
        return Intent::Look { media, caption };
    }
    let Some(text) = content.as_text() else {
        return Intent::Unsupported;
    };
    match Command::parse(text) {
        Some(command) => Intent::Command(command),
        None if handoff.asks_for_a_person(text) => Intent::Command(Command::Human),
        None => Intent::Ask(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_is_looked_at_with_its_caption_and_other_media_are_unsupported() {
        let handoff = HandoffPolicy::default();
        let photo = MessageContent::image("f", Some("what is it?".into()));
        assert_eq!(
            intent(&photo, &handoff),
            Intent::Look {
                media: "f",
                caption: "what is it?"
            }
        );
        let bare = MessageContent::image("f", None);
        assert_eq!(
            intent(&bare, &handoff),
            Intent::Look {
                media: "f",
                caption: ""
            }
        );
        let sticker = MessageContent::unsupported("sticker");
        assert_eq!(intent(&sticker, &handoff), Intent::Unsupported);
    }

    #[test]
    fn commands_are_recognised_with_or_without_bot_suffix() {
        assert_eq!(Command::parse("/start"), Some(Command::Start));
        assert_eq!(Command::parse("  /HELP me"), Some(Command::Help));
        assert_eq!(
            Command::parse("/reset@switchboard_bot"),
            Some(Command::Reset)
        );
        assert_eq!(Command::parse("/Human"), Some(Command::Human));
        assert_eq!(Command::parse("/weather"), None);
        assert_eq!(Command::parse("start"), None);
        assert_eq!(Command::parse(""), None);
    }

    #[test]
    fn intent_sorts_text_commands_and_other_kinds() {
        let none = HandoffPolicy::default();
        assert_eq!(
            intent(&MessageContent::text("/reset"), &none),
            Intent::Command(Command::Reset)
        );
        let hello = MessageContent::text("hello");
        assert_eq!(intent(&hello, &none), Intent::Ask("hello"));
        let photo = MessageContent::Unsupported {
            kind: "photo".into(),
        };
        assert_eq!(intent(&photo, &none), Intent::Unsupported);
    }

    #[test]
    fn a_keyword_asks_for_a_person_as_human_does() {
        let keywords = ["agent".to_owned()];
        let policy = HandoffPolicy::new(&keywords, None, 60).unwrap();
        let asking = MessageContent::text("Agent please");
        assert_eq!(intent(&asking, &policy), Intent::Command(Command::Human));
        let other = MessageContent::text("agents are busy");
        assert_eq!(intent(&other, &policy), Intent::Ask("agents are busy"));
    }
}
