//! Use case: answer an inbound message — a command, a canned reply, or the model — store it, and hand its delivery on; stay silent while a person has the chat or the user is over the rate limit.

use crate::breakers::Guarded;
use crate::budgets::{self, Spending, Verdict};
use crate::commands::{intent, Command, Intent, UNSUPPORTED_REPLY};
use crate::end_conversation::EndConversation;
use crate::handoff::{give_back, hand_over};
use crate::history::turns_for;
use crate::images::{self, UNREADABLE_IMAGE_REPLY};
use crate::jobs::{Delivery, Lookup, Step, Target};
use crate::moderation;
use crate::observability::metrics;
use crate::pacing::Pacer;
use crate::ports::{
    ChatRequest, ClaimedJob, Clock, Completion, EventPublisher, Image, LanguageModel, Ledger,
    ModelError, ReplyStored, Timer, Uploads,
};
use crate::rate_limits::{self, Admitted};
use crate::settings::PipelineSettings;
use crate::streaming::{keep_draft, AnnouncedAnswer, DraftText, GATHER};
use crate::tool_use::Toolbox;
use domain::{Direction, DomainEvent, Message, MessageId, PlatformKind, RepoError, Scope};
use futures::future::{self, Either};
use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

/// A reply before it is stored: its text and usage, what follows it, and what the bot's budget
/// had spent when the model was asked.
struct Composed {
    answer: Completion,
    then: Then,
    spending: Spending,
    /// The categories that flagged the model's answer, replaced by the moderation message.
    flagged: Option<Vec<String>>,
}

impl Composed {
    /// A reply that is not the model's: nothing spent, nothing flagged.
    fn canned(text: &str, then: Then) -> Self {
        Self {
            answer: Completion::text(text),
            then,
            spending: Spending::default(),
            flagged: None,
        }
    }
}

/// What a job does with its message.
enum Next {
    Reply(Composed),
    /// Nothing is sent: the user is over the rate limit and was told already.
    Nothing,
    /// The model's provider is held back by its breaker: run the job again then.
    Wait(Duration),
}

/// Whether the chat sees the answer as the model writes it: the web chat does, unless the
/// answer must pass the bot's output moderation first.
fn shows_growing(target: &Target) -> bool {
    target.message.platform == PlatformKind::WebChat && !target.bot.guardrails.moderation.output
}

/// Whether the chat sees the answer in a draft: a bot with `streaming` on a platform other
/// than the web chat (whose channel says whether it has drafts), unless the answer must pass
/// the bot's output moderation first.
fn drafted(target: &Target) -> bool {
    let bot = &target.bot;
    bot.replies.streaming
        && target.message.platform != PlatformKind::WebChat
        && !bot.guardrails.moderation.output
}

/// The breaker of the provider `bot` asks.
fn provider_of(bot: &domain::Bot) -> Guarded {
    Guarded::Provider(bot.provider_id)
}

/// What follows a reply once it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    Nothing,
    /// `/reset`: the conversation ends.
    End,
    /// `/human` or a handoff keyword: a person takes the conversation over.
    HandOff,
}

impl Then {
    fn after(command: Command) -> Self {
        match command {
            Command::Reset => Self::End,
            Command::Human => Self::HandOff,
            Command::Start | Command::Help => Self::Nothing,
        }
    }
}

pub struct GenerateReply {
    lookup: Lookup,
    ledger: Arc<dyn Ledger>,
    model: Arc<dyn LanguageModel>,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
    /// Paces the renewal of the typing indicator.
    timer: Arc<dyn Timer>,
    settings: PipelineSettings,
    /// Paces the drafts of bots that stream on platforms with drafts; `None`: no drafts.
    drafts: Option<Arc<Pacer>>,
    /// Offers the tools of bots' MCP servers to the model; `None`: no tools.
    tools: Option<Arc<Toolbox>>,
    /// Keeps the photos fetched for the model; `None`: fetched each time.
    uploads: Option<Arc<dyn Uploads>>,
}

impl GenerateReply {
    pub fn new(
        lookup: Lookup,
        ledger: Arc<dyn Ledger>,
        model: Arc<dyn LanguageModel>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
        timer: Arc<dyn Timer>,
        settings: PipelineSettings,
    ) -> Self {
        Self {
            lookup,
            ledger,
            model,
            events,
            clock,
            timer,
            settings,
            drafts: None,
            tools: None,
            uploads: None,
        }
    }

    /// Keeps the photos fetched for the model in `uploads`, so that they are fetched once.
    pub fn with_uploads(self, uploads: Arc<dyn Uploads>) -> Self {
        Self {
            uploads: Some(uploads),
            ..self
        }
    }

    /// Offers the tools of a bot's MCP servers to its model through `toolbox`.
    pub fn with_tools(self, toolbox: Arc<Toolbox>) -> Self {
        Self {
            tools: Some(toolbox),
            ..self
        }
    }

    /// Shows the replies of bots with `streaming` as drafts where the platform has them, each
    /// update in the chat's turn under `pacer`.
    pub fn with_drafts(self, pacer: Arc<Pacer>) -> Self {
        Self {
            drafts: Some(pacer),
            ..self
        }
    }

