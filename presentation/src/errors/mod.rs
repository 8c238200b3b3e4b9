//! `ApiError`: every failure the HTTP layer answers, with what the client is told of it.

mod conversions;
mod render;
mod table;
mod validation;

pub(crate) use render::Problem;
pub use render::{ensure_problem, PROBLEM_JSON};
pub use table::Kind;

use crate::refusals;
use actix_web::http::StatusCode;
use actix_web::ResponseError;
use application::web_chat::retry_after_secs;
use application::VisitorRefused;
use domain::{PlatformKind, Role};
use serde::Serialize;
use std::borrow::Cow;
use std::time::Duration;
use utoipa::ToSchema;

/// An invalid input field and why, as the `errors` member of a 422 problem lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    #[schema(value_type = String)]
    pub field: Cow<'static, str>,
    pub reason: String,
}

impl FieldError {
    /// `name: must be 1-100 characters; temperature: must be between 0 and 2`.
    fn sentence(errors: &[FieldError]) -> String {
        let parts: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.reason))
            .collect();
        parts.join("; ")
    }
}

/// Everything the API can refuse with. Each variant has a stable snake_case [`ApiError::code`];
/// the causes carried by 5xx variants are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("invalid query string: {0}")]
    InvalidQuery(String),
    #[error("malformed update: {0}")]
    MalformedUpdate(String),
    #[error("bad request")]
    BadRequest,
    #[error("{0}")]
    InvalidHeader(&'static str),
    #[error("missing or invalid API key")]
    Unauthenticated,
    #[error("the webhook's signature or secret is missing or wrong")]
    InvalidSignature,
    #[error("hub.mode must be `subscribe` and hub.verify_token the binding's verify token")]
    SubscriptionRefused,
    #[error("this action requires the {} role", .0.as_str())]
    Forbidden(Role),
    #[error("this page's origin may not open the bot's web chat")]
    OriginNotAllowed,
    #[error("the setup token is wrong, used or expired, or an admin key exists already")]
    SetupRefused,
    #[error("the request carries more than one {0}")]
    RepeatedHeader(&'static str),
    #[error("{0}")]
    VisitorRefused(VisitorRefused),
    #[error("too many sockets of this visitor or from this address are open; close one first")]
    TooManySockets,
    #[error("too many messages; retry in {} s", retry_after_secs(*.retry_after))]
    RateLimited { retry_after: Duration },
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("the conversation has ended; a new message from the user starts another")]
    ConversationEnded,
    #[error("a bot uses this provider: point it at another (or at none) first")]
    ProviderInUse,
    #[error("the bot is not bound to {}", .0.as_str())]
    PlatformNotBound(PlatformKind),
    #[error("{0}")]
    WindowClosed(String),
    #[error("the job is {0}, not dead: only a dead job may be retried or discarded")]
    JobNotDead(&'static str),
    #[error("the delivery is pending: its job will send it")]
    DeliveryPending,
    #[error("Idempotency-Key {0}")]
    InvalidIdempotencyKey(String),
    #[error("this Idempotency-Key was first used for a different request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still running; retry later")]
    IdempotencyKeyInUse,
    #[error("the first answer to this Idempotency-Key carried a secret shown only once, so it was not kept")]
    IdempotentAnswerWithheld,
    #[error("the body did not arrive within the server's read timeout")]
    BodyTimeout,
    #[error("the body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// One or more invalid fields, never none.
    #[error("{}", FieldError::sentence(.0))]
    Invalid(Vec<FieldError>),
    #[error("the platform refused the request: {0}")]
    Platform(String),
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    #[error("too many requests are being read at once; retry shortly")]
    Busy,
    #[error("not ready: {}", .0.join(", "))]
    NotReady(Vec<&'static str>),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("HTTP {0}")]
    Status(StatusCode),
}

impl ApiError {
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    /// An invalid input value, naming its field.
    pub fn invalid(field: impl Into<Cow<'static, str>>, reason: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError {
            field: field.into(),
            reason: reason.into(),
        }])
    }

    /// The problem that stands for a bare error status produced outside our handlers.
    pub fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::BAD_REQUEST => Self::BadRequest,
            StatusCode::UNAUTHORIZED => Self::Unauthenticated,
            StatusCode::NOT_FOUND => Self::NotFound("no such resource".into()),
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge { limit: 0 },
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType(String::new()),
            s if s.is_server_error() => Self::Internal(format!("bare {s} response")),
            s => Self::Status(s),
        }
    }

    /// What the client is told: specific for its own mistakes, generic for ours.
    pub(crate) fn detail(&self) -> String {
        match self {
            Self::Platform(_) => {
                "the platform refused the request; check the credentials (details are in the server log)"
                    .into()
            }
            Self::Unavailable(_) => "storage is unavailable; retry later".into(),
            Self::Internal(_) | Self::Status(_) if self.status_code().is_server_error() => {
                "an internal error occurred; the request id identifies it in the server log".into()
            }
            Self::PayloadTooLarge { limit: 0 } => "the body is larger than allowed".into(),
            Self::UnsupportedMediaType(expected) if expected.is_empty() => {
                "unsupported content type".into()
            }
            Self::UnsupportedMediaType(expected) => format!("the content type must be {expected}"),
            Self::Status(status) => status.canonical_reason().unwrap_or("error").into(),
            other => other.to_string(),
        }
    }

    /// The invalid fields, for a 422 body; `None` for other errors.
    pub(crate) fn field_errors(&self) -> Option<&[FieldError]> {
        match self {
            Self::Invalid(errors) => Some(errors),
            _ => None,
        }
    }

    pub(crate) fn log(&self) {
        if self.status_code().is_server_error() && !matches!(self, Self::Busy) {
            tracing::error!(code = self.code(), cause = %self, "request failed");
        } else {
            refusals::record(self.code(), &self.to_string());
        }
    }
}
