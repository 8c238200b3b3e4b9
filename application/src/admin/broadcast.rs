//! Use case: a broadcast — one message to many chats of a platform, each stored and delivered as a message the bot starts, with its progress and cancellation.

use crate::ports::{Broadcasts, Delivery};
use crate::proactive::{ProactiveError, ProactivePorts, Say};
use domain::{
    BotId, Broadcast, BroadcastId, BroadcastProgress, Conversation, ExternalChatId, PlatformKind,
    RepoError, ValidationError,
};
use futures::{stream, StreamExt, TryStreamExt};
use std::collections::HashSet;
use std::sync::Arc;

/// The most chats one broadcast goes to unless `broadcasts.max_recipients` says otherwise.
pub const DEFAULT_MAX_RECIPIENTS: usize = 1000;
/// How many chats' windows are read at once before a broadcast is stored.
const WINDOW_CHECKS_AT_ONCE: usize = 8;

/// A broadcast as asked for: the platform, its chats, and what to say to each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastRequest {
    pub platform: PlatformKind,
    pub chats: Vec<ExternalChatId>,
    pub say: Say,
}

/// A broadcast with its messages counted by state.
pub type BroadcastView = (Broadcast, BroadcastProgress);

pub struct SendBroadcast {
    ports: ProactivePorts,
    store: Arc<dyn Broadcasts>,
    max_recipients: usize,
}

impl SendBroadcast {
    pub fn new(ports: ProactivePorts, store: Arc<dyn Broadcasts>, max_recipients: usize) -> Self {
        Self {
            ports,
            store,
            max_recipients,
        }
    }

    /// Stores one message per chat (a chat named twice gets one), each in its chat's active
    /// conversation or a new one, and queues their deliveries, all in one transaction; they go
    /// out paced under the platform's limits like any reply. Refused, with nothing written, on
    /// what refuses a message the bot starts to any one chat (the refusal names the chat), and
    /// for no chats or more than the configured maximum.
    #[tracing::instrument(skip_all, fields(bot_id = %bot_id, platform = %request.platform, chats = request.chats.len()))]
    pub async fn start(
        &self,
        bot_id: BotId,
        request: &BroadcastRequest,
    ) -> Result<BroadcastView, ProactiveError> {
        let platform = request.platform;
        let chats = self.recipients(&request.chats)?;
        let say = self.ports.admit(bot_id, platform, &request.say).await?;
        let now = self.ports.clock.now();
        if matches!(say, Say::Text(_)) {
            // A few at a time, each chat's reads being independent; the first refusal in the
            // list's order is the one named.
            let checks = chats.iter().map(|chat| {
                self.ports
                    .check_window(bot_id, platform, chat, "chat_ids", now)
            });
            stream::iter(checks)
                .buffered(WINDOW_CHECKS_AT_ONCE)
                .try_collect::<Vec<()>>()
                .await?;
        }
        let deliveries: Vec<Delivery> = chats
            .into_iter()
            .map(|chat| {
                let conversation = Conversation::start(bot_id, platform, chat, now);
                let message = say.message_in(&conversation, now);
                Delivery {
                    conversation,
                    message,
                }
            })
            .collect();
        let broadcast = Broadcast {
            id: BroadcastId::new(),
            bot_id,
            platform,
            content: say.content(),
            total: deliveries.len() as u32,
            created_at: now,
            cancelled_at: None,
        };
        let stored = self.store.start_broadcast(&broadcast, &deliveries).await?;
        stored
            .iter()
            .for_each(|message| self.ports.announce(message));
        tracing::info!(broadcast_id = %broadcast.id, "broadcast queued");
        let progress = BroadcastProgress {
            queued: broadcast.total,
            ..BroadcastProgress::default()
        };
        Ok((broadcast, progress))
    }

    /// Broadcast `id` of the bot and where its messages are.
    pub async fn get(
        &self,
        bot_id: BotId,
        id: BroadcastId,
    ) -> Result<Option<BroadcastView>, RepoError> {
        self.store.broadcast(bot_id, id).await
    }

    /// Stops what of broadcast `id` has not gone out; a message going out now still goes. A
    /// broadcast with nothing left to send is answered as it is.
    #[tracing::instrument(skip_all, fields(bot_id = %bot_id, broadcast_id = %id))]
    pub async fn cancel(
        &self,
        bot_id: BotId,
        id: BroadcastId,
    ) -> Result<Option<BroadcastView>, RepoError> {
        let now = self.ports.clock.now();
        let cancelled = self.store.cancel_broadcast(bot_id, id, now).await?;
        if let Some((_, progress)) = &cancelled {
            tracing::info!(cancelled = progress.cancelled, "broadcast cancelled");
        }
        Ok(cancelled)
    }

