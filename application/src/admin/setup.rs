//! Use case: the first admin key of a fresh server, traded once for the setup token it logs at start.

use crate::api_keys::{ApiKeyError, ApiKeys, IssuedKey};
use crate::ports::Clock;
use crate::secrets;
use chrono::{DateTime, Duration, Utc};
use domain::{RepoError, Role, Secret};
use rand::RngCore;
use std::sync::{Arc, Mutex, PoisonError};

/// How long a setup token may be used.
pub const SETUP_TOKEN_LIFETIME: Duration = Duration::hours(24);

/// The name of the admin key a setup token makes.
pub const FIRST_ADMIN_NAME: &str = "first admin";

/// A minted token: its digest (the token itself is only logged) and when it dies.
struct SetupToken {
    digest: [u8; 32],
    expires_at: DateTime<Utc>,
}

pub struct FirstAdmin {
    keys: Arc<ApiKeys>,
    clock: Arc<dyn Clock>,
    token: Mutex<Option<SetupToken>>,
}

impl FirstAdmin {
    pub fn new(keys: Arc<ApiKeys>, clock: Arc<dyn Clock>) -> Self {
        Self {
            keys,
            clock,
            token: Mutex::new(None),
        }
    }

    /// A new setup token, valid for a day, when nobody can sign in yet: no admin key is
    /// stored and no bootstrap key is configured. `None` otherwise.
    pub async fn open(&self) -> Result<Option<Secret>, RepoError> {
        if self.keys.has_bootstrap() || self.keys.any_active_admin().await? {
            return Ok(None);
        }
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        *self.slot() = Some(SetupToken {
            digest: secrets::digest(&token),
            expires_at: self.clock.now() + SETUP_TOKEN_LIFETIME,
        });
        Ok(Some(Secret::new(token)))
    }

    /// The first admin key, for the setup token; `None` when the token is wrong, used,
    /// expired, or an admin key exists already. A token that makes a key dies with it.
    #[tracing::instrument(skip_all)]
    pub async fn trade(&self, presented: &str) -> Result<Option<IssuedKey>, ApiKeyError> {
        let Some(token) = self.take_if_valid(presented) else {
            return Ok(None);
        };
        if self.keys.any_active_admin().await? {
            return Ok(None);
        }
        match self.keys.issue(FIRST_ADMIN_NAME, Role::Admin, None).await {
            Ok(issued) => {
                tracing::info!(api_key_id = %issued.record.id, "the setup token made the first admin key");
                Ok(Some(issued))
            }
            Err(error) => {
                // Not spent: the next try may succeed once storage is back.
                *self.slot() = Some(token);
                Err(error)
            }
        }
    }

    /// The token, taken out so that no one else can use it, when `presented` is it and it
    /// is still alive.
    fn take_if_valid(&self, presented: &str) -> Option<SetupToken> {
        let mut slot = self.slot();
        let token = slot.as_ref()?;
        let matches = secrets::digests_equal(&token.digest, &secrets::digest(presented));
        if !matches || self.clock.now() >= token.expires_at {
            return None;
        }
        slot.take()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<SetupToken>> {
        self.token.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::now;
    use crate::ports::MockClock;
    use domain::repositories::MockApiKeyRepository;
    use domain::{ApiKey, Page};

    /// The use case over a store of `stored` keys that keeps what is inserted, its clock
    /// reading `time`.
    fn first_admin(bootstrap: Option<&str>, time: &Arc<Mutex<DateTime<Utc>>>) -> FirstAdmin {
        let mut keys = MockApiKeyRepository::new();
        let held: Arc<Mutex<Vec<ApiKey>>> = Arc::default();
        let listed = held.clone();
        keys.expect_list().returning(move |_| {
            let items = listed.lock().unwrap().clone();
            Ok(Page {
                items,
                next_cursor: None,
            })
        });
        keys.expect_insert().returning(move |key| {
            held.lock().unwrap().push(key.clone());
            Ok(())
        });
        let mut clock = MockClock::new();
        let time = time.clone();
        clock.expect_now().returning(move || *time.lock().unwrap());
        let clock: Arc<dyn Clock> = Arc::new(clock);
        let keys = ApiKeys::new(Arc::new(keys), clock.clone(), bootstrap.map(Secret::new));
        FirstAdmin::new(Arc::new(keys), clock)
    }

    fn clock_at_now() -> Arc<Mutex<DateTime<Utc>>> {
        Arc::new(Mutex::new(now()))
    }

    #[tokio::test]
    async fn the_token_makes_exactly_one_admin_key() {
        let time = clock_at_now();
        let setup = first_admin(None, &time);
        let token = setup.open().await.unwrap().expect("a fresh server's token");
        *time.lock().unwrap() += Duration::hours(23);
        assert!(setup.trade("not the token").await.unwrap().is_none());
        let issued = setup
            .trade(token.expose())
            .await
            .unwrap()
            .expect("the first key");
        assert_eq!(issued.record.role, Role::Admin);
        assert!(setup.trade(token.expose()).await.unwrap().is_none(), "used");
    }

    #[tokio::test]
    async fn an_expired_token_is_refused() {
        let time = clock_at_now();
        let setup = first_admin(None, &time);
        let token = setup.open().await.unwrap().unwrap();
        *time.lock().unwrap() += SETUP_TOKEN_LIFETIME;
        assert!(setup.trade(token.expose()).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn no_token_when_someone_can_sign_in_already() {
        let time = clock_at_now();
        let configured = first_admin(Some("sb_bootstrap"), &time);
        assert!(configured.open().await.unwrap().is_none());
        let admin = first_admin(None, &time);
        let token = admin.open().await.unwrap().unwrap();
        admin.trade(token.expose()).await.unwrap().unwrap();
        assert!(admin.open().await.unwrap().is_none(), "an admin key exists");
    }
}
