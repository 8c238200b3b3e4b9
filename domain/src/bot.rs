//! The Bot entity: an assistant's identity, prompt and model settings.

use crate::{
    BotId, Guardrails, HandoffPolicy, Lifecycle, ProviderId, ReplyStyle, TextRule, ValidationError,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A bot's display name: 1 to 100 characters, trimmed, without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BotName(String);

impl BotName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        crate::text::one_line_name("name", value, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BotName {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<BotName> for String {
    fn from(name: BotName) -> Self {
        name.0
    }
}

/// The instructions given to the model before every conversation: at most 20,000 characters,
/// without control characters but line breaks and tabs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SystemPrompt(String);

impl SystemPrompt {
    pub const MAX_CHARS: usize = 20_000;

    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        if value.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "system_prompt",
                "must be at most 20000 characters",
            ));
        }
        TextRule::MultiLine.check("system_prompt", value)?;
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SystemPrompt {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<SystemPrompt> for String {
    fn from(prompt: SystemPrompt) -> Self {
        prompt.0
    }
}

/// Sampling temperature, within the range OpenAI-compatible APIs accept: 0.0 to 2.0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f32", into = "f32")]
pub struct Temperature(f32);

impl Temperature {
    pub fn parse(value: f32) -> Result<Self, ValidationError> {
        if !(0.0..=2.0).contains(&value) {
            return Err(ValidationError::new(
                "temperature",
                "must be between 0 and 2",
            ));
        }
        Ok(Self(value))
    }

    pub fn value(self) -> f32 {
        self.0
    }
}

impl TryFrom<f32> for Temperature {
    type Error = ValidationError;

    fn try_from(value: f32) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Temperature> for f32 {
    fn from(t: Temperature) -> Self {
        t.0
    }
}

/// The fields an operator chooses for a bot, already valid.
#[derive(Debug, Clone, PartialEq)]
pub struct BotDraft {
    pub name: BotName,
    pub system_prompt: SystemPrompt,
    /// The model to ask; `None` uses the configured default.
    pub model: Option<String>,
    pub temperature: Option<Temperature>,
    /// Sent when the model cannot answer; `None` uses a built-in apology.
    pub fallback_message: Option<String>,
    pub handoff: HandoffPolicy,
    /// The provider asked; `None` uses the configured default (`ai.*`).
    pub provider_id: Option<ProviderId>,
    /// Budgets, and what users are told when one is spent.
    pub guardrails: Guardrails,
    /// How it answers: at once, or once a chat's burst of messages has ended.
    pub replies: ReplyStyle,
    /// When its quiet conversations end, and how long its messages are kept.
    pub lifecycle: Lifecycle,
}

/// An AI assistant that can be bound to several platforms.
#[derive(Debug, Clone, PartialEq)]
pub struct Bot {
    pub id: BotId,
    pub name: BotName,
    pub system_prompt: SystemPrompt,
    pub model: Option<String>,
    pub temperature: Option<Temperature>,
    pub fallback_message: Option<String>,
    /// When and how the bot hands a chat to a person.
    pub handoff: HandoffPolicy,
    /// The provider asked; `None` uses the configured default (`ai.*`).
    pub provider_id: Option<ProviderId>,
    /// Budgets, and what users are told when one is spent.
    pub guardrails: Guardrails,
    /// How it answers: at once, or once a chat's burst of messages has ended.
    pub replies: ReplyStyle,
    pub lifecycle: Lifecycle,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Since when the bot has been paused: its messages are kept but not answered.
    pub paused_at: Option<DateTime<Utc>>,
}

/// Whether a bot answers: `active`, or `paused` by an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BotStatus {
    Active,
    Paused,
}

impl BotStatus {
    pub const ALL: [BotStatus; 2] = [Self::Active, Self::Paused];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
        }
    }
}

impl Bot {
    pub const DEFAULT_FALLBACK: &'static str =
        "Sorry, I can't answer right now. Please try again in a little while.";

    pub fn create(draft: BotDraft, now: DateTime<Utc>) -> Self {
        Self {
            id: BotId::new(),
            name: draft.name,
            system_prompt: draft.system_prompt,
            model: draft.model,
            temperature: draft.temperature,
            fallback_message: draft.fallback_message,
            handoff: draft.handoff,
            provider_id: draft.provider_id,
            guardrails: draft.guardrails,
            replies: draft.replies,
            lifecycle: draft.lifecycle,
            created_at: now,
            updated_at: now,
            paused_at: None,
        }
    }

    /// Stops answering from `now` on; pausing a paused bot keeps its first `paused_at`.
    /// `true` when the bot was active.
    pub fn pause(&mut self, now: DateTime<Utc>) -> bool {
        if self.is_paused() {
            return false;
        }
        self.paused_at = Some(now);
        self.updated_at = now;
        true
    }

