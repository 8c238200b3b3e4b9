//! Platforms: the kinds Switchboard speaks, and a bot's binding to one with its credentials.

use crate::origin::Origin;
use crate::shapes::{
    DISCORD_BOT_TOKEN, ED25519_PUBLIC_KEY, META_ACCESS_TOKEN, META_APP_SECRET, META_VERIFY_TOKEN,
    NUMERIC_ID, SNOWFLAKE, TELEGRAM_SECRET_TOKEN, TELEGRAM_TOKEN,
};
use crate::{BotId, Secret, ValidationError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A messaging platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformKind {
    Telegram,
    Discord,
    Messenger,
    Whatsapp,
    WebChat,
}

impl PlatformKind {
    pub const ALL: [PlatformKind; 5] = [
        Self::Telegram,
        Self::Discord,
        Self::Messenger,
        Self::Whatsapp,
        Self::WebChat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Telegram => "telegram",
            Self::Discord => "discord",
            Self::Messenger => "messenger",
            Self::Whatsapp => "whatsapp",
            Self::WebChat => "web_chat",
        }
    }
}

impl fmt::Display for PlatformKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PlatformKind {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| ValidationError::new("platform", format!("unknown platform `{s}`")))
    }
}

/// How a Telegram bot gets its updates: Telegram posts them to our webhook, or we long-poll
/// `getUpdates` (for a server without a public URL, such as a laptop).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TelegramMode {
    #[default]
    Webhook,
    Polling,
}

impl TelegramMode {
    pub const ALL: [TelegramMode; 2] = [Self::Webhook, Self::Polling];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Polling => "polling",
        }
    }
}

impl FromStr for TelegramMode {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str() == s)
            .ok_or_else(|| ValidationError::new("mode", "must be `webhook` or `polling`"))
    }
}

/// A Telegram bot's credentials: the Bot API token and the webhook secret token, and how
/// updates arrive (bindings stored before modes existed read as webhooks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelegramCredentials {
    pub token: Secret,
    pub secret_token: Secret,
    #[serde(default)]
    pub mode: TelegramMode,
}

impl TelegramCredentials {
    /// Validates the shapes Telegram documents: a bot token (`123456:ABC-DEF…`, which goes in
    /// the Bot API's URL path) and a 1–256 character webhook secret of `A-Z a-z 0-9 _ -`.
    pub fn parse(token: &str, secret_token: &str) -> Result<Self, ValidationError> {
        Ok(Self {
            token: TELEGRAM_TOKEN.secret("token", token)?,
            secret_token: TELEGRAM_SECRET_TOKEN.secret("secret_token", secret_token)?,
            mode: TelegramMode::Webhook,
        })
    }

    /// These credentials with updates arriving by `mode`.
    pub fn with_mode(self, mode: TelegramMode) -> Self {
        Self { mode, ..self }
    }

    /// The Telegram bot's own numeric id: the token's public part before `:`. Telegram's update
    /// ids count per bot, so a stored polling offset belongs to this id.
    pub fn account(&self) -> &str {
        let token = self.token.expose();
        token.split_once(':').map_or(token, |(id, _)| id)
    }
}

pub use crate::shapes::{MAX_ID_DIGITS, MAX_SECRET_LEN};

/// A Discord application's credentials: its id and interactions public key (both public),
/// the bot token that sends messages, and whether the bot also listens on the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscordCredentials {
    pub application_id: String,
    pub public_key: String,
    pub bot_token: Secret,
    /// Gateway mode: a connection receives direct messages and mentions (rows stored before
    /// this field read as `false`).
    #[serde(default)]
    pub gateway: bool,
}

impl DiscordCredentials {
    /// Validates a snowflake application id (digits fitting in 64 bits), a hex Ed25519 public
    /// key (64 characters, kept lower-case) and a bot token of Discord's shape.
    pub fn parse(
        application_id: &str,
        public_key: &str,
        bot_token: &str,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            application_id: SNOWFLAKE
                .check("application_id", application_id)?
                .to_owned(),
            public_key: ED25519_PUBLIC_KEY
                .check("public_key", public_key)?
                .to_ascii_lowercase(),
            bot_token: DISCORD_BOT_TOKEN.secret("bot_token", bot_token)?,
            gateway: false,
        })
    }

    /// The same credentials with gateway mode on or off.
    pub fn with_gateway(self, gateway: bool) -> Self {
        Self { gateway, ..self }
    }
}

/// A Facebook Messenger page's credentials: the page id, the page access token that sends,
/// the app secret that signs webhooks and the token of the subscription handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessengerCredentials {
    pub page_id: String,
    pub page_access_token: Secret,
    pub app_secret: Secret,
    pub verify_token: Secret,
}

