//! The model's usage as stored: a reply's cost round-trips, costs add up per currency in a
//! summary, a conversation and per UTC day, and budgets read each scope's spending since a time.

use crate::support::{at, new_bot, priced_turn};
use chrono::NaiveDate;
use database::testing::fresh_databases;
use database::SeaStore;
use domain::repositories::{
    ConversationRepository, MessageRepository, SpendKey, SpendRepository, SummaryRepository,
};
use domain::{
    BotId, Cost, ExternalChatId, Message, PlatformKind, Scope, Spent, TimeRange, TokenUsage, Usage,
};
use std::collections::BTreeMap;

/// The first UTC midnight after `at(0)` (2030-03-17T17:46:40Z).
const MIDNIGHT: i64 = 22_400;

fn tokens(prompt_tokens: u32, completion_tokens: u32) -> Option<TokenUsage> {
    Some(TokenUsage {
        prompt_tokens,
        completion_tokens,
    })
}

fn cost(currency: &str, nanos: i64) -> Option<Cost> {
    Some(Cost {
        currency: currency.into(),
        nanos,
    })
}

fn costs(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(c, n)| (c.to_string(), *n)).collect()
}

/// Chat `a`: a reply at 10 s (10+5 tokens, 100 EUR nanos) and one just after midnight (20+5,
/// 300 EUR nanos); chat `b`: a reply at 20 s (1+1, 7 USD nanos) and one unpriced at 30 s (2+2).
/// Another bot spends too.
async fn seed(store: &SeaStore) -> (BotId, Vec<Message>) {
    let bot = new_bot(store, "Ada").await.id;
    let turns = [
        ("a", "1", 10, tokens(10, 5), cost("EUR", 100)),
        ("b", "2", 20, tokens(1, 1), cost("USD", 7)),
        ("b", "3", 30, tokens(2, 2), None),
        ("a", "4", MIDNIGHT + 5, tokens(20, 5), cost("EUR", 300)),
    ];
    let mut replies = Vec::new();
    for (chat, id, replied, usage, cost) in turns {
        let times = (replied - 1, replied);
        replies.push(priced_turn(store, bot, chat, id, times, usage, cost).await);
    }
    let other = new_bot(store, "Other").await.id;
    priced_turn(
        store,
        other,
        "a",
        "1",
        (9, 10),
        tokens(50, 50),
        cost("EUR", 999),
    )
    .await;
    (bot, replies)
}

#[tokio::test]
async fn a_replys_cost_is_read_back_as_written() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let (_, replies) = seed(&store).await;
        for reply in &replies {
            let read = MessageRepository::get(&store, reply.id).await.unwrap();
            assert_eq!(read.unwrap().cost, reply.cost, "{}", db.backend());
        }
    }
}

#[tokio::test]
async fn costs_add_up_per_currency_in_the_summary_and_a_conversation() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let (bot, replies) = seed(&store).await;
        let all = store.summarize(bot, &TimeRange::default()).await.unwrap();
        assert_eq!(
            all.costs,
            costs(&[("EUR", 400), ("USD", 7)]),
            "{}",
            db.backend()
        );
        let first_day = TimeRange::new(None, Some(at(MIDNIGHT))).unwrap();
        let day = store.summarize(bot, &first_day).await.unwrap();
        assert_eq!(day.costs, costs(&[("EUR", 100), ("USD", 7)]));

        let b = store.conversation_usage(replies[1].conversation_id).await;
        let expected = Usage {
            replies: 2,
            prompt_tokens: 3,
            completion_tokens: 3,
            costs: costs(&[("USD", 7)]),
        };
        assert_eq!(b.unwrap(), expected, "{}", db.backend());
    }
}

#[tokio::test]
async fn daily_usage_splits_at_utc_midnight_within_the_range() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let (bot, _) = seed(&store).await;
        let days = store.daily_usage(bot, &TimeRange::default()).await.unwrap();
        let dates: Vec<NaiveDate> = days.iter().map(|(day, _)| *day).collect();
        assert_eq!(
            dates,
            [
                NaiveDate::from_ymd_opt(2030, 3, 17).unwrap(),
                NaiveDate::from_ymd_opt(2030, 3, 18).unwrap()
            ],
            "{}",
            db.backend()
        );
        let first = Usage {
            replies: 3,
            prompt_tokens: 13,
            completion_tokens: 8,
            costs: costs(&[("EUR", 100), ("USD", 7)]),
        };
        assert_eq!(days[0].1, first);
        assert_eq!(days[1].1.costs, costs(&[("EUR", 300)]));

        // `from` inclusive, `to` exclusive: the reply at 20 s alone.
        let range = TimeRange::new(Some(at(20)), Some(at(30))).unwrap();
        let days = store.daily_usage(bot, &range).await.unwrap();
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].1.replies, 1);
        let nobody = store.daily_usage(BotId::new(), &TimeRange::default()).await;
        assert!(nobody.unwrap().is_empty());
    }
}

#[tokio::test]
async fn spending_is_read_per_scope_since_each_periods_start() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let (bot, replies) = seed(&store).await;
        // Chat `a`'s first conversation ends; its next message starts another, and the user's
        // spending counts both.
        let first = replies[0].conversation_id;
        store.end(first, at(MIDNIGHT + 10)).await.unwrap();
        let later = priced_turn(
            &store,
            bot,
            "a",
            "5",
            (MIDNIGHT + 20, MIDNIGHT + 21),
            tokens(1, 1),
            cost("EUR", 1),
        )
        .await;
        assert_ne!(later.conversation_id, first);
        let key = SpendKey {
            bot_id: bot,
            platform: PlatformKind::Telegram,
            chat: ExternalChatId::parse("a").unwrap(),
            conversation_id: later.conversation_id,
        };
        let periods = [
            (Scope::Bot, at(0)),
            (Scope::Bot, at(MIDNIGHT)),
            (Scope::User, at(0)),
            (Scope::Conversation, at(0)),
        ];
        let spent = store.spent(&key, &periods).await.unwrap();
        let spent_as = |tokens, nanos| Spent { tokens, nanos };
        assert_eq!(
            spent,
            [
                // EUR 401 beats USD 7: the largest currency's sum.
                spent_as(15 + 2 + 4 + 25 + 2, 401),
                spent_as(25 + 2, 301),
                spent_as(15 + 25 + 2, 401),
                spent_as(2, 1),
            ],
            "{}",
            db.backend()
        );
        assert!(store.spent(&key, &[]).await.unwrap().is_empty());
    }
}
