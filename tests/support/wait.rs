//! Waiting for something the pipeline does in the background, failing loudly when it does not.

use database::testing::TestDatabase;
use sea_orm::{ConnectionTrait, Statement};
use std::future::Future;
use std::time::{Duration, Instant};

/// Long enough for any delivery on a loaded CI machine; waits end as soon as the condition holds.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `condition` until it holds; panics after [`PATIENCE`].
pub async fn wait_until<F, Fut>(condition: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    poll_until(PATIENCE, "condition", || async {
        condition().await.then_some(())
    })
    .await;
}

/// Polls `probe` until it yields a value; panics after `timeout`, naming `what` it waited for.
pub async fn poll_until<T, F, Fut>(timeout: Duration, what: &str, probe: F) -> T
where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what} not reached within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `db`'s job queue holds nothing but the schedules' jobs (which stay): every job
/// enqueued so far has run to its end, so nothing more goes out unless something new comes.
pub async fn wait_for_empty_queue(db: &TestDatabase) {
    let conn = db.connect().await;
    let sql = "SELECT COUNT(*) FROM jobs WHERE kind <> 'schedule'";
    wait_until(|| async {
        let count = Statement::from_string(conn.get_database_backend(), sql);
        let row = conn.query_one(count).await.unwrap().unwrap();
        row.try_get_by_index::<i64>(0).unwrap() == 0
    })
    .await;
    conn.close().await.ok();
}