impl MessengerCredentials {
    /// Validates a numeric page id, an access token, a 32-hex-digit app secret and a verify
    /// token (see [`crate::shapes`]).
    pub fn parse(
        page_id: &str,
        page_access_token: &str,
        app_secret: &str,
        verify_token: &str,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            page_id: NUMERIC_ID.check("page_id", page_id)?.to_owned(),
            page_access_token: META_ACCESS_TOKEN.secret("page_access_token", page_access_token)?,
            app_secret: META_APP_SECRET.secret("app_secret", app_secret)?,
            verify_token: META_VERIFY_TOKEN.secret("verify_token", verify_token)?,
        })
    }
}

/// A WhatsApp Cloud API number's credentials: the phone number id, the access token that
/// sends, the app secret that signs webhooks and the token of the subscription handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhatsappCredentials {
    pub phone_number_id: String,
    pub access_token: Secret,
    pub app_secret: Secret,
    pub verify_token: Secret,
}

impl WhatsappCredentials {
    /// Validates a numeric phone number id, an access token, a 32-hex-digit app secret and a
    /// verify token (see [`crate::shapes`]).
    pub fn parse(
        phone_number_id: &str,
        access_token: &str,
        app_secret: &str,
        verify_token: &str,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            phone_number_id: NUMERIC_ID
                .check("phone_number_id", phone_number_id)?
                .to_owned(),
            access_token: META_ACCESS_TOKEN.secret("access_token", access_token)?,
            app_secret: META_APP_SECRET.secret("app_secret", app_secret)?,
            verify_token: META_VERIFY_TOKEN.secret("verify_token", verify_token)?,
        })
    }
}

/// The most origins a web chat binding may list.
pub const MAX_ALLOWED_ORIGINS: usize = 32;

/// The built-in web chat's settings: it has no secret, only the page origins whose sockets are
/// accepted (`Origin` header); none listed accepts any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebChatCredentials {
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

impl WebChatCredentials {
    /// Validates each origin as `http(s)://host[:port]` (no path, no trailing slash), at most
    /// [`MAX_ALLOWED_ORIGINS`] of them; kept in their canonical form (RFC 6454: scheme and host
    /// in lower case, no default port), as browsers send them.
    pub fn parse(allowed_origins: &[String]) -> Result<Self, ValidationError> {
        if allowed_origins.len() > MAX_ALLOWED_ORIGINS {
            return Err(ValidationError::new(
                "allowed_origins",
                format!("at most {MAX_ALLOWED_ORIGINS} origins"),
            ));
        }
        let allowed_origins = allowed_origins
            .iter()
            .map(|origin| origin_of(origin))
            .collect::<Result<_, _>>()?;
        Ok(Self { allowed_origins })
    }

    /// Whether a socket opened from `origin` is accepted: always when no origin is listed,
    /// else only from the same origin as a listed one (RFC 6454: scheme, host and port, with
    /// scheme and host case-insensitive and a default port the same as none). A request
    /// without `Origin`, or with `null` or a list, is then refused.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        if self.allowed_origins.is_empty() {
            return true;
        }
        let Some(origin) = origin.and_then(Origin::parse) else {
            return false;
        };
        // Rows stored before origins were kept canonical are compared in canonical form too.
        self.allowed_origins
            .iter()
            .any(|allowed| Origin::parse(allowed).as_ref() == Some(&origin))
    }
}

/// One origin, checked and in its canonical form.
fn origin_of(value: &str) -> Result<String, ValidationError> {
    Origin::parse(value)
        .map(|origin| origin.to_string())
        .ok_or_else(|| {
            ValidationError::new(
                "allowed_origins",
                "each must be an origin such as `https://example.com` or `http://localhost:3000`",
            )
        })
}

/// The credentials of one binding; the variant always matches the binding's kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "platform", rename_all = "snake_case")]
pub enum Credentials {
    Telegram(TelegramCredentials),
    Discord(DiscordCredentials),
    Messenger(MessengerCredentials),
    Whatsapp(WhatsappCredentials),
    WebChat(WebChatCredentials),
}

impl Credentials {
    pub fn kind(&self) -> PlatformKind {
        match self {
            Self::Telegram(_) => PlatformKind::Telegram,
            Self::Discord(_) => PlatformKind::Discord,
            Self::Messenger(_) => PlatformKind::Messenger,
            Self::Whatsapp(_) => PlatformKind::Whatsapp,
            Self::WebChat(_) => PlatformKind::WebChat,
        }
    }

