//! A bot's moderation rules: whether the provider's moderation checks users' messages and the model's answers, what an outage of it means, terms refused without any provider, and what the user is told.

use crate::phrases::Phrases;
use crate::ValidationError;
use serde::{Deserialize, Serialize};

/// What a moderation outage means for the message it was to check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Go on as if it passed.
    #[default]
    Allow,
    /// Answer with the moderation message.
    Refuse,
}

/// Which texts the provider's `/moderations` checks; by default, none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationPolicy {
    #[serde(default)]
    pub input: bool,
    #[serde(default)]
    pub output: bool,
    #[serde(default)]
    pub on_error: OnError,
}

/// The category a blocked term flags a text with.
pub const BLOCKED_TERM: &str = "blocked_term";

/// The most blocked terms a bot may list.
pub const MAX_BLOCKED_TERMS: usize = 100;

/// Terms refused in users' messages and the model's answers, matched as whole words in any
/// case (`"crypto tips"` flags "Any CRYPTO tips?", `"crypto"` not "cryptography").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockedTerms(Phrases);

impl BlockedTerms {
    pub fn parse(terms: &[String]) -> Result<Self, ValidationError> {
        Phrases::parse("blocked_terms", "terms", terms, MAX_BLOCKED_TERMS).map(Self)
    }

    /// The categories `text` is flagged with: [`BLOCKED_TERM`] when it holds a term.
    pub fn flag(&self, text: &str) -> Option<Vec<String>> {
        self.0.found_in(text).then(|| vec![BLOCKED_TERM.to_owned()])
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.to_strings()
    }
}

impl Serialize for BlockedTerms {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_strings().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for BlockedTerms {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let terms = Vec::<String>::deserialize(deserializer)?;
        Self::parse(&terms).map_err(serde::de::Error::custom)
    }
}

/// What the user is told when a message or an answer is flagged.
pub const DEFAULT_MODERATION_MESSAGE: &str =
    "Sorry, I can't help with that. Please rephrase your message.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_terms_flag_whole_words_in_any_case() {
        let terms = BlockedTerms::parse(&["crypto tips".into(), "casino".into()]).unwrap();
        assert_eq!(
            terms.flag("Any CRYPTO   tips?"),
            Some(vec![BLOCKED_TERM.to_owned()])
        );
        assert_eq!(terms.flag("cryptography tips"), None);
        assert!(terms.flag("the Casino!").is_some());
        let many: Vec<String> = (0..101).map(|n| format!("t{n}")).collect();
        assert_eq!(
            BlockedTerms::parse(&many).unwrap_err().field,
            "blocked_terms"
        );
        assert_eq!(
            BlockedTerms::parse(&["".into()]).unwrap_err().field,
            "blocked_terms"
        );
        let json = serde_json::to_string(&terms).unwrap();
        assert_eq!(serde_json::from_str::<BlockedTerms>(&json).unwrap(), terms);
    }
}
