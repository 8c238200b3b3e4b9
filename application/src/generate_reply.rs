//! Use case: answer an inbound message — a command, a canned reply, or the model — and store it.

use crate::commands::{intent, Intent, UNSUPPORTED_REPLY};
use crate::history::turns_for;
use crate::jobs::{Lookup, Step, Target};
use crate::ports::{ChatRequest, ClaimedJob, Clock, EventPublisher, LanguageModel, Ledger};
use crate::settings::PipelineSettings;
use domain::repositories::{BotRepository, ConversationRepository};
use domain::{Bot, DomainEvent, Message, MessageId, RepoError};
use std::sync::Arc;

pub struct GenerateReply {
    pub lookup: Lookup,
    pub bots: Arc<dyn BotRepository>,
    pub conversations: Arc<dyn ConversationRepository>,
    pub ledger: Arc<dyn Ledger>,
    pub model: Arc<dyn LanguageModel>,
    pub events: Arc<dyn EventPublisher>,
    pub clock: Arc<dyn Clock>,
    pub settings: PipelineSettings,
}

impl GenerateReply {
    #[tracing::instrument(skip_all, fields(job_id = job.id, message_id = %message_id))]
    pub async fn run(&self, job: &ClaimedJob, message_id: MessageId) -> Result<Step, RepoError> {
        let target = match self.lookup.target(message_id).await? {
            Ok(target) => target,
            Err(reason) => return Ok(Step::Dead(reason)),
        };
        let Some(bot) = self.bots.get(target.message.bot_id).await? else {
            return Ok(Step::Dead(format!(
                "bot {} no longer exists",
                target.message.bot_id
            )));
        };
        let (text, resets) = self.compose(&bot, &target).await?;
        let reply = Message::reply(&target.message, text, self.clock.now());
        if !self.ledger.store_reply(job, &reply).await? {
            return Ok(Step::LeaseLost);
        }
        if resets {
            self.conversations
                .end(reply.conversation_id, self.clock.now())
                .await?;
        }
        self.events.publish(DomainEvent::ReplyStored {
            bot_id: reply.bot_id,
            conversation_id: reply.conversation_id,
            message_id: reply.id,
        });
        Ok(Step::Finished)
    }

    /// The reply's text, and whether the conversation ends with it.
    async fn compose(&self, bot: &Bot, target: &Target) -> Result<(String, bool), RepoError> {
        Ok(match intent(&target.message.content) {
            Intent::Command(command) => (
                command.reply(bot),
                command == crate::commands::Command::Reset,
            ),
            Intent::Unsupported => (UNSUPPORTED_REPLY.to_owned(), false),
            Intent::Ask(_) => (self.ask_model(bot, target).await?, false),
        })
    }

