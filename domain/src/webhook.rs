//! The Webhook entity: an operator's subscription to Switchboard's events, sent signed to a URL — which events, of which bots, whether it is still enabled — and what became of each delivery.

use crate::{BotId, ConversationId, DeliveryId, DomainEvent, EventId, Secret, TextRule};
use crate::{ValidationError, WebhookId};
use chrono::{DateTime, Utc};
use std::net::IpAddr;

/// Where events are posted: an absolute `http` or `https` URL with a host, without credentials
/// or fragment (a query is kept: some receivers take their token there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub const MAX_CHARS: usize = 2048;

    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let invalid = |reason: &str| ValidationError::new("url", reason);
        let url = value.trim();
        if url.chars().count() > Self::MAX_CHARS {
            return Err(invalid("must be at most 2048 characters"));
        }
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| invalid("must be an http:// or https:// URL"))?;
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if authority.contains('@') || url.contains('#') {
            return Err(invalid("must not carry credentials or a fragment"));
        }
        if url.chars().any(char::is_whitespace) {
            return Err(invalid("must not contain spaces"));
        }
        TextRule::SingleLine.check("url", url)?;
        let parsed = Self(url.to_owned());
        if parsed.host().is_empty() {
            return Err(invalid("must name a host"));
        }
        Ok(parsed)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host, lower case, without port or an IPv6 address's brackets.
    pub fn host(&self) -> String {
        let rest = self.0.split_once("://").map_or("", |(_, rest)| rest);
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let host = match authority.strip_prefix('[') {
            Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        };
        host.to_ascii_lowercase()
    }

    /// Whether the URL names this machine or a private network by itself: `localhost` (and
    /// its subdomains), or a literal address [`is_private_address`] refuses. A name that
    /// resolves to such an address is caught when it is resolved, at delivery.
    pub fn names_a_private_target(&self) -> bool {
        let host = self.host();
        let host = host.trim_end_matches('.');
        host == "localhost"
            || host.ends_with(".localhost")
            || host.parse::<IpAddr>().is_ok_and(is_private_address)
    }
}

/// Whether `ip` is not on the public internet: loopback, private (RFC 1918, unique local),
/// link-local, carrier-grade NAT, unspecified, broadcast, documentation or multicast —
/// IPv4 addresses mapped into IPv6 included. Outgoing webhooks refuse these (SSRF) unless
/// the operator allows them.
pub fn is_private_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// The events a webhook wants: all of them (`["*"]`), or those named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSelection {
    All,
    Only(Vec<String>),
}

impl EventSelection {
    /// The name that subscribes to every event.
    pub const ALL: &'static str = "*";

    /// At least one name, each an event's public name (see [`DomainEvent::PUBLIC_NAMES`]), or
    /// `*` alone; repeats are dropped.
    pub fn parse(names: &[String]) -> Result<Self, ValidationError> {
        let invalid = |reason: String| ValidationError::new("events", reason);
        if names.is_empty() {
            return Err(invalid("must name at least one event, or \"*\"".into()));
        }
        if names.iter().any(|name| name == Self::ALL) {
            return match names.len() {
                1 => Ok(Self::All),
                _ => Err(invalid("\"*\" stands alone".into())),
            };
        }
        let mut only: Vec<String> = Vec::with_capacity(names.len());
        for name in names {
            if !DomainEvent::PUBLIC_NAMES.contains(&name.as_str()) {
                let known = DomainEvent::PUBLIC_NAMES.join(", ");
                return Err(invalid(format!("{name:?} is not an event: one of {known}")));
            }
            if !only.contains(name) {
                only.push(name.clone());
            }
        }
        Ok(Self::Only(only))
    }

    pub fn covers(&self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(names) => names.iter().any(|n| n == name),
        }
    }

    /// As the API shows it: `["*"]`, or the names.
    pub fn names(&self) -> Vec<String> {
        match self {
            Self::All => vec![Self::ALL.to_owned()],
            Self::Only(names) => names.clone(),
        }
    }
}

/// What an operator sets on a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDraft {
    pub url: WebhookUrl,
    pub events: EventSelection,
    /// Only these bots' events; `None`: every bot's.
    pub bot_ids: Option<Vec<BotId>>,
    /// `whsec_` and the base64 of the key its signatures are made with; never shown again.
    pub secret: Secret,
}

/// The most bots one webhook may name.
pub const MAX_WEBHOOK_BOTS: usize = 100;

impl WebhookDraft {
    /// Checks what the fields cannot check alone.
    pub fn validated(self) -> Result<Self, ValidationError> {
        if let Some(bots) = &self.bot_ids {
            if bots.is_empty() || bots.len() > MAX_WEBHOOK_BOTS {
                return Err(ValidationError::new(
                    "bot_ids",
                    "must name from 1 to 100 bots (leave it out for every bot)",
                ));
            }
        }
        Ok(self)
    }
}

/// An outgoing webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub url: WebhookUrl,
    pub events: EventSelection,
    pub bot_ids: Option<Vec<BotId>>,
    pub secret: Secret,
    /// Failed attempts since the last success; at the threshold the webhook is disabled.
    pub failures: u32,
    /// When it was disabled, and why; nothing is sent to it meanwhile.
    pub disabled: Option<Disabled>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why and since when a webhook gets nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disabled {
    pub at: DateTime<Utc>,
    pub reason: String,
}

