//! `EchoModel`: the provider used when no API key is configured; it echoes and says so.

use application::metrics::{self, ModelOutcome};
use application::ports::{
    ChatRequest, Completion, Flags, LanguageModel, ModelError, ModerationRequest, TurnRole,
};
use async_trait::async_trait;
use std::time::Instant;

/// The model name the echo provider's metrics carry, whatever a bot asks for.
pub const ECHO_MODEL: &str = "echo";

/// Answers with the last user turn, prefixed so nobody mistakes it for a model's answer; it
/// spends no tokens, so it reports no usage.
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoModel;

impl EchoModel {
    pub fn new() -> Self {
        Self
    }

    fn answer(request: &ChatRequest) -> String {
        let last_user_turn = request
            .turns
            .iter()
            .rev()
            .find(|turn| turn.role == TurnRole::User);
        match last_user_turn {
            Some(turn) => format!("(echo) you said: {}", turn.content),
            None => "(echo) there is nothing to echo yet".to_owned(),
        }
    }
}

#[async_trait]
impl LanguageModel for EchoModel {
    async fn complete(&self, request: &ChatRequest) -> Result<Completion, ModelError> {
        let started = Instant::now();
        let answer = Completion::text(Self::answer(request));
        metrics::model_call("echo", ECHO_MODEL, ModelOutcome::Ok, started.elapsed());
        Ok(answer)
    }

    /// Without a provider nothing is flagged (a bot's blocked terms still are).
    async fn moderate(&self, _: &ModerationRequest) -> Result<Flags, ModelError> {
        Ok(Flags::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use application::ports::ChatTurn;

    fn turn(role: TurnRole, content: &str) -> ChatTurn {
        ChatTurn {
            role,
            content: content.to_owned(),
        }
    }

    #[tokio::test]
    async fn echoes_the_last_user_turn() {
        let request = ChatRequest {
            provider_id: None,
            model: None,
            temperature: None,
            system_prompt: "ignored".into(),
            turns: vec![
                turn(TurnRole::User, "first"),
                turn(TurnRole::Assistant, "reply"),
                turn(TurnRole::User, "second"),
            ],
            ..Default::default()
        };
        let answer = EchoModel::new().complete(&request).await.unwrap();
        assert_eq!(answer.text, "(echo) you said: second");
        assert_eq!(answer.usage, None);
    }

    #[tokio::test]
    async fn says_so_when_there_is_nothing_to_echo() {
        let request = ChatRequest {
            provider_id: None,
            model: None,
            temperature: None,
            system_prompt: String::new(),
            turns: vec![turn(TurnRole::Assistant, "hi")],
            ..Default::default()
        };
        let answer = EchoModel.complete(&request).await.unwrap();
        assert!(answer.text.starts_with("(echo)"));
    }
}
