//! Constant-time comparison of secrets (SHA-256 digests of both sides compared with `subtle`), and the HMAC keys that sign what the server hands out (visitor tokens, attachment links).

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// An HMAC-SHA256 key for one purpose, never shown.
#[derive(Clone)]
pub struct SigningKey([u8; 32]);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

impl SigningKey {
    /// The key for `purpose` derived from `secret` (a configured key, or the master key), so
    /// that one secret gives each purpose its own key.
    pub fn derived(secret: &[u8], purpose: &[u8]) -> Self {
        let mut mac = mac(secret);
        mac.update(purpose);
        Self(mac.finalize().into_bytes().into())
    }

    /// A random key: what it signs verifies only in this process, and only until it stops.
    pub fn random() -> Self {
        let mut key = [0; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self(key)
    }

    /// A MAC under this key, to feed what is signed.
    pub fn mac(&self) -> Hmac<Sha256> {
        mac(&self.0)
    }
}

/// An HMAC-SHA256 under `key`.
pub fn mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

/// The SHA-256 digest of a secret.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether two digests (or any byte strings) are equal, in time independent of their content.
pub fn digests_equal(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// Whether `presented` is `expected`, in time independent of where they differ or of the
/// presented length (digests are compared). An empty expected secret never matches.
pub fn secrets_match(expected: &str, presented: &str) -> bool {
    !expected.is_empty() && digests_equal(&digest(expected), &digest(presented))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_non_empty_secret_matches() {
        assert!(secrets_match("s3cr3t", "s3cr3t"));
        assert!(!secrets_match("s3cr3t", "s3cr3x"));
        assert!(!secrets_match("s3cr3t", "s3cr3t-and-more"));
        assert!(!secrets_match("", ""));
    }
}
