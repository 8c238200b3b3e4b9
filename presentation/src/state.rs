//! The handlers' state, built once from the ports: the use cases, and the stores for plain reads.

use application::attachments::Attachments;
use application::breakers::Breakers;
use application::ports::{
    AuditLog, Broadcasts, Channels, Clock, DeadLetters, Erasure, EventLog, EventPublisher,
    EventSubscriber, HealthCheck, IdempotencyStore, Ledger, RateLimiter, ScheduleStore,
    StoreGauges, Timer, TraceContext, Uploads, WebhookDeliveries,
};
use application::status::ReadStatus;
use application::{
    ApiKeys, BindPlatform, BotAdmin, EndConversation, EraseUser, EventFeed, FirstAdmin, Handoff,
    Idempotency, Intake, ProactivePorts, ProviderAdmin, ReceiveWebhook, Scrape, SendBroadcast,
    SendOperatorMessage, SendProactive, Stores, VisitorTokens, WebChat, WebChatPorts,
    WebChatSettings, WebhookAdmin,
};
use domain::repositories::{
    ApiKeyRepository, BindingRepository, BotRepository, ConversationRepository, MessageRepository,
    ProviderRepository, SummaryRepository, WebhookRepository,
};
use domain::Secret;
use std::sync::Arc;

/// What the handlers use: use cases where there is logic to protect, repositories for plain reads.
pub struct AppState {
    pub receive: Arc<ReceiveWebhook>,
    pub bot_admin: Arc<BotAdmin>,
    pub providers: Arc<ProviderAdmin>,
    /// `/api/v1/webhooks`: outgoing webhooks and their deliveries.
    pub webhooks: Arc<WebhookAdmin>,
    pub bind: Arc<BindPlatform>,
    pub api_keys: Arc<ApiKeys>,
    /// Trades the setup token a fresh server logs for its first admin key.
    pub first_admin: Arc<FirstAdmin>,
    pub send_message: Arc<SendOperatorMessage>,
    /// `POST /api/v1/bots/{id}/messages`: the bot writes first.
    pub proactive: Arc<SendProactive>,
    /// `/api/v1/bots/{id}/broadcasts`: one message to many chats.
    pub broadcasts: Arc<SendBroadcast>,
    pub end_conversation: Arc<EndConversation>,
    /// `DELETE /api/v1/bots/{id}/users/{platform}/{user_id}`.
    pub erase_user: Arc<EraseUser>,
    /// Signed links to kept pictures, and `GET /api/v1/attachments/{id}`.
    pub attachments: Arc<Attachments>,
    pub handoff: Arc<Handoff>,
    /// `GET /api/v1/status`: the breakers and the queue.
    pub status: Arc<ReadStatus>,
    /// The web chat's socket and the REST channel.
    pub web_chat: Arc<WebChat>,
    /// Operators' live events (`/api/v1/events`).
    pub events: Arc<EventFeed>,
    /// Raised when the server goes away: the open sockets close.
    pub closing: crate::Closing,
    /// `Idempotency-Key` claims and answers for the admin API's POSTs.
    pub idempotency: Arc<Idempotency>,
    pub bots: Arc<dyn BotRepository>,
    pub bindings: Arc<dyn BindingRepository>,
    pub conversations: Arc<dyn ConversationRepository>,
    pub messages: Arc<dyn MessageRepository>,
    pub summaries: Arc<dyn SummaryRepository>,
    /// `/api/v1/jobs`.
    pub dead_letters: Arc<dyn DeadLetters>,
    /// Where admin writes are recorded, and `GET /api/v1/audit` reads them.
    pub audit: Arc<dyn AuditLog>,
    /// `GET /api/v1/schedules`.
    pub schedules: Arc<dyn ScheduleStore>,
    /// The time admin actions are stamped with.
    pub clock: Arc<dyn Clock>,
    /// Run by `GET /health/ready`.
    pub health: Vec<Arc<dyn HealthCheck>>,
    /// Rendered by `GET /metrics` on this app; `None` when metrics are off or served on
    /// `metrics.listen` (see [`crate::metrics_server`]).
    pub metrics: Option<Arc<Scrape>>,
    /// Continues callers' traces on the admin API and the REST channel; `None` with traces off.
    pub trace: Option<Arc<dyn TraceContext>>,
}

