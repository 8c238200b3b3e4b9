//! `TelegramPoller`: the update-source port over the Bot API's `getUpdates` long poll.
//!
//! Plain reqwest rather than teloxide-core's `get_updates`: teloxide replaces an update it
//! cannot deserialize strictly with an empty `UpdateKind::Error`, losing messages our lenient
//! parser reads, and its client's 17 s timeout is shorter than a long poll (teloxide-core 0.13
//! leaves its timeout hint unused).

use crate::channel::{credentials, parse_api_url, BuildError};
use crate::errors::{excerpt, redact, retry_after_in};
use crate::update::parse_polled;
use application::ports::{PollError, UpdateBatch, UpdateSource};
use async_trait::async_trait;
use domain::{PlatformBinding, TelegramCredentials};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// How long connecting to the Bot API may take before a poll counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long past the long-poll timeout a `getUpdates` answer may take before it is given up.
const ANSWER_MARGIN: Duration = Duration::from_secs(10);
/// The wait after a 429 that names none.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Long-polls `getUpdates` at `api_url` for any polling binding; one HTTP client for all bots.
#[derive(Debug, Clone)]
pub struct TelegramPoller {
    client: reqwest::Client,
    api_url: Url,
}

/// The `getUpdates` body: only `message` updates, as webhooks ask for.
#[derive(Debug, Serialize)]
struct GetUpdates {
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<i64>,
    timeout: u64,
    allowed_updates: [&'static str; 1],
}

/// A Bot API answer, success or failure.
#[derive(Debug, Deserialize)]
struct Answer {
    ok: bool,
    #[serde(default)]
    result: Vec<Value>,
    error_code: Option<u16>,
    #[serde(default)]
    description: String,
    parameters: Option<Parameters>,
}

#[derive(Debug, Deserialize)]
struct Parameters {
    retry_after: Option<u64>,
}

impl TelegramPoller {
    pub fn new(api_url: impl AsRef<str>) -> Result<Self, BuildError> {
        let api_url = parse_api_url(api_url.as_ref())?;
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .build()?;
        Ok(Self { client, api_url })
    }

    fn method_url(&self, token: &str) -> Result<Url, PollError> {
        let mut url = self.api_url.clone();
        url.path_segments_mut()
            .map_err(|()| PollError::Refused("the Bot API URL cannot be a base".to_owned()))?
            .push(&format!("bot{token}"))
            .push("getUpdates");
        Ok(url)
    }

    async fn get_updates(
        &self,
        credentials: &TelegramCredentials,
        body: &GetUpdates,
        timeout: Duration,
    ) -> Result<Vec<Value>, PollError> {
        let token = credentials.token.expose();
        let transient = |e: reqwest::Error| PollError::Transient(redact(&e.to_string(), token));
        let response = self
            .client
            .post(self.method_url(token)?)
            .json(body)
            .timeout(timeout + ANSWER_MARGIN)
            .send()
            .await
            .map_err(transient)?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(transient)?;
        match serde_json::from_str::<Answer>(&text) {
            Ok(answer) if answer.ok => Ok(answer.result),
            Ok(answer) => Err(refusal(answer, status, token)),
            Err(_) => Err(PollError::Transient(format!(
                "unreadable Bot API answer (HTTP {status}): {}",
                redact(excerpt(&text), token)
            ))),
        }
    }
}

/// A failed answer, classified: 429 waits as asked, other 4xx (409 a webhook is set, 401/404
/// a bad token) need an operator, 5xx may pass.
fn refusal(answer: Answer, status: u16, token: &str) -> PollError {
    let code = answer.error_code.unwrap_or(status);
    let text = format!("{code} {}", redact(&answer.description, token));
    match code {
        429 => PollError::RateLimited {
            retry_after: answer
                .parameters
                .and_then(|p| p.retry_after)
                .map(Duration::from_secs)
                .or_else(|| retry_after_in(&answer.description))
                .unwrap_or(DEFAULT_RETRY_AFTER),
        },
        400..=499 => PollError::Refused(text),
        _ => PollError::Transient(text),
    }
}

/// The messages of a `getUpdates` result and the offset confirming all of it. An update that
/// does not parse is logged and skipped, since it would otherwise block the bot for good.
fn batch(updates: Vec<Value>) -> UpdateBatch {
    let mut batch = UpdateBatch::default();
    for update in updates {
        let id = update.get("update_id").and_then(Value::as_i64);
        if let Some(id) = id {
            batch.next_offset = Some(batch.next_offset.map_or(id + 1, |o: i64| o.max(id + 1)));
        }
        match parse_polled(update) {
            Ok(messages) => batch.messages.extend(messages),
            Err(error) => tracing::warn!(update_id = ?id, %error, "skipping an unreadable update"),
        }
    }
    batch
}

#[async_trait]
impl UpdateSource for TelegramPoller {
    async fn fetch(
        &self,
        binding: &PlatformBinding,
        offset: Option<i64>,
        timeout: Duration,
    ) -> Result<UpdateBatch, PollError> {
        let credentials = credentials(binding).map_err(|e| PollError::Refused(e.to_string()))?;
        let body = GetUpdates {
            offset,
            timeout: timeout.as_secs(),
            allowed_updates: ["message"],
        };
        let updates = self.get_updates(credentials, &body, timeout).await?;
        Ok(batch(updates))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_batch_keeps_message_order_and_confirms_past_its_last_update() {
        let text = |id: i64, message_id: i64| json!({"update_id": id, "message": {"message_id": message_id, "chat": {"id": 5}, "text": "hi"}});
        let updates = vec![
            text(10, 1),
            json!({"update_id": 11, "edited_message": {}}),
            json!({"update_id": 12, "message": "not a message"}),
            text(13, 2),
        ];
        let batch = batch(updates);
        assert_eq!(batch.next_offset, Some(14));
        let ids: Vec<&str> = batch
            .messages
            .iter()
            .map(|m| m.external_id.as_str())
            .collect();
        assert_eq!(ids, ["5:1", "5:2"]);
        assert_eq!(super::batch(Vec::new()), UpdateBatch::default());
    }

    fn answer(json: Value) -> Answer {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn failures_are_classified_for_the_back_off() {
        let conflict = answer(
            json!({"ok": false, "error_code": 409, "description": "Conflict: can't use getUpdates method while webhook is active"}),
        );
        assert!(matches!(refusal(conflict, 409, "t"), PollError::Refused(_)));
        let limited = answer(
            json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}}),
        );
        assert_eq!(
            refusal(limited, 429, "t"),
            PollError::RateLimited {
                retry_after: Duration::from_secs(7)
            }
        );
        let broken = answer(json!({"ok": false, "description": "Bad Gateway"}));
        assert!(matches!(refusal(broken, 502, "t"), PollError::Transient(_)));
        let leaky = answer(json!({"ok": false, "error_code": 401, "description": "bad 1:secret"}));
        let PollError::Refused(text) = refusal(leaky, 401, "1:secret") else {
            panic!("401 is a refusal");
        };
        assert!(!text.contains("1:secret"), "{text}");
    }
}