    #[tracing::instrument(skip_all, fields(job_id = job.id, message_id = %message_id))]
    pub async fn run(&self, job: &ClaimedJob, message_id: MessageId) -> Result<Step, RepoError> {
        let history = self.settings.history_messages;
        let target = match self.lookup.target(message_id, history).await {
            Ok(target) => target,
            Err(error) => return error.into_step(),
        };
        if target.bot.is_paused() {
            // An operator has taken over: the message stays stored and unanswered, and the job
            // leaves its lane (the runner completes it) so that later jobs of the chat go on.
            tracing::info!(bot_id = %target.bot.id, "the bot is paused; the message is not answered");
            return Ok(Step::Complete);
        }
        if self.left_to_a_person(&target).await? {
            // A person has the chat: the message stays stored and unanswered for them.
            tracing::info!("the conversation is handed off; the message is not answered");
            return Ok(Step::Complete);
        }
        if let Some(step) = self.debounced(job, &target) {
            return Ok(step);
        }
        let Composed {
            answer,
            then,
            spending,
            flagged,
        } = match self.admitted(job, &target).await? {
            Next::Reply(composed) => composed,
            Next::Nothing => return Ok(Step::Complete),
            Next::Wait(after) => {
                let reason = "the model provider's circuit breaker is open".to_owned();
                let payload = job.payload.clone();
                return Ok(Step::Defer {
                    payload,
                    after,
                    reason,
                });
            }
        };
        let reply = Message::reply(&target.message, answer.text, self.clock.now())
            .with_usage(answer.usage, answer.cost)
            .with_tool_uses(answer.tool_uses)
            .flagged(flagged);
        let delivery = match self.ledger.store_reply(job, &reply).await? {
            ReplyStored::Delivering(delivery) => delivery,
            ReplyStored::AlreadyAnswered => return Ok(Step::Complete),
            ReplyStored::HandedOff => return Ok(self.kept_unsent(&reply)),
            ReplyStored::LeaseLost => return Ok(Step::LeaseLost),
        };
        self.follow_up(then, &reply).await?;
        self.announce_thresholds(&spending, &reply);
        self.events.publish(DomainEvent::ReplyStored {
            bot_id: reply.bot_id,
            conversation_id: reply.conversation_id,
            message_id: reply.id,
        });
        let target = Target {
            message: reply,
            history: Vec::new(),
            ..target
        };
        Ok(Step::Deliver(Box::new(Delivery {
            job: delivery,
            target,
        })))
    }

    /// A person took the conversation over while the model answered: `reply` is stored
    /// `failed`, not sent; the transcript hears of it, and the job is done.
    fn kept_unsent(&self, reply: &Message) -> Step {
        tracing::info!(message_id = %reply.id, "handed off while the model answered: the answer is kept, not sent");
        self.events.publish(DomainEvent::DeliveryFailed {
            bot_id: reply.bot_id,
            conversation_id: reply.conversation_id,
            message_id: reply.id,
        });
        Step::Complete
    }

    /// Whether the conversation stays with a person. One whose person has been quiet for the
    /// bot's `handoff_idle_minutes` is given back to the bot here, and the message answered.
    async fn left_to_a_person(&self, target: &Target) -> Result<bool, RepoError> {
        let Some(last_heard) = target.person_last_heard else {
            return Ok(false);
        };
        let idle = chrono::Duration::minutes(i64::from(target.bot.handoff.idle_minutes()));
        let now = self.clock.now();
        if now - last_heard < idle {
            return Ok(true);
        }
        let chat = (target.bot.id, target.message.conversation_id);
        if give_back(&*self.ledger, &*self.events, chat, false, now).await? {
            tracing::info!("no operator for a while: the conversation is the bot's again");
        }
        Ok(false)
    }

    /// With the bot's `debounce_ms`: a message a later one of the chat follows is left to that
    /// one's job, which answers both; one whose burst may still go on waits out the rest of the
    /// debounce (not counted as an attempt).
    fn debounced(&self, job: &ClaimedJob, target: &Target) -> Option<Step> {
        let debounce = target.bot.replies.debounce();
        if debounce.is_zero() {
            return None;
        }
        let message = &target.message;
        let inbound = |m: &&Message| m.direction == Direction::Inbound;
        if target
            .history
            .iter()
            .filter(inbound)
            .any(|m| m.id > message.id)
        {
            tracing::info!("a later message of the chat is answered with this one");
            return Some(Step::Complete);
        }
        let quiet_for = (self.clock.now() - message.created_at)
            .to_std()
            .unwrap_or_default();
        let after = debounce
            .checked_sub(quiet_for)
            .filter(|rest| !rest.is_zero())?;
        Some(Step::Defer {
            payload: job.payload.clone(),
            after,
            reason: "waiting for the chat's burst of messages to end".to_owned(),
        })
    }

    /// A message for the model waits while its provider's breaker is open. The reply to one
    /// within the bot's rate limits; for one over them, the notice once a window, else nothing.
    async fn admitted(&self, job: &ClaimedJob, target: &Target) -> Result<Next, RepoError> {
        let intent = intent(&target.message.content, &target.bot.handoff);
        if let Some(after) = self.provider_held_back(target, &intent) {
            return Ok(Next::Wait(after));
        }
        let first_attempt = job.attempts <= 1;
        match rate_limits::admit(&*self.lookup.limiter, target, first_attempt).await {
            Admitted::Within => self.compose(target, intent).await,
            Admitted::Over { notify } => self.over_the_limit(target, notify).await,
        }
    }

    /// How long a message for the model waits for its provider's breaker; `None`: not at all.
    fn provider_held_back(&self, target: &Target, intent: &Intent<'_>) -> Option<Duration> {
        let vision = target.bot.replies.vision;
        let for_the_model = match intent {
            Intent::Ask(_) => true,
            Intent::Look { .. } => vision,
            Intent::Command(_) | Intent::Unsupported => false,
        };
        let breakers = &self.lookup.breakers;
        for_the_model
            .then(|| breakers.permit(provider_of(&target.bot)).err())
            .flatten()
    }

    /// A message over the rate limit stays stored, marked and unanswered; the user gets the
    /// notice when `notify`.
    async fn over_the_limit(&self, target: &Target, notify: bool) -> Result<Next, RepoError> {
        let message = &target.message;
        tracing::info!(
            notify,
            "the user is over the rate limit: the message is not answered"
        );
        self.lookup.messages.mark_rate_limited(message.id).await?;
        metrics::rate_limited();
        self.events.publish(DomainEvent::MessageRateLimited {
            bot_id: message.bot_id,
            conversation_id: message.conversation_id,
            message_id: message.id,
        });
        let notice = target.bot.guardrails.rate_limit_message();
        Ok(match notify {
            true => Next::Reply(Composed::canned(notice, Then::Nothing)),
            false => Next::Nothing,
        })
    }

    /// The reply (with the model's token usage, if it answered), and what follows it.
    async fn compose(&self, target: &Target, intent: Intent<'_>) -> Result<Next, RepoError> {
        let bot = &target.bot;
        let canned = match intent {
            Intent::Command(command) => Composed::canned(&command.reply(bot), Then::after(command)),
            Intent::Look { media, caption } if bot.replies.vision => {
                return self.answer(target, caption, Some(media)).await
            }
            Intent::Look { .. } | Intent::Unsupported => {
                Composed::canned(UNSUPPORTED_REPLY, Then::Nothing)
            }
            Intent::Ask(text) => return self.answer(target, text, None).await,
        };
        Ok(Next::Reply(canned))
    }

