//! Classifying Bot API failures for the delivery retry policy, without leaking the token.
//!
//! teloxide drops the HTTP status, so server errors are recognised by their description
//! (`Internal Server Error`, `Bad Gateway`, …) or by a body that is not the Bot API's JSON.

use application::ports::SendError;
use serde::Deserialize;
use std::time::Duration;
use teloxide_core::{ApiError, RequestError};

/// Descriptions of 5xx answers, which are worth retrying.
const SERVER_ERRORS: &[&str] = &[
    "Internal Server Error",
    "Bad Gateway",
    "Service Unavailable",
    "Gateway Timeout",
];

/// The parts of a Bot API answer we read when teloxide could not parse it.
#[derive(Deserialize)]
struct RawAnswer {
    ok: bool,
    error_code: Option<u16>,
}

/// Turns a call's result into the port's, redacting `token` from every message.
///
/// A body teloxide cannot parse but that says `"ok": true` counts as success: Telegram did
/// the work, and retrying a `sendMessage` would deliver the text twice.
pub(crate) fn outcome<T>(result: Result<T, RequestError>, token: &str) -> Result<(), SendError> {
    match result {
        Ok(_) => Ok(()),
        Err(RequestError::InvalidJson { raw, .. }) => invalid_json(&raw, token),
        Err(error) => Err(classify(error, token)),
    }
}

fn classify(error: RequestError, token: &str) -> SendError {
    let text = redact(&error.to_string(), token);
    match error {
        RequestError::RetryAfter(seconds) => SendError::RateLimited {
            retry_after: seconds.duration(),
        },
        RequestError::Api(api) => classify_api(&api, text),
        RequestError::MigrateToChatId(_) => SendError::Permanent(text),
        // Network and I/O errors, and whatever teloxide adds later.
        _ => SendError::Transient(text),
    }
}

/// Known API errors (blocked, chat not found, invalid token, bad request…) are permanent;
/// unrecognised descriptions are classified by their status phrase.
fn classify_api(api: &ApiError, text: String) -> SendError {
    let ApiError::Unknown(description) = api else {
        return SendError::Permanent(text);
    };
    if SERVER_ERRORS.iter().any(|p| description.starts_with(p)) {
        return SendError::Transient(text);
    }
    match retry_after_in(description) {
        Some(retry_after) => SendError::RateLimited { retry_after },
        None if description.starts_with("Too Many Requests") => SendError::Transient(text),
        None => SendError::Permanent(text),
    }
}

/// The `N` of "…: retry after N", for a 429 that came without `parameters.retry_after`.
pub(crate) fn retry_after_in(description: &str) -> Option<Duration> {
    let (_, tail) = description.split_once("retry after ")?;
    let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().map(Duration::from_secs)
}

/// A body teloxide could not read: success if it says so, a 4xx code is permanent, and
/// anything else (an HTML error page from a proxy, an empty body) is transient.
fn invalid_json(raw: &str, token: &str) -> Result<(), SendError> {
    let answer = serde_json::from_str::<RawAnswer>(raw).ok();
    let text = || format!("unreadable Bot API answer: {}", redact(excerpt(raw), token));
    match answer {
        Some(RawAnswer { ok: true, .. }) => {
            tracing::warn!("Bot API answer not understood, but it reports success");
            Ok(())
        }
        Some(RawAnswer {
            error_code: Some(400..=499),
            ..
        }) => Err(SendError::Permanent(text())),
        _ => Err(SendError::Transient(text())),
    }
}

/// The most characters of a Bot API answer quoted in an error.
const EXCERPT_CHARS: usize = 200;

pub(crate) fn excerpt(raw: &str) -> &str {
    match raw.char_indices().nth(EXCERPT_CHARS) {
        Some((index, _)) => &raw[..index],
        None => raw,
    }
}

/// Removes the bot token, which reqwest errors carry inside the request URL.
pub(crate) fn redact(text: &str, token: &str) -> String {
    if token.is_empty() {
        return text.to_owned();
    }
    text.replace(token, "[token]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use teloxide_core::types::Seconds;

    const TOKEN: &str = "123:secret";

    fn api(description: &str) -> RequestError {
        RequestError::Api(ApiError::Unknown(description.to_owned()))
    }

    fn invalid(raw: &str) -> RequestError {
        let source = serde_json::from_str::<u8>("x").unwrap_err();
        RequestError::InvalidJson {
            source: source.into(),
            raw: raw.into(),
        }
    }

    #[test]
    fn retry_after_is_rate_limited() {
        let error = RequestError::RetryAfter(Seconds::from_seconds(3));
        assert_eq!(
            outcome::<()>(Err(error), TOKEN),
            Err(SendError::RateLimited {
                retry_after: Duration::from_secs(3)
            })
        );
        assert_eq!(
            outcome::<()>(Err(api("Too Many Requests: retry after 7")), TOKEN),
            Err(SendError::RateLimited {
                retry_after: Duration::from_secs(7)
            })
        );
    }

    #[test]
    fn known_api_errors_are_permanent() {
        for error in [
            ApiError::BotBlocked,
            ApiError::ChatNotFound,
            ApiError::InvalidToken,
        ] {
            let result = outcome::<()>(Err(RequestError::Api(error)), TOKEN);
            assert!(matches!(result, Err(SendError::Permanent(_))), "{result:?}");
        }
        let unknown_4xx = outcome::<()>(Err(api("Bad Request: something new")), TOKEN);
        assert!(matches!(unknown_4xx, Err(SendError::Permanent(_))));
    }

    #[test]
    fn server_errors_are_transient() {
        for description in ["Internal Server Error", "Bad Gateway", "Too Many Requests"] {
            let result = outcome::<()>(Err(api(description)), TOKEN);
            assert!(
                matches!(result, Err(SendError::Transient(_))),
                "{description}"
            );
        }
    }

    #[test]
    fn unreadable_answers_are_classified_by_what_they_say() {
        assert_eq!(
            outcome::<()>(Err(invalid(r#"{"ok":true,"result":{}}"#)), TOKEN),
            Ok(())
        );
        let html = outcome::<()>(Err(invalid("<html>502</html>")), TOKEN);
        assert!(matches!(html, Err(SendError::Transient(_))));
        let client = outcome::<()>(Err(invalid(r#"{"ok":false,"error_code":400}"#)), TOKEN);
        assert!(matches!(client, Err(SendError::Permanent(_))));
    }

    #[test]
    fn the_token_never_appears_in_a_message() {
        let result = outcome::<()>(Err(invalid(&format!("<a href=/bot{TOKEN}>"))), TOKEN);
        let Err(SendError::Transient(message)) = result else {
            panic!("expected transient, got {result:?}");
        };
        assert!(!message.contains(TOKEN));
        assert!(message.contains("[token]"));
    }
}
