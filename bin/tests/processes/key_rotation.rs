//! `switchboard keys rotate --new-key`: every secret sealed again under the new key in one go; a server on the new key alone keeps every binding working, and the database holds no secret in plain text before or after.

use super::binary;
use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use std::process::Command;
use switchboard_e2e::app::BOT_TOKEN;
use switchboard_e2e::fakes::{FakeOpenAi, FakeTelegram};
use switchboard_e2e::{on_each_database, updates, TestApp, TestConfig, PATIENCE};

/// `openssl rand -base64 32`, once each.
const OLD_KEY: &str = "q2v9vQ0m3T0yqkq9y4x6m1Yt9Gx2fS0n4bYHq4uV1lE=";
const NEW_KEY: &str = "Zk9yKqS2mX0vT3pW8nB1cD4eF7gH0iJ2kL5mN8oP1qQ=";
const PROVIDER_KEY: &str = "sk-rotation-provider-secret-77aa";
/// An outgoing webhook's signing secret (its base64 part is what must never be stored plain).
const WEBHOOK_KEY: &str = "RotationWebhookSecretRotationWebhookKey0";

/// Every sealed column as stored: the bindings' credentials, the providers' keys and the
/// webhooks' secrets.
async fn stored_secrets(url: &str) -> Vec<String> {
    let db = database::connect(url).await.unwrap();
    let mut stored = Vec::new();
    for sql in [
        "SELECT credentials FROM platform_bindings",
        "SELECT api_key FROM providers",
        "SELECT secret FROM webhooks",
    ] {
        let statement = Statement::from_string(db.get_database_backend(), sql);
        for row in db.query_all(statement).await.unwrap() {
            stored.push(row.try_get_by_index::<String>(0).unwrap());
        }
    }
    stored
}

fn assert_sealed(stored: &[String]) {
    assert_eq!(stored.len(), 3, "{stored:?}");
    for value in stored {
        assert!(value.starts_with("sealed:v1:"), "{value}");
        assert!(!value.contains(BOT_TOKEN) && !value.contains(PROVIDER_KEY));
        assert!(!value.contains(WEBHOOK_KEY));
    }
}

/// `switchboard keys rotate` with `args`, configured with `keys` (`SWITCHBOARD__SECURITY__…`).
fn rotate(url: &str, keys: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let output = Command::new(binary())
        .args(["keys", "rotate"])
        .args(args)
        .env_remove("RUST_LOG")
        .env("SWITCHBOARD__DATABASE__URL", url)
        .envs(
            keys.iter()
                .map(|(name, key)| (format!("SWITCHBOARD__SECURITY__{name}"), key)),
        )
        .output()
        .expect("the switchboard binary runs");
    let stderr = String::from_utf8(output.stderr).unwrap();
    eprintln!("[switchboard] {stderr}");
    (output.status.success(), stderr)
}

/// A server on `config` with `keys` answers chat 4242's message `n` with the bot's own token.
async fn answers(
    config: &TestConfig,
    keys: &[(&'static str, &str)],
    bot: &str,
    telegram: &FakeTelegram,
    n: i64,
) {
    let config = keys.iter().fold(config.clone(), |config, (name, key)| {
        config.with(name, *key)
    });
    let app = TestApp::spawn(&config).await;
    app.deliver(bot, &updates::text(n, 4242, n, "hello")).await;
    telegram.wait_for_sent(n as usize, PATIENCE).await;
    let sends = telegram.calls("sendMessage").await;
    assert!(
        sends.iter().all(|r| r.url.path().contains(BOT_TOKEN)),
        "sent with the bot's token"
    );
    let (status, providers) = app.admin(Method::GET, "/api/v1/providers", None).await;
    assert_eq!(
        (status, providers["items"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{providers}"
    );
    let (status, webhooks) = app.admin(Method::GET, "/api/v1/webhooks", None).await;
    let listed = webhooks["items"].as_array().map(Vec::len);
    assert_eq!((status, listed), (200, Some(1)), "{webhooks}");
    assert!(app.stop().await);
}

const MASTER: &str = "SWITCHBOARD__SECURITY__MASTER_KEY";
const PREVIOUS: &str = "SWITCHBOARD__SECURITY__PREVIOUS_MASTER_KEY";
/// `openssl rand -base64 32`, once.
const THIRD_KEY: &str = "mQ3vX8pL2sN6tR1wY5zB9cD3fG7hJ0kM4nP8qS2uV6w=";

#[tokio::test]
async fn a_rotated_key_keeps_every_binding_working_and_no_secret_is_ever_plain() {
    on_each_database(|db| async move {
        let (openai, telegram) = (
            FakeOpenAi::answering("hi").await,
            FakeTelegram::start().await,
        );
        let config = TestConfig::new(db.url(), &openai, &telegram);
        let old = TestApp::spawn(&config.clone().with(MASTER, OLD_KEY)).await;
        let bot = old.telegram_bot(None).await;
        let provider = json!({"name": "local", "kind": "openai_compatible",
            "base_url": "http://127.0.0.1:9/v1", "api_key": PROVIDER_KEY});
        let (status, body) = old
            .admin(Method::POST, "/api/v1/providers", Some(provider))
            .await;
        assert_eq!(status, 201, "{body}");
        let webhook = json!({"url": "https://hooks.example.com/in", "events": ["*"],
            "secret": format!("whsec_{WEBHOOK_KEY}")});
        let (status, body) = old
            .admin(Method::POST, "/api/v1/webhooks", Some(webhook))
            .await;
        assert_eq!(status, 201, "{body}");
        assert!(old.stop().await);
        let before = stored_secrets(db.url()).await;
        assert_sealed(&before);

        // The drill: the new key seals and the old one still opens, on every replica…
        answers(
            &config,
            &[(MASTER, NEW_KEY), (PREVIOUS, OLD_KEY)],
            &bot,
            &telegram,
            1,
        )
        .await;
        // …then everything is sealed again under the new key, and the old one can go.
        let (ok, stderr) = rotate(
            db.url(),
            &[("MASTER_KEY", NEW_KEY), ("PREVIOUS_MASTER_KEY", OLD_KEY)],
            &[],
        );
        assert!(ok, "{stderr}");
        assert!(
            stderr.contains(
                "resealed 1 platform credentials, 1 provider keys, 0 MCP header values and 1 webhook secrets"
            ),
            "{stderr}"
        );
        let after = stored_secrets(db.url()).await;
        assert_sealed(&after);
        assert!(
            before.iter().all(|value| !after.contains(value)),
            "each sealed anew"
        );
        answers(&config, &[(MASTER, NEW_KEY)], &bot, &telegram, 2).await;

        // Or in one step, naming the new key.
        let (ok, stderr) = rotate(
            db.url(),
            &[("MASTER_KEY", NEW_KEY)],
            &["--new-key", "not a key"],
        );
        assert!(!ok && stderr.contains("--new-key"), "{stderr}");
        let (ok, stderr) = rotate(
            db.url(),
            &[("MASTER_KEY", OLD_KEY)],
            &["--new-key", THIRD_KEY],
        );
        assert!(
            !ok && stderr.contains("nothing was changed"),
            "the configured key opens nothing: {stderr}"
        );
        let (ok, stderr) = rotate(
            db.url(),
            &[("MASTER_KEY", NEW_KEY)],
            &["--new-key", THIRD_KEY],
        );
        assert!(ok, "{stderr}");
        assert_sealed(&stored_secrets(db.url()).await);
        answers(&config, &[(MASTER, THIRD_KEY)], &bot, &telegram, 3).await;
    })
    .await;
}
