//! The rule for text taken from outside: which control characters a stored field may hold.
//!
//! One-line fields (names, models) hold none; multi-line texts (prompts, messages) none but
//! line feed, carriage return and tab. Input that breaks the rule is refused with the field
//! named; a verified platform's text, which must not be lost, is scrubbed instead. The control
//! characters are Unicode's `Cc`: C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F).
//! PostgreSQL refuses U+0000 in text; the others, printed raw, drive a terminal or fake a row.

use crate::ValidationError;

/// A one-line name: trimmed, 1 to `max_chars` characters, no control character; errors name
/// `field`.
pub fn one_line_name(
    field: &'static str,
    value: &str,
    max_chars: usize,
) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if trimmed.chars().count() > max_chars {
        let reason = format!("must be at most {max_chars} characters");
        return Err(ValidationError::new(field, reason));
    }
    TextRule::SingleLine.check(field, trimmed)?;
    Ok(trimmed.to_owned())
}

/// Which characters a stored text may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextRule {
    /// Names, models, ids: no control character at all.
    SingleLine,
    /// Prompts and messages: line feed, carriage return and tab, no other control character.
    MultiLine,
}

impl TextRule {
    /// Whether `c` may appear in a text of this kind.
    pub fn allows(self, c: char) -> bool {
        !c.is_control() || (self == Self::MultiLine && matches!(c, '\n' | '\r' | '\t'))
    }

    /// What the rule asks, as a sentence fragment for an error.
    pub fn requirement(self) -> &'static str {
        match self {
            Self::SingleLine => {
                "must not contain control characters (U+0000-U+001F, U+007F-U+009F)"
            }
            Self::MultiLine => {
                "must not contain control characters (U+0000-U+001F, U+007F-U+009F) other than line feed, carriage return and tab"
            }
        }
    }

    /// `Ok` when `value` holds only allowed characters; else the first one refused, with the
    /// rule, as `field`'s error.
    pub fn check(self, field: &'static str, value: &str) -> Result<(), ValidationError> {
        self.violation(value)
            .map_or(Ok(()), |reason| Err(ValidationError::new(field, reason)))
    }

    /// Why `value` breaks the rule (its first refused character named), or `None`.
    pub fn violation(self, value: &str) -> Option<String> {
        let refused = value.chars().find(|&c| !self.allows(c))?;
        Some(format!(
            "{} (found U+{:04X})",
            self.requirement(),
            u32::from(refused)
        ))
    }

    /// `value` with each refused character replaced by U+FFFD, for text that must be kept
    /// rather than refused (what a verified platform delivers).
    pub fn scrub(self, value: String) -> String {
        if value.chars().all(|c| self.allows(c)) {
            return value;
        }
        value
            .chars()
            .map(|c| {
                if self.allows(c) {
                    c
                } else {
                    char::REPLACEMENT_CHARACTER
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C0_C1_DEL: [char; 8] = [
        '\0', '\u{1}', '\u{1b}', '\u{1f}', '\u{7f}', '\u{80}', '\u{9b}', '\u{9f}',
    ];

    #[test]
    fn single_lines_refuse_every_control_character() {
        for c in C0_C1_DEL.into_iter().chain(['\n', '\r', '\t']) {
            let err = TextRule::SingleLine
                .check("name", &format!("a{c}b"))
                .unwrap_err();
            assert_eq!(err.field, "name");
            assert!(
                err.reason
                    .ends_with(&format!("(found U+{:04X})", u32::from(c))),
                "{}",
                err.reason
            );
        }
        for fine in ["Ada", "é ü 漢字 🙂", "a b", "\u{a0}nbsp", "\u{a1}"] {
            assert_eq!(TextRule::SingleLine.check("name", fine), Ok(()), "{fine}");
        }
    }

    #[test]
    fn multi_lines_keep_line_breaks_and_tabs_only() {
        assert_eq!(
            TextRule::MultiLine.check("text", "line one\r\nline\ttwo\n"),
            Ok(())
        );
        for c in C0_C1_DEL {
            let err = TextRule::MultiLine
                .check("text", &format!("a{c}b"))
                .unwrap_err();
            assert_eq!(err.field, "text", "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn scrubbing_replaces_what_the_rule_refuses() {
        let kept = "plain\ttext\n".to_owned();
        assert_eq!(TextRule::MultiLine.scrub(kept.clone()), kept);
        assert_eq!(
            TextRule::MultiLine.scrub("a\0b\u{1b}[31mc\n".into()),
            "a\u{fffd}b\u{fffd}[31mc\n"
        );
        assert_eq!(TextRule::SingleLine.scrub("a\nb".into()), "a\u{fffd}b");
    }
}
