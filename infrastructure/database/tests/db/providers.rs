//! Providers: every field round trip, paging, updates, deletion refused while a bot names the
//! provider, keys sealed at rest, corrupt rows, and bots' choice of provider.

use crate::support::{
    all_pages, at, count, draft, exec, migrate_down_to, now, receive, sealer, text, MASTER_KEY,
};
use application::ports::Recorded;
use database::testing::fresh_databases;
use database::SeaStore;
use domain::repositories::{BotRepository, MessageRepository, ProviderRemoval, ProviderRepository};
use domain::{
    BaseUrl, Bot, ModelPrice, Prices, Provider, ProviderDraft, ProviderId, ProviderKind,
    ProviderName, RepoError, Secret,
};
use migrations::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;
use std::collections::BTreeMap;

pub(crate) const API_KEY: &str = "sk-proj-provider-secret-4f9c2e7a1b";

fn prices() -> Prices {
    let models = BTreeMap::from([
        (
            "gpt-4o".to_owned(),
            ModelPrice {
                input: 2.5,
                output: 10.0,
            },
        ),
        (
            "gpt-4o-mini".to_owned(),
            ModelPrice {
                input: 0.15,
                output: 0.6,
            },
        ),
    ]);
    Prices::parse("USD", models).unwrap()
}

pub(crate) fn provider_draft(name: &str) -> ProviderDraft {
    ProviderDraft {
        name: ProviderName::parse(name).unwrap(),
        kind: ProviderKind::AzureOpenai,
        base_url: BaseUrl::parse("https://ada.openai.azure.com/openai/deployments/gpt").unwrap(),
        api_key: Secret::new(API_KEY),
        models: vec!["gpt-4o".into(), "gpt-4o-mini".into()],
        prices: Some(prices()),
    }
}

pub(crate) async fn new_provider(store: &SeaStore, name: &str) -> Provider {
    let provider = Provider::create(provider_draft(name), at(0));
    ProviderRepository::insert(store, &provider).await.unwrap();
    provider
}

/// A bot that uses `provider`.
async fn bot_using(store: &SeaStore, name: &str, provider: ProviderId) -> Bot {
    let mut chosen = draft(name);
    chosen.provider_id = Some(provider);
    let bot = Bot::create(chosen, now());
    BotRepository::insert(store, &bot).await.unwrap();
    bot
}

async fn stored_api_key(store: &SeaStore, id: ProviderId) -> String {
    let sql = format!("SELECT api_key FROM providers WHERE id = '{id}'");
    text(store, &sql).await.unwrap()
}

#[tokio::test]
async fn providers_round_trip_every_field() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let full = new_provider(&store, "Azure").await;
        let read = ProviderRepository::get(&store, full.id).await.unwrap();
        assert_eq!(read.as_ref(), Some(&full), "{}", db.backend());
        let read = read.unwrap();
        assert_eq!(read.api_key.expose(), API_KEY);
        assert_eq!(read.models, ["gpt-4o", "gpt-4o-mini"]);
        assert_eq!(read.prices, Some(prices()));

        let bare = ProviderDraft {
            kind: ProviderKind::OpenaiCompatible,
            base_url: BaseUrl::parse("http://127.0.0.1:11434/v1").unwrap(),
            models: Vec::new(),
            prices: None,
            ..provider_draft("Ollama")
        };
        let bare = Provider::create(bare, at(1));
        ProviderRepository::insert(&store, &bare).await.unwrap();
        let read = ProviderRepository::get(&store, bare.id).await.unwrap();
        assert_eq!(read, Some(bare), "{}", db.backend());

        let again = ProviderRepository::insert(&store, &full).await.unwrap_err();
        assert!(matches!(again, RepoError::Duplicate(_)), "{again:?}");
        let unknown = ProviderRepository::get(&store, ProviderId::new()).await;
        assert_eq!(unknown.unwrap(), None);
    }
}

#[tokio::test]
async fn providers_are_listed_in_id_order_with_a_cursor() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let mut ids = Vec::new();
        for n in 0..5 {
            ids.push(new_provider(&store, &format!("provider {n}")).await.id);
        }
        let (providers, pages) = all_pages(2, |request| {
            let store = &store;
            async move { ProviderRepository::list(store, &request).await }
        })
        .await;
        let seen: Vec<ProviderId> = providers.iter().map(|p| p.id).collect();
        assert_eq!(seen, ids, "{}", db.backend());
        assert_eq!(pages, 3);
        assert!(providers.iter().all(|p| p.api_key.expose() == API_KEY));
    }
}

