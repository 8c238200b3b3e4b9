//! `POST /api/v1/bots/{id}/messages`: a message the bot starts, as the API takes it.

use crate::errors::ApiError;
use application::{Proactive, Say};
use domain::{
    ExternalChatId, PlatformKind, Template, TemplateComponent, TemplateParameter, TemplatePart,
    ValidationError,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// `{platform, chat_id | user_id, text | template}`: the platform the bot is bound to (`telegram`,
/// `discord`, `messenger` or `whatsapp`); the chat to write to — on Telegram, Messenger and
/// WhatsApp a user's private chat has the user's id, so `user_id` may stand for `chat_id`, on
/// Discord it is the channel's id —; and the text, trimmed, then 1-4096 characters, line
/// breaks and tabs allowed, or, on WhatsApp, an approved `template`. A text goes only to a chat
/// that has written to the bot (except on Discord), and on WhatsApp and Messenger within the
/// last 24 hours; a template goes any time.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartMessage {
    #[schema(value_type = String, required = true, example = "telegram")]
    pub platform: Option<String>,
    #[schema(value_type = String, example = "4242")]
    pub chat_id: Option<String>,
    /// Stands for `chat_id` on Telegram, Messenger and WhatsApp.
    #[schema(value_type = String)]
    pub user_id: Option<String>,
    #[schema(value_type = String, min_length = 1, max_length = 4096)]
    pub text: Option<String>,
    /// WhatsApp only, instead of `text`.
    pub template: Option<TemplateBody>,
}

/// A WhatsApp message template approved in Meta's dashboard, in the Cloud API's own shape:
/// `{name, language, components?}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    /// 1-512 lowercase letters, digits and underscores.
    pub name: String,
    /// The language it was approved in: a code (`en_US`), or `{"code": "en_US"}` as Meta writes it.
    #[schema(value_type = String, example = "en_US")]
    #[serde(deserialize_with = "language_code")]
    pub language: String,
    #[serde(default)]
    pub components: Vec<ComponentBody>,
}

/// The parameters of one part: `{type: header | body | button, sub_type?: quick_reply | url,
/// index?: 0-9 (buttons), parameters: [{type: text, text} | {type: payload, payload}]}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentBody {
    #[serde(rename = "type")]
    pub kind: ComponentKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<ButtonKind>,
    /// A button's index: a number or a string of one, as Meta writes it.
    #[schema(value_type = Option<u8>)]
    #[serde(
        default,
        deserialize_with = "button_index",
        skip_serializing_if = "Option::is_none"
    )]
    pub index: Option<u8>,
    #[serde(default)]
    pub parameters: Vec<ParameterBody>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComponentKind {
    Header,
    Body,
    Button,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ButtonKind {
    QuickReply,
    Url,
}

/// A value for the template: a text, or a quick-reply button's payload.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ParameterBody {
    Text { text: String },
    Payload { payload: String },
}

impl TemplateBody {
    fn into_template(self) -> Result<Template, ValidationError> {
        let components = self
            .components
            .into_iter()
            .map(ComponentBody::into_component)
            .collect::<Result<Vec<_>, _>>()?;
        Template::new(&self.name, &self.language, components)
    }

    /// The template as a bot's `window_template`: the same rules, refusals naming that field.
    pub fn into_window_template(self) -> Result<Template, ValidationError> {
        self.into_template().map_err(|error| {
            let field = match error.field {
                "template.name" => "window_template.name",
                "template.language" => "window_template.language",
                _ => "window_template.components",
            };
            ValidationError::new(field, error.reason)
        })
    }
}

/// A stored template in the shape it is taken in.
impl From<&Template> for TemplateBody {
    fn from(template: &Template) -> Self {
        Self {
            name: template.name.clone(),
            language: template.language.clone(),
            components: template
                .components
                .iter()
                .map(ComponentBody::from)
                .collect(),
        }
    }
}

