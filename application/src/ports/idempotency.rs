//! The idempotency port: claims on `Idempotency-Key`s, and the first answer stored for replay.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::RepoError;

/// A keyed request: whose key it is, the key, and what the request was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentRequest {
    /// The caller's scope (`Principal::scope`): callers' keys never meet.
    pub scope: String,
    pub key: String,
    /// The SHA-256 of the request's method, path and body, in hex.
    pub fingerprint: String,
}

/// A stored answer: replayed as it was, except a body withheld because it held a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    /// The headers worth replaying (content type, location), as sent.
    pub headers: Vec<(String, String)>,
    /// `None` when the body was not kept (it carried a secret meant to be shown once).
    pub body: Option<Vec<u8>>,
}

/// Proves a claim is still this request's; a claim taken over after its hold gets a new one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClaimToken(pub String);

/// What a claim on a key finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is this request's now: run it, then complete or release the claim.
    Acquired(ClaimToken),
    /// Another request with this key is still running.
    InProgress,
    /// The key was first used for a different request.
    Mismatch,
    /// The key's request finished before: this is its answer.
    Completed(StoredResponse),
}

/// The times a claim works with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimTimes {
    pub now: DateTime<Utc>,
    /// Until when a running claim holds; after that, another request may take it over (its
    /// holder is presumed dead).
    pub held_until: DateTime<Utc>,
    /// When the record is forgotten and the key may be used afresh.
    pub expires_at: DateTime<Utc>,
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `request`'s key, or reports what holds it; records expired at `times.now` are
    /// purged first. Two concurrent claims of one key never both acquire it.
    async fn claim(
        &self,
        request: &IdempotentRequest,
        times: ClaimTimes,
    ) -> Result<Claim, RepoError>;

    /// Stores the answer to a claimed request; `false` when the claim was lost.
    async fn complete(
        &self,
        request: &IdempotentRequest,
        token: &ClaimToken,
        response: &StoredResponse,
    ) -> Result<bool, RepoError>;

    /// Drops a claim without an answer, so that a retry runs afresh; `false` when it was lost.
    async fn release(
        &self,
        request: &IdempotentRequest,
        token: &ClaimToken,
    ) -> Result<bool, RepoError>;
}
