//! Conversions between stored rows and domain values; unparseable rows become `RepoError::Corrupt`.

use crate::entities::{api_keys, bindings, bots, conversations, jobs, messages, providers};
use crate::errors::corrupt;
use application::ports::{ClaimedJob, LeaseToken};
use chrono::{DateTime, Utc};
use domain::{
    ApiKey, BaseUrl, Bot, BotName, Conversation, Cost, Credentials, ExternalChatId,
    ExternalMessageId, HandoffPolicy, Lifecycle, Message, PlatformBinding, Prices, Provider,
    ProviderKind, ProviderName, RepoError, Secret, SystemPrompt, Temperature, TextRule, TokenUsage,
};
use sea_orm::ActiveValue::Set;
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Display;
use std::str::FromStr;

/// A time as stored: epoch milliseconds.
pub(crate) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn time(what: &str, millis: i64) -> Result<DateTime<Utc>, RepoError> {
    DateTime::from_timestamp_millis(millis).ok_or_else(|| corrupt(what, "time out of range"))
}

pub(crate) fn time_opt(
    what: &str,
    millis: Option<i64>,
) -> Result<Option<DateTime<Utc>>, RepoError> {
    millis.map(|at| time(what, at)).transpose()
}

pub(crate) fn parse<T>(what: &str, text: &str) -> Result<T, RepoError>
where
    T: FromStr,
    T::Err: Display,
{
    text.parse().map_err(|e| corrupt(what, e))
}

fn parse_opt<T>(what: &str, text: Option<&str>) -> Result<Option<T>, RepoError>
where
    T: FromStr,
    T::Err: Display,
{
    text.map(|text| parse(what, text)).transpose()
}

pub(crate) fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, RepoError> {
    serde_json::from_str(text).map_err(|e| corrupt(what, e))
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<String, RepoError> {
    serde_json::to_string(value).map_err(|e| RepoError::Other(format!("cannot encode: {e}")))
}

pub(crate) fn bot_row(bot: &Bot) -> Result<bots::ActiveModel, RepoError> {
    Ok(bots::ActiveModel {
        id: Set(bot.id.to_string()),
        name: Set(bot.name.as_str().to_owned()),
        system_prompt: Set(bot.system_prompt.as_str().to_owned()),
        model: Set(bot.model.clone()),
        temperature: Set(bot.temperature.map(|t| f64::from(t.value()))),
        fallback_message: Set(bot.fallback_message.clone()),
        handoff_keywords: Set(to_json(&bot.handoff.keywords())?),
        handoff_message: Set(bot.handoff.custom_message().map(str::to_owned)),
        handoff_idle_minutes: Set(i64::from(bot.handoff.idle_minutes())),
        provider_id: Set(bot.provider_id.map(|id| id.to_string())),
        guardrails: Set(to_json(&bot.guardrails)?),
        replies: Set(to_json(&bot.replies)?),
        idle_timeout_minutes: Set(bot.lifecycle.idle_timeout_minutes.map(minutes_or_days)),
        retention_days: Set(bot.lifecycle.retention_days.map(minutes_or_days)),
        created_at: Set(millis(bot.created_at)),
        updated_at: Set(millis(bot.updated_at)),
        paused_at: Set(bot.paused_at.map(millis)),
    })
}

/// A lifecycle count as stored (they are bounded far below `i32::MAX`).
fn minutes_or_days(count: u32) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}

fn lifecycle(row: &bots::Model) -> Result<Lifecycle, RepoError> {
    let count = |value: Option<i32>| value.map(|v| u32::try_from(v).unwrap_or_default());
    Lifecycle::new(count(row.idle_timeout_minutes), count(row.retention_days))
        .map_err(|e| corrupt("bots.lifecycle", e))
}

fn handoff(row: &bots::Model) -> Result<HandoffPolicy, RepoError> {
    let keywords: Vec<String> = from_json("bots.handoff_keywords", &row.handoff_keywords)?;
    let minutes = u32::try_from(row.handoff_idle_minutes)
        .map_err(|e| corrupt("bots.handoff_idle_minutes", e))?;
    HandoffPolicy::new(&keywords, row.handoff_message.clone(), minutes)
        .map_err(|e| corrupt("bots.handoff", e))
}

