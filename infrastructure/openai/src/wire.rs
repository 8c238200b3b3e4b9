//! Translation between the port's chat request/answer and async-openai's wire types.

use application::ports::{
    ChatRequest, ChatTurn, Completion, Flags, Image, ModelError, TokenUsage, ToolCall, ToolSpec,
    ToolStep, TurnRole,
};
use async_openai::types::{
    ChatCompletionMessageToolCall, ChatCompletionRequestAssistantMessage,
    ChatCompletionRequestMessage, ChatCompletionRequestMessageContentPartImage,
    ChatCompletionRequestMessageContentPartText, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestToolMessage, ChatCompletionRequestToolMessageContent,
    ChatCompletionRequestUserMessage, ChatCompletionRequestUserMessageContent,
    ChatCompletionRequestUserMessageContentPart, ChatCompletionTool,
    ChatCompletionToolChoiceOption, ChatCompletionToolType, CompletionUsage,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs, CreateChatCompletionResponse,
    FunctionCall, FunctionObject, ImageDetail, ImageUrl,
};
use base64::Engine as _;
use serde_json::Value;

/// The longest excerpt of an error body carried into a `ModelError`.
const EXCERPT_LEN: usize = 300;

/// The chat-completions request: the system prompt first (when not blank), then the turns,
/// then the tool calls made so far with their results; the tools offered, if any.
pub(crate) fn completion_request(
    request: &ChatRequest,
    default_model: &str,
) -> Result<CreateChatCompletionRequest, ModelError> {
    let model = request.model.as_deref().unwrap_or(default_model);
    let mut args = CreateChatCompletionRequestArgs::default();
    args.model(model).messages(messages(request));
    if let Some(temperature) = request.temperature {
        args.temperature(temperature);
    }
    if !request.tools.is_empty() {
        args.tools(request.tools.iter().map(tool).collect::<Vec<_>>());
        if request.tools_closed {
            args.tool_choice(ChatCompletionToolChoiceOption::None);
        }
    }
    args.build()
        .map_err(|e| ModelError::Rejected(format!("cannot build the request: {e}")))
}

fn messages(request: &ChatRequest) -> Vec<ChatCompletionRequestMessage> {
    let system = (!request.system_prompt.trim().is_empty())
        .then(|| ChatCompletionRequestSystemMessage::from(request.system_prompt.as_str()).into());
    let mut messages: Vec<ChatCompletionRequestMessage> = system
        .into_iter()
        .chain(request.turns.iter().map(turn_message))
        .collect();
    if let (Some(last), false) = (request.turns.last(), request.images.is_empty()) {
        let shown = with_images(&last.content, &request.images);
        messages.pop();
        messages.push(shown);
    }
    messages.extend(request.tool_steps.iter().flat_map(step_messages));
    messages
}

/// The user's last turn as content parts: its text (when there is any), then each image as a
/// `data:` URL.
fn with_images(text: &str, images: &[Image]) -> ChatCompletionRequestMessage {
    let text = (!text.trim().is_empty()).then(|| {
        ChatCompletionRequestUserMessageContentPart::Text(
            ChatCompletionRequestMessageContentPartText {
                text: text.to_owned(),
            },
        )
    });
    let pictures = images.iter().map(|image| {
        let data = base64::engine::general_purpose::STANDARD.encode(&image.bytes);
        ChatCompletionRequestUserMessageContentPart::ImageUrl(
            ChatCompletionRequestMessageContentPartImage {
                image_url: ImageUrl {
                    url: format!("data:{};base64,{data}", image.media_type),
                    // async-openai writes an absent detail as `null`, which a strict server may
                    // refuse; `auto` is OpenAI's own default.
                    detail: Some(ImageDetail::Auto),
                },
            },
        )
    });
    let parts = text.into_iter().chain(pictures).collect();
    ChatCompletionRequestUserMessage {
        content: ChatCompletionRequestUserMessageContent::Array(parts),
        name: None,
    }
    .into()
}

fn tool(spec: &ToolSpec) -> ChatCompletionTool {
    ChatCompletionTool {
        r#type: ChatCompletionToolType::Function,
        function: FunctionObject {
            name: spec.name.clone(),
            description: Some(spec.description.clone()).filter(|d| !d.is_empty()),
            parameters: serde_json::from_str(&spec.parameters).ok(),
            strict: None,
        },
    }
}

