//! Telegram polling: which bindings poll, and offsets that only move forward for their own Telegram account.

use crate::support::{at, new_bot, telegram_token};
use application::ports::PollOffsets;
use database::testing::fresh_databases;
use domain::repositories::{BindingRepository, BotRepository};
use domain::{Credentials, PlatformBinding, TelegramCredentials, TelegramMode};

fn telegram(token: &str, mode: TelegramMode) -> Credentials {
    let credentials = TelegramCredentials::parse(&telegram_token(token), "s3cret").unwrap();
    Credentials::Telegram(credentials.with_mode(mode))
}

#[tokio::test]
async fn only_telegram_bindings_in_polling_mode_are_polled() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let polling = new_bot(&store, "Polling").await;
        let hooked = new_bot(&store, "Hooked").await;
        let binding =
            PlatformBinding::new(polling.id, telegram("1:a", TelegramMode::Polling), at(0));
        store.upsert(&binding).await.unwrap();
        let webhook = telegram("2:b", TelegramMode::Webhook);
        store
            .upsert(&PlatformBinding::new(hooked.id, webhook, at(0)))
            .await
            .unwrap();

        assert_eq!(
            store.polling_bindings().await.unwrap(),
            vec![binding],
            "{}",
            db.backend()
        );

        let back_to_webhooks = telegram("1:a", TelegramMode::Webhook);
        store
            .upsert(&PlatformBinding::new(polling.id, back_to_webhooks, at(5)))
            .await
            .unwrap();
        assert!(store.polling_bindings().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn an_offset_moves_only_forward_and_belongs_to_its_account() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await;
        assert_eq!(store.offset(bot.id, "1").await.unwrap(), None);

        store.commit_offset(bot.id, "1", 10, at(1)).await.unwrap();
        assert_eq!(
            store.offset(bot.id, "1").await.unwrap(),
            Some(10),
            "{}",
            db.backend()
        );
        store.commit_offset(bot.id, "1", 12, at(2)).await.unwrap();
        store.commit_offset(bot.id, "1", 11, at(3)).await.unwrap();
        assert_eq!(
            store.offset(bot.id, "1").await.unwrap(),
            Some(12),
            "a late commit never moves it back"
        );

        assert_eq!(
            store.offset(bot.id, "2").await.unwrap(),
            None,
            "another token's offset is not this one's"
        );
        store.commit_offset(bot.id, "2", 3, at(4)).await.unwrap();
        assert_eq!(store.offset(bot.id, "2").await.unwrap(), Some(3));
        assert_eq!(store.offset(bot.id, "1").await.unwrap(), None);

        let other = new_bot(&store, "Bea").await;
        assert_eq!(store.offset(other.id, "2").await.unwrap(), None);
        assert!(BotRepository::delete(&store, bot.id).await.unwrap());
        store.commit_offset(other.id, "2", 1, at(5)).await.unwrap();
        assert_eq!(store.offset(other.id, "2").await.unwrap(), Some(1));
        assert_eq!(
            store.offset(bot.id, "2").await.unwrap(),
            None,
            "deleted with its bot"
        );
    }
}
