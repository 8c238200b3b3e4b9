//! The job queue: lanes, order, due times, leases, and the retry / bury / release paths.

use crate::support::RecordOne;
use crate::support::{at, claim_at, count, exec, new_bot, receive, record, text, LEASE};
use application::ports::{ClaimedJob, JobPayload, JobQueue};
use database::testing::fresh_databases;
use database::SeaStore;
use domain::MessageId;
use std::collections::HashSet;

const LEASE_SECS: i64 = LEASE.as_secs() as i64;

/// A new bot's first message in chat `a`, received, and its reply job claimed at time 0.
async fn first_claim(store: &SeaStore) -> ClaimedJob {
    let bot = new_bot(store, "Ada").await.id;
    receive(store, bot, "a", "a1").await;
    claim_at(store, 0).await.unwrap()
}

#[tokio::test]
async fn lanes_run_one_job_at_a_time_in_order() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        receive(&store, bot, "a", "a1").await;
        receive(&store, bot, "a", "a2").await;
        receive(&store, bot, "b", "b1").await;

        let a1 = claim_at(&store, 1).await.unwrap();
        let b1 = claim_at(&store, 1).await.unwrap();
        assert_ne!(a1.lane, b1.lane, "{}", db.backend());
        assert!(a1.id < b1.id);
        assert_eq!(
            claim_at(&store, 1).await,
            None,
            "a2 waits behind running a1"
        );

        assert!(store.complete(&a1).await.unwrap());
        let a2 = claim_at(&store, 1).await.unwrap();
        assert_eq!(a2.lane, a1.lane);
        assert!(a2.id > a1.id);
        assert!(!store.complete(&a1).await.unwrap(), "completed already");
    }
}

#[tokio::test]
async fn a_queued_job_blocks_later_jobs_of_its_lane() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        store
            .record_inbound(&record(bot, "a", "a1", 100))
            .await
            .unwrap();
        store
            .record_inbound(&record(bot, "a", "a2", 0))
            .await
            .unwrap();
        receive(&store, bot, "b", "b1").await;

        let first = claim_at(&store, 1).await.unwrap();
        assert_eq!(first.payload.kind(), "reply");
        assert_eq!(
            claim_at(&store, 1).await,
            None,
            "a2 is due but a1 is not: {}",
            db.backend()
        );
        let a1 = claim_at(&store, 100).await.unwrap();
        assert!(a1.id < first.id);
        assert_ne!(a1.lane, first.lane, "the first claim was b1");
    }
}

#[tokio::test]
async fn future_jobs_wait_until_due() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        store
            .record_inbound(&record(bot, "a", "a1", 60))
            .await
            .unwrap();
        assert_eq!(claim_at(&store, 59).await, None, "{}", db.backend());
        assert!(claim_at(&store, 60).await.is_some());
    }
}

#[tokio::test]
async fn an_expired_lease_is_reclaimed_under_a_new_token() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let first = first_claim(&store).await;
        assert_eq!(
            claim_at(&store, LEASE_SECS - 1).await,
            None,
            "{}",
            db.backend()
        );
        assert_eq!(
            claim_at(&store, LEASE_SECS).await,
            None,
            "expires after locked_until"
        );

        let second = claim_at(&store, LEASE_SECS + 1).await.unwrap();
        assert_eq!(second.id, first.id);
        assert_ne!(second.lease, first.lease);
        assert_eq!(second.attempts, 2);
        let lost = [first.clone()];
        let renewed = store.renew(&lost, at(LEASE_SECS + 1), LEASE).await;
        assert_eq!(renewed.unwrap(), Vec::<i64>::new(), "a lost lease");
        assert!(!store.complete(&first).await.unwrap());
        assert!(store.complete(&second).await.unwrap());
        assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs").await, 0);
    }
}

#[tokio::test]
async fn one_statement_renews_every_lease_still_held() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        for chat in ["a", "b", "c"] {
            receive(&store, bot, chat, &format!("{chat}1")).await;
        }
        let claimed = store.claim(at(0), LEASE, 2).await.unwrap();
        let third = claim_at(&store, 0).await.unwrap();
        let mut held = claimed.clone();
        held.push(third.clone());
        // The third is lost: its lease expires and another claimer takes it.
        let renewed = store.renew(&claimed, at(20), LEASE).await.unwrap();
        let retaken = claim_at(&store, LEASE_SECS + 1).await.unwrap();
        assert_eq!(retaken.id, third.id, "{}", db.backend());
        let mut renewed = renewed;
        renewed.sort_unstable();
        assert_eq!(renewed, claimed.iter().map(|j| j.id).collect::<Vec<_>>());
        let mut again = store.renew(&held, at(40), LEASE).await.unwrap();
        again.sort_unstable();
        assert_eq!(again, renewed, "the retaken job is not ours to renew");
        let expired = store.claim(at(69), LEASE, 5).await.unwrap();
        let ids = |jobs: &[ClaimedJob]| jobs.iter().map(|job| job.id).collect::<Vec<_>>();
        assert_eq!(
            ids(&expired),
            [third.id],
            "the renewed ones hold until 70 s"
        );
        assert_eq!(ids(&store.claim(at(71), LEASE, 5).await.unwrap()), renewed);
    }
}