    /// The answer to `text` (and the photo `media` it came with, fetched once the budget
    /// allows an answer): the moderation message when moderation flags the text, the budget
    /// message once the bot's budget is spent, a canned answer to a photo that cannot be
    /// fetched or is no image, else the model's answer (replaced by the moderation message when
    /// that is flagged) or the bot's fallback.
    async fn answer(
        &self,
        target: &Target,
        text: &str,
        media: Option<&str>,
    ) -> Result<Next, RepoError> {
        let (bot, guardrails) = (&target.bot, &target.bot.guardrails);
        let input = guardrails.moderation.input;
        if let Some(flags) = moderation::flags(&*self.model, bot, text, input).await {
            tracing::info!(?flags, "the message is flagged: the model is not asked");
            self.lookup.messages.flag(target.message.id, &flags).await?;
            let refusal = guardrails.moderation_message();
            return Ok(Next::Reply(Composed::canned(refusal, Then::Nothing)));
        }
        let spending = match budgets::check(&*self.lookup.spends, target, self.clock.now()).await? {
            Verdict::Spent(scope) => {
                self.refuse_over_budget(target, scope);
                let refusal = guardrails.budget_message();
                return Ok(Next::Reply(Composed::canned(refusal, Then::Nothing)));
            }
            Verdict::Within(spending) => spending,
        };
        let image = match media {
            None => None,
            Some(media) => match self.photo(target, media).await {
                Some(image) => Some(image),
                None => {
                    let canned = Composed::canned(UNREADABLE_IMAGE_REPLY, Then::Nothing);
                    return Ok(Next::Reply(canned));
                }
            },
        };
        let (answer, flagged) = match self.ask_model(target, image).await {
            Ok(Some(answer)) => self.moderated(bot, answer).await,
            Ok(None) => (Completion::text(bot.fallback()), None),
            Err(after) => return Ok(Next::Wait(after)),
        };
        Ok(Next::Reply(Composed {
            answer,
            then: Then::Nothing,
            spending,
            flagged,
        }))
    }

    /// The model's answer, or the moderation message in its place (keeping its tokens) when
    /// moderation flags it, with the categories.
    async fn moderated(
        &self,
        bot: &domain::Bot,
        mut answer: Completion,
    ) -> (Completion, Option<Vec<String>>) {
        let output = bot.guardrails.moderation.output;
        let flagged = moderation::flags(&*self.model, bot, &answer.text, output).await;
        if let Some(flags) = &flagged {
            tracing::info!(
                ?flags,
                "the answer is flagged: the moderation message goes instead"
            );
            answer.text = bot.guardrails.moderation_message().to_owned();
        }
        (answer, flagged)
    }

    fn refuse_over_budget(&self, target: &Target, scope: Scope) {
        tracing::info!(
            scope = scope.as_str(),
            "a budget is spent: the model is not asked"
        );
        metrics::budget_refused(scope);
        self.events.publish(DomainEvent::BudgetRefused {
            bot_id: target.bot.id,
            conversation_id: target.message.conversation_id,
            scope,
        });
    }

    /// Announces each share of the bot's budget `reply` took it past.
    fn announce_thresholds(&self, spending: &Spending, reply: &Message) {
        for percent in spending.crossed_by(reply) {
            tracing::info!(percent, "the bot's budget passed a threshold");
            self.events.publish(DomainEvent::BudgetThreshold {
                bot_id: reply.bot_id,
                conversation_id: reply.conversation_id,
                scope: Scope::Bot,
                percent,
            });
        }
    }

    /// Ends the conversation, or hands it to a person, once `reply` is stored.
    async fn follow_up(&self, then: Then, reply: &Message) -> Result<(), RepoError> {
        let conversation_id = reply.conversation_id;
        match then {
            Then::Nothing => {}
            Then::End => {
                let ending = EndConversation::new(
                    self.lookup.conversations.clone(),
                    self.events.clone(),
                    self.clock.clone(),
                );
                ending.end(conversation_id).await?;
            }
            Then::HandOff => {
                let chat = (reply.bot_id, conversation_id);
                let conversations = &*self.lookup.conversations;
                let now = self.clock.now();
                if hand_over(conversations, &*self.events, chat, None, now).await? {
                    tracing::info!("the user asked for a person: the conversation is handed off");
                }
            }
        }
        Ok(())
    }

    /// The photo `media` of the target message, kept or fetched (see [`images::photo`]);
    /// `None`, said in the log, when it cannot be shown to the model.
    async fn photo(&self, target: &Target, media: &str) -> Option<Image> {
        let uploads = self.uploads.as_deref();
        let fetched = images::photo(target, media, uploads, self.clock.now()).await;
        fetched
            .inspect_err(|why| tracing::warn!(why, "the photo is not shown to the model"))
            .ok()
    }

    /// The model's answer; `None` when it cannot answer (the bot's fallback goes instead), or
    /// when to ask again once its failure opened the provider's breaker.
    async fn ask_model(
        &self,
        target: &Target,
        image: Option<Image>,
    ) -> Result<Option<Completion>, Duration> {
        let bot = &target.bot;
        self.events.publish(DomainEvent::ReplyStarted {
            bot_id: bot.id,
            conversation_id: target.message.conversation_id,
            message_id: target.message.id,
        });
        let asked = self.while_typing(target, self.consult(target, image)).await;
        let reached = !matches!(asked, Err(ModelError::Unavailable(_)));
        let breaker = self.lookup.breakers.record(provider_of(bot), reached);
        match asked {
            Ok(answer) if !answer.text.trim().is_empty() => Ok(Some(answer)),
            Ok(_) => {
                tracing::warn!("the model answered with nothing; sending the fallback");
                Ok(None)
            }
            Err(error) => match breaker {
                Some(after) => {
                    tracing::warn!(%error, "the model failed and its breaker opened: the reply waits");
                    Err(after)
                }
                None => {
                    tracing::warn!(%error, "the model failed; sending the fallback");
                    Ok(None)
                }
            },
        }
    }

