//! The lease port: exactly one holder across replicas for a long-lived duty (a poller, a gateway connection).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::RepoError;
use std::time::Duration;

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Leases: Send + Sync {
    /// Takes the lease `name` for `holder` until `now + ttl` when it is free, expired, or
    /// already `holder`'s (a renewal); `false` while another holder has it. A holder keeps the
    /// lease by acquiring it again before `ttl` has passed.
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool, RepoError>;

    /// Gives the lease up, if `holder` has it, so another holder need not wait for it to expire.
    async fn release(&self, name: &str, holder: &str) -> Result<(), RepoError>;
}
