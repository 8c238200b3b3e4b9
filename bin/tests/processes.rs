//! The real `switchboard` binary as OS processes: servers, SIGTERM, `api-keys`, `bots` and `config` commands.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use application::ports::SystemClock;
use application::ApiKeys;
use chrono::{TimeDelta, Utc};
use database::testing::{fresh_databases, fresh_postgres};
use domain::repositories::BotRepository;
use domain::{ApiKeyId, BotId, Role};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram, Sent};
use switchboard_e2e::{on_each_database, updates, wait_until, TestApp, TestConfig};

#[path = "processes/backup.rs"]
mod backup;
#[path = "processes/broadcasts.rs"]
mod broadcasts;
#[path = "processes/first_setup.rs"]
mod first_setup;
#[path = "processes/key_rotation.rs"]
mod key_rotation;
#[path = "processes/metrics.rs"]
mod metrics;
#[path = "processes/provider_keys.rs"]
mod provider_keys;
#[path = "processes/slow_bodies.rs"]
mod slow_bodies;
#[path = "processes/traces.rs"]
mod traces;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_switchboard"))
}

#[tokio::test]
async fn two_server_processes_on_one_postgres_answer_200_updates_once_each_in_order() {
    let Some(db) = fresh_postgres().await else {
        eprintln!("skipped: SWITCHBOARD_TEST_DATABASE_URL is not set");
        return;
    };
    let openai = FakeOpenAi::echoing().await;
    let telegram = FakeTelegram::start().await;
    let config = TestConfig::new(db.url(), &openai, &telegram);
    let first = TestApp::spawn_process(binary(), &config);
    let second = TestApp::spawn_process(binary(), &config);
    let bot = first.telegram_bot(None).await;

    let (chats, per_chat) = (20_i64, 10_i64);
    for n in 0..per_chat {
        for chat in 0..chats {
            let app = if (chat + n) % 2 == 0 { &first } else { &second };
            let update = updates::text(chat * 1000 + n, 100 + chat, n + 1, &format!("{chat}:{n}"));
            app.deliver(&bot, &update).await;
        }
    }

    let sent = telegram.wait_for_sent(200, Duration::from_secs(60)).await;
    assert_eq!(sent.len(), 200);
    assert_eq!(
        telegram.sent_after_settling().await.len(),
        200,
        "no reply twice"
    );
    assert_each_chat_answered_in_order(&sent, chats, per_chat);
    assert!(first.stop().await, "the first process exits 0 on SIGTERM");
    assert!(second.stop().await, "the second process exits 0 on SIGTERM");
}

/// Each chat got `per_chat` replies (`re: chat:n`), in message order.
fn assert_each_chat_answered_in_order(sent: &[Sent], chats: i64, per_chat: i64) {
    let mut delivered: HashMap<i64, Vec<i64>> = HashMap::new();
    for reply in sent {
        let (chat, n) = reply
            .text
            .trim_start_matches("re: ")
            .split_once(':')
            .expect("an echoed reply");
        delivered
            .entry(chat.parse().unwrap())
            .or_default()
            .push(n.parse().unwrap());
    }
    assert_eq!(delivered.len(), chats as usize);
    for (chat, order) in &delivered {
        let expected: Vec<i64> = (0..per_chat).collect();
        assert_eq!(
            order, &expected,
            "chat {chat} was answered out of order or not once each"
        );
    }
}

