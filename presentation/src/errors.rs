//! `ApiError`: every failure the HTTP layer answers, rendered as RFC 9457 problem+json.

use crate::{refusals, request_id};
use actix_web::body::BoxBody;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use application::web_chat::retry_after_secs;
use application::{
    ApiKeyError, BindError, BotError, OperatorMessageError, ReceiveError, SubscribeError,
    VisitorRefused, WebChatError,
};
use domain::{PlatformKind, RepoError, Role};
use serde::Serialize;
use std::borrow::Cow;
use std::time::Duration;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client should wait before retrying a 503 caused by unavailable storage.
const RETRY_AFTER_SECS: &str = "5";

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
    #[error("the bot is no longer bound to {}", .0.as_str())]
    PlatformNotBound(PlatformKind),
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

    /// The stable, machine-readable name of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "malformed_json",
            Self::InvalidQuery(_) => "invalid_query",
            Self::MalformedUpdate(_) => "malformed_update",
            Self::BadRequest => "bad_request",
            Self::InvalidHeader(_) => "invalid_header",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidSignature => "invalid_signature",
            Self::SubscriptionRefused => "subscription_refused",
            Self::Forbidden(_) => "forbidden",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::RepeatedHeader(_) => "repeated_header",
            Self::VisitorRefused(VisitorRefused::InvalidToken) => "invalid_visitor_token",
            Self::VisitorRefused(VisitorRefused::TokenRequired) => "visitor_token_required",
            Self::TooManySockets => "too_many_sockets",
            Self::RateLimited { .. } => "rate_limited",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::ConversationEnded => "conversation_ended",
            Self::PlatformNotBound(_) => "platform_not_bound",
            Self::InvalidIdempotencyKey(_) => "invalid_idempotency_key",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::IdempotencyKeyInUse => "idempotency_key_in_use",
            Self::IdempotentAnswerWithheld => "idempotency_answer_withheld",
            Self::BodyTimeout => "body_timeout",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Invalid { .. } => "invalid_field",
            Self::Platform(_) => "platform_error",
            Self::Unavailable(_) => "service_unavailable",
            Self::Busy => "busy",
            Self::NotReady(_) => "not_ready",
            Self::Internal(_) => "internal_error",
            Self::Status(_) => "http_error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "Malformed JSON",
            Self::InvalidQuery(_) => "Invalid query string",
            Self::MalformedUpdate(_) => "Malformed update",
            Self::Invalid { .. } => "Invalid field",
            Self::InvalidSignature => "Invalid signature",
            Self::SubscriptionRefused => "Subscription refused",
            Self::OriginNotAllowed => "Origin not allowed",
            Self::RepeatedHeader(_) => "Repeated header",
            Self::VisitorRefused(_) => "Visitor refused",
            Self::TooManySockets => "Too many sockets",
            Self::Platform(_) => "Platform error",
            Self::NotReady(_) => "Not ready",
            Self::ConversationEnded => "Conversation ended",
            Self::PlatformNotBound(_) => "Platform not bound",
            Self::InvalidIdempotencyKey(_) => "Invalid Idempotency-Key",
            Self::InvalidHeader(_) => "Invalid header",
            Self::IdempotencyKeyReused => "Idempotency-Key reused",
            Self::IdempotencyKeyInUse => "Idempotency-Key in use",
            Self::IdempotentAnswerWithheld => "Answer not kept",
            other => other.status_code().canonical_reason().unwrap_or("Error"),
        }
    }

    /// What the client is told: specific for its own mistakes, generic for ours.
    fn detail(&self) -> String {
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
    fn field_errors(&self) -> Option<&[FieldError]> {
        match self {
            Self::Invalid(errors) => Some(errors),
            _ => None,
        }
    }

    fn log(&self) {
        if self.status_code().is_server_error() && !matches!(self, Self::Busy) {
            tracing::error!(code = self.code(), cause = %self, "request failed");
        } else {
            refusals::record(self.code(), &self.to_string());
        }
    }
}