    /// The chats, each once in the order first named: at least one, at most the maximum.
    fn recipients(&self, chats: &[ExternalChatId]) -> Result<Vec<ExternalChatId>, ValidationError> {
        let mut seen = HashSet::new();
        let unique: Vec<ExternalChatId> = chats
            .iter()
            .filter(|chat| seen.insert(*chat))
            .cloned()
            .collect();
        if unique.is_empty() {
            return Err(ValidationError::new("chat_ids", "names at least one chat"));
        }
        if unique.len() > self.max_recipients {
            let reason = format!(
                "names {} chats, and a broadcast goes to at most {} (broadcasts.max_recipients)",
                unique.len(),
                self.max_recipients
            );
            return Err(ValidationError::new("chat_ids", reason));
        }
        Ok(unique)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{proactive_ports, World};
    use crate::ports::{MockBroadcasts, MockLedger};
    use chrono::Duration;
    use domain::{MessageStatus, Template};

    /// A bot bound to every platform whose chats last wrote `ago` before now (`None`: never).
    fn use_case(
        last_inbound: impl Fn(&str) -> Option<Duration> + Send + 'static,
        store: MockBroadcasts,
    ) -> SendBroadcast {
        let ports = proactive_ports(MockLedger::new(), last_inbound);
        SendBroadcast::new(ports, Arc::new(store), 3)
    }

    /// A store that expects one broadcast and keeps what it was given.
    fn storing(kept: Arc<std::sync::Mutex<Vec<Delivery>>>) -> MockBroadcasts {
        let mut store = MockBroadcasts::new();
        store
            .expect_start_broadcast()
            .times(1)
            .returning(move |_, deliveries| {
                kept.lock().unwrap().extend(deliveries.iter().cloned());
                Ok(deliveries.iter().map(|d| d.message.clone()).collect())
            });
        store
    }

    fn request(platform: PlatformKind, chats: &[&str], say: Say) -> BroadcastRequest {
        BroadcastRequest {
            platform,
            chats: chats
                .iter()
                .map(|chat| ExternalChatId::parse(*chat).unwrap())
                .collect(),
            say,
        }
    }

    fn text(text: &str) -> Say {
        Say::Text(text.to_owned())
    }

    fn refused_field(result: Result<BroadcastView, ProactiveError>) -> (&'static str, String) {
        match result {
            Err(ProactiveError::Invalid(error)) => (error.field, error.reason),
            other => panic!("expected a refusal naming a field, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn each_chat_gets_one_pending_message_in_one_write_however_often_named() {
        let kept = Arc::new(std::sync::Mutex::new(Vec::new()));
        let use_case = use_case(|_| Some(Duration::hours(1)), storing(kept.clone()));
        let asked = request(
            PlatformKind::Telegram,
            &["1", "2", "1", "3"],
            text(" Sale! "),
        );

        let (broadcast, progress) = use_case.start(World::new().bot.id, &asked).await.unwrap();

        assert_eq!((broadcast.total, progress.queued), (3, 3));
        assert_eq!(broadcast.cancelled_at, None);
        let kept = kept.lock().unwrap();
        let chats: Vec<&str> = kept
            .iter()
            .map(|d| d.conversation.external_chat_id.as_str())
            .collect();
        assert_eq!(chats, ["1", "2", "3"]);
        for delivery in kept.iter() {
            assert_eq!(delivery.message.content.summary(), "Sale!");
            assert_eq!(delivery.message.status, MessageStatus::Pending);
            assert_eq!(delivery.message.conversation_id, delivery.conversation.id);
        }
    }

    #[tokio::test]
    async fn no_chats_or_more_than_the_maximum_are_refused_naming_chat_ids() {
        let use_case = use_case(|_| Some(Duration::hours(1)), MockBroadcasts::new());
        let bot_id = World::new().bot.id;
        let none = request(PlatformKind::Telegram, &[], text("hi"));
        assert_eq!(
            refused_field(use_case.start(bot_id, &none).await).0,
            "chat_ids"
        );

        let four = request(PlatformKind::Telegram, &["1", "2", "3", "4"], text("hi"));
        let (field, reason) = refused_field(use_case.start(bot_id, &four).await);
        assert_eq!(field, "chat_ids");
        assert!(reason.contains("at most 3"), "{reason}");
    }

    #[tokio::test]
    async fn one_chat_the_bot_may_not_write_to_refuses_the_whole_broadcast_naming_it() {
        let bot_id = World::new().bot.id;
        let never = use_case(
            |chat| (chat != "2").then(|| Duration::hours(1)),
            MockBroadcasts::new(),
        );
        let asked = request(PlatformKind::Telegram, &["1", "2", "3"], text("hi"));
        let (field, reason) = refused_field(never.start(bot_id, &asked).await);
        assert_eq!(field, "chat_ids");
        assert!(reason.contains("chat 2 has never written"), "{reason}");

        let late = use_case(
            |chat| Some(Duration::hours(if chat == "3" { 30 } else { 1 })),
            MockBroadcasts::new(),
        );
        let asked = request(PlatformKind::Whatsapp, &["1", "3"], text("hi"));
        match late.start(bot_id, &asked).await {
            Err(ProactiveError::WindowClosed { chat, .. }) => assert_eq!(chat.as_str(), "3"),
            other => panic!("expected window_closed, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_whatsapp_template_goes_to_every_chat_whatever_its_window() {
        let kept = Arc::new(std::sync::Mutex::new(Vec::new()));
        let use_case = use_case(|_| None, storing(kept.clone()));
        let template = Template::new("order_shipped", "en_US", vec![]).unwrap();
        let asked = request(PlatformKind::Whatsapp, &["1", "2"], Say::Template(template));

        let (broadcast, _) = use_case.start(World::new().bot.id, &asked).await.unwrap();

        assert_eq!(broadcast.content.summary(), "[template order_shipped]");
        assert_eq!(kept.lock().unwrap().len(), 2);
    }
}
