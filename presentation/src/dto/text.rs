//! The domain's text rule as `validator` checks: every text field of a request body uses one.

use domain::TextRule;
use std::borrow::Cow;
use validator::ValidationError;

/// A name, a model, a label: no control character.
pub(crate) fn single_line(value: &str) -> Result<(), ValidationError> {
    follows(TextRule::SingleLine, value)
}

/// A prompt or a message: no control character but line feed, carriage return and tab.
pub(crate) fn multi_line(value: &str) -> Result<(), ValidationError> {
    follows(TextRule::MultiLine, value)
}

fn follows(rule: TextRule, value: &str) -> Result<(), ValidationError> {
    match rule.violation(value) {
        None => Ok(()),
        Some(reason) => {
            Err(ValidationError::new("control_characters").with_message(Cow::Owned(reason)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_which_character_broke_the_rule() {
        assert!(single_line("Ada Lovelace").is_ok());
        assert!(multi_line("line\r\nline\t").is_ok());
        let refused = single_line("a\nb").unwrap_err();
        assert_eq!(refused.code, "control_characters");
        let message = refused.message.unwrap_or_default();
        assert!(message.ends_with("(found U+000A)"), "{message}");
        assert!(multi_line("a\0b").is_err());
    }
}
