//! Secrets sealed at rest: XChaCha20-Poly1305 under `security.master_key`, bound to their row; while a key is rotated, what the previous key sealed still opens.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::fmt;
use thiserror::Error;
use zeroize::Zeroizing;

/// What every sealed value starts with, whatever its version.
const SEALED: &str = "sealed:";
/// Version 1: `sealed:v1:` + standard base64 of the 24-byte nonce followed by the ciphertext
/// and its 16-byte tag.
const SEALED_V1: &str = "sealed:v1:";
const NONCE_LEN: usize = 24;
/// The master key's length in bytes.
pub const MASTER_KEY_LEN: usize = 32;

/// A `security.master_key` that is not standard base64 of 32 random bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("must be standard base64 of exactly {MASTER_KEY_LEN} random bytes ({0}); generate one with `openssl rand -base64 32`")]
pub struct InvalidMasterKey(&'static str);

/// Why a sealed value could not be opened or made; never carries the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SealError {
    #[error("it is sealed, but security.master_key is not set")]
    NoKey,
    #[error("it is sealed in an unknown format (a newer version of Switchboard?)")]
    UnknownFormat,
    #[error("it cannot be opened: security.master_key is not the key it was sealed with, or the value was altered or moved from another row")]
    Unopenable,
    #[error("no random nonce is available: {0}")]
    Random(String),
}

/// Seals and opens values with the master key, and opens what the previous one sealed while
/// it is rotated out. Cheap to clone; `Debug` never shows a key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
    /// `security.previous_master_key`: opens, never seals.
    previous: Option<XChaCha20Poly1305>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// Reads `security.master_key`: standard base64 (padded) of exactly 32 bytes, surrounding
    /// whitespace ignored. A key of one repeated byte (all zeros, say) is refused as not random.
    pub fn from_base64(text: &str) -> Result<Self, InvalidMasterKey> {
        let key = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| InvalidMasterKey("not standard base64"))?,
        );
        if key.len() != MASTER_KEY_LEN {
            return Err(InvalidMasterKey("wrong length"));
        }
        if key.iter().all(|b| *b == key[0]) {
            return Err(InvalidMasterKey("one byte repeated"));
        }
        let cipher = XChaCha20Poly1305::new_from_slice(&key)
            .map_err(|_| InvalidMasterKey("wrong length"))?;
        Ok(Self {
            cipher,
            previous: None,
        })
    }

    /// This key sealing, and `previous`'s key also opening what it sealed (a rotation).
    pub fn opening_also(self, previous: &Sealer) -> Self {
        Self {
            previous: Some(previous.cipher.clone()),
            ..self
        }
    }

    /// Whether `sealed` opens with this key itself, not only with the previous one.
    pub fn opens_with_current(&self, sealed: &str, context: &[u8]) -> bool {
        Self::open_with(&self.cipher, sealed, context).is_ok()
    }

    /// Seals `plaintext` under a fresh random nonce; `context` (authenticated, not stored) must
    /// be given again to open it.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<String, SealError> {
        let nonce = XNonce::try_generate().map_err(|e| SealError::Random(e.to_string()))?;
        let payload = Payload {
            msg: plaintext,
            aad: context,
        };
        let ciphertext = self
            .cipher
            .encrypt(&nonce, payload)
            .map_err(|_| SealError::Unopenable)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(format!("{SEALED_V1}{}", STANDARD.encode(sealed)))
    }

    /// Opens what [`Sealer::seal`] made with the same `context`, under this key or the previous.
    pub fn open(&self, sealed: &str, context: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        match (
            Self::open_with(&self.cipher, sealed, context),
            &self.previous,
        ) {
            (Err(SealError::Unopenable), Some(previous)) => {
                Self::open_with(previous, sealed, context)
            }
            (opened, _) => opened,
        }
    }

    fn open_with(
        cipher: &XChaCha20Poly1305,
        sealed: &str,
        context: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let encoded = sealed
            .strip_prefix(SEALED_V1)
            .ok_or(SealError::UnknownFormat)?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| SealError::Unopenable)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Unopenable);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| SealError::Unopenable)?;
        let payload = Payload {
            msg: ciphertext,
            aad: context,
        };
        cipher
            .decrypt(&nonce, payload)
            .map(Zeroizing::new)
            .map_err(|_| SealError::Unopenable)
    }
}

/// Whether a stored value is sealed (by any version), rather than plain text.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED)
}

