//! Chat commands (/start, /help, /reset) and the canned replies that need no model.

use domain::{Bot, MessageContent};

/// A command the bot answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Start,
    Help,
    Reset,
}

impl Command {
    /// Recognises `/start`, `/help` and `/reset`, also in Telegram's `/start@MyBot` form.
    pub fn parse(text: &str) -> Option<Self> {
        let word = text.split_whitespace().next()?.strip_prefix('/')?;
        let name = word.split('@').next().unwrap_or(word);
        match name.to_ascii_lowercase().as_str() {
            "start" => Some(Self::Start),
            "help" => Some(Self::Help),
            "reset" => Some(Self::Reset),
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
        }
    }
}

const HELP: &str = "Write to me and I'll answer.\n/start: say hello\n/help: this help\n/reset: start a new conversation";

/// The answer to content Switchboard cannot read (photos, stickers, voice…).
pub const UNSUPPORTED_REPLY: &str = "Sorry, I can only read text messages for now.";

/// What to do with an inbound message before any model is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent<'a> {
    Command(Command),
    Unsupported,
    Ask(&'a str),
}

pub fn intent(content: &MessageContent) -> Intent<'_> {
    match content.as_text() {
        None => Intent::Unsupported,
        Some(text) => Command::parse(text).map_or(Intent::Ask(text), Intent::Command),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_recognised_with_or_without_bot_suffix() {
        assert_eq!(Command::parse("/start"), Some(Command::Start));
        assert_eq!(Command::parse("  /HELP me"), Some(Command::Help));
        assert_eq!(
            Command::parse("/reset@switchboard_bot"),
            Some(Command::Reset)
        );
        assert_eq!(Command::parse("/weather"), None);
        assert_eq!(Command::parse("start"), None);
        assert_eq!(Command::parse(""), None);
    }

    #[test]
    fn intent_sorts_text_commands_and_other_kinds() {
        assert_eq!(
            intent(&MessageContent::text("/reset")),
            Intent::Command(Command::Reset)
        );
        assert_eq!(intent(&MessageContent::text("hello")), Intent::Ask("hello"));
        assert_eq!(
            intent(&MessageContent::Unsupported {
                kind: "photo".into()
            }),
            Intent::Unsupported
        );
    }
}
