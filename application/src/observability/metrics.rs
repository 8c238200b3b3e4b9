//! The metrics catalogue: every name Switchboard records, its bounded labels, and the one function per fact that records it.
//!
//! Recording goes through the `metrics` facade, as logging goes through `tracing`: without an
//! installed recorder (unit tests, `metrics.enabled = false`) each call is a no-op. Labels take
//! values from closed sets (the enums here, platform names, job kinds, configured model names),
//! never ids, user text or keys.

use crate::ports::PoolFigures;
use domain::{PlatformKind, Scope, TokenUsage};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use std::time::Duration;

pub const HTTP_DURATION: &str = "http_server_request_duration_seconds";
pub const HTTP_ACTIVE: &str = "http_server_active_requests";
pub const REFUSALS: &str = "switchboard_http_refusals_total";
pub const WEBHOOKS: &str = "switchboard_webhooks_total";
pub const JOBS: &str = "switchboard_jobs";
pub const JOB_OLDEST_AGE: &str = "switchboard_job_oldest_runnable_age_seconds";
pub const JOB_RUNS: &str = "switchboard_job_runs_total";
pub const JOB_DURATION: &str = "switchboard_job_run_duration_seconds";
pub const MODEL_DURATION: &str = "switchboard_model_request_duration_seconds";
pub const MODEL_TOKENS: &str = "switchboard_model_tokens_total";
pub const SEND_DURATION: &str = "switchboard_platform_send_duration_seconds";
pub const DELIVERY_REPORTS: &str = "switchboard_delivery_reports_total";
pub const BUDGET_REFUSALS: &str = "switchboard_budget_refusals_total";
pub const RATE_LIMITED: &str = "switchboard_messages_rate_limited_total";
pub const BREAKER_STATE: &str = "switchboard_breaker_state";
pub const WEB_CHAT_SOCKETS: &str = "switchboard_web_chat_sockets";
pub const EVENTS_PUBLISHED: &str = "switchboard_events_published_total";
pub const EVENTS_DROPPED: &str = "switchboard_events_dropped_total";
pub const WEBHOOK_ATTEMPTS: &str = "switchboard_webhook_attempts_total";
pub const WEBHOOK_EVENTS_DROPPED: &str = "switchboard_webhook_events_dropped_total";
pub const REDIS_UP: &str = "switchboard_redis_up";
pub const DB_POOL: &str = "switchboard_db_pool_connections";
pub const LEASES_HELD: &str = "switchboard_leases_held";
pub const BUILD_INFO: &str = "switchboard_build_info";
pub const UP: &str = "switchboard_up";

/// The job kinds the queue holds.
pub const JOB_KINDS: [&str; 4] = ["reply", "deliver", "webhook", "schedule"];
/// The states a job can be in.
pub const JOB_STATES: [&str; 4] = ["queued", "waiting", "running", "dead"];

/// Defines a label enum whose values are its `as_str` names, listed in `ALL`.
macro_rules! label_values {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
    };
}

label_values!(
    /// What became of one webhook delivery.
    WebhookOutcome {
        Stored => "stored",
        Duplicate => "duplicate",
        Ignored => "ignored",
        Refused => "refused",
        Malformed => "malformed",
        TooLarge => "too_large",
        UnknownBot => "unknown_bot",
        Busy => "busy",
        Timeout => "timeout",
        Unavailable => "unavailable",
    }
);

label_values!(
    /// How one job run ended.
    JobOutcome {
        Completed => "completed",
        Retried => "retried",
        Dead => "dead",
        LeaseLost => "lease_lost",
    }
);

label_values!(
    /// How one call to the model ended (each attempt is one call).
    ModelOutcome {
        Ok => "ok",
        RateLimited => "rate_limited",
        Error => "error",
        Timeout => "timeout",
    }
);

label_values!(
    /// How one send to a platform ended.
    SendOutcome {
        Sent => "sent",
        RateLimited => "rate_limited",
        Failed => "failed",
    }
);

label_values!(
    /// What a platform's delivery report said.
    ReportStatus {
        Delivered => "delivered",
        Read => "read",
        Failed => "failed",
    }
);

label_values!(
    /// The kinds of lease a replica holds for long-lived work.
    LeaseKind {
        Poller => "poller",
        Gateway => "gateway",
    }
);

