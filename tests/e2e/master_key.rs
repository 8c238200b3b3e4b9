//! With `security.master_key` set, webhooks are verified and answered with sealed credentials.

use crate::{on_each_database, PATIENCE};
use database::Sealer;
use domain::repositories::BindingRepository;
use domain::{BotId, Credentials, PlatformKind};
use switchboard_e2e::app::BOT_TOKEN;
use switchboard_e2e::fakes::FakeOpenAi;
use switchboard_e2e::{updates, TelegramWorld};

/// `openssl rand -base64 32`, once.
const MASTER_KEY: &str = "q2v9vQ0m3T0yqkq9y4x6m1Yt9Gx2fS0n4bYHq4uV1lE=";

#[tokio::test]
async fn sealed_credentials_verify_and_answer_webhooks() {
    on_each_database(|db| async move {
        let world = TelegramWorld::start_with(
            db.url(),
            FakeOpenAi::answering("sealed hello").await,
            |config| config.with("SWITCHBOARD__SECURITY__MASTER_KEY", MASTER_KEY),
            None,
        )
        .await;

        world.deliver(&updates::text(1, 4242, 10, "hi")).await;
        let sent = world.telegram.wait_for_sent(1, PATIENCE).await;
        assert_eq!(sent[0].text, "sealed hello");

        let bot_id: BotId = world.bot.parse().unwrap();
        let keyless = db.store().await;
        let refused = keyless.get(bot_id, PlatformKind::Telegram).await;
        assert!(refused.is_err(), "stored in plain text: {refused:?}");
        let sealer = Sealer::from_base64(MASTER_KEY).unwrap();
        let keyed = keyless.sealed_with(Some(sealer));
        let binding = keyed.get(bot_id, PlatformKind::Telegram).await.unwrap();
        let Some(Credentials::Telegram(credentials)) = binding.map(|b| b.credentials) else {
            panic!("no Telegram binding");
        };
        assert_eq!(credentials.token.expose(), BOT_TOKEN);
        world.app.stop().await;
    })
    .await;
}