/// The RFC 9457 body, with our `code` and `request_id` extension members.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Problem<'a> {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    kind: String,
    #[schema(value_type = String)]
    title: &'a str,
    status: u16,
    detail: String,
    /// Stable and machine-readable, e.g. `invalid_field`.
    #[schema(value_type = String)]
    code: &'a str,
    /// Matches the `X-Request-Id` header and the server's log line.
    request_id: Option<String>,
    /// The first invalid field (422 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    field: Option<&'a str>,
    /// Every invalid field, in name order (422 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Vec<FieldError>)]
    errors: Option<&'a [FieldError]>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::MalformedJson(_)
            | Self::InvalidQuery(_)
            | Self::MalformedUpdate(_)
            | Self::BadRequest
            | Self::InvalidHeader(_)
            | Self::RepeatedHeader(_)
            | Self::InvalidIdempotencyKey(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated | Self::InvalidSignature | Self::VisitorRefused(_) => {
                StatusCode::UNAUTHORIZED
            }
            Self::TooManySockets | Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Forbidden(_) | Self::SubscriptionRefused | Self::OriginNotAllowed => {
                StatusCode::FORBIDDEN
            }
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_)
            | Self::ConversationEnded
            | Self::PlatformNotBound(_)
            | Self::IdempotencyKeyInUse
            | Self::IdempotentAnswerWithheld => StatusCode::CONFLICT,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Invalid { .. } | Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Platform(_) => StatusCode::BAD_GATEWAY,
            Self::Unavailable(_) | Self::NotReady(_) | Self::Busy => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Status(status) => *status,
        }
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        self.log();
        let status = self.status_code();
        let code = self.code();
        let problem = Problem {
            kind: format!("urn:switchboard:problem:{code}"),
            title: self.title(),
            status: status.as_u16(),
            detail: self.detail(),
            code,
            request_id: request_id::current(),
            field: self
                .field_errors()
                .and_then(|errors| errors.first())
                .map(|error| error.field.as_ref()),
            errors: self.field_errors(),
        };
        let mut response = HttpResponse::build(status);
        response.content_type(PROBLEM_JSON);
        match self {
            Self::Unauthenticated => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS));
            }
            Self::Busy => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            Self::RateLimited { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs(*retry_after)));
            }
            _ => {}
        }
        response.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

/// Replaces a bare error response (one not already problem+json) by the matching problem, so
/// that even actix's own 404/405 answers follow the contract.
pub fn ensure_problem(response: HttpResponse<BoxBody>) -> HttpResponse<BoxBody> {
    let status = response.status();
    if status.as_u16() < 400 || is_problem(&response) {
        return response;
    }
    if let Some(cause) = response.error() {
        if status.is_server_error() {
            tracing::error!(%cause, %status, "replacing a bare error response");
        } else {
            tracing::debug!(%cause, %status, "replacing a bare error response");
        }
    }
    let mut problem = ApiError::from_status(status).error_response();
    // Keep what the original answer said besides its body, such as `Allow` on a 405.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().append(name.clone(), value.clone());
        }
    }
    problem
}

fn is_problem(response: &HttpResponse<BoxBody>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value: &HeaderValue| value.to_str().ok())
        .is_some_and(|value| value.starts_with(PROBLEM_JSON))
}

