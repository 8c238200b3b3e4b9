//! Platform credentials sealed at rest: round trip, rows bound to their bot and platform, wrong
//! or missing keys refused cleanly, plain rows from before the key still read.

use crate::support::{
    every_binding, exec, new_bot, sealer, stored_credentials, text, MASTER_KEY, OTHER_MASTER_KEY,
    PLATFORM_SECRETS,
};
use database::testing::fresh_databases;
use database::SeaStore;
use domain::repositories::BindingRepository;
use domain::{BotId, PlatformBinding, PlatformKind, RepoError};

/// Stores a binding of every platform for a new bot; returns the bot and the bindings.
async fn bind_all(store: &SeaStore, name: &str) -> (BotId, [PlatformBinding; 4]) {
    let bot = new_bot(store, name).await;
    let bindings = every_binding(bot.id);
    for binding in &bindings {
        store.upsert(binding).await.unwrap();
    }
    (bot.id, bindings)
}

fn assert_no_secret(stored: &str) {
    for secret in PLATFORM_SECRETS {
        assert!(!stored.contains(secret), "{secret} stored in plain text");
    }
}

#[tokio::test]
async fn with_a_master_key_credentials_are_sealed_and_read_back() {
    for db in fresh_databases().await {
        let store = db.store().await.sealed_with(Some(sealer(MASTER_KEY)));
        let (bot_id, bindings) = bind_all(&store, "Ada").await;
        for binding in &bindings {
            let kind = binding.kind();
            let stored = stored_credentials(&store, bot_id, kind.as_str()).await;
            assert!(
                stored.starts_with("sealed:v1:"),
                "{}: {stored}",
                db.backend()
            );
            assert_no_secret(&stored);
            let read = store.get(bot_id, kind).await.unwrap();
            assert_eq!(read.as_ref(), Some(binding), "{}", db.backend());
        }
        let mut listed = store.list_for_bot(bot_id).await.unwrap();
        listed.sort_by_key(|b| b.kind().as_str());
        let mut expected = bindings.to_vec();
        expected.sort_by_key(|b| b.kind().as_str());
        assert_eq!(listed, expected);
    }
}

#[tokio::test]
async fn sealed_credentials_moved_to_another_row_do_not_open() {
    for db in fresh_databases().await {
        let store = db.store().await.sealed_with(Some(sealer(MASTER_KEY)));
        let (ada, _) = bind_all(&store, "Ada").await;
        let bob = new_bot(&store, "Bob").await.id;
        exec(
            &store,
            &format!(
                "INSERT INTO platform_bindings (bot_id, platform, credentials, created_at, updated_at) \
                 SELECT '{bob}', platform, credentials, created_at, updated_at \
                 FROM platform_bindings WHERE bot_id = '{ada}' AND platform = 'telegram'"
            ),
        )
        .await;
        let err = store.get(bob, PlatformKind::Telegram).await.unwrap_err();
        assert!(
            matches!(&err, RepoError::Corrupt(why) if why.contains("moved from another row")),
            "{}: {err}",
            db.backend()
        );
        assert!(store.list_for_bot(bob).await.is_err());

        let telegram = stored_credentials(&store, ada, "telegram").await;
        exec(
            &store,
            &format!(
                "UPDATE platform_bindings SET credentials = '{telegram}' \
                 WHERE bot_id = '{ada}' AND platform = 'discord'"
            ),
        )
        .await;
        let err = store.get(ada, PlatformKind::Discord).await.unwrap_err();
        assert!(matches!(err, RepoError::Corrupt(_)), "{err}");
        assert!(store.get(ada, PlatformKind::Telegram).await.is_ok());
    }
}

