//! Constant-time comparison of secrets: SHA-256 digests of both sides compared with `subtle`.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

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