impl From<RepoError> for ApiError {
    fn from(err: RepoError) -> Self {
        match err {
            RepoError::Unavailable(cause) => Self::Unavailable(cause),
            RepoError::Duplicate(what) => Self::Conflict(what),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<domain::ValidationError> for ApiError {
    fn from(err: domain::ValidationError) -> Self {
        Self::invalid(err.field, err.reason)
    }
}

impl From<validator::ValidationErrors> for ApiError {
    /// Every invalid field with its first failure, in name order so the answer is stable.
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut fields: Vec<FieldError> = errors
            .field_errors()
            .into_iter()
            .map(|(name, failures)| FieldError {
                field: name,
                reason: failures
                    .first()
                    .map_or_else(|| "is invalid".to_owned(), describe),
            })
            .collect();
        if fields.is_empty() {
            return Self::invalid("body", "is invalid");
        }
        fields.sort_by(|a, b| a.field.cmp(&b.field));
        Self::Invalid(fields)
    }
}

/// A validator failure as a sentence fragment: `must be 1-100 characters`.
fn describe(error: &validator::ValidationError) -> String {
    if let Some(message) = &error.message {
        return message.to_string();
    }
    let param = |name: &str| error.params.get(name).map(ToString::to_string);
    match error.code.as_ref() {
        "required" => "is required".into(),
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be {min}-{max} characters"),
            (None, Some(max)) => format!("must be at most {max} characters"),
            (Some(min), None) => format!("must be at least {min} characters"),
            (None, None) => "has an invalid length".into(),
        },
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            _ => "is out of range".into(),
        },
        code => format!("is invalid ({code})"),
    }
}

impl From<BotError> for ApiError {
    fn from(err: BotError) -> Self {
        match err {
            BotError::NotFound(_) => Self::not_found("bot"),
            BotError::Storage(err) => err.into(),
        }
    }
}

impl From<ApiKeyError> for ApiError {
    fn from(err: ApiKeyError) -> Self {
        match err {
            ApiKeyError::Invalid(err) => err.into(),
            ApiKeyError::NotFound(_) => Self::not_found("API key"),
            ApiKeyError::Storage(err) => err.into(),
        }
    }
}

impl From<BindError> for ApiError {
    fn from(err: BindError) -> Self {
        match err {
            BindError::BotNotFound(_) => Self::not_found("bot"),
            BindError::Platform(cause) => Self::Platform(cause.to_string()),
            BindError::Storage(err) => err.into(),
        }
    }
}

impl From<ReceiveError> for ApiError {
    fn from(err: ReceiveError) -> Self {
        match err {
            ReceiveError::UnknownBinding(kind) => {
                Self::NotFound(format!("this bot has no {kind} binding"))
            }
            ReceiveError::Unauthorized(_) => Self::InvalidSignature,
            ReceiveError::Malformed(cause) => Self::MalformedUpdate(cause.0),
            ReceiveError::Unavailable(cause) => Self::Unavailable(cause.to_string()),
        }
    }
}

impl From<SubscribeError> for ApiError {
    fn from(err: SubscribeError) -> Self {
        match err {
            SubscribeError::UnknownBinding(kind) => {
                Self::NotFound(format!("this bot has no {kind} binding"))
            }
            SubscribeError::Refused => Self::SubscriptionRefused,
            SubscribeError::Unavailable(cause) => Self::Unavailable(cause.to_string()),
        }
    }
}

impl From<OperatorMessageError> for ApiError {
    fn from(err: OperatorMessageError) -> Self {
        match err {
            OperatorMessageError::Invalid(err) => err.into(),
            OperatorMessageError::NotFound(_) => Self::not_found("conversation"),
            OperatorMessageError::Ended(_) => Self::ConversationEnded,
            OperatorMessageError::NotBound { platform, .. } => Self::PlatformNotBound(platform),
            OperatorMessageError::Storage(err) => err.into(),
        }
    }
}

impl From<WebChatError> for ApiError {
    fn from(err: WebChatError) -> Self {
        match err {
            WebChatError::NotBound => Self::NotFound("this bot has no web_chat binding".into()),
            WebChatError::OriginRefused => Self::OriginNotAllowed,
            WebChatError::VisitorRefused(refused) => Self::VisitorRefused(refused),
            WebChatError::TooManySockets => Self::TooManySockets,
            WebChatError::RateLimited { retry_after } => Self::RateLimited { retry_after },
            WebChatError::Invalid(err) => err.into(),
            WebChatError::Unavailable(err) => err.into(),
        }
    }
}
