//! Bot bodies: create and partial-update requests (validated, then parsed into domain values) and the bot answer.

use crate::dto::guardrails::{BudgetBody, ModerationBody, RateLimitBody};
use crate::dto::proactive::TemplateBody;
use crate::dto::text::{multi_line, single_line};
use crate::dto::tools::{McpServerBody, McpServerShown};
use crate::errors::ApiError;
use chrono::{DateTime, Utc};
use domain::moderation::{BlockedTerms, ModerationPolicy};
use domain::{
    Bot, BotDraft, BotId, BotName, BotStatus, Budget, Guardrails, HandoffPolicy, Lifecycle,
    McpServer, ProviderId, RateLimits, ReplyStyle, SystemPrompt, Temperature, Template,
    ValidationError,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

/// `POST /api/v1/bots`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBot {
    /// One line: no control characters.
    #[validate(required, length(min = 1, max = 100), custom(function = single_line))]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// Line breaks and tabs allowed, no other control characters.
    #[validate(required, length(max = 20000), custom(function = multi_line))]
    #[schema(value_type = String, required = true, max_length = 20000)]
    pub system_prompt: Option<String>,
    /// The model to ask; absent, the server's `ai.model`. One line: no control characters.
    #[validate(length(min = 1, max = 200), custom(function = single_line))]
    #[schema(min_length = 1, max_length = 200)]
    pub model: Option<String>,
    #[validate(range(min = 0.0, max = 2.0))]
    #[schema(minimum = 0.0, maximum = 2.0)]
    pub temperature: Option<f32>,
    /// Sent when the model cannot answer; absent, a built-in apology. Line breaks and tabs
    /// allowed, no other control characters.
    #[validate(length(min = 1, max = 4096), custom(function = multi_line))]
    #[schema(min_length = 1, max_length = 4096)]
    pub fallback_message: Option<String>,
    /// Words that, as whole words in a user's message (any case), hand the chat to a person
    /// (as `/human` does): at most 20, each 1-100 characters on one line. Absent, none.
    #[validate(length(max = 20))]
    #[schema(max_items = 20)]
    pub handoff_keywords: Option<Vec<String>>,
    /// Told to the user when their chat goes to a person; absent, a built-in sentence. Line
    /// breaks and tabs allowed, no other control characters.
    #[validate(length(min = 1, max = 4096), custom(function = multi_line))]
    #[schema(min_length = 1, max_length = 4096)]
    pub handoff_message: Option<String>,
    /// Minutes without an operator's message after which a handed-off chat is the bot's again
    /// (its next message is answered); absent, 60.
    #[validate(range(min = 1, max = 10080))]
    #[schema(minimum = 1, maximum = 10080)]
    pub handoff_idle_minutes: Option<u32>,
    /// The provider to ask (`/api/v1/providers`); absent, the server's `ai.*`. An id that
    /// names no provider is a 422.
    #[schema(value_type = Option<crate::openapi::schemas::Id>)]
    pub provider_id: Option<ProviderId>,
    /// Caps on the model's tokens and cost per UTC day or month; absent, none.
    pub budget: Option<BudgetBody>,
    /// Told to the user instead of an answer once a budget is spent; absent, a built-in
    /// sentence. Line breaks and tabs allowed, no other control characters.
    #[validate(length(min = 1, max = 4096), custom(function = multi_line))]
    #[schema(min_length = 1, max_length = 4096)]
    pub budget_message: Option<String>,
    /// Whether the provider's moderation checks users' messages and the model's answers;
    /// absent, neither.
    pub moderation: Option<ModerationBody>,
    /// Terms refused as whole words in any case, in users' messages and the model's answers,
    /// without any provider: at most 100, each 1-100 characters on one line. Absent, none.
    #[validate(length(max = 100))]
    #[schema(max_items = 100)]
    pub blocked_terms: Option<Vec<String>>,
    /// Told to the user instead of an answer to a flagged message, and instead of a flagged
    /// answer; absent, a built-in sentence.
    #[validate(length(min = 1, max = 4096), custom(function = multi_line))]
    #[schema(min_length = 1, max_length = 4096)]
    pub moderation_message: Option<String>,
    /// Each end user's and the whole bot's allowance of messages; absent, 20 per 60 s (10 at
    /// once) per user and none for the bot.
    pub rate_limit: Option<RateLimitBody>,
    /// Told, at most once a window, to a user over the rate limit; absent, a built-in sentence.
    #[validate(length(min = 1, max = 4096), custom(function = multi_line))]
    #[schema(min_length = 1, max_length = 4096)]
    pub rate_limit_message: Option<String>,
    /// Milliseconds after a chat's latest message before the bot answers, everything that came
    /// in the meantime in one reply; absent, 0 (each message at once).
    #[validate(range(max = 60000))]
    #[schema(minimum = 0, maximum = 60000)]
    pub debounce_ms: Option<u32>,
    /// WhatsApp: the template sent in place of a text when the chat's 24-hour window has
    /// closed (a late reply, an operator's message); absent, such a text is not sent.
    pub window_template: Option<TemplateBody>,
    /// Telegram: private chats see the reply as the model writes it (a draft updated at most
    /// once a second), then the whole reply; absent, false. The web chat always streams.
    pub streaming: Option<bool>,
    /// MCP servers whose tools the model may call while it writes a reply (at most 8);
    /// absent, none.
    pub mcp_servers: Option<Vec<McpServerBody>>,
    /// Telegram photos are shown to the model as images (the bot's model must read them);
    /// absent, false: a photo gets the canned answer for what the bot cannot read.
    pub vision: Option<bool>,
    /// A conversation with no message for this many minutes (1 to 43200) is ended, within a
    /// minute; absent, never.
    #[validate(range(min = 1, max = 43200))]
    #[schema(minimum = 1, maximum = 43200)]
    pub idle_timeout: Option<u32>,
    /// Messages older than this many days (1 to 3650) are deleted, within an hour, and the
    /// conversations they leave empty; absent, kept.
    #[validate(range(min = 1, max = 3650))]
    #[schema(minimum = 1, maximum = 3650)]
    pub retention_days: Option<u32>,
}