/// The model's answer that asked for the step's calls, then each call's result.
fn step_messages(step: &ToolStep) -> Vec<ChatCompletionRequestMessage> {
    let calls = step.calls.iter().map(|call| ChatCompletionMessageToolCall {
        id: call.id.clone(),
        r#type: ChatCompletionToolType::Function,
        function: FunctionCall {
            name: call.name.clone(),
            arguments: call.arguments.clone(),
        },
    });
    let asked = ChatCompletionRequestAssistantMessage {
        tool_calls: Some(calls.collect()),
        ..Default::default()
    };
    let results = step.calls.iter().zip(&step.results).map(|(call, result)| {
        ChatCompletionRequestToolMessage {
            content: ChatCompletionRequestToolMessageContent::Text(result.clone()),
            tool_call_id: call.id.clone(),
        }
        .into()
    });
    std::iter::once(asked.into()).chain(results).collect()
}

fn turn_message(turn: &ChatTurn) -> ChatCompletionRequestMessage {
    let content = turn.content.as_str();
    match turn.role {
        TurnRole::User => ChatCompletionRequestUserMessage::from(content).into(),
        TurnRole::Assistant => ChatCompletionRequestAssistantMessage::from(content).into(),
    }
}

/// The categories a moderation response flags (`{"results": [{"flagged", "categories":
/// {"violence": true, …}}]}`): those set in a flagged result, or `flagged` itself when a
/// provider names none.
pub(crate) fn flags_from(body: &str) -> Result<Flags, ModelError> {
    let response: Value = serde_json::from_str(body)
        .map_err(|e| ModelError::Rejected(format!("unreadable moderation: {e}")))?;
    let results = response["results"]
        .as_array()
        .ok_or_else(|| ModelError::Rejected("the moderation has no results".to_owned()))?;
    let mut flags: Vec<String> = Vec::new();
    for result in results.iter().filter(|r| r["flagged"] == Value::Bool(true)) {
        let named = result["categories"].as_object().into_iter().flatten();
        let set = named.filter(|(_, on)| **on == Value::Bool(true));
        let categories: Vec<String> = set.map(|(name, _)| name.clone()).collect();
        if categories.is_empty() {
            flags.push("flagged".to_owned());
        }
        flags.extend(categories);
    }
    flags.sort();
    flags.dedup();
    Ok(Flags(flags))
}

/// The first choice's text from a successful response body, with the response's `usage` when
/// it has one; anything unusable is `Rejected`.
pub(crate) fn answer_from(body: &str) -> Result<Completion, ModelError> {
    let response: CreateChatCompletionResponse = serde_json::from_str(body)
        .map_err(|e| ModelError::Rejected(format!("unreadable completion: {e}")))?;
    let usage = response.usage.map(token_usage);
    let message = response
        .choices
        .into_iter()
        .next()
        .map(|choice| choice.message)
        .ok_or_else(|| ModelError::Rejected("the completion has no choices".to_owned()))?;
    let tool_calls: Vec<ToolCall> = (message.tool_calls.into_iter().flatten())
        .map(|call| ToolCall {
            id: call.id,
            name: call.function.name,
            arguments: call.function.arguments,
        })
        .collect();
    match message.content {
        text if !tool_calls.is_empty() => Ok(Completion {
            text: text.unwrap_or_default(),
            usage,
            tool_calls,
            ..Default::default()
        }),
        Some(text) if !text.trim().is_empty() => Ok(Completion {
            text,
            usage,
            cost: None,
            ..Default::default()
        }),
        _ => Err(ModelError::Rejected(match message.refusal {
            Some(refusal) => format!("the model refused: {}", excerpt(&refusal)),
            None => "the completion has no content".to_owned(),
        })),
    }
}

fn token_usage(usage: CompletionUsage) -> TokenUsage {
    TokenUsage {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
    }
}

/// A short description of an error response: the API's `error.message` when present,
/// otherwise the start of the body.
pub(crate) fn error_summary(status: u16, body: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.to_owned());
    format!("HTTP {status}: {}", excerpt(&message))
}