impl From<&TemplateComponent> for ComponentBody {
    fn from(component: &TemplateComponent) -> Self {
        let (kind, sub_type) = match component.part {
            TemplatePart::Header => (ComponentKind::Header, None),
            TemplatePart::Body => (ComponentKind::Body, None),
            TemplatePart::QuickReply => (ComponentKind::Button, Some(ButtonKind::QuickReply)),
            TemplatePart::Url => (ComponentKind::Button, Some(ButtonKind::Url)),
        };
        let parameters = component
            .parameters
            .iter()
            .map(|parameter| match parameter.clone() {
                TemplateParameter::Text { text } => ParameterBody::Text { text },
                TemplateParameter::Payload { payload } => ParameterBody::Payload { payload },
            })
            .collect();
        Self {
            kind,
            sub_type,
            index: component.index,
            parameters,
        }
    }
}

impl ComponentBody {
    fn into_component(self) -> Result<TemplateComponent, ValidationError> {
        let part = match (self.kind, self.sub_type) {
            (ComponentKind::Header, None) => TemplatePart::Header,
            (ComponentKind::Body, None) => TemplatePart::Body,
            (ComponentKind::Button, Some(ButtonKind::QuickReply)) => TemplatePart::QuickReply,
            (ComponentKind::Button, Some(ButtonKind::Url)) => TemplatePart::Url,
            (ComponentKind::Button, None) => {
                let reason = "a button names its sub_type (quick_reply or url)";
                return Err(ValidationError::new("template.components", reason));
            }
            (_, Some(_)) => {
                let reason = "only a button has a sub_type";
                return Err(ValidationError::new("template.components", reason));
            }
        };
        let parameters = self
            .parameters
            .into_iter()
            .map(|parameter| match parameter {
                ParameterBody::Text { text } => TemplateParameter::Text { text },
                ParameterBody::Payload { payload } => TemplateParameter::Payload { payload },
            })
            .collect();
        Ok(TemplateComponent {
            part,
            index: self.index,
            parameters,
        })
    }
}

/// `"en_US"` or `{"code": "en_US"}`.
fn language_code<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Language {
        Code(String),
        Object { code: String },
    }
    Ok(match Language::deserialize(deserializer)? {
        Language::Code(code) | Language::Object { code } => code,
    })
}

/// `0` or `"0"`.
fn button_index<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u8>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Index {
        Number(u8),
        Text(String),
    }
    match Option::<Index>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Index::Number(index)) => Ok(Some(index)),
        Some(Index::Text(text)) => text
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("a button's index is a number from 0 to 9")),
    }
}

impl StartMessage {
    /// The request, or a 422 naming the first field that is missing or malformed.
    pub fn into_proactive(self) -> Result<Proactive, ApiError> {
        let platform = platform(self.platform)?;
        let chat = match (self.chat_id, self.user_id) {
            (Some(_), Some(_)) => {
                return Err(
                    ValidationError::new("user_id", "give chat_id or user_id, not both").into(),
                )
            }
            (None, None) => return Err(missing("chat_id")),
            (Some(chat), None) => ExternalChatId::parse(chat)?,
            (None, Some(_)) if platform == PlatformKind::Discord => {
                return Err(discord_users("user_id"))
            }
            (None, Some(user)) => ExternalChatId::parse(user)
                .map_err(|error| ValidationError::new("user_id", error.reason))?,
        };
        Ok(Proactive {
            platform,
            chat,
            say: say(self.text, self.template)?,
        })
    }
}

/// The platform named, one a bot can write to first.
pub(crate) fn platform(platform: Option<String>) -> Result<PlatformKind, ApiError> {
    platform
        .ok_or_else(|| missing("platform"))?
        .parse::<PlatformKind>()
        .map_err(|_| {
            ValidationError::new(
                "platform",
                "must be telegram, discord, messenger or whatsapp",
            )
            .into()
        })
}

/// The text or the template, exactly one of them.
pub(crate) fn say(text: Option<String>, template: Option<TemplateBody>) -> Result<Say, ApiError> {
    match (text, template) {
        (Some(_), Some(_)) => {
            let reason = "give text or template, not both";
            Err(ValidationError::new("template", reason).into())
        }
        (None, None) => Err(missing("text")),
        (Some(text), None) => Ok(Say::Text(text)),
        (None, Some(template)) => Ok(Say::Template(template.into_template()?)),
    }
}

/// Discord's chats are channels, never users.
pub(crate) fn discord_users(field: &'static str) -> ApiError {
    ValidationError::new(field, "Discord takes the channel's chat_id").into()
}

pub(crate) fn missing(field: &'static str) -> ApiError {
    ValidationError::new(field, "is required").into()
}