    /// Asks the model to answer the target message, with the history read with it.
    async fn consult(
        &self,
        target: &Target,
        image: Option<Image>,
    ) -> Result<Completion, ModelError> {
        let bot = &target.bot;
        let budget = self.settings.history_token_budget;
        let request = ChatRequest {
            provider_id: bot.provider_id,
            model: bot.model.clone(),
            temperature: bot.temperature.map(|t| t.value()),
            system_prompt: bot.system_prompt.as_str().to_owned(),
            turns: turns_for(&target.history, &target.message, budget),
            images: image.into_iter().collect(),
            ..ChatRequest::default()
        };
        let servers = &bot.replies.mcp_servers;
        if let (Some(toolbox), false) = (&self.tools, servers.is_empty()) {
            // Tool calls are not streamed: the answer goes out whole once written.
            return toolbox.answer(&*self.model, servers, request).await;
        }
        if let (Some(pacer), true) = (&self.drafts, drafted(target)) {
            return self.drafting(target, &request, pacer).await;
        }
        if !shows_growing(target) {
            return self.model.complete(&request).await;
        }
        let message = &target.message;
        let ids = (bot.id, message.conversation_id, message.id);
        let answer = Arc::new(AnnouncedAnswer::new(self.events.clone(), ids, GATHER));
        let streamed = self.model.stream(&request, answer.clone()).await;
        answer.flush();
        streamed
    }

    /// Streams the answer into the chat's draft while the model writes it.
    async fn drafting(
        &self,
        target: &Target,
        request: &ChatRequest,
        pacer: &Pacer,
    ) -> Result<Completion, ModelError> {
        let (text, shown) = DraftText::new();
        let answer = pin!(self.model.stream(request, Arc::new(text)));
        let draft = pin!(keep_draft(target, shown, pacer, &*self.timer));
        match future::select(answer, draft).await {
            Either::Left((answer, _)) => answer,
            // The chat shows no drafts: the answer is simply awaited.
            Either::Right(((), answer)) => answer.await,
        }
    }

    /// Runs `work` while the chat shows "typing…"; the indicator stops with the work. A message
    /// answered in place (a Discord interaction) shows the platform's own pending state instead.
    async fn while_typing<T>(&self, target: &Target, work: impl Future<Output = T>) -> T {
        if target.message.reply_handle.is_some() {
            return work.await;
        }
        // The typing loop is polled first, so the indicator is shown even for instant work.
        match future::select(pin!(self.keep_typing(target)), pin!(work)).await {
            Either::Left((never, _)) => match never {},
            Either::Right((output, _)) => output,
        }
    }

