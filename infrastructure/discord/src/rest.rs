//! Discord's REST API client: one request at a time, waiting for the buckets Discord announced, its failures classified for the retry policy.

use crate::buckets::{self, Buckets};
use application::backoff::{parse_retry_after, retry_wait};
use application::ports::SendError;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// The limit for one call to Discord's REST API, connection and body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// `Unknown Webhook`: an interaction token that expired (15 minutes) or never was.
const UNKNOWN_WEBHOOK: i64 = 10015;
/// `Invalid Webhook Token`.
const INVALID_WEBHOOK_TOKEN: i64 = 50027;
/// How long to wait after a 429 that names no delay.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// The longest wait a 429 is believed to ask for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Why a channel could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("invalid Discord API URL `{url}`: {reason}")]
    ApiUrl { url: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// A failed call: an interaction token Discord no longer knows (the caller falls back to the
/// channel), or a failure for the retry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallError {
    ExpiredInteraction,
    Send(SendError),
}

impl From<CallError> for SendError {
    fn from(error: CallError) -> Self {
        match error {
            CallError::ExpiredInteraction => {
                SendError::Permanent("Discord no longer knows the interaction token".to_owned())
            }
            CallError::Send(error) => error,
        }
    }
}

/// One REST call: method, path under the API URL, the bot token when the route needs it
/// (interaction webhooks are authorised by the token in their path) and a JSON body.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) bot_token: Option<&'a str>,
    pub(crate) body: Option<Value>,
}

/// Speaks to the REST API at a base URL (Discord's, or a test fake).
#[derive(Debug, Clone)]
pub(crate) struct Rest {
    client: reqwest::Client,
    base: String,
    buckets: Arc<Buckets>,
}

impl Rest {
    pub(crate) fn new(api_url: &str) -> Result<Self, BuildError> {
        let base = base_url(api_url)?;
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Self {
            client,
            base,
            buckets: Arc::default(),
        })
    }

    /// The answer's JSON (`null` when it has none, as for 204). Paths may hold interaction
    /// tokens, so no URL is ever put in an error or a log line.
    pub(crate) async fn call(&self, call: Call<'_>) -> Result<Value, CallError> {
        self.wait_for_bucket(&call.path).await?;
        let mut request = self
            .client
            .request(call.method, format!("{}/{}", self.base, call.path));
        if let Some(token) = call.bot_token {
            request = request.header("authorization", format!("Bot {token}"));
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            CallError::Send(SendError::Transient(format!(
                "Discord API unreachable: {}",
                e.without_url()
            )))
        })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        self.buckets.note(&call.path, &headers);
        let text = response.text().await.unwrap_or_default();
        if (200..300).contains(&status) {
            return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
        }
        Err(classify(status, &headers, &text))
    }
}

