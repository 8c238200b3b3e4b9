//! Messages: transcripts oldest-first with cursors, the most recent newest-first, statuses
//! that only move forward, platform reports, token usage, moderation flags, and rows that no longer
//! parse.

use crate::support::RecordOne;
use crate::support::{answered_turn, exec, new_bot, receive, record};
use application::ports::Recorded;
use database::testing::fresh_databases;
use domain::repositories::MessageRepository;
use domain::{
    BotId, DeliveryReport, Direction, ExternalMessageId, MessageId, MessageStatus, PageRequest,
    PlatformKind, RepoError, Secret, TokenUsage,
};

fn report(id: &str, status: MessageStatus, error: Option<&str>) -> DeliveryReport {
    DeliveryReport {
        external_id: ExternalMessageId::parse(id).unwrap(),
        status,
        error: error.map(str::to_owned),
    }
}

#[tokio::test]
async fn statuses_move_forward_only_and_reports_find_messages_by_platform_id() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let reply = answered_turn(&store, bot, "chat", "1", (0, 1), None).await;
        let apply = |bot: BotId, report: DeliveryReport| {
            let store = store.clone();
            async move {
                store
                    .apply_report(bot, PlatformKind::Telegram, &report)
                    .await
                    .unwrap()
                    .map(|m| (m.id, m.status, m.error))
            }
        };
        assert!(store
            .advance(reply.id, MessageStatus::Sent, None)
            .await
            .unwrap());
        assert!(!store
            .advance(reply.id, MessageStatus::Sent, None)
            .await
            .unwrap());
        let wamid = "wamid.1";
        assert_eq!(
            apply(bot, report(wamid, MessageStatus::Read, None)).await,
            None,
            "not known by that id yet"
        );
        store
            .set_external_id(reply.id, &ExternalMessageId::parse(wamid).unwrap())
            .await
            .unwrap();
        assert_eq!(
            apply(BotId::new(), report(wamid, MessageStatus::Read, None)).await,
            None,
            "another bot's id"
        );
        assert_eq!(
            apply(bot, report(wamid, MessageStatus::Read, None)).await,
            Some((reply.id, MessageStatus::Read, None)),
            "{}",
            db.backend()
        );
        assert_eq!(
            apply(bot, report(wamid, MessageStatus::Delivered, None)).await,
            None,
            "late"
        );
        assert_eq!(
            apply(bot, report(wamid, MessageStatus::Failed, Some("x"))).await,
            None,
            "read is final but for nothing"
        );
        let stored = store.get(reply.id).await.unwrap().unwrap();
        assert_eq!(
            (stored.status, stored.external_id.unwrap().as_str()),
            (MessageStatus::Read, wamid)
        );

        let other = answered_turn(&store, bot, "chat", "2", (2, 3), None).await;
        store
            .set_external_id(other.id, &ExternalMessageId::parse("wamid.2").unwrap())
            .await
            .unwrap();
        let failure = Some("131047: Re-engagement message".to_owned());
        assert_eq!(
            apply(
                bot,
                report("wamid.2", MessageStatus::Failed, failure.as_deref())
            )
            .await,
            Some((other.id, MessageStatus::Failed, failure.clone()))
        );
        assert!(
            !store
                .advance(other.id, MessageStatus::Sent, None)
                .await
                .unwrap(),
            "failed is final"
        );
        assert_eq!(store.get(other.id).await.unwrap().unwrap().error, failure);

        let third = answered_turn(&store, bot, "chat", "3", (4, 5), None).await;
        store
            .set_external_id(third.id, &ExternalMessageId::parse("wamid.2").unwrap())
            .await
            .expect("an id given twice is not an error");
        assert_eq!(
            store.get(third.id).await.unwrap().unwrap().external_id,
            None
        );
    }
}

#[tokio::test]
async fn a_reply_handle_is_kept_on_the_message_and_its_reply() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let mut inbound = record(bot, "chat", "1", 0);
        inbound.reply_handle = Some(Secret::new("interaction-token"));
        let Recorded::New { message_id, .. } = store.record_inbound(&inbound).await.unwrap() else {
            unreachable!()
        };
        let stored = store.get(message_id).await.unwrap().unwrap();
        assert_eq!(
            stored.reply_handle,
            Some(Secret::new("interaction-token")),
            "{}",
            db.backend()
        );
        let reply = domain::Message::reply(&stored, "answer", stored.created_at);
        assert_eq!(reply.reply_handle, stored.reply_handle);
    }
}

#[tokio::test]
async fn transcripts_page_oldest_first_and_recent_is_newest_first() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let mut ids: Vec<MessageId> = Vec::new();
        let mut conversation = None;
        for n in 0..5 {
            let Recorded::New {
                conversation_id,
                message_id,
                ..
            } = receive(&store, bot, "chat", &n.to_string()).await
            else {
                unreachable!()
            };
            conversation = Some(conversation_id);
            ids.push(message_id);
        }
        let conversation = conversation.unwrap();

        let first = store
            .list(conversation, &PageRequest::new(None, Some(3)))
            .await
            .unwrap();
        let firsts: Vec<_> = first.items.iter().map(|m| m.id).collect();
        assert_eq!(firsts, ids[..3], "{}", db.backend());
        let rest = store
            .list(conversation, &PageRequest::new(first.next_cursor, Some(3)))
            .await
            .unwrap();
        assert_eq!(
            rest.items.iter().map(|m| m.id).collect::<Vec<_>>(),
            ids[3..]
        );
        assert_eq!(rest.next_cursor, None);

        let recent: Vec<_> = store
            .recent(conversation, 2)
            .await
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(recent, vec![ids[4], ids[3]]);

        let message = store.get(ids[0]).await.unwrap().unwrap();
        assert_eq!(message.direction, Direction::Inbound);
        assert_eq!(message.content.as_text(), Some("message 0"));
        assert_eq!(message.status, MessageStatus::Received);
        assert!(!store
            .advance(ids[0], MessageStatus::Failed, None)
            .await
            .unwrap());
        assert_eq!(store.get(MessageId::new()).await.unwrap(), None);
    }
}

