//! Use case: deliver a stored reply in platform-sized parts, each in its turn under the platform's limits, resuming after the last part sent; wait while the bot's token is held back by its breaker.

use crate::backoff::backoff_delay;
use crate::breakers::Guarded;
use crate::format::{self, RichText};
use crate::jobs::{DeadEnd, Lookup, Step, Target};
use crate::metrics::{self, SendOutcome};
use crate::pacing::Pacer;
use crate::ports::{
    Channel, ClaimedJob, Clock, EventPublisher, JobPayload, JobQueue, Ledger, Recipient, SendError,
    Timer,
};
use crate::proactive::META_WINDOW;
use crate::streaming::draft_id;
use chrono::{DateTime, Utc};
use domain::{
    DomainEvent, ExternalMessageId, Message, MessageContent, MessageId, MessageStatus,
    PlatformKind, RepoError, Template,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// While the store is away, recording a sent message is tried again after this long, doubling…
const RECORD_RETRY_BASE: Duration = Duration::from_millis(50);
/// …up to this.
const RECORD_RETRY_CAP: Duration = Duration::from_secs(1);

pub struct DeliverReply {
    lookup: Lookup,
    queue: Arc<dyn JobQueue>,
    ledger: Arc<dyn Ledger>,
    events: Arc<dyn EventPublisher>,
    /// Paces the retries of recording a sent message while the store is away.
    timer: Arc<dyn Timer>,
    /// Gives each send its turn under the platform's limits.
    pacer: Arc<Pacer>,
    /// Tells whether a WhatsApp chat's 24-hour window is still open.
    clock: Arc<dyn Clock>,
}

impl DeliverReply {
    pub fn new(
        lookup: Lookup,
        queue: Arc<dyn JobQueue>,
        ledger: Arc<dyn Ledger>,
        events: Arc<dyn EventPublisher>,
        timer: Arc<dyn Timer>,
        pacer: Arc<Pacer>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            lookup,
            queue,
            ledger,
            events,
            timer,
            pacer,
            clock,
        }
    }

    /// Runs a claimed delivery job: loads its message and sends what is left of it.
    #[tracing::instrument(skip_all, fields(job_id = job.id, message_id = %message_id, parts_sent))]
    pub async fn run(
        &self,
        job: &ClaimedJob,
        message_id: MessageId,
        parts_sent: u32,
    ) -> Result<Step, RepoError> {
        let target = match self.lookup.target(message_id, 0).await {
            Ok(target) => target,
            Err(error) => return error.into_step(),
        };
        if target.message.status != MessageStatus::Pending {
            return Ok(Step::Complete);
        }
        self.send(job, &target, parts_sent).await
    }

    /// Sends `target`'s message from part `parts_sent` on, saving progress between parts; once
    /// the last part is out, marks it sent and completes `job` in one write.
    #[tracing::instrument(skip_all, fields(job_id = job.id, message_id = %target.message.id))]
    pub async fn send(
        &self,
        job: &ClaimedJob,
        target: &Target,
        parts_sent: u32,
    ) -> Result<Step, RepoError> {
        let message_id = target.message.id;
        let parts = match self.window(target, parts_sent).await? {
            Window::Open => outgoing(&target.message.content, target.channel.as_ref()),
            Window::Closed(last_inbound) => match &target.bot.replies.window_template {
                Some(template) => {
                    tracing::info!(%message_id, "past the 24-hour window: the bot's window template goes instead");
                    vec![Outgoing::Template(template.clone())]
                }
                None => return Ok(unsent_past_window(last_inbound)),
            },
        };
        let mut last_id = None;
        for (index, part) in parts.iter().enumerate().skip(parts_sent as usize) {
            let to = Recipient {
                chat: target.chat.clone(),
                reply_handle: target.message.reply_handle.clone(),
                part: index as u32,
                draft: target.message.reply_to.map(draft_id),
            };
            let external_id = match self.send_in_turn(target, &to, part).await {
                Ok(external_id) => external_id,
                Err(step) => return Ok(step),
            };
            if index + 1 == parts.len() {
                // The last part's id: a report on it can only come once every part is out, so
                // a report never moves the message on while a retry still has parts to send.
                last_id = external_id;
                break;
            }
            let progress = JobPayload::Deliver {
                message_id,
                parts_sent: index as u32 + 1,
            };
            if !self.queue.save_progress(job, &progress).await? {
                return Ok(Step::LeaseLost);
            }
        }
        let held = self.record_sent(job, message_id, last_id).await?;
        // A sent message is always announced, even when the platform's report on its last
        // part came first and moved it further.
        self.announce(&target.message, MessageStatus::Sent);
        Ok(if held { Step::Settled } else { Step::LeaseLost })
    }

    /// Whether a WhatsApp text may still go: Meta takes free text only within 24 hours of the
    /// chat's last message. Read for WhatsApp texts not yet begun, from the chat's last inbound
    /// message; anything else goes as it is.
    async fn window(&self, target: &Target, parts_sent: u32) -> Result<Window, RepoError> {
        let message = &target.message;
        let template = matches!(message.content, MessageContent::Template(_));
        if message.platform != PlatformKind::Whatsapp || template || parts_sent > 0 {
            return Ok(Window::Open);
        }
        let last_inbound = self
            .lookup
            .messages
            .last_inbound_at(message.bot_id, message.platform, &target.chat)
            .await?;
        Ok(match last_inbound {
            Some(at) if self.clock.now() - at < META_WINDOW => Window::Open,
            last_inbound => Window::Closed(last_inbound),
        })
    }

    /// Sends one part once the bot token's breaker lets it and its turn under the platform's
    /// limits has come; else the step the job takes from this part on (a wait not counted as
    /// an attempt, a retry, or dead-lettering).
    async fn send_in_turn(
        &self,
        target: &Target,
        to: &Recipient,
        part: &Outgoing,
    ) -> Result<Option<ExternalMessageId>, Step> {
        let (message_id, bot_id) = (target.message.id, target.message.bot_id);
        let kind = target.binding.kind();
        let guarded = Guarded::Platform(kind, bot_id);
        let wait = |after, reason: &str| Step::Defer {
            payload: JobPayload::Deliver {
                message_id,
                parts_sent: to.part,
            },
            after,
            reason: reason.to_owned(),
        };
        let breaker_open = "the platform's circuit breaker is open";
        self.lookup
            .breakers
            .permit(guarded)
            .map_err(|after| wait(after, breaker_open))?;
        let turn = self.pacer.turn(kind, bot_id, &target.chat).await;
        let waited =
            turn.map_err(|after| wait(after, "waiting for its turn under the platform's limits"))?;
        if !waited.is_zero() {
            self.still_to_send(message_id, to.part).await?;
        }
        let sent = send_part(target, to, part).await;
        let down = matches!(sent, Err(SendError::Transient(_)));
        let open_for = self.lookup.breakers.record(guarded, !down);
        let error = match sent {
            Ok(external_id) => return Ok(external_id),
            Err(error) => error,
        };
        if let SendError::RateLimited { retry_after } = error {
            (self.pacer)
                .back_off(kind, bot_id, &target.chat, retry_after)
                .await;
        }
        Err(match open_for {
            Some(after) if down => wait(after, breaker_open),
            _ => after_failure(message_id, to.part, error),
        })
    }

    /// After a wait for its turn: `Ok` while the message is still pending; the job completes
    /// unsent when it no longer is (its broadcast was cancelled meanwhile, or it is gone).
    async fn still_to_send(&self, message_id: MessageId, part: u32) -> Result<(), Step> {
        match self.lookup.messages.get(message_id).await {
            Ok(Some(message)) if message.status == MessageStatus::Pending => Ok(()),
            Ok(_) => {
                tracing::info!(%message_id, "no longer pending after its turn came: not sent");
                Err(Step::Complete)
            }
            Err(error) => Err(Step::Retry {
                payload: JobPayload::Deliver {
                    message_id,
                    parts_sent: part,
                },
                after: None,
                error: error.to_string(),
            }),
        }
    }

    /// Marks the message sent and completes `job`. The message is out: sending it again would be
    /// worse than waiting, so while the store is unavailable the write is tried again (at most
    /// a second apart) until it goes through, or the job is stopped at shutdown. Once written,
    /// a delivery claimed again finds the message sent and sends nothing.
    async fn record_sent(
        &self,
        job: &ClaimedJob,
        message_id: MessageId,
        external_id: Option<ExternalMessageId>,
    ) -> Result<bool, RepoError> {
        let mut tries = 0;
        loop {
            let recorded = self
                .ledger
                .finish_delivery(job, message_id, external_id.clone());
            match recorded.await {
                Err(RepoError::Unavailable(error)) => {
                    tries += 1;
                    tracing::warn!(%error, tries, "sent, but not yet recorded; trying again");
                    let wait = backoff_delay(tries, RECORD_RETRY_BASE, RECORD_RETRY_CAP);
                    self.timer.sleep(wait).await;
                }
                recorded => return recorded,
            }
        }
    }

    /// Marks a message whose delivery was given up as failed, with why; the runner calls it
    /// when a delivery job is dead-lettered, whatever the reason (also when its binding is gone).
    /// A failure that did not move the message (it was settled already) is not announced.
    pub async fn give_up(&self, message_id: MessageId, reason: &str) -> Result<(), RepoError> {
        let Some(message) = self.lookup.messages.get(message_id).await? else {
            return Ok(());
        };
        let failed = MessageStatus::Failed;
        let moved = self
            .lookup
            .messages
            .advance(message.id, failed, Some(reason.to_owned()));
        if moved.await? {
            self.announce(&message, failed);
        }
        Ok(())
    }

    fn announce(&self, message: &Message, status: MessageStatus) {
        let (bot_id, conversation_id, message_id) =
            (message.bot_id, message.conversation_id, message.id);
        self.events.publish(match status {
            MessageStatus::Sent => DomainEvent::MessageDelivered {
                bot_id,
                conversation_id,
                message_id,
            },
            _ => DomainEvent::DeliveryFailed {
                bot_id,
                conversation_id,
                message_id,
            },
        });
    }
}

