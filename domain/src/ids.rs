//! Typed identifiers: UUIDv7, so that ids sort in creation order.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// Identifies a bot.
    BotId
);
uuid_id!(
    /// Identifies a conversation.
    ConversationId
);
uuid_id!(
    /// Identifies a stored message, inbound or outbound.
    MessageId
);
uuid_id!(
    /// Identifies an admin API key.
    ApiKeyId
);
uuid_id!(
    /// Identifies a model provider.
    ProviderId
);
uuid_id!(
    /// Identifies a broadcast: one message sent to many chats.
    BroadcastId
);
uuid_id!(
    /// Identifies an announced event: time-ordered, so a client resumes after the last it saw.
    EventId
);
uuid_id!(
    /// Identifies an outgoing webhook subscription.
    WebhookId
);
uuid_id!(
    /// Identifies one event's delivery to one outgoing webhook, kept across its attempts.
    DeliveryId
);

impl EventId {
    /// When the id was made, to the millisecond (a UUIDv7 carries it).
    pub fn created_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let (secs, nanos) = self.0.get_timestamp()?.to_unix();
        chrono::DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_in_creation_order_as_text() {
        let ids: Vec<MessageId> = (0..100).map(|_| MessageId::new()).collect();
        let texts: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(texts, sorted);
    }

    #[test]
    fn an_event_id_tells_when_it_was_made() {
        let before = chrono::Utc::now() - chrono::Duration::milliseconds(1);
        let at = EventId::new().created_at().unwrap();
        assert!(at >= before && at <= chrono::Utc::now(), "{at}");
    }

    #[test]
    fn ids_round_trip_through_text() {
        let id = BotId::new();
        assert_eq!(id.to_string().parse::<BotId>().unwrap(), id);
        assert!("not-a-uuid".parse::<BotId>().is_err());
    }
}