impl Rest {
    /// Waits for `route`'s bucket when Discord said it is empty; a wait longer than
    /// [`buckets::MOST_WAITED`] is handed to the retry policy as a 429 would be.
    async fn wait_for_bucket(&self, route: &str) -> Result<(), CallError> {
        let wait = self.buckets.wait(route);
        if wait > buckets::MOST_WAITED {
            let waiting = SendError::RateLimited { retry_after: wait };
            return Err(CallError::Send(waiting));
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }
}

/// The API base URL without its trailing slash: an absolute `http`/`https` URL with a host.
pub(crate) fn base_url(raw: &str) -> Result<String, BuildError> {
    let invalid = |reason: String| BuildError::ApiUrl {
        url: raw.to_owned(),
        reason,
    };
    let url = Url::parse(raw).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid("not an http(s) URL with a host".to_owned()));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The fields of Discord's error and rate-limit bodies that the policy reads.
#[derive(Deserialize, Default)]
struct ErrorBody {
    code: Option<i64>,
    message: Option<String>,
    retry_after: Option<f64>,
    #[serde(default)]
    global: bool,
}

/// 429 waits as long as asked; an unknown or invalid interaction token is expired; other 4xx
/// are permanent; 5xx and odd statuses are transient.
pub(crate) fn classify(status: u16, headers: &HeaderMap, body: &str) -> CallError {
    let error: ErrorBody = serde_json::from_str(body).unwrap_or_default();
    let failure = match (status, error.code) {
        (429, _) => {
            let retry_after = retry_after(&error, headers);
            if error.global || header(headers, "x-ratelimit-global") == Some("true") {
                tracing::warn!(?retry_after, "Discord's global rate limit was hit");
            }
            SendError::RateLimited { retry_after }
        }
        (404, Some(UNKNOWN_WEBHOOK)) | (401, Some(INVALID_WEBHOOK_TOKEN)) => {
            return CallError::ExpiredInteraction
        }
        (400..=499, _) => SendError::Permanent(describe(status, &error)),
        _ => SendError::Transient(describe(status, &error)),
    };
    CallError::Send(failure)
}

/// The body's float `retry_after`, else the `Retry-After` header, else a second; capped.
fn retry_after(error: &ErrorBody, headers: &HeaderMap) -> Duration {
    let asked = match error.retry_after {
        Some(seconds) => retry_wait(seconds, MAX_RETRY_AFTER),
        None => header(headers, "retry-after")
            .and_then(|value| parse_retry_after(value, MAX_RETRY_AFTER)),
    };
    asked.unwrap_or(DEFAULT_RETRY_AFTER)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn describe(status: u16, error: &ErrorBody) -> String {
    format!(
        "Discord API {status}, code {}: {}",
        error
            .code
            .map_or_else(|| "none".to_owned(), |c| c.to_string()),
        error.message.as_deref().unwrap_or("no message")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn send(error: CallError) -> SendError {
        match error {
            CallError::Send(error) => error,
            CallError::ExpiredInteraction => panic!("not an expired interaction"),
        }
    }

    #[test]
    fn a_429_waits_for_the_float_retry_after_of_the_body_or_header() {
        let body =
            r#"{"message":"You are being rate limited.","retry_after":1.337,"global":false}"#;
        assert_eq!(
            send(classify(429, &HeaderMap::new(), body)),
            SendError::RateLimited {
                retry_after: Duration::from_millis(1337)
            }
        );
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("2.5"));
        assert_eq!(
            send(classify(429, &headers, "")),
            SendError::RateLimited {
                retry_after: Duration::from_millis(2500)
            }
        );
        assert_eq!(
            send(classify(429, &HeaderMap::new(), r#"{"retry_after":-1}"#)),
            SendError::RateLimited {
                retry_after: DEFAULT_RETRY_AFTER
            }
        );
        assert_eq!(
            send(classify(429, &HeaderMap::new(), r#"{"retry_after":1e12}"#)),
            SendError::RateLimited {
                retry_after: MAX_RETRY_AFTER
            }
        );
    }

    #[test]
    fn expired_interaction_tokens_are_told_apart() {
        let unknown = r#"{"message":"Unknown Webhook","code":10015}"#;
        let invalid = r#"{"message":"Invalid Webhook Token","code":50027}"#;
        assert_eq!(
            classify(404, &HeaderMap::new(), unknown),
            CallError::ExpiredInteraction
        );
        assert_eq!(
            classify(401, &HeaderMap::new(), invalid),
            CallError::ExpiredInteraction
        );
        let other = r#"{"message":"Unknown Channel","code":10003}"#;
        assert!(matches!(
            send(classify(404, &HeaderMap::new(), other)),
            SendError::Permanent(text) if text.contains("10003")
        ));
    }

    #[test]
    fn server_errors_are_transient_and_client_errors_permanent() {
        assert!(matches!(
            send(classify(502, &HeaderMap::new(), "<html>")),
            SendError::Transient(_)
        ));
        assert!(matches!(
            send(classify(403, &HeaderMap::new(), r#"{"code":50013}"#)),
            SendError::Permanent(_)
        ));
    }

    #[test]
    fn api_urls_are_checked() {
        assert_eq!(
            Rest::new("https://discord.com/api/v10/").unwrap().base,
            "https://discord.com/api/v10"
        );
        for bad in ["not a url", "mailto:a@b.c", "file:///tmp/x"] {
            assert!(Rest::new(bad).is_err(), "{bad}");
        }
    }
}