/// Histogram bounds in seconds, from a fast local write to a slow model's answer.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Names, units and meanings, shown as `# HELP` lines.
pub fn describe() {
    describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "HTTP requests by route template, method and status class."
    );
    describe_gauge!(HTTP_ACTIVE, "HTTP requests in flight.");
    describe_counter!(REFUSALS, "Requests refused with a 4xx, by problem code.");
    describe_counter!(
        WEBHOOKS,
        "Platform webhook deliveries by platform and outcome."
    );
    describe_gauge!(
        JOBS,
        "Jobs in the queue by kind and state, read at scrape time."
    );
    describe_gauge!(
        JOB_OLDEST_AGE,
        metrics::Unit::Seconds,
        "Age of the oldest job that is due and not yet claimed, by kind."
    );
    describe_counter!(JOB_RUNS, "Job runs by kind and outcome.");
    describe_histogram!(
        JOB_DURATION,
        metrics::Unit::Seconds,
        "Job run time by kind."
    );
    describe_histogram!(
        MODEL_DURATION,
        metrics::Unit::Seconds,
        "Model calls by provider, model and outcome."
    );
    describe_counter!(
        MODEL_TOKENS,
        "Tokens the model reported, by provider, model and type."
    );
    describe_histogram!(
        SEND_DURATION,
        metrics::Unit::Seconds,
        "Sends to a platform by platform and outcome."
    );
    describe_counter!(
        DELIVERY_REPORTS,
        "Delivery reports received, by platform and status."
    );
    describe_counter!(
        BUDGET_REFUSALS,
        "Messages answered with the budget message instead of the model, by the scope whose limit was spent."
    );
    describe_counter!(
        RATE_LIMITED,
        "Users' messages stored unanswered because they came over the bot's rate limit."
    );
    describe_gauge!(
        BREAKER_STATE,
        "Each circuit breaker this replica has used: 0 closed, 1 half-open, 2 open."
    );
    describe_gauge!(WEB_CHAT_SOCKETS, "Web chat sockets open on this replica.");
    describe_counter!(EVENTS_PUBLISHED, "Domain events published by this replica.");
    describe_counter!(
        EVENTS_DROPPED,
        "Events a slow subscriber of this replica missed."
    );
    describe_counter!(
        WEBHOOK_ATTEMPTS,
        "Posts to outgoing webhooks by this replica, by outcome (delivered: a 2xx; failed)."
    );
    describe_counter!(
        WEBHOOK_EVENTS_DROPPED,
        "Events not queued for the outgoing webhooks: the store refused their deliveries twice."
    );
    describe_gauge!(
        REDIS_UP,
        "1 when Redis answered the last check, 0 when it did not."
    );
    describe_gauge!(DB_POOL, "Database pool connections by state.");
    describe_gauge!(
        LEASES_HELD,
        "Leases for long-lived work this replica holds, by kind."
    );
    describe_gauge!(BUILD_INFO, "Always 1; the labels name the build.");
    describe_gauge!(
        UP,
        "Always 1 while the process runs; the label names its role."
    );
}

/// Creates every series whose labels are known at start at zero, so that a fresh replica's
/// scrape lists them and `rate()` sees the first increment. `models` are the configured
/// `(provider, model)` pairs.
pub fn register(models: &[(&str, &str)]) {
    for platform in PlatformKind::ALL {
        let platform = platform.as_str();
        for outcome in WebhookOutcome::ALL {
            counter!(WEBHOOKS, "platform" => platform, "outcome" => outcome.as_str()).increment(0);
        }
        for outcome in SendOutcome::ALL {
            // Registered without a sample: rendered with empty buckets.
            let _ =
                histogram!(SEND_DURATION, "platform" => platform, "outcome" => outcome.as_str());
        }
        for status in ReportStatus::ALL {
            counter!(DELIVERY_REPORTS, "platform" => platform, "status" => status.as_str())
                .increment(0);
        }
    }
    for scope in [Scope::Bot, Scope::User, Scope::Conversation] {
        counter!(BUDGET_REFUSALS, "scope" => scope.as_str()).increment(0);
    }
    counter!(RATE_LIMITED).increment(0);
    for kind in JOB_KINDS {
        for outcome in JobOutcome::ALL {
            counter!(JOB_RUNS, "kind" => kind, "outcome" => outcome.as_str()).increment(0);
        }
        // Registered without a sample: rendered with empty buckets.
        let _ = histogram!(JOB_DURATION, "kind" => kind);
    }
    for &(provider, model) in models {
        for outcome in ModelOutcome::ALL {
            // Registered without a sample: rendered with empty buckets.
            let _ = histogram!(MODEL_DURATION, "provider" => provider.to_owned(), "model" => model.to_owned(), "outcome" => outcome.as_str());
        }
        for kind in ["prompt", "completion"] {
            counter!(MODEL_TOKENS, "provider" => provider.to_owned(), "model" => model.to_owned(), "type" => kind).increment(0);
        }
    }
    for kind in LeaseKind::ALL {
        gauge!(LEASES_HELD, "kind" => kind.as_str()).increment(0.0);
    }
    gauge!(WEB_CHAT_SOCKETS).increment(0.0);
    gauge!(HTTP_ACTIVE).increment(0.0);
    counter!(EVENTS_PUBLISHED).increment(0);
    counter!(EVENTS_DROPPED).increment(0);
    counter!(WEBHOOK_EVENTS_DROPPED).increment(0);
    for outcome in ["delivered", "failed"] {
        counter!(WEBHOOK_ATTEMPTS, "outcome" => outcome).increment(0);
    }
}