#[tokio::test]
async fn sigterm_finishes_the_turn_in_flight_and_exits_0() {
    on_each_database(|db| async move {
        let openai = FakeOpenAi::slow("worth the wait", Duration::from_millis(800)).await;
        let telegram = FakeTelegram::start().await;
        let config = TestConfig::new(db.url(), &openai, &telegram)
            .with("SWITCHBOARD__SERVER__SHUTDOWN_GRACE_SECONDS", 10);
        let app = TestApp::spawn_process(binary(), &config);
        let bot = app.telegram_bot(None).await;
        app.deliver(&bot, &updates::text(1, 7, 1, "hello?")).await;
        wait_until(|| async { !openai.requests().await.is_empty() }).await;

        assert!(app.stop().await, "exit code 0 after SIGTERM");
        assert_eq!(
            openai.requests().await.len(),
            1,
            "the model call in flight was finished"
        );

        let next = TestApp::spawn_process(binary(), &config);
        let sent = telegram.wait_for_sent(1, Duration::from_secs(20)).await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].text, "worth the wait");
        assert_eq!(
            telegram.sent_after_settling().await.len(),
            1,
            "delivered once"
        );
        assert_eq!(
            openai.requests().await.len(),
            1,
            "the model is not asked again"
        );
        assert!(next.stop().await);
    })
    .await;
}

/// Runs `switchboard api-keys <args>` on `database_url`: whether it succeeded, and its stdout.
fn api_keys_command(database_url: &str, args: &[&str]) -> (bool, String) {
    let (ok, stdout, _) = command(database_url, "api-keys", args);
    (ok, stdout)
}

/// Runs `switchboard <group> <args>` on `database_url`: whether it succeeded, its stdout and
/// its stderr.
fn command(database_url: &str, group: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(binary())
        .arg(group)
        .args(args)
        .env_remove("RUST_LOG")
        .env("SWITCHBOARD__DATABASE__URL", database_url)
        .env("SWITCHBOARD__LOG__LEVEL", "warn")
        .output()
        .expect("the switchboard binary runs");
    let stderr = String::from_utf8(output.stderr).unwrap();
    eprintln!("[switchboard] {stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    (output.status.success(), stdout, stderr)
}

/// `<group> list --json`, parsed: one object per line.
fn listed(database_url: &str, group: &str) -> Vec<Value> {
    let (ok, lines, _) = command(database_url, group, &["list", "--json"]);
    assert!(ok, "{group} list --json fails");
    lines
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn listed_keys(database_url: &str) -> Vec<Value> {
    listed(database_url, "api-keys")
}

#[tokio::test]
async fn api_keys_are_created_listed_and_revoked_from_the_command_line() {
    for db in fresh_databases().await {
        let create = [
            "create",
            "--name",
            "ci",
            "--role",
            "viewer",
            "--expires-in-days",
            "7",
        ];
        let (ok, stdout) = api_keys_command(db.url(), &create);
        assert!(ok, "create fails on {}", db.backend());
        let key = stdout.trim_end_matches('\n');
        assert!(key.starts_with("sb_") && key.len() == 67, "{stdout:?}");
        let keys = ApiKeys::new(Arc::new(db.store().await), Arc::new(SystemClock), None);
        let principal = keys.authenticate(key).await.unwrap().unwrap();
        assert_eq!(principal.role, Role::Viewer);

        let listed = listed_keys(db.url());
        assert_eq!(listed.len(), 1, "{listed:?}");
        let (id, expiry) = (&listed[0]["id"], &listed[0]["expires_at"]);
        assert_eq!(listed[0]["prefix"], &key[..10]);
        assert_eq!(listed[0]["role"], "viewer");
        assert!(listed[0]["last_used_at"].is_string(), "{listed:?}");
        let expiry = chrono::DateTime::parse_from_rfc3339(expiry.as_str().unwrap()).unwrap();
        let in_a_week = Utc::now() + TimeDelta::days(7);
        assert!((in_a_week - expiry.to_utc()).abs() < TimeDelta::minutes(5));

        let (ok, table) = api_keys_command(db.url(), &["list"]);
        assert!(ok);
        assert!(table.starts_with("ID "), "{table}");
        assert!(
            table.contains(" ci ") && table.contains(" viewer "),
            "{table}"
        );
        assert!(!table.contains(key) && !listed[0].to_string().contains(key));

        let id = id.as_str().unwrap();
        assert!(api_keys_command(db.url(), &["revoke", id]).0);
        assert_eq!(keys.authenticate(key).await.unwrap(), None, "revoked");
        assert!(listed_keys(db.url())[0]["revoked_at"].is_string());

        let unknown = ApiKeyId::new().to_string();
        assert!(!api_keys_command(db.url(), &["revoke", &unknown]).0);
        let never = [
            "create",
            "--name",
            "x",
            "--role",
            "admin",
            "--expires-in-days",
            "0",
        ];
        assert!(!api_keys_command(db.url(), &never).0);
        assert_eq!(listed_keys(db.url()).len(), 1, "nothing else was created");
    }
}

#[tokio::test]
async fn bots_are_created_and_listed_from_the_command_line() {
    for db in fresh_databases().await {
        let create = [
            "create",
            "--name",
            "Ada",
            "--system-prompt",
            "Be brief.",
            "--model",
            "gpt-4o",
            "--temperature",
            "0.5",
            "--fallback-message",
            "later",
        ];
        let (ok, stdout, _) = command(db.url(), "bots", &create);
        assert!(ok, "create fails on {}", db.backend());
        let id: BotId = stdout.trim_end_matches('\n').parse().unwrap();
        let store = db.store().await;
        let bot = BotRepository::get(&store, id).await.unwrap().unwrap();
        assert_eq!(bot.system_prompt.as_str(), "Be brief.");
        assert_eq!(bot.fallback_message.as_deref(), Some("later"));
        let (ok, _, _) = command(db.url(), "bots", &["create", "--name", "Bob"]);
        assert!(ok);

        let listed = listed(db.url(), "bots");
        assert_eq!(listed.len(), 2, "{listed:?}");
        assert_eq!(listed[0]["id"], id.to_string());
        assert_eq!(listed[0]["model"], "gpt-4o");
        assert_eq!(listed[0]["temperature"], 0.5);
        assert_eq!(listed[0]["status"], "active");
        assert_eq!(listed[1]["name"], "Bob");
        assert_eq!(listed[1]["system_prompt"], "");

        let (ok, table, _) = command(db.url(), "bots", &["list"]);
        assert!(ok);
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].starts_with("ID ") && lines[0].contains("STATUS"),
            "{table}"
        );
        assert!(lines[1].starts_with(&id.to_string()), "{table}");
        assert!(
            lines[1].contains(" Ada ") && lines[1].contains(" active "),
            "{table}"
        );
        assert_eq!(lines.len(), 3, "{table}");
    }
}

