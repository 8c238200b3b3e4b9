//! Platform bindings: upsert, lookup and credentials round-trip.

use crate::support::{at, discord_token, new_bot, telegram_token};
use database::testing::fresh_databases;
use domain::repositories::BindingRepository;
use domain::{Credentials, DiscordCredentials, PlatformBinding, PlatformKind, TelegramCredentials};

fn telegram(token: &str) -> Credentials {
    Credentials::Telegram(TelegramCredentials::parse(&telegram_token(token), "s3cret").unwrap())
}

#[tokio::test]
async fn bindings_are_upserted_and_read_back() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await;
        let first = PlatformBinding::new(bot.id, telegram("1:first"), at(0));
        store.upsert(&first).await.unwrap();
        let got = store.get(bot.id, PlatformKind::Telegram).await.unwrap();
        assert_eq!(got, Some(first.clone()), "{}", db.backend());

        let replacement = PlatformBinding::new(bot.id, telegram("1:second"), at(10));
        store.upsert(&replacement).await.unwrap();
        let got = store
            .get(bot.id, PlatformKind::Telegram)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.credentials, replacement.credentials);
        assert_eq!(got.created_at, first.created_at, "creation time is kept");
        assert_eq!(got.updated_at, replacement.updated_at);

        assert_eq!(store.list_for_bot(bot.id).await.unwrap(), vec![got]);
        assert_eq!(
            store.get(bot.id, PlatformKind::Discord).await.unwrap(),
            None
        );
        assert!(store.delete(bot.id, PlatformKind::Telegram).await.unwrap());
        assert!(!store.delete(bot.id, PlatformKind::Telegram).await.unwrap());
        assert!(store.list_for_bot(bot.id).await.unwrap().is_empty());
    }
}

fn discord(gateway: bool) -> Credentials {
    let key = "a".repeat(64);
    let credentials = DiscordCredentials::parse("1", &key, &discord_token("bot")).unwrap();
    Credentials::Discord(credentials.with_gateway(gateway))
}

#[tokio::test]
async fn bindings_are_listed_by_platform_across_bots() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let ada = new_bot(&store, "Ada").await;
        let bob = new_bot(&store, "Bob").await;
        let ada_discord = PlatformBinding::new(ada.id, discord(true), at(0));
        let bob_discord = PlatformBinding::new(bob.id, discord(false), at(1));
        for binding in [
            &ada_discord,
            &bob_discord,
            &PlatformBinding::new(ada.id, telegram("1:a"), at(2)),
        ] {
            store.upsert(binding).await.unwrap();
        }
        let mut expected = vec![ada_discord, bob_discord];
        expected.sort_by_key(|b| b.bot_id.to_string());
        assert_eq!(
            store.list_by_platform(PlatformKind::Discord).await.unwrap(),
            expected,
            "{}: both bots' discord bindings, gateway flag kept, by bot id",
            db.backend()
        );
        let telegram = store
            .list_by_platform(PlatformKind::Telegram)
            .await
            .unwrap();
        assert_eq!(telegram.len(), 1);
        assert!(store
            .list_by_platform(PlatformKind::Whatsapp)
            .await
            .unwrap()
            .is_empty());
    }
}
