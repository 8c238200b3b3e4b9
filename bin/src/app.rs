//! Wiring: builds every adapter from the settings and plugs them into the use cases.

use crate::events::EventBus;
use crate::settings::{AiProvider, Settings};
use crate::worker::{NotifyWakeups, TokioSpawner, TokioTimer};
use application::breakers::{BreakerSettings, Breakers};
use application::pacing::Pacer;
use application::ports::{
    Channel, Channels, Clock, EventPublisher, EventRelay, HealthCheck, LanguageModel, RateLimiter,
    ScheduleStore, TraceContext,
};
use application::tool_use::Toolbox;
use application::{
    CachedBindings, DeliverReply, Dispatcher, DispatcherPorts, DispatcherSettings, GenerateReply,
    Intake, IntakeSettings, JobRunner, Journal, LocalRateLimiter, Lookup, PipelineSettings,
    ProviderModels, Scrape,
};
use application::{CachedWebhooks, DeliverWebhook, WebhookFanout, WebhookSettings};
use application::{EndConversation, RunSchedule, Schedule, SchedulePorts, ScheduleSettings};
use async_trait::async_trait;
use database::SeaStore;
use domain::repositories::{BindingRepository, WebhookRepository};
use domain::Secret;
use futures::future::BoxFuture;
use presentation::{AppState, StatePorts, StateSettings, StateStores};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use webhooks::{HttpWebhookSender, SenderSettings};