fn excerpt(text: &str) -> &str {
    match text.char_indices().nth(EXCERPT_LEN) {
        Some((index, _)) => &text[..index],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(model: Option<&str>, prompt: &str) -> ChatRequest {
        ChatRequest {
            provider_id: None,
            model: model.map(str::to_owned),
            temperature: Some(0.5),
            system_prompt: prompt.to_owned(),
            turns: vec![
                ChatTurn {
                    role: TurnRole::User,
                    content: "hi".into(),
                },
                ChatTurn {
                    role: TurnRole::Assistant,
                    content: "hello".into(),
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn request_puts_the_system_prompt_first_and_uses_the_default_model() {
        let built = completion_request(&request(None, "be brief"), "gpt-x").unwrap();
        let value = serde_json::to_value(built).unwrap();
        assert_eq!(value["model"], "gpt-x");
        assert_eq!(value["temperature"], 0.5);
        let roles: Vec<_> = value["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(roles, ["system", "user", "assistant"]);
        assert_eq!(value["messages"][0]["content"], "be brief");
    }

    #[test]
    fn a_blank_prompt_is_left_out_and_an_explicit_model_wins() {
        let built = completion_request(&request(Some("m2"), "  "), "gpt-x").unwrap();
        assert_eq!(built.model, "m2");
        assert_eq!(built.messages.len(), 2);
    }

    fn response(message: serde_json::Value) -> String {
        json!({
            "id": "c1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]
        })
        .to_string()
    }

    #[test]
    fn answer_is_the_first_choice_content_without_usage_when_none_is_sent() {
        let body = response(json!({"role": "assistant", "content": "hey"}));
        assert_eq!(answer_from(&body).unwrap(), Completion::text("hey"));
    }

    #[test]
    fn unusable_answers_are_rejected() {
        for body in [
            response(json!({"role": "assistant", "content": null})),
            response(json!({"role": "assistant", "content": "  "})),
            response(json!({"role": "assistant", "content": null, "refusal": "no"})),
            json!({"id": "c", "object": "o", "created": 1, "model": "m", "choices": []})
                .to_string(),
            "not json".to_owned(),
        ] {
            assert!(matches!(answer_from(&body), Err(ModelError::Rejected(_))));
        }
    }

    #[test]
    fn tools_are_offered_and_the_calls_so_far_follow_the_turns_with_their_results() {
        let mut asked = request(None, "");
        asked.tools = vec![ToolSpec {
            name: "lookup".into(),
            description: "finds things".into(),
            parameters: r#"{"type":"object","properties":{"q":{"type":"string"}}}"#.into(),
        }];
        asked.tool_steps = vec![ToolStep {
            calls: vec![ToolCall {
                id: "call_1".into(),
                name: "lookup".into(),
                arguments: r#"{"q":"x"}"#.into(),
            }],
            results: vec!["found".into()],
        }];
        let value = serde_json::to_value(completion_request(&asked, "m").unwrap()).unwrap();
        assert_eq!(value["tools"][0]["type"], "function");
        assert_eq!(value["tools"][0]["function"]["name"], "lookup");
        assert_eq!(
            value["tools"][0]["function"]["parameters"]["properties"]["q"]["type"],
            "string"
        );
        assert_eq!(value.get("tool_choice"), None);
        let messages = value["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[2]["role"], "assistant");
        assert_eq!(messages[2]["tool_calls"][0]["id"], "call_1");
        assert_eq!(
            messages[2]["tool_calls"][0]["function"]["arguments"],
            r#"{"q":"x"}"#
        );
        assert_eq!(
            (
                &messages[3]["role"],
                &messages[3]["tool_call_id"],
                &messages[3]["content"]
            ),
            (&json!("tool"), &json!("call_1"), &json!("found"))
        );

        asked.tools_closed = true;
        let value = serde_json::to_value(completion_request(&asked, "m").unwrap()).unwrap();
        assert_eq!(
            value["tool_choice"], "none",
            "the steps are spent: answer now"
        );
        let plain = serde_json::to_value(completion_request(&request(None, ""), "m").unwrap());
        assert_eq!(plain.unwrap().get("tools"), None);
    }

    #[test]
    fn a_photo_goes_with_the_last_turn_as_a_data_url_after_its_caption() {
        let mut asked = request(None, "");
        asked.turns.push(ChatTurn {
            role: TurnRole::User,
            content: "[photo] what is this?".into(),
        });
        asked.images = vec![Image {
            media_type: "image/png",
            bytes: b"\x89PNG".to_vec(),
        }];
        let value = serde_json::to_value(completion_request(&asked, "m").unwrap()).unwrap();
        let messages = value["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3, "{value}");
        assert_eq!(messages[1]["content"], "hello", "earlier turns stay text");
        assert_eq!(
            messages[2]["content"],
            json!([
                {"type": "text", "text": "[photo] what is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw==", "detail": "auto"}}
            ])
        );
    }

    #[test]
    fn an_answer_asking_for_tools_carries_the_calls() {
        let body = response(json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_9", "type": "function",
             "function": {"name": "lookup", "arguments": "{\"q\":\"y\"}"}}
        ]}));
        let answer = answer_from(&body).unwrap();
        assert_eq!(answer.text, "");
        assert_eq!(
            answer.tool_calls,
            [ToolCall {
                id: "call_9".into(),
                name: "lookup".into(),
                arguments: r#"{"q":"y"}"#.into()
            }]
        );
    }

    #[test]
    fn error_summary_prefers_the_api_message() {
        let body = json!({"error": {"message": "bad model", "type": "invalid"}}).to_string();
        assert_eq!(error_summary(400, &body), "HTTP 400: bad model");
        assert_eq!(error_summary(502, "<html>"), "HTTP 502: <html>");
        assert_eq!(
            error_summary(500, &"x".repeat(1000)).len(),
            10 + EXCERPT_LEN
        );
    }
}
