//! The REST channel's streamed answer: one asked message's reply followed through the events — its pieces as the model writes them, then the stored reply, or `Pending` once the wait is over.

use super::WebChatError;
use domain::repositories::MessageRepository;
use domain::{ConversationId, DomainEvent, Message, MessageId};
use futures::future::{self, BoxFuture, Either};
use futures::stream::{self, BoxStream};
use futures::StreamExt;
use std::sync::Arc;

/// What the asker hears, in order; `Reply` or `Pending` ends it.
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    /// The reply's next piece.
    Piece(String),
    /// The reply starts again: the pieces so far are void.
    Restart,
    Reply(Box<Message>),
    /// No reply within the wait: poll the conversation's messages.
    Pending,
}

/// Finds the stored reply to a message among its conversation's latest.
#[derive(Clone)]
pub(super) struct Replies {
    pub messages: Arc<dyn MessageRepository>,
    pub history: u32,
}

impl Replies {
    pub async fn to(
        &self,
        conversation_id: ConversationId,
        question: MessageId,
    ) -> Result<Option<Message>, WebChatError> {
        let recent = self.messages.recent(conversation_id, self.history).await?;
        Ok(recent
            .into_iter()
            .find(|message| message.reply_to == Some(question)))
    }
}

/// One asked message, followed.
pub(super) struct Followed {
    pub events: BoxStream<'static, DomainEvent>,
    pub deadline: BoxFuture<'static, ()>,
    pub replies: Replies,
    pub conversation_id: ConversationId,
    pub question: MessageId,
}

/// What `followed` hears, ending with the reply or `Pending`.
pub(super) fn following(followed: Followed) -> BoxStream<'static, Heard> {
    stream::unfold(Some(followed), |state| async move {
        let mut followed = state?;
        let heard = followed.next().await;
        let ended = matches!(heard, Heard::Reply(_) | Heard::Pending);
        Some((heard, (!ended).then_some(followed)))
    })
    .boxed()
}

impl Followed {
    /// The next thing heard: a piece of the reply, a restart, the reply once stored, or, when
    /// the wait is over (or the events end), the reply if it is there after all, else `Pending`.
    async fn next(&mut self) -> Heard {
        loop {
            let event = match future::select(self.events.next(), &mut self.deadline).await {
                Either::Left((Some(event), _)) => event,
                Either::Left((None, _)) | Either::Right(_) => {
                    return last_look(&self.replies, self.conversation_id, self.question).await
                }
            };
            match event {
                DomainEvent::ReplyDelta {
                    message_id, delta, ..
                } if message_id == self.question => return Heard::Piece(delta),
                DomainEvent::ReplyRestarted { message_id, .. } if message_id == self.question => {
                    return Heard::Restart
                }
                DomainEvent::ReplyStored {
                    conversation_id, ..
                } if conversation_id == self.conversation_id => {
                    let found = self.replies.to(conversation_id, self.question).await;
                    if let Ok(Some(reply)) = found {
                        return Heard::Reply(Box::new(reply));
                    }
                }
                _ => {}
            }
        }
    }
}

/// The events may have been missed (another replica, a lagging bus): look once more.
async fn last_look(
    replies: &Replies,
    conversation_id: ConversationId,
    question: MessageId,
) -> Heard {
    match replies.to(conversation_id, question).await {
        Ok(Some(reply)) => Heard::Reply(Box::new(reply)),
        _ => Heard::Pending,
    }
}