#[tokio::test]
async fn an_invalid_bot_is_refused_naming_the_field_and_nothing_is_created() {
    for db in fresh_databases().await {
        let cases: [(&[&str], &str); 3] = [
            (&["--name", "Ada", "--temperature", "2.5"], "temperature"),
            (&["--name", "Ada", "--temperature", "-1"], "temperature"),
            (&["--name", "   "], "name"),
        ];
        for (args, field) in cases {
            let args = [&["create"], args].concat();
            let (ok, stdout, stderr) = command(db.url(), "bots", &args);
            assert!(!ok, "{args:?} was accepted on {}", db.backend());
            assert!(stdout.is_empty(), "{stdout}");
            assert!(
                stderr.contains(&format!("invalid bot: {field}: ")),
                "{stderr}"
            );
        }
        let (ok, _, stderr) = command(db.url(), "bots", &["create", "--temperature", "1"]);
        assert!(!ok && stderr.contains("--name"), "{stderr}");
        assert!(listed(db.url(), "bots").is_empty());
    }
}

#[tokio::test]
async fn listings_escape_control_characters_and_names_with_them_are_refused() {
    use sea_orm::ConnectionTrait;
    for db in fresh_databases().await {
        for (group, args) in [
            ("bots", &["create", "--name", "Ada\u{1b}[2J"][..]),
            ("bots", &["create", "--name", "Ada\r\nFAKE ROW"]),
            (
                "api-keys",
                &["create", "--name", "ci\u{1b}[31m", "--role", "viewer"],
            ),
        ] {
            let (ok, stdout, stderr) = command(db.url(), group, args);
            assert!(
                !ok && stdout.is_empty(),
                "{args:?} accepted on {}",
                db.backend()
            );
            assert!(
                stderr.contains("name: must not contain control"),
                "{stderr}"
            );
        }
        assert!(command(db.url(), "bots", &["create", "--name", "Ada"]).0);
        assert!(api_keys_command(db.url(), &["create", "--name", "ci", "--role", "viewer"]).0);
        // What an older version stored, or someone wrote to the database by hand.
        let chr = if db.backend() == "postgres" {
            "CHR"
        } else {
            "CHAR"
        };
        let forged = format!("'x' || {chr}(27) || '[31m' || {chr}(13) || {chr}(10) || 'FAKE'");
        let store = db.store().await;
        for table in ["UPDATE bots SET model", "UPDATE api_keys SET name"] {
            let sql = format!("{table} = {forged}");
            store.connection().execute_unprepared(&sql).await.unwrap();
        }
        for group in ["bots", "api-keys"] {
            let (ok, table, _) = command(db.url(), group, &["list"]);
            assert!(ok, "{group} list");
            assert_eq!(
                table.lines().count(),
                2,
                "one row, not a forged one: {table:?}"
            );
            assert!(!table.contains(['\u{1b}', '\r']), "{table:?}");
            assert!(table.contains(r" x\u{1b}[31m\r\nFAKE "), "{table:?}");
        }
    }
}

