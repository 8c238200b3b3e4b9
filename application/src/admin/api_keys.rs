//! Use cases: issue, list and revoke admin API keys (stored as SHA-256 digests), and
//! authenticate a bearer key.
//!
//! A key is `sb_` followed by 64 hex digits (256 random bits). Its first [`SHOWN_PREFIX_LEN`]
//! characters are stored in clear as its prefix: a presented key is looked up by that prefix,
//! then its digest is compared with each candidate's in constant time.
//!
//! A key's last use is written at most once per [`LAST_USE_INTERVAL_SECS`]: authenticating is
//! on the path of every admin request, and most of them would otherwise write.

use crate::ports::Clock;
use crate::secrets::{self, digests_equal};
use chrono::{DateTime, TimeDelta, Utc};
use domain::repositories::ApiKeyRepository;
use domain::{
    ApiKey, ApiKeyId, Page, PageRequest, RepoError, Role, Secret, TextRule, ValidationError,
};
use rand::RngCore;
use std::sync::Arc;
use thiserror::Error;

const KEY_PREFIX: &str = "sb_";
const KEY_HEX_LEN: usize = 64;
/// `sb_` and 7 hex digits: 28 of the key's 256 random bits, enough to tell keys apart.
pub const SHOWN_PREFIX_LEN: usize = 10;
/// The precision of a key's `last_used_at`, in seconds.
pub const LAST_USE_INTERVAL_SECS: i64 = 60;
const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Error)]
pub enum ApiKeyError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("API key {0} not found")]
    NotFound(ApiKeyId),
    #[error(transparent)]
    Storage(#[from] RepoError),
}

/// The stored form of a key: its SHA-256 digest in hex.
pub fn hash_key(key: &str) -> String {
    hex::encode(secrets::digest(key))
}

fn generate_key() -> String {
    let mut bytes = [0u8; KEY_HEX_LEN / 2];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", hex::encode(bytes))
}

/// The stored prefix of a presented key, or `None` when it cannot be a key we issued.
fn lookup_prefix(presented: &str) -> Option<&str> {
    let digits = presented.strip_prefix(KEY_PREFIX)?;
    let well_formed = digits.len() == KEY_HEX_LEN
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    well_formed.then(|| &presented[..SHOWN_PREFIX_LEN])
}

/// Whether a use at `now` should be written, given the last one recorded.
fn use_is_due(last_used_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_used_at.is_none_or(|last| now - last >= TimeDelta::seconds(LAST_USE_INTERVAL_SECS))
}

/// The trimmed name: 1-100 characters, no control characters (it is printed in listings).
fn valid_name(name: &str) -> Result<&str, ValidationError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ValidationError::new("name", "must be 1-100 characters"));
    }
    TextRule::SingleLine.check("name", name)?;
    Ok(name)
}

/// Who an authenticated request comes from: the key's id and name (none for the bootstrap
/// key) and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub key_id: Option<ApiKeyId>,
    pub name: Option<String>,
    pub role: Role,
}

impl Principal {
    /// A stable name for the caller, to keep callers' records apart: `key:<id>`, or
    /// `bootstrap` for the configured bootstrap key.
    pub fn scope(&self) -> String {
        self.key_id
            .map_or_else(|| "bootstrap".to_owned(), |id| format!("key:{id}"))
    }
}

/// A new key: the stored record, and the key itself, to be shown once.
pub struct IssuedKey {
    pub record: ApiKey,
    pub key: Secret,
}

