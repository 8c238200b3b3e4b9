//! Storage and use-case errors translated to the `ApiError` the client is answered with.

use super::ApiError;
use application::{
    ApiKeyError, BindError, BotError, HandoffError, OperatorMessageError, ProactiveError,
    ProviderError, ReceiveError, SubscribeError, WebChatError, WebhookError,
};
use domain::RepoError;

impl From<RepoError> for ApiError {
    fn from(err: RepoError) -> Self {
        match err {
            RepoError::Unavailable(cause) => Self::Unavailable(cause),
            RepoError::Duplicate(what) => Self::Conflict(what),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<BotError> for ApiError {
    fn from(err: BotError) -> Self {
        match err {
            BotError::NotFound(_) => Self::not_found("bot"),
            BotError::Invalid(err) => err.into(),
            BotError::Storage(err) => err.into(),
        }
    }
}

impl From<ProviderError> for ApiError {
    fn from(err: ProviderError) -> Self {
        match err {
            ProviderError::NotFound(_) => Self::not_found("provider"),
            ProviderError::InUse(_) => Self::ProviderInUse,
            ProviderError::Invalid(err) => err.into(),
            ProviderError::Storage(err) => err.into(),
        }
    }
}

impl From<WebhookError> for ApiError {
    fn from(err: WebhookError) -> Self {
        match err {
            WebhookError::NotFound(_) => Self::not_found("webhook"),
            WebhookError::DeliveryNotFound(_) => Self::not_found("delivery"),
            WebhookError::DeliveryPending(_) => Self::DeliveryPending,
            WebhookError::Invalid(err) => err.into(),
            WebhookError::Storage(err) => err.into(),
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

impl From<ProactiveError> for ApiError {
    fn from(err: ProactiveError) -> Self {
        match err {
            ProactiveError::Invalid(err) => err.into(),
            ProactiveError::BotNotFound(_) => Self::not_found("bot"),
            ProactiveError::NotBound { platform, .. } => Self::PlatformNotBound(platform),
            ProactiveError::WindowClosed { .. } => Self::WindowClosed(err.to_string()),
            ProactiveError::Storage(err) => err.into(),
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

impl From<HandoffError> for ApiError {
    fn from(err: HandoffError) -> Self {
        match err {
            HandoffError::NotFound(_) => Self::not_found("conversation"),
            HandoffError::Ended(_) => Self::ConversationEnded,
            HandoffError::Storage(err) => err.into(),
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