/// Whether a WhatsApp chat's 24-hour window is open; when closed, its last message's time, if
/// it ever wrote.
enum Window {
    Open,
    Closed(Option<DateTime<Utc>>),
}

/// A text past the 24-hour window, and no window template: dead-lettered unsent, the reason on
/// the message (Meta would refuse it: 131047).
fn unsent_past_window(last_inbound: Option<DateTime<Utc>>) -> Step {
    let since = match last_inbound {
        Some(at) => format!("the chat last wrote at {at}"),
        None => "the chat never wrote".to_owned(),
    };
    let reason = format!(
        "not sent: WhatsApp takes free text only within 24 hours of the chat's last message ({since}), and the bot has no window_template"
    );
    Step::Dead(DeadEnd::Refused(SendError::Permanent(reason)))
}

/// One platform message of a delivery: a part of a text, formatted, or a template.
enum Outgoing {
    Part(RichText),
    Template(Template),
}

/// What a message goes out as on `channel`: its text formatted and cut into parts that fit,
/// or its template whole.
fn outgoing(content: &MessageContent, channel: &dyn Channel) -> Vec<Outgoing> {
    if let MessageContent::Template(template) = content {
        return vec![Outgoing::Template(template.clone())];
    }
    let parts = format::parts(&content.summary(), channel.markup(), channel.max_text_len());
    parts.into_iter().map(Outgoing::Part).collect()
}