#[tokio::test]
async fn a_replys_token_usage_round_trips_and_half_a_usage_is_corrupt() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let usage = TokenUsage {
            prompt_tokens: 1234,
            completion_tokens: 56,
        };
        let answered = answered_turn(&store, bot, "chat", "1", (0, 1), Some(usage)).await;
        let canned = answered_turn(&store, bot, "chat", "2", (2, 3), None).await;
        let stored = store.get(answered.id).await.unwrap().unwrap();
        assert_eq!(stored.usage, Some(usage), "{}", db.backend());
        assert_eq!(stored, answered);
        assert_eq!(store.get(canned.id).await.unwrap().unwrap().usage, None);

        let sql = format!(
            "UPDATE messages SET completion_tokens = NULL WHERE id = '{}'",
            answered.id
        );
        exec(&store, &sql).await;
        let err = store.get(answered.id).await.unwrap_err();
        assert!(matches!(err, RepoError::Corrupt(_)), "{err:?}");
    }
}

#[tokio::test]
async fn unparseable_rows_are_corrupt() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let Recorded::New { message_id, .. } = receive(&store, bot, "chat", "1").await else {
            unreachable!()
        };
        exec(&store, "UPDATE messages SET content = 'not json'").await;
        let err = store.get(message_id).await.unwrap_err();
        assert!(
            matches!(err, RepoError::Corrupt(_)),
            "{}: {err:?}",
            db.backend()
        );

        exec(&store, "UPDATE messages SET content = '{\"type\":\"text\",\"text\":\"ok\"}', direction = 'sideways'").await;
        let err = store.get(message_id).await.unwrap_err();
        assert!(matches!(err, RepoError::Corrupt(_)), "{err:?}");

        exec(&store, "UPDATE bots SET name = '   '").await;
        let err = domain::repositories::BotRepository::get(&store, bot)
            .await
            .unwrap_err();
        assert!(matches!(err, RepoError::Corrupt(_)), "{err:?}");
    }
}

#[tokio::test]
async fn a_message_is_read_with_its_conversation_bot_and_history_at_once() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await;
        let Recorded::New {
            conversation_id,
            message_id,
            ..
        } = receive(&store, bot.id, "chat", "1").await
        else {
            unreachable!()
        };
        let Recorded::New {
            message_id: later, ..
        } = receive(&store, bot.id, "chat", "2").await
        else {
            unreachable!()
        };
        receive(&store, bot.id, "elsewhere", "3").await;
        let found = store.get_in_context(message_id, 0).await.unwrap().unwrap();
        let message = MessageRepository::get(&store, message_id).await.unwrap();
        assert_eq!(Some(found.message), message);
        let conversation =
            domain::repositories::ConversationRepository::get(&store, conversation_id).await;
        assert_eq!(
            found.conversation,
            conversation.unwrap(),
            "{}",
            db.backend()
        );
        assert_eq!(found.bot, Some(bot));
        assert!(found.recent.is_empty(), "none asked for");

        let ids = |limit| {
            let store = store.clone();
            async move {
                let found = store
                    .get_in_context(message_id, limit)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(found.message.id, message_id);
                found.recent.iter().map(|m| m.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(
            ids(1).await,
            [later],
            "the latest, even after the message itself"
        );
        assert_eq!(
            ids(5).await,
            [later, message_id],
            "newest first, this chat only"
        );
        let unknown = MessageId::new();
        assert_eq!(store.get_in_context(unknown, 5).await.unwrap(), None);
    }
}

#[tokio::test]
async fn a_flagged_message_keeps_its_categories() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let Recorded::New { message_id, .. } = receive(&store, bot, "7", "1").await else {
            unreachable!("receive asserts a new message")
        };
        let categories = vec!["blocked_term".to_owned(), "violence".to_owned()];
        assert!(store.flag(message_id, &categories).await.unwrap());
        let read = MessageRepository::get(&store, message_id).await.unwrap();
        assert_eq!(read.unwrap().flagged, Some(categories), "{}", db.backend());
        assert!(!store.flag(MessageId::new(), &[]).await.unwrap(), "gone");
    }
}

#[tokio::test]
async fn a_replys_tool_calls_round_trip_in_order() {
    use application::ports::{JobQueue, Ledger, ReplyStored};
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        let Recorded::New { message_id, .. } = receive(&store, bot, "chat", "1").await else {
            unreachable!()
        };
        let inbound = store.get(message_id).await.unwrap().unwrap();
        let job = crate::support::claim_at(&store, 1).await.unwrap();
        let used = |tool: &str, is_error| domain::ToolUse {
            server: "calc".into(),
            tool: tool.into(),
            arguments: r#"{"a":1}"#.into(),
            result: format!("{tool} → ✓"),
            is_error,
        };
        let uses = vec![used("add", false), used("fail", true)];
        let reply =
            domain::Message::reply(&inbound, "2", inbound.created_at).with_tool_uses(uses.clone());
        let ReplyStored::Delivering(delivery) = store.store_reply(&job, &reply).await.unwrap()
        else {
            panic!("not stored")
        };
        assert!(store.complete(&delivery).await.unwrap());

        let read = store.get(reply.id).await.unwrap().unwrap();
        assert_eq!(read.tool_uses, uses, "{}", db.backend());
        assert_eq!(store.get(inbound.id).await.unwrap().unwrap().tool_uses, []);
    }
}
