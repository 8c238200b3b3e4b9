//! The ports the use cases need; adapters in `infrastructure/*` implement them.

pub mod audit;
pub mod broadcasts;
pub mod channel;
pub mod clock;
pub mod dead_letters;
pub mod erasure;
pub mod events;
pub mod gateway;
pub mod gauges;
pub mod health;
pub mod idempotency;
pub mod leases;
pub mod ledger;
pub mod model;
pub mod polling;
pub mod queue;
pub mod rate_limiter;
pub mod schedules;
pub mod spawner;
pub mod timer;
pub mod tools;
pub mod trace;
pub mod uploads;
pub mod wakeups;
pub mod webhooks;

pub use audit::{AuditEntry, AuditFilter, AuditLog};
pub use broadcasts::{Broadcasts, Delivery};
pub use channel::{
    no_templates, Channel, Channels, Inbound, InboundMessage, InboundRequest, ParseError,
    Recipient, SendError, VerifyError,
};
pub use clock::{Clock, SystemClock};
pub use dead_letters::{DeadJob, DeadLetters, JobFilter, JobRecord, JobState};
pub use erasure::{Erased, Erasure};
pub use events::{EventLog, EventPublisher, EventRelay, EventScope, EventSubscriber, Followed};
pub use gateway::{Gateway, GatewayConnection};
pub use gauges::{Exposition, JobCount, PoolFigures, StoreGauges, StoreReading};
pub use health::HealthCheck;
pub use idempotency::{
    Claim, ClaimTimes, ClaimToken, IdempotencyStore, IdempotentRequest, StoredResponse,
};
pub use leases::Leases;
pub use ledger::{InboundRecord, Ledger, Recorded, ReplyStored};
pub use model::{
    AnswerSink, ChatRequest, ChatTurn, Completion, Flags, Image, LanguageModel, ModelError,
    ModelFactory, ModerationRequest, TokenUsage, ToolCall, ToolSpec, ToolStep, TurnRole,
};
pub use polling::{PollError, PollOffsets, UpdateBatch, UpdateSource};
pub use queue::{ClaimedJob, JobPayload, JobQueue, LeaseToken};
pub use rate_limiter::{Admission, Limit, Rate, RateLimiter};
pub use schedules::{schedule_lane, Housekeeping, ScheduleRecord, ScheduleStore};
pub use spawner::Spawner;
pub use timer::Timer;
pub use tools::{ToolError, ToolOutput, ToolServers, ToolSession};
pub use trace::{NoTrace, TraceContext};
pub use uploads::{Upload, Uploads};
pub use wakeups::Wakeups;
pub use webhooks::{
    delivery_lane, PostOutcome, Requeued, SignedPost, WebhookDeliveries, WebhookSender,
};

#[cfg(test)]
pub use {
    broadcasts::MockBroadcasts, channel::MockChannel, clock::MockClock, erasure::MockErasure,
    events::MockEventLog, events::MockEventPublisher, gateway::MockGateway,
    gateway::MockGatewayConnection, gauges::MockExposition, gauges::MockStoreGauges,
    idempotency::MockIdempotencyStore, leases::MockLeases, ledger::MockLedger,
    model::MockAnswerSink, model::MockLanguageModel, model::MockModelFactory,
    polling::MockPollOffsets, polling::MockUpdateSource, queue::MockJobQueue,
    schedules::MockHousekeeping, schedules::MockScheduleStore, timer::MockTimer,
    tools::MockToolServers, tools::MockToolSession, uploads::MockUploads, wakeups::MockWakeups,
    webhooks::MockWebhookDeliveries, webhooks::MockWebhookSender,
};
