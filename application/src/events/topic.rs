//! The topics an operator's client subscribes to: `bots/{id}`, `conversations/{id}` and
//! `handoffs`, and the scope of events a set of them covers.

use crate::ports::EventScope;
use domain::{BotId, ConversationId, DomainEvent};
use std::collections::BTreeSet;
use std::fmt;
use thiserror::Error;

/// The most topics one client may follow.
pub const MAX_TOPICS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    /// Every event of one bot's conversations.
    Bot(BotId),
    /// Every event of one conversation.
    Conversation(ConversationId),
    /// Conversations handed to a person or given back, of every bot.
    Handoffs,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TopicError {
    #[error("unknown topic `{0}`: expected `bots/{{id}}`, `conversations/{{id}}` or `handoffs`")]
    Unknown(String),
    #[error("at most {MAX_TOPICS} topics may be followed at once")]
    TooMany,
}

impl Topic {
    pub fn parse(text: &str) -> Result<Self, TopicError> {
        let unknown = || TopicError::Unknown(text.chars().take(100).collect());
        if text == "handoffs" {
            return Ok(Self::Handoffs);
        }
        let (kind, id) = text.split_once('/').ok_or_else(unknown)?;
        match kind {
            "bots" => id.parse().map(Self::Bot).map_err(|_| unknown()),
            "conversations" => id.parse().map(Self::Conversation).map_err(|_| unknown()),
            _ => Err(unknown()),
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bot(id) => write!(f, "bots/{id}"),
            Self::Conversation(id) => write!(f, "conversations/{id}"),
            Self::Handoffs => f.write_str("handoffs"),
        }
    }
}

/// The topics one client follows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topics {
    followed: BTreeSet<Topic>,
}

impl Topics {
    /// Adds every topic of `texts`, or none if one is unknown or the cap would be passed;
    /// answers the scope of the topics that are new.
    pub fn add(&mut self, texts: &[String]) -> Result<EventScope, TopicError> {
        let topics = texts
            .iter()
            .map(|text| Topic::parse(text))
            .collect::<Result<BTreeSet<_>, _>>()?;
        let new: BTreeSet<Topic> = topics.difference(&self.followed).copied().collect();
        if self.followed.len() + new.len() > MAX_TOPICS {
            return Err(TopicError::TooMany);
        }
        self.followed.extend(new.iter().copied());
        Ok(scope(&new))
    }

    /// Stops following `texts` (unknown or unfollowed ones are ignored).
    pub fn remove(&mut self, texts: &[String]) {
        for topic in texts.iter().filter_map(|text| Topic::parse(text).ok()) {
            self.followed.remove(&topic);
        }
    }

    pub fn covers(&self, event: &DomainEvent) -> bool {
        self.scope().covers(event)
    }

    pub fn scope(&self) -> EventScope {
        scope(&self.followed)
    }

    /// The topics, as their clients write them.
    pub fn names(&self) -> Vec<String> {
        self.followed.iter().map(ToString::to_string).collect()
    }
}

fn scope(topics: &BTreeSet<Topic>) -> EventScope {
    let mut scope = EventScope::default();
    for topic in topics {
        match *topic {
            Topic::Bot(id) => scope.bots.push(id),
            Topic::Conversation(id) => scope.conversations.push(id),
            Topic::Handoffs => scope.handoffs = true,
        }
    }
    scope
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(topics: &[&str]) -> Vec<String> {
        topics.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn topics_parse_and_print_as_clients_write_them() {
        let bot = BotId::new();
        let conversation = ConversationId::new();
        for text in [
            format!("bots/{bot}"),
            format!("conversations/{conversation}"),
            "handoffs".into(),
        ] {
            assert_eq!(Topic::parse(&text).unwrap().to_string(), text);
        }
        for bad in ["bots", "bots/", "bots/x", "users/1", "handoffs/1", ""] {
            assert!(
                matches!(Topic::parse(bad), Err(TopicError::Unknown(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn adding_is_all_or_nothing_and_answers_only_the_new_topics_scope() {
        let (bot, other) = (BotId::new(), BotId::new());
        let mut topics = Topics::default();
        let scope = topics.add(&texts(&[&format!("bots/{bot}")])).unwrap();
        assert_eq!(scope.bots, [bot]);
        let unknown = topics.add(&texts(&[&format!("bots/{other}"), "nope"]));
        assert!(matches!(unknown, Err(TopicError::Unknown(ref t)) if t == "nope"));
        assert_eq!(topics.names(), [format!("bots/{bot}")]);
        let scope = topics
            .add(&texts(&[&format!("bots/{bot}"), "handoffs"]))
            .unwrap();
        assert!(scope.bots.is_empty() && scope.handoffs);
        topics.remove(&texts(&["handoffs", "nope"]));
        assert_eq!(topics.names(), [format!("bots/{bot}")]);
    }

    #[test]
    fn no_more_than_the_cap_are_followed() {
        let mut topics = Topics::default();
        let many: Vec<String> = (0..MAX_TOPICS)
            .map(|_| format!("bots/{}", BotId::new()))
            .collect();
        topics.add(&many).unwrap();
        assert_eq!(topics.add(&texts(&["handoffs"])), Err(TopicError::TooMany));
        assert!(topics.add(&many[..3]).is_ok(), "followed ones are not new");
    }

    #[test]
    fn the_scope_covers_the_events_of_its_topics() {
        let (bot, conversation) = (BotId::new(), ConversationId::new());
        let mut topics = Topics::default();
        topics
            .add(&texts(&[
                &format!("conversations/{conversation}"),
                "handoffs",
            ]))
            .unwrap();
        let ended = |bot_id, conversation_id| DomainEvent::ConversationEnded {
            bot_id,
            conversation_id,
        };
        assert!(topics.covers(&ended(bot, conversation)));
        assert!(!topics.covers(&ended(bot, ConversationId::new())));
        let handed = DomainEvent::ConversationHandedOff {
            bot_id: BotId::new(),
            conversation_id: ConversationId::new(),
        };
        assert!(topics.covers(&handed));
    }
}
