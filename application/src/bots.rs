//! Use cases: create, revise and delete bots.

use crate::ports::Clock;
use domain::repositories::BotRepository;
use domain::{Bot, BotDraft, BotId, RepoError};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BotError {
    #[error("bot {0} not found")]
    NotFound(BotId),
    #[error(transparent)]
    Storage(#[from] RepoError),
}

pub struct BotAdmin {
    bots: Arc<dyn BotRepository>,
    clock: Arc<dyn Clock>,
}

impl BotAdmin {
    pub fn new(bots: Arc<dyn BotRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { bots, clock }
    }

    #[tracing::instrument(skip_all)]
    pub async fn create(&self, draft: BotDraft) -> Result<Bot, BotError> {
        let bot = Bot::create(draft, self.clock.now());
        self.bots.insert(&bot).await?;
        tracing::info!(bot_id = %bot.id, "bot created");
        Ok(bot)
    }

    /// Applies `revise` to the stored bot's draft and saves the result.
    #[tracing::instrument(skip_all, fields(bot_id = %id))]
    pub async fn update(
        &self,
        id: BotId,
        revise: impl FnOnce(BotDraft) -> BotDraft + Send,
    ) -> Result<Bot, BotError> {
        let mut bot = self.bots.get(id).await?.ok_or(BotError::NotFound(id))?;
        bot.revise(revise(bot.draft()), self.clock.now());
        if !self.bots.update(&bot).await? {
            return Err(BotError::NotFound(id));
        }
        Ok(bot)
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
    use domain::repositories::MockBotRepository;
    use domain::{BotName, SystemPrompt};

    fn draft(name: &str) -> BotDraft {
        BotDraft {
            name: BotName::parse(name).unwrap(),
            system_prompt: SystemPrompt::parse("be brief").unwrap(),
            model: None,
            temperature: None,
            fallback_message: None,
        }
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
        let admin = BotAdmin::new(Arc::new(bots), clock_at(99));
        let bot = admin
            .update(id, |d| BotDraft {
                name: BotName::parse("new").unwrap(),
                ..d
            })
            .await
            .unwrap();
        assert_eq!(bot.updated_at.timestamp(), 99);
        assert_eq!(bot.created_at.timestamp(), 1);
        assert_eq!(bot.system_prompt.as_str(), "be brief");
    }

    #[tokio::test]
    async fn updating_or_deleting_a_missing_bot_is_not_found() {
        let mut bots = MockBotRepository::new();
        bots.expect_get().returning(|_| Ok(None));
        bots.expect_delete().returning(|_| Ok(false));
        let admin = BotAdmin::new(Arc::new(bots), clock_at(0));
        assert!(matches!(
            admin.update(BotId::new(), |d| d).await,
            Err(BotError::NotFound(_))
        ));
        assert!(matches!(
            admin.delete(BotId::new()).await,
            Err(BotError::NotFound(_))
        ));
    }
}
