//! The wire form of a fanned-out event: the event and the process that published it.

use domain::PublishedEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The publishing process, so that it can skip its own events coming back.
    pub origin: Uuid,
    pub event: PublishedEvent,
}

impl Envelope {
    /// The event, if this payload is an envelope from another process; malformed payloads
    /// (another version, another publisher) are skipped.
    pub fn foreign(payload: &[u8], me: Uuid) -> Option<PublishedEvent> {
        match serde_json::from_slice::<Envelope>(payload) {
            Ok(envelope) if envelope.origin != me => Some(envelope.event),
            Ok(_) => None,
            Err(error) => {
                tracing::debug!(%error, "skipping a payload that is no event");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{BotId, ConversationId, DomainEvent, EventId};

    #[test]
    fn own_and_malformed_payloads_are_skipped() {
        let id = EventId::new();
        let event = PublishedEvent {
            id,
            at: id.created_at().unwrap(),
            event: DomainEvent::ConversationEnded {
                bot_id: BotId::new(),
                conversation_id: ConversationId::new(),
            },
        };
        let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
        let payload = serde_json::to_vec(&Envelope {
            origin: other,
            event: event.clone(),
        })
        .unwrap();
        assert_eq!(Envelope::foreign(&payload, me), Some(event));
        assert_eq!(Envelope::foreign(&payload, other), None);
        assert_eq!(Envelope::foreign(b"{\"type\":\"nope\"}", me), None);
    }
}
