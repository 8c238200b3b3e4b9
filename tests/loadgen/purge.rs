//! `--purge N`: a second bot with `retention_days: 1` gets N messages from 1970, written straight into the database, and its retention schedule is made due, so that the purge runs while the updates are posted; the run then says how far the purge had come when posting ended, and how long it took in all.

use database::testing::TestDatabase;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::json;
use std::time::{Duration, Instant};
use switchboard_e2e::TestApp;

/// The seeded bot's one conversation.
const CONVERSATION: &str = "00000000-0000-7000-8000-00000000c0de";

/// A purge under way: what was seeded, since when it may run, and a connection to count what
/// is left.
pub struct Purge {
    seeded: u64,
    armed: Instant,
    db: DatabaseConnection,
}

/// Seeds `count` old messages for a new bot that keeps a day of them, and makes the retention
/// schedule due now.
pub async fn arm(app: &TestApp, db: &TestDatabase, count: u64) -> Purge {
    let db = db.connect().await;
    let bot = app.create_bot("Forgetful", None).await;
    let path = format!("/api/v1/bots/{bot}");
    let (status, body) = (app)
        .admin(
            reqwest::Method::PATCH,
            &path,
            Some(json!({"retention_days": 1})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let conversation = format!(
        "INSERT INTO conversations (id, bot_id, platform, external_chat_id, status, created_at, updated_at) \
         VALUES ('{CONVERSATION}', '{bot}', 'telegram', '1', 'active', 0, 0)"
    );
    execute(&db, &conversation).await;
    let messages = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
         INSERT INTO messages (id, conversation_id, bot_id, platform, direction, content, external_id, status, created_at) \
         SELECT 'old-' || i, '{CONVERSATION}', '{bot}', 'telegram', 'inbound', \
                '{{\"type\":\"text\",\"text\":\"old\"}}', 'old-' || i, 'received', 0 FROM n"
    );
    let seeding = Instant::now();
    execute(&db, &messages).await;
    eprintln!("seeded {count} old messages in {:?}", seeding.elapsed());
    let due = "UPDATE jobs SET run_at = 0 WHERE lane = 'schedule:retention'";
    execute(&db, due).await;
    Purge {
        seeded: count,
        armed: Instant::now(),
        db,
    }
}

impl Purge {
    /// Reports how many were left when posting ended, then waits for the purge to finish.
    pub async fn report(self) {
        let left = remaining(&self.db).await;
        eprintln!(
            "when posting ended, {left} of {} old messages were left ({:?} after the purge was due)",
            self.seeded,
            self.armed.elapsed()
        );
        while remaining(&self.db).await > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!(
            "the purge was done {:?} after it was due",
            self.armed.elapsed()
        );
    }
}

async fn remaining(db: &DatabaseConnection) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM messages WHERE conversation_id = '{CONVERSATION}'");
    let statement = Statement::from_string(db.get_database_backend(), sql);
    let row = db.query_one(statement).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn execute(db: &DatabaseConnection, sql: &str) {
    let statement = Statement::from_string(db.get_database_backend(), sql);
    db.execute(statement).await.unwrap();
}
