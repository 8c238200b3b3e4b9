//! The OpenAPI 3.1 document: paths and schemas from the handlers' annotations, then the answers
//! every route shares (auth, validation, storage) added by one rule rather than by hand.

pub mod schemas;

use crate::dto::providers::{PriceBody, PricesBody};
use crate::dto::{
    ApiKeyBody, BindingBody, BotBody, ConversationBody, CreateApiKey, CreateBot, CreateProvider,
    HandOff, IssuedKeyBody, MessageBody, ProviderBody, Release, SendMessage, SummaryBody,
    UpdateBot, UpdateProvider,
};
use crate::errors::{FieldError, Problem};
use crate::routes::{
    api_keys, attachments, audit_log, bots, broadcasts, chat, conversations, erasure, health, jobs,
    metrics, outgoing_webhooks, platforms, proactive, providers, schedules, setup, status,
    webhooks,
};
use serde_json::{json, Value};
use std::sync::LazyLock;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard",
        description = "Admin API and webhooks of Switchboard, the self-hosted backend for AI chat bots. \
            Under /api/v1 every request takes `Authorization: Bearer <API key>`; each operation names \
            the least role it needs (viewer < operator < admin) as its security scope. Every error \
            is application/problem+json with a `code` and a `request_id`."
    ),
    paths(
        health::live,
        health::ready,
        metrics::scrape,
        webhooks::receive,
        webhooks::subscribe,
        bots::create,
        bots::list,
        bots::get,
        bots::update,
        bots::delete,
        bots::pause,
        bots::resume,
        bots::summary,
        bots::usage,
        providers::create,
        providers::list,
        providers::get,
        providers::update,
        providers::delete,
        outgoing_webhooks::create,
        outgoing_webhooks::list,
        outgoing_webhooks::get,
        outgoing_webhooks::update,
        outgoing_webhooks::delete,
        outgoing_webhooks::deliveries,
        outgoing_webhooks::retry,
        status::status,
        jobs::list,
        jobs::retry,
        jobs::discard,
        schedules::list_schedules,
        audit_log::list_audit,
        chat::chat,
        platforms::bind,
        platforms::list,
        platforms::unbind,
        conversations::list,
        conversations::get,
        conversations::end,
        conversations::hand_off,
        conversations::release,
        conversations::messages,
        conversations::send,
        conversations::message,
        proactive::start,
        broadcasts::start_broadcast,
        broadcasts::read_broadcast,
        broadcasts::cancel_broadcast,
        erasure::erase_user,
        api_keys::create,
        api_keys::list,
        api_keys::revoke,
        api_keys::me,
        setup::setup,
        attachments::attachment,
    ),
    components(schemas(
        Problem,
        FieldError,
        BotBody,
        CreateBot,
        UpdateBot,
        ProviderBody,
        CreateProvider,
        UpdateProvider,
        PricesBody,
        PriceBody,
        SummaryBody,
        crate::dto::UsageSeriesBody,
        crate::dto::UsageBody,
        BindingBody,
        ConversationBody,
        MessageBody,
        SendMessage,
        crate::dto::StartMessage,
        crate::dto::StartBroadcast,
        crate::dto::BroadcastBody,
        crate::dto::audit::AuditBody,
        crate::routes::erasure::ErasedBody,
        crate::dto::jobs::JobBody,
        crate::dto::CreateWebhook,
        crate::dto::UpdateWebhook,
        crate::dto::WebhookBody,
        crate::dto::DeliveryBody,
        crate::dto::AttemptBody,
        crate::routes::schedules::ScheduleBody,
        crate::dto::proactive::TemplateBody,
        crate::dto::proactive::ComponentBody,
        crate::dto::proactive::ComponentKind,
        crate::dto::proactive::ButtonKind,
        crate::dto::proactive::ParameterBody,
        crate::dto::tools::McpServerBody,
        crate::dto::tools::McpServerShown,
        crate::dto::tools::ToolUseBody,
        crate::dto::attachments::AttachmentBody,
        HandOff,
        Release,
        crate::routes::setup::SetupRequest,
        ApiKeyBody,
        CreateApiKey,
        IssuedKeyBody,
        crate::dto::CallerBody,
        crate::dto::platforms::TelegramBody,
        crate::dto::platforms::DiscordBody,
        crate::dto::platforms::MessengerBody,
        crate::dto::platforms::WhatsappBody,
        crate::dto::platforms::WebChatBody,
        crate::dto::chat::ChatRequest,
        crate::dto::chat::ChatReply,
        crate::dto::chat::ChatPending,
    )),
    tags(
        (name = "bots", description = "Assistants: prompt, model, pause and resume, activity."),
        (name = "providers", description = "Model APIs bots may ask instead of the server's `ai.*`; keys are taken, never shown."),
        (name = "platforms", description = "A bot's bindings to messaging platforms."),
        (name = "conversations", description = "Chats and their messages; operators may write and end them."),
        (name = "api-keys", description = "Keys of the admin API (admin only)."),
        (name = "webhooks", description = "Where platforms deliver updates."),
        (name = "outgoing-webhooks", description = "Events posted to operators' URLs, signed as Standard Webhooks says: the subscriptions (admin) and their deliveries (operator)."),
        (name = "health", description = "Probes for orchestrators."),
        (name = "operations", description = "Circuit breakers and the job queue, for riding out outages: the status (admin), the jobs and their dead letters, the schedules (operator)."),
    )
)]
struct ApiDoc;

