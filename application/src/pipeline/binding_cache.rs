//! A short-lived in-memory cache in front of the binding repository, for the webhook path.
//!
//! `get` answers from memory for `ttl`, found and not found alike: a flood of webhooks for an
//! unbound bot reaches the store once per `ttl`. Errors are not cached. Writes through this
//! cache go to the inner repository and forget that key in this process at once. Other
//! replicas, and writes that bypass this cache (deleting a bot deletes its bindings through
//! the bot repository), are seen after at most `ttl`.

use crate::ports::Clock;
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use domain::repositories::BindingRepository;
use domain::{BotId, PlatformBinding, PlatformKind, RepoError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How many keys are held before expired ones are evicted (or, if all are fresh, all are).
const CAPACITY: usize = 10_000;

type Key = (BotId, PlatformKind);

/// What the store said about one key, and when.
struct Entry {
    binding: Option<PlatformBinding>,
    stored_at: DateTime<Utc>,
}

#[derive(Default)]
struct State {
    entries: HashMap<Key, Entry>,
    /// Bumped by every write, so that a read that raced a write does not cache the old value.
    generation: u64,
}

/// A [`BindingRepository`] that caches `get` for `ttl` (zero disables the cache).
pub struct CachedBindings {
    inner: Arc<dyn BindingRepository>,
    clock: Arc<dyn Clock>,
    ttl: TimeDelta,
    capacity: usize,
    state: Mutex<State>,
}

impl CachedBindings {
    pub fn new(inner: Arc<dyn BindingRepository>, clock: Arc<dyn Clock>, ttl: Duration) -> Self {
        Self {
            inner,
            clock,
            ttl: TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX),
            capacity: CAPACITY,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_fresh(&self, entry: &Entry, now: DateTime<Utc>) -> bool {
        let age = now - entry.stored_at;
        age >= TimeDelta::zero() && age < self.ttl
    }

    /// The cached answer when fresh, else the generation to pass to [`Self::remember`].
    fn cached(&self, key: Key) -> Result<Option<PlatformBinding>, u64> {
        let now = self.clock.now();
        let state = self.state();
        match state.entries.get(&key) {
            Some(entry) if self.is_fresh(entry, now) => Ok(entry.binding.clone()),
            _ => Err(state.generation),
        }
    }

    /// Caches the store's answer, unless a write happened since `generation` was read.
    fn remember(&self, key: Key, binding: Option<PlatformBinding>, generation: u64) {
        let now = self.clock.now();
        let mut state = self.state();
        if state.generation != generation {
            return;
        }
        if state.entries.len() >= self.capacity {
            self.evict(&mut state, now);
        }
        state.entries.insert(
            key,
            Entry {
                binding,
                stored_at: now,
            },
        );
    }

    /// Drops expired entries; when all are fresh, drops them all.
    fn evict(&self, state: &mut State, now: DateTime<Utc>) {
        state.entries.retain(|_, entry| self.is_fresh(entry, now));
        if state.entries.len() >= self.capacity {
            state.entries.clear();
        }
    }

    fn forget(&self, key: Key) {
        let mut state = self.state();
        state.generation = state.generation.wrapping_add(1);
        state.entries.remove(&key);
    }
}

#[async_trait]
impl BindingRepository for CachedBindings {
    async fn upsert(&self, binding: &PlatformBinding) -> Result<(), RepoError> {
        let result = self.inner.upsert(binding).await;
        self.forget((binding.bot_id, binding.kind()));
        result
    }

    async fn get(
        &self,
        bot_id: BotId,
        kind: PlatformKind,
    ) -> Result<Option<PlatformBinding>, RepoError> {
        let key = (bot_id, kind);
        let generation = match self.cached(key) {
            Ok(binding) => return Ok(binding),
            Err(generation) => generation,
        };
        let binding = self.inner.get(bot_id, kind).await?;
        self.remember(key, binding.clone(), generation);
        Ok(binding)
    }

    /// Not cached: only the admin API lists bindings.
    async fn list_for_bot(&self, bot_id: BotId) -> Result<Vec<PlatformBinding>, RepoError> {
        self.inner.list_for_bot(bot_id).await
    }

    /// Not cached: the gateway supervisor wants the store's current answer.
    async fn list_by_platform(
        &self,
        kind: PlatformKind,
    ) -> Result<Vec<PlatformBinding>, RepoError> {
        self.inner.list_by_platform(kind).await
    }

    async fn delete(&self, bot_id: BotId, kind: PlatformKind) -> Result<bool, RepoError> {
        let result = self.inner.delete(bot_id, kind).await;
        self.forget((bot_id, kind));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{now, World};
    use crate::ports::MockClock;
    use domain::repositories::MockBindingRepository;

    const TTL: Duration = Duration::from_secs(5);

    /// A clock that stands still until the test moves it.
    fn clock() -> (Arc<MockClock>, Arc<Mutex<DateTime<Utc>>>) {
        let time = Arc::new(Mutex::new(now()));
        let reading = time.clone();
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .returning(move || *reading.lock().unwrap());
        (Arc::new(clock), time)
    }

    fn advance(time: &Mutex<DateTime<Utc>>, by: Duration) {
        *time.lock().unwrap() += TimeDelta::from_std(by).unwrap();
    }

    fn cache(inner: MockBindingRepository) -> (CachedBindings, Arc<Mutex<DateTime<Utc>>>) {
        let (clock, time) = clock();
        (CachedBindings::new(Arc::new(inner), clock, TTL), time)
    }

    /// An inner repository expected to be read `times` times, always finding `binding`.
    fn holding(binding: Option<PlatformBinding>, times: usize) -> MockBindingRepository {
        let mut inner = MockBindingRepository::new();
        inner
            .expect_get()
            .times(times)
            .returning(move |_, _| Ok(binding.clone()));
        inner
    }

    fn key(world: &World) -> (BotId, PlatformKind) {
        (world.bot.id, PlatformKind::Telegram)
    }

    #[tokio::test]
    async fn a_second_get_within_the_ttl_is_served_from_memory() {
        let world = World::new();
        let (cache, time) = cache(holding(Some(world.binding.clone()), 1));
        let (bot, kind) = key(&world);
        assert_eq!(
            cache.get(bot, kind).await.unwrap(),
            Some(world.binding.clone())
        );
        advance(&time, TTL - Duration::from_millis(1));
        assert_eq!(cache.get(bot, kind).await.unwrap(), Some(world.binding));
    }

    #[tokio::test]
    async fn after_the_ttl_the_store_is_asked_again() {
        let world = World::new();
        let (cache, time) = cache(holding(Some(world.binding.clone()), 2));
        let (bot, kind) = key(&world);
        cache.get(bot, kind).await.unwrap();
        advance(&time, TTL);
        assert_eq!(cache.get(bot, kind).await.unwrap(), Some(world.binding));
    }

    #[tokio::test]
    async fn a_miss_is_cached_too() {
        let (cache, _) = cache(holding(None, 1));
        let bot = BotId::new();
        for _ in 0..3 {
            assert_eq!(cache.get(bot, PlatformKind::Telegram).await.unwrap(), None);
        }
    }

    #[tokio::test]
    async fn each_platform_of_a_bot_is_its_own_key() {
        let world = World::new();
        let (cache, _) = cache(holding(None, 2));
        cache
            .get(world.bot.id, PlatformKind::Telegram)
            .await
            .unwrap();
        cache
            .get(world.bot.id, PlatformKind::Discord)
            .await
            .unwrap();
        cache
            .get(world.bot.id, PlatformKind::Discord)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_error_is_not_cached() {
        let world = World::new();
        let mut inner = MockBindingRepository::new();
        let mut failed = false;
        let binding = world.binding.clone();
        inner.expect_get().times(2).returning(move |_, _| {
            if std::mem::replace(&mut failed, true) {
                Ok(Some(binding.clone()))
            } else {
                Err(RepoError::Unavailable("down".into()))
            }
        });
        let (cache, _) = cache(inner);
        let (bot, kind) = key(&world);
        assert!(cache.get(bot, kind).await.is_err());
        assert_eq!(cache.get(bot, kind).await.unwrap(), Some(world.binding));
    }

    #[tokio::test]
    async fn an_upsert_goes_through_and_forgets_the_key() {
        let world = World::new();
        let mut inner = holding(None, 2);
        inner.expect_upsert().times(1).returning(|_| Ok(()));
        let (cache, _) = cache(inner);
        let (bot, kind) = key(&world);
        cache.get(bot, kind).await.unwrap();
        cache.upsert(&world.binding).await.unwrap();
        cache.get(bot, kind).await.unwrap();
    }

    #[tokio::test]
    async fn a_delete_goes_through_and_forgets_the_key() {
        let world = World::new();
        let mut inner = holding(Some(world.binding.clone()), 2);
        inner.expect_delete().times(1).returning(|_, _| Ok(true));
        let (cache, _) = cache(inner);
        let (bot, kind) = key(&world);
        cache.get(bot, kind).await.unwrap();
        assert!(cache.delete(bot, kind).await.unwrap());
        cache.get(bot, kind).await.unwrap();
    }

    #[tokio::test]
    async fn a_failed_write_still_forgets_the_key() {
        let world = World::new();
        let mut inner = holding(None, 2);
        inner
            .expect_delete()
            .returning(|_, _| Err(RepoError::Unavailable("down".into())));
        let (cache, _) = cache(inner);
        let (bot, kind) = key(&world);
        cache.get(bot, kind).await.unwrap();
        assert!(cache.delete(bot, kind).await.is_err());
        cache.get(bot, kind).await.unwrap();
    }

    #[tokio::test]
    async fn listing_is_not_cached() {
        let world = World::new();
        let mut inner = MockBindingRepository::new();
        let binding = world.binding.clone();
        inner
            .expect_list_for_bot()
            .times(2)
            .returning(move |_| Ok(vec![binding.clone()]));
        let (cache, _) = cache(inner);
        for _ in 0..2 {
            assert_eq!(cache.list_for_bot(world.bot.id).await.unwrap().len(), 1);
        }
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_remembered() {
        let world = World::new();
        let (cache, _) = cache(MockBindingRepository::new());
        let key = key(&world);
        let Err(generation) = cache.cached(key) else {
            panic!("nothing is cached yet");
        };
        cache.forget(key);
        cache.remember(key, Some(world.binding), generation);
        assert!(cache.cached(key).is_err());
    }

    #[test]
    fn the_map_stays_within_its_capacity() {
        let (mut cache, time) = cache(MockBindingRepository::new());
        cache.capacity = 2;
        let remember = |cache: &CachedBindings| {
            let key = (BotId::new(), PlatformKind::Telegram);
            let generation = cache.cached(key).unwrap_err();
            cache.remember(key, None, generation);
        };
        remember(&cache);
        remember(&cache);
        advance(&time, TTL);
        remember(&cache);
        assert_eq!(cache.state().entries.len(), 1, "expired entries evicted");
        remember(&cache);
        remember(&cache);
        assert_eq!(cache.state().entries.len(), 1, "all fresh: cleared");
    }
}