/// Sends one part to the platform in a `send` span (the platform, the part, the outcome),
/// recorded in the platform send metrics.
async fn send_part(
    target: &Target,
    to: &Recipient,
    part: &Outgoing,
) -> Result<Option<ExternalMessageId>, SendError> {
    let platform = target.channel.kind().as_str();
    let span = tracing::info_span!(
        "platform_send",
        otel.name = format!("send {platform}"),
        otel.kind = "client",
        platform,
        part = i64::from(to.part),
        outcome = tracing::field::Empty,
    );
    let started = Instant::now();
    let (channel, binding) = (&target.channel, &target.binding);
    let sent = match part {
        Outgoing::Part(text) => channel.send_text(binding, to, text),
        Outgoing::Template(template) => channel.send_template(binding, to, template),
    };
    let sent = sent.instrument(span.clone()).await;
    let outcome = send_outcome(&sent);
    span.record("outcome", outcome.as_str());
    metrics::platform_send(target.binding.kind(), outcome, started.elapsed());
    sent
}

/// How a send went, as its span, the logs and the metrics name it.
fn send_outcome<T>(sent: &Result<T, SendError>) -> SendOutcome {
    match sent {
        Ok(_) => SendOutcome::Sent,
        Err(SendError::RateLimited { .. }) => SendOutcome::RateLimited,
        Err(SendError::Transient(_) | SendError::Permanent(_)) => SendOutcome::Failed,
    }
}