    /// Telegram's update mode; `None` for platforms with one way of receiving.
    pub fn telegram_mode(&self) -> Option<TelegramMode> {
        match self {
            Self::Telegram(credentials) => Some(credentials.mode),
            _ => None,
        }
    }

    /// The token of Meta's subscription handshake; `None` for platforms without one.
    pub fn verify_token(&self) -> Option<&Secret> {
        match self {
            Self::Messenger(credentials) => Some(&credentials.verify_token),
            Self::Whatsapp(credentials) => Some(&credentials.verify_token),
            Self::Telegram(_) | Self::Discord(_) | Self::WebChat(_) => None,
        }
    }
}

/// A bot's binding to one platform: the Platform entity of the design.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformBinding {
    pub bot_id: BotId,
    pub credentials: Credentials,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PlatformBinding {
    pub fn new(bot_id: BotId, credentials: Credentials, now: DateTime<Utc>) -> Self {
        Self {
            bot_id,
            credentials,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn kind(&self) -> PlatformKind {
        self.credentials.kind()
    }

    /// Whether Switchboard fetches this binding's updates itself (Telegram in polling mode)
    /// rather than waiting for webhooks.
    pub fn polls(&self) -> bool {
        self.credentials.telegram_mode() == Some(TelegramMode::Polling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_text() {
        for kind in PlatformKind::ALL {
            assert_eq!(kind.as_str().parse::<PlatformKind>().unwrap(), kind);
        }
        assert!("myspace".parse::<PlatformKind>().is_err());
    }

    /// Real-shaped credentials (the Telegram token is the Bot API documentation's example).
    const TG_TOKEN: &str = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11";
    const DISCORD_TOKEN: &str = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs";
    const META_TOKEN: &str = "EAAGm0PX4ZCpsBAKZC8Zbc";
    const APP_SECRET: &str = "0123456789abcdef0123456789ABCDEF";

    #[test]
    fn telegram_credentials_are_checked() {
        assert!(TelegramCredentials::parse(TG_TOKEN, "s3cr3t_-").is_ok());
        for hostile in [
            "123:abc",
            "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11/../getMe",
            "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11?a#b",
            "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11\0",
        ] {
            let refused = TelegramCredentials::parse(hostile, "s").unwrap_err();
            assert_eq!(refused.field, "token", "{hostile:?}");
        }
        assert_eq!(
            TelegramCredentials::parse("abc", "s").unwrap_err().field,
            "token"
        );
        assert_eq!(
            TelegramCredentials::parse(":abc", "s").unwrap_err().field,
            "token"
        );
        assert_eq!(
            TelegramCredentials::parse(TG_TOKEN, "").unwrap_err().field,
            "secret_token"
        );
        assert_eq!(
            TelegramCredentials::parse(TG_TOKEN, "no spaces")
                .unwrap_err()
                .field,
            "secret_token"
        );
    }

    const PUBLIC_KEY: &str = "A1B2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

    /// The field named by a refused parse.
    fn refused<T: fmt::Debug>(result: Result<T, ValidationError>) -> &'static str {
        result.unwrap_err().field
    }

    #[test]
    fn discord_credentials_are_checked() {
        let ok =
            DiscordCredentials::parse("1234567890123456789", PUBLIC_KEY, DISCORD_TOKEN).unwrap();
        assert_eq!(ok.public_key, PUBLIC_KEY.to_ascii_lowercase());
        assert_eq!(ok.bot_token.expose(), DISCORD_TOKEN);
        let discord =
            |id: &str, key: &str, token: &str| refused(DiscordCredentials::parse(id, key, token));
        for bad_id in [
            "",
            "12a",
            "+123",
            "-1",
            "123456789012345678901",
            "99999999999999999999",
        ] {
            assert_eq!(
                discord(bad_id, PUBLIC_KEY, DISCORD_TOKEN),
                "application_id",
                "{bad_id:?}"
            );
        }
        for bad_key in [
            "",
            "ab",
            &PUBLIC_KEY[1..],
            &format!("{}zz", &PUBLIC_KEY[2..]),
        ] {
            assert_eq!(
                discord("1", bad_key, DISCORD_TOKEN),
                "public_key",
                "{bad_key:?}"
            );
        }
        let long = format!("a.b.{}", "x".repeat(MAX_SECRET_LEN));
        for bad_token in [
            "",
            "t",
            "has space",
            "a.b.c\t",
            "a..c",
            "a.b/c.d",
            "a.b.c\0",
            &long,
        ] {
            assert_eq!(
                discord("1", PUBLIC_KEY, bad_token),
                "bot_token",
                "{bad_token:?}"
            );
        }
    }

    #[test]
    fn discord_credentials_stored_without_gateway_mode_read_as_off() {
        let old = serde_json::json!({"platform": "discord", "application_id": "1",
                                     "public_key": PUBLIC_KEY, "bot_token": "t"});
        let Credentials::Discord(read) = serde_json::from_value(old).unwrap() else {
            panic!("not discord");
        };
        assert!(!read.gateway);
        let on = read.with_gateway(true);
        let json = serde_json::to_value(Credentials::Discord(on.clone())).unwrap();
        assert_eq!(json["gateway"], true);
        assert_eq!(
            serde_json::from_value::<Credentials>(json).unwrap(),
            Credentials::Discord(on)
        );
    }

    #[test]
    fn messenger_credentials_are_checked() {
        let ok = MessengerCredentials::parse("104233", META_TOKEN, APP_SECRET, "verify").unwrap();
        assert_eq!(ok.page_id, "104233");
        assert_eq!(ok.verify_token.expose(), "verify");
        let messenger = |id: &str, token: &str, app: &str, verify: &str| {
            refused(MessengerCredentials::parse(id, token, app, verify))
        };
        let (t, a) = (META_TOKEN, APP_SECRET);
        assert_eq!(messenger("", t, a, "v"), "page_id");
        assert_eq!(messenger("12x", t, a, "v"), "page_id");
        assert_eq!(
            messenger(&"1".repeat(MAX_ID_DIGITS + 1), t, a, "v"),
            "page_id"
        );
        assert_eq!(messenger("1", "", a, "v"), "page_access_token");
        assert_eq!(messenger("1", "EAAB\r\nX: 1", a, "v"), "page_access_token");
        assert_eq!(messenger("1", t, "a b", "v"), "app_secret");
        assert_eq!(messenger("1", t, "app-secret", "v"), "app_secret");
        assert_eq!(messenger("1", t, &APP_SECRET[1..], "v"), "app_secret");
        assert_eq!(messenger("1", t, a, "v\n"), "verify_token");
        assert_eq!(messenger("1", t, a, "vérify"), "verify_token");
    }

    #[test]
    fn whatsapp_credentials_are_checked() {
        let ok =
            WhatsappCredentials::parse("10987654321", META_TOKEN, APP_SECRET, "verify").unwrap();
        assert_eq!(ok.phone_number_id, "10987654321");
        assert_eq!(ok.access_token.expose(), META_TOKEN);
        let whatsapp = |id: &str, token: &str, app: &str, verify: &str| {
            refused(WhatsappCredentials::parse(id, token, app, verify))
        };
        let (t, a) = (META_TOKEN, APP_SECRET);
        assert_eq!(whatsapp("+4912", t, a, "v"), "phone_number_id");
        assert_eq!(whatsapp("1/../1", t, a, "v"), "phone_number_id");
        assert_eq!(whatsapp("1", " ", a, "v"), "access_token");
        assert_eq!(whatsapp("1", t, "", "v"), "app_secret");
        assert_eq!(
            whatsapp("1", t, a, &"v".repeat(MAX_SECRET_LEN + 1)),
            "verify_token"
        );
        assert!(WhatsappCredentials::parse("1", t, a, &"v".repeat(MAX_SECRET_LEN)).is_ok());
    }

    #[test]
    fn every_platform_has_credentials_of_its_kind() {
        let all = [
            Credentials::Telegram(TelegramCredentials::parse(TG_TOKEN, "s").unwrap()),
            Credentials::Discord(
                DiscordCredentials::parse("1", PUBLIC_KEY, DISCORD_TOKEN).unwrap(),
            ),
            Credentials::Messenger(
                MessengerCredentials::parse("1", META_TOKEN, APP_SECRET, "v").unwrap(),
            ),
            Credentials::Whatsapp(
                WhatsappCredentials::parse("1", META_TOKEN, APP_SECRET, "v").unwrap(),
            ),
            Credentials::WebChat(WebChatCredentials::parse(&["https://a.example".into()]).unwrap()),
        ];
        for creds in all {
            let json = serde_json::to_value(&creds).unwrap();
            assert_eq!(json["platform"], creds.kind().as_str());
            let back: Credentials = serde_json::from_value(json).unwrap();
            assert_eq!(back, creds);
            assert!(!format!("{creds:?}").contains("\"t\""), "{creds:?}");
        }
    }

    #[test]
    fn only_meta_platforms_have_a_verify_token() {
        let messenger = Credentials::Messenger(
            MessengerCredentials::parse("1", META_TOKEN, APP_SECRET, "mv").unwrap(),
        );
        let whatsapp = Credentials::Whatsapp(
            WhatsappCredentials::parse("1", META_TOKEN, APP_SECRET, "wv").unwrap(),
        );
        assert_eq!(messenger.verify_token().map(Secret::expose), Some("mv"));
        assert_eq!(whatsapp.verify_token().map(Secret::expose), Some("wv"));
        let telegram = Credentials::Telegram(TelegramCredentials::parse(TG_TOKEN, "s").unwrap());
        assert_eq!(telegram.verify_token(), None);
    }

    #[test]
    fn web_chat_origins_are_checked_and_enforced() {
        let origins = |list: &[&str]| {
            WebChatCredentials::parse(&list.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        };
        let any = origins(&[]).unwrap();
        assert!(any.allows(None) && any.allows(Some("https://evil.example")));
        let listed = origins(&["https://Shop.example", "http://localhost:3000"]).unwrap();
        assert_eq!(listed.allowed_origins[0], "https://shop.example");
        assert!(listed.allows(Some("https://shop.example")));
        assert!(listed.allows(Some("http://localhost:3000")));
        assert!(!listed.allows(Some("https://shop.example.evil")));
        assert!(!listed.allows(Some("http://shop.example")));
        assert!(!listed.allows(None));
        // RFC 6454: case-insensitive scheme and host, the default port the same as none.
        assert!(listed.allows(Some("HTTPS://SHOP.example:443")));
        assert!(!listed.allows(Some("https://shop.example:8443")));
        assert!(!listed.allows(Some("http://localhost:3001")));
        assert!(!listed.allows(Some("null")));
        assert!(!listed.allows(Some("https://shop.example http://localhost:3000")));
        let ported = origins(&["https://shop.example:443", "HTTP://[::1]:80"]).unwrap();
        assert_eq!(
            ported.allowed_origins,
            ["https://shop.example", "http://[::1]"]
        );
        assert!(ported.allows(Some("https://shop.example")));
        assert!(ported.allows(Some("http://[0::1]")));
        // A row stored before origins were canonical still matches its origin.
        let stored = WebChatCredentials {
            allowed_origins: vec!["https://shop.example:443".into()],
        };
        assert!(stored.allows(Some("https://shop.example")));
        for bad in [
            "shop.example",
            "https://",
            "https://shop.example/",
            "https://shop.example/path",
            "ftp://shop.example",
            "https://a b",
        ] {
            assert_eq!(refused(origins(&[bad])), "allowed_origins", "{bad}");
        }
        let many = vec!["https://a.example"; MAX_ALLOWED_ORIGINS + 1];
        assert_eq!(refused(origins(&many)), "allowed_origins");
        let json: Credentials = serde_json::from_str(r#"{"platform":"web_chat"}"#).unwrap();
        assert_eq!(json, Credentials::WebChat(WebChatCredentials::default()));
    }

    #[test]
    fn telegram_modes_default_to_webhook_and_older_rows_read_as_webhooks() {
        let plain = TelegramCredentials::parse(TG_TOKEN, "s").unwrap();
        assert_eq!(plain.mode, TelegramMode::Webhook);
        assert_eq!(plain.account(), "123456");
        let old = serde_json::json!({"platform": "telegram", "token": "1:a", "secret_token": "s"});
        let old: Credentials = serde_json::from_value(old).unwrap();
        assert_eq!(old.telegram_mode(), Some(TelegramMode::Webhook));
        let polling = Credentials::Telegram(plain.with_mode(TelegramMode::Polling));
        let json = serde_json::to_value(&polling).unwrap();
        assert_eq!(json["mode"], "polling");
        let binding = PlatformBinding::new(BotId::new(), polling, Utc::now());
        assert!(binding.polls());
        assert!(!PlatformBinding::new(BotId::new(), old, Utc::now()).polls());
        assert_eq!(
            "polling".parse::<TelegramMode>().unwrap(),
            TelegramMode::Polling
        );
        assert_eq!("push".parse::<TelegramMode>().unwrap_err().field, "mode");
    }

    #[test]
    fn credentials_serialize_with_their_platform_tag() {
        let creds = Credentials::Telegram(TelegramCredentials::parse(TG_TOKEN, "s").unwrap());
        let json = serde_json::to_value(&creds).unwrap();
        assert_eq!(json["platform"], "telegram");
        let back: Credentials = serde_json::from_value(json).unwrap();
        assert_eq!(back, creds);
    }
}