/// Why an adapter could not be set up: its own error, kept as the source.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why the process could not start; each carries the adapter's error as its source.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("invalid configuration: {0}")]
    Config(#[source] Cause),
    #[error("cannot reach the database: {0}")]
    Database(#[source] Cause),
    #[error("cannot migrate the database: {0}")]
    Migration(#[source] Cause),
    #[error("cannot set up the language model: {0}")]
    Model(#[source] Cause),
    #[error("cannot set up a platform client: {0}")]
    Platform(#[source] Cause),
    #[error("cannot set up Redis: {0}")]
    Redis(#[source] Cause),
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
}

/// Everything a running process needs, built once.
pub struct App {
    pub state: AppState,
    /// Runs the jobs, unless `worker.concurrency` is 0 (a web tier).
    pub dispatcher: Option<Dispatcher>,
    /// Wakes the dispatcher on other replicas' enqueues (PostgreSQL); run while it runs.
    pub job_listener: Option<BoxFuture<'static, ()>>,
    pub events: Arc<EventBus>,
    /// The Redis fan-out's tasks, when `redis.url` is set; stopped on shutdown.
    pub fan_out: Option<FanOut>,
    /// Polls the Telegram bindings in polling mode.
    pub poller: application::PollSupervisor,
    /// Discord gateway mode's supervisor, when `discord.api_url` allows it.
    pub gateways: Option<application::GatewaySupervisor>,
    /// What a scrape renders, unless `metrics.enabled` is false.
    pub metrics: Option<Metrics>,
}

/// The scrape use case and the recorder whose histograms need upkeep.
#[derive(Clone)]
pub struct Metrics {
    pub scrape: Arc<Scrape>,
    pub exposition: prometheus::PrometheusExposition,
}

/// With `metrics.enabled`: the process-wide recorder, every known series at zero, and the
/// scrape reading the store.
fn metrics(settings: &Settings, store: &Arc<SeaStore>, clock: &Arc<dyn Clock>) -> Option<Metrics> {
    if !settings.metrics.enabled {
        return None;
    }
    let exposition = prometheus::PrometheusExposition::install()?;
    let ai = &settings.ai;
    let model = match ai.effective_provider() {
        AiProvider::Echo => ("echo", openai::ECHO_MODEL),
        AiProvider::Openai => ("openai", ai.model.as_str()),
    };
    application::metrics::register(&[model]);
    application::metrics::register_refusals(&presentation::refusals::WATCHED);
    let scrape = Scrape::new(store.clone(), Arc::new(exposition.clone()), clock.clone());
    Some(Metrics {
        scrape: Arc::new(scrape),
        exposition,
    })
}

/// The cross-replica event fan-out over Redis.
pub struct FanOut {
    pub publisher: redis::RedisPublisher,
    pub listener: tokio::task::JoinHandle<()>,
}

impl FanOut {
    pub fn stop(&self) {
        self.publisher.stop();
        self.listener.abort();
    }
}

/// The rate limiter of the bots' rate limits and the web chat's allowances: kept in Redis when
/// `redis.url` is set (shared by the replicas on `redis.channel_prefix`), else in this process.
fn rate_limiter(settings: &Settings) -> Result<Arc<dyn RateLimiter>, StartupError> {
    let Some(url) = &settings.redis.url else {
        return Ok(Arc::new(LocalRateLimiter::default()));
    };
    let limiter = redis::RedisRateLimiter::new(url.expose_secret(), &settings.redis.channel_prefix)
        .map_err(|e| StartupError::Redis(e.into()))?;
    Ok(Arc::new(limiter))
}

/// With `redis.url` set: the Redis link, its publisher, and its readiness check.
fn redis_link(
    settings: &Settings,
) -> Result<Option<(redis::RedisEvents, redis::RedisPublisher)>, StartupError> {
    let Some(url) = &settings.redis.url else {
        return Ok(None);
    };
    let link = redis::RedisEvents::new(url.expose_secret(), &settings.redis.channel_prefix)
        .map_err(|e| StartupError::Redis(e.into()))?;
    let publisher = link.publisher();
    Ok(Some((link, publisher)))
}

/// Feeds the other replicas' events into this process's bus.
async fn listen(link: &redis::RedisEvents, bus: &Arc<EventBus>) -> tokio::task::JoinHandle<()> {
    let bus = bus.clone();
    link.listen(Arc::new(move |event| bus.publish_local(event)))
        .await
}

pub async fn build(
    settings: &Settings,
    store: SeaStore,
    clock: Arc<dyn Clock>,
) -> Result<App, StartupError> {
    let store = Arc::new(store);
    let wake = Arc::new(Notify::new());
    let redis = redis_link(settings)?;
    let relay = redis
        .as_ref()
        .map(|(_, publisher)| Arc::new(publisher.clone()) as Arc<dyn EventRelay>);
    let own_wake = (!store.announces_jobs()).then(|| wake.clone());
    let (journal, journal_writer) = Journal::new(store.clone(), clock.clone());
    // The fan-out and the admin API share one cache of the enabled webhooks.
    let webhooks: Arc<dyn WebhookRepository> =
        Arc::new(CachedWebhooks::new(store.clone(), clock.clone()));
    let fanout = WebhookFanout::new(webhooks.clone(), store.clone(), store.clone());
    tokio::spawn(journal_writer.fanning_out(Arc::new(fanout)).run());
    let events = Arc::new(EventBus::new(own_wake, relay, journal));
    let mut health: Vec<Arc<dyn HealthCheck>> = vec![Arc::new(DatabaseHealth(store.clone()))];
    let fan_out = match &redis {
        Some((link, publisher)) => {
            health.push(Arc::new(link.health()));
            Some(FanOut {
                publisher: publisher.clone(),
                listener: listen(link, &events).await,
            })
        }
        None => None,
    };
    let publisher: Arc<dyn EventPublisher> = events.clone();
    let channels = channels(settings, &store)?;
    let pipeline = pipeline_settings(settings);
    // Webhooks, jobs, binding and unbinding share one cache, so this process's writes
    // invalidate it; other replicas' changes are seen within `binding_cache_ttl`.
    let bindings: Arc<dyn BindingRepository> = Arc::new(CachedBindings::new(
        store.clone(),
        clock.clone(),
        pipeline.binding_cache_ttl,
    ));
    let limiter = rate_limiter(settings)?;
    let breakers = breakers(settings, &clock);
    let lookup = Lookup {
        messages: store.clone(),
        conversations: store.clone(),
        bindings: bindings.clone(),
        spends: store.clone(),
        limiter: limiter.clone(),
        breakers: breakers.clone(),
        channels: channels.clone(),
    };
    let pacer = Arc::new(Pacer::new(
        limiter.clone(),
        Arc::new(TokioTimer),
        settings.pacing.rates(),
    ));
    let generate = GenerateReply::new(
        lookup.clone(),
        store.clone(),
        language_model(settings, &store)?,
        publisher.clone(),
        clock.clone(),
        Arc::new(TokioTimer),
        pipeline.clone(),
    )
    .with_drafts(pacer.clone())
    .with_uploads(store.clone())
    .with_tools(Arc::new(Toolbox::new(
        Arc::new(mcp::McpTools::new()),
        Arc::new(TokioTimer),
        settings.tools.toolbox(),
    )));
    let deliver = DeliverReply::new(
        lookup,
        store.clone(),
        store.clone(),
        publisher.clone(),
        Arc::new(TokioTimer),
        pacer,
        clock.clone(),
    );
    let trace = trace_context(settings);
    let runner = JobRunner::new(store.clone(), generate, deliver, clock.clone(), pipeline)
        .delivering_webhooks(deliver_webhooks(settings, &store, &clock)?)
        .running_schedules(run_schedule(&store, publisher.clone(), clock.clone()));
    let runner = traced_runner(runner, &trace);
    let (dispatcher, job_listener) = dispatching(settings, &store, runner, &wake, &clock);
    if dispatcher.is_some() {
        ensure_schedules(&store, &clock).await?;
    }
    let intake = traced_intake(intake_writer(&store, publisher.clone()), &trace);
    let metrics = metrics(settings, &store, &clock);
    let ports = StatePorts {
        channels,
        publisher,
        subscriber: events.clone(),
        clock: clock.clone(),
        timer: Arc::new(TokioTimer),
        limiter,
        breakers,
        health,
        metrics: served_here(settings, metrics.as_ref()),
        trace,
    };
    let stores = StateStores {
        bindings,
        webhooks,
        ..StateStores::all(store.clone(), intake)
    };
    let state = AppState::new(stores, ports, state_settings(settings));
    let poller = crate::poller::supervisor(settings, &store, state.receive.clone(), clock.clone())?;
    let gateways =
        crate::gateway::supervisor(settings, store.clone(), state.receive.clone(), clock);
    Ok(App {
        state,
        dispatcher,
        job_listener,
        events,
        fan_out,
        poller,
        gateways,
        metrics,
    })
}

/// The scrape for `GET /metrics` on the main listener, unless `metrics.listen` serves it.
fn served_here(settings: &Settings, metrics: Option<&Metrics>) -> Option<Arc<Scrape>> {
    let here = settings.metrics.listen.is_none();
    metrics
        .filter(|_| here)
        .map(|metrics| metrics.scrape.clone())
}

/// What the configuration decides for the HTTP edge's use cases.
fn state_settings(settings: &Settings) -> StateSettings {
    let bootstrap = settings.security.bootstrap_api_key.as_ref();
    StateSettings {
        public_url: settings.server.public_url.clone(),
        bootstrap_api_key: bootstrap.map(|k| Secret::new(k.expose_secret())),
        visitor_tokens: crate::web_chat::visitor_tokens(settings),
        link_secret: crate::web_chat::signing_secret(settings)
            .map(|secret| Secret::new(secret.expose_secret())),
        web_chat: crate::web_chat::web_chat_settings(settings),
        max_recipients: settings.broadcasts.max_recipients,
        allow_private_webhooks: settings.webhooks.allow_private_targets,
    }
}

/// The schedules' runs: idle conversations ended (and announced), retention, housekeeping.
fn run_schedule(
    store: &Arc<SeaStore>,
    publisher: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
) -> RunSchedule {
    let end = EndConversation::new(store.clone(), publisher, clock.clone());
    let ports = SchedulePorts {
        store: store.clone(),
        housekeeping: store.clone(),
        bots: store.clone(),
        end: Arc::new(end),
        queue: store.clone(),
        clock,
        timer: Arc::new(TokioTimer),
    };
    RunSchedule::new(ports, ScheduleSettings::default())
}

/// Makes each schedule's job, once across the replicas: what a process that runs jobs does at
/// its start.
async fn ensure_schedules(store: &SeaStore, clock: &Arc<dyn Clock>) -> Result<(), StartupError> {
    let ensured = store.ensure(&Schedule::names(), clock.now()).await;
    ensured.map_err(|e| StartupError::Database(Box::new(e)))
}

/// Posts the outgoing webhooks' deliveries, signed, over HTTP.
fn deliver_webhooks(
    settings: &Settings,
    store: &Arc<SeaStore>,
    clock: &Arc<dyn Clock>,
) -> Result<DeliverWebhook, StartupError> {
    let webhooks = &settings.webhooks;
    let sender = HttpWebhookSender::new(SenderSettings {
        timeout: Duration::from_millis(webhooks.timeout_ms),
        allow_private: webhooks.allow_private_targets,
    });
    let sender = sender.map_err(|e| StartupError::Platform(Box::new(e)))?;
    let delivery = WebhookSettings {
        disable_after: webhooks.disable_after_failures,
        max_attempts: settings.worker.max_attempts,
    };
    Ok(DeliverWebhook::new(
        store.clone(),
        Arc::new(sender),
        clock.clone(),
        delivery,
    ))
}

/// The dispatcher and its cross-replica wake-ups, unless `worker.concurrency` is 0.
fn dispatching(
    settings: &Settings,
    store: &Arc<SeaStore>,
    runner: JobRunner,
    wake: &Arc<Notify>,
    clock: &Arc<dyn Clock>,
) -> (Option<Dispatcher>, Option<BoxFuture<'static, ()>>) {
    let worker = &settings.worker;
    if worker.concurrency == 0 {
        return (None, None);
    }
    let ports = DispatcherPorts {
        queue: store.clone(),
        jobs: Arc::new(runner),
        wakeups: Arc::new(NotifyWakeups(wake.clone())),
        timer: Arc::new(TokioTimer),
        clock: clock.clone(),
        spawner: Arc::new(TokioSpawner),
    };
    let dispatcher = Dispatcher::new(
        ports,
        DispatcherSettings {
            concurrency: worker.concurrency,
            lease: Duration::from_secs(worker.lease_seconds),
            idle_poll: Duration::from_millis(worker.poll_interval_ms),
            grace: Duration::from_secs(settings.server.shutdown_grace_seconds),
            successors_announced: store.announces_jobs(),
        },
    );
    let wake = wake.clone();
    let listener = store.job_listener(Arc::new(move || wake.notify_one()));
    (Some(dispatcher), listener)
}

/// The process's intake writers, group-committing inbound messages, as many as the store
/// writes at once; they stop once every handle (the webhook routes, web chat, poller and
/// gateway hold one) is dropped.
fn intake_writer(store: &Arc<SeaStore>, events: Arc<dyn EventPublisher>) -> Intake {
    let (intake, writer) = Intake::new(store.clone(), IntakeSettings::default());
    let writer = writer.announcing(events);
    for _ in 1..store.concurrent_writers() {
        tokio::spawn(writer.clone().run());
    }
    tokio::spawn(writer.run());
    intake
}

/// The trace context jobs and requests carry, when traces are on.
fn trace_context(settings: &Settings) -> Option<Arc<dyn TraceContext>> {
    let on = settings.traces.is_some();
    on.then(|| Arc::new(crate::traces::W3cTraceContext::default()) as Arc<dyn TraceContext>)
}

fn traced_intake(intake: Intake, trace: &Option<Arc<dyn TraceContext>>) -> Intake {
    match trace {
        Some(trace) => intake.traced(trace.clone()),
        None => intake,
    }
}

fn traced_runner(runner: JobRunner, trace: &Option<Arc<dyn TraceContext>>) -> JobRunner {
    match trace {
        Some(trace) => runner.traced(trace.clone()),
        None => runner,
    }
}

fn pipeline_settings(settings: &Settings) -> PipelineSettings {
    let worker = &settings.worker;
    PipelineSettings {
        history_messages: settings.ai.history_messages,
        history_token_budget: settings.ai.history_token_budget,
        max_attempts: worker.max_attempts,
        retry_base: Duration::from_millis(worker.retry_base_ms),
        retry_cap: Duration::from_secs(worker.retry_cap_seconds),
        lease: Duration::from_secs(worker.lease_seconds),
        ..PipelineSettings::default()
    }
}

fn breakers(settings: &Settings, clock: &Arc<dyn Clock>) -> Arc<Breakers> {
    let breaker = &settings.breaker;
    let settings = BreakerSettings {
        consecutive_failures: breaker.consecutive_failures,
        failure_rate_percent: breaker.failure_rate_percent,
        minimum_calls: breaker.minimum_calls,
        window: Duration::from_secs(breaker.window_seconds),
        open_for: Duration::from_secs(breaker.open_seconds),
    };
    Arc::new(Breakers::new(settings, clock.clone()))
}

fn channels(settings: &Settings, store: &Arc<SeaStore>) -> Result<Channels, StartupError> {
    let telegram = telegram::TelegramChannel::new(&settings.telegram.api_url)
        .map_err(|e| StartupError::Platform(e.into()))?;
    let graph_url = &settings.meta.graph_url;
    let messenger =
        meta::MessengerChannel::new(graph_url).map_err(|e| StartupError::Platform(e.into()))?;
    let whatsapp =
        meta::WhatsappChannel::new(graph_url).map_err(|e| StartupError::Platform(e.into()))?;
    let discord = discord::DiscordChannel::new(&settings.discord.api_url)
        .map_err(|e| StartupError::Platform(e.into()))?;
    Ok(Channels::new([
        Arc::new(telegram) as Arc<dyn Channel>,
        Arc::new(messenger),
        Arc::new(whatsapp),
        Arc::new(discord),
        Arc::new(presentation::WebChatChannel::new(store.clone())),
    ]))
}

fn language_model(
    settings: &Settings,
    store: &Arc<SeaStore>,
) -> Result<Arc<dyn LanguageModel>, StartupError> {
    let ai = &settings.ai;
    let base = openai::OpenAiSettings {
        base_url: ai.base_url.clone(),
        api_key: ai.api_key.as_ref().map(|k| Secret::new(k.expose_secret())),
        default_model: ai.model.clone(),
        timeout: Duration::from_secs(ai.timeout_seconds),
        max_retries: ai.max_retries,
        ..openai::OpenAiSettings::default()
    };
    let default: Arc<dyn LanguageModel> = match ai.effective_provider() {
        AiProvider::Echo => {
            tracing::warn!("no ai.api_key set: the `echo` provider answers by echoing");
            Arc::new(openai::EchoModel)
        }
        AiProvider::Openai => Arc::new(
            openai::OpenAiModel::new(base.clone()).map_err(|e| StartupError::Model(e.into()))?,
        ),
    };
    // Bots that name a provider ask it (with the same timeouts and retries); the others, `ai.*`.
    let clients = Arc::new(openai::ProviderClients::new(base));
    Ok(Arc::new(ProviderModels::new(
        default,
        store.clone(),
        clients,
    )))
}

/// Readiness: the database answers.
struct DatabaseHealth(Arc<SeaStore>);

#[async_trait]
impl HealthCheck for DatabaseHealth {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| e.to_string())
    }
}
