//! The model a reply asks: the configured default (`ai.*`), or the bot's provider's client —
//! built once per revision of the provider and re-read at most every few seconds, so that an
//! edit made on any replica applies soon without a read per reply.

use crate::ports::{
    AnswerSink, ChatRequest, Completion, Flags, LanguageModel, ModelError, ModelFactory,
    ModerationRequest,
};
use async_trait::async_trait;
use domain::repositories::ProviderRepository;
use domain::{Provider, ProviderId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a provider's client is used before its row is read again.
pub const RECHECK_AFTER: Duration = Duration::from_secs(10);

/// One provider's client, the revision it was built from (its prices, and the model asked when
/// a bot names none), and when that was last checked; shared, not copied, by the replies.
struct Built {
    model: Arc<dyn LanguageModel>,
    provider: Provider,
    checked: Instant,
}

impl Built {
    /// `completion` with its cost, when the model it came from is priced.
    fn priced(&self, request: &ChatRequest, mut completion: Completion) -> Completion {
        let model = request.model.as_ref().or(self.provider.models.first());
        completion.cost = match (&self.provider.prices, model, &completion.usage) {
            (Some(prices), Some(model), Some(usage)) => prices.cost_of(model, usage),
            _ => None,
        };
        completion
    }
}

pub struct ProviderModels {
    default: Arc<dyn LanguageModel>,
    providers: Arc<dyn ProviderRepository>,
    factory: Arc<dyn ModelFactory>,
    built: Mutex<HashMap<ProviderId, Arc<Built>>>,
}

impl ProviderModels {
    pub fn new(
        default: Arc<dyn LanguageModel>,
        providers: Arc<dyn ProviderRepository>,
        factory: Arc<dyn ModelFactory>,
    ) -> Self {
        Self {
            default,
            providers,
            factory,
            built: Mutex::default(),
        }
    }

    /// The provider's client: the one built, while recent; else its row read again, and the
    /// client rebuilt if the provider was revised.
    async fn built(&self, id: ProviderId) -> Result<Arc<Built>, ModelError> {
        let cached = self.cached(id);
        if let Some(built) = cached
            .as_ref()
            .filter(|b| b.checked.elapsed() < RECHECK_AFTER)
        {
            return Ok(built.clone());
        }
        let provider = self
            .providers
            .get(id)
            .await
            .map_err(|e| ModelError::Unavailable(format!("cannot read provider {id}: {e}")))?
            .ok_or_else(|| ModelError::Rejected(format!("provider {id} no longer exists")))?;
        let model = match cached.filter(|b| b.provider.updated_at == provider.updated_at) {
            Some(built) => built.model.clone(),
            None => self.factory.model_for(&provider)?,
        };
        let built = Arc::new(Built {
            model,
            provider,
            checked: Instant::now(),
        });
        self.lock().insert(id, built.clone());
        Ok(built)
    }

    fn cached(&self, id: ProviderId) -> Option<Arc<Built>> {
        self.lock().get(&id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ProviderId, Arc<Built>>> {
        self.built
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl LanguageModel for ProviderModels {
    async fn complete(&self, request: &ChatRequest) -> Result<Completion, ModelError> {
        match request.provider_id {
            None => self.default.complete(request).await,
            Some(id) => {
                let built = self.built(id).await?;
                let completion = built.model.complete(request).await?;
                Ok(built.priced(request, completion))
            }
        }
    }

    async fn stream(
        &self,
        request: &ChatRequest,
        sink: Arc<dyn AnswerSink>,
    ) -> Result<Completion, ModelError> {
        match request.provider_id {
            None => self.default.stream(request, sink).await,
            Some(id) => {
                let built = self.built(id).await?;
                let completion = built.model.stream(request, sink).await?;
                Ok(built.priced(request, completion))
            }
        }
    }

    async fn moderate(&self, request: &ModerationRequest) -> Result<Flags, ModelError> {
        match request.provider_id {
            None => self.default.moderate(request).await,
            Some(id) => self.built(id).await?.model.moderate(request).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockLanguageModel, MockModelFactory};
    use domain::repositories::MockProviderRepository;
    use domain::{BaseUrl, Provider, ProviderDraft, ProviderKind, ProviderName, Secret};

    fn answering(text: &'static str) -> Arc<dyn LanguageModel> {
        let mut model = MockLanguageModel::new();
        model
            .expect_complete()
            .returning(move |_| Ok(Completion::text(text)));
        Arc::new(model)
    }

    fn provider() -> Provider {
        let draft = ProviderDraft {
            name: ProviderName::parse("Local").unwrap(),
            kind: ProviderKind::OpenaiCompatible,
            base_url: BaseUrl::parse("http://127.0.0.1:1/v1").unwrap(),
            api_key: Secret::new("k"),
            models: Vec::new(),
            prices: None,
        };
        Provider::create(draft, crate::fixtures::now())
    }

    fn request(provider_id: Option<ProviderId>) -> ChatRequest {
        asking(provider_id, None)
    }

    fn asking(provider_id: Option<ProviderId>, model: Option<&str>) -> ChatRequest {
        ChatRequest {
            provider_id,
            model: model.map(str::to_owned),
            temperature: None,
            system_prompt: String::new(),
            turns: Vec::new(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_bots_provider_answers_and_its_client_is_built_once() {
        let stored = provider();
        let id = stored.id;
        let mut providers = MockProviderRepository::new();
        providers
            .expect_get()
            .times(1)
            .returning(move |_| Ok(Some(stored.clone())));
        let mut factory = MockModelFactory::new();
        factory
            .expect_model_for()
            .times(1)
            .returning(|_| Ok(answering("from the provider")));
        let models = ProviderModels::new(
            answering("from the default"),
            Arc::new(providers),
            Arc::new(factory),
        );
        for _ in 0..3 {
            let answer = models.complete(&request(Some(id))).await.unwrap();
            assert_eq!(answer.text, "from the provider");
        }
        let answer = models.complete(&request(None)).await.unwrap();
        assert_eq!(answer.text, "from the default");
    }

    /// A provider offering `small` first, priced 0.5 / 1.5 EUR per million tokens, whose client
    /// answers with 1000 prompt and 200 completion tokens.
    fn priced_provider() -> ProviderModels {
        let mut stored = provider();
        stored.models = vec!["small".into(), "large".into()];
        let price = domain::ModelPrice {
            input: 0.5,
            output: 1.5,
        };
        let models = [("small".to_owned(), price)].into();
        stored.prices = Some(domain::Prices::parse("EUR", models).unwrap());
        let mut providers = MockProviderRepository::new();
        providers
            .expect_get()
            .returning(move |_| Ok(Some(stored.clone())));
        let mut factory = MockModelFactory::new();
        factory.expect_model_for().returning(|_| {
            let mut model = MockLanguageModel::new();
            model.expect_complete().returning(|_| {
                let mut answer = Completion::text("priced");
                answer.usage = Some(domain::TokenUsage {
                    prompt_tokens: 1_000,
                    completion_tokens: 200,
                });
                Ok(answer)
            });
            Ok(Arc::new(model))
        });
        let default = answering("from the default");
        ProviderModels::new(default, Arc::new(providers), Arc::new(factory))
    }

    #[tokio::test]
    async fn a_priced_model_costs_its_tokens_and_an_unpriced_one_costs_nothing_known() {
        let models = priced_provider();
        let id = ProviderId::new();
        // The bot names no model: the provider's first, `small`, is asked and priced.
        let cost = models.complete(&asking(Some(id), None)).await.unwrap().cost;
        assert_eq!(
            cost.map(|c| (c.currency, c.nanos)),
            Some(("EUR".into(), 800_000))
        );
        let named = models.complete(&asking(Some(id), Some("small"))).await;
        assert_eq!(named.unwrap().cost.map(|c| c.nanos), Some(800_000));
        let unpriced = models.complete(&asking(Some(id), Some("large"))).await;
        assert_eq!(unpriced.unwrap().cost, None);
    }

    #[tokio::test]
    async fn a_provider_that_is_gone_is_a_refusal_not_the_default() {
        let mut providers = MockProviderRepository::new();
        providers.expect_get().returning(|_| Ok(None));
        let models = ProviderModels::new(
            answering("from the default"),
            Arc::new(providers),
            Arc::new(MockModelFactory::new()),
        );
        let refused = models.complete(&request(Some(ProviderId::new()))).await;
        assert!(matches!(refused, Err(ModelError::Rejected(_))));
    }
}