#[tokio::test]
async fn an_update_saves_every_operator_field() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let mut provider = new_provider(&store, "Azure").await;
        let revised = ProviderDraft {
            name: ProviderName::parse("OpenAI").unwrap(),
            kind: ProviderKind::Openai,
            base_url: BaseUrl::parse("https://api.openai.com/v1").unwrap(),
            api_key: Secret::new("sk-another-key"),
            models: vec!["o3".into()],
            prices: None,
        };
        provider.revise(revised, at(9));
        assert!(ProviderRepository::update(&store, &provider).await.unwrap());
        let read = ProviderRepository::get(&store, provider.id).await.unwrap();
        assert_eq!(read.as_ref(), Some(&provider), "{}", db.backend());
        let read = read.unwrap();
        assert_eq!((read.created_at, read.updated_at), (at(0), at(9)));

        let ghost = Provider::create(provider_draft("Ghost"), now());
        assert!(!ProviderRepository::update(&store, &ghost).await.unwrap());
        assert_eq!(
            ProviderRepository::get(&store, ghost.id).await.unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn deleting_a_provider_says_whether_it_was_there() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let provider = new_provider(&store, "Azure").await;
        let kept = new_provider(&store, "Kept").await;
        let unknown = ProviderRepository::delete(&store, ProviderId::new()).await;
        assert_eq!(
            unknown.unwrap(),
            ProviderRemoval::Missing,
            "{}",
            db.backend()
        );

        let removal = ProviderRepository::delete(&store, provider.id).await;
        assert_eq!(removal.unwrap(), ProviderRemoval::Deleted);
        assert_eq!(
            ProviderRepository::get(&store, provider.id).await.unwrap(),
            None
        );
        let again = ProviderRepository::delete(&store, provider.id).await;
        assert_eq!(again.unwrap(), ProviderRemoval::Missing);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM providers").await, 1);
        assert!(ProviderRepository::get(&store, kept.id)
            .await
            .unwrap()
            .is_some());
    }
}

#[tokio::test]
async fn a_provider_a_bot_names_is_not_deleted() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let provider = new_provider(&store, "Azure").await;
        let mut bot = bot_using(&store, "Ada", provider.id).await;

        let removal = ProviderRepository::delete(&store, provider.id).await;
        assert_eq!(removal.unwrap(), ProviderRemoval::InUse, "{}", db.backend());
        let still = ProviderRepository::get(&store, provider.id).await.unwrap();
        assert_eq!(still, Some(provider.clone()), "nothing was deleted");

        let mut revised = bot.draft();
        revised.provider_id = None;
        bot.revise(revised, now());
        assert!(BotRepository::update(&store, &bot).await.unwrap());
        let removal = ProviderRepository::delete(&store, provider.id).await;
        assert_eq!(removal.unwrap(), ProviderRemoval::Deleted);
    }
}

#[tokio::test]
async fn a_bot_naming_a_missing_provider_does_not_make_it_in_use() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let gone = ProviderId::new();
        bot_using(&store, "Ada", gone).await;
        let removal = ProviderRepository::delete(&store, gone).await;
        assert_eq!(
            removal.unwrap(),
            ProviderRemoval::Missing,
            "{}",
            db.backend()
        );
    }
}

