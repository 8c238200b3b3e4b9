//! A lease port decorator that keeps `switchboard_leases_held` true: the leases of one kind this replica holds.

use crate::metrics::{self, LeaseKind};
use crate::ports::Leases;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::RepoError;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Passes every call on to `inner`, and counts a lease from the first successful acquire to
/// the release or the acquire that found it taken. A lease that expires unrenewed is counted
/// until its holder next tries it.
pub struct CountedLeases {
    inner: Arc<dyn Leases>,
    kind: LeaseKind,
    held: Mutex<HashSet<(String, String)>>,
}

impl CountedLeases {
    pub fn new(inner: Arc<dyn Leases>, kind: LeaseKind) -> Self {
        Self {
            inner,
            kind,
            held: Mutex::new(HashSet::new()),
        }
    }

    /// Notes whether `holder` has `name` now, moving the gauge on a change.
    fn note(&self, name: &str, holder: &str, held: bool) {
        let key = (name.to_owned(), holder.to_owned());
        let mut leases = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let changed = if held {
            leases.insert(key)
        } else {
            leases.remove(&key)
        };
        if changed {
            metrics::lease(self.kind, held);
        }
    }

    /// How many leases this decorator counts as held.
    pub fn held(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[async_trait]
impl Leases for CountedLeases {
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool, RepoError> {
        let acquired = self.inner.acquire(name, holder, now, ttl).await?;
        self.note(name, holder, acquired);
        Ok(acquired)
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), RepoError> {
        let released = self.inner.release(name, holder).await;
        self.note(name, holder, false);
        released
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::now;
    use crate::ports::MockLeases;

    #[tokio::test]
    async fn a_lease_counts_from_its_acquire_until_it_is_released_or_found_taken() {
        let mut inner = MockLeases::new();
        let mut answers = vec![true, true, false, true].into_iter();
        inner
            .expect_acquire()
            .returning(move |_, _, _, _| Ok(answers.next().unwrap()));
        inner.expect_release().returning(|_, _| Ok(()));
        let leases = CountedLeases::new(Arc::new(inner), LeaseKind::Poller);
        let ttl = Duration::from_secs(30);

        assert!(leases.acquire("poll:a", "me", now(), ttl).await.unwrap());
        assert!(leases.acquire("poll:a", "me", now(), ttl).await.unwrap());
        assert_eq!(leases.held(), 1, "a renewal is the same lease");
        assert!(!leases.acquire("poll:a", "me", now(), ttl).await.unwrap());
        assert_eq!(leases.held(), 0, "taken by another replica");
        assert!(leases.acquire("poll:b", "me", now(), ttl).await.unwrap());
        leases.release("poll:b", "me").await.unwrap();
        assert_eq!(leases.held(), 0);
    }
}
