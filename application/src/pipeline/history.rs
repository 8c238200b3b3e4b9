//! Building the model's view of a conversation: turns in thread order within a token budget.

use crate::ports::{ChatTurn, TurnRole};
use crate::text::utf16_len;
use domain::{Direction, Message};

/// A rough token estimate: four UTF-16 units a token, plus a little per message.
pub fn estimate_tokens(text: &str) -> usize {
    utf16_len(text).div_ceil(4) + 4
}

/// The turns to send for answering `current`, oldest first and ending with `current`.
///
/// `recent` is what the repository returned (any order). A reply is placed right after the
/// message it answers; messages that came after `current` are left out; the oldest turns are
/// dropped first to stay within `budget` tokens, but `current` is always kept.
pub fn turns_for(recent: &[Message], current: &Message, budget: usize) -> Vec<ChatTurn> {
    let mut thread: Vec<&Message> = recent
        .iter()
        .filter(|m| m.id != current.id && m.thread_anchor() < current.id)
        .collect();
    thread.sort_by_key(|m| (m.thread_anchor(), m.direction == Direction::Outbound, m.id));
    thread.push(current);

    let mut spent = 0;
    let mut kept: Vec<ChatTurn> = Vec::new();
    for message in thread.iter().rev() {
        let turn = to_turn(message);
        spent += estimate_tokens(&turn.content);
        if spent > budget && !kept.is_empty() {
            break;
        }
        kept.push(turn);
    }
    kept.reverse();
    kept
}

fn to_turn(message: &Message) -> ChatTurn {
    let role = match message.direction {
        Direction::Inbound => TurnRole::User,
        Direction::Outbound => TurnRole::Assistant,
    };
    ChatTurn {
        role,
        content: message.content.summary(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use domain::{BotId, ConversationId, ExternalMessageId, MessageContent, PlatformKind};

    fn user(conversation: ConversationId, text: &str) -> Message {
        Message::inbound(
            conversation,
            BotId::new(),
            PlatformKind::Telegram,
            ExternalMessageId::parse(uuid::Uuid::new_v4().to_string()).unwrap(),
            MessageContent::text(text),
            Utc::now(),
        )
    }

    fn contents(turns: &[ChatTurn]) -> Vec<&str> {
        turns.iter().map(|t| t.content.as_str()).collect()
    }

    #[test]
    fn replies_follow_what_they_answer_even_when_stored_later() {
        let c = ConversationId::new();
        let q1 = user(c, "q1");
        let q2 = user(c, "q2");
        let a1 = Message::reply(&q1, "a1", Utc::now()); // stored after q2 arrived
        let turns = turns_for(&[a1, q2.clone(), q1], &q2, 1_000);
        assert_eq!(contents(&turns), vec!["q1", "a1", "q2"]);
        assert_eq!(turns[1].role, TurnRole::Assistant);
        assert_eq!(turns[2].role, TurnRole::User);
    }

    #[test]
    fn later_messages_are_left_out() {
        let c = ConversationId::new();
        let q1 = user(c, "q1");
        let q2 = user(c, "q2");
        let turns = turns_for(&[q2, q1.clone()], &q1, 1_000);
        assert_eq!(contents(&turns), vec!["q1"]);
    }

    #[test]
    fn the_oldest_turns_go_first_when_over_budget() {
        let c = ConversationId::new();
        let old = user(c, &"x".repeat(400));
        let current = user(c, "now");
        let turns = turns_for(&[old, current.clone()], &current, 50);
        assert_eq!(contents(&turns), vec!["now"]);
    }

    #[test]
    fn the_current_message_is_kept_even_alone_over_budget() {
        let c = ConversationId::new();
        let current = user(c, &"y".repeat(4_000));
        assert_eq!(turns_for(&[], &current, 10).len(), 1);
    }
}