    /// The model's answer, or the bot's fallback message when the model cannot answer.
    async fn ask_model(&self, bot: &Bot, target: &Target) -> Result<String, RepoError> {
        if let Err(error) = target.channel.typing(&target.binding, &target.chat).await {
            tracing::debug!(%error, "typing indicator not shown");
        }
        let recent = self
            .lookup
            .messages
            .recent(
                target.message.conversation_id,
                self.settings.history_messages,
            )
            .await?;
        let request = ChatRequest {
            model: bot.model.clone(),
            temperature: bot.temperature.map(|t| t.value()),
            system_prompt: bot.system_prompt.as_str().to_owned(),
            turns: turns_for(&recent, &target.message, self.settings.history_token_budget),
        };
        match self.model.complete(&request).await {
            Ok(answer) if !answer.trim().is_empty() => Ok(answer),
            Ok(_) => {
                tracing::warn!("the model answered with nothing; sending the fallback");
                Ok(bot.fallback().to_owned())
            }
            Err(error) => {
                tracing::warn!(%error, "the model failed; sending the fallback");
                Ok(bot.fallback().to_owned())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{clock, job, messages_holding, telegram_channel, texts, World};
    use crate::ports::{
        JobPayload, MockEventPublisher, MockLanguageModel, MockLedger, ModelError, TurnRole,
    };
    use domain::repositories::{MockBotRepository, MockConversationRepository};
    use domain::{Direction, MessageContent};
    use std::sync::Mutex;

    struct Harness {
        world: World,
        model: MockLanguageModel,
        ledger: MockLedger,
        conversations: MockConversationRepository,
        stored: Arc<Mutex<Vec<Message>>>,
    }

    impl Harness {
        fn new() -> Self {
            let stored: Arc<Mutex<Vec<Message>>> = Arc::default();
            let mut ledger = MockLedger::new();
            let sink = stored.clone();
            ledger.expect_store_reply().returning(move |_, reply| {
                sink.lock().unwrap().push(reply.clone());
                Ok(true)
            });
            Self {
                world: World::new(),
                model: MockLanguageModel::new(),
                ledger,
                conversations: MockConversationRepository::new(),
                stored,
            }
        }

        async fn answer(self, inbound: Message, earlier: Vec<Message>) -> (Step, Vec<Message>) {
            let mut all = earlier;
            all.push(inbound.clone());
            let mut messages = messages_holding(all.clone());
            messages
                .expect_recent()
                .returning(move |_, _| Ok(all.iter().rev().cloned().collect()));
            let mut channel = telegram_channel();
            channel.expect_typing().returning(|_, _| Ok(()));
            let mut bots = MockBotRepository::new();
            let bot = self.world.bot.clone();
            bots.expect_get().returning(move |_| Ok(Some(bot.clone())));
            let mut events = MockEventPublisher::new();
            events.expect_publish().times(1).return_const(());
            let use_case = GenerateReply {
                lookup: self.world.lookup(messages, channel),
                bots: Arc::new(bots),
                conversations: Arc::new(self.conversations),
                ledger: Arc::new(self.ledger),
                model: Arc::new(self.model),
                events: Arc::new(events),
                clock: clock(),
                settings: PipelineSettings::default(),
            };
            let step = use_case
                .run(
                    &job(
                        JobPayload::Reply {
                            message_id: inbound.id,
                        },
                        1,
                    ),
                    inbound.id,
                )
                .await
                .unwrap();
            let stored = self.stored.lock().unwrap().clone();
            (step, stored)
        }
    }

    #[tokio::test]
    async fn the_model_answers_with_the_prompt_and_the_history() {
        let mut h = Harness::new();
        let first = h.world.inbound(MessageContent::text("hi"));
        let first_reply = Message::reply(&first, "hello", crate::fixtures::now());
        let second = h.world.inbound(MessageContent::text("how are you?"));
        h.model
            .expect_complete()
            .withf(|req| {
                req.system_prompt == "You are Ada."
                    && req.model.as_deref() == Some("tiny")
                    && texts(&req.turns) == ["hi", "hello", "how are you?"]
                    && req.turns[1].role == TurnRole::Assistant
            })
            .times(1)
            .returning(|_| Ok("fine, thanks".into()));
        let (step, stored) = h.answer(second.clone(), vec![first, first_reply]).await;
        assert_eq!(step, Step::Finished);
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].content.as_text(), Some("fine, thanks"));
        assert_eq!(stored[0].reply_to, Some(second.id));
        assert_eq!(stored[0].direction, Direction::Outbound);
    }

    #[tokio::test]
    async fn a_failing_model_yields_the_fallback_message() {
        let mut h = Harness::new();
        let inbound = h.world.inbound(MessageContent::text("hi"));
        h.model
            .expect_complete()
            .times(1)
            .returning(|_| Err(ModelError::Unavailable("500".into())));
        let (_, stored) = h.answer(inbound, vec![]).await;
        assert_eq!(stored[0].content.as_text(), Some("fallback!"));
    }

    #[tokio::test]
    async fn reset_answers_without_the_model_and_ends_the_conversation() {
        let mut h = Harness::new();
        let inbound = h.world.inbound(MessageContent::text("/reset"));
        h.model.expect_complete().never();
        let conversation = h.world.conversation.clone();
        h.conversations
            .expect_end()
            .withf(move |id, _| *id == conversation.id)
            .times(1)
            .returning(|_, _| Ok(None));
        let (_, stored) = h.answer(inbound, vec![]).await;
        assert!(stored[0].content.as_text().unwrap().contains("start over"));
    }

    #[tokio::test]
    async fn non_text_gets_the_canned_reply_without_the_model() {
        let mut h = Harness::new();
        let inbound = h.world.inbound(MessageContent::Unsupported {
            kind: "sticker".into(),
        });
        h.model.expect_complete().never();
        let (_, stored) = h.answer(inbound, vec![]).await;
        assert_eq!(
            stored[0].content.as_text(),
            Some(crate::commands::UNSUPPORTED_REPLY)
        );
    }
}
