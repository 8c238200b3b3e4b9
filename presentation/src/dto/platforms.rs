//! Binding bodies: each platform's credentials object in, the binding (never its secrets) out.

use crate::errors::ApiError;
use application::Bound;
use chrono::{DateTime, Utc};
use domain::platform::{MAX_ALLOWED_ORIGINS, MAX_ID_DIGITS, MAX_SECRET_LEN};
use domain::{
    BotId, Credentials, DiscordCredentials, MessengerCredentials, PlatformBinding, PlatformKind,
    TelegramCredentials, TelegramMode, ValidationError, WebChatCredentials, WhatsappCredentials,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use validator::Validate;

/// The domain's bounds, as `validator` counts them.
const SECRET_MAX: u64 = MAX_SECRET_LEN as u64;
const ID_MAX: u64 = MAX_ID_DIGITS as u64;
const ORIGINS_MAX: u64 = MAX_ALLOWED_ORIGINS as u64;

/// A platform's credentials body: checked field by field, then parsed into the domain's shape.
trait CredentialsBody: DeserializeOwned + Validate {
    fn parse(self) -> Result<Credentials, ValidationError>;
}

/// A required field, once `validate` has made sure it is present.
fn text(field: &Option<String>) -> &str {
    field.as_deref().unwrap_or_default()
}

/// Telegram's credentials: `{token, secret_token, mode?}`; `mode` is `webhook` (the default)
/// or `polling`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TelegramCredentials)]
pub(crate) struct TelegramBody {
    /// The bot token from @BotFather: the bot's id, `:`, then at least 30 characters of
    /// A-Z, a-z, 0-9, _ and - (it goes in the Bot API's URL path).
    #[validate(required, length(min = 1, max = SECRET_MAX))]
    #[schema(value_type = String, required = true, max_length = 2048,
             pattern = "^[0-9]{1,20}:[A-Za-z0-9_-]{30,}$")]
    token: Option<String>,
    /// The webhook secret Telegram echoes in `X-Telegram-Bot-Api-Secret-Token`.
    #[validate(required, length(min = 1, max = 256))]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 256,
             pattern = "^[A-Za-z0-9_-]{1,256}$")]
    secret_token: Option<String>,
    #[schema(value_type = Option<crate::openapi::schemas::TelegramMode>)]
    mode: Option<String>,
}

impl CredentialsBody for TelegramBody {
    fn parse(self) -> Result<Credentials, ValidationError> {
        let mode = self.mode.as_deref().map(str::parse).transpose()?;
        let credentials = TelegramCredentials::parse(text(&self.token), text(&self.secret_token))?;
        Ok(Credentials::Telegram(
            credentials.with_mode(mode.unwrap_or_default()),
        ))
    }
}

/// Discord's credentials: `{application_id, public_key, bot_token, gateway?}`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DiscordCredentials)]
pub(crate) struct DiscordBody {
    /// The application's snowflake id (digits that fit in 64 bits).
    #[validate(required, length(min = 1, max = 20))]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 20,
             pattern = "^[0-9]{1,20}$")]
    application_id: Option<String>,
    /// The interactions endpoint's Ed25519 public key, in hex.
    #[validate(required, length(equal = 64))]
    #[schema(value_type = String, required = true, min_length = 64, max_length = 64,
             pattern = "^[0-9A-Fa-f]{64}$")]
    public_key: Option<String>,
    /// The bot token: three parts of A-Z, a-z, 0-9, _ and - joined by dots.
    #[validate(required, length(min = 1, max = SECRET_MAX))]
    #[schema(value_type = String, required = true, max_length = 2048,
             pattern = "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$")]
    bot_token: Option<String>,
    /// Gateway mode: also receive direct messages and mentions over Discord's gateway
    /// (default `false`: slash commands through the interactions endpoint only).
    #[serde(default)]
    gateway: bool,
}

impl CredentialsBody for DiscordBody {
    fn parse(self) -> Result<Credentials, ValidationError> {
        DiscordCredentials::parse(
            text(&self.application_id),
            text(&self.public_key),
            text(&self.bot_token),
        )
        .map(|credentials| Credentials::Discord(credentials.with_gateway(self.gateway)))
    }
}

/// Messenger's credentials: `{page_id, page_access_token, app_secret, verify_token}`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MessengerCredentials)]
pub(crate) struct MessengerBody {
    #[validate(required, length(min = 1, max = ID_MAX))]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 32,
             pattern = "^[0-9]{1,32}$")]
    page_id: Option<String>,
    /// A page access token, sent as a bearer token: RFC 6750's `b64token`.
    #[validate(required, length(min = 1, max = SECRET_MAX))]
    #[schema(value_type = String, required = true, max_length = 2048,
             pattern = "^[A-Za-z0-9._~+/-]+=*$")]
    page_access_token: Option<String>,
    /// The Meta app's secret: 32 hexadecimal characters.
    #[validate(required, length(min = 1, max = SECRET_MAX))]
    #[schema(value_type = String, required = true, min_length = 32, max_length = 32,
             pattern = "^[0-9A-Fa-f]{32}$")]
    app_secret: Option<String>,
    /// The subscription handshake's token, chosen by you: visible ASCII without spaces.
    #[validate(required, length(min = 1, max = SECRET_MAX))]
    #[schema(value_type = String, required = true, max_length = 2048, pattern = "^[!-~]+$")]
    verify_token: Option<String>,
}

