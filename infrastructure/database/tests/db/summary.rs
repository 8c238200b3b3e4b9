//! A bot's summary over a time range: counts at the range's edges, other bots left out.

use crate::support::{answered_turn, at, new_bot};
use database::testing::fresh_databases;
use database::SeaStore;
use domain::repositories::{MessageRepository, SummaryRepository};
use domain::{BotId, BotSummary, MessageStatus, TimeRange, TokenUsage};

fn usage(prompt_tokens: u32, completion_tokens: u32) -> Option<TokenUsage> {
    Some(TokenUsage {
        prompt_tokens,
        completion_tokens,
    })
}

/// Chat `a` starts at 0 s (answered at 10 s) and goes on at 20 s (answered at 30 s, failed);
/// chat `b` starts at 10 s (answered at 20 s, failed). Another bot talks at 10 s.
async fn seed(store: &SeaStore) -> BotId {
    let bot = new_bot(store, "Ada").await.id;
    answered_turn(store, bot, "a", "1", (0, 10), usage(100, 20)).await;
    let b = answered_turn(store, bot, "b", "2", (10, 20), usage(50, 5)).await;
    let a = answered_turn(store, bot, "a", "3", (20, 30), None).await;
    for failed in [a.id, b.id] {
        store
            .advance(failed, MessageStatus::Failed, Some("gone".into()))
            .await
            .unwrap();
    }
    let other = new_bot(store, "Other").await.id;
    answered_turn(store, other, "a", "1", (10, 10), usage(7, 7)).await;
    bot
}

fn range(from: Option<i64>, to: Option<i64>) -> TimeRange {
    TimeRange::new(from.map(at), to.map(at)).unwrap()
}

/// `[conversations, inbound, outbound, failures, prompt, completion]`.
fn counts(summary: BotSummary) -> [u64; 6] {
    [
        summary.conversations,
        summary.inbound,
        summary.outbound,
        summary.failures,
        summary.prompt_tokens,
        summary.completion_tokens,
    ]
}

#[tokio::test]
async fn a_summary_counts_from_inclusive_to_exclusive() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = seed(&store).await;
        let cases = [
            ((None, None), [2, 3, 3, 2, 150, 25]),
            ((Some(10), Some(20)), [1, 1, 1, 0, 100, 20]),
            ((Some(10), Some(30)), [1, 2, 2, 1, 150, 25]),
            ((Some(0), Some(10)), [1, 1, 0, 0, 0, 0]),
            ((Some(30), None), [0, 0, 1, 1, 0, 0]),
            ((None, Some(0)), [0, 0, 0, 0, 0, 0]),
            ((Some(10), Some(10)), [0, 0, 0, 0, 0, 0]),
        ];
        for ((from, to), expected) in cases {
            let summary = store.summarize(bot, &range(from, to)).await.unwrap();
            assert_eq!(
                counts(summary),
                expected,
                "{from:?}..{to:?} on {}",
                db.backend()
            );
        }
        let nobody = store
            .summarize(BotId::new(), &TimeRange::default())
            .await
            .unwrap();
        assert_eq!(nobody, BotSummary::default());
    }
}
