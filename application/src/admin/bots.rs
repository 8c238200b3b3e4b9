//! Use cases: create, revise, pause, resume and delete bots.

use crate::ports::Clock;
use chrono::{DateTime, Utc};
use domain::repositories::{BotRepository, ProviderRepository};
use domain::{Bot, BotDraft, BotId, RepoError, ValidationError};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BotError {
    #[error("bot {0} not found")]
    NotFound(BotId),
    /// The revised fields do not make a valid bot together.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Storage(#[from] RepoError),
}

pub struct BotAdmin {
    bots: Arc<dyn BotRepository>,
    /// Where a bot's `provider_id` must be found.
    providers: Arc<dyn ProviderRepository>,
    clock: Arc<dyn Clock>,
}

impl BotAdmin {
    pub fn new(
        bots: Arc<dyn BotRepository>,
        providers: Arc<dyn ProviderRepository>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            bots,
            providers,
            clock,
        }
    }

    #[tracing::instrument(skip_all)]
    pub async fn create(&self, draft: BotDraft) -> Result<Bot, BotError> {
        self.known_provider(&draft).await?;
        let bot = Bot::create(draft, self.clock.now());
        self.bots.insert(&bot).await?;
        tracing::info!(bot_id = %bot.id, "bot created");
        Ok(bot)
    }

    /// Applies `revise` to the stored bot's draft and saves the result, unless `revise` finds
    /// the result invalid.
    #[tracing::instrument(skip_all, fields(bot_id = %id))]
    pub async fn update(
        &self,
        id: BotId,
        revise: impl FnOnce(BotDraft) -> Result<BotDraft, ValidationError> + Send,
    ) -> Result<Bot, BotError> {
        let mut bot = self.bots.get(id).await?.ok_or(BotError::NotFound(id))?;
        let draft = revise(bot.draft())?;
        if draft.provider_id != bot.provider_id {
            self.known_provider(&draft).await?;
        }
        bot.revise(draft, self.clock.now());
        if !self.bots.update(&bot).await? {
            return Err(BotError::NotFound(id));
        }
        Ok(bot)
    }

    /// Stops answering the bot's messages (they are still stored); pausing a paused bot
    /// changes nothing.
    #[tracing::instrument(skip_all, fields(bot_id = %id))]
    pub async fn pause(&self, id: BotId) -> Result<Bot, BotError> {
        self.change_pause(id, Bot::pause, "bot paused").await
    }

    /// Answers the bot's new messages again; what arrived while paused stays unanswered.
    #[tracing::instrument(skip_all, fields(bot_id = %id))]
    pub async fn resume(&self, id: BotId) -> Result<Bot, BotError> {
        self.change_pause(id, Bot::resume, "bot resumed").await
    }

    /// Applies `change` to the stored bot at the clock's time, saving it only if it changed.
    async fn change_pause(
        &self,
        id: BotId,
        change: fn(&mut Bot, DateTime<Utc>) -> bool,
        done: &str,
    ) -> Result<Bot, BotError> {
        let mut bot = self.bots.get(id).await?.ok_or(BotError::NotFound(id))?;
        if change(&mut bot, self.clock.now()) {
            if !self.bots.save_pause(&bot).await? {
                return Err(BotError::NotFound(id));
            }
            tracing::info!("{done}");
        }
        Ok(bot)
    }

    /// `Ok` when the draft names no provider or one that is stored; else a 422 on `provider_id`.
    async fn known_provider(&self, draft: &BotDraft) -> Result<(), BotError> {
        let Some(id) = draft.provider_id else {
            return Ok(());
        };
        match self.providers.get(id).await? {
            Some(_) => Ok(()),
            None => {
                Err(ValidationError::new("provider_id", format!("names no provider ({id})")).into())
            }
        }
    }

    #[tracing::instrument(skip_all, fields(bot_id = %id))]
    pub async fn delete(&self, id: BotId) -> Result<(), BotError> {
        if !self.bots.delete(id).await? {
            return Err(BotError::NotFound(id));
        }
        tracing::info!("bot deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockClock;
    use chrono::{TimeZone, Utc};
    use domain::repositories::{MockBotRepository, MockProviderRepository};
    use domain::{BotName, SystemPrompt};

    fn draft(name: &str) -> BotDraft {
        BotDraft {
            name: BotName::parse(name).unwrap(),
            system_prompt: SystemPrompt::parse("be brief").unwrap(),
            model: None,
            temperature: None,
            fallback_message: None,
            handoff: domain::HandoffPolicy::default(),
            provider_id: None,
            guardrails: Default::default(),
            replies: Default::default(),
            lifecycle: Default::default(),
        }
    }

    /// A provider store that knows none.
    fn no_providers() -> Arc<MockProviderRepository> {
        let mut providers = MockProviderRepository::new();
        providers.expect_get().returning(|_| Ok(None));
        Arc::new(providers)
    }

    #[tokio::test]
    async fn a_bot_may_name_only_a_stored_provider() {
        let mut bots = MockBotRepository::new();
        bots.expect_insert().never();
        let admin = BotAdmin::new(Arc::new(bots), no_providers(), clock_at(0));
        let named = BotDraft {
            provider_id: Some(domain::ProviderId::new()),
            ..draft("a")
        };
        let refused = admin.create(named).await;
        assert!(matches!(refused, Err(BotError::Invalid(e)) if e.field == "provider_id"));
    }

    fn clock_at(secs: i64) -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .returning(move || Utc.timestamp_opt(secs, 0).unwrap());
        Arc::new(clock)
    }

    #[tokio::test]
    async fn update_keeps_identity_and_bumps_updated_at() {
        let existing = Bot::create(draft("old"), Utc.timestamp_opt(1, 0).unwrap());
        let id = existing.id;
        let mut bots = MockBotRepository::new();
        bots.expect_get()
            .returning(move |_| Ok(Some(existing.clone())));
        bots.expect_update()
            .withf(move |bot| bot.id == id && bot.name.as_str() == "new")
            .returning(|_| Ok(true));
        let admin = BotAdmin::new(Arc::new(bots), no_providers(), clock_at(99));
        let bot = admin
            .update(id, |d| {
                Ok(BotDraft {
                    name: BotName::parse("new").unwrap(),
                    ..d
                })
            })
            .await
            .unwrap();
        assert_eq!(bot.updated_at.timestamp(), 99);
        assert_eq!(bot.created_at.timestamp(), 1);
        assert_eq!(bot.system_prompt.as_str(), "be brief");
    }

    #[tokio::test]
    async fn updating_deleting_pausing_or_resuming_a_missing_bot_is_not_found() {
        let mut bots = MockBotRepository::new();
        bots.expect_get().returning(|_| Ok(None));
        bots.expect_delete().returning(|_| Ok(false));
        bots.expect_save_pause().never();
        let admin = BotAdmin::new(Arc::new(bots), no_providers(), clock_at(0));
        assert!(matches!(
            admin.update(BotId::new(), Ok).await,
            Err(BotError::NotFound(_))
        ));
        assert!(matches!(
            admin.delete(BotId::new()).await,
            Err(BotError::NotFound(_))
        ));
        assert!(matches!(
            admin.pause(BotId::new()).await,
            Err(BotError::NotFound(_))
        ));
        assert!(matches!(
            admin.resume(BotId::new()).await,
            Err(BotError::NotFound(_))
        ));
    }

    /// An admin over one stored bot, whose `save_pause` must be called `saves` times.
    fn admin_of(stored: Bot, saves: usize, now: i64) -> BotAdmin {
        let mut bots = MockBotRepository::new();
        let id = stored.id;
        bots.expect_get()
            .returning(move |_| Ok(Some(stored.clone())));
        bots.expect_save_pause()
            .withf(move |bot| bot.id == id)
            .times(saves)
            .returning(|_| Ok(true));
        bots.expect_update().never();
        BotAdmin::new(Arc::new(bots), no_providers(), clock_at(now))
    }

    #[tokio::test]
    async fn pausing_records_the_time_once_and_resuming_clears_it() {
        let active = Bot::create(draft("Ada"), Utc.timestamp_opt(1, 0).unwrap());
        let paused = admin_of(active.clone(), 1, 50)
            .pause(active.id)
            .await
            .unwrap();
        assert_eq!(paused.paused_at, Some(Utc.timestamp_opt(50, 0).unwrap()));
        assert_eq!(paused.updated_at.timestamp(), 50);

        let again = admin_of(paused.clone(), 0, 60)
            .pause(active.id)
            .await
            .unwrap();
        assert_eq!(
            again, paused,
            "the first pause is kept and nothing is saved"
        );

        let resumed = admin_of(paused, 1, 70).resume(active.id).await.unwrap();
        assert_eq!(
            (resumed.paused_at, resumed.updated_at.timestamp()),
            (None, 70)
        );
        let still = admin_of(resumed.clone(), 0, 80)
            .resume(active.id)
            .await
            .unwrap();
        assert_eq!(still, resumed);
    }

    #[tokio::test]
    async fn a_bot_deleted_while_pausing_is_not_found() {
        let mut bots = MockBotRepository::new();
        let bot = Bot::create(draft("Ada"), Utc.timestamp_opt(1, 0).unwrap());
        let id = bot.id;
        bots.expect_get().returning(move |_| Ok(Some(bot.clone())));
        bots.expect_save_pause().times(1).returning(|_| Ok(false));
        let admin = BotAdmin::new(Arc::new(bots), no_providers(), clock_at(5));
        assert!(matches!(admin.pause(id).await, Err(BotError::NotFound(_))));
    }
}
