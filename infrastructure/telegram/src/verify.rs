//! Constant-time check of the `X-Telegram-Bot-Api-Secret-Token` header.

use application::ports::VerifyError;
use application::secrets::secrets_match;

/// The header Telegram sets to the `secret_token` given to `setWebhook`.
pub(crate) const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

/// Compares in constant time ([`secrets_match`]); an empty expected secret never matches.
pub(crate) fn verify_secret(expected: &str, presented: Option<&str>) -> Result<(), VerifyError> {
    let presented = presented.ok_or(VerifyError::Missing)?;
    if secrets_match(expected, presented) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_secret_passes() {
        assert_eq!(verify_secret("s3cr3t", Some("s3cr3t")), Ok(()));
    }

    #[test]
    fn a_wrong_secret_of_the_same_length_is_a_mismatch() {
        assert_eq!(
            verify_secret("s3cr3t", Some("s3cr3x")),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn a_secret_of_another_length_is_a_mismatch() {
        assert_eq!(
            verify_secret("s3cr3t", Some("s3cr3t-and-more")),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify_secret("s3cr3t", Some("")),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn a_missing_header_is_missing() {
        assert_eq!(verify_secret("s3cr3t", None), Err(VerifyError::Missing));
    }

    #[test]
    fn an_empty_expected_secret_never_matches() {
        assert_eq!(verify_secret("", Some("")), Err(VerifyError::Mismatch));
    }
}
