//! The Graph API client shared by Messenger and WhatsApp, and the classification of its errors.

use application::backoff::parse_retry_after;
use application::ports::SendError;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// Graph error codes that mean "slow down": app, page and WhatsApp throughput limits.
const THROTTLED: &[i64] = &[4, 17, 32, 613, 80001, 80006, 130429, 131048, 131056];
/// Graph error codes of a passing fault on Meta's side, worth retrying.
const TEMPORARY: &[i64] = &[1, 2, 131000, 131016];
/// The limit for one Graph API call, connection and body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait after a throttling error that comes without a `Retry-After` header (Meta's
/// usually do).
pub(crate) const THROTTLE_DELAY: Duration = Duration::from_secs(30);

/// Why a channel could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("invalid Graph API URL `{url}`: {reason}")]
    GraphUrl { url: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Posts JSON to the Graph API at a base URL (Meta's, or a test fake) with a bearer token.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    client: reqwest::Client,
    base: String,
}

impl Graph {
    pub(crate) fn new(graph_url: &str) -> Result<Self, BuildError> {
        let base = base_url(graph_url)?;
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Self { client, base })
    }

    /// `POST {base}/{path}` with `body`; the token goes in a header, never in the URL. The
    /// answer's JSON (`null` when it has none).
    pub(crate) async fn post(
        &self,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Result<Value, SendError> {
        let url = format!("{}/{path}", self.base);
        let response = self
            .client
            .post(url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(unreachable)?;
        answer(response).await
    }

    /// `GET {base}/{path}` with the token; the answer's JSON.
    pub(crate) async fn get(&self, path: &str, token: &str) -> Result<Value, SendError> {
        let url = format!("{}/{path}", self.base);
        let response = self.client.get(url).bearer_auth(token).send().await;
        answer(response.map_err(unreachable)?).await
    }

    /// The body at `url` (a media file), with the token when given, never more than
    /// `max_bytes` of it: a larger one is a permanent failure.
    pub(crate) async fn download(
        &self,
        url: &str,
        token: Option<&str>,
        max_bytes: usize,
    ) -> Result<Vec<u8>, SendError> {
        let request = self.client.get(url);
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let mut response = request.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Err(classify(status, ""));
        }
        let too_large =
            || SendError::Permanent(format!("the file is larger than {max_bytes} bytes"));
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if bytes.len() + chunk.len() > max_bytes {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

/// A Graph answer's JSON (`null` when it has none), or its failure classified, waiting as long
/// as a `Retry-After` asks.
async fn answer(response: reqwest::Response) -> Result<Value, SendError> {
    let status = response.status().as_u16();
    let success = response.status().is_success();
    let asked_wait = retry_after(response.headers());
    let text = response.text().await.unwrap_or_default();
    if success {
        return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
    }
    Err(waiting(classify(status, &text), asked_wait))
}

/// A call that got no answer: transient, without the URL (it may carry a signed address).
fn unreachable(error: reqwest::Error) -> SendError {
    SendError::Transient(format!("Graph API unreachable: {}", error.without_url()))
}

/// The longest wait a `Retry-After` may impose on one attempt.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

/// A `Retry-After` in whole or decimal seconds, where the answer has one.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, RETRY_AFTER_CAP)
}

/// A throttling error waits as long as the answer asked, where it asked.
fn waiting(error: SendError, asked: Option<Duration>) -> SendError {
    match (error, asked) {
        (SendError::RateLimited { .. }, Some(retry_after)) => {
            SendError::RateLimited { retry_after }
        }
        (error, _) => error,
    }
}

/// The Graph base URL without its trailing slash: an absolute `http`/`https` URL with a host.
fn base_url(raw: &str) -> Result<String, BuildError> {
    let invalid = |reason: &str| BuildError::GraphUrl {
        url: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(raw).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid("not an http(s) URL with a host"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[derive(Deserialize)]
struct ErrorBody {
    error: GraphError,
}

/// The fields of a Graph error that the retry policy reads.
#[derive(Deserialize)]
struct GraphError {
    code: Option<i64>,
    message: Option<String>,
    is_transient: Option<bool>,
}

/// A failed call, by its Graph error code first and its HTTP status otherwise.
pub(crate) fn classify(status: u16, body: &str) -> SendError {
    let error = serde_json::from_str::<ErrorBody>(body)
        .ok()
        .map(|b| b.error);
    let code = error.as_ref().and_then(|e| e.code);
    let text = describe(status, error.as_ref());
    match code {
        Some(code) if THROTTLED.contains(&code) => SendError::RateLimited {
            retry_after: THROTTLE_DELAY,
        },
        Some(code) if TEMPORARY.contains(&code) => SendError::Transient(text),
        _ if error.as_ref().and_then(|e| e.is_transient) == Some(true) => {
            SendError::Transient(text)
        }
        _ => by_status(status, text),
    }
}

/// Without a telling code: 429 waits, other 4xx (window closed, no permission, bad token,
/// bad request) are permanent, and anything else (5xx, odd statuses) is transient.
fn by_status(status: u16, text: String) -> SendError {
    match status {
        429 => SendError::RateLimited {
            retry_after: THROTTLE_DELAY,
        },
        400..=499 => SendError::Permanent(text),
        _ => SendError::Transient(text),
    }
}

fn describe(status: u16, error: Option<&GraphError>) -> String {
    match error {
        Some(GraphError { code, message, .. }) => format!(
            "Graph API {status}, code {}: {}",
            code.map_or_else(|| "none".to_owned(), |c| c.to_string()),
            message.as_deref().unwrap_or("no message")
        ),
        None => format!("Graph API {status} without a Graph error body"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16, code: i64) -> SendError {
        let body = format!(
            r#"{{"error":{{"message":"m","type":"OAuthException","code":{code},"fbtrace_id":"x"}}}}"#
        );
        classify(status, &body)
    }

    #[test]
    fn throttling_codes_are_rate_limited() {
        for code in [4, 613, 130429, 131056] {
            assert_eq!(
                error(400, code),
                SendError::RateLimited {
                    retry_after: THROTTLE_DELAY
                },
                "{code}"
            );
        }
    }

    #[test]
    fn window_permission_and_token_errors_are_permanent() {
        for code in [131047, 10, 2018278, 190, 100] {
            assert!(
                matches!(error(400, code), SendError::Permanent(_)),
                "{code}"
            );
        }
    }

    #[test]
    fn server_errors_and_temporary_codes_are_transient() {
        assert!(matches!(error(500, 999), SendError::Transient(_)));
        assert!(matches!(error(400, 2), SendError::Transient(_)));
        assert!(matches!(
            classify(502, "<html>bad gateway</html>"),
            SendError::Transient(_)
        ));
        let flagged = r#"{"error":{"code":999,"is_transient":true}}"#;
        assert!(matches!(classify(400, flagged), SendError::Transient(_)));
    }

    #[test]
    fn statuses_decide_without_a_graph_body() {
        assert_eq!(
            classify(429, ""),
            SendError::RateLimited {
                retry_after: THROTTLE_DELAY
            }
        );
        assert!(matches!(classify(403, "nope"), SendError::Permanent(_)));
    }

    #[test]
    fn a_retry_after_header_sets_the_wait_of_a_throttling_error_only() {
        let asked = Some(Duration::from_secs(2));
        assert_eq!(
            waiting(error(400, 613), asked),
            SendError::RateLimited {
                retry_after: Duration::from_secs(2)
            }
        );
        assert!(matches!(
            waiting(error(400, 10), asked),
            SendError::Permanent(_)
        ));
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert("retry-after", "1.5".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        headers.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn messages_name_the_code() {
        let SendError::Permanent(text) = error(400, 131047) else {
            panic!("expected permanent");
        };
        assert!(text.contains("131047"), "{text}");
    }

    #[test]
    fn graph_urls_are_checked() {
        let graph = Graph::new("https://graph.facebook.com/v21.0/").unwrap();
        assert_eq!(graph.base, "https://graph.facebook.com/v21.0");
        assert_eq!(
            base_url("http://127.0.0.1:9/").unwrap(),
            "http://127.0.0.1:9"
        );
        for bad in [
            "not a url",
            "mailto:meta@example.com",
            "file:///tmp/graph",
            "data:,x",
        ] {
            assert!(Graph::new(bad).is_err(), "{bad}");
        }
    }
}