#[tokio::test]
async fn with_a_master_key_the_api_key_is_sealed_and_read_back() {
    for db in fresh_databases().await {
        let plain = db.store().await;
        let sealed = plain.clone().sealed_with(Some(sealer(MASTER_KEY)));
        let mut provider = new_provider(&sealed, "Azure").await;
        let stored = stored_api_key(&plain, provider.id).await;
        assert!(
            stored.starts_with("sealed:v1:"),
            "{}: {stored}",
            db.backend()
        );
        assert!(
            !stored.contains(API_KEY),
            "{}: the key in plain text",
            db.backend()
        );
        let read = ProviderRepository::get(&sealed, provider.id).await.unwrap();
        assert_eq!(read, Some(provider.clone()));

        let mut revised = provider.draft();
        revised.api_key = Secret::new("sk-rotated-key-0a1b2c");
        provider.revise(revised, at(5));
        assert!(ProviderRepository::update(&sealed, &provider)
            .await
            .unwrap());
        let stored = stored_api_key(&plain, provider.id).await;
        assert!(stored.starts_with("sealed:v1:") && !stored.contains("sk-rotated-key"));
        let read = ProviderRepository::get(&sealed, provider.id).await.unwrap();
        assert_eq!(read.unwrap().api_key.expose(), "sk-rotated-key-0a1b2c");

        let err = ProviderRepository::get(&plain, provider.id)
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, RepoError::Other(_)), "{message}");
        assert!(
            message.contains("security.master_key is not set"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn without_a_master_key_the_api_key_is_plain_and_still_read_once_sealing() {
    for db in fresh_databases().await {
        let plain = db.store().await;
        let provider = new_provider(&plain, "Azure").await;
        assert_eq!(
            stored_api_key(&plain, provider.id).await,
            API_KEY,
            "the control"
        );
        let sealed = plain.clone().sealed_with(Some(sealer(MASTER_KEY)));
        let read = ProviderRepository::get(&sealed, provider.id).await.unwrap();
        assert_eq!(read, Some(provider), "{}", db.backend());
    }
}

#[tokio::test]
async fn a_sealed_key_moved_to_another_provider_does_not_open() {
    for db in fresh_databases().await {
        let store = db.store().await.sealed_with(Some(sealer(MASTER_KEY)));
        let ada = new_provider(&store, "Ada").await;
        let bob = new_provider(&store, "Bob").await;
        let moved = stored_api_key(&store, ada.id).await;
        let sql = format!(
            "UPDATE providers SET api_key = '{moved}' WHERE id = '{}'",
            bob.id
        );
        exec(&store, &sql).await;
        let err = ProviderRepository::get(&store, bob.id).await.unwrap_err();
        assert!(
            matches!(&err, RepoError::Corrupt(why) if why.contains("providers.api_key")),
            "{}: {err}",
            db.backend()
        );
        assert!(!err.to_string().contains(API_KEY));
        assert!(ProviderRepository::get(&store, ada.id).await.is_ok());
    }
}

#[tokio::test]
async fn a_row_whose_kind_or_json_does_not_parse_is_corrupt() {
    let corruptions = [
        "kind = 'anthropic'",
        "models = 'not json'",
        "models = '{\"a\":1}'",
        "prices = 'not json'",
        "prices = '{\"currency\":\"usd\",\"models\":{}}'",
        "name = '   '",
        "base_url = 'ftp://example.com'",
    ];
    for db in fresh_databases().await {
        let store = db.store().await;
        for corruption in corruptions {
            let provider = new_provider(&store, "Azure").await;
            let sql = format!(
                "UPDATE providers SET {corruption} WHERE id = '{}'",
                provider.id
            );
            exec(&store, &sql).await;
            let err = ProviderRepository::get(&store, provider.id)
                .await
                .unwrap_err();
            assert!(
                matches!(err, RepoError::Corrupt(_)),
                "{} {corruption}: {err:?}",
                db.backend()
            );
            let listed = ProviderRepository::list(&store, &Default::default()).await;
            assert!(matches!(listed, Err(RepoError::Corrupt(_))), "{corruption}");
            ProviderRepository::delete(&store, provider.id)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_bot_keeps_its_provider_through_insert_update_get_and_list() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let first = new_provider(&store, "First").await.id;
        let second = new_provider(&store, "Second").await.id;
        let mut bot = bot_using(&store, "Ada", first).await;
        let read = BotRepository::get(&store, bot.id).await.unwrap().unwrap();
        assert_eq!(read.provider_id, Some(first), "{}", db.backend());
        assert_eq!(read, bot);

        let mut revised = bot.draft();
        revised.provider_id = Some(second);
        bot.revise(revised, now());
        assert!(BotRepository::update(&store, &bot).await.unwrap());
        let read = BotRepository::get(&store, bot.id).await.unwrap().unwrap();
        assert_eq!(read.provider_id, Some(second));
        let listed = BotRepository::list(&store, &Default::default()).await;
        assert_eq!(listed.unwrap().items, [bot.clone()]);

        let Recorded::New { message_id, .. } = receive(&store, bot.id, "chat", "1").await else {
            unreachable!()
        };
        let found = store.get_in_context(message_id, 0).await.unwrap().unwrap();
        assert_eq!(found.bot.unwrap().provider_id, Some(second));

        let mut revised = bot.draft();
        revised.provider_id = None;
        bot.revise(revised, now());
        assert!(BotRepository::update(&store, &bot).await.unwrap());
        let read = BotRepository::get(&store, bot.id).await.unwrap().unwrap();
        assert_eq!(read.provider_id, None);
    }
}

#[tokio::test]
async fn a_bot_naming_an_unparseable_provider_id_is_corrupt() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = bot_using(&store, "Ada", ProviderId::new()).await;
        exec(&store, "UPDATE bots SET provider_id = 'not-an-id'").await;
        let err = BotRepository::get(&store, bot.id).await.unwrap_err();
        assert!(
            matches!(err, RepoError::Corrupt(_)),
            "{}: {err:?}",
            db.backend()
        );
    }
}

#[tokio::test]
async fn the_providers_migration_goes_down_and_up_with_bots_kept() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let provider = new_provider(&store, "Azure").await;
        bot_using(&store, "Ada", provider.id).await;

        let providers = Migrator::migrations()
            .iter()
            .position(|m| m.name().ends_with("_providers"))
            .unwrap();
        migrate_down_to(&store, providers).await;
        let gone = store
            .connection()
            .execute_unprepared("SELECT provider_id FROM bots")
            .await
            .unwrap_err();
        assert!(gone.to_string().contains("provider_id"), "{gone}");
        assert_eq!(count(&store, "SELECT COUNT(*) FROM bots").await, 1);

        Migrator::up(store.connection(), None).await.unwrap();
        let bots = BotRepository::list(&store, &Default::default()).await;
        assert_eq!(bots.unwrap().items[0].provider_id, None, "{}", db.backend());
        assert_eq!(count(&store, "SELECT COUNT(*) FROM providers").await, 0);
    }
}