    /// Shows "typing…" every `typing_interval`, forever; failures are logged and ignored.
    async fn keep_typing(&self, target: &Target) -> Infallible {
        loop {
            if let Err(error) = target.channel.typing(&target.binding, &target.chat).await {
                tracing::debug!(%error, "typing indicator not shown");
            }
            if self.settings.typing_interval.is_zero() {
                return future::pending().await;
            }
            self.timer.sleep(self.settings.typing_interval).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breakers::{BreakerSettings, Breakers};
    use crate::fixtures::{clock, job, telegram_channel, texts, World};
    use crate::ports::{
        Flags, JobPayload, MockChannel, MockEventPublisher, MockLanguageModel, MockLedger,
        ModerationRequest, SendError, TokenUsage, TurnRole,
    };
    use crate::rate_limit::LocalRateLimiter;
    use async_trait::async_trait;
    use domain::repositories::{MockConversationRepository, MockSpendRepository};
    use domain::{Direction, MessageContent};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::sync::Mutex;
    use std::time::Duration;
    use tokio::sync::Notify;

    const USAGE: TokenUsage = TokenUsage {
        prompt_tokens: 12,
        completion_tokens: 3,
    };

    fn cost() -> domain::Cost {
        domain::Cost {
            currency: "EUR".into(),
            nanos: 42,
        }
    }

    struct Harness {
        world: World,
        model: MockLanguageModel,
        /// Answers instead of `model` when set.
        answering: Option<Arc<dyn LanguageModel>>,
        channel: MockChannel,
        timer: Arc<YieldingTimer>,
        ledger: MockLedger,
        conversations: MockConversationRepository,
        spends: MockSpendRepository,
        limiter: Arc<LocalRateLimiter>,
        breakers: Arc<Breakers>,
        settings: PipelineSettings,
        stored: Arc<Mutex<Vec<Message>>>,
        /// How many events the run publishes besides `ReplyStarted`.
        published: usize,
        /// How many `ReplyStarted` it publishes: one when the model is asked.
        started: usize,
    }

    impl Harness {
        fn new() -> Self {
            let stored: Arc<Mutex<Vec<Message>>> = Arc::default();
            let mut ledger = MockLedger::new();
            let sink = stored.clone();
            ledger.expect_store_reply().returning(move |job, reply| {
                sink.lock().unwrap().push(reply.clone());
                Ok(ReplyStored::Delivering(job.delivering(reply.id)))
            });
            let mut channel = telegram_channel();
            channel.expect_typing().returning(|_, _| Ok(()));
            Self {
                world: World::new(),
                model: MockLanguageModel::new(),
                answering: None,
                channel,
                timer: Arc::default(),
                ledger,
                conversations: MockConversationRepository::new(),
                spends: MockSpendRepository::new(),
                limiter: Arc::default(),
                breakers: Arc::new(Breakers::new(BreakerSettings::default(), clock())),
                settings: PipelineSettings::default(),
                stored,
                published: 1,
                started: 1,
            }
        }

        async fn answer(self, inbound: Message, earlier: Vec<Message>) -> (Step, Vec<Message>) {
            let mut all = earlier;
            all.push(inbound.clone());
            let messages = self.world.messages_holding(all);
            let mut events = MockEventPublisher::new();
            let started = |event: &DomainEvent| matches!(event, DomainEvent::ReplyStarted { .. });
            events
                .expect_publish()
                .withf(move |event| started(event))
                .times(self.started)
                .return_const(());
            events
                .expect_publish()
                .withf(move |event| !started(event))
                .times(self.published)
                .return_const(());
            let model = self
                .answering
                .unwrap_or_else(|| Arc::new(self.model) as Arc<dyn LanguageModel>);
            let mut lookup = self
                .world
                .lookup_with(messages, self.channel, self.conversations);
            lookup.spends = Arc::new(self.spends);
            lookup.limiter = self.limiter;
            lookup.breakers = self.breakers;
            let use_case = GenerateReply::new(
                lookup,
                Arc::new(self.ledger),
                model,
                Arc::new(events),
                clock(),
                self.timer,
                self.settings,
            );
            let job = job(
                JobPayload::Reply {
                    message_id: inbound.id,
                },
                1,
            );
            // Only a guard against a hang (a model never released); no assertion on time.
            let step =
                tokio::time::timeout(Duration::from_secs(10), use_case.run(&job, inbound.id))
                    .await
                    .expect("the reply never finished")
                    .unwrap();
            let stored = self.stored.lock().unwrap().clone();
            (step, stored)
        }
    }

    /// The step hands the stored reply's delivery on, as the same job (same id and lease).
    fn assert_delivers(step: &Step, reply: &Message) {
        let Step::Deliver(delivery) = step else {
            panic!("no delivery handed on: {step:?}")
        };
        assert_eq!(delivery.target.message, *reply);
        let held = job(
            JobPayload::Reply {
                message_id: reply.reply_to.unwrap(),
            },
            1,
        );
        assert_eq!(delivery.job, held.delivering(reply.id));
    }

    /// "Sleeps" by yielding to the executor once, so the model gets polled in between;
    /// records the durations it was asked for.
    #[derive(Default)]
    struct YieldingTimer(Mutex<Vec<Duration>>);

    #[async_trait]
    impl Timer for YieldingTimer {
        async fn sleep(&self, duration: Duration) {
            self.0.lock().unwrap().push(duration);
            tokio::task::yield_now().await;
        }
    }

    /// Counts typing calls; the model answers only once a given typing call lets it.
    #[derive(Clone, Default)]
    struct Typing {
        calls: Arc<AtomicUsize>,
        /// Typing calls made after the model had answered.
        late: Arc<AtomicUsize>,
        go: Arc<Notify>,
        answered: Arc<AtomicBool>,
    }

    impl Typing {
        /// A channel whose `release`th typing call lets the model answer; each call gives `result`.
        fn channel(&self, release: usize, result: Result<(), SendError>) -> MockChannel {
            let mut channel = telegram_channel();
            let typing = self.clone();
            channel.expect_typing().returning(move |_, _| {
                if typing.answered.load(SeqCst) {
                    typing.late.fetch_add(1, SeqCst);
                }
                if typing.calls.fetch_add(1, SeqCst) + 1 == release {
                    typing.go.notify_one();
                }
                result.clone()
            });
            channel
        }

        fn model(&self) -> Arc<dyn LanguageModel> {
            Arc::new(self.clone())
        }

        fn calls(&self) -> usize {
            self.calls.load(SeqCst)
        }
    }

    #[async_trait]
    impl LanguageModel for Typing {
        async fn complete(&self, _: &ChatRequest) -> Result<Completion, ModelError> {
            self.go.notified().await;
            self.answered.store(true, SeqCst);
            Ok(Completion::text("done thinking"))
        }

        async fn moderate(&self, _: &ModerationRequest) -> Result<Flags, ModelError> {
            unreachable!("the harness's bot does not moderate")
        }
    }

    /// A harness whose model answers after the `release`th typing call.
    fn slow_model(release: usize, result: Result<(), SendError>) -> (Harness, Typing) {
        let typing = Typing::default();
        let mut h = Harness::new();
        h.channel = typing.channel(release, result);
        h.answering = Some(typing.model());
        (h, typing)
    }

    #[test]
    fn only_answers_not_moderated_first_stream_and_platform_drafts_need_the_bots_setting() {
        let world = World::new();
        let said = |platform| Message {
            platform,
            ..world.inbound(MessageContent::text("hi"))
        };
        let mut web = world.target(said(PlatformKind::WebChat));
        assert!(shows_growing(&web) && !drafted(&web));
        web.bot.guardrails.moderation.output = true;
        assert!(
            !shows_growing(&web),
            "a moderated answer is checked before anyone sees it"
        );

        let mut telegram = world.target(said(PlatformKind::Telegram));
        assert!(
            !shows_growing(&telegram) && !drafted(&telegram),
            "off by default"
        );
        telegram.bot.replies.streaming = true;
        assert!(drafted(&telegram));
        telegram.bot.guardrails.moderation.output = true;
        assert!(!drafted(&telegram));
    }

    #[tokio::test]
    async fn typing_is_renewed_until_the_model_answers_and_then_stops() {
        let (h, typing) = slow_model(3, Ok(()));
        let timer = h.timer.clone();
        let inbound = h.world.inbound(MessageContent::text("think hard"));
        let (step, stored) = h.answer(inbound, vec![]).await;
        assert_delivers(&step, &stored[0]);
        assert_eq!(stored[0].content.as_text(), Some("done thinking"));
        for _ in 0..5 {
            tokio::task::yield_now().await;
        }
        assert_eq!(typing.calls(), 3);
        assert_eq!(typing.late.load(SeqCst), 0);
        let slept = timer.0.lock().unwrap().clone();
        assert!(
            slept.iter().all(|d| *d == Duration::from_secs(4)),
            "{slept:?}"
        );
    }

    #[tokio::test]
    async fn a_failing_typing_indicator_is_renewed_and_the_reply_still_stored() {
        let (h, typing) = slow_model(3, Err(SendError::Transient("502".into())));
        let inbound = h.world.inbound(MessageContent::text("think hard"));
        let (step, stored) = h.answer(inbound, vec![]).await;
        assert_delivers(&step, &stored[0]);
        assert_eq!(stored[0].content.as_text(), Some("done thinking"));
        assert_eq!(typing.calls(), 3);
    }

    /// A harness whose model answers `text` at once, with typing counted.
    fn instant_model(text: &'static str) -> (Harness, Typing) {
        let typing = Typing::default();
        let mut h = Harness::new();
        h.channel = typing.channel(usize::MAX, Ok(()));
        h.model
            .expect_complete()
            .times(1)
            .returning(move |_| Ok(Completion::text(text)));
        (h, typing)
    }

    #[tokio::test]
    async fn an_instant_answer_shows_typing_once() {
        let (h, typing) = instant_model("at once");
        let inbound = h.world.inbound(MessageContent::text("quick"));
        let (_, stored) = h.answer(inbound, vec![]).await;
        assert_eq!(stored[0].content.as_text(), Some("at once"));
        assert_eq!(typing.calls(), 1);
    }

    #[tokio::test]
    async fn a_message_answered_in_place_shows_no_typing() {
        let (h, typing) = instant_model("in place");
        let inbound = h
            .world
            .inbound(MessageContent::text("/ask"))
            .with_reply_handle(Some(domain::Secret::new("interaction-token")));
        let (_, stored) = h.answer(inbound, vec![]).await;
        assert_eq!(stored[0].content.as_text(), Some("in place"));
        assert_eq!(typing.calls(), 0);
    }

    #[tokio::test]
    async fn a_zero_interval_shows_typing_once_without_sleeping() {
        let (mut h, typing) = slow_model(1, Ok(()));
        h.settings.typing_interval = Duration::ZERO;
        let timer = h.timer.clone();
        let inbound = h.world.inbound(MessageContent::text("think"));
        let (_, stored) = h.answer(inbound, vec![]).await;
        assert_eq!(stored[0].content.as_text(), Some("done thinking"));
        assert_eq!(typing.calls(), 1);
        assert!(timer.0.lock().unwrap().is_empty());
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
            .returning(|_| {
                Ok(Completion {
                    text: "fine, thanks".into(),
                    usage: Some(USAGE),
                    cost: Some(cost()),
                    ..Default::default()
                })
            });
        let (step, stored) = h.answer(second.clone(), vec![first, first_reply]).await;
        assert_delivers(&step, &stored[0]);
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].content.as_text(), Some("fine, thanks"));
        assert_eq!(stored[0].usage, Some(USAGE), "the reply keeps its tokens");
        assert_eq!(stored[0].cost, Some(cost()), "and its cost");
        assert_eq!(stored[0].reply_to, Some(second.id));
        assert_eq!(stored[0].direction, Direction::Outbound);
    }

