//! A reply shown as the model writes it: the pieces of a streamed answer announced as `ReplyDelta` events, gathered so that a fast model makes a few events a second, not one per token.

use crate::ports::{AnswerSink, EventPublisher};
use domain::{BotId, ConversationId, DomainEvent, MessageId};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The least time between two announced pieces of one answer.
pub const GATHER: Duration = Duration::from_millis(50);

/// Announces the pieces of the answer to one message.
pub struct AnnouncedAnswer {
    events: Arc<dyn EventPublisher>,
    bot_id: BotId,
    conversation_id: ConversationId,
    /// The message being answered.
    message_id: MessageId,
    gather: Duration,
    waiting: Mutex<Waiting>,
}

/// Pieces not announced yet, and when the last announcement went.
struct Waiting {
    text: String,
    announced: Option<Instant>,
}

impl AnnouncedAnswer {
    pub fn new(
        events: Arc<dyn EventPublisher>,
        (bot_id, conversation_id, message_id): (BotId, ConversationId, MessageId),
        gather: Duration,
    ) -> Self {
        Self {
            events,
            bot_id,
            conversation_id,
            message_id,
            gather,
            waiting: Mutex::new(Waiting {
                text: String::new(),
                announced: None,
            }),
        }
    }

    /// Announces whatever is still gathered.
    pub fn flush(&self) {
        let delta = std::mem::take(&mut self.lock().text);
        self.announce(delta);
    }

    fn announce(&self, delta: String) {
        if delta.is_empty() {
            return;
        }
        self.events.publish(DomainEvent::ReplyDelta {
            bot_id: self.bot_id,
            conversation_id: self.conversation_id,
            message_id: self.message_id,
            delta,
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl AnswerSink for AnnouncedAnswer {
    fn piece(&self, text: &str) {
        let due = {
            let mut waiting = self.lock();
            waiting.text.push_str(text);
            let now = Instant::now();
            let due = waiting
                .announced
                .is_none_or(|at| now.duration_since(at) >= self.gather);
            if !due {
                return;
            }
            waiting.announced = Some(now);
            std::mem::take(&mut waiting.text)
        };
        self.announce(due);
    }

    fn restart(&self) {
        self.lock().text.clear();
        self.events.publish(DomainEvent::ReplyRestarted {
            bot_id: self.bot_id,
            conversation_id: self.conversation_id,
            message_id: self.message_id,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockEventPublisher;

    fn recorded() -> (Arc<Mutex<Vec<DomainEvent>>>, MockEventPublisher) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut events = MockEventPublisher::new();
        let kept = seen.clone();
        events
            .expect_publish()
            .returning(move |event| kept.lock().unwrap().push(event));
        (seen, events)
    }

    fn deltas(seen: &Mutex<Vec<DomainEvent>>) -> Vec<String> {
        seen.lock()
            .unwrap()
            .iter()
            .map(|event| match event {
                DomainEvent::ReplyDelta { delta, .. } => delta.clone(),
                DomainEvent::ReplyRestarted { .. } => "<restart>".to_owned(),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    fn answer(events: MockEventPublisher, gather: Duration) -> AnnouncedAnswer {
        let ids = (BotId::new(), ConversationId::new(), MessageId::new());
        AnnouncedAnswer::new(Arc::new(events), ids, gather)
    }

    #[test]
    fn pieces_within_the_gathering_time_go_out_together_and_the_rest_on_flush() {
        let (seen, events) = recorded();
        let answer = answer(events, Duration::from_secs(60));
        for piece in ["Hel", "lo", " there"] {
            answer.piece(piece);
        }
        answer.flush();
        answer.flush();
        assert_eq!(deltas(&seen), ["Hel", "lo there"]);
    }

    #[test]
    fn a_restart_drops_what_was_gathered_and_says_so() {
        let (seen, events) = recorded();
        let answer = answer(events, Duration::ZERO);
        answer.piece("Half");
        answer.restart();
        answer.piece("Whole");
        answer.flush();
        assert_eq!(deltas(&seen), ["Half", "<restart>", "Whole"]);
    }
}