pub(crate) fn bot(row: bots::Model) -> Result<Bot, RepoError> {
    let (handoff, lifecycle) = (handoff(&row)?, lifecycle(&row)?);
    Ok(Bot {
        handoff,
        lifecycle,
        id: parse("bots.id", &row.id)?,
        // Rows written before control characters were refused read with them replaced.
        name: BotName::parse(&TextRule::SingleLine.scrub(row.name))
            .map_err(|e| corrupt("bots.name", e))?,
        system_prompt: SystemPrompt::parse(&TextRule::MultiLine.scrub(row.system_prompt))
            .map_err(|e| corrupt("bots.system_prompt", e))?,
        model: row.model,
        // The column holds what an f32 was widened to, so narrowing is exact.
        temperature: row
            .temperature
            .map(|t| Temperature::parse(t as f32).map_err(|e| corrupt("bots.temperature", e)))
            .transpose()?,
        fallback_message: row.fallback_message,
        provider_id: parse_opt("bots.provider_id", row.provider_id.as_deref())?,
        guardrails: from_json("bots.guardrails", &row.guardrails)?,
        replies: from_json("bots.replies", &row.replies)?,
        created_at: time("bots.created_at", row.created_at)?,
        updated_at: time("bots.updated_at", row.updated_at)?,
        paused_at: time_opt("bots.paused_at", row.paused_at)?,
    })
}

/// A binding's row; `credentials` is the column's text, sealed or not.
pub(crate) fn binding_row(binding: &PlatformBinding, credentials: String) -> bindings::ActiveModel {
    bindings::ActiveModel {
        bot_id: Set(binding.bot_id.to_string()),
        platform: Set(binding.kind().as_str().to_owned()),
        credentials: Set(credentials),
        created_at: Set(millis(binding.created_at)),
        updated_at: Set(millis(binding.updated_at)),
    }
}

/// A binding from its row, with the credentials already opened.
pub(crate) fn binding(
    row: &bindings::Model,
    credentials: Credentials,
) -> Result<PlatformBinding, RepoError> {
    Ok(PlatformBinding {
        bot_id: parse("platform_bindings.bot_id", &row.bot_id)?,
        credentials,
        created_at: time("platform_bindings.created_at", row.created_at)?,
        updated_at: time("platform_bindings.updated_at", row.updated_at)?,
    })
}

/// A provider's row; `api_key` is the column's text, sealed or not.
pub(crate) fn provider_row(
    provider: &Provider,
    api_key: String,
) -> Result<providers::ActiveModel, RepoError> {
    Ok(providers::ActiveModel {
        id: Set(provider.id.to_string()),
        name: Set(provider.name.as_str().to_owned()),
        kind: Set(provider.kind.as_str().to_owned()),
        base_url: Set(provider.base_url.as_str().to_owned()),
        api_key: Set(api_key),
        models: Set(to_json(&provider.models)?),
        prices: Set(provider.prices.as_ref().map(to_json).transpose()?),
        created_at: Set(millis(provider.created_at)),
        updated_at: Set(millis(provider.updated_at)),
    })
}

/// Prices as stored, held to the rules they were written under.
fn prices(json: &str) -> Result<Prices, RepoError> {
    let stored: Prices = from_json("providers.prices", json)?;
    Prices::parse(&stored.currency, stored.models).map_err(|e| corrupt("providers.prices", e))
}

/// A provider from its row, with the key already opened.
pub(crate) fn provider(row: &providers::Model, api_key: Secret) -> Result<Provider, RepoError> {
    Ok(Provider {
        id: parse("providers.id", &row.id)?,
        name: ProviderName::parse(&row.name).map_err(|e| corrupt("providers.name", e))?,
        kind: ProviderKind::parse(&row.kind)
            .ok_or_else(|| corrupt("providers.kind", format!("unknown kind `{}`", row.kind)))?,
        base_url: BaseUrl::parse(&row.base_url).map_err(|e| corrupt("providers.base_url", e))?,
        api_key,
        models: from_json("providers.models", &row.models)?,
        prices: row.prices.as_deref().map(prices).transpose()?,
        created_at: time("providers.created_at", row.created_at)?,
        updated_at: time("providers.updated_at", row.updated_at)?,
    })
}

