//! A short-lived in-memory copy of the enabled webhooks, so that the fan-out does not read them for every batch of events: writes through it forget the copy at once; other replicas' writes, and webhooks disabled by failing, are seen within [`ENABLED_TTL`].

use crate::ports::Clock;
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use domain::repositories::WebhookRepository;
use domain::{Page, PageRequest, RepoError, Webhook, WebhookId};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// How long the enabled webhooks are answered from memory.
pub const ENABLED_TTL: TimeDelta = TimeDelta::seconds(2);

#[derive(Default)]
struct State {
    enabled: Option<(DateTime<Utc>, Vec<Webhook>)>,
    /// Bumped by every write, so that a read that raced a write does not keep the old list.
    generation: u64,
}

/// A [`WebhookRepository`] that keeps `enabled` for [`ENABLED_TTL`].
pub struct CachedWebhooks {
    inner: Arc<dyn WebhookRepository>,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

impl CachedWebhooks {
    pub fn new(inner: Arc<dyn WebhookRepository>, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            clock,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn forget(&self) {
        let mut state = self.state();
        state.enabled = None;
        state.generation += 1;
    }
}

#[async_trait]
impl WebhookRepository for CachedWebhooks {
    async fn insert(&self, webhook: &Webhook) -> Result<(), RepoError> {
        let done = self.inner.insert(webhook).await;
        self.forget();
        done
    }

    async fn get(&self, id: WebhookId) -> Result<Option<Webhook>, RepoError> {
        self.inner.get(id).await
    }

    async fn list(&self, page: &PageRequest) -> Result<Page<Webhook>, RepoError> {
        self.inner.list(page).await
    }

    async fn enabled(&self) -> Result<Vec<Webhook>, RepoError> {
        let now = self.clock.now();
        let generation = {
            let state = self.state();
            if let Some((at, enabled)) = &state.enabled {
                if now - *at < ENABLED_TTL && *at <= now {
                    return Ok(enabled.clone());
                }
            }
            state.generation
        };
        let enabled = self.inner.enabled().await?;
        let mut state = self.state();
        if state.generation == generation {
            state.enabled = Some((now, enabled.clone()));
        }
        Ok(enabled)
    }

    async fn update(&self, webhook: &Webhook) -> Result<bool, RepoError> {
        let done = self.inner.update(webhook).await;
        self.forget();
        done
    }

    async fn delete(&self, id: WebhookId) -> Result<bool, RepoError> {
        let done = self.inner.delete(id).await;
        self.forget();
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::now;
    use crate::ports::MockClock;
    use domain::repositories::MockWebhookRepository;
    use std::sync::atomic::{AtomicI64, Ordering};

    #[tokio::test]
    async fn the_enabled_webhooks_are_read_once_per_ttl_and_again_after_a_write() {
        let mut inner = MockWebhookRepository::new();
        inner.expect_enabled().times(3).returning(|| Ok(Vec::new()));
        inner.expect_delete().returning(|_| Ok(true));
        let seconds = Arc::new(AtomicI64::new(0));
        let mut clock = MockClock::new();
        let elapsed = seconds.clone();
        clock
            .expect_now()
            .returning(move || now() + TimeDelta::seconds(elapsed.load(Ordering::SeqCst)));
        let cached = CachedWebhooks::new(Arc::new(inner), Arc::new(clock));
        cached.enabled().await.unwrap();
        cached.enabled().await.unwrap();
        seconds.store(ENABLED_TTL.num_seconds(), Ordering::SeqCst);
        cached.enabled().await.unwrap();
        cached.delete(WebhookId::new()).await.unwrap();
        cached.enabled().await.unwrap();
    }
}
