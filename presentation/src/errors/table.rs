//! The one table of what each `ApiError` answers: its status, stable code and title.

use super::ApiError;
use actix_web::http::StatusCode;
use application::VisitorRefused;

/// What every error of one kind answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub status: StatusCode,
    /// Stable and machine-readable: the problem's `code`, and the web chat's error frames'.
    pub code: &'static str,
    /// Short and human: the problem's `title`.
    pub title: &'static str,
}

const fn kind(status: StatusCode, code: &'static str, title: &'static str) -> Kind {
    Kind {
        status,
        code,
        title,
    }
}

impl ApiError {
    /// The row of this error in the table: one arm per variant and no catch-all, so a new
    /// variant does not compile until it has its status, code and title.
    pub fn kind(&self) -> Kind {
        use StatusCode as S;
        match self {
            Self::MalformedJson(_) => kind(S::BAD_REQUEST, "malformed_json", "Malformed JSON"),
            Self::InvalidQuery(_) => kind(S::BAD_REQUEST, "invalid_query", "Invalid query string"),
            Self::MalformedUpdate(_) => {
                kind(S::BAD_REQUEST, "malformed_update", "Malformed update")
            }
            Self::BadRequest => kind(S::BAD_REQUEST, "bad_request", "Bad Request"),
            Self::InvalidHeader(_) => kind(S::BAD_REQUEST, "invalid_header", "Invalid header"),
            Self::RepeatedHeader(_) => kind(S::BAD_REQUEST, "repeated_header", "Repeated header"),
            Self::InvalidIdempotencyKey(_) => kind(
                S::BAD_REQUEST,
                "invalid_idempotency_key",
                "Invalid Idempotency-Key",
            ),
            Self::Unauthenticated => kind(S::UNAUTHORIZED, "unauthenticated", "Unauthorized"),
            Self::InvalidSignature => {
                kind(S::UNAUTHORIZED, "invalid_signature", "Invalid signature")
            }
            Self::VisitorRefused(VisitorRefused::InvalidToken) => {
                kind(S::UNAUTHORIZED, "invalid_visitor_token", "Visitor refused")
            }
            Self::VisitorRefused(VisitorRefused::TokenRequired) => {
                kind(S::UNAUTHORIZED, "visitor_token_required", "Visitor refused")
            }
            Self::Forbidden(_) => kind(S::FORBIDDEN, "forbidden", "Forbidden"),
            Self::SubscriptionRefused => {
                kind(S::FORBIDDEN, "subscription_refused", "Subscription refused")
            }
            Self::OriginNotAllowed => {
                kind(S::FORBIDDEN, "origin_not_allowed", "Origin not allowed")
            }
            Self::SetupRefused => kind(S::FORBIDDEN, "setup_refused", "Setup refused"),
            Self::NotFound(_) => kind(S::NOT_FOUND, "not_found", "Not Found"),
            Self::MethodNotAllowed => kind(
                S::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method Not Allowed",
            ),
            Self::BodyTimeout => kind(S::REQUEST_TIMEOUT, "body_timeout", "Request Timeout"),
            Self::Conflict(_) => kind(S::CONFLICT, "conflict", "Conflict"),
            Self::ConversationEnded => {
                kind(S::CONFLICT, "conversation_ended", "Conversation ended")
            }
            Self::ProviderInUse => kind(S::CONFLICT, "provider_in_use", "Provider in use"),
            Self::PlatformNotBound(_) => {
                kind(S::CONFLICT, "platform_not_bound", "Platform not bound")
            }
            Self::JobNotDead(_) => kind(S::CONFLICT, "job_not_dead", "Job not dead"),
            Self::DeliveryPending => kind(S::CONFLICT, "delivery_pending", "Delivery pending"),
            Self::WindowClosed(_) => kind(
                S::UNPROCESSABLE_ENTITY,
                "window_closed",
                "Messaging window closed",
            ),
            Self::IdempotencyKeyInUse => kind(
                S::CONFLICT,
                "idempotency_key_in_use",
                "Idempotency-Key in use",
            ),
            Self::IdempotentAnswerWithheld => kind(
                S::CONFLICT,
                "idempotency_answer_withheld",
                "Answer not kept",
            ),
            Self::PayloadTooLarge { .. } => kind(
                S::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Payload Too Large",
            ),
            Self::UnsupportedMediaType(_) => kind(
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported Media Type",
            ),
            Self::Invalid(_) => kind(S::UNPROCESSABLE_ENTITY, "invalid_field", "Invalid field"),
            Self::IdempotencyKeyReused => kind(
                S::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Idempotency-Key reused",
            ),
            Self::TooManySockets => {
                kind(S::TOO_MANY_REQUESTS, "too_many_sockets", "Too many sockets")
            }
            Self::RateLimited { .. } => {
                kind(S::TOO_MANY_REQUESTS, "rate_limited", "Too Many Requests")
            }
            Self::Internal(_) => kind(
                S::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Internal Server Error",
            ),
            Self::Platform(_) => kind(S::BAD_GATEWAY, "platform_error", "Platform error"),
            Self::Unavailable(_) => kind(
                S::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "Service Unavailable",
            ),
            Self::Busy => kind(S::SERVICE_UNAVAILABLE, "busy", "Service Unavailable"),
            Self::NotReady(_) => kind(S::SERVICE_UNAVAILABLE, "not_ready", "Not ready"),
            Self::Status(status) => kind(
                *status,
                "http_error",
                status.canonical_reason().unwrap_or("Error"),
            ),
        }
    }

    /// The stable, machine-readable name of this error.
    pub fn code(&self) -> &'static str {
        self.kind().code
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Role;

    #[test]
    fn a_bare_status_keeps_its_own_status_and_reason() {
        let teapot = ApiError::Status(StatusCode::IM_A_TEAPOT).kind();
        assert_eq!(teapot.status, StatusCode::IM_A_TEAPOT);
        assert_eq!((teapot.code, teapot.title), ("http_error", "I'm a teapot"));
    }

    #[test]
    fn variants_of_one_status_keep_their_own_code_and_title() {
        let forbidden = ApiError::Forbidden(Role::Admin).kind();
        let origin = ApiError::OriginNotAllowed.kind();
        assert_eq!(forbidden.status, origin.status);
        assert_eq!(
            (forbidden.code, forbidden.title),
            ("forbidden", "Forbidden")
        );
        assert_eq!(
            (origin.code, origin.title),
            ("origin_not_allowed", "Origin not allowed")
        );
        let refused = ApiError::VisitorRefused(VisitorRefused::TokenRequired).kind();
        assert_eq!(refused.code, "visitor_token_required");
    }
}