    /// Answers again from `now` on; `true` when the bot was paused.
    pub fn resume(&mut self, now: DateTime<Utc>) -> bool {
        if !self.is_paused() {
            return false;
        }
        self.paused_at = None;
        self.updated_at = now;
        true
    }

    pub fn is_paused(&self) -> bool {
        self.paused_at.is_some()
    }

    pub fn status(&self) -> BotStatus {
        if self.is_paused() {
            BotStatus::Paused
        } else {
            BotStatus::Active
        }
    }

    /// Replaces the operator-chosen fields, keeping identity and creation time.
    pub fn revise(&mut self, draft: BotDraft, now: DateTime<Utc>) {
        self.name = draft.name;
        self.system_prompt = draft.system_prompt;
        self.model = draft.model;
        self.temperature = draft.temperature;
        self.fallback_message = draft.fallback_message;
        self.handoff = draft.handoff;
        self.provider_id = draft.provider_id;
        self.guardrails = draft.guardrails;
        self.replies = draft.replies;
        self.lifecycle = draft.lifecycle;
        self.updated_at = now;
    }

    /// The operator's fields as a draft, the starting point of a partial update.
    pub fn draft(&self) -> BotDraft {
        BotDraft {
            name: self.name.clone(),
            system_prompt: self.system_prompt.clone(),
            model: self.model.clone(),
            temperature: self.temperature,
            fallback_message: self.fallback_message.clone(),
            handoff: self.handoff.clone(),
            provider_id: self.provider_id,
            guardrails: self.guardrails.clone(),
            replies: self.replies.clone(),
            lifecycle: self.lifecycle,
        }
    }

    pub fn fallback(&self) -> &str {
        self.fallback_message
            .as_deref()
            .unwrap_or(Self::DEFAULT_FALLBACK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(BotName::parse("  Ada ").unwrap().as_str(), "Ada");
        assert_eq!(BotName::parse("   ").unwrap_err().field, "name");
        assert!(BotName::parse(&"x".repeat(101)).is_err());
        assert!(BotName::parse(&"é".repeat(100)).is_ok());
        for forged in ["Ada\u{1b}[31m", "Ada\r\nFAKE ROW", "Ada\0"] {
            assert_eq!(
                BotName::parse(forged).unwrap_err().field,
                "name",
                "{forged:?}"
            );
        }
    }

    #[test]
    fn prompts_keep_line_breaks_but_refuse_other_controls() {
        assert!(SystemPrompt::parse("Be brief.\n\tAlways.\r\n").is_ok());
        let nul = SystemPrompt::parse("Be brief.\0").unwrap_err();
        assert_eq!(nul.field, "system_prompt");
    }

    #[test]
    fn temperature_is_bounded() {
        assert!(Temperature::parse(0.0).is_ok());
        assert!(Temperature::parse(2.0).is_ok());
        assert_eq!(Temperature::parse(2.5).unwrap_err().field, "temperature");
        assert!(Temperature::parse(f32::NAN).is_err());
    }

    fn draft() -> BotDraft {
        BotDraft {
            name: BotName::parse("a").unwrap(),
            system_prompt: SystemPrompt::parse("").unwrap(),
            model: None,
            temperature: None,
            fallback_message: None,
            handoff: HandoffPolicy::default(),
            provider_id: None,
            guardrails: Default::default(),
            replies: Default::default(),
            lifecycle: Default::default(),
        }
    }

    #[test]
    fn pausing_keeps_the_first_pause_and_resuming_clears_it() {
        let at = |secs| DateTime::from_timestamp(secs, 0).unwrap();
        let mut bot = Bot::create(draft(), at(1));
        assert_eq!(bot.status(), BotStatus::Active);
        assert!(bot.pause(at(2)));
        assert!(!bot.pause(at(3)), "already paused");
        assert_eq!((bot.paused_at, bot.updated_at), (Some(at(2)), at(2)));
        assert_eq!(bot.status(), BotStatus::Paused);
        assert!(bot.resume(at(4)));
        assert!(!bot.resume(at(5)), "already active");
        assert_eq!((bot.paused_at, bot.updated_at), (None, at(4)));
        assert!(!bot.is_paused());
    }

    #[test]
    fn fallback_defaults_to_the_builtin_apology() {
        let draft = draft();
        let mut bot = Bot::create(draft.clone(), Utc::now());
        assert_eq!(bot.fallback(), Bot::DEFAULT_FALLBACK);
        bot.revise(
            BotDraft {
                fallback_message: Some("later".into()),
                handoff: HandoffPolicy::default(),
                ..draft
            },
            Utc::now(),
        );
        assert_eq!(bot.fallback(), "later");
    }
}
