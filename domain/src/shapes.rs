//! The documented shapes of platform credentials, checked before a binding is stored.
//!
//! Each credential travels somewhere a stray character does harm: Telegram's token in the Bot
//! API's URL path (`/bot<token>/sendMessage`, where `/../`, `?` or `#` would change the request),
//! Discord's and Meta's tokens in an `Authorization` header, ids in Graph API paths. A shape's
//! `pattern` is the regular expression the API document shows; its check is the same rule.

use crate::{Secret, ValidationError};

/// The longest token or secret accepted from an operator, in bytes.
pub const MAX_SECRET_LEN: usize = 2048;
/// The longest numeric platform id accepted (Discord snowflakes fit in 20 digits).
pub const MAX_ID_DIGITS: usize = 32;

/// What one kind of credential must look like.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// The same rule as an ECMA-262 regular expression, for the API document's `pattern`.
    pub pattern: &'static str,
    /// What a refusal says, naming the rule.
    pub requirement: &'static str,
    fits: fn(&str) -> bool,
}

impl Shape {
    /// Whether `value` has this shape (and fits in [`MAX_SECRET_LEN`] bytes).
    pub fn fits(&self, value: &str) -> bool {
        value.len() <= MAX_SECRET_LEN && (self.fits)(value)
    }

    /// `value` when it has this shape, else `field`'s error.
    pub fn check<'a>(
        &self,
        field: &'static str,
        value: &'a str,
    ) -> Result<&'a str, ValidationError> {
        if self.fits(value) {
            Ok(value)
        } else {
            Err(ValidationError::new(field, self.requirement))
        }
    }

    /// `value` as a secret when it has this shape, else `field`'s error.
    pub fn secret(&self, field: &'static str, value: &str) -> Result<Secret, ValidationError> {
        self.check(field, value).map(Secret::new)
    }
}

/// A Telegram bot token, as @BotFather issues it and the Bot API documents it
/// (`123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11`): the bot's id, `:`, then its secret part.
pub const TELEGRAM_TOKEN: Shape = Shape {
    pattern: "^[0-9]{1,20}:[A-Za-z0-9_-]{30,}$",
    requirement: "must be a Telegram bot token: the bot's numeric id, `:`, then at least 30 characters of A-Z, a-z, 0-9, _ and -",
    fits: |value| {
        value.split_once(':').is_some_and(|(id, rest)| {
            digits(id, 20) && rest.len() >= 30 && rest.bytes().all(base64url)
        })
    },
};

/// The `secret_token` of Telegram's `setWebhook`: "1-256 characters. Only characters A-Z, a-z,
/// 0-9, _ and - are allowed".
pub const TELEGRAM_SECRET_TOKEN: Shape = Shape {
    pattern: "^[A-Za-z0-9_-]{1,256}$",
    requirement: "must be 1-256 characters of A-Z, a-z, 0-9, _ and -",
    fits: |value| (1..=256).contains(&value.len()) && value.bytes().all(base64url),
};

/// A Discord snowflake such as an application id: an unsigned 64-bit integer in decimal (a bound
/// the pattern does not state).
pub const SNOWFLAKE: Shape = Shape {
    pattern: "^[0-9]{1,20}$",
    requirement: "must be a Discord snowflake: 1-20 digits",
    fits: |value| digits(value, 20) && value.parse::<u64>().is_ok(),
};

/// An application's Ed25519 public key as Discord's developer portal shows it: 32 bytes in hex.
pub const ED25519_PUBLIC_KEY: Shape = Shape {
    pattern: "^[0-9A-Fa-f]{64}$",
    requirement: "must be an Ed25519 public key: 64 hexadecimal characters",
    fits: |value| hex(value, 64),
};

/// A Discord bot token (sent as `Authorization: Bot <token>`): three base64url parts joined by
/// dots, the bot's id, a timestamp and a signature (`MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XV…`).
pub const DISCORD_BOT_TOKEN: Shape = Shape {
    pattern: "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$",
    requirement:
        "must be a Discord bot token: three parts of A-Z, a-z, 0-9, _ and - joined by dots",
    fits: |value| {
        let parts: Vec<&str> = value.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|part| !part.is_empty() && part.bytes().all(base64url))
    },
};

/// A Meta access token (a page's or a system user's), which Meta calls opaque and which goes in
/// an `Authorization: Bearer` header: RFC 6750's `b64token`.
pub const META_ACCESS_TOKEN: Shape = Shape {
    pattern: "^[A-Za-z0-9._~+/-]+=*$",
    requirement:
        "must be an access token: characters of A-Z, a-z, 0-9, -, ., _, ~, + and /, then any `=`",
    fits: |value| {
        let body = value.trim_end_matches('=');
        !body.is_empty()
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
    },
};