/// The servers of a body, as the domain keeps them.
fn servers(bodies: Vec<McpServerBody>) -> Vec<McpServer> {
    bodies.into_iter().map(McpServer::from).collect()
}

impl CreateBot {
    pub fn into_draft(self) -> Result<BotDraft, ApiError> {
        self.validate()?;
        Ok(BotDraft {
            name: BotName::parse(self.name.as_deref().unwrap_or_default())?,
            system_prompt: SystemPrompt::parse(self.system_prompt.as_deref().unwrap_or_default())?,
            model: self.model,
            temperature: self.temperature.map(Temperature::parse).transpose()?,
            fallback_message: self.fallback_message,
            handoff: HandoffPolicy::new(
                &self.handoff_keywords.unwrap_or_default(),
                self.handoff_message,
                self.handoff_idle_minutes
                    .unwrap_or(HandoffPolicy::DEFAULT_IDLE_MINUTES),
            )?,
            provider_id: self.provider_id,
            guardrails: Guardrails {
                budget: self.budget.unwrap_or_default().into_budget()?,
                budget_message: self.budget_message,
                moderation: self.moderation.unwrap_or_default().into_policy()?,
                blocked_terms: BlockedTerms::parse(&self.blocked_terms.unwrap_or_default())?,
                moderation_message: self.moderation_message,
                rate_limit: self.rate_limit.unwrap_or_default().into_limits()?,
                rate_limit_message: self.rate_limit_message,
            },
            replies: ReplyStyle::new(
                self.debounce_ms.unwrap_or_default(),
                self.window_template
                    .map(TemplateBody::into_window_template)
                    .transpose()?,
            )?
            .streamed(self.streaming.unwrap_or_default())
            .seeing(self.vision.unwrap_or_default())
            .with_tools(servers(self.mcp_servers.unwrap_or_default()))?,
            lifecycle: Lifecycle::new(self.idle_timeout, self.retention_days)?,
        })
    }
}

