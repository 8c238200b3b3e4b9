//! Use case: `Idempotency-Key`s, so that a keyed request runs once per caller and key.

use crate::ports::{
    Claim, ClaimTimes, ClaimToken, Clock, IdempotencyStore, IdempotentRequest, StoredResponse,
};
use chrono::TimeDelta;
use domain::{RepoError, ValidationError};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The longest key accepted, in characters.
pub const MAX_KEY_LEN: usize = 255;
/// How long an answer is kept for replay.
pub const RECORD_TTL: TimeDelta = TimeDelta::hours(24);
/// How long a running request holds its key before another may take it over.
pub const CLAIM_HOLD: TimeDelta = TimeDelta::minutes(5);

/// The key as presented, if it is 1-255 visible ASCII characters.
pub fn valid_key(key: &str) -> Result<&str, ValidationError> {
    let visible = key.bytes().all(|b| b.is_ascii_graphic());
    if key.is_empty() || key.len() > MAX_KEY_LEN || !visible {
        return Err(ValidationError::new(
            "Idempotency-Key",
            format!("must be 1-{MAX_KEY_LEN} visible ASCII characters"),
        ));
    }
    Ok(key)
}

/// What identifies a request for replay: the SHA-256 of its method, path and body, in hex.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut digest = Sha256::new();
    for part in [method.as_bytes(), b"\n", path.as_bytes(), b"\n", body] {
        digest.update(part);
    }
    hex::encode(digest.finalize())
}

/// What to do with a keyed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// Run it, then [`Idempotency::finish`] (or [`Idempotency::abandon`]) the ticket.
    Proceed(Ticket),
    /// It ran before: answer this.
    Replay(StoredResponse),
    /// It ran before, but its answer held a secret and was not kept.
    Withheld,
    /// It is still running.
    InUse,
    /// The key belongs to another request.
    Reused,
}

/// A claimed key, held while its request runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    request: IdempotentRequest,
    token: ClaimToken,
}

/// The first request with a key claims it and runs; its answer is stored for [`RECORD_TTL`]
/// and replayed to retries of the same request (same fingerprint). The same key with another
/// request is refused, and so is a retry while the first still runs. A server error is not
/// stored: the claim is released, so that a retry runs afresh. A claim whose holder died is
/// taken over after [`CLAIM_HOLD`].
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn Clock>,
}

