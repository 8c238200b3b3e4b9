//! Moderation around the model call: a bot's blocked terms, then the provider's `/moderations` when the bot asks for it, an outage following the bot's `on_error`.

use crate::ports::{Flags, LanguageModel, ModerationRequest};
use domain::moderation::OnError;
use domain::Bot;

/// The category recorded when moderation could not answer and the bot refuses then.
pub const UNAVAILABLE: &str = "moderation_unavailable";

/// The categories that flag `text` for `bot`: its blocked terms first (no provider needed),
/// then the provider's moderation when `asked`; `None` when the text may go on.
pub async fn flags(
    model: &dyn LanguageModel,
    bot: &Bot,
    text: &str,
    asked: bool,
) -> Option<Vec<String>> {
    let guardrails = &bot.guardrails;
    if let Some(flags) = guardrails.blocked_terms.flag(text) {
        return Some(flags);
    }
    if !asked {
        return None;
    }
    let request = ModerationRequest {
        provider_id: bot.provider_id,
        text: text.to_owned(),
    };
    match model.moderate(&request).await {
        Ok(Flags(categories)) => (!categories.is_empty()).then_some(categories),
        Err(error) => {
            let on_error = guardrails.moderation.on_error;
            tracing::warn!(%error, ?on_error, "moderation did not answer");
            (on_error == OnError::Refuse).then(|| vec![UNAVAILABLE.to_owned()])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::World;
    use crate::ports::{MockLanguageModel, ModelError};
    use domain::moderation::BlockedTerms;

    fn bot(on_error: OnError, terms: &[&str]) -> Bot {
        let mut bot = World::new().bot;
        bot.guardrails.moderation.on_error = on_error;
        let terms: Vec<String> = terms.iter().map(|t| t.to_string()).collect();
        bot.guardrails.blocked_terms = BlockedTerms::parse(&terms).unwrap();
        bot
    }

    fn moderating(answer: fn() -> Result<Flags, ModelError>) -> MockLanguageModel {
        let mut model = MockLanguageModel::new();
        model.expect_moderate().returning(move |_| answer());
        model
    }

    #[tokio::test]
    async fn a_blocked_term_flags_without_asking_the_provider() {
        let model = MockLanguageModel::new();
        let bot = bot(OnError::Allow, &["casino"]);
        let flags = super::flags(&model, &bot, "best CASINO?", true).await;
        assert_eq!(flags, Some(vec!["blocked_term".to_owned()]));
        assert_eq!(super::flags(&model, &bot, "hello", false).await, None);
    }

    #[tokio::test]
    async fn the_providers_categories_flag_and_an_outage_follows_on_error() {
        let flagged = moderating(|| Ok(Flags(vec!["violence".into()])));
        let allow = bot(OnError::Allow, &[]);
        let flags = super::flags(&flagged, &allow, "text", true).await;
        assert_eq!(flags, Some(vec!["violence".to_owned()]));
        let passed = moderating(|| Ok(Flags::default()));
        assert_eq!(super::flags(&passed, &allow, "text", true).await, None);

        let down = moderating(|| Err(ModelError::Unavailable("503".into())));
        assert_eq!(super::flags(&down, &allow, "text", true).await, None);
        let refuse = bot(OnError::Refuse, &[]);
        let flags = super::flags(&down, &refuse, "text", true).await;
        assert_eq!(flags, Some(vec![UNAVAILABLE.to_owned()]));
    }
}