/// `PATCH /api/v1/bots/{id}`: an absent field stays as it is; `null` clears an optional one.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBot {
    #[validate(length(min = 1, max = 100), custom(function = single_line))]
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[validate(length(max = 20000), custom(function = multi_line))]
    #[schema(value_type = String, max_length = 20000)]
    pub system_prompt: Option<String>,
    #[serde(default, deserialize_with = "super::patch::present")]
    #[validate(length(min = 1, max = 200), custom(function = single_line))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    pub model: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::patch::present")]
    #[validate(range(min = 0.0, max = 2.0))]
    #[schema(value_type = Option<f32>, minimum = 0.0, maximum = 2.0)]
    pub temperature: Option<Option<f32>>,
    #[serde(default, deserialize_with = "super::patch::present")]
    #[validate(length(min = 1, max = 4096), custom(function = multi_line))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 4096)]
    pub fallback_message: Option<Option<String>>,
    #[validate(length(max = 20))]
    #[schema(max_items = 20)]
    pub handoff_keywords: Option<Vec<String>>,
    /// `null` restores the built-in sentence.
    #[serde(default, deserialize_with = "super::patch::present")]
    #[validate(length(min = 1, max = 4096), custom(function = multi_line))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 4096)]
    pub handoff_message: Option<Option<String>>,
    #[validate(range(min = 1, max = 10080))]
    #[schema(minimum = 1, maximum = 10080)]
    pub handoff_idle_minutes: Option<u32>,
    /// `null` returns the bot to the server's `ai.*`.
    #[serde(default, deserialize_with = "super::patch::present")]
    #[schema(value_type = Option<crate::openapi::schemas::Id>)]
    pub provider_id: Option<Option<ProviderId>>,
    /// Replaces the whole budget; `null` removes it.
    #[serde(default, deserialize_with = "super::patch::present")]
    #[schema(value_type = Option<BudgetBody>)]
    pub budget: Option<Option<BudgetBody>>,
    /// `null` restores the built-in sentence.
    #[serde(default, deserialize_with = "super::patch::present")]
    #[validate(length(min = 1, max = 4096), custom(function = multi_line))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 4096)]
    pub budget_message: Option<Option<String>>,
    /// Replaces the whole moderation setting.
    pub moderation: Option<ModerationBody>,
    #[validate(length(max = 100))]
    #[schema(max_items = 100)]
    pub blocked_terms: Option<Vec<String>>,
    /// `null` restores the built-in sentence.
    #[serde(default, deserialize_with = "super::patch::present")]
    #[validate(length(min = 1, max = 4096), custom(function = multi_line))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 4096)]
    pub moderation_message: Option<Option<String>>,
    /// Replaces the whole rate limit (an absent part takes its default).
    pub rate_limit: Option<RateLimitBody>,
    /// `null` restores the built-in sentence.
    #[serde(default, deserialize_with = "super::patch::present")]
    #[validate(length(min = 1, max = 4096), custom(function = multi_line))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 4096)]
    pub rate_limit_message: Option<Option<String>>,
    #[validate(range(max = 60000))]
    #[schema(minimum = 0, maximum = 60000)]
    pub debounce_ms: Option<u32>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "super::patch::present")]
    #[schema(value_type = Option<TemplateBody>)]
    pub window_template: Option<Option<TemplateBody>>,
    pub streaming: Option<bool>,
    /// Replaces the whole list, header values included (`[]` removes every server).
    pub mcp_servers: Option<Vec<McpServerBody>>,
    pub vision: Option<bool>,
    /// Minutes; `null`: conversations never end on their own.
    #[serde(default, deserialize_with = "super::patch::present")]
    #[validate(range(min = 1, max = 43200))]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 43200)]
    pub idle_timeout: Option<Option<u32>>,
    /// `null`: messages are kept.
    #[serde(default, deserialize_with = "super::patch::present")]
    #[validate(range(min = 1, max = 3650))]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 3650)]
    pub retention_days: Option<Option<u32>>,
}

