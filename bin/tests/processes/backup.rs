//! `switchboard backup` while a server takes webhooks, and `restore` into a fresh instance: every message acknowledged before the backup began is there.

use super::command;
use database::testing::{fresh_postgres, fresh_sqlite};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram};
use switchboard_e2e::{updates, TestApp, TestConfig};

const UPDATES: i64 = 1000;
const IN_FLIGHT: usize = 16;

/// The texts of the inbound messages stored in the SQLite database at `url`.
async fn stored_texts(url: &str) -> HashSet<String> {
    let db = database::connect(url).await.unwrap();
    let sql = "SELECT content FROM messages WHERE direction = 'inbound'";
    let rows = db
        .query_all(Statement::from_string(DbBackend::Sqlite, sql))
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .map(|content| serde_json::from_str::<serde_json::Value>(&content).unwrap())
        .map(|content| content["text"].as_str().unwrap().to_owned())
        .collect()
}

/// Posts updates `from..to`, one chat each, `IN_FLIGHT` at a time; notes each acknowledged text.
async fn post_range(
    app: &Arc<TestApp>,
    bot: &str,
    from: i64,
    to: i64,
    acked: &Arc<Mutex<Vec<String>>>,
) {
    let next = Arc::new(Mutex::new(from));
    let mut posters = Vec::new();
    for _ in 0..IN_FLIGHT {
        let (app, bot, next, acked) = (app.clone(), bot.to_owned(), next.clone(), acked.clone());
        posters.push(tokio::spawn(async move {
            loop {
                let n = {
                    let mut next = next.lock().unwrap();
                    let n = *next;
                    *next += 1;
                    n
                };
                if n >= to {
                    return;
                }
                let text = format!("update {n}");
                app.deliver(&bot, &updates::text(n, 10_000 + n, 1, &text))
                    .await;
                acked.lock().unwrap().push(text);
            }
        }));
    }
    for poster in posters {
        poster.await.unwrap();
    }
}

/// Runs a command off the runtime's threads, so the server and the posters go on meanwhile.
async fn command_beside(url: &str, group: &'static str, args: Vec<String>) -> (bool, String) {
    let url = url.to_owned();
    let done = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        command(&url, group, &args)
    });
    let (ok, _, stderr) = done.await.unwrap();
    (ok, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_restores_every_message_acknowledged_before_it_began() {
    let db = fresh_sqlite();
    let (openai, telegram) = (FakeOpenAi::echoing().await, FakeTelegram::start().await);
    let app = Arc::new(TestApp::spawn(&TestConfig::new(db.url(), &openai, &telegram)).await);
    let bot = app.telegram_bot(None).await;
    let acked = Arc::new(Mutex::new(Vec::new()));
    let (posting, bot_id, noted) = (app.clone(), bot.clone(), acked.clone());
    let posters =
        tokio::spawn(async move { post_range(&posting, &bot_id, 0, UPDATES, &noted).await });
    switchboard_e2e::wait_until(|| async { acked.lock().unwrap().len() >= 200 }).await;
    let before_backup = acked.lock().unwrap().clone();
    assert!(
        before_backup.len() < UPDATES as usize,
        "the backup begins while webhooks are posted"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("switchboard.backup").display().to_string();

    let started = std::time::Instant::now();
    let (ok, stderr) = command_beside(db.url(), "backup", vec![file.clone()]).await;
    assert!(ok, "backup: {stderr}");
    let at_backup_end = acked.lock().unwrap().len();
    eprintln!("backup took {:?}", started.elapsed());
    posters.await.unwrap();
    eprintln!(
        "acknowledged: {} when the backup began, {at_backup_end} when it ended",
        before_backup.len()
    );
    assert_eq!(
        acked.lock().unwrap().len(),
        UPDATES as usize,
        "every update acknowledged"
    );
    let (ok, stderr) = command_beside(db.url(), "backup", vec![file.clone()]).await;
    assert!(
        !ok && stderr.contains("exists already"),
        "a backup never overwrites: {stderr}"
    );

    let restored = format!("sqlite://{}/restored.db?mode=rwc", dir.path().display());
    let (ok, stderr) = command_beside(&restored, "restore", vec![file.clone()]).await;
    assert!(ok, "restore: {stderr}");
    let texts = stored_texts(&restored).await;
    let missing: Vec<_> = before_backup
        .iter()
        .filter(|text| !texts.contains(*text))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, yet missing: {missing:?}"
    );
    assert!(texts.len() <= UPDATES as usize);
    let (ok, stderr) = command_beside(&restored, "restore", vec![file.clone()]).await;
    assert!(
        !ok && stderr.contains("--replace"),
        "an existing database is kept: {stderr}"
    );
    let replace = vec![file.clone(), "--replace".to_owned()];
    let (ok, stderr) = command_beside(&restored, "restore", replace).await;
    assert!(ok, "restore --replace: {stderr}");

    let fresh = TestApp::spawn(&TestConfig::new(&restored, &openai, &telegram)).await;
    let (status, bots) = fresh
        .admin(reqwest::Method::GET, "/api/v1/bots", None)
        .await;
    assert_eq!(
        (status, bots["items"][0]["id"].as_str()),
        (200, Some(bot.as_str())),
        "{bots}"
    );
    assert!(fresh.stop().await);
    assert!(Arc::try_unwrap(app).ok().unwrap().stop().await);
}

#[tokio::test]
async fn what_is_not_a_backup_is_refused_and_postgres_points_at_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let stray = dir.path().join("notes.txt");
    std::fs::write(&stray, "not a database").unwrap();
    let target = format!("sqlite://{}/target.db?mode=rwc", dir.path().display());
    let (ok, _, stderr) = command(&target, "restore", &[&stray.display().to_string()]);
    assert!(
        !ok && stderr.contains("not a Switchboard backup"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("target.db").exists(),
        "nothing put in place"
    );

    let Some(db) = fresh_postgres().await else {
        eprintln!("skipped the PostgreSQL half: SWITCHBOARD_TEST_DATABASE_URL is not set");
        return;
    };
    let file = dir.path().join("pg.backup").display().to_string();
    let (ok, _, stderr) = command(db.url(), "backup", &[&file]);
    assert!(!ok && stderr.contains("pg_dump"), "{stderr}");
}