    /// A harness whose reply is stored with `outcome`, answered "hi there" by the model.
    fn stored_as(outcome: ReplyStored) -> Harness {
        let mut h = Harness::new();
        h.ledger = MockLedger::new();
        h.ledger
            .expect_store_reply()
            .times(1)
            .returning(move |_, _| Ok(outcome.clone()));
        h.model
            .expect_complete()
            .returning(|_| Ok(Completion::text("hi there")));
        // Nothing was stored, so nothing is announced besides the model's start.
        h.published = 0;
        h
    }

    #[tokio::test]
    async fn a_turn_answered_already_or_lost_hands_on_no_delivery() {
        let h = stored_as(ReplyStored::AlreadyAnswered);
        let inbound = h.world.inbound(MessageContent::text("hi"));
        let (step, _) = h.answer(inbound, vec![]).await;
        assert_eq!(step, Step::Complete, "the runner completes the job");
        let h = stored_as(ReplyStored::LeaseLost);
        let inbound = h.world.inbound(MessageContent::text("hi"));
        let (step, _) = h.answer(inbound, vec![]).await;
        assert_eq!(step, Step::LeaseLost);
    }

    #[tokio::test]
    async fn an_answer_that_came_after_a_handoff_is_announced_failed_and_not_delivered() {
        let mut h = stored_as(ReplyStored::HandedOff);
        h.published = 1; // its delivery failed, which the transcript shows
        let inbound = h.world.inbound(MessageContent::text("hi"));
        let (step, _) = h.answer(inbound, vec![]).await;
        assert_eq!(
            step,
            Step::Complete,
            "no delivery: the runner completes the job"
        );
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
        assert_eq!(stored[0].usage, None);
    }

    #[tokio::test]
    async fn an_empty_answer_yields_the_fallback_without_usage() {
        let mut h = Harness::new();
        let inbound = h.world.inbound(MessageContent::text("hi"));
        h.model.expect_complete().times(1).returning(|_| {
            Ok(Completion {
                text: " ".into(),
                usage: Some(USAGE),
                cost: Some(cost()),
                ..Default::default()
            })
        });
        let (_, stored) = h.answer(inbound, vec![]).await;
        assert_eq!(stored[0].content.as_text(), Some("fallback!"));
        assert_eq!(stored[0].usage, None);
    }

    /// A harness whose bot may spend 1000 tokens a day and has spent `spent` today.
    fn budgeted(spent: u64) -> Harness {
        let mut h = Harness::new();
        let limit = domain::Limit::new("budget", domain::Period::Day, Some(1000), None);
        h.world.bot.guardrails.budget.bot = Some(limit.unwrap());
        h.spends.expect_spent().times(1).returning(move |_, _| {
            Ok(vec![domain::Spent {
                tokens: spent,
                nanos: 0,
            }])
        });
        h
    }

    #[tokio::test]
    async fn a_blocked_input_is_answered_with_the_moderation_message_without_the_model() {
        let mut h = Harness::new();
        let terms = domain::moderation::BlockedTerms::parse(&["casino".into()]).unwrap();
        h.world.bot.guardrails.blocked_terms = terms;
        h.model.expect_complete().never();
        h.started = 0;
        let inbound = h
            .world
            .inbound(MessageContent::text("which Casino is best?"));
        let (step, stored) = h.answer(inbound, vec![]).await;
        assert_delivers(&step, &stored[0]);
        assert_eq!(
            stored[0].content.as_text(),
            Some(domain::moderation::DEFAULT_MODERATION_MESSAGE)
        );
    }

    #[tokio::test]
    async fn a_flagged_answer_is_replaced_and_keeps_its_tokens_and_flags() {
        let mut h = Harness::new();
        h.world.bot.guardrails.moderation.output = true;
        h.model.expect_complete().times(1).returning(|_| {
            let mut answer = Completion::text("something harmful");
            answer.usage = Some(USAGE);
            Ok(answer)
        });
        h.model
            .expect_moderate()
            .withf(|request| request.text == "something harmful")
            .times(1)
            .returning(|_| Ok(Flags(vec!["violence".into()])));
        let inbound = h.world.inbound(MessageContent::text("tell me"));
        let (step, stored) = h.answer(inbound, vec![]).await;
        assert_delivers(&step, &stored[0]);
        assert_eq!(
            stored[0].content.as_text(),
            Some(domain::moderation::DEFAULT_MODERATION_MESSAGE)
        );
        assert_eq!(stored[0].flagged, Some(vec!["violence".to_owned()]));
        assert_eq!(
            stored[0].usage,
            Some(USAGE),
            "the tokens were spent all the same"
        );
    }

