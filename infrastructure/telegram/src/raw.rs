//! Bot API calls made as JSON with the channel's client, for what teloxide-core 0.13 lacks or reads whole (drafts, file downloads): the call, and its refusals classified as the delivery retry policy reads them.

use crate::errors::{excerpt, redact};
use application::ports::SendError;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// Where a bot's calls go: the API, its client and the bot's token.
pub(crate) struct BotCall<'a> {
    pub client: &'a reqwest::Client,
    pub api_url: &'a Url,
    pub token: &'a str,
}

/// A call Telegram answered without `ok`: its status and its answer.
pub(crate) struct Refused {
    pub status: StatusCode,
    pub answer: Value,
}

impl Refused {
    /// A 429 as the wait it asks, a 5xx as transient, anything else as permanent.
    pub(crate) fn into_error(self) -> SendError {
        let description = excerpt(
            self.answer["description"]
                .as_str()
                .unwrap_or("no description"),
        );
        let status = self.status;
        if status == StatusCode::TOO_MANY_REQUESTS {
            let seconds = self.answer["parameters"]["retry_after"]
                .as_u64()
                .unwrap_or(1);
            let retry_after = Duration::from_secs(seconds);
            return SendError::RateLimited { retry_after };
        }
        let reason = format!("HTTP {status}: {description}");
        match status.is_server_error() {
            true => SendError::Transient(reason),
            false => SendError::Permanent(reason),
        }
    }
}

impl BotCall<'_> {
    /// `{api}/<path>` for this bot: `bot<token>/<method>` or `file/bot<token>/<file>`.
    pub(crate) fn url(&self, path: &str) -> String {
        let base = self.api_url.as_str().trim_end_matches('/');
        format!("{base}/{path}")
    }

    /// Posts `body` to `method`: its `result`, or how Telegram refused it. Network failures
    /// are transient.
    pub(crate) async fn post(
        &self,
        method: &str,
        body: &Value,
    ) -> Result<Result<Value, Refused>, SendError> {
        let url = self.url(&format!("bot{}/{method}", self.token));
        let response = self
            .client
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| self.failed(e))?;
        let status = response.status();
        let mut answer: Value = response.json().await.unwrap_or_default();
        Ok(match answer["ok"] == Value::Bool(true) {
            true => Ok(answer["result"].take()),
            false => Err(Refused { status, answer }),
        })
    }

    /// A transport failure, transient, its text without the token.
    pub(crate) fn failed(&self, error: reqwest::Error) -> SendError {
        SendError::Transient(redact(&error.to_string(), self.token))
    }
}
