//! Platform bindings: upsert, lookup and credentials round-trip.

use crate::support::{at, new_bot};
use database::testing::fresh_databases;
use domain::repositories::BindingRepository;
use domain::{Credentials, PlatformBinding, PlatformKind, TelegramCredentials};

fn telegram(token: &str) -> Credentials {
    Credentials::Telegram(TelegramCredentials::parse(token, "s3cret").unwrap())
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
