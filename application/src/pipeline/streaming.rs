//! A reply shown as the model writes it: in the web chat, the pieces of a streamed answer announced as `ReplyDelta` events, gathered so that a fast model makes a few events a second, not one per token; on a platform with drafts, the chat's draft updated at most once a second in the chat's pacing turn.

use crate::format;
use crate::jobs::Target;
use crate::pacing::Pacer;
use crate::ports::{AnswerSink, EventPublisher, Recipient, SendError, Timer};
use domain::{BotId, ConversationId, DomainEvent, MessageId};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The least time between two announced pieces of one answer.
pub const GATHER: Duration = Duration::from_millis(50);
/// The least time between two updates of a chat's draft.
pub const DRAFT_EVERY: Duration = Duration::from_secs(1);

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

/// The text of a reply being written, so far, for its draft.
pub struct DraftText(watch::Sender<String>);

impl DraftText {
    /// The sink and what reads it.
    pub fn new() -> (Self, watch::Receiver<String>) {
        let (sender, receiver) = watch::channel(String::new());
        (Self(sender), receiver)
    }
}

impl AnswerSink for DraftText {
    fn piece(&self, text: &str) {
        self.0.send_modify(|so_far| so_far.push_str(text));
    }

    fn restart(&self) {
        self.0.send_modify(String::clear);
    }
}

/// The draft id of the reply to `message`: the same on every attempt, never 0.
pub fn draft_id(message: MessageId) -> i64 {
    let mut hasher = std::hash::DefaultHasher::new();
    message.hash(&mut hasher);
    i64::from((hasher.finish() % u64::from(u32::MAX >> 1)) as u32) + 1
}

/// Keeps the chat's draft of the reply to `target.message` up to what `text` holds: at most
/// once every [`DRAFT_EVERY`], each update in the chat's pacing turn (skipped when that is far
/// off), a 429 waited out and pushed onto the pacing. Returns once the platform shows no draft
/// in this chat; otherwise runs until dropped, when the answer is done.
pub async fn keep_draft(
    target: &Target,
    mut text: watch::Receiver<String>,
    pacer: &Pacer,
    timer: &dyn Timer,
) {
    let (kind, bot) = (target.channel.kind(), target.bot.id);
    let draft_id = draft_id(target.message.id);
    let to = Recipient {
        chat: target.chat.clone(),
        reply_handle: target.message.reply_handle.clone(),
        part: 0,
        draft: Some(draft_id),
    };
    while text.changed().await.is_ok() {
        let so_far = text.borrow_and_update().clone();
        if so_far.trim().is_empty() {
            continue;
        }
        let Some(draft) = format::parts(
            &so_far,
            target.channel.markup(),
            target.channel.max_text_len(),
        )
        .into_iter()
        .next() else {
            continue;
        };
        if let Err(wait) = pacer.turn(kind, bot, &target.chat).await {
            timer.sleep(wait).await;
            continue;
        }
        let shown = target
            .channel
            .show_draft(&target.binding, &to, draft_id, &draft)
            .await;
        match shown {
            Ok(true) => {}
            Ok(false) => return,
            Err(SendError::RateLimited { retry_after }) => {
                pacer.back_off(kind, bot, &target.chat, retry_after).await;
                timer.sleep(retry_after).await;
            }
            Err(error) => tracing::debug!(%error, "the draft was not shown"),
        }
        timer.sleep(DRAFT_EVERY).await;
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

    /// Records the waits it is asked for, and waits for none.
    #[derive(Default)]
    struct Waits(Mutex<Vec<Duration>>);

    #[async_trait::async_trait]
    impl Timer for Waits {
        async fn sleep(&self, duration: Duration) {
            self.0.lock().unwrap().push(duration);
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_draft_waits_out_a_429_a_second_between_updates_and_stops_where_none_is_shown() {
        let world = crate::fixtures::World::new();
        let mut channel = crate::fixtures::telegram_channel();
        channel.expect_max_text_len().return_const(4096_usize);
        let mut answers = vec![
            Ok(false),
            Ok(true),
            Err(SendError::RateLimited {
                retry_after: Duration::from_secs(3),
            }),
        ];
        let shown = Arc::new(Mutex::new(Vec::new()));
        let kept = shown.clone();
        channel
            .expect_show_draft()
            .times(3)
            .returning(move |_, _, id, draft| {
                kept.lock().unwrap().push((id, draft.text.clone()));
                answers.pop().unwrap()
            });
        let mut target =
            world.target(world.inbound(domain::MessageContent::Text { text: "hi".into() }));
        target.channel = Arc::new(channel);
        let (text, reader) = DraftText::new();
        let waits = Waits::default();
        let pacer = crate::fixtures::unpaced();

        let drafting = keep_draft(&target, reader, &pacer, &waits);
        let writing = async {
            for piece in ["One", " two", " three"] {
                text.piece(piece);
                tokio::task::yield_now().await;
                tokio::task::yield_now().await;
            }
            // Held open: only the chat's refusal ends the drafts.
            std::future::pending::<()>().await
        };
        tokio::select! {
            () = drafting => {}
            () = writing => unreachable!(),
        }

        let id = draft_id(target.message.id);
        let shown = shown.lock().unwrap().clone();
        assert_eq!(
            shown,
            [
                (id, "One".to_owned()),
                (id, "One two".to_owned()),
                (id, "One two three".to_owned())
            ]
        );
        let waits = waits.0.lock().unwrap().clone();
        // The 429's wait, then the second between updates; none after the refusal.
        assert_eq!(waits, [Duration::from_secs(3), DRAFT_EVERY, DRAFT_EVERY]);
        assert_ne!(id, 0);
    }
}
