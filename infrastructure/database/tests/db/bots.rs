//! Bot CRUD, pausing, paging and cascading deletion.

use crate::support::{all_pages, at, count, draft, exec, new_bot, now, receive};
use database::testing::fresh_databases;
use domain::repositories::BotRepository;
use domain::{Bot, BotId, Credentials, PlatformBinding, RepoError, TelegramCredentials};

#[tokio::test]
async fn bots_round_trip_update_and_delete() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let mut bot = new_bot(&store, "Ada").await;
        assert_eq!(
            store.get(bot.id).await.unwrap(),
            Some(bot.clone()),
            "{}",
            db.backend()
        );

        let again = store.insert(&bot).await.unwrap_err();
        assert!(matches!(again, RepoError::Duplicate(_)), "{again:?}");

        let mut revised = draft("Grace");
        revised.temperature = None;
        revised.fallback_message = Some("later".into());
        bot.revise(revised, now());
        assert!(store.update(&bot).await.unwrap());
        assert_eq!(store.get(bot.id).await.unwrap(), Some(bot.clone()));

        let ghost = Bot::create(draft("Ghost"), now());
        assert!(!store.update(&ghost).await.unwrap());

        assert!(BotRepository::delete(&store, bot.id).await.unwrap());
        assert_eq!(store.get(bot.id).await.unwrap(), None);
        assert!(!BotRepository::delete(&store, bot.id).await.unwrap());
    }
}

#[tokio::test]
async fn a_bot_stored_with_control_characters_before_they_were_refused_still_reads() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await;
        // What an older version let through: an escape sequence and a fake row in the name,
        // a form feed in the prompt (both engines store these; only NUL was ever refused).
        let chr = if db.backend() == "postgres" {
            "CHR"
        } else {
            "CHAR"
        };
        let sql = format!(
            "UPDATE bots SET name = 'Ada' || {chr}(27) || '[31m' || {chr}(10) || 'FAKE', \
             system_prompt = 'Be' || {chr}(12) || 'brief.' || {chr}(10) WHERE id = '{}'",
            bot.id
        );
        exec(&store, &sql).await;
        let read = store.get(bot.id).await.unwrap().unwrap();
        assert_eq!(
            read.name.as_str(),
            "Ada\u{fffd}[31m\u{fffd}FAKE",
            "{}",
            db.backend()
        );
        assert_eq!(read.system_prompt.as_str(), "Be\u{fffd}brief.\n");
    }
}

#[tokio::test]
async fn a_pause_is_saved_and_an_edit_from_before_it_leaves_it_alone() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let mut before_pause = new_bot(&store, "Ada").await;
        let mut bot = before_pause.clone();
        bot.pause(at(5));
        assert!(store.save_pause(&bot).await.unwrap());
        assert_eq!(
            store.get(bot.id).await.unwrap(),
            Some(bot.clone()),
            "{}",
            db.backend()
        );

        before_pause.revise(draft("Grace"), at(6));
        assert!(store.update(&before_pause).await.unwrap());
        let stored = store.get(bot.id).await.unwrap().unwrap();
        assert_eq!(stored.name.as_str(), "Grace");
        assert_eq!(stored.paused_at, Some(at(5)), "the edit did not resume it");

        bot.resume(at(7));
        assert!(store.save_pause(&bot).await.unwrap());
        let stored = store.get(bot.id).await.unwrap().unwrap();
        assert_eq!((stored.paused_at, stored.updated_at), (None, at(7)));
        assert_eq!(stored.name.as_str(), "Grace", "a pause writes nothing else");

        let ghost = Bot::create(draft("Ghost"), now());
        assert!(!store.save_pause(&ghost).await.unwrap());
    }
}

#[tokio::test]
async fn bots_are_listed_in_id_order_with_a_cursor() {
    for db in fresh_databases().await {
        let store = db.store().await;
        let mut ids = Vec::new();
        for n in 0..5 {
            ids.push(new_bot(&store, &format!("bot {n}")).await.id);
        }
        let (bots, pages) = all_pages(2, |request| {
            let store = &store;
            async move { BotRepository::list(store, &request).await }
        })
        .await;
        let seen: Vec<BotId> = bots.iter().map(|b| b.id).collect();
        assert_eq!(seen, ids, "{}", db.backend());
        assert_eq!(pages, 3);
    }
}

#[tokio::test]
async fn deleting_a_bot_removes_everything_it_owns() {
    for db in fresh_databases().await {
        use domain::repositories::BindingRepository;
        let store = db.store().await;
        let bot = new_bot(&store, "Ada").await;
        let credentials =
            TelegramCredentials::parse(&crate::support::telegram_token("1:abc"), "secret").unwrap();
        let binding = PlatformBinding::new(bot.id, Credentials::Telegram(credentials), now());
        store.upsert(&binding).await.unwrap();
        receive(&store, bot.id, "chat", "1").await;
        let other = new_bot(&store, "Other").await;
        receive(&store, other.id, "chat", "1").await;

        assert!(BotRepository::delete(&store, bot.id).await.unwrap());
        for table in ["platform_bindings", "conversations", "messages", "jobs"] {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE bot_id = '{}'", bot.id);
            assert_eq!(count(&store, &sql).await, 0, "{table} on {}", db.backend());
        }
        assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs").await, 1);
    }
}

#[tokio::test]
async fn a_bots_guardrails_are_read_back_as_written() {
    use domain::moderation::{BlockedTerms, ModerationPolicy, OnError};
    use domain::{Allowance, Budget, Guardrails, Limit, Period, RateLimits};
    for db in fresh_databases().await {
        let store = db.store().await;
        let mut bot = new_bot(&store, "Ada").await;
        assert_eq!(bot.guardrails, Guardrails::default());
        let limit = |period, tokens, cost| Limit::new("budget", period, tokens, cost).unwrap();
        bot.guardrails = Guardrails {
            budget: Budget {
                bot: Some(limit(Period::Month, Some(1_000_000), Some(12.5))),
                per_user: Some(limit(Period::Day, Some(2_000), None)),
                per_conversation: None,
            },
            budget_message: Some("Back tomorrow.".into()),
            moderation: ModerationPolicy {
                input: true,
                output: false,
                on_error: OnError::Refuse,
            },
            blocked_terms: BlockedTerms::parse(&["crypto tips".into()]).unwrap(),
            moderation_message: Some("Let's keep it friendly.".into()),
            rate_limit: RateLimits {
                per_user: None,
                per_bot: Some(Allowance::new("rate_limit.per_bot", 600, 60, Some(50)).unwrap()),
            },
            rate_limit_message: Some("Easy there.".into()),
        };
        bot.replies = domain::ReplyStyle::new(1_500, None).unwrap();
        store.update(&bot).await.unwrap();
        let read = store.get(bot.id).await.unwrap().unwrap();
        assert_eq!(read.guardrails, bot.guardrails, "{}", db.backend());
        assert_eq!(read.replies, bot.replies, "{}", db.backend());
    }
}