/// The stores the HTTP edge writes and reads; one database store fills them all
/// ([`StateStores::all`]), a decorated one may stand in for any.
pub struct StateStores {
    pub bots: Arc<dyn BotRepository>,
    pub providers: Arc<dyn ProviderRepository>,
    pub webhooks: Arc<dyn WebhookRepository>,
    /// Each webhook's deliveries.
    pub webhook_deliveries: Arc<dyn WebhookDeliveries>,
    /// The schedules' records.
    pub schedules: Arc<dyn ScheduleStore>,
    /// Shared with whatever else binds or reads bindings, so that one cache serves them all.
    pub bindings: Arc<dyn BindingRepository>,
    pub conversations: Arc<dyn ConversationRepository>,
    pub messages: Arc<dyn MessageRepository>,
    pub summaries: Arc<dyn SummaryRepository>,
    pub api_keys: Arc<dyn ApiKeyRepository>,
    /// Where operator messages are queued.
    pub ledger: Arc<dyn Ledger>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// The announced events of the last minutes, for clients that reconnect.
    pub events: Arc<dyn EventLog>,
    /// Writes the inbound messages of webhooks and the web chat, in batches.
    pub intake: Intake,
    /// The job queue's figures, for the status.
    pub gauges: Arc<dyn StoreGauges>,
    /// The queue's jobs for operators; dead ones put back or discarded.
    pub dead_letters: Arc<dyn DeadLetters>,
    /// Where broadcasts are queued and counted.
    pub broadcasts: Arc<dyn Broadcasts>,
    /// Removes an end user's chats.
    pub erasure: Arc<dyn Erasure>,
    /// Records admin writes.
    pub audit: Arc<dyn AuditLog>,
    /// Keeps the pictures web chat visitors send.
    pub uploads: Arc<dyn Uploads>,
}

impl StateStores {
    /// Every store from `store`, inbound messages through `intake`.
    pub fn all<S>(store: Arc<S>, intake: Intake) -> Self
    where
        S: BotRepository
            + ProviderRepository
            + BindingRepository
            + ConversationRepository
            + MessageRepository
            + SummaryRepository
            + ApiKeyRepository
            + Ledger
            + IdempotencyStore
            + EventLog
            + StoreGauges
            + DeadLetters
            + Broadcasts
            + Erasure
            + AuditLog
            + Uploads
            + WebhookRepository
            + WebhookDeliveries
            + ScheduleStore
            + 'static,
    {
        Self {
            bots: store.clone(),
            providers: store.clone(),
            webhooks: store.clone(),
            webhook_deliveries: store.clone(),
            schedules: store.clone(),
            bindings: store.clone(),
            conversations: store.clone(),
            messages: store.clone(),
            summaries: store.clone(),
            api_keys: store.clone(),
            ledger: store.clone(),
            idempotency: store.clone(),
            gauges: store.clone(),
            dead_letters: store.clone(),
            broadcasts: store.clone(),
            erasure: store.clone(),
            audit: store.clone(),
            uploads: store.clone(),
            events: store,
            intake,
        }
    }
}

/// The other ports: the platforms, events, time, and what the probes and traces report through.
pub struct StatePorts {
    pub channels: Channels,
    pub publisher: Arc<dyn EventPublisher>,
    /// Where the web chat hears its replies and operators' clients follow the events.
    pub subscriber: Arc<dyn EventSubscriber>,
    pub clock: Arc<dyn Clock>,
    pub timer: Arc<dyn Timer>,
    /// The web chat's allowances per visitor and per address.
    pub limiter: Arc<dyn RateLimiter>,
    /// The job handlers' circuit breakers, shown by the status.
    pub breakers: Arc<Breakers>,
    /// Run by `GET /health/ready`.
    pub health: Vec<Arc<dyn HealthCheck>>,
    /// See [`AppState::metrics`].
    pub metrics: Option<Arc<Scrape>>,
    /// See [`AppState::trace`].
    pub trace: Option<Arc<dyn TraceContext>>,
}

/// What the configuration decides for the use cases.
pub struct StateSettings {
    /// `server.public_url`: when set, bindings register their webhooks there.
    pub public_url: Option<String>,
    /// `security.bootstrap_api_key`, accepted as an admin key when set.
    pub bootstrap_api_key: Option<Secret>,
    /// Signs the web chat's visitor tokens.
    pub visitor_tokens: VisitorTokens,
    /// What the links to attachments are signed with (a key is derived from it); `None`: a
    /// random key, so that links open only on this process.
    pub link_secret: Option<Secret>,
    pub web_chat: WebChatSettings,
    /// `broadcasts.max_recipients`: the most chats one broadcast goes to.
    pub max_recipients: usize,
    /// `webhooks.allow_private_targets`: outgoing webhooks may name private addresses.
    pub allow_private_webhooks: bool,
}

