//! A WhatsApp message template, approved in Meta's dashboard, with the values filled into it: what may go to a chat outside the 24-hour window.

use crate::error::ValidationError;
use crate::text::TextRule;
use serde::{Deserialize, Serialize};

/// A template by name and language, with the parameters of its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub name: String,
    /// The language code it was approved in (`en`, `en_US`, `pt_BR`…).
    pub language: String,
    pub components: Vec<TemplateComponent>,
}

/// The parameters of one part of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateComponent {
    pub part: TemplatePart,
    /// For a button: its index among the template's buttons (0-9).
    pub index: Option<u8>,
    pub parameters: Vec<TemplateParameter>,
}

/// Which part of the template a component fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplatePart {
    Header,
    Body,
    /// A quick-reply button: its parameter is the payload that comes back when tapped.
    QuickReply,
    /// A URL button: its parameter completes the URL.
    Url,
}

/// A value filled into a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TemplateParameter {
    Text {
        text: String,
    },
    /// What a quick-reply button sends back.
    Payload {
        payload: String,
    },
}

impl Template {
    /// The longest template name Meta accepts.
    pub const MAX_NAME: usize = 512;
    /// The longest parameter value (Meta's limit for body parameters).
    pub const MAX_PARAMETER: usize = 1024;

    /// A template, or the first field that is wrong: the name is 1-512 lowercase letters,
    /// digits and underscores; the language `xx`, `xxx` or `xx_XX`; buttons carry an index
    /// and header and body none; a button's one parameter is a payload (quick reply) or a
    /// text (URL); each text is 1-1024 characters without control characters but line breaks.
    pub fn new(
        name: &str,
        language: &str,
        components: Vec<TemplateComponent>,
    ) -> Result<Self, ValidationError> {
        let name_ok = !name.is_empty()
            && name.len() <= Self::MAX_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !name_ok {
            let reason = "must be 1-512 lowercase letters, digits and underscores";
            return Err(ValidationError::new("template.name", reason));
        }
        if !is_language_code(language) {
            let reason = "must be a language code such as en, en_US or pt_BR";
            return Err(ValidationError::new("template.language", reason));
        }
        for component in &components {
            component.check()?;
        }
        Ok(Self {
            name: name.to_owned(),
            language: language.to_owned(),
            components,
        })
    }

    /// What lists and the model's history show of it: `[template order_shipped]`.
    pub fn summary(&self) -> String {
        format!("[template {}]", self.name)
    }
}

impl TemplateComponent {
    fn check(&self) -> Result<(), ValidationError> {
        let button = matches!(self.part, TemplatePart::QuickReply | TemplatePart::Url);
        let field = "template.components";
        match (button, self.index) {
            (true, None) => return Err(ValidationError::new(field, "a button needs its index")),
            (true, Some(index)) if index > 9 => {
                return Err(ValidationError::new(field, "a button's index is 0-9"))
            }
            (false, Some(_)) => {
                return Err(ValidationError::new(field, "only buttons have an index"))
            }
            _ => {}
        }
        let expected_payload = self.part == TemplatePart::QuickReply;
        for parameter in &self.parameters {
            let (value, is_payload) = match parameter {
                TemplateParameter::Text { text } => (text, false),
                TemplateParameter::Payload { payload } => (payload, true),
            };
            if is_payload != expected_payload {
                let reason = "a quick reply's parameter is a payload, others' are texts";
                return Err(ValidationError::new(field, reason));
            }
            let chars = value.chars().count();
            if chars == 0 || chars > Template::MAX_PARAMETER {
                let reason = "each parameter is 1-1024 characters";
                return Err(ValidationError::new(field, reason));
            }
            TextRule::MultiLine.check(field, value)?;
        }
        Ok(())
    }
}

/// `en`, `fil`, `en_US`, `pt_BR`: Meta's codes.
fn is_language_code(code: &str) -> bool {
    let (language, region) = match code.split_once('_') {
        Some((language, region)) => (language, Some(region)),
        None => (code, None),
    };
    let language_ok =
        (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_lowercase());
    let region_ok = region
        .is_none_or(|region| region.len() == 2 && region.bytes().all(|b| b.is_ascii_uppercase()));
    language_ok && region_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> TemplateComponent {
        TemplateComponent {
            part: TemplatePart::Body,
            index: None,
            parameters: vec![TemplateParameter::Text { text: text.into() }],
        }
    }

    fn field_of(result: Result<Template, ValidationError>) -> &'static str {
        result.expect_err("refused").field
    }

    #[test]
    fn a_filled_template_is_taken() {
        let button = TemplateComponent {
            part: TemplatePart::QuickReply,
            index: Some(0),
            parameters: vec![TemplateParameter::Payload {
                payload: "track".into(),
            }],
        };
        let template = Template::new("order_shipped", "en_US", vec![body("Ada"), button]);
        assert_eq!(template.unwrap().summary(), "[template order_shipped]");
        assert!(Template::new("hello_world", "fil", vec![]).is_ok());
    }

    #[test]
    fn each_wrong_part_is_named() {
        assert_eq!(
            field_of(Template::new("Order", "en", vec![])),
            "template.name"
        );
        assert_eq!(field_of(Template::new("", "en", vec![])), "template.name");
        assert_eq!(
            field_of(Template::new("a", "english", vec![])),
            "template.language"
        );
        assert_eq!(
            field_of(Template::new("a", "en_us", vec![])),
            "template.language"
        );
        let empty = Template::new("a", "en", vec![body("")]);
        assert_eq!(field_of(empty), "template.components");
        let control = Template::new("a", "en", vec![body("a\u{7}b")]);
        assert_eq!(field_of(control), "template.components");
        let unindexed = TemplateComponent {
            part: TemplatePart::Url,
            index: None,
            parameters: vec![],
        };
        assert_eq!(
            field_of(Template::new("a", "en", vec![unindexed])),
            "template.components"
        );
        let payload_in_body = TemplateComponent {
            part: TemplatePart::Body,
            index: None,
            parameters: vec![TemplateParameter::Payload {
                payload: "x".into(),
            }],
        };
        assert_eq!(
            field_of(Template::new("a", "en", vec![payload_in_body])),
            "template.components"
        );
    }
}