/// `switchboard_build_info{version, commit} 1` and `switchboard_up{role} 1`.
pub fn announce(version: &'static str, commit: &'static str, role: &'static str) {
    gauge!(BUILD_INFO, "version" => version, "commit" => commit).set(1.0);
    gauge!(UP, "role" => role).set(1.0);
}

pub fn webhook(platform: PlatformKind, outcome: WebhookOutcome) {
    counter!(WEBHOOKS, "platform" => platform.as_str(), "outcome" => outcome.as_str()).increment(1);
}

/// Creates the refusal counters of `codes` at zero (the codes live with the HTTP edge).
pub fn register_refusals(codes: &[&'static str]) {
    for &code in codes {
        counter!(REFUSALS, "code" => code).increment(0);
    }
}

pub fn refusal(code: &'static str) {
    counter!(REFUSALS, "code" => code).increment(1);
}

pub fn job_run(kind: &'static str, outcome: JobOutcome, took: Duration) {
    counter!(JOB_RUNS, "kind" => kind, "outcome" => outcome.as_str()).increment(1);
    histogram!(JOB_DURATION, "kind" => kind).record(took.as_secs_f64());
}

pub fn model_call(provider: &'static str, model: &str, outcome: ModelOutcome, took: Duration) {
    histogram!(MODEL_DURATION, "provider" => provider, "model" => model.to_owned(), "outcome" => outcome.as_str())
        .record(took.as_secs_f64());
}

pub fn model_tokens(provider: &'static str, model: &str, usage: &TokenUsage) {
    let counts = [
        ("prompt", usage.prompt_tokens),
        ("completion", usage.completion_tokens),
    ];
    for (kind, count) in counts {
        counter!(MODEL_TOKENS, "provider" => provider, "model" => model.to_owned(), "type" => kind)
            .increment(u64::from(count));
    }
}

pub fn platform_send(platform: PlatformKind, outcome: SendOutcome, took: Duration) {
    histogram!(SEND_DURATION, "platform" => platform.as_str(), "outcome" => outcome.as_str())
        .record(took.as_secs_f64());
}

pub fn delivery_report(platform: PlatformKind, status: ReportStatus) {
    counter!(DELIVERY_REPORTS, "platform" => platform.as_str(), "status" => status.as_str())
        .increment(1);
}

pub fn budget_refused(scope: Scope) {
    counter!(BUDGET_REFUSALS, "scope" => scope.as_str()).increment(1);
}

pub fn rate_limited() {
    counter!(RATE_LIMITED).increment(1);
}

pub fn breaker_state(breaker: &str, level: u8) {
    gauge!(BREAKER_STATE, "breaker" => breaker.to_owned()).set(f64::from(level));
}

pub fn jobs(kind: &'static str, state: &'static str, count: u64) {
    gauge!(JOBS, "kind" => kind, "state" => state).set(count as f64);
}

pub fn oldest_due(kind: &'static str, age_seconds: f64) {
    gauge!(JOB_OLDEST_AGE, "kind" => kind).set(age_seconds);
}

pub fn pool(figures: PoolFigures) {
    gauge!(DB_POOL, "state" => "in_use").set(f64::from(figures.in_use));
    gauge!(DB_POOL, "state" => "idle").set(f64::from(figures.idle));
}

pub fn event_published() {
    counter!(EVENTS_PUBLISHED).increment(1);
}

pub fn events_dropped(count: u64) {
    counter!(EVENTS_DROPPED).increment(count);
}

pub fn webhook_events_dropped(count: u64) {
    counter!(WEBHOOK_EVENTS_DROPPED).increment(count);
}

/// One post to an outgoing webhook, answered 2xx (`delivered`) or not.
pub fn webhook_attempt(delivered: bool) {
    let outcome = if delivered { "delivered" } else { "failed" };
    counter!(WEBHOOK_ATTEMPTS, "outcome" => outcome).increment(1);
}

pub fn redis_up(up: bool) {
    gauge!(REDIS_UP).set(if up { 1.0 } else { 0.0 });
}

/// One more (`held`) or one fewer lease of `kind` held by this replica.
pub fn lease(kind: LeaseKind, held: bool) {
    let gauge = gauge!(LEASES_HELD, "kind" => kind.as_str());
    if held {
        gauge.increment(1.0);
    } else {
        gauge.decrement(1.0);
    }
}

/// Counts one open web chat socket until dropped.
#[must_use]
pub struct OpenSocket(());

impl OpenSocket {
    pub fn open() -> Self {
        gauge!(WEB_CHAT_SOCKETS).increment(1.0);
        Self(())
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        gauge!(WEB_CHAT_SOCKETS).decrement(1.0);
    }
}