/// Opens `stored` if it is sealed, else returns it as it is: values written before a master
/// key was set stay readable.
pub fn open_stored(
    sealer: Option<&Sealer>,
    stored: &str,
    context: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    if !is_sealed(stored) {
        return Ok(Zeroizing::new(stored.as_bytes().to_vec()));
    }
    sealer.ok_or(SealError::NoKey)?.open(stored, context)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl rand -base64 32`, once.
    const KEY: &str = "q2v9vQ0m3T0yqkq9y4x6m1Yt9Gx2fS0n4bYHq4uV1lE=";
    const OTHER_KEY: &str = "Zk9yKqS2mX0vT3pW8nB1cD4eF7gH0iJ2kL5mN8oP1qQ=";

    fn sealer(key: &str) -> Sealer {
        Sealer::from_base64(key).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_with_its_key_and_context_only() {
        let sealed = sealer(KEY).seal(b"hunter2", b"row-1").unwrap();
        assert!(sealed.starts_with("sealed:v1:") && !sealed.contains("hunter2"));
        assert_eq!(&**sealer(KEY).open(&sealed, b"row-1").unwrap(), b"hunter2");
        assert_eq!(
            sealer(KEY).open(&sealed, b"row-2"),
            Err(SealError::Unopenable)
        );
        assert_eq!(
            sealer(OTHER_KEY).open(&sealed, b"row-1"),
            Err(SealError::Unopenable)
        );
    }

    #[test]
    fn during_a_rotation_the_previous_key_still_opens_and_only_the_new_one_seals() {
        let old = sealer(OTHER_KEY).seal(b"hunter2", b"row-1").unwrap();
        let rotating = sealer(KEY).opening_also(&sealer(OTHER_KEY));
        assert_eq!(&**rotating.open(&old, b"row-1").unwrap(), b"hunter2");
        assert!(!rotating.opens_with_current(&old, b"row-1"));
        let new = rotating.seal(b"hunter2", b"row-1").unwrap();
        assert!(rotating.opens_with_current(&new, b"row-1"));
        assert_eq!(&**sealer(KEY).open(&new, b"row-1").unwrap(), b"hunter2");
        assert_eq!(
            sealer(OTHER_KEY).open(&new, b"row-1"),
            Err(SealError::Unopenable)
        );
        assert_eq!(
            rotating.open(&old, b"row-2"),
            Err(SealError::Unopenable),
            "still bound to its row"
        );
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        let s = sealer(KEY);
        assert_ne!(s.seal(b"x", b"c").unwrap(), s.seal(b"x", b"c").unwrap());
    }

    #[test]
    fn damaged_or_unknown_values_are_errors_not_panics() {
        let s = sealer(KEY);
        let sealed = s.seal(b"hunter2", b"c").unwrap();
        let mut flipped = sealed.into_bytes();
        let last = flipped.len() - 3;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        for bad in [
            flipped.as_str(),
            "sealed:v1:",
            "sealed:v1:%%%",
            "sealed:v1:AAAA",
        ] {
            assert_eq!(s.open(bad, b"c"), Err(SealError::Unopenable), "{bad}");
        }
        assert_eq!(
            s.open("sealed:v9:AAAA", b"c"),
            Err(SealError::UnknownFormat)
        );
        assert_eq!(
            open_stored(None, "sealed:v1:AAAA", b"c"),
            Err(SealError::NoKey)
        );
        assert_eq!(
            &**open_stored(None, "{\"a\":1}", b"c").unwrap(),
            b"{\"a\":1}"
        );
    }

    #[test]
    fn master_keys_must_be_base64_of_32_random_bytes() {
        assert!(Sealer::from_base64(&format!(" {KEY}\n")).is_ok());
        let too_short = STANDARD.encode([7u8; 16]);
        let url_safe = "q2v9vQ0m3T0yqkq9y4x6m1Yt9Gx2fS0n4bYHq4uV1lE-";
        let zeros = STANDARD.encode([0u8; 32]);
        for bad in [
            "",
            "change-me-master-key",
            &too_short,
            url_safe,
            &zeros,
            &KEY[..43],
        ] {
            let err = Sealer::from_base64(bad).unwrap_err();
            assert!(err.to_string().contains("openssl rand -base64 32"), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        assert_eq!(format!("{:?}", sealer(KEY)), "Sealer([redacted])");
    }
}
