//! Use case: erase an end user — everything stored of their chat with a bot (GDPR Art. 17), the fact logged without the content.

use crate::ports::{Erased, Erasure};
use domain::repositories::BotRepository;
use domain::{BotId, ExternalChatId, PlatformKind, RepoError};
use std::sync::Arc;

pub struct EraseUser {
    bots: Arc<dyn BotRepository>,
    erasure: Arc<dyn Erasure>,
}

impl EraseUser {
    pub fn new(bots: Arc<dyn BotRepository>, erasure: Arc<dyn Erasure>) -> Self {
        Self { bots, erasure }
    }

    /// Removes the user's chat with the bot on `platform` — on Telegram, Messenger and
    /// WhatsApp a user's private chat has the user's id, in the web chat the visitor's — with
    /// every conversation, message, queued job and journaled event of it; what was removed,
    /// or `None` when the bot does not exist. Erasing a user twice removes nothing the second
    /// time.
    #[tracing::instrument(skip_all, fields(bot_id = %bot_id, platform = %platform))]
    pub async fn erase(
        &self,
        bot_id: BotId,
        platform: PlatformKind,
        user: &ExternalChatId,
    ) -> Result<Option<Erased>, RepoError> {
        if self.bots.get(bot_id).await?.is_none() {
            return Ok(None);
        }
        let erased = self.erasure.erase_chat(bot_id, platform, user).await?;
        // Who was erased is personal data too: the log keeps only how much.
        tracing::info!(
            conversations = erased.conversations,
            messages = erased.messages,
            "an end user's data was erased"
        );
        Ok(Some(erased))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::World;
    use crate::ports::MockErasure;
    use domain::repositories::MockBotRepository;

    fn user() -> ExternalChatId {
        ExternalChatId::parse("4242").unwrap()
    }

    #[tokio::test]
    async fn a_known_bots_user_is_erased_and_an_unknown_bot_erases_nothing() {
        let bot = World::new().bot;
        let bot_id = bot.id;
        let mut bots = MockBotRepository::new();
        bots.expect_get()
            .returning(move |id| Ok((id == bot_id).then(|| bot.clone())));
        let mut erasure = MockErasure::new();
        erasure
            .expect_erase_chat()
            .withf(move |id, platform, chat| {
                (*id, *platform, chat.as_str()) == (bot_id, PlatformKind::Telegram, "4242")
            })
            .times(1)
            .returning(|_, _, _| {
                Ok(Erased {
                    conversations: 2,
                    messages: 9,
                    attachments: 0,
                })
            });
        let use_case = EraseUser::new(Arc::new(bots), Arc::new(erasure));

        let erased = use_case
            .erase(bot_id, PlatformKind::Telegram, &user())
            .await;
        assert_eq!(erased.unwrap().map(|e| e.messages), Some(9));
        let astray = use_case
            .erase(BotId::new(), PlatformKind::Telegram, &user())
            .await;
        assert_eq!(astray.unwrap(), None, "nothing asked of the store");
    }
}
