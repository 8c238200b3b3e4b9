//! Schedules on both engines: replicas starting together make one job per schedule; one replica at a time holds it; a run re-arms it a period on with its record, unless its lease was lost; the lifecycle's deletions are bounded and keep what is younger.

use crate::support::{at, count, exec, new_bot, receive, LEASE};
use application::ports::{Housekeeping, JobPayload, JobQueue, ScheduleStore};
use database::testing::fresh_databases;

const NAMES: [&str; 2] = ["retention", "housekeeping"];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_never_hold_one_schedule_at_once_and_a_run_rearms_it_a_period_on() {
    for db in fresh_databases().await {
        let (one, two) = (db.store().await, db.store().await);
        let starting = [one.clone(), two.clone()]
            .map(|store| tokio::spawn(async move { store.ensure(&NAMES, at(0)).await }));
        for started in futures::future::join_all(starting).await {
            started.unwrap().unwrap();
        }
        let jobs = count(
            &one,
            "SELECT COUNT(*) FROM jobs WHERE lane LIKE 'schedule:%'",
        )
        .await;
        assert_eq!(jobs, 2, "{}: one job per schedule", db.backend());

        let claims = [one.clone(), two.clone()]
            .map(|store| tokio::spawn(async move { store.claim(at(1), LEASE, 10).await }));
        let mut held = Vec::new();
        for claimed in futures::future::join_all(claims).await {
            held.extend(claimed.unwrap().unwrap());
        }
        let mut names: Vec<String> = (held.iter())
            .map(|job| match &job.payload {
                JobPayload::Schedule { name } => name.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        names.sort();
        assert_eq!(names, ["housekeeping", "retention"], "each held once");
        assert!(two.claim(at(2), LEASE, 10).await.unwrap().is_empty());

        // A lease run out: another replica takes the job, and the first can no longer re-arm.
        let late =
            at(1) + chrono::Duration::from_std(LEASE).unwrap() + chrono::Duration::seconds(1);
        let taken = two.claim(late, LEASE, 10).await.unwrap();
        assert_eq!(taken.len(), 2);
        let first = &held[0];
        let name = match &first.payload {
            JobPayload::Schedule { name } => name.clone(),
            _ => unreachable!(),
        };
        let next = at(3600);
        assert!(!one.rearm(first, &name, at(1), "done", next).await.unwrap());
        for holder in &taken {
            let JobPayload::Schedule { name } = &holder.payload else {
                unreachable!()
            };
            let outcome = "deleted 0 messages";
            assert!(two.rearm(holder, name, late, outcome, next).await.unwrap());
        }

        let listed = one.list().await.unwrap();
        let record = listed.iter().find(|s| s.name == name).unwrap();
        assert_eq!(record.last_outcome.as_deref(), Some("deleted 0 messages"));
        assert_eq!((record.next_run_at, record.running), (Some(next), false));
        assert!(
            one.claim(at(3599), LEASE, 10).await.unwrap().is_empty(),
            "not before its period"
        );
        assert_eq!(one.claim(next, LEASE, 10).await.unwrap().len(), 2);

        // A restart finds the jobs there and makes no more.
        one.ensure(&NAMES, at(5000)).await.unwrap();
        let jobs = count(
            &one,
            "SELECT COUNT(*) FROM jobs WHERE lane LIKE 'schedule:%'",
        )
        .await;
        assert_eq!(jobs, 2);
    }
}

#[tokio::test]
async fn a_purge_takes_at_most_a_batch_of_the_oldest_and_keeps_what_is_younger() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await.id;
        for (chat, id) in [("a", "m1"), ("a", "m2"), ("b", "m3")] {
            receive(&store, bot, chat, id).await;
        }
        let all = "SELECT COUNT(*) FROM messages";
        assert_eq!(count(&store, all).await, 3);
        // The first two are old; the third is younger than the cut.
        exec(
            &store,
            "UPDATE messages SET created_at = 0 WHERE external_id IN ('m1', 'm2')",
        )
        .await;
        exec(&store, "UPDATE conversations SET updated_at = 0").await;
        let before = at(-1000);
        assert_eq!(store.purge_messages(bot, before, 1).await.unwrap(), 1);
        assert_eq!(store.purge_messages(bot, before, 10).await.unwrap(), 1);
        assert_eq!(store.purge_messages(bot, before, 10).await.unwrap(), 0);
        assert_eq!(count(&store, all).await, 1, "{}", db.backend());
        // Chat `a` is empty now; chat `b` still has its message.
        assert_eq!(store.purge_conversations(bot, before, 10).await.unwrap(), 1);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM conversations").await, 1);
        let idle = store.idle_conversations(bot, before, 10).await.unwrap();
        assert_eq!(
            idle.len(),
            1,
            "chat b's conversation has had no message since"
        );
        let epoch = chrono::DateTime::UNIX_EPOCH;
        assert!(store
            .idle_conversations(bot, epoch, 10)
            .await
            .unwrap()
            .is_empty());

        // Housekeeping: expired keys go; dead jobs untouched since before the cut go, a batch
        // at a time.
        let keys = "INSERT INTO idempotency_keys \
                    (scope, idempotency_key, fingerprint, state, created_at, expires_at) \
                    VALUES ('k', 'one', 'f', 'running', 0, 5), ('k', 'two', 'f', 'running', 0, 6)";
        exec(&store, keys).await;
        assert_eq!(
            store.purge_idempotency_keys(at(-1000), 10).await.unwrap(),
            2
        );
        exec(&store, "UPDATE jobs SET state = 'dead', updated_at = 0").await;
        let jobs = count(&store, "SELECT COUNT(*) FROM jobs").await;
        assert!(jobs > 1, "the messages' reply jobs: {jobs}");
        assert_eq!(store.purge_settled(at(-1000), 1).await.unwrap(), 1);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs").await, jobs - 1);
        assert_eq!(store.purge_settled(epoch, 10).await.unwrap(), 0);
    }
}