#[tokio::test]
async fn a_wrong_or_missing_master_key_is_a_clear_error() {
    for db in fresh_databases().await {
        let store = db.store().await.sealed_with(Some(sealer(MASTER_KEY)));
        let (bot_id, _) = bind_all(&store, "Ada").await;

        let wrong = store.clone().sealed_with(Some(sealer(OTHER_MASTER_KEY)));
        let err = wrong.get(bot_id, PlatformKind::Whatsapp).await.unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, RepoError::Corrupt(_)), "{message}");
        assert!(
            message.contains("security.master_key is not the key"),
            "{message}"
        );
        assert_no_secret(&message);

        let keyless = store.clone().sealed_with(None);
        let err = keyless.list_for_bot(bot_id).await.unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, RepoError::Other(_)), "{message}");
        assert!(
            message.contains("security.master_key is not set"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn plain_rows_from_before_the_key_are_read_and_sealed_on_the_next_write() {
    for db in fresh_databases().await {
        let plain = db.store().await;
        let (bot_id, bindings) = bind_all(&plain, "Ada").await;
        let stored = stored_credentials(&plain, bot_id, "messenger").await;
        assert!(stored.starts_with('{'), "{stored}");
        assert!(
            stored.contains(PLATFORM_SECRETS[3]),
            "the control: plain text"
        );

        let sealed = plain.clone().sealed_with(Some(sealer(MASTER_KEY)));
        let messenger = &bindings[2];
        let read = sealed.get(bot_id, PlatformKind::Messenger).await.unwrap();
        assert_eq!(read.as_ref(), Some(messenger), "{}", db.backend());

        sealed.upsert(messenger).await.unwrap();
        let stored = stored_credentials(&plain, bot_id, "messenger").await;
        assert!(stored.starts_with("sealed:v1:"), "{stored}");
        assert_no_secret(&stored);
        assert_eq!(
            sealed.get(bot_id, PlatformKind::Messenger).await.unwrap(),
            Some(messenger.clone())
        );
        assert!(plain.get(bot_id, PlatformKind::Messenger).await.is_err());
        assert!(plain.get(bot_id, PlatformKind::Telegram).await.is_ok());
    }
}

/// A third key (`openssl rand -base64 32`, once), which sealed nothing.
const THIRD_MASTER_KEY: &str = "mQ3vX8pL2sN6tR1wY5zB9cD3fG7hJ0kM4nP8qS2uV6w=";

#[tokio::test]
async fn a_rotation_seals_every_secret_under_the_new_key_in_one_go() {
    use crate::providers::{new_provider, API_KEY};
    use domain::repositories::ProviderRepository;
    for db in fresh_databases().await {
        let plain = db.store().await;
        let (before_key, _) = bind_all(&plain, "Plain").await;
        let old = db.store().await.sealed_with(Some(sealer(OTHER_MASTER_KEY)));
        let (ada, bindings) = bind_all(&old, "Ada").await;
        let provider = new_provider(&old, "Azure").await;

        let wrong = db.store().await.sealed_with(Some(sealer(THIRD_MASTER_KEY)));
        let stored = stored_credentials(&old, ada, "telegram").await;
        assert!(wrong.reseal_all().await.is_err(), "{}", db.backend());
        let untouched = stored_credentials(&old, ada, "telegram").await;
        assert_eq!(untouched, stored, "a failed rotation changes nothing");

        let rotating = sealer(MASTER_KEY).opening_also(&sealer(OTHER_MASTER_KEY));
        let rotating = db.store().await.sealed_with(Some(rotating));
        let resealed = rotating.reseal_all().await.unwrap();
        assert_eq!(
            (
                resealed.credentials,
                resealed.provider_keys,
                resealed.unchanged
            ),
            (8, 1, 0),
            "{}",
            db.backend()
        );

        let new = db.store().await.sealed_with(Some(sealer(MASTER_KEY)));
        for binding in &bindings {
            let kind = binding.kind();
            let read = BindingRepository::get(&new, ada, kind).await.unwrap();
            assert_eq!(read.as_ref(), Some(binding));
            let refused = BindingRepository::get(&old, ada, kind).await;
            assert!(refused.is_err(), "the old key no longer opens it");
            for bot in [ada, before_key] {
                let stored = stored_credentials(&new, bot, kind.as_str()).await;
                assert!(stored.starts_with("sealed:v1:"), "{stored}");
                assert_no_secret(&stored);
            }
        }
        let read = ProviderRepository::get(&new, provider.id).await.unwrap();
        assert_eq!(read.unwrap().api_key.expose(), API_KEY);
        let again = new.reseal_all().await.unwrap();
        assert_eq!(
            (again.credentials, again.unchanged),
            (0, 9),
            "nothing left to do"
        );
        assert!(
            plain.reseal_all().await.is_err(),
            "no key, nothing to seal with"
        );
    }
}

#[tokio::test]
async fn the_header_values_of_a_bots_mcp_servers_are_sealed_read_back_and_resealed() {
    use domain::repositories::BotRepository;
    use domain::{McpServer, Secret};
    const TOKEN: &str = "Bearer mcp-s3cret-token";
    for db in fresh_databases().await {
        let old = db.store().await.sealed_with(Some(sealer(OTHER_MASTER_KEY)));
        let mut bot = new_bot(&old, "Ada").await;
        let server = McpServer {
            name: "calc".into(),
            url: "https://tools.example/mcp".into(),
            headers: [("Authorization".to_owned(), Secret::new(TOKEN))].into(),
            allowed_tools: Some(vec!["add".into()]),
        };
        bot.replies.mcp_servers = vec![server];
        assert!(BotRepository::update(&old, &bot).await.unwrap());
        let column = format!("SELECT replies FROM bots WHERE id = '{}'", bot.id);
        let stored = text(&old, &column).await.unwrap();
        assert!(!stored.contains("mcp-s3cret"), "{}: {stored}", db.backend());
        assert!(stored.contains("sealed:v1:") && stored.contains("tools.example"));
        let read = BotRepository::get(&old, bot.id).await.unwrap().unwrap();
        assert_eq!(read, bot, "opened in memory");

        let rotating = sealer(MASTER_KEY).opening_also(&sealer(OTHER_MASTER_KEY));
        let rotating = db.store().await.sealed_with(Some(rotating));
        let resealed = rotating.reseal_all().await.unwrap();
        assert_eq!((resealed.mcp_headers, resealed.unchanged), (1, 0));
        let new = db.store().await.sealed_with(Some(sealer(MASTER_KEY)));
        let read = BotRepository::get(&new, bot.id).await.unwrap().unwrap();
        assert_eq!(
            read.replies.mcp_servers[0].headers["Authorization"].expose(),
            TOKEN
        );
        assert!(
            BotRepository::get(&old, bot.id).await.is_err(),
            "the old key no longer opens it"
        );
        let again = new.reseal_all().await.unwrap();
        assert_eq!((again.mcp_headers, again.unchanged), (0, 1));
    }
}