impl AppState {
    /// Builds every use case on `stores` and `ports`.
    pub fn new(stores: StateStores, ports: StatePorts, settings: StateSettings) -> Self {
        let StateSettings {
            public_url,
            bootstrap_api_key,
            visitor_tokens,
            link_secret,
            web_chat,
            max_recipients,
            allow_private_webhooks,
        } = settings;
        let receive = Arc::new(receive(&stores, &ports));
        let web_chat =
            web_chat_use_case(&stores, &ports, receive.clone(), visitor_tokens, web_chat);
        let clock = &ports.clock;
        let api_keys = Arc::new(ApiKeys::new(
            stores.api_keys.clone(),
            clock.clone(),
            bootstrap_api_key,
        ));
        Self {
            bot_admin: Arc::new(BotAdmin::new(
                stores.bots.clone(),
                stores.providers.clone(),
                clock.clone(),
            )),
            providers: Arc::new(ProviderAdmin::new(stores.providers.clone(), clock.clone())),
            webhooks: Arc::new(WebhookAdmin::new(
                stores.webhooks.clone(),
                stores.webhook_deliveries.clone(),
                clock.clone(),
                allow_private_webhooks,
            )),
            bind: Arc::new(BindPlatform::new(
                stores.bots.clone(),
                stores.bindings.clone(),
                ports.channels.clone(),
                clock.clone(),
                public_url,
            )),
            first_admin: Arc::new(FirstAdmin::new(api_keys.clone(), clock.clone())),
            api_keys,
            send_message: Arc::new(send_message(&stores, &ports)),
            proactive: Arc::new(SendProactive::new(proactive_ports(&stores, &ports))),
            broadcasts: Arc::new(SendBroadcast::new(
                proactive_ports(&stores, &ports),
                stores.broadcasts.clone(),
                max_recipients,
            )),
            end_conversation: Arc::new(EndConversation::new(
                stores.conversations.clone(),
                ports.publisher.clone(),
                clock.clone(),
            )),
            erase_user: Arc::new(EraseUser::new(stores.bots.clone(), stores.erasure.clone())),
            attachments: Arc::new(Attachments::new(
                stores.uploads.clone(),
                clock.clone(),
                link_secret
                    .as_ref()
                    .map(|secret| secret.expose().as_bytes()),
            )),
            handoff: Arc::new(Handoff::new(
                stores.conversations.clone(),
                stores.ledger.clone(),
                ports.publisher.clone(),
                clock.clone(),
            )),
            idempotency: Arc::new(Idempotency::new(stores.idempotency, clock.clone())),
            events: Arc::new(EventFeed::new(
                ports.subscriber.clone(),
                stores.events,
                clock.clone(),
            )),
            status: Arc::new(ReadStatus::new(
                ports.breakers.clone(),
                stores.gauges.clone(),
                clock.clone(),
            )),
            closing: crate::Closing::default(),
            receive,
            web_chat: Arc::new(web_chat),
            bots: stores.bots,
            bindings: stores.bindings,
            conversations: stores.conversations,
            messages: stores.messages,
            summaries: stores.summaries,
            dead_letters: stores.dead_letters,
            audit: stores.audit,
            schedules: stores.schedules,
            clock: ports.clock.clone(),
            health: ports.health,
            metrics: ports.metrics,
            trace: ports.trace,
        }
    }
}

/// Webhooks' (and the web chat's) way in: new messages go through the intake writer.
fn receive(stores: &StateStores, ports: &StatePorts) -> ReceiveWebhook {
    ReceiveWebhook::new(
        Stores {
            bindings: stores.bindings.clone(),
            messages: stores.messages.clone(),
            conversations: stores.conversations.clone(),
            intake: stores.intake.clone(),
        },
        ports.channels.clone(),
        ports.publisher.clone(),
        ports.clock.clone(),
    )
}

fn send_message(stores: &StateStores, ports: &StatePorts) -> SendOperatorMessage {
    SendOperatorMessage::new(
        stores.conversations.clone(),
        stores.bindings.clone(),
        stores.ledger.clone(),
        ports.publisher.clone(),
        ports.clock.clone(),
    )
}

fn proactive_ports(stores: &StateStores, ports: &StatePorts) -> ProactivePorts {
    ProactivePorts {
        bots: stores.bots.clone(),
        bindings: stores.bindings.clone(),
        messages: stores.messages.clone(),
        ledger: stores.ledger.clone(),
        events: ports.publisher.clone(),
        clock: ports.clock.clone(),
    }
}

/// The web chat's socket and REST channel; their messages go in through `receive`.
fn web_chat_use_case(
    stores: &StateStores,
    ports: &StatePorts,
    receive: Arc<ReceiveWebhook>,
    tokens: VisitorTokens,
    settings: WebChatSettings,
) -> WebChat {
    let web_chat_ports = WebChatPorts {
        bindings: stores.bindings.clone(),
        conversations: stores.conversations.clone(),
        messages: stores.messages.clone(),
        events: ports.subscriber.clone(),
        timer: ports.timer.clone(),
        limiter: ports.limiter.clone(),
        uploads: stores.uploads.clone(),
        clock: ports.clock.clone(),
    };
    WebChat::new(web_chat_ports, receive, tokens, settings)
}