/// A validated partial update, ready to apply to a bot's draft.
#[derive(Debug)]
pub struct BotPatch {
    name: Option<BotName>,
    system_prompt: Option<SystemPrompt>,
    model: Option<Option<String>>,
    temperature: Option<Option<Temperature>>,
    fallback_message: Option<Option<String>>,
    handoff_keywords: Option<Vec<String>>,
    handoff_message: Option<Option<String>>,
    handoff_idle_minutes: Option<u32>,
    provider_id: Option<Option<ProviderId>>,
    budget: Option<Budget>,
    budget_message: Option<Option<String>>,
    moderation: Option<ModerationPolicy>,
    blocked_terms: Option<BlockedTerms>,
    moderation_message: Option<Option<String>>,
    rate_limit: Option<RateLimits>,
    rate_limit_message: Option<Option<String>>,
    debounce_ms: Option<u32>,
    window_template: Option<Option<Template>>,
    streaming: Option<bool>,
    mcp_servers: Option<Vec<McpServer>>,
    vision: Option<bool>,
    idle_timeout: Option<Option<u32>>,
    retention_days: Option<Option<u32>>,
}

impl UpdateBot {
    pub fn into_patch(self) -> Result<BotPatch, ApiError> {
        self.validate()?;
        Ok(BotPatch {
            name: self.name.as_deref().map(BotName::parse).transpose()?,
            system_prompt: self
                .system_prompt
                .as_deref()
                .map(SystemPrompt::parse)
                .transpose()?,
            model: self.model,
            temperature: self
                .temperature
                .map(|t| t.map(Temperature::parse).transpose())
                .transpose()?,
            fallback_message: self.fallback_message,
            handoff_keywords: self.handoff_keywords,
            handoff_message: self.handoff_message,
            handoff_idle_minutes: self.handoff_idle_minutes,
            provider_id: self.provider_id,
            budget: (self.budget)
                .map(|budget| budget.unwrap_or_default().into_budget())
                .transpose()?,
            budget_message: self.budget_message,
            moderation: self
                .moderation
                .map(ModerationBody::into_policy)
                .transpose()?,
            blocked_terms: (self.blocked_terms.as_deref())
                .map(BlockedTerms::parse)
                .transpose()?,
            moderation_message: self.moderation_message,
            rate_limit: (self.rate_limit)
                .map(RateLimitBody::into_limits)
                .transpose()?,
            rate_limit_message: self.rate_limit_message,
            debounce_ms: self.debounce_ms,
            window_template: (self.window_template)
                .map(|template| template.map(TemplateBody::into_window_template).transpose())
                .transpose()?,
            streaming: self.streaming,
            mcp_servers: self.mcp_servers.map(servers),
            vision: self.vision,
            idle_timeout: self.idle_timeout,
            retention_days: self.retention_days,
        })
    }
}

impl BotPatch {
    /// `draft` with the patch's fields; the handoff parts are checked together.
    pub fn apply(self, draft: BotDraft) -> Result<BotDraft, ValidationError> {
        let handoff = &draft.handoff;
        let handoff = HandoffPolicy::new(
            &self.handoff_keywords.unwrap_or_else(|| handoff.keywords()),
            self.handoff_message
                .unwrap_or_else(|| handoff.custom_message().map(str::to_owned)),
            self.handoff_idle_minutes
                .unwrap_or_else(|| handoff.idle_minutes()),
        )?;
        Ok(BotDraft {
            name: self.name.unwrap_or(draft.name),
            system_prompt: self.system_prompt.unwrap_or(draft.system_prompt),
            model: self.model.unwrap_or(draft.model),
            temperature: self.temperature.unwrap_or(draft.temperature),
            fallback_message: self.fallback_message.unwrap_or(draft.fallback_message),
            handoff,
            provider_id: self.provider_id.unwrap_or(draft.provider_id),
            guardrails: Guardrails {
                budget: self.budget.unwrap_or(draft.guardrails.budget),
                budget_message: (self.budget_message).unwrap_or(draft.guardrails.budget_message),
                moderation: self.moderation.unwrap_or(draft.guardrails.moderation),
                blocked_terms: (self.blocked_terms).unwrap_or(draft.guardrails.blocked_terms),
                moderation_message: (self.moderation_message)
                    .unwrap_or(draft.guardrails.moderation_message),
                rate_limit: self.rate_limit.unwrap_or(draft.guardrails.rate_limit),
                rate_limit_message: (self.rate_limit_message)
                    .unwrap_or(draft.guardrails.rate_limit_message),
            },
            replies: ReplyStyle::new(
                self.debounce_ms.unwrap_or(draft.replies.debounce_ms),
                (self.window_template).unwrap_or(draft.replies.window_template),
            )?
            .streamed(self.streaming.unwrap_or(draft.replies.streaming))
            .seeing(self.vision.unwrap_or(draft.replies.vision))
            .with_tools(self.mcp_servers.unwrap_or(draft.replies.mcp_servers))?,
            lifecycle: Lifecycle::new(
                (self.idle_timeout).unwrap_or(draft.lifecycle.idle_timeout_minutes),
                (self.retention_days).unwrap_or(draft.lifecycle.retention_days),
            )?,
        })
    }
}

