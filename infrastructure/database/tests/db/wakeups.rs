//! Cross-replica wake-ups: an enqueue on PostgreSQL reaches a `LISTEN`ing process at commit, and a listener whose connection dies listens again and says so.

use crate::support::{exec, new_bot, receive};
use database::testing::{fresh_postgres, fresh_sqlite};
use database::SeaStore;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Within this, a wake-up has come; comfortably more than the listener's relisten pause.
const PATIENCE: Duration = Duration::from_secs(10);

/// Starts `store`'s listener; each wake-up arrives on the receiver.
fn listening(store: &SeaStore) -> (mpsc::UnboundedReceiver<()>, tokio::task::JoinHandle<()>) {
    let (sender, woken) = mpsc::unbounded_channel();
    let listener = store
        .job_listener(Arc::new(move || {
            let _ = sender.send(());
        }))
        .expect("PostgreSQL has a listener");
    (woken, tokio::spawn(listener))
}

async fn next_wake(woken: &mut mpsc::UnboundedReceiver<()>, why: &str) {
    tokio::time::timeout(PATIENCE, woken.recv())
        .await
        .unwrap_or_else(|_| panic!("no wake-up {why}"))
        .expect("the listener runs");
}

fn drain(woken: &mut mpsc::UnboundedReceiver<()>) {
    while woken.try_recv().is_ok() {}
}

#[tokio::test]
async fn sqlite_needs_no_listener() {
    let store = fresh_sqlite().store().await;
    assert!(store.job_listener(Arc::new(|| {})).is_none());
}

#[tokio::test]
async fn an_enqueue_wakes_the_listener_and_a_lost_connection_is_listened_again() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    let store = db.store().await;
    let bot = new_bot(&store, "Ada").await.id;
    let (mut woken, listener) = listening(&store);
    next_wake(&mut woken, "once listening (the catch-up)").await;

    drain(&mut woken);
    receive(&store, bot, "a", "a1").await;
    next_wake(&mut woken, "after an enqueue").await;

    // A job enqueued behind its lane's head is not runnable yet: nothing to announce.
    drain(&mut woken);
    receive(&store, bot, "a", "a2").await;
    assert!(
        tokio::time::timeout(Duration::from_millis(500), woken.recv())
            .await
            .is_err(),
        "a waiting job woke the dispatchers"
    );

    // The server drops the listening connection (a restart looks the same to the client).
    exec(
        &store,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .await;
    next_wake(&mut woken, "after the connection was lost").await;
    drain(&mut woken);
    receive(&store, bot, "b", "b1").await;
    next_wake(&mut woken, "after an enqueue on the new connection").await;
    listener.abort();
}