/// The served document, built once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    apply_conventions(&mut doc);
    doc.to_string()
});

/// The OpenAPI document, serialized once.
pub fn document() -> &'static str {
    &DOCUMENT
}

/// Adds what every operation shares: the bearer scheme, and the problem answers its shape implies.
fn apply_conventions(doc: &mut Value) {
    doc["components"]["securitySchemes"]["api_key"] = json!({
        "type": "http",
        "scheme": "bearer",
        "description": "An API key, `sb_…`, or the configured bootstrap key."
    });
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(methods) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in methods.iter_mut() {
            qualify_operation_id(operation);
            shared_answers(path, method, operation);
        }
    }
}

/// The problems an operation can answer besides its own: each rule follows from its shape.
fn shared_answers(path: &str, method: &str, operation: &mut Value) {
    let admin_api = path.starts_with("/api/v1/");
    let role = required_role(operation);
    let has_body = operation.get("requestBody").is_some();
    let has_query = parameters_in(operation, "query");
    let mut answers: Vec<(&str, &str)> = vec![(
        "500",
        "An internal error; the request id finds it in the log.",
    )];
    if !path.starts_with("/health/") {
        answers.push(("503", "Storage is unavailable; retry later."));
    }
    if admin_api {
        answers.push((
            "401",
            "The API key is missing, unknown, revoked or expired.",
        ));
        if role.as_deref() != Some("viewer") {
            answers.push((
                "403",
                "The key's role is below the one this operation needs.",
            ));
        }
    }
    if path.contains('{') {
        answers.push(("404", "No such resource."));
    }
    if has_body {
        answers.push(("400", "Malformed JSON, a wrong type or an unknown field."));
        answers.push((
            "408",
            "The body did not arrive within `server.body_read_timeout_ms`.",
        ));
        answers.push(("413", "The body is larger than the limit."));
        answers.push(("415", "The body is not application/json."));
        answers.push(("422", "Invalid fields, each named in `errors`."));
    }
    if has_query {
        answers.push(("400", "A query parameter does not parse."));
        answers.push(("422", "Query parameters that contradict each other."));
    }
    if admin_api && method == "post" {
        add_idempotency_key(operation);
        answers.push(("400", "A malformed Idempotency-Key."));
        answers.push((
            "409",
            "A request with this Idempotency-Key is still running, or its answer was not kept.",
        ));
        answers.push((
            "422",
            "This Idempotency-Key was used for a different request.",
        ));
    }
    for (status, description) in answers {
        add_problem(operation, status, description);
    }
}

/// `create` becomes `bots_create`: handler names repeat across modules, operation ids must not.
fn qualify_operation_id(operation: &mut Value) {
    let tag = operation["tags"][0]
        .as_str()
        .unwrap_or("other")
        .replace('-', "_");
    if let Some(id) = operation["operationId"].as_str() {
        operation["operationId"] = Value::from(format!("{tag}_{id}"));
    }
}

/// The least role named by the operation's `api_key` security scope.
fn required_role(operation: &Value) -> Option<String> {
    operation["security"]
        .as_array()?
        .iter()
        .find_map(|requirement| requirement["api_key"].get(0)?.as_str().map(str::to_owned))
}

fn parameters_in(operation: &Value, place: &str) -> bool {
    operation["parameters"]
        .as_array()
        .is_some_and(|params| params.iter().any(|p| p["in"] == place))
}

/// Documents a problem answer unless the operation already documents that status.
fn add_problem(operation: &mut Value, status: &str, description: &str) {
    let Some(responses) = operation["responses"].as_object_mut() else {
        return;
    };
    responses.entry(status).or_insert_with(|| {
        json!({
            "description": description,
            "content": {
                "application/problem+json": {
                    "schema": { "$ref": "#/components/schemas/Problem" }
                }
            }
        })
    });
}

fn add_idempotency_key(operation: &mut Value) {
    let parameter = json!({
        "name": "Idempotency-Key",
        "in": "header",
        "required": false,
        "description": "1-255 visible ASCII characters: a retry with the same key and request gets the first answer again (kept 24 h).",
        "schema": { "type": "string", "minLength": 1, "maxLength": 255 }
    });
    match operation["parameters"].as_array_mut() {
        Some(params) => params.push(parameter),
        None => operation["parameters"] = Value::Array(vec![parameter]),
    }
}