impl CredentialsBody for MessengerBody {
    fn parse(self) -> Result<Credentials, ValidationError> {
        MessengerCredentials::parse(
            text(&self.page_id),
            text(&self.page_access_token),
            text(&self.app_secret),
            text(&self.verify_token),
        )
        .map(Credentials::Messenger)
    }
}

/// WhatsApp's credentials: `{phone_number_id, access_token, app_secret, verify_token}`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WhatsappCredentials)]
pub(crate) struct WhatsappBody {
    #[validate(required, length(min = 1, max = ID_MAX))]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 32,
             pattern = "^[0-9]{1,32}$")]
    phone_number_id: Option<String>,
    /// A system user's access token, sent as a bearer token: RFC 6750's `b64token`.
    #[validate(required, length(min = 1, max = SECRET_MAX))]
    #[schema(value_type = String, required = true, max_length = 2048,
             pattern = "^[A-Za-z0-9._~+/-]+=*$")]
    access_token: Option<String>,
    /// The Meta app's secret: 32 hexadecimal characters.
    #[validate(required, length(min = 1, max = SECRET_MAX))]
    #[schema(value_type = String, required = true, min_length = 32, max_length = 32,
             pattern = "^[0-9A-Fa-f]{32}$")]
    app_secret: Option<String>,
    /// The subscription handshake's token, chosen by you: visible ASCII without spaces.
    #[validate(required, length(min = 1, max = SECRET_MAX))]
    #[schema(value_type = String, required = true, max_length = 2048, pattern = "^[!-~]+$")]
    verify_token: Option<String>,
}

impl CredentialsBody for WhatsappBody {
    fn parse(self) -> Result<Credentials, ValidationError> {
        WhatsappCredentials::parse(
            text(&self.phone_number_id),
            text(&self.access_token),
            text(&self.app_secret),
            text(&self.verify_token),
        )
        .map(Credentials::Whatsapp)
    }
}

/// The web chat's settings: `{allowed_origins?}`, the page origins whose sockets are accepted
/// (none: any).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WebChatCredentials)]
pub(crate) struct WebChatBody {
    #[validate(length(max = ORIGINS_MAX))]
    #[schema(value_type = Option<Vec<String>>)]
    allowed_origins: Option<Vec<String>>,
}

impl CredentialsBody for WebChatBody {
    fn parse(self) -> Result<Credentials, ValidationError> {
        WebChatCredentials::parse(&self.allowed_origins.unwrap_or_default())
            .map(Credentials::WebChat)
    }
}

/// Reads one platform's body: 400 when it is no such object (unknown fields included), 422
/// naming the field when one is missing or invalid.
fn read<B: CredentialsBody>(body: Value) -> Result<Credentials, ApiError> {
    let body: B =
        serde_json::from_value(body).map_err(|err| ApiError::MalformedJson(err.to_string()))?;
    body.validate()?;
    Ok(body.parse()?)
}

/// Parses the `PUT` body for `kind`'s credentials.
pub fn credentials_from(kind: PlatformKind, body: Value) -> Result<Credentials, ApiError> {
    match kind {
        PlatformKind::Telegram => read::<TelegramBody>(body),
        PlatformKind::Discord => read::<DiscordBody>(body),
        PlatformKind::Messenger => read::<MessengerBody>(body),
        PlatformKind::Whatsapp => read::<WhatsappBody>(body),
        PlatformKind::WebChat => read::<WebChatBody>(body),
    }
}

/// A binding as the API shows it: where webhooks go, never the credentials.
#[derive(Debug, Serialize, ToSchema)]
pub struct BindingBody {
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub bot_id: BotId,
    #[schema(value_type = crate::openapi::schemas::Platform)]
    pub platform: PlatformKind,
    /// Where the platform must send its webhooks.
    pub webhook_url: String,
    /// Telegram only: `webhook`, or `polling` when Switchboard fetches the updates itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::openapi::schemas::TelegramMode>)]
    pub mode: Option<TelegramMode>,
    /// Only in the answer to a `PUT`: whether the platform was told the URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_registered: Option<bool>,
    /// Discord only: whether the bot listens on the gateway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<bool>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl BindingBody {
    pub fn new(binding: PlatformBinding, webhook_url: String) -> Self {
        let gateway = match &binding.credentials {
            Credentials::Discord(credentials) => Some(credentials.gateway),
            _ => None,
        };
        Self {
            bot_id: binding.bot_id,
            platform: binding.kind(),
            mode: binding.credentials.telegram_mode(),
            webhook_url,
            webhook_registered: None,
            gateway,
            created_at: binding.created_at,
            updated_at: binding.updated_at,
        }
    }
}

impl From<Bound> for BindingBody {
    fn from(bound: Bound) -> Self {
        Self {
            webhook_registered: Some(bound.webhook_registered),
            ..Self::new(bound.binding, bound.webhook_url)
        }
    }
}
