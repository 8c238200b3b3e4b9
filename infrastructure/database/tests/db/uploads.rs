//! Visitors' pictures: kept by id for their bot only, read back whole, erased with the visitor's chat.

use crate::support::new_bot;
use application::ports::{Erasure, Image, Upload, Uploads};
use chrono::Utc;
use database::testing::fresh_databases;
use domain::{BotId, ExternalChatId, PlatformKind};

fn upload(id: &str, bot_id: BotId, chat: &str) -> Upload {
    Upload {
        id: id.to_owned(),
        bot_id,
        platform: PlatformKind::WebChat,
        chat: ExternalChatId::parse(chat).unwrap(),
        image: Image {
            media_type: "image/png",
            bytes: b"\x89PNG\r\n\x1a\n\x00\xffbinary".to_vec(),
        },
        created_at: Utc::now(),
    }
}

#[tokio::test]
async fn a_picture_is_read_back_by_its_bot_only_and_erased_with_its_chat() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let (ada, bob) = (
            new_bot(&store, "Ada").await.id,
            new_bot(&store, "Bob").await.id,
        );
        let kept = upload("u1", ada, "visitor-1");
        store.put(&kept).await.unwrap();
        store.put(&upload("u2", ada, "visitor-2")).await.unwrap();

        let read = store.image(ada, "u1").await.unwrap();
        assert_eq!(read, Some(kept.image.clone()), "{}", db.backend());
        assert_eq!(store.image(bob, "u1").await.unwrap(), None, "another bot's");
        assert_eq!(store.image(ada, "nope").await.unwrap(), None);
        let asked = ["u1".to_owned(), "u2".to_owned(), "nope".to_owned()];
        let kept = store.kept(ada, &asked).await.unwrap();
        let mut ids: Vec<&String> = kept.keys().collect();
        ids.sort();
        assert_eq!(ids, ["u1", "u2"], "{}", db.backend());
        assert_eq!(kept["u1"], "image/png");
        assert!(
            store.kept(bob, &asked).await.unwrap().is_empty(),
            "another bot's"
        );

        let chat = ExternalChatId::parse("visitor-1").unwrap();
        let erased = store
            .erase_chat(ada, PlatformKind::WebChat, &chat)
            .await
            .unwrap();
        assert_eq!(erased.attachments, 1);
        assert_eq!(store.image(ada, "u1").await.unwrap(), None);
        assert!(
            store.image(ada, "u2").await.unwrap().is_some(),
            "another visitor's stays"
        );
    }
}
