//! `sendMessageDraft` (Bot API 9.5): a reply shown in a private chat while it is written; teloxide-core 0.13 predates the method, so it is posted as JSON with the channel's client.

use crate::entities::entities;
use crate::errors::{excerpt, redact};
use application::format::RichText;
use application::ports::SendError;
use serde_json::{json, Value};
use std::time::Duration;
use url::Url;

/// A draft's request: where, and the bot's token.
pub(crate) struct DraftCall<'a> {
    pub client: &'a reqwest::Client,
    pub api_url: &'a Url,
    pub token: &'a str,
}

impl DraftCall<'_> {
    /// Shows `part` as the draft `draft_id` of `chat`: `Ok(false)` where Telegram refuses
    /// drafts (a group, a server older than Bot API 9.5), a 429 as the wait it asks, network
    /// failures and 5xx as transient.
    pub(crate) async fn show(
        &self,
        chat: i64,
        draft_id: i64,
        part: &RichText,
    ) -> Result<bool, SendError> {
        let url = format!(
            "{}/bot{}/sendMessageDraft",
            self.api_url.as_str().trim_end_matches('/'),
            self.token
        );
        let mut body = json!({"chat_id": chat, "draft_id": draft_id, "text": part.text});
        let styles = entities(part);
        if !styles.is_empty() {
            body["entities"] = serde_json::to_value(styles).unwrap_or_default();
        }
        let failed = |e: reqwest::Error| SendError::Transient(redact(&e.to_string(), self.token));
        let response = self
            .client
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or_default();
        if answer["ok"] == Value::Bool(true) {
            return Ok(true);
        }
        let description = excerpt(answer["description"].as_str().unwrap_or("no description"));
        if status.as_u16() == 429 {
            let seconds = answer["parameters"]["retry_after"].as_u64().unwrap_or(1);
            let retry_after = Duration::from_secs(seconds);
            return Err(SendError::RateLimited { retry_after });
        }
        if status.is_server_error() {
            return Err(SendError::Transient(format!(
                "HTTP {status}: {description}"
            )));
        }
        tracing::debug!(%status, description, "no drafts in this chat");
        Ok(false)
    }
}
