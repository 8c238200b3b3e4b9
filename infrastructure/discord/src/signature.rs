//! Discord's interaction signatures: Ed25519 over `X-Signature-Timestamp` + the raw body, by the application's public key.

use application::ports::{InboundRequest, VerifyError};
use chrono::{DateTime, TimeDelta, Utc};
use ed25519_dalek::{Signature, VerifyingKey};

/// The hex Ed25519 signature of timestamp + body.
pub const SIGNATURE_HEADER: &str = "X-Signature-Ed25519";
/// The unix time (seconds) Discord signed the request at.
pub const TIMESTAMP_HEADER: &str = "X-Signature-Timestamp";
/// How far the signed timestamp may be from our clock, either way, before a request is refused
/// as a replay.
pub const MAX_SKEW: TimeDelta = TimeDelta::minutes(5);

/// Checks the request against `public_key` (hex) at `now`: missing headers are `Missing`; a
/// malformed key, signature or timestamp, a stale timestamp or a wrong signature are `Mismatch`.
pub fn verify_interaction(
    public_key: &str,
    request: &InboundRequest,
    now: DateTime<Utc>,
) -> Result<(), VerifyError> {
    let (signature, timestamp) = signed_headers(request, now)?;
    let key = verifying_key(public_key).ok_or(VerifyError::Mismatch)?;
    let mut signed = Vec::with_capacity(timestamp.len() + request.body.len());
    signed.extend_from_slice(timestamp.as_bytes());
    signed.extend_from_slice(&request.body);
    key.verify_strict(&signed, &signature)
        .map_err(|_| VerifyError::Mismatch)
}

/// The signature and the timestamp it signs, checked as far as headers alone allow (present,
/// fresh, a well-formed signature), so before the body is read.
pub fn signed_headers(
    request: &InboundRequest,
    now: DateTime<Utc>,
) -> Result<(Signature, &str), VerifyError> {
    let signature = request
        .header(SIGNATURE_HEADER)
        .ok_or(VerifyError::Missing)?;
    let timestamp = request
        .header(TIMESTAMP_HEADER)
        .ok_or(VerifyError::Missing)?;
    if !is_fresh(timestamp, now) {
        return Err(VerifyError::Mismatch);
    }
    let signature = decode_signature(signature).ok_or(VerifyError::Mismatch)?;
    Ok((signature, timestamp))
}

/// Whether `timestamp` (unix seconds) lies within [`MAX_SKEW`] of `now`.
fn is_fresh(timestamp: &str, now: DateTime<Utc>) -> bool {
    let Some(signed_at) = timestamp
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
    else {
        return false;
    };
    (now - signed_at).abs() <= MAX_SKEW
}

fn verifying_key(hex_key: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(hex_key.trim()).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

fn decode_signature(hex_signature: &str) -> Option<Signature> {
    let bytes = hex::decode(hex_signature.trim()).ok()?;
    Signature::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};
    use rand::RngCore;

    const BODY: &[u8] = br#"{"type":1,"id":"1","application_id":"2","token":"t","version":1}"#;

    fn key_pair() -> (SigningKey, String) {
        let mut seed = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut seed);
        let signing = SigningKey::from_bytes(&seed);
        let public = hex::encode(signing.verifying_key().to_bytes());
        (signing, public)
    }

    fn signed(key: &SigningKey, timestamp: &str, body: &[u8]) -> InboundRequest {
        let mut message = timestamp.as_bytes().to_vec();
        message.extend_from_slice(body);
        let signature = hex::encode(key.sign(&message).to_bytes());
        InboundRequest {
            headers: vec![
                ("x-signature-ed25519".to_owned(), signature),
                ("x-signature-timestamp".to_owned(), timestamp.to_owned()),
            ],
            body: body.to_vec(),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn at(offset_seconds: i64) -> String {
        (now().timestamp() + offset_seconds).to_string()
    }

    #[test]
    fn a_request_signed_by_the_application_key_passes() {
        let (key, public) = key_pair();
        assert_eq!(
            verify_interaction(&public, &signed(&key, &at(0), BODY), now()),
            Ok(())
        );
        let upper = public.to_ascii_uppercase();
        assert_eq!(
            verify_interaction(&upper, &signed(&key, &at(-299), BODY), now()),
            Ok(())
        );
    }

    #[test]
    fn another_key_is_a_mismatch() {
        let (key, _) = key_pair();
        let (_, other_public) = key_pair();
        assert_eq!(
            verify_interaction(&other_public, &signed(&key, &at(0), BODY), now()),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn a_tampered_body_or_timestamp_is_a_mismatch() {
        let (key, public) = key_pair();
        let mut body = signed(&key, &at(0), BODY);
        body.body.push(b' ');
        assert_eq!(
            verify_interaction(&public, &body, now()),
            Err(VerifyError::Mismatch)
        );
        let mut timestamp = signed(&key, &at(0), BODY);
        timestamp.headers[1].1 = at(1);
        assert_eq!(
            verify_interaction(&public, &timestamp, now()),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn timestamps_more_than_five_minutes_away_are_refused_either_way() {
        let (key, public) = key_pair();
        for offset in [-301, 301, -86_400, 86_400] {
            assert_eq!(
                verify_interaction(&public, &signed(&key, &at(offset), BODY), now()),
                Err(VerifyError::Mismatch),
                "{offset}"
            );
        }
        assert_eq!(
            verify_interaction(&public, &signed(&key, &at(300), BODY), now()),
            Ok(())
        );
    }

    #[test]
    fn missing_headers_are_missing() {
        let (key, public) = key_pair();
        for drop in [0, 1] {
            let mut request = signed(&key, &at(0), BODY);
            request.headers.remove(drop);
            assert_eq!(
                verify_interaction(&public, &request, now()),
                Err(VerifyError::Missing),
                "without header {drop}"
            );
        }
    }

    #[test]
    fn malformed_signatures_keys_and_timestamps_are_mismatches() {
        let (key, public) = key_pair();
        let good = signed(&key, &at(0), BODY);
        let signature = good.headers[0].1.clone();
        for bad in ["", "zz", &signature[..64], &format!("{signature}00")] {
            let mut request = good.clone();
            request.headers[0].1 = bad.to_owned();
            assert_eq!(
                verify_interaction(&public, &request, now()),
                Err(VerifyError::Mismatch),
                "{bad:?}"
            );
        }
        for bad_key in ["", "00", &public[..62], &"0".repeat(64)] {
            assert_eq!(
                verify_interaction(bad_key, &good, now()),
                Err(VerifyError::Mismatch),
                "{bad_key:?}"
            );
        }
        for bad_time in ["", "soon", "1.7e9", "99999999999999999999"] {
            let request = signed(&key, bad_time, BODY);
            assert_eq!(
                verify_interaction(&public, &request, now()),
                Err(VerifyError::Mismatch),
                "{bad_time:?}"
            );
        }
    }
}