/// A Meta app secret, as the App Dashboard shows it: 32 hexadecimal characters.
pub const META_APP_SECRET: Shape = Shape {
    pattern: "^[0-9A-Fa-f]{32}$",
    requirement: "must be a Meta app secret: 32 hexadecimal characters",
    fits: |value| hex(value, 32),
};

/// The verify token of Meta's subscription handshake, chosen by the operator and echoed back
/// in a query string: visible ASCII, no spaces.
pub const META_VERIFY_TOKEN: Shape = Shape {
    pattern: "^[!-~]+$",
    requirement: "must be visible ASCII characters without spaces",
    fits: |value| !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic()),
};

/// A numeric id such as a Meta page or phone number id, which goes in a Graph API path.
pub const NUMERIC_ID: Shape = Shape {
    pattern: "^[0-9]{1,32}$",
    requirement: "must be 1-32 digits",
    fits: |value| digits(value, MAX_ID_DIGITS),
};

/// RFC 4648's URL- and filename-safe alphabet.
fn base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// 1 to `max` ASCII digits.
fn digits(value: &str, max: usize) -> bool {
    (1..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
}

/// Exactly `len` hexadecimal digits, either case.
fn hex(value: &str, len: usize) -> bool {
    value.len() == len && value.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [(&str, Shape); 9] = [
        ("telegram token", TELEGRAM_TOKEN),
        ("telegram secret", TELEGRAM_SECRET_TOKEN),
        ("snowflake", SNOWFLAKE),
        ("public key", ED25519_PUBLIC_KEY),
        ("discord token", DISCORD_BOT_TOKEN),
        ("meta token", META_ACCESS_TOKEN),
        ("app secret", META_APP_SECRET),
        ("verify token", META_VERIFY_TOKEN),
        ("numeric id", NUMERIC_ID),
    ];

    /// Values of every shape, real and hostile; each shape must agree with its own pattern on
    /// all of them (a snowflake's 64-bit bound, which no pattern states, aside).
    const SAMPLES: &[&str] = &[
        "",
        "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11",
        "123456:ABC-DEF1234ghIkl-zyx57W2v1u123",
        "123456:ABC-DEF1234ghIkl-zyx57W2v1u12",
        "123456:/../ABC-DEF1234ghIkl-zyx57W2v1u123",
        "123456:ABC-DEF1234ghIkl-zyx57W2v1u123?#",
        "123456:ABC-DEF1234ghIkl-zyx57W2v1u123\0",
        "123456789012345678901:ABC-DEF1234ghIkl-zyx57W2v1u123",
        ":ABC-DEF1234ghIkl-zyx57W2v1u123ew11",
        "webhook-secret_42",
        "no spaces",
        "81384788765712384",
        "18446744073709551615",
        "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "A1B2C3D4E5F60718293A4B5C6D7E8F90",
        "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs",
        "MTk4NjIyNDgzNDcxOTI1MjQ4..ZnCjm1XVW7vRze4b7Cq4se7kKWs",
        "a.b.c.d",
        "EAAGm0PX4ZCpsBAKZC8Z",
        "EAAG/m0+PX4~Z.C_ps-BA==",
        "==",
        "EAAG\r\nX-Evil: 1",
        "bad token",
        "verify-me!@#",
        "vérify",
        "104233455667788",
        "+4912",
        "\u{1b}[31m",
    ];

    #[test]
    fn each_shape_agrees_with_its_pattern() {
        for (name, shape) in ALL {
            let pattern = regex::Regex::new(shape.pattern).unwrap();
            for sample in SAMPLES {
                assert_eq!(
                    shape.fits(sample),
                    pattern.is_match(sample),
                    "{name} on {sample:?}"
                );
            }
        }
    }

    #[test]
    fn telegram_tokens_cannot_steer_the_bot_api_url() {
        let real = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
        assert_eq!(TELEGRAM_TOKEN.check("token", real), Ok(real));
        for hostile in [
            "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/../getMe",
            "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw?x=1#",
            "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw\0",
            "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw%2F",
            "110201543:short",
            "abc:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        ] {
            let refused = TELEGRAM_TOKEN.check("token", hostile).unwrap_err();
            assert_eq!(refused.field, "token", "{hostile:?}");
        }
    }

    #[test]
    fn snowflakes_fit_in_64_bits() {
        assert!(SNOWFLAKE.fits("18446744073709551615"));
        assert!(!SNOWFLAKE.fits("18446744073709551616"));
    }

    #[test]
    fn secrets_longer_than_the_limit_never_fit() {
        let long = format!("{}=", "A".repeat(MAX_SECRET_LEN));
        assert!(!META_ACCESS_TOKEN.fits(&long));
        assert!(META_ACCESS_TOKEN.fits(&long[1..]));
    }
}
