//! Constant-time check of Meta's `X-Hub-Signature-256` webhook signature.

use application::ports::{InboundRequest, VerifyError};
use application::secrets::digests_equal;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header Meta sets to `sha256=<hex HMAC-SHA256 of the raw body, keyed by the app secret>`.
pub(crate) const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

const PREFIX: &str = "sha256=";

/// Checks the request's signature against `app_secret`; an empty secret never matches.
pub(crate) fn verify_signature(
    app_secret: &str,
    request: &InboundRequest,
) -> Result<(), VerifyError> {
    let presented = presented_signature(request)?;
    if app_secret.is_empty() || !digests_equal(&sign(app_secret, &request.body), &presented) {
        return Err(VerifyError::Mismatch);
    }
    Ok(())
}

/// The signature the request carries, decoded: `Missing` without the header, `Mismatch` when it
/// is not `sha256=` and hex. Needs no body, so it is checked before the body is read.
pub(crate) fn presented_signature(request: &InboundRequest) -> Result<Vec<u8>, VerifyError> {
    request
        .header(SIGNATURE_HEADER)
        .ok_or(VerifyError::Missing)?
        .strip_prefix(PREFIX)
        .and_then(|hex| hex::decode(hex.trim()).ok())
        .ok_or(VerifyError::Mismatch)
}

/// The HMAC-SHA256 of `body` keyed by `app_secret`.
pub(crate) fn sign(app_secret: &str, body: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this never fails.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return Vec::new();
    };
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "app-secret";
    const BODY: &[u8] = br#"{"object":"page","entry":[]}"#;

    fn request(signature: Option<String>) -> InboundRequest {
        InboundRequest {
            headers: signature
                .map(|s| vec![("x-hub-signature-256".to_owned(), s)])
                .unwrap_or_default(),
            body: BODY.to_vec(),
        }
    }

    fn signed(secret: &str) -> String {
        format!("sha256={}", hex::encode(sign(secret, BODY)))
    }

    #[test]
    fn hmac_matches_a_known_vector() {
        // RFC 4231 test case 2.
        let mac = sign("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_valid_signature_passes_in_either_case() {
        assert_eq!(
            verify_signature(SECRET, &request(Some(signed(SECRET)))),
            Ok(())
        );
        let upper = format!("sha256={}", hex::encode_upper(sign(SECRET, BODY)));
        assert_eq!(verify_signature(SECRET, &request(Some(upper))), Ok(()));
    }

    #[test]
    fn a_forged_signature_is_a_mismatch() {
        assert_eq!(
            verify_signature(SECRET, &request(Some(signed("other-secret")))),
            Err(VerifyError::Mismatch)
        );
        let mut tampered = request(Some(signed(SECRET)));
        tampered.body.push(b' ');
        assert_eq!(
            verify_signature(SECRET, &tampered),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn a_missing_header_is_missing() {
        assert_eq!(
            verify_signature(SECRET, &request(None)),
            Err(VerifyError::Missing)
        );
    }

    #[test]
    fn a_wrong_prefix_or_bad_hex_is_a_mismatch() {
        let hex = hex::encode(sign(SECRET, BODY));
        for header in [
            format!("sha1={hex}"),
            hex.clone(),
            format!("SHA256={hex}"),
            "sha256=zz".to_owned(),
            "sha256=".to_owned(),
            format!("sha256={}", &hex[..32]),
        ] {
            assert_eq!(
                verify_signature(SECRET, &request(Some(header.clone()))),
                Err(VerifyError::Mismatch),
                "{header}"
            );
        }
    }

    #[test]
    fn an_empty_secret_never_matches() {
        assert_eq!(
            verify_signature("", &request(Some(signed("")))),
            Err(VerifyError::Mismatch)
        );
    }
}
