//! Use cases: issue admin API keys (stored as SHA-256 digests) and authenticate a bearer key.

use crate::ports::Clock;
use domain::repositories::ApiKeyRepository;
use domain::{ApiKey, ApiKeyId, RepoError, Role, Secret, ValidationError};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Keys look like `sb_` followed by 64 hex digits (256 random bits).
const KEY_PREFIX: &str = "sb_";
const SHOWN_PREFIX_LEN: usize = 10;

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", hex::encode(bytes))
}

/// A new key: the stored record, and the key itself, to be shown once.
pub struct IssuedKey {
    pub record: ApiKey,
    pub key: Secret,
}

pub struct ApiKeys {
    keys: Arc<dyn ApiKeyRepository>,
    clock: Arc<dyn Clock>,
    /// `security.bootstrap_api_key`: accepted as an admin key when set.
    bootstrap: Option<Secret>,
}

impl ApiKeys {
    pub fn new(
        keys: Arc<dyn ApiKeyRepository>,
        clock: Arc<dyn Clock>,
        bootstrap: Option<Secret>,
    ) -> Self {
        Self {
            keys,
            clock,
            bootstrap: bootstrap.filter(|s| !s.is_empty()),
        }
    }

    #[tracing::instrument(skip_all, fields(role = role.as_str()))]
    pub async fn issue(
        &self,
        name: &str,
        role: Role,
    ) -> Result<Result<IssuedKey, ValidationError>, RepoError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Ok(Err(ValidationError::new(
                "name",
                "must be 1-100 characters",
            )));
        }
        let key = generate_key();
        let record = ApiKey {
            id: ApiKeyId::new(),
            name: name.to_owned(),
            role,
            key_hash: hash_key(&key),
            prefix: key.chars().take(SHOWN_PREFIX_LEN).collect(),
            created_at: self.clock.now(),
            revoked_at: None,
        };
        self.keys.insert(&record).await?;
        Ok(Ok(IssuedKey {
            record,
            key: Secret::new(key),
        }))
    }

    /// The role of a presented key, or `None` when it is unknown or revoked. Lookup is by
    /// digest, so the comparison never touches the key byte by byte.
    pub async fn authenticate(&self, presented: &str) -> Result<Option<Role>, RepoError> {
        if self.is_bootstrap(presented) {
            return Ok(Some(Role::Admin));
        }
        let found = self.keys.find_by_hash(&hash_key(presented)).await?;
        Ok(found.filter(ApiKey::is_active).map(|key| key.role))
    }

    fn is_bootstrap(&self, presented: &str) -> bool {
        self.bootstrap.as_ref().is_some_and(|expected| {
            let (a, b) = (
                Sha256::digest(presented.as_bytes()),
                Sha256::digest(expected.expose().as_bytes()),
            );
            bool::from(a.ct_eq(&b))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockClock;
    use chrono::Utc;
    use domain::repositories::MockApiKeyRepository;
    use std::sync::Mutex;

    fn clock() -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        Arc::new(clock)
    }

    #[tokio::test]
    async fn an_issued_key_is_stored_only_as_its_digest_and_authenticates() {
        let stored: Arc<Mutex<Option<ApiKey>>> = Arc::default();
        let mut repo = MockApiKeyRepository::new();
        let sink = stored.clone();
        repo.expect_insert().returning(move |key| {
            *sink.lock().unwrap() = Some(key.clone());
            Ok(())
        });
        let source = stored.clone();
        repo.expect_find_by_hash().returning(move |hash| {
            Ok(source
                .lock()
                .unwrap()
                .clone()
                .filter(|k| k.key_hash == hash))
        });
        let keys = ApiKeys::new(Arc::new(repo), clock(), None);

        let issued = keys.issue("ci", Role::Operator).await.unwrap().unwrap();
        let key = issued.key.expose().to_owned();
        assert!(key.starts_with("sb_") && key.len() == 67);
        assert_ne!(issued.record.key_hash, key);
        assert!(key.starts_with(&issued.record.prefix));
        assert_eq!(keys.authenticate(&key).await.unwrap(), Some(Role::Operator));
        assert_eq!(keys.authenticate("sb_wrong").await.unwrap(), None);
    }

    #[tokio::test]
    async fn revoked_keys_are_refused() {
        let mut repo = MockApiKeyRepository::new();
        repo.expect_find_by_hash().returning(|hash| {
            Ok(Some(ApiKey {
                id: ApiKeyId::new(),
                name: "old".into(),
                role: Role::Admin,
                key_hash: hash.to_owned(),
                prefix: "sb_".into(),
                created_at: Utc::now(),
                revoked_at: Some(Utc::now()),
            }))
        });
        let keys = ApiKeys::new(Arc::new(repo), clock(), None);
        assert_eq!(keys.authenticate("sb_anything").await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_bootstrap_key_is_an_admin_and_blank_names_are_refused() {
        let mut repo = MockApiKeyRepository::new();
        repo.expect_find_by_hash().returning(|_| Ok(None));
        let keys = ApiKeys::new(Arc::new(repo), clock(), Some(Secret::new("boot")));
        assert_eq!(keys.authenticate("boot").await.unwrap(), Some(Role::Admin));
        assert_eq!(keys.authenticate("boots").await.unwrap(), None);
        assert_eq!(
            keys.issue("  ", Role::Viewer)
                .await
                .unwrap()
                .err()
                .unwrap()
                .field,
            "name"
        );
    }
}