pub struct ApiKeys {
    keys: Arc<dyn ApiKeyRepository>,
    clock: Arc<dyn Clock>,
    /// The digest of `security.bootstrap_api_key`, accepted as an admin key when set.
    bootstrap: Option<[u8; 32]>,
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
            bootstrap: bootstrap
                .filter(|s| !s.is_empty())
                .map(|s| secrets::digest(s.expose())),
        }
    }

    /// Stores a new key named `name`; `expires_at`, when given, must be in the future.
    #[tracing::instrument(skip_all, fields(role = role.as_str()))]
    pub async fn issue(
        &self,
        name: &str,
        role: Role,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<IssuedKey, ApiKeyError> {
        let now = self.clock.now();
        let name = valid_name(name)?;
        if expires_at.is_some_and(|expiry| expiry <= now) {
            return Err(ValidationError::new("expires_at", "must be in the future").into());
        }
        let key = generate_key();
        let record = ApiKey {
            id: ApiKeyId::new(),
            name: name.to_owned(),
            role,
            key_hash: hash_key(&key),
            prefix: key[..SHOWN_PREFIX_LEN].to_owned(),
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        self.keys.insert(&record).await?;
        tracing::info!(api_key_id = %record.id, "API key issued");
        Ok(IssuedKey {
            record,
            key: Secret::new(key),
        })
    }

    /// Whether `security.bootstrap_api_key` is configured.
    pub fn has_bootstrap(&self) -> bool {
        self.bootstrap.is_some()
    }

    /// Whether a stored admin key is usable now (neither revoked nor expired).
    pub async fn any_active_admin(&self) -> Result<bool, RepoError> {
        let now = self.clock.now();
        let mut page = PageRequest::new(None, Some(PageRequest::MAX_LIMIT));
        loop {
            let keys = self.keys.list(&page).await?;
            if keys
                .items
                .iter()
                .any(|key| key.role == Role::Admin && key.is_active(now))
            {
                return Ok(true);
            }
            let Some(cursor) = keys.next_cursor else {
                return Ok(false);
            };
            page = PageRequest::new(Some(cursor), Some(PageRequest::MAX_LIMIT));
        }
    }

    /// The stored keys, oldest first (digests included: callers show only what they should).
    pub async fn list(&self, page: &PageRequest) -> Result<Page<ApiKey>, RepoError> {
        self.keys.list(page).await
    }

    /// Revokes a key from now on; revoking it again is harmless.
    #[tracing::instrument(skip_all, fields(api_key_id = %id))]
    pub async fn revoke(&self, id: ApiKeyId) -> Result<(), ApiKeyError> {
        if !self.keys.revoke(id, self.clock.now()).await? {
            return Err(ApiKeyError::NotFound(id));
        }
        tracing::info!("API key revoked");
        Ok(())
    }

    /// Who presents this key, or `None` when it is unknown, revoked or expired.
    pub async fn authenticate(&self, presented: &str) -> Result<Option<Principal>, RepoError> {
        let presented_digest = secrets::digest(presented);
        if self.is_bootstrap(&presented_digest) {
            return Ok(Some(Principal {
                key_id: None,
                name: None,
                role: Role::Admin,
            }));
        }
        let Some(prefix) = lookup_prefix(presented) else {
            return Ok(None);
        };
        let digest = hex::encode(presented_digest);
        let candidates = self.keys.find_by_prefix(prefix).await?;
        let Some(key) = candidates
            .into_iter()
            .find(|key| digests_equal(key.key_hash.as_bytes(), digest.as_bytes()))
        else {
            return Ok(None);
        };
        let now = self.clock.now();
        if !key.is_active(now) {
            return Ok(None);
        }
        self.record_use(&key, now).await;
        Ok(Some(Principal {
            key_id: Some(key.id),
            name: Some(key.name.clone()),
            role: key.role,
        }))
    }

    /// Writes the key's last use when the recorded one is older than the interval. A failure is
    /// logged, not returned: the request was authenticated, and the next one retries.
    async fn record_use(&self, key: &ApiKey, now: DateTime<Utc>) {
        if !use_is_due(key.last_used_at, now) {
            return;
        }
        if let Err(err) = self.keys.touch_last_used(key.id, now).await {
            tracing::warn!(api_key_id = %key.id, %err, "could not record the key's last use");
        }
    }

    fn is_bootstrap(&self, presented_digest: &[u8; 32]) -> bool {
        self.bootstrap
            .is_some_and(|expected| digests_equal(&expected, presented_digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{clock, now};
    use domain::repositories::MockApiKeyRepository;
    use mockall::predicate::eq;
    use std::sync::Mutex;

    fn stored(key: &str, role: Role) -> ApiKey {
        ApiKey {
            id: ApiKeyId::new(),
            name: "ci".into(),
            role,
            key_hash: hash_key(key),
            prefix: key[..SHOWN_PREFIX_LEN].to_owned(),
            created_at: now() - TimeDelta::days(1),
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        }
    }

    /// A well-formed key whose 64 digits are all `digit`.
    fn key_of(digit: char) -> String {
        format!("sb_{}", digit.to_string().repeat(KEY_HEX_LEN))
    }

    /// A repository holding `keys`, found by prefix; expects no write unless told.
    fn holding(keys: Vec<ApiKey>) -> MockApiKeyRepository {
        let mut repo = MockApiKeyRepository::new();
        repo.expect_find_by_prefix().returning(move |prefix| {
            Ok(keys
                .iter()
                .filter(|k| k.prefix == prefix)
                .cloned()
                .collect())
        });
        repo
    }

    /// Expects exactly one write of the key's last use, at `now()`.
    fn expect_one_use(repo: &mut MockApiKeyRepository, id: ApiKeyId) {
        repo.expect_touch_last_used()
            .with(eq(id), eq(now()))
            .times(1)
            .returning(|_, _| Ok(()));
    }

    fn api_keys(repo: MockApiKeyRepository) -> ApiKeys {
        ApiKeys::new(Arc::new(repo), clock(), None)
    }

    /// The role a presented key authenticates with, if any.
    async fn role(keys: &ApiKeys, presented: &str) -> Option<Role> {
        keys.authenticate(presented).await.unwrap().map(|p| p.role)
    }

    #[tokio::test]
    async fn an_issued_key_is_stored_only_as_its_digest_and_authenticates() {
        let saved: Arc<Mutex<Vec<ApiKey>>> = Arc::default();
        let mut repo = MockApiKeyRepository::new();
        let sink = saved.clone();
        repo.expect_insert().returning(move |key| {
            sink.lock().unwrap().push(key.clone());
            Ok(())
        });
        let source = saved.clone();
        repo.expect_find_by_prefix().returning(move |prefix| {
            let keys = source.lock().unwrap();
            Ok(keys
                .iter()
                .filter(|k| k.prefix == prefix)
                .cloned()
                .collect())
        });
        repo.expect_touch_last_used()
            .times(1)
            .returning(|_, _| Ok(()));
        let keys = api_keys(repo);

        let expiry = now() + TimeDelta::days(30);
        let issued = keys
            .issue(" ci ", Role::Operator, Some(expiry))
            .await
            .unwrap();
        let key = issued.key.expose().to_owned();
        assert!(lookup_prefix(&key).is_some(), "{key}");
        assert_eq!(issued.record.name, "ci");
        assert_eq!(issued.record.expires_at, Some(expiry));
        assert_eq!(issued.record.created_at, now());
        assert_eq!(issued.record.key_hash, hash_key(&key));
        assert_eq!(saved.lock().unwrap().clone(), vec![issued.record.clone()]);
        assert!(key.starts_with(&issued.record.prefix));
        let principal = keys.authenticate(&key).await.unwrap().unwrap();
        assert_eq!(principal.role, Role::Operator);
        assert_eq!(principal.key_id, Some(issued.record.id));
        assert_eq!(principal.scope(), format!("key:{}", issued.record.id));
        let last = if key.ends_with('0') { "1" } else { "0" };
        let wrong = format!("{}{last}", &key[..key.len() - 1]);
        assert_eq!(role(&keys, &wrong).await, None);
    }

    #[tokio::test]
    async fn two_keys_sharing_a_prefix_are_told_apart_by_digest() {
        let admin = key_of('a');
        let mut viewer = admin.clone();
        viewer.replace_range(66.., "b");
        let mut repo = holding(vec![
            stored(&admin, Role::Admin),
            stored(&viewer, Role::Viewer),
        ]);
        repo.expect_touch_last_used().returning(|_, _| Ok(()));
        let keys = api_keys(repo);
        assert_eq!(role(&keys, &viewer).await, Some(Role::Viewer));
        assert_eq!(role(&keys, &admin).await, Some(Role::Admin));
    }

    #[tokio::test]
    async fn revoked_keys_are_refused_and_not_touched() {
        let key = key_of('1');
        let mut revoked = stored(&key, Role::Admin);
        revoked.revoked_at = Some(now() - TimeDelta::seconds(1));
        let mut repo = holding(vec![revoked]);
        repo.expect_touch_last_used().never();
        assert_eq!(role(&api_keys(repo), &key).await, None);
    }

    #[tokio::test]
    async fn expired_keys_are_refused_and_unexpired_ones_accepted() {
        let (old, fresh) = (key_of('2'), key_of('3'));
        let mut expired = stored(&old, Role::Admin);
        expired.expires_at = Some(now());
        let mut expiring = stored(&fresh, Role::Viewer);
        expiring.expires_at = Some(now() + TimeDelta::seconds(1));
        let expiring_id = expiring.id;
        let mut repo = holding(vec![expired, expiring]);
        expect_one_use(&mut repo, expiring_id);
        let keys = api_keys(repo);
        assert_eq!(role(&keys, &old).await, None);
        assert_eq!(role(&keys, &fresh).await, Some(Role::Viewer));
    }

    #[tokio::test]
    async fn the_last_use_is_written_at_most_once_a_minute() {
        let (recent, stale) = (key_of('4'), key_of('5'));
        let mut used_recently = stored(&recent, Role::Viewer);
        used_recently.last_used_at = Some(now() - TimeDelta::seconds(LAST_USE_INTERVAL_SECS - 1));
        let mut used_long_ago = stored(&stale, Role::Viewer);
        used_long_ago.last_used_at = Some(now() - TimeDelta::seconds(LAST_USE_INTERVAL_SECS));
        let stale_id = used_long_ago.id;
        let mut repo = holding(vec![used_recently, used_long_ago]);
        expect_one_use(&mut repo, stale_id);
        let keys = api_keys(repo);
        assert_eq!(role(&keys, &recent).await, Some(Role::Viewer));
        assert_eq!(role(&keys, &stale).await, Some(Role::Viewer));
    }

    #[tokio::test]
    async fn a_failed_last_use_write_still_authenticates() {
        let key = key_of('6');
        let mut repo = holding(vec![stored(&key, Role::Operator)]);
        repo.expect_touch_last_used()
            .returning(|_, _| Err(RepoError::Unavailable("busy".into())));
        assert_eq!(role(&api_keys(repo), &key).await, Some(Role::Operator));
    }

    #[tokio::test]
    async fn malformed_keys_never_reach_the_repository() {
        let mut repo = MockApiKeyRepository::new();
        repo.expect_find_by_prefix().never();
        let keys = api_keys(repo);
        let upper = key_of('A');
        let short = &key_of('7')[..66];
        let long = format!("{}0", key_of('7'));
        let foreign = key_of('7').replacen("sb_", "sk_", 1);
        for presented in ["", "sb_", short, &long, &upper, &foreign, "ßb_ü"] {
            assert_eq!(role(&keys, presented).await, None, "{presented}");
        }
    }

    #[tokio::test]
    async fn the_bootstrap_key_is_an_admin() {
        let mut repo = MockApiKeyRepository::new();
        repo.expect_find_by_prefix().returning(|_| Ok(Vec::new()));
        let keys = ApiKeys::new(Arc::new(repo), clock(), Some(Secret::new("boot")));
        let bootstrap = keys.authenticate("boot").await.unwrap().unwrap();
        assert_eq!(bootstrap.role, Role::Admin);
        assert_eq!(
            (bootstrap.key_id, bootstrap.scope().as_str()),
            (None, "bootstrap")
        );
        assert_eq!(role(&keys, "boots").await, None);
        assert_eq!(keys.authenticate(&key_of('8')).await.unwrap(), None);
    }

    #[tokio::test]
    async fn blank_or_control_names_and_past_expiries_are_refused_before_storing() {
        let mut repo = MockApiKeyRepository::new();
        repo.expect_insert().never();
        let keys = api_keys(repo);
        let field = |result: Result<IssuedKey, ApiKeyError>| match result {
            Err(ApiKeyError::Invalid(err)) => err.field,
            _ => panic!("expected a validation error"),
        };
        assert_eq!(field(keys.issue("  ", Role::Viewer, None).await), "name");
        let long = "n".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(field(keys.issue(&long, Role::Viewer, None).await), "name");
        for forged in ["ci\u{1b}[31m", "ci\r\nFAKE", "ci\0"] {
            assert_eq!(field(keys.issue(forged, Role::Viewer, None).await), "name");
        }
        let past = keys.issue("ci", Role::Viewer, Some(now())).await;
        assert_eq!(field(past), "expires_at");
    }

    #[tokio::test]
    async fn revoking_an_unknown_key_is_not_found() {
        let known = ApiKeyId::new();
        let mut repo = MockApiKeyRepository::new();
        repo.expect_revoke()
            .withf(|_, at| *at == now())
            .returning(move |id, _| Ok(id == known));
        let keys = api_keys(repo);
        keys.revoke(known).await.unwrap();
        let unknown = ApiKeyId::new();
        assert!(matches!(
            keys.revoke(unknown).await,
            Err(ApiKeyError::NotFound(id)) if id == unknown
        ));
    }
}
