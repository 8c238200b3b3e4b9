//! Standard Webhooks signing: a secret is `whsec_` and the base64 of its key; each post carries `webhook-id`, `webhook-timestamp` and `webhook-signature` = `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`.

use crate::ports::SignedPost;
use crate::secrets;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use domain::{Secret, ValidationError, Webhook, WebhookDelivery};
use hmac::Mac;
use rand::RngCore;

/// What a secret's text starts with.
pub const SECRET_PREFIX: &str = "whsec_";
/// The bytes of a generated key.
const KEY_BYTES: usize = 32;
/// The shortest and longest keys taken.
const KEY_RANGE: std::ops::RangeInclusive<usize> = 24..=64;

/// A new random secret, in its `whsec_` form.
pub fn generate_secret() -> Secret {
    let mut key = [0u8; KEY_BYTES];
    rand::thread_rng().fill_bytes(&mut key);
    Secret::new(format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
}

/// The key of a secret's text: `whsec_` and the base64 of 24 to 64 bytes.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, ValidationError> {
    let invalid = || {
        ValidationError::new(
            "secret",
            "must be \"whsec_\" and the base64 of 24 to 64 random bytes",
        )
    };
    let encoded = secret.strip_prefix(SECRET_PREFIX).ok_or_else(invalid)?;
    let key = STANDARD.decode(encoded).map_err(|_| invalid())?;
    if !KEY_RANGE.contains(&key.len()) {
        return Err(invalid());
    }
    Ok(key)
}

/// The `webhook-signature` value for a post: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` keyed by `key`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = secrets::mac(key);
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// `delivery` as posted to `webhook` at `timestamp` (Unix seconds), signed with its secret;
/// the id is the event's, the same on every attempt, so that the receiver can drop repeats.
pub fn signed_post(
    webhook: &Webhook,
    delivery: &WebhookDelivery,
    timestamp: i64,
) -> Result<SignedPost, ValidationError> {
    let key = secret_key(webhook.secret.expose())?;
    let id = delivery.event_id.to_string();
    let signed = signature(&key, &id, timestamp, &delivery.body);
    Ok(SignedPost {
        url: webhook.url.as_str().to_owned(),
        headers: vec![
            ("content-type", "application/json".to_owned()),
            ("webhook-id", id),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signed),
        ],
        body: delivery.body.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification's reference libraries.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        let signed = signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_generated_secret_is_taken_back_and_malformed_ones_are_refused() {
        let secret = generate_secret();
        assert_eq!(secret_key(secret.expose()).unwrap().len(), KEY_BYTES);
        let short = format!("{SECRET_PREFIX}{}", STANDARD.encode([1u8; 8]));
        for bad in ["plain", "whsec_not base64!", short.as_str()] {
            assert_eq!(secret_key(bad).unwrap_err().field, "secret", "{bad}");
        }
    }
}
