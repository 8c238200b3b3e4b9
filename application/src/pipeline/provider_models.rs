//! The model a reply asks: the configured default (`ai.*`), or the bot's provider's client —
//! built once per revision of the provider and re-read at most every few seconds, so that an
//! edit made on any replica applies soon without a read per reply.

use crate::ports::{ChatRequest, Completion, LanguageModel, ModelError, ModelFactory};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::repositories::ProviderRepository;
use domain::ProviderId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a provider's client is used before its row is read again.
pub const RECHECK_AFTER: Duration = Duration::from_secs(10);

/// One provider's client, and the revision it was built from.
#[derive(Clone)]
struct Built {
    model: Arc<dyn LanguageModel>,
    updated_at: DateTime<Utc>,
    checked: Instant,
}

pub struct ProviderModels {
    default: Arc<dyn LanguageModel>,
    providers: Arc<dyn ProviderRepository>,
    factory: Arc<dyn ModelFactory>,
    built: Mutex<HashMap<ProviderId, Built>>,
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
    async fn model(&self, id: ProviderId) -> Result<Arc<dyn LanguageModel>, ModelError> {
        let cached = self.cached(id);
        if let Some(built) = cached
            .as_ref()
            .filter(|b| b.checked.elapsed() < RECHECK_AFTER)
        {
            return Ok(built.model.clone());
        }
        let provider = self
            .providers
            .get(id)
            .await
            .map_err(|e| ModelError::Unavailable(format!("cannot read provider {id}: {e}")))?
            .ok_or_else(|| ModelError::Rejected(format!("provider {id} no longer exists")))?;
        let model = match cached.filter(|b| b.updated_at == provider.updated_at) {
            Some(built) => built.model,
            None => self.factory.model_for(&provider)?,
        };
        self.keep(id, &model, provider.updated_at);
        Ok(model)
    }

    fn cached(&self, id: ProviderId) -> Option<Built> {
        self.lock().get(&id).cloned()
    }

    fn keep(&self, id: ProviderId, model: &Arc<dyn LanguageModel>, updated_at: DateTime<Utc>) {
        let built = Built {
            model: model.clone(),
            updated_at,
            checked: Instant::now(),
        };
        self.lock().insert(id, built);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ProviderId, Built>> {
        self.built
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl LanguageModel for ProviderModels {
    async fn complete(&self, request: &ChatRequest) -> Result<Completion, ModelError> {
        let model = match request.provider_id {
            None => self.default.clone(),
            Some(id) => self.model(id).await?,
        };
        model.complete(request).await
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
        ChatRequest {
            provider_id,
            model: None,
            temperature: None,
            system_prompt: String::new(),
            turns: Vec::new(),
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
