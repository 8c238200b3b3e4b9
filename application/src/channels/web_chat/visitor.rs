//! Who a web chat visitor is: the visitor token, signed by the server (HMAC-SHA256), is the
//! credential for a visitor's history; a bare visitor id is taken only while allowed.

use crate::secrets::SigningKey;
use domain::{BotId, ExternalChatId};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// The token's version: `v1.{visitor uuid}.{hex HMAC-SHA256 over bot and visitor}`.
const VERSION: &str = "v1";
/// Separates the token key from the secret it is derived from (the master key may be one).
const KEY_LABEL: &[u8] = b"switchboard/web-chat/visitor-token/v1";

/// What a socket says about its visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitorClaim {
    /// Nothing: a new visitor.
    New,
    /// A token issued in an earlier `hello`.
    Token(String),
    /// A bare visitor id (a UUID), as pages kept it before tokens.
    Plain(Uuid),
}

/// A visitor, known by the server: their chat and the token that proves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    pub chat: ExternalChatId,
    pub token: String,
}

/// Why a claim was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VisitorRefused {
    #[error("the visitor token is not valid (altered, or signed with another key)")]
    InvalidToken,
    #[error("a visitor token is required: bare visitor ids are no longer accepted")]
    TokenRequired,
}

/// Signs and checks visitor tokens with one key.
#[derive(Debug, Clone)]
pub struct VisitorTokens {
    key: SigningKey,
}

impl VisitorTokens {
    /// The key derived from `secret` (a configured key, or the master key).
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            key: SigningKey::derived(secret, KEY_LABEL),
        }
    }

    /// A random key: tokens verify only in this process, and only until it stops.
    pub fn random() -> Self {
        Self {
            key: SigningKey::random(),
        }
    }

    /// The visitor `claim` stands for on `bot`: a new one, the token's, or the bare id's when
    /// `accept_plain` allows it.
    pub fn identify(
        &self,
        bot: BotId,
        claim: &VisitorClaim,
        accept_plain: bool,
    ) -> Result<Visitor, VisitorRefused> {
        let id = match claim {
            VisitorClaim::New => Uuid::new_v4(),
            VisitorClaim::Token(token) => self.verify(bot, token)?,
            VisitorClaim::Plain(id) if accept_plain => *id,
            VisitorClaim::Plain(_) => return Err(VisitorRefused::TokenRequired),
        };
        let chat = ExternalChatId::parse(id.hyphenated().to_string())
            .map_err(|_| VisitorRefused::InvalidToken)?;
        Ok(Visitor {
            chat,
            token: self.issue(bot, id),
        })
    }

    fn issue(&self, bot: BotId, visitor: Uuid) -> String {
        let signature = self.signer(bot, visitor).finalize().into_bytes();
        format!(
            "{VERSION}.{}.{}",
            visitor.hyphenated(),
            hex::encode(signature)
        )
    }

    /// The visitor a token names, if this key signed it for `bot`; compared in constant time.
    fn verify(&self, bot: BotId, token: &str) -> Result<Uuid, VisitorRefused> {
        let mut parts = token.split('.');
        let (Some(VERSION), Some(id), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VisitorRefused::InvalidToken);
        };
        let id = Uuid::try_parse(id).map_err(|_| VisitorRefused::InvalidToken)?;
        let signature = hex::decode(signature).map_err(|_| VisitorRefused::InvalidToken)?;
        self.signer(bot, id)
            .verify_slice(&signature)
            .map(|()| id)
            .map_err(|_| VisitorRefused::InvalidToken)
    }

    /// The MAC over what a token binds: the bot and the visitor.
    fn signer(&self, bot: BotId, visitor: Uuid) -> Hmac<Sha256> {
        let mut mac = self.key.mac();
        mac.update(format!("{bot}:{}", visitor.hyphenated()).as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(tokens: &VisitorTokens, bot: BotId) -> Visitor {
        tokens.identify(bot, &VisitorClaim::New, false).unwrap()
    }

    #[test]
    fn a_token_names_its_visitor_again_and_only_for_its_bot_and_key() {
        let (tokens, bot) = (
            VisitorTokens::from_secret(b"a configured key"),
            BotId::new(),
        );
        let visitor = token(&tokens, bot);
        assert!(visitor
            .token
            .starts_with(&format!("v1.{}.", visitor.chat.as_str())));
        let again = tokens
            .identify(bot, &VisitorClaim::Token(visitor.token.clone()), false)
            .unwrap();
        assert_eq!(again, visitor, "the same visitor, the same token");
        let same_key = VisitorTokens::from_secret(b"a configured key");
        let claim = VisitorClaim::Token(visitor.token.clone());
        assert_eq!(same_key.identify(bot, &claim, false), Ok(visitor.clone()));
        let refused = Err(VisitorRefused::InvalidToken);
        assert_eq!(tokens.identify(BotId::new(), &claim, false), refused);
        assert_eq!(
            VisitorTokens::random().identify(bot, &claim, false),
            refused
        );
        assert_eq!(
            VisitorTokens::from_secret(b"another key").identify(bot, &claim, false),
            refused
        );
    }

    #[test]
    fn an_altered_or_forged_token_is_refused() {
        let (tokens, bot) = (VisitorTokens::random(), BotId::new());
        let genuine = token(&tokens, bot).token;
        let other = Uuid::new_v4().hyphenated().to_string();
        let (_, signature) = genuine.rsplit_once('.').unwrap();
        let mut flipped = genuine.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        for forged in [
            String::from_utf8(flipped).unwrap(),
            format!("v1.{other}.{signature}"),
            format!("v2{}", &genuine[2..]),
            genuine[..genuine.len() - 2].to_owned(),
            format!("{genuine}.x"),
            format!("v1.{other}"),
            format!("v1.{other}.not-hex"),
            other,
            String::new(),
        ] {
            let claim = VisitorClaim::Token(forged.clone());
            assert_eq!(
                tokens.identify(bot, &claim, true),
                Err(VisitorRefused::InvalidToken),
                "{forged}"
            );
        }
    }

    #[test]
    fn a_bare_id_is_taken_only_while_allowed_and_comes_back_with_its_token() {
        let (tokens, bot) = (VisitorTokens::random(), BotId::new());
        let id = Uuid::new_v4();
        let visitor = tokens
            .identify(bot, &VisitorClaim::Plain(id), true)
            .unwrap();
        assert_eq!(visitor.chat.as_str(), id.hyphenated().to_string());
        let by_token = VisitorClaim::Token(visitor.token.clone());
        assert_eq!(tokens.identify(bot, &by_token, false), Ok(visitor));
        assert_eq!(
            tokens.identify(bot, &VisitorClaim::Plain(id), false),
            Err(VisitorRefused::TokenRequired)
        );
        assert_ne!(token(&tokens, bot).chat, token(&tokens, bot).chat);
    }
}