/// A bot as the API shows it; a `paused` bot keeps its messages but does not answer them.
#[derive(Debug, Serialize, ToSchema)]
pub struct BotBody {
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub id: BotId,
    #[schema(value_type = crate::openapi::schemas::BotStatus)]
    pub status: BotStatus,
    pub paused_at: Option<DateTime<Utc>>,
    pub name: String,
    pub system_prompt: String,
    pub model: Option<String>,
    pub temperature: Option<f32>,
    pub fallback_message: Option<String>,
    pub handoff_keywords: Vec<String>,
    /// `null`: the built-in sentence.
    pub handoff_message: Option<String>,
    pub handoff_idle_minutes: u32,
    /// `null`: the server's `ai.*`.
    #[schema(value_type = Option<crate::openapi::schemas::Id>)]
    pub provider_id: Option<ProviderId>,
    /// `null`: no budget.
    pub budget: Option<BudgetBody>,
    /// `null`: the built-in sentence.
    pub budget_message: Option<String>,
    pub moderation: ModerationBody,
    pub blocked_terms: Vec<String>,
    /// `null`: the built-in sentence.
    pub moderation_message: Option<String>,
    pub rate_limit: RateLimitBody,
    /// `null`: the built-in sentence.
    pub rate_limit_message: Option<String>,
    /// 0: each message is answered at once.
    pub debounce_ms: u32,
    /// `null`: none, and a text past WhatsApp's 24-hour window is not sent.
    pub window_template: Option<TemplateBody>,
    /// Whether Telegram chats see the reply as it is written.
    pub streaming: bool,
    /// Whether photos users send are shown to the model.
    pub vision: bool,
    /// The MCP servers whose tools the model may call, without their header values.
    pub mcp_servers: Vec<McpServerShown>,
    /// Minutes without a message after which a conversation ends; `null`: never.
    pub idle_timeout: Option<u32>,
    /// `null`: messages are kept.
    pub retention_days: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Bot> for BotBody {
    fn from(bot: Bot) -> Self {
        Self {
            id: bot.id,
            status: bot.status(),
            paused_at: bot.paused_at,
            name: bot.name.into(),
            system_prompt: bot.system_prompt.into(),
            model: bot.model,
            temperature: bot.temperature.map(Temperature::value),
            fallback_message: bot.fallback_message,
            handoff_keywords: bot.handoff.keywords(),
            handoff_message: bot.handoff.custom_message().map(str::to_owned),
            handoff_idle_minutes: bot.handoff.idle_minutes(),
            provider_id: bot.provider_id,
            budget: BudgetBody::shown(&bot.guardrails.budget),
            moderation: ModerationBody::shown(&bot.guardrails.moderation),
            blocked_terms: bot.guardrails.blocked_terms.to_strings(),
            budget_message: bot.guardrails.budget_message,
            moderation_message: bot.guardrails.moderation_message,
            rate_limit: RateLimitBody::shown(&bot.guardrails.rate_limit),
            rate_limit_message: bot.guardrails.rate_limit_message,
            debounce_ms: bot.replies.debounce_ms,
            window_template: bot.replies.window_template.as_ref().map(TemplateBody::from),
            streaming: bot.replies.streaming,
            mcp_servers: bot
                .replies
                .mcp_servers
                .iter()
                .map(McpServerShown::from)
                .collect(),
            vision: bot.replies.vision,
            idle_timeout: bot.lifecycle.idle_timeout_minutes,
            retention_days: bot.lifecycle.retention_days,
            created_at: bot.created_at,
            updated_at: bot.updated_at,
        }
    }
}
