//! Dead letters: jobs listed for operators, dead ones put back in their lane or discarded.

use crate::support::RecordOne;
use crate::support::{at, claim_at, new_bot, receive, record};
use application::ports::{DeadJob, DeadLetters, JobFilter, JobPayload, JobQueue, JobState};
use database::testing::fresh_databases;
use domain::PageRequest;

fn dead() -> JobFilter {
    JobFilter {
        state: Some(JobState::Dead),
        ..JobFilter::default()
    }
}

#[tokio::test]
async fn a_dead_job_goes_back_behind_its_lanes_head_or_at_its_head() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        receive(&store, bot, "chat", "m1").await;
        let first = claim_at(&store, 1).await.unwrap();
        assert!(store.bury(&first, "the model is down").await.unwrap());
        store
            .record_inbound(&record(bot, "chat", "m2", 2))
            .await
            .unwrap();
        let second = claim_at(&store, 3).await.unwrap();
        assert_ne!(second.id, first.id, "{}", db.backend());

        let listed = store
            .list_jobs(&dead(), &PageRequest::default())
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 1);
        assert_eq!(
            listed.items[0].last_error.as_deref(),
            Some("the model is down")
        );
        let DeadJob::Done(revived) = store.revive(first.id, at(4)).await.unwrap() else {
            panic!("revived")
        };
        assert_eq!(
            (revived.state, revived.attempts),
            (JobState::Waiting, 0),
            "behind the running head"
        );
        assert_eq!(revived.last_error, None);
        assert_eq!(
            claim_at(&store, 5).await,
            None,
            "the lane's head still runs"
        );
        assert!(store.complete(&second).await.unwrap());
        let again = claim_at(&store, 5).await.unwrap();
        assert_eq!(
            (again.id, again.attempts),
            (first.id, 1),
            "then it runs, counted afresh"
        );
        assert_eq!(again.payload, first.payload);
        assert!(store.bury(&again, "still down").await.unwrap());

        let DeadJob::Done(alone) = store.revive(first.id, at(6)).await.unwrap() else {
            panic!("revived")
        };
        assert_eq!(
            alone.state,
            JobState::Queued,
            "a free lane: its head at once"
        );
        assert_eq!(
            store.revive(first.id, at(7)).await.unwrap(),
            DeadJob::NotDead(JobState::Queued)
        );
        assert_eq!(
            store.discard(first.id).await.unwrap(),
            DeadJob::NotDead(JobState::Queued)
        );
        assert_eq!(
            store.revive(999_999, at(7)).await.unwrap(),
            DeadJob::Missing
        );
    }
}

#[tokio::test]
async fn jobs_are_listed_newest_first_by_filter_and_page() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let (ada, bob) = (
            new_bot(&store, "Ada").await.id,
            new_bot(&store, "Bob").await.id,
        );
        for (n, chat) in ["a", "b", "c"].iter().enumerate() {
            store
                .record_inbound(&record(ada, chat, &format!("m{n}"), 0))
                .await
                .unwrap();
        }
        store
            .record_inbound(&record(bob, "d", "m9", 0))
            .await
            .unwrap();
        let filter = |bot_id| JobFilter {
            bot_id: Some(bot_id),
            kind: Some("reply".to_owned()),
            ..JobFilter::default()
        };

        let first = store
            .list_jobs(&filter(ada), &PageRequest::new(None, Some(2)))
            .await
            .unwrap();
        let next = PageRequest::new(first.next_cursor.clone(), Some(2));
        let second = store.list_jobs(&filter(ada), &next).await.unwrap();
        let ids: Vec<i64> = first
            .items
            .iter()
            .chain(&second.items)
            .map(|job| job.id)
            .collect();
        assert_eq!(ids.len(), 3, "{}", db.backend());
        assert!(
            ids.windows(2).all(|pair| pair[0] > pair[1]),
            "newest first: {ids:?}"
        );
        assert_eq!(second.next_cursor, None);
        assert!(first.items.iter().all(|job| job.state == JobState::Queued));
        assert!(matches!(
            first.items[0].payload,
            Some(JobPayload::Reply { .. })
        ));
        let bobs = store
            .list_jobs(&filter(bob), &PageRequest::default())
            .await
            .unwrap();
        assert_eq!(bobs.items.len(), 1);
        assert!(store
            .list_jobs(&dead(), &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty());
    }
}