/// A failed send: wait as the platform asked, back off, or give up.
fn after_failure(message_id: MessageId, parts_sent: u32, error: SendError) -> Step {
    let payload = JobPayload::Deliver {
        message_id,
        parts_sent,
    };
    match error {
        SendError::RateLimited { retry_after } => Step::Retry {
            payload,
            after: Some(retry_after),
            error: error.to_string(),
        },
        SendError::Transient(_) => Step::Retry {
            payload,
            after: None,
            error: error.to_string(),
        },
        SendError::Permanent(_) => Step::Dead(DeadEnd::Refused(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breakers::{BreakerSettings, Breakers};
    use crate::fixtures::{job, telegram_channel, TokioTimer, World};
    use crate::ports::{MockEventPublisher, MockJobQueue, MockLedger};
    use domain::{ExternalMessageId, Message, MessageContent};
    use std::sync::Mutex;
    use std::time::Duration;

    struct Harness {
        world: World,
        reply: Message,
        sent: Arc<Mutex<Vec<String>>>,
        progress: Arc<Mutex<Vec<u32>>>,
        stored_ids: Arc<Mutex<Vec<String>>>,
        /// Whether the lease still holds when the delivery finishes.
        held: bool,
        /// How many times recording the delivery fails with the store away first.
        unavailable: usize,
        breakers: Arc<Breakers>,
        pacer: Arc<Pacer>,
        /// The reply as a read after its turn came finds it, when it changed meanwhile.
        reread: Option<Message>,
    }

    impl Harness {
        /// A reply of three 10-character paragraphs, for a platform that takes 12 at a time.
        fn new() -> Self {
            let world = World::new();
            let question = world.inbound(MessageContent::text("q"));
            let reply = Message::reply(
                &question,
                "aaaaaaaaaa\n\nbbbbbbbbbb\n\ncccccccccc",
                crate::fixtures::now(),
            );
            Self {
                world,
                reply,
                sent: Arc::default(),
                progress: Arc::default(),
                stored_ids: Arc::default(),
                held: true,
                unavailable: 0,
                breakers: Arc::new(Breakers::new(Default::default(), crate::fixtures::clock())),
                pacer: crate::fixtures::unpaced(),
                reread: None,
            }
        }

        /// Runs delivery from `parts_sent`; the channel fails with `failure` on the part at `fail_at`.
        async fn deliver(&self, parts_sent: u32, fail_at: Option<(usize, SendError)>) -> Step {
            let reread = self.reread.clone().unwrap_or_else(|| self.reply.clone());
            let messages = (self.world).messages_reread_as(vec![self.reply.clone()], vec![reread]);
            let mut ledger = MockLedger::new();
            let (stored_ids, reply_id, held) = (self.stored_ids.clone(), self.reply.id, self.held);
            ledger
                .expect_finish_delivery()
                .times(self.unavailable)
                .returning(|_, _, _| Err(RepoError::Unavailable("down".into())));
            ledger
                .expect_finish_delivery()
                .withf(move |_, id, _| *id == reply_id)
                .returning(move |_, _, external_id| {
                    let id = external_id.map(|id| id.as_str().to_owned());
                    stored_ids.lock().unwrap().extend(id);
                    Ok(held)
                });
            let mut channel = telegram_channel();
            channel.expect_max_text_len().return_const(12usize);
            let sent = self.sent.clone();
            channel.expect_send_text().returning(move |_, to, text| {
                let mut sent = sent.lock().unwrap();
                let index = sent.len() + parts_sent as usize;
                assert_eq!(to.part as usize, index);
                match &fail_at {
                    Some((at, error)) if *at == index => Err(error.clone()),
                    _ => {
                        sent.push(text.text.clone());
                        Ok(Some(
                            ExternalMessageId::parse(format!("part-{index}")).unwrap(),
                        ))
                    }
                }
            });
            let mut queue = MockJobQueue::new();
            let progress = self.progress.clone();
            queue.expect_save_progress().returning(move |_, payload| {
                if let JobPayload::Deliver { parts_sent, .. } = payload {
                    progress.lock().unwrap().push(*parts_sent);
                }
                Ok(true)
            });
            let mut events = MockEventPublisher::new();
            events.expect_publish().return_const(());
            let mut lookup = self.world.lookup(messages, channel);
            lookup.breakers = self.breakers.clone();
            let use_case = DeliverReply::new(
                lookup,
                Arc::new(queue),
                Arc::new(ledger),
                Arc::new(events),
                Arc::new(TokioTimer),
                self.pacer.clone(),
                crate::fixtures::clock(),
            );
            let payload = JobPayload::Deliver {
                message_id: self.reply.id,
                parts_sent,
            };
            use_case
                .run(&job(payload, 1), self.reply.id, parts_sent)
                .await
                .unwrap()
        }
    }

    #[tokio::test]
    async fn a_long_reply_goes_out_in_ordered_parts_with_progress_saved() {
        let h = Harness::new();
        assert_eq!(h.deliver(0, None).await, Step::Settled);
        assert_eq!(
            *h.sent.lock().unwrap(),
            vec!["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"]
        );
        assert_eq!(*h.progress.lock().unwrap(), vec![1, 2]);
        assert_eq!(
            *h.stored_ids.lock().unwrap(),
            vec!["part-2"],
            "the last part's id"
        );
    }

    #[tokio::test]
    async fn a_delivery_that_lost_its_lease_says_so_once_sent() {
        let mut h = Harness::new();
        h.held = false;
        assert_eq!(h.deliver(0, None).await, Step::LeaseLost);
        assert_eq!(h.sent.lock().unwrap().len(), 3, "sent all the same");
        assert_eq!(*h.stored_ids.lock().unwrap(), vec!["part-2"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_sent_message_whose_record_fails_is_recorded_later_not_sent_again() {
        let mut h = Harness::new();
        h.unavailable = 3;
        assert_eq!(h.deliver(0, None).await, Step::Settled);
        assert_eq!(h.sent.lock().unwrap().len(), 3, "each part once");
        assert_eq!(*h.stored_ids.lock().unwrap(), vec!["part-2"]);
    }

    #[tokio::test]
    async fn a_retry_resumes_after_the_parts_already_sent() {
        let h = Harness::new();
        assert_eq!(h.deliver(2, None).await, Step::Settled);
        assert_eq!(*h.sent.lock().unwrap(), vec!["cccccccccc"]);
    }

    #[tokio::test]
    async fn rate_limits_are_waited_out_from_the_failed_part() {
        let h = Harness::new();
        let limited = SendError::RateLimited {
            retry_after: Duration::from_secs(3),
        };
        let step = h.deliver(0, Some((1, limited.clone()))).await;
        let expected = Step::Retry {
            payload: JobPayload::Deliver {
                message_id: h.reply.id,
                parts_sent: 1,
            },
            after: Some(Duration::from_secs(3)),
            error: limited.to_string(),
        };
        assert_eq!(step, expected);
        assert_eq!(*h.sent.lock().unwrap(), vec!["aaaaaaaaaa"]);
    }

    #[tokio::test]
    async fn a_failure_that_opens_the_tokens_breaker_defers_and_later_parts_wait_unsent() {
        let mut h = Harness::new();
        let trip_at_once = BreakerSettings {
            consecutive_failures: 1,
            ..BreakerSettings::default()
        };
        h.breakers = Arc::new(Breakers::new(trip_at_once, crate::fixtures::clock()));
        let down = SendError::Transient("502".into());
        let held = |parts_sent| Step::Defer {
            payload: JobPayload::Deliver {
                message_id: h.reply.id,
                parts_sent,
            },
            after: Duration::from_secs(30),
            reason: "the platform's circuit breaker is open".into(),
        };
        assert_eq!(h.deliver(0, Some((1, down))).await, held(1));
        assert_eq!(h.deliver(1, None).await, held(1), "nothing sent while open");
        assert_eq!(*h.sent.lock().unwrap(), vec!["aaaaaaaaaa"]);
    }

    /// Records the waits asked of it, and returns at once.
    #[derive(Default)]
    struct Waits(Mutex<Vec<Duration>>);

    #[async_trait::async_trait]
    impl crate::ports::Timer for Waits {
        async fn sleep(&self, duration: Duration) {
            self.0.lock().unwrap().push(duration);
        }
    }

    /// A harness paced by Telegram's default limits, and the waits it asked for.
    fn paced() -> (Harness, Arc<Waits>) {
        let mut h = Harness::new();
        let waits = Arc::new(Waits::default());
        let limiter = Arc::new(crate::rate_limit::LocalRateLimiter::default());
        let telegram = crate::pacing::PacingSettings::default();
        h.pacer = Arc::new(Pacer::new(limiter, waits.clone(), telegram));
        (h, waits)
    }

    #[tokio::test]
    async fn each_part_waits_its_turn_in_the_chat() {
        let (h, waits) = paced();
        assert_eq!(h.deliver(0, None).await, Step::Settled);
        assert_eq!(h.sent.lock().unwrap().len(), 3);
        let waited = waits.0.lock().unwrap().clone();
        assert_eq!(waited.len(), 2, "the first part goes at once: {waited:?}");
        for (n, wait) in (1..).zip(waited) {
            let turn = Duration::from_secs(n);
            assert!(
                turn - wait < Duration::from_millis(100),
                "a second apart: {wait:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_message_cancelled_while_it_waited_for_its_turn_is_not_sent() {
        let (mut h, waits) = paced();
        // The chat's turn was just taken: the reply's first part waits a second for its own…
        let chat = &h.world.conversation.external_chat_id;
        let taken = h.pacer.turn(PlatformKind::Telegram, h.reply.bot_id, chat);
        assert_eq!(taken.await, Ok(Duration::ZERO));
        // …during which its broadcast is cancelled.
        let mut cancelled = h.reply.clone();
        cancelled.status = MessageStatus::Failed;
        h.reread = Some(cancelled);
        assert_eq!(h.deliver(0, None).await, Step::Complete);
        assert!(h.sent.lock().unwrap().is_empty(), "nothing sent");
        assert_eq!(waits.0.lock().unwrap().len(), 1, "it did wait");
    }

    #[tokio::test]
    async fn transient_failures_back_off_and_permanent_ones_die() {
        let h = Harness::new();
        let step = h
            .deliver(0, Some((0, SendError::Transient("502".into()))))
            .await;
        assert!(matches!(step, Step::Retry { after: None, .. }));
        let step = h
            .deliver(0, Some((0, SendError::Permanent("blocked".into()))))
            .await;
        assert!(matches!(step, Step::Dead(reason) if reason.to_string().contains("blocked")));
    }
}
