//! The web chat's wiring: its settings and the key its visitor tokens are signed with.

use crate::settings::Settings;
use application::ports::Rate;
use application::{VisitorTokens, WebChatLimits, WebChatSettings};
use secrecy::ExposeSecret;
use std::time::Duration;

/// Said by `config check` and at start when visitor tokens are signed with a random key.
pub const RANDOM_VISITOR_KEY_WARNING: &str = "neither web_chat.visitor_token_key nor \
    security.master_key is set: web chat visitor tokens are signed with a random key, so a \
    restart or another replica refuses them (the visitor starts afresh); set the key when \
    running several replicas";

/// Whether visitor tokens would be signed with a random key.
pub fn random_visitor_key(settings: &Settings) -> bool {
    settings.web_chat.visitor_token_key.is_none() && settings.security.master_key.is_none()
}

/// The visitor token key: `web_chat.visitor_token_key`, else derived from
/// `security.master_key`, else random (and said so).
pub fn visitor_tokens(settings: &Settings) -> VisitorTokens {
    match signing_secret(settings) {
        Some(secret) => VisitorTokens::from_secret(secret.expose_secret().as_bytes()),
        None => {
            tracing::warn!("{RANDOM_VISITOR_KEY_WARNING}");
            VisitorTokens::random()
        }
    }
}

/// What the server's links and tokens are signed with: `web_chat.visitor_token_key`, else
/// `security.master_key` (each use derives its own key from it); `None`: a random key.
pub fn signing_secret(settings: &Settings) -> Option<&secrecy::SecretString> {
    settings
        .web_chat
        .visitor_token_key
        .as_ref()
        .or(settings.security.master_key.as_ref())
}

pub fn web_chat_settings(settings: &Settings) -> WebChatSettings {
    let web_chat = &settings.web_chat;
    WebChatSettings {
        history_messages: web_chat.history_messages,
        reply_wait: Duration::from_millis(web_chat.reply_wait_ms),
        accept_plain_visitor_ids: web_chat.accept_plain_visitor_ids,
        limits: WebChatLimits {
            per_visitor: Rate::per_minute(
                web_chat.visitor_rate_per_minute,
                web_chat.visitor_rate_burst,
            ),
            per_address: Rate::per_minute(
                web_chat.address_rate_per_minute,
                web_chat.address_rate_burst,
            ),
            sockets_per_visitor: web_chat.max_sockets_per_visitor,
            sockets_per_address: web_chat.max_sockets_per_address,
        },
        max_upload_bytes: web_chat.max_upload_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load(None, &env).unwrap()
    }

    const MASTER_KEY: &str = "q2v9vQ0m3T0yqkq9y4x6m1Yt9Gx2fS0n4bYHq4uV1lE=";

    #[test]
    fn the_token_key_comes_from_its_setting_else_the_master_key_else_chance() {
        let bot = domain::BotId::new();
        let token = |s: &Settings| {
            let tokens = visitor_tokens(s);
            let visitor = tokens
                .identify(bot, &application::VisitorClaim::New, false)
                .unwrap();
            (tokens, visitor.token)
        };
        let verifies = |tokens: &VisitorTokens, token: &str| {
            tokens
                .identify(bot, &application::VisitorClaim::Token(token.into()), false)
                .is_ok()
        };
        let master = settings(&[("SWITCHBOARD__SECURITY__MASTER_KEY", MASTER_KEY)]);
        let (by_master, issued) = token(&master);
        assert!(
            verifies(&visitor_tokens(&master), &issued),
            "the same key in every process"
        );
        assert!(!random_visitor_key(&master));
        let keyed = settings(&[
            ("SWITCHBOARD__SECURITY__MASTER_KEY", MASTER_KEY),
            (
                "SWITCHBOARD__WEB_CHAT__VISITOR_TOKEN_KEY",
                "a-visitor-token-key-of-32-chars!!",
            ),
        ]);
        let (by_key, issued_by_key) = token(&keyed);
        assert!(verifies(&visitor_tokens(&keyed), &issued_by_key));
        assert!(
            !verifies(&by_key, &issued),
            "its own key wins over the master key"
        );
        assert!(!verifies(&by_master, &issued_by_key));
        let neither = settings(&[]);
        assert!(random_visitor_key(&neither));
        let (_, random) = token(&neither);
        assert!(
            !verifies(&visitor_tokens(&neither), &random),
            "a key per process"
        );
    }

    #[test]
    fn a_zero_rate_is_no_limit() {
        let s = web_chat_settings(&settings(&[
            ("SWITCHBOARD__WEB_CHAT__ADDRESS_RATE_PER_MINUTE", "0"),
            ("SWITCHBOARD__WEB_CHAT__MAX_SOCKETS_PER_ADDRESS", "0"),
        ]));
        assert_eq!(s.limits.per_visitor, Rate::per_minute(30, 5));
        assert_eq!(s.limits.per_address, None);
        assert_eq!(s.limits.sockets_per_address, 0);
        assert!(s.accept_plain_visitor_ids);
    }
}