    #[tokio::test]
    async fn a_failure_that_opens_the_providers_breaker_defers_the_reply_and_the_next_waits() {
        let breakers = Arc::new(Breakers::new(
            BreakerSettings {
                consecutive_failures: 1,
                ..BreakerSettings::default()
            },
            clock(),
        ));
        let mut h = Harness::new();
        h.breakers = breakers.clone();
        h.model
            .expect_complete()
            .times(1)
            .returning(|_| Err(ModelError::Unavailable("503".into())));
        h.published = 0;
        let inbound = h.world.inbound(MessageContent::text("hello?"));
        let (step, stored) = h.answer(inbound.clone(), vec![]).await;
        let Step::Defer { payload, after, .. } = step else {
            panic!("not deferred: {step:?}")
        };
        assert_eq!(
            payload,
            JobPayload::Reply {
                message_id: inbound.id
            }
        );
        assert_eq!(after, std::time::Duration::from_secs(30));
        assert!(stored.is_empty(), "no fallback while the provider is down");

        let mut h = Harness::new();
        h.breakers = breakers;
        h.model.expect_complete().never();
        (h.started, h.published) = (0, 0);
        let inbound = h.world.inbound(MessageContent::text("anyone?"));
        let (step, _) = h.answer(inbound, vec![]).await;
        assert!(matches!(step, Step::Defer { .. }), "{step:?}");
    }

    /// A harness whose bot waits 1.5 s after a chat's latest message.
    fn debouncing() -> Harness {
        let mut h = Harness::new();
        h.world.bot.replies = domain::ReplyStyle::new(1_500, None).unwrap();
        h
    }

    #[tokio::test]
    async fn a_message_of_a_burst_waits_and_one_followed_by_another_is_left_to_it() {
        let mut h = debouncing();
        h.model.expect_complete().never();
        (h.started, h.published) = (0, 0);
        let first = h.world.inbound(MessageContent::text("so"));
        let (step, stored) = h.answer(first.clone(), vec![]).await;
        let Step::Defer { after, .. } = step else {
            panic!("not waiting: {step:?}")
        };
        assert_eq!(after, Duration::from_millis(1_500), "the whole debounce");
        assert!(stored.is_empty());

        let mut h = debouncing();
        h.model.expect_complete().never();
        (h.started, h.published) = (0, 0);
        let later = h.world.inbound(MessageContent::text("about that"));
        let (step, stored) = h.answer(first, vec![later]).await;
        assert!(matches!(step, Step::Complete), "{step:?}");
        assert!(stored.is_empty(), "the later message's job answers both");
    }

    #[tokio::test]
    async fn the_last_message_of_a_burst_is_answered_with_the_ones_before_it() {
        let mut h = debouncing();
        let before = h.world.inbound(MessageContent::text("so"));
        let mut last = h.world.inbound(MessageContent::text("about that"));
        last.created_at = crate::fixtures::now() - chrono::Duration::seconds(2);
        h.model
            .expect_complete()
            .withf(|request| texts(&request.turns) == ["so", "about that"])
            .times(1)
            .returning(|_| Ok(Completion::text("both answered")));
        let (step, stored) = h.answer(last, vec![before]).await;
        assert_delivers(&step, &stored[0]);
        assert_eq!(stored[0].content.as_text(), Some("both answered"));
    }

    /// A harness whose bot allows each user one message an hour, sharing `limiter`.
    fn rate_limited(limiter: &Arc<LocalRateLimiter>) -> Harness {
        let mut h = Harness::new();
        let once = domain::Allowance::new("rate_limit.per_user", 1, 3600, None).unwrap();
        h.world.bot.guardrails.rate_limit.per_user = Some(once);
        h.limiter = limiter.clone();
        h
    }

    #[tokio::test]
    async fn a_user_over_the_rate_limit_is_told_once_and_then_not_answered() {
        let limiter = Arc::default();
        let mut h = rate_limited(&limiter);
        let first = h.world.inbound(MessageContent::text("hi"));
        let target = h.world.target(first.clone());
        assert_eq!(
            rate_limits::admit(&*limiter, &target, true).await,
            Admitted::Within
        );
        h.model.expect_complete().never();
        h.started = 0;
        h.published = 2; // message.rate_limited, then the notice stored
        let second = h.world.inbound(MessageContent::text("hello?"));
        let bot_id = h.world.bot.id;
        let (step, stored) = h.answer(second, vec![first]).await;
        assert_delivers(&step, &stored[0]);
        assert_eq!(
            stored[0].content.as_text(),
            Some(domain::rate_limit::DEFAULT_RATE_LIMIT_MESSAGE)
        );

        let mut h = rate_limited(&limiter);
        h.world.bot.id = bot_id;
        h.model.expect_complete().never();
        h.started = 0;
        h.published = 1; // message.rate_limited only
        let third = h.world.inbound(MessageContent::text("anyone?"));
        let (step, stored) = h.answer(third, vec![]).await;
        assert!(matches!(step, Step::Complete), "{step:?}");
        assert!(stored.is_empty(), "no second notice in the window");
    }

    #[tokio::test]
    async fn a_spent_budget_answers_the_budget_message_without_the_model() {
        let mut h = budgeted(1000);
        h.model.expect_complete().never();
        h.started = 0;
        h.published = 2; // budget.refused, then the reply stored
        let inbound = h.world.inbound(MessageContent::text("one more?"));
        let (step, stored) = h.answer(inbound, vec![]).await;
        assert_delivers(&step, &stored[0]);
        assert_eq!(
            stored[0].content.as_text(),
            Some(domain::budget::DEFAULT_BUDGET_MESSAGE)
        );
        assert_eq!((stored[0].usage, &stored[0].cost), (None, &None));
    }

    #[tokio::test]
    async fn a_photo_is_not_fetched_once_the_budget_is_spent() {
        let mut h = budgeted(1000);
        h.world.bot.replies.vision = true;
        // The channel expects no `fetch_media`: fetching the photo would fail the test.
        h.model.expect_complete().never();
        h.started = 0;
        h.published = 2;
        let photo = MessageContent::image("f", Some("what is it?".into()));
        let inbound = h.world.inbound(photo);
        let (step, stored) = h.answer(inbound, vec![]).await;
        assert_delivers(&step, &stored[0]);
        assert_eq!(
            stored[0].content.as_text(),
            Some(domain::budget::DEFAULT_BUDGET_MESSAGE)
        );
    }

