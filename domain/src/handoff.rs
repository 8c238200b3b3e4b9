//! How a bot hands a chat to a person: the words that ask for one, what the user is told, and when a quiet chat returns to the bot.

use crate::phrases::Phrases;
use crate::{TextRule, ValidationError};

/// A bot's handoff rules; the default asks for no keyword (only `/human`), tells the user
/// [`HandoffPolicy::DEFAULT_MESSAGE`] and gives a chat back after an hour without an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffPolicy {
    /// Matched on whole words.
    keywords: Phrases,
    message: Option<String>,
    idle_minutes: u32,
}

impl HandoffPolicy {
    pub const DEFAULT_MESSAGE: &'static str =
        "I'm passing you to a person. They will answer here as soon as they can.";
    pub const DEFAULT_IDLE_MINUTES: u32 = 60;
    pub const MAX_KEYWORDS: usize = 20;
    pub const MAX_KEYWORD_CHARS: usize = 100;
    pub const MAX_MESSAGE_CHARS: usize = 4096;
    /// A week.
    pub const MAX_IDLE_MINUTES: u32 = 10_080;

    /// The rules, once each part is valid: keywords of 1-100 characters on one line with a
    /// word in each (at most 20), a message of 1-4096 characters, 1-10080 idle minutes.
    pub fn new(
        keywords: &[String],
        message: Option<String>,
        idle_minutes: u32,
    ) -> Result<Self, ValidationError> {
        let keywords =
            Phrases::parse("handoff_keywords", "keywords", keywords, Self::MAX_KEYWORDS)?;
        if let Some(message) = &message {
            check_message(message)?;
        }
        if !(1..=Self::MAX_IDLE_MINUTES).contains(&idle_minutes) {
            return Err(invalid(
                "handoff_idle_minutes",
                "must be between 1 and 10080",
            ));
        }
        Ok(Self {
            keywords,
            message,
            idle_minutes,
        })
    }

    /// Whether `text` holds one of the keywords as whole words, whatever their case.
    pub fn asks_for_a_person(&self, text: &str) -> bool {
        self.keywords.found_in(text)
    }

    /// The keywords as the operator gave them (lowercase, single-spaced).
    pub fn keywords(&self) -> Vec<String> {
        self.keywords.to_strings()
    }

    /// The operator's message, if they set one.
    pub fn custom_message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// What the user is told when their chat goes to a person.
    pub fn message(&self) -> &str {
        self.custom_message().unwrap_or(Self::DEFAULT_MESSAGE)
    }

    /// Minutes without an operator's message after which a handed-off chat is the bot's again.
    pub fn idle_minutes(&self) -> u32 {
        self.idle_minutes
    }
}

impl Default for HandoffPolicy {
    fn default() -> Self {
        Self {
            keywords: Phrases::default(),
            message: None,
            idle_minutes: Self::DEFAULT_IDLE_MINUTES,
        }
    }
}

fn invalid(field: &'static str, reason: &str) -> ValidationError {
    ValidationError::new(field, reason)
}

fn check_message(message: &str) -> Result<(), ValidationError> {
    let chars = message.chars().count();
    if chars == 0 || chars > HandoffPolicy::MAX_MESSAGE_CHARS {
        return Err(invalid("handoff_message", "must be 1-4096 characters"));
    }
    TextRule::MultiLine.check("handoff_message", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(keywords: &[&str]) -> HandoffPolicy {
        let keywords: Vec<String> = keywords.iter().map(|k| (*k).to_owned()).collect();
        HandoffPolicy::new(&keywords, None, 60).unwrap()
    }

    #[test]
    fn keywords_match_whole_words_in_any_case() {
        let rules = policy(&["agent", "real person"]);
        assert!(rules.asks_for_a_person("I want an AGENT!"));
        assert!(rules.asks_for_a_person("can I talk to a real   Person?"));
        assert!(
            !rules.asks_for_a_person("the agents are busy"),
            "not a whole word"
        );
        assert!(
            !rules.asks_for_a_person("a real, honest person"),
            "not in a row"
        );
        assert!(!HandoffPolicy::default().asks_for_a_person("agent"));
        assert_eq!(rules.keywords(), ["agent", "real person"]);
    }

    #[test]
    fn each_part_is_bounded() {
        let many: Vec<String> = (0..21).map(|n| format!("k{n}")).collect();
        assert_eq!(
            HandoffPolicy::new(&many, None, 60).unwrap_err().field,
            "handoff_keywords"
        );
        for bad in ["", "!!!", "line\nbreak", &"x".repeat(101)] {
            let keywords = [bad.to_owned()];
            assert!(HandoffPolicy::new(&keywords, None, 60).is_err(), "{bad:?}");
        }
        let empty = HandoffPolicy::new(&[], Some(String::new()), 60);
        assert_eq!(empty.unwrap_err().field, "handoff_message");
        for minutes in [0, 10_081] {
            let err = HandoffPolicy::new(&[], None, minutes).unwrap_err();
            assert_eq!(err.field, "handoff_idle_minutes");
        }
        assert_eq!(
            HandoffPolicy::default().message(),
            HandoffPolicy::DEFAULT_MESSAGE
        );
    }
}