/// Runs `switchboard <args>` with `master_key` (or none) on a throw-away SQLite database; its exit
/// status, stdout and stderr. A command still running after 30 s is killed and fails the test.
fn with_master_key(master_key: Option<&str>, args: &[&str]) -> (bool, String, String) {
    let key = master_key.map(|key| ("SWITCHBOARD__SECURITY__MASTER_KEY", key));
    with_env(key.as_slice(), args)
}

/// Runs `switchboard <args>` with the variables `vars` on a throw-away SQLite database, as
/// [`with_master_key`] does.
fn with_env(vars: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(binary());
    command
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("SWITCHBOARD__SECURITY__MASTER_KEY")
        .env(
            "SWITCHBOARD__DATABASE__URL",
            format!("sqlite://{}/sb.db?mode=rwc", dir.path().display()),
        )
        .env("SWITCHBOARD__SERVER__PORT", "0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .envs(vars.iter().copied());
    let mut child = command.spawn().expect("the switchboard binary runs");
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("`switchboard {}` still runs after 30 s", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    (
        output.status.success(),
        text(output.stdout),
        text(output.stderr),
    )
}

#[test]
fn config_check_warns_without_a_master_key_and_refuses_a_malformed_one() {
    const KEY: &str = "q2v9vQ0m3T0yqkq9y4x6m1Yt9Gx2fS0n4bYHq4uV1lE=";
    let warning = "platform credentials are stored in plain text";

    let (ok, _, stderr) = with_master_key(None, &["config", "check"]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains(warning), "{stderr}");

    let (ok, _, stderr) = with_master_key(Some(KEY), &["config", "check"]);
    assert!(ok, "{stderr}");
    assert!(!stderr.contains(warning), "{stderr}");
    let (ok, shown, _) = with_master_key(Some(KEY), &["config", "show"]);
    assert!(ok && !shown.contains(KEY), "{shown}");
    assert!(shown.contains("master_key = \"[redacted]\""), "{shown}");

    for bad in ["change-me-master-key", &KEY[..43]] {
        for command in [&["config", "check"][..], &["serve"]] {
            let (ok, _, stderr) = with_master_key(Some(bad), command);
            assert!(!ok, "`{}` accepts {bad}", command.join(" "));
            assert!(stderr.contains("security.master_key"), "{stderr}");
            assert!(stderr.contains("openssl rand -base64 32"), "{stderr}");
        }
    }
}

#[test]
fn config_check_refuses_a_mistyped_key_by_name_and_ignores_other_programs_variables() {
    let (ok, _, stderr) = with_env(
        &[("SWITCHBOARD__AI__MAX_RETRIS", "5")],
        &["config", "check"],
    );
    assert!(!ok, "a mistyped key passes `config check`");
    assert!(stderr.contains("max_retris"), "{stderr}");

    let foreign = [("SWITCHBOARD_TEST_SOMETHING", "1"), ("MAX_RETRIS", "5")];
    let (ok, _, stderr) = with_env(&foreign, &["config", "check"]);
    assert!(ok, "{stderr}");
}

#[test]
fn migrate_down_reverts_the_latest_migration_unless_told_how_many_or_all() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/migrated.db?mode=rwc", dir.path().display());
    let db = [("SWITCHBOARD__DATABASE__URL", url.as_str())];
    let run = |args: &[&str]| {
        let (ok, stdout, stderr) = with_env(&db, args);
        assert!(ok, "`switchboard {}`: {stderr}", args.join(" "));
        stdout
    };
    let pending = || {
        let status = run(&["migrate", "status"]);
        let lines: Vec<bool> = status.lines().map(|l| l.starts_with("Pending")).collect();
        (lines.iter().filter(|p| **p).count(), lines.len(), lines)
    };
    run(&["migrate"]);
    let (none, total, _) = pending();
    assert_eq!((none, total > 3), (0, true));
    run(&["migrate", "down"]);
    let (one, _, lines) = pending();
    assert_eq!(
        (one, lines.last()),
        (1, Some(&true)),
        "the latest one is reverted"
    );
    run(&["migrate", "down", "2"]);
    assert_eq!(pending().0, 3);
    run(&["migrate", "down", "--all"]);
    assert_eq!(pending().0, total);
    let (ok, _, _) = with_env(&db, &["migrate", "down", "0"]);
    assert!(!ok, "zero steps is refused");
}

#[tokio::test]
async fn kill_9_under_load_loses_nothing_and_repeats_at_most_one_send_per_chat() {
    on_each_database(|db| async move {
        let openai = FakeOpenAi::echoing().await;
        let telegram = FakeTelegram::start().await;
        let config = TestConfig::new(db.url(), &openai, &telegram)
            .with("SWITCHBOARD__WORKER__LEASE_SECONDS", 2);
        let doomed = TestApp::spawn_process(binary(), &config);
        let bot = doomed.telegram_bot(None).await;
        let (chats, per_chat) = (40_i64, 5_i64);
        for n in 0..per_chat {
            for chat in 0..chats {
                let update =
                    updates::text(chat * 1000 + n, 300 + chat, n + 1, &format!("{chat}:{n}"));
                doomed.deliver(&bot, &update).await;
            }
        }
        // Killed while replies are going out.
        telegram.wait_for_sent(20, Duration::from_secs(30)).await;
        doomed.kill().await;

        let survivor = TestApp::spawn_process(binary(), &config);
        let total = (chats * per_chat) as usize;
        telegram.wait_for_sent(total, Duration::from_secs(60)).await;
        let sent = telegram.sent_after_settling().await;
        let mut firsts: Vec<Sent> = Vec::new();
        for reply in &sent {
            if !firsts.iter().any(|seen| seen.text == reply.text) {
                firsts.push(reply.clone());
            }
        }
        assert_eq!(firsts.len(), total, "every acknowledged update is answered");
        // A lane runs one job at a time, so at most one send per chat was in flight.
        let repeated = sent.len() - total;
        assert!(repeated <= chats as usize, "{repeated} sends repeated");
        eprintln!("kill -9 under load: {repeated} of {total} sends repeated");
        assert_each_chat_answered_in_order(&firsts, chats, per_chat);
        assert!(survivor.stop().await);
    })
    .await;
}