impl Idempotency {
    pub fn new(store: Arc<dyn IdempotencyStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Claims the request's key, or says why it may not run.
    #[tracing::instrument(skip_all, fields(scope = %request.scope))]
    pub async fn begin(&self, request: IdempotentRequest) -> Result<Begin, RepoError> {
        let now = self.clock.now();
        let times = ClaimTimes {
            now,
            held_until: now + CLAIM_HOLD,
            expires_at: now + RECORD_TTL,
        };
        Ok(match self.store.claim(&request, times).await? {
            Claim::Acquired(token) => Begin::Proceed(Ticket { request, token }),
            Claim::InProgress => Begin::InUse,
            Claim::Mismatch => Begin::Reused,
            Claim::Completed(response) if response.body.is_none() => Begin::Withheld,
            Claim::Completed(response) => Begin::Replay(response),
        })
    }

    /// Stores the answer for replay; a server error is not stored, and its claim is released.
    pub async fn finish(&self, ticket: &Ticket, response: StoredResponse) -> Result<(), RepoError> {
        if response.status >= 500 {
            return self.abandon(ticket).await;
        }
        let stored = self
            .store
            .complete(&ticket.request, &ticket.token, &response)
            .await?;
        if !stored {
            tracing::warn!(scope = %ticket.request.scope, "an idempotency claim was taken over before its answer was stored");
        }
        Ok(())
    }

    /// Releases the claim without an answer, so that a retry runs.
    pub async fn abandon(&self, ticket: &Ticket) -> Result<(), RepoError> {
        self.store.release(&ticket.request, &ticket.token).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{clock, now};
    use crate::ports::MockIdempotencyStore;

    fn request() -> IdempotentRequest {
        IdempotentRequest {
            scope: "key:1".into(),
            key: "k-1".into(),
            fingerprint: fingerprint("POST", "/api/v1/bots", b"{}"),
        }
    }

    fn answer(status: u16, body: Option<&str>) -> StoredResponse {
        StoredResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.map(|b| b.as_bytes().to_vec()),
        }
    }

    fn with_claim(claim: Claim) -> Idempotency {
        let mut store = MockIdempotencyStore::new();
        store
            .expect_claim()
            .withf(|request, times| {
                *request == self::request()
                    && times.now == now()
                    && times.held_until == now() + TimeDelta::minutes(5)
                    && times.expires_at == now() + TimeDelta::hours(24)
            })
            .times(1)
            .return_once(move |_, _| Ok(claim));
        Idempotency::new(Arc::new(store), clock())
    }

    fn ticket() -> Ticket {
        Ticket {
            request: request(),
            token: ClaimToken("t".into()),
        }
    }

    /// What `begin` says when the store's claim finds `claim`.
    async fn begun(claim: Claim) -> Begin {
        with_claim(claim).begin(request()).await.unwrap()
    }

    #[tokio::test]
    async fn each_claim_outcome_says_what_to_do() {
        let token = ClaimToken("t".into());
        assert_eq!(
            begun(Claim::Acquired(token)).await,
            Begin::Proceed(ticket())
        );
        let replay = answer(201, Some("{}"));
        let completed = Claim::Completed(replay.clone());
        assert_eq!(begun(completed).await, Begin::Replay(replay));
        let withheld = Claim::Completed(answer(201, None));
        assert_eq!(begun(withheld).await, Begin::Withheld);
        assert_eq!(begun(Claim::InProgress).await, Begin::InUse);
        assert_eq!(begun(Claim::Mismatch).await, Begin::Reused);
    }

    #[tokio::test]
    async fn answers_are_stored_but_server_errors_release_the_claim() {
        let mut store = MockIdempotencyStore::new();
        let created = answer(201, Some("{}"));
        let expected = created.clone();
        store
            .expect_complete()
            .withf(move |request, token, response| {
                *request == self::request() && token.0 == "t" && *response == expected
            })
            .times(1)
            .returning(|_, _, _| Ok(true));
        store
            .expect_release()
            .withf(|request, token| *request == self::request() && token.0 == "t")
            .times(1)
            .returning(|_, _| Ok(true));
        let idempotency = Idempotency::new(Arc::new(store), clock());
        idempotency.finish(&ticket(), created).await.unwrap();
        let failed = answer(503, Some("{}"));
        idempotency.finish(&ticket(), failed).await.unwrap();
    }

    #[test]
    fn keys_are_1_to_255_visible_ascii_characters() {
        for good in [
            "a",
            "!~",
            "0193b8e2-7f4c-7d2a-9e1b-3c5d7f9a1b2c",
            &"k".repeat(255),
        ] {
            assert_eq!(valid_key(good).unwrap(), good);
        }
        for bad in ["", " ", "a b", "tab\t", "ключ", "é", &"k".repeat(256)] {
            let err = valid_key(bad).unwrap_err();
            assert_eq!(err.field, "Idempotency-Key", "{bad:?}");
        }
    }

    #[test]
    fn fingerprints_tell_method_path_and_body_apart() {
        let base = fingerprint("POST", "/api/v1/bots", b"{}");
        assert_eq!(base.len(), 64);
        assert_eq!(base, fingerprint("POST", "/api/v1/bots", b"{}"));
        for other in [
            fingerprint("PUT", "/api/v1/bots", b"{}"),
            fingerprint("POST", "/api/v1/bot", b"{}"),
            fingerprint("POST", "/api/v1/bots", b"{ }"),
            fingerprint("POST", "/api/v1/bots\n{", b"}"),
        ] {
            assert_ne!(base, other);
        }
    }
}
