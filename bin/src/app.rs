//! Wiring: builds every adapter from the settings and plugs them into the use cases.

use crate::events::EventBus;
use crate::settings::{AiProvider, Settings};
use application::ports::{
    Channel, Channels, Clock, EventPublisher, HealthCheck, LanguageModel, SystemClock, Timer,
};
use application::{
    ApiKeys, BindPlatform, BotAdmin, CachedBindings, DeliverReply, GenerateReply, Idempotency,
    JobRunner, Lookup, PipelineSettings, ReceiveWebhook, SendOperatorMessage, Stores,
};
use async_trait::async_trait;
use database::SeaStore;
use domain::repositories::BindingRepository;
use domain::Secret;
use presentation::AppState;
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot reach the database: {0}")]
    Database(String),
    #[error("cannot migrate the database: {0}")]
    Migration(String),
    #[error("cannot set up the language model: {0}")]
    Model(String),
    #[error("cannot set up a platform client: {0}")]
    Platform(String),
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
}

/// Everything a running process needs, built once.
pub struct App {
    pub state: AppState,
    pub runner: Arc<JobRunner>,
    pub events: Arc<EventBus>,
    pub wake: Arc<Notify>,
    /// Discord gateway mode's supervisor, when `discord.api_url` allows it.
    pub gateways: Option<application::GatewaySupervisor>,
}

pub fn build(settings: &Settings, store: SeaStore) -> Result<App, StartupError> {
    let store = Arc::new(store);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let wake = Arc::new(Notify::new());
    let events = Arc::new(EventBus::new(wake.clone()));
    let publisher: Arc<dyn EventPublisher> = events.clone();
    let channels = channels(settings)?;
    let pipeline = pipeline_settings(settings);
    // Webhooks, binding and unbinding share one cache, so this process's writes invalidate it.
    let bindings: Arc<dyn BindingRepository> = Arc::new(CachedBindings::new(
        store.clone(),
        clock.clone(),
        pipeline.binding_cache_ttl,
    ));
    let lookup = Lookup {
        messages: store.clone(),
        conversations: store.clone(),
        bindings: store.clone(),
        channels: channels.clone(),
    };
    let generate = GenerateReply {
        lookup: lookup.clone(),
        bots: store.clone(),
        ledger: store.clone(),
        model: language_model(settings)?,
        events: publisher.clone(),
        clock: clock.clone(),
        timer: Arc::new(TokioTimer),
        settings: pipeline.clone(),
    };
    let deliver = DeliverReply {
        lookup,
        queue: store.clone(),
        events: publisher.clone(),
    };
    let runner = Arc::new(JobRunner::new(
        store.clone(),
        generate,
        deliver,
        clock.clone(),
        pipeline,
    ));
    let bootstrap = settings
        .security
        .bootstrap_api_key
        .as_ref()
        .map(|k| Secret::new(k.expose_secret()));
    let send_message = Arc::new(SendOperatorMessage::new(
        store.clone(),
        bindings.clone(),
        store.clone(),
        publisher.clone(),
        clock.clone(),
    ));
    let state = AppState {
        receive: Arc::new(ReceiveWebhook::new(
            Stores {
                bindings: bindings.clone(),
                messages: store.clone(),
                ledger: store.clone(),
            },
            channels.clone(),
            publisher,
            clock.clone(),
        )),
        bot_admin: Arc::new(BotAdmin::new(store.clone(), clock.clone())),
        bind: Arc::new(BindPlatform::new(
            store.clone(),
            bindings.clone(),
            channels,
            clock.clone(),
            settings.server.public_url.clone(),
        )),
        api_keys: Arc::new(ApiKeys::new(store.clone(), clock.clone(), bootstrap)),
        send_message,
        idempotency: Arc::new(Idempotency::new(store.clone(), clock.clone())),
        bots: store.clone(),
        bindings,
        conversations: store.clone(),
        messages: store.clone(),
        summaries: store.clone(),
        health: vec![Arc::new(DatabaseHealth(store.clone()))],
    };
    let gateways =
        crate::gateway::supervisor(settings, store.clone(), state.receive.clone(), clock);
    Ok(App {
        state,
        runner,
        events,
        wake,
        gateways,
    })
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

fn channels(settings: &Settings) -> Result<Channels, StartupError> {
    let platform = |e: &dyn std::fmt::Display| StartupError::Platform(e.to_string());
    let telegram =
        telegram::TelegramChannel::new(&settings.telegram.api_url).map_err(|e| platform(&e))?;
    let graph_url = &settings.meta.graph_url;
    let messenger = meta::MessengerChannel::new(graph_url).map_err(|e| platform(&e))?;
    let whatsapp = meta::WhatsappChannel::new(graph_url).map_err(|e| platform(&e))?;
    let discord =
        discord::DiscordChannel::new(&settings.discord.api_url).map_err(|e| platform(&e))?;
    Ok(Channels::new([
        Arc::new(telegram) as Arc<dyn Channel>,
        Arc::new(messenger),
        Arc::new(whatsapp),
        Arc::new(discord),
    ]))
}

fn language_model(settings: &Settings) -> Result<Arc<dyn LanguageModel>, StartupError> {
    let ai = &settings.ai;
    match ai.effective_provider() {
        AiProvider::Echo => {
            tracing::warn!("no ai.api_key set: the `echo` provider answers by echoing");
            Ok(Arc::new(openai::EchoModel))
        }
        AiProvider::Openai => {
            let model = openai::OpenAiModel::new(openai::OpenAiSettings {
                base_url: ai.base_url.clone(),
                api_key: ai.api_key.as_ref().map(|k| Secret::new(k.expose_secret())),
                default_model: ai.model.clone(),
                timeout: Duration::from_secs(ai.timeout_seconds),
                max_retries: ai.max_retries,
                ..openai::OpenAiSettings::default()
            })
            .map_err(|e| StartupError::Model(e.to_string()))?;
            Ok(Arc::new(model))
        }
    }
}

/// The timer port on tokio's clock.
struct TokioTimer;

#[async_trait]
impl Timer for TokioTimer {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
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