pub(crate) fn conversation_row(conversation: &Conversation) -> conversations::ActiveModel {
    conversations::ActiveModel {
        id: Set(conversation.id.to_string()),
        bot_id: Set(conversation.bot_id.to_string()),
        platform: Set(conversation.platform.as_str().to_owned()),
        external_chat_id: Set(conversation.external_chat_id.as_str().to_owned()),
        status: Set(conversation.status.as_str().to_owned()),
        mode: Set(conversation.mode.as_str().to_owned()),
        handed_off_at: Set(conversation.handed_off_at.map(millis)),
        assigned_to: Set(conversation.assigned_to.clone()),
        operator_active_at: Set(conversation.operator_active_at.map(millis)),
        created_at: Set(millis(conversation.created_at)),
        updated_at: Set(millis(conversation.updated_at)),
    }
}

pub(crate) fn conversation(row: conversations::Model) -> Result<Conversation, RepoError> {
    Ok(Conversation {
        id: parse("conversations.id", &row.id)?,
        bot_id: parse("conversations.bot_id", &row.bot_id)?,
        platform: parse("conversations.platform", &row.platform)?,
        external_chat_id: ExternalChatId::parse(row.external_chat_id)
            .map_err(|e| corrupt("conversations.external_chat_id", e))?,
        status: parse("conversations.status", &row.status)?,
        mode: parse("conversations.mode", &row.mode)?,
        handed_off_at: time_opt("conversations.handed_off_at", row.handed_off_at)?,
        assigned_to: row.assigned_to,
        operator_active_at: time_opt("conversations.operator_active_at", row.operator_active_at)?,
        created_at: time("conversations.created_at", row.created_at)?,
        updated_at: time("conversations.updated_at", row.updated_at)?,
    })
}

pub(crate) fn message_row(message: &Message) -> Result<messages::ActiveModel, RepoError> {
    Ok(messages::ActiveModel {
        id: Set(message.id.to_string()),
        conversation_id: Set(message.conversation_id.to_string()),
        bot_id: Set(message.bot_id.to_string()),
        platform: Set(message.platform.as_str().to_owned()),
        direction: Set(message.direction.as_str().to_owned()),
        content: Set(to_json(&message.content)?),
        external_id: Set(message.external_id.as_ref().map(|e| e.as_str().to_owned())),
        reply_to: Set(message.reply_to.map(|id| id.to_string())),
        status: Set(message.status.as_str().to_owned()),
        created_at: Set(millis(message.created_at)),
        prompt_tokens: Set(tokens(message.usage.map(|u| u.prompt_tokens))),
        completion_tokens: Set(tokens(message.usage.map(|u| u.completion_tokens))),
        error: Set(message.error.clone()),
        reply_handle: Set(message.reply_handle.as_ref().map(|h| h.expose().to_owned())),
        cost_nanos: Set(message.cost.as_ref().map(|c| c.nanos)),
        cost_currency: Set(message.cost.as_ref().map(|c| c.currency.clone())),
        flagged: Set(message.flagged.as_ref().map(to_json).transpose()?),
        tool_uses: Set((!message.tool_uses.is_empty())
            .then(|| to_json(&message.tool_uses))
            .transpose()?),
    })
}

/// Both cost columns, or neither.
fn cost(nanos: Option<i64>, currency: Option<String>) -> Result<Option<Cost>, RepoError> {
    match (nanos, currency) {
        (None, None) => Ok(None),
        (Some(nanos), Some(currency)) => Ok(Some(Cost { currency, nanos })),
        _ => Err(corrupt(
            "messages.cost_nanos",
            "only one cost column is set",
        )),
    }
}

