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
