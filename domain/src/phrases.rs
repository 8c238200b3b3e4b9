//! Lists of phrases matched as whole words in any case: a bot's handoff keywords and its blocked terms.

use crate::{TextRule, ValidationError};

/// Phrases kept as their lowercase words; one is found in a text holding its words in a row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Phrases(Vec<Vec<String>>);

impl Phrases {
    /// At most `max_count` phrases of 1 to 100 characters on one line, each with a word;
    /// refusals name `field` and call the phrases `noun`.
    pub fn parse(
        field: &'static str,
        noun: &str,
        phrases: &[String],
        max_count: usize,
    ) -> Result<Self, ValidationError> {
        if phrases.len() > max_count {
            let reason = format!("must hold at most {max_count} {noun}");
            return Err(ValidationError::new(field, reason));
        }
        phrases
            .iter()
            .map(|phrase| phrase_words(field, phrase))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether `text` holds one of the phrases as whole words, whatever their case.
    pub fn found_in(&self, text: &str) -> bool {
        if self.0.is_empty() {
            return false; // most bots list none: no need to split the text
        }
        let said = words(text);
        self.0.iter().any(|phrase| {
            said.windows(phrase.len())
                .any(|run| run == phrase.as_slice())
        })
    }

    /// The phrases as given (lowercase, single-spaced).
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|words| words.join(" ")).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The most characters of one phrase.
pub const MAX_PHRASE_CHARS: usize = 100;

/// A phrase's words, once it is valid.
fn phrase_words(field: &'static str, phrase: &str) -> Result<Vec<String>, ValidationError> {
    let chars = phrase.chars().count();
    if chars == 0 || chars > MAX_PHRASE_CHARS {
        return Err(ValidationError::new(field, "each must be 1-100 characters"));
    }
    TextRule::SingleLine.check(field, phrase)?;
    let words = words(phrase);
    if words.is_empty() {
        return Err(ValidationError::new(field, "each must hold a word"));
    }
    Ok(words)
}

/// `text`'s words, lowercase: runs of letters and digits.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}