/// A token count as stored (a 32-bit integer; no answer comes near the limit).
fn tokens(count: Option<u32>) -> Option<i32> {
    count.map(|n| i32::try_from(n).unwrap_or(i32::MAX))
}

/// Both counts, or neither.
fn usage(prompt: Option<i32>, completion: Option<i32>) -> Result<Option<TokenUsage>, RepoError> {
    let count = |what, n: i32| u32::try_from(n).map_err(|e| corrupt(what, e));
    match (prompt, completion) {
        (None, None) => Ok(None),
        (Some(prompt), Some(completion)) => Ok(Some(TokenUsage {
            prompt_tokens: count("messages.prompt_tokens", prompt)?,
            completion_tokens: count("messages.completion_tokens", completion)?,
        })),
        _ => Err(corrupt(
            "messages.prompt_tokens",
            "only one token count is set",
        )),
    }
}

pub(crate) fn message(row: messages::Model) -> Result<Message, RepoError> {
    Ok(Message {
        id: parse("messages.id", &row.id)?,
        conversation_id: parse("messages.conversation_id", &row.conversation_id)?,
        bot_id: parse("messages.bot_id", &row.bot_id)?,
        platform: parse("messages.platform", &row.platform)?,
        direction: parse("messages.direction", &row.direction)?,
        content: from_json("messages.content", &row.content)?,
        external_id: row
            .external_id
            .map(ExternalMessageId::parse)
            .transpose()
            .map_err(|e| corrupt("messages.external_id", e))?,
        reply_to: parse_opt("messages.reply_to", row.reply_to.as_deref())?,
        status: parse("messages.status", &row.status)?,
        created_at: time("messages.created_at", row.created_at)?,
        usage: usage(row.prompt_tokens, row.completion_tokens)?,
        cost: cost(row.cost_nanos, row.cost_currency)?,
        flagged: (row.flagged.as_deref())
            .map(|text| from_json("messages.flagged", text))
            .transpose()?,
        error: row.error,
        reply_handle: row.reply_handle.map(Secret::new),
        tool_uses: (row.tool_uses.as_deref())
            .map(|text| from_json("messages.tool_uses", text))
            .transpose()?
            .unwrap_or_default(),
    })
}

pub(crate) fn api_key_row(key: &ApiKey) -> api_keys::ActiveModel {
    api_keys::ActiveModel {
        id: Set(key.id.to_string()),
        name: Set(key.name.clone()),
        role: Set(key.role.as_str().to_owned()),
        key_hash: Set(key.key_hash.clone()),
        prefix: Set(key.prefix.clone()),
        created_at: Set(millis(key.created_at)),
        expires_at: Set(key.expires_at.map(millis)),
        last_used_at: Set(key.last_used_at.map(millis)),
        revoked_at: Set(key.revoked_at.map(millis)),
    }
}

pub(crate) fn api_key(row: api_keys::Model) -> Result<ApiKey, RepoError> {
    Ok(ApiKey {
        id: parse("api_keys.id", &row.id)?,
        name: row.name,
        role: parse("api_keys.role", &row.role)?,
        key_hash: row.key_hash,
        prefix: row.prefix,
        created_at: time("api_keys.created_at", row.created_at)?,
        expires_at: time_opt("api_keys.expires_at", row.expires_at)?,
        last_used_at: time_opt("api_keys.last_used_at", row.last_used_at)?,
        revoked_at: time_opt("api_keys.revoked_at", row.revoked_at)?,
    })
}

/// A job row just claimed: it carries a lease token.
pub(crate) fn claimed_job(row: jobs::Model) -> Result<ClaimedJob, RepoError> {
    Ok(ClaimedJob {
        id: row.id,
        payload: from_json("jobs.payload", &row.payload)?,
        attempts: u32::try_from(row.attempts).map_err(|e| corrupt("jobs.attempts", e))?,
        lease: LeaseToken(
            row.lease_token
                .ok_or_else(|| corrupt("jobs.lease_token", "missing on a claimed job"))?,
        ),
        lane: row.lane,
        trace_parent: row.trace_parent,
    })
}