    #[tokio::test]
    async fn a_reply_within_the_budget_announces_the_shares_it_crossed() {
        let mut h = budgeted(400);
        h.model.expect_complete().times(1).returning(|_| {
            let mut answer = Completion::text("sure");
            answer.usage = Some(TokenUsage {
                prompt_tokens: 350,
                completion_tokens: 100,
            });
            Ok(answer)
        });
        h.published = 3; // 50 % and 80 %, then the reply stored
        let inbound = h.world.inbound(MessageContent::text("tell me more"));
        let (step, stored) = h.answer(inbound, vec![]).await;
        assert_delivers(&step, &stored[0]);
        assert_eq!(stored[0].content.as_text(), Some("sure"));
    }

    #[tokio::test]
    async fn a_paused_bot_finishes_the_job_without_the_model_typing_or_a_reply() {
        let typing = Typing::default();
        let mut h = Harness::new();
        h.channel = typing.channel(usize::MAX, Ok(()));
        h.world.bot.pause(crate::fixtures::now());
        h.model.expect_complete().never();
        h.published = 0;
        h.started = 0;
        let inbound = h.world.inbound(MessageContent::text("anyone there?"));
        let (step, stored) = h.answer(inbound, vec![]).await;
        assert_eq!(
            step,
            Step::Complete,
            "the runner completes the job, freeing its lane"
        );
        assert!(stored.is_empty(), "{stored:?}");
        assert_eq!(typing.calls(), 0);
    }

    #[tokio::test]
    async fn a_handed_off_conversation_finishes_the_job_without_the_model_typing_or_a_reply() {
        let typing = Typing::default();
        let mut h = Harness::new();
        h.channel = typing.channel(usize::MAX, Ok(()));
        h.world.conversation.mode = domain::ConversationMode::Human;
        h.world.conversation.handed_off_at = Some(crate::fixtures::now());
        h.ledger.expect_hand_back().never();
        h.model.expect_complete().never();
        h.published = 0;
        h.started = 0;
        let inbound = h.world.inbound(MessageContent::text("is a person there?"));
        let (step, stored) = h.answer(inbound, vec![]).await;
        assert_eq!(step, Step::Complete, "the lane moves on");
        assert!(stored.is_empty(), "{stored:?}");
        assert_eq!(typing.calls(), 0);
    }

    #[tokio::test]
    async fn reset_answers_without_the_model_and_ends_the_conversation() {
        let mut h = Harness::new();
        let inbound = h.world.inbound(MessageContent::text("/reset"));
        h.model.expect_complete().never();
        h.started = 0;
        let conversation = h.world.conversation.clone();
        h.conversations
            .expect_end()
            .withf(move |id, _| *id == conversation.id)
            .times(1)
            .returning(|_, _| Ok(None));
        let (_, stored) = h.answer(inbound, vec![]).await;
        assert!(stored[0].content.as_text().unwrap().contains("start over"));
        assert_eq!(stored[0].usage, None);
    }

    #[tokio::test]
    async fn a_chat_whose_person_was_quiet_for_the_idle_time_is_the_bots_again() {
        let mut h = Harness::new();
        h.world.conversation.mode = domain::ConversationMode::Human;
        let idle = chrono::Duration::minutes(61);
        h.world.conversation.handed_off_at = Some(crate::fixtures::now() - idle);
        let conversation = h.world.conversation.id;
        h.ledger
            .expect_hand_back()
            .withf(move |id, answer_pending, _| *id == conversation && !answer_pending)
            .times(1)
            .returning(|_, _, _| Ok(true));
        h.model
            .expect_complete()
            .times(1)
            .returning(|_| Ok(Completion::text("back")));
        h.published = 2; // released, then the reply stored
        let inbound = h.world.inbound(MessageContent::text("hello?"));
        let (_, stored) = h.answer(inbound, vec![]).await;
        assert_eq!(stored[0].content.as_text(), Some("back"));
    }

    #[tokio::test]
    async fn a_person_heard_from_lately_keeps_the_chat() {
        let mut h = Harness::new();
        h.world.conversation.mode = domain::ConversationMode::Human;
        let long_ago = crate::fixtures::now() - chrono::Duration::minutes(600);
        h.world.conversation.handed_off_at = Some(long_ago);
        let lately = crate::fixtures::now() - chrono::Duration::minutes(5);
        h.world.conversation.operator_active_at = Some(lately);
        h.ledger.expect_hand_back().never();
        h.model.expect_complete().never();
        h.published = 0;
        h.started = 0;
        let inbound = h.world.inbound(MessageContent::text("thanks"));
        let (step, stored) = h.answer(inbound, vec![]).await;
        assert_eq!(step, Step::Complete);
        assert!(stored.is_empty(), "{stored:?}");
    }

    #[tokio::test]
    async fn asking_for_a_person_answers_with_the_handoff_message_and_hands_off() {
        let mut h = Harness::new();
        let keywords = ["agent".to_owned()];
        h.world.bot.handoff = domain::HandoffPolicy::new(&keywords, None, 60).unwrap();
        h.model.expect_complete().never();
        h.started = 0;
        h.published = 2; // the reply stored, then the handoff
        let conversation = h.world.conversation.id;
        h.conversations
            .expect_hand_off()
            .withf(move |id, assigned_to, _| *id == conversation && assigned_to.is_none())
            .times(1)
            .returning(|_, _, _| Ok(true));
        let inbound = h.world.inbound(MessageContent::text("an AGENT, please"));
        let (_, stored) = h.answer(inbound, vec![]).await;
        assert_eq!(
            stored[0].content.as_text(),
            Some(domain::HandoffPolicy::DEFAULT_MESSAGE)
        );
    }

    #[tokio::test]
    async fn non_text_gets_the_canned_reply_without_the_model() {
        let mut h = Harness::new();
        let inbound = h.world.inbound(MessageContent::Unsupported {
            kind: "sticker".into(),
        });
        h.model.expect_complete().never();
        h.started = 0;
        let (_, stored) = h.answer(inbound, vec![]).await;
        assert_eq!(
            stored[0].content.as_text(),
            Some(crate::commands::UNSUPPORTED_REPLY)
        );
    }
}