#[tokio::test]
async fn one_claim_takes_many_lane_heads_in_order_but_never_two_of_a_lane() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        for (chat, n) in [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("b", 2)] {
            receive(&store, bot, chat, &format!("{chat}{n}")).await;
        }
        let claimed = store.claim(at(0), LEASE, 10).await.unwrap();
        assert_eq!(claimed.len(), 3, "one head per lane: {}", db.backend());
        let ids: Vec<i64> = claimed.iter().map(|job| job.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted, "oldest first");
        let lanes: HashSet<&str> = claimed.iter().map(|job| job.lane.as_str()).collect();
        assert_eq!(lanes.len(), 3);
        assert!(store.claim(at(0), LEASE, 10).await.unwrap().is_empty());
        assert!(store.claim(at(0), LEASE, 0).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn retry_requeues_with_new_payload_and_due_time() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let job = first_claim(&store).await;
        let progressed = JobPayload::Deliver {
            message_id: MessageId::new(),
            parts_sent: 2,
        };
        assert!(store
            .retry(&job, &progressed, at(10), "timeout")
            .await
            .unwrap());
        assert!(!store
            .retry(&job, &progressed, at(10), "again")
            .await
            .unwrap());
        let error = text(&store, "SELECT last_error FROM jobs").await;
        assert_eq!(error.as_deref(), Some("timeout"), "{}", db.backend());
        let kind = text(&store, "SELECT kind FROM jobs").await;
        assert_eq!(kind.as_deref(), Some("deliver"));

        assert_eq!(claim_at(&store, 9).await, None);
        let again = claim_at(&store, 10).await.unwrap();
        assert_eq!(again.payload, progressed);
        assert_eq!(again.attempts, 2);
    }
}

#[tokio::test]
async fn a_buried_job_no_longer_blocks_its_lane() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        receive(&store, bot, "a", "a1").await;
        receive(&store, bot, "a", "a2").await;
        let a1 = claim_at(&store, 0).await.unwrap();
        assert!(store.bury(&a1, "forbidden").await.unwrap());
        assert!(!store.bury(&a1, "forbidden").await.unwrap());
        let dead = count(&store, "SELECT COUNT(*) FROM jobs WHERE state = 'dead'").await;
        assert_eq!(dead, 1, "{}", db.backend());

        let a2 = claim_at(&store, 0).await.unwrap();
        assert_eq!(a2.lane, a1.lane);
        assert!(store.complete(&a2).await.unwrap());
        assert_eq!(
            claim_at(&store, 1000).await,
            None,
            "dead jobs are never claimed"
        );
    }
}

#[tokio::test]
async fn release_hands_the_jobs_back_uncounted_in_one_statement() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        receive(&store, bot, "a", "a1").await;
        receive(&store, bot, "b", "b1").await;
        let jobs = store.claim(at(0), LEASE, 2).await.unwrap();
        assert_eq!(store.release(&jobs).await.unwrap(), 2, "{}", db.backend());
        assert_eq!(store.release(&jobs).await.unwrap(), 0, "no longer held");
        let again = store.claim(at(0), LEASE, 2).await.unwrap();
        let ids = |jobs: &[ClaimedJob]| jobs.iter().map(|job| job.id).collect::<Vec<_>>();
        assert_eq!(ids(&again), ids(&jobs));
        assert!(again.iter().all(|job| job.attempts == 1));
    }
}

#[tokio::test]
async fn progress_is_saved_under_the_lease() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let job = first_claim(&store).await;
        let progressed = JobPayload::Deliver {
            message_id: MessageId::new(),
            parts_sent: 1,
        };
        assert!(store.save_progress(&job, &progressed).await.unwrap());
        let reclaimed = claim_at(&store, 100).await.unwrap();
        assert_eq!(reclaimed.payload, progressed, "{}", db.backend());
        assert!(!store.save_progress(&job, &progressed).await.unwrap());
    }
}

#[tokio::test]
async fn a_corrupt_payload_is_buried_and_skipped() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        receive(&store, bot, "a", "a1").await;
        receive(&store, bot, "b", "b1").await;
        let first = text(&store, "SELECT lane FROM jobs ORDER BY id LIMIT 1")
            .await
            .unwrap();
        let corrupt = format!("UPDATE jobs SET payload = '{{' WHERE lane = '{first}'");
        exec(&store, &corrupt).await;
        let job = claim_at(&store, 0).await.unwrap();
        assert_ne!(job.lane, first, "{}", db.backend());
        let dead = count(&store, "SELECT COUNT(*) FROM jobs WHERE state = 'dead'").await;
        assert_eq!(dead, 1);
    }
}