impl Webhook {
    pub fn create(draft: WebhookDraft, now: DateTime<Utc>) -> Self {
        Self {
            id: WebhookId::new(),
            url: draft.url,
            events: draft.events,
            bot_ids: draft.bot_ids,
            secret: draft.secret,
            failures: 0,
            disabled: None,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn draft(&self) -> WebhookDraft {
        WebhookDraft {
            url: self.url.clone(),
            events: self.events.clone(),
            bot_ids: self.bot_ids.clone(),
            secret: self.secret.clone(),
        }
    }

    pub fn revise(&mut self, draft: WebhookDraft, now: DateTime<Utc>) {
        self.url = draft.url;
        self.events = draft.events;
        self.bot_ids = draft.bot_ids;
        self.secret = draft.secret;
        self.updated_at = now;
    }

    /// Enabled again (with its failures forgotten), or disabled by the operator.
    pub fn set_enabled(&mut self, enabled: bool, now: DateTime<Utc>) {
        match (enabled, &self.disabled) {
            (true, _) => {
                self.disabled = None;
                self.failures = 0;
            }
            (false, None) => {
                self.disabled = Some(Disabled {
                    at: now,
                    reason: "disabled by an operator".into(),
                });
            }
            (false, Some(_)) => {}
        }
        self.updated_at = now;
    }

    /// Whether `event` is sent to this webhook: it is enabled, subscribes to the event's
    /// public name, and to its bot.
    pub fn wants(&self, event: &DomainEvent) -> bool {
        let Some(name) = event.public_name() else {
            return false;
        };
        self.disabled.is_none()
            && self.events.covers(name)
            && (self.bot_ids.as_ref()).is_none_or(|bots| bots.contains(&event.bot_id()))
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Queued, or waiting for its next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up: out of attempts, or the webhook was disabled; a retry sends it again.
    Failed,
}

impl DeliveryState {
    pub const ALL: [Self; 3] = [Self::Pending, Self::Delivered, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == value)
    }
}

/// One event sent to one webhook: the body is fixed when the event happens, and every attempt
/// sends it under the event's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub event_id: EventId,
    pub event_type: String,
    pub bot_id: BotId,
    pub conversation_id: ConversationId,
    /// The JSON posted.
    pub body: String,
    pub state: DeliveryState,
    pub attempts: Vec<DeliveryAttempt>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One try at posting a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    /// The receiver's status code, if it answered.
    pub status: Option<u16>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    pub duration_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn a_url_keeps_its_query_and_refuses_credentials_fragments_and_other_schemes() {
        let url = WebhookUrl::parse(" https://hooks.example.com:8443/in?token=x ").unwrap();
        assert_eq!(url.as_str(), "https://hooks.example.com:8443/in?token=x");
        assert_eq!(url.host(), "hooks.example.com");
        for bad in [
            "ftp://example.com",
            "https://user:pw@example.com/",
            "https://example.com/#part",
            "https:///path",
            "https://exa mple.com",
        ] {
            assert_eq!(WebhookUrl::parse(bad).unwrap_err().field, "url", "{bad}");
        }
    }

    #[test]
    fn loopback_private_and_link_local_targets_are_told_apart_from_public_ones() {
        let private = [
            "http://localhost:8080/",
            "http://api.localhost/",
            "http://127.0.0.1/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]:9000/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
        ];
        for url in private {
            assert!(
                WebhookUrl::parse(url).unwrap().names_a_private_target(),
                "{url}"
            );
        }
        for url in [
            "https://example.com/",
            "http://93.184.216.34/",
            "http://[2606:4700::1]/",
        ] {
            assert!(
                !WebhookUrl::parse(url).unwrap().names_a_private_target(),
                "{url}"
            );
        }
    }

    #[test]
    fn events_are_named_or_all_and_nothing_else() {
        assert_eq!(
            EventSelection::parse(&names(&["*"])).unwrap(),
            EventSelection::All
        );
        let only = EventSelection::parse(&names(&["message.sent", "message.sent"])).unwrap();
        assert_eq!(only.names(), ["message.sent"]);
        assert!(only.covers("message.sent") && !only.covers("message.received"));
        for bad in [&[][..], &["*", "message.sent"][..], &["message.edited"][..]] {
            assert_eq!(
                EventSelection::parse(&names(bad)).unwrap_err().field,
                "events"
            );
        }
    }

    #[test]
    fn a_webhook_wants_its_events_of_its_bots_while_enabled() {
        let (bot, other) = (BotId::new(), BotId::new());
        let draft = WebhookDraft {
            url: WebhookUrl::parse("https://example.com/").unwrap(),
            events: EventSelection::parse(&names(&["conversation.ended"])).unwrap(),
            bot_ids: Some(vec![bot]),
            secret: Secret::new("whsec_a"),
        };
        let mut webhook = Webhook::create(draft, Utc::now());
        let ended = |bot_id| DomainEvent::ConversationEnded {
            bot_id,
            conversation_id: ConversationId::new(),
        };
        let handed = DomainEvent::ConversationHandedOff {
            bot_id: bot,
            conversation_id: ConversationId::new(),
        };
        assert!(webhook.wants(&ended(bot)));
        assert!(!webhook.wants(&ended(other)) && !webhook.wants(&handed));
        webhook.set_enabled(false, Utc::now());
        assert!(!webhook.wants(&ended(bot)));
        webhook.failures = 3;
        webhook.set_enabled(true, Utc::now());
        assert!(webhook.wants(&ended(bot)) && webhook.failures == 0);
    }
}
