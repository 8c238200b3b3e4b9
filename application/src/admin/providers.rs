//! Use cases: the model providers operators add, revise and remove (their keys are never shown).

use crate::ports::Clock;
use domain::repositories::{ProviderRemoval, ProviderRepository};
use domain::{Page, PageRequest, Provider, ProviderDraft, ProviderId, RepoError, ValidationError};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProviderError {
    #[error("provider {0} not found")]
    NotFound(ProviderId),
    #[error("provider {0} is used by a bot: point the bot elsewhere first")]
    InUse(ProviderId),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Storage(#[from] RepoError),
}

pub struct ProviderAdmin {
    providers: Arc<dyn ProviderRepository>,
    clock: Arc<dyn Clock>,
}

impl ProviderAdmin {
    pub fn new(providers: Arc<dyn ProviderRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { providers, clock }
    }

    #[tracing::instrument(skip_all)]
    pub async fn create(&self, draft: ProviderDraft) -> Result<Provider, ProviderError> {
        let provider = Provider::create(draft, self.clock.now());
        self.providers.insert(&provider).await?;
        tracing::info!(provider_id = %provider.id, kind = provider.kind.as_str(), "provider created");
        Ok(provider)
    }

    pub async fn get(&self, id: ProviderId) -> Result<Provider, ProviderError> {
        self.providers
            .get(id)
            .await?
            .ok_or(ProviderError::NotFound(id))
    }

    pub async fn list(&self, page: &PageRequest) -> Result<Page<Provider>, RepoError> {
        self.providers.list(page).await
    }

    /// Applies `revise` to the stored provider's draft and saves the result, unless `revise`
    /// finds it invalid.
    #[tracing::instrument(skip_all, fields(provider_id = %id))]
    pub async fn update(
        &self,
        id: ProviderId,
        revise: impl FnOnce(ProviderDraft) -> Result<ProviderDraft, ValidationError> + Send,
    ) -> Result<Provider, ProviderError> {
        let mut provider = self.get(id).await?;
        provider.revise(revise(provider.draft())?, self.clock.now());
        if !self.providers.update(&provider).await? {
            return Err(ProviderError::NotFound(id));
        }
        Ok(provider)
    }

    /// Deletes the provider, unless a bot names it (409).
    #[tracing::instrument(skip_all, fields(provider_id = %id))]
    pub async fn delete(&self, id: ProviderId) -> Result<(), ProviderError> {
        match self.providers.delete(id).await? {
            ProviderRemoval::Deleted => {
                tracing::info!("provider deleted");
                Ok(())
            }
            ProviderRemoval::Missing => Err(ProviderError::NotFound(id)),
            ProviderRemoval::InUse => Err(ProviderError::InUse(id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockClock;
    use domain::repositories::MockProviderRepository;
    use domain::{BaseUrl, ProviderKind, ProviderName, Secret};

    fn draft() -> ProviderDraft {
        ProviderDraft {
            name: ProviderName::parse("Local").unwrap(),
            kind: ProviderKind::OpenaiCompatible,
            base_url: BaseUrl::parse("http://127.0.0.1:11434/v1").unwrap(),
            api_key: Secret::new("k"),
            models: Vec::new(),
            prices: None,
        }
    }

    fn admin(providers: MockProviderRepository) -> ProviderAdmin {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(crate::fixtures::now());
        ProviderAdmin::new(Arc::new(providers), Arc::new(clock))
    }

    #[tokio::test]
    async fn deleting_a_provider_a_bot_uses_is_refused_and_a_missing_one_is_not_found() {
        let mut providers = MockProviderRepository::new();
        providers
            .expect_delete()
            .times(1)
            .returning(|_| Ok(ProviderRemoval::InUse));
        providers
            .expect_delete()
            .times(1)
            .returning(|_| Ok(ProviderRemoval::Missing));
        let admin = admin(providers);
        let id = ProviderId::new();
        assert!(matches!(admin.delete(id).await, Err(ProviderError::InUse(i)) if i == id));
        assert!(matches!(
            admin.delete(id).await,
            Err(ProviderError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn a_revision_keeps_the_identity_and_saves_the_new_fields() {
        let stored = Provider::create(draft(), crate::fixtures::now());
        let id = stored.id;
        let mut providers = MockProviderRepository::new();
        providers
            .expect_get()
            .returning(move |_| Ok(Some(stored.clone())));
        providers
            .expect_update()
            .withf(|p| p.name.as_str() == "Renamed" && p.api_key.expose() == "k")
            .returning(|_| Ok(true));
        let revised = admin(providers)
            .update(id, |draft| {
                Ok(ProviderDraft {
                    name: ProviderName::parse("Renamed")?,
                    ..draft
                })
            })
            .await
            .unwrap();
        assert_eq!((revised.id, revised.name.as_str()), (id, "Renamed"));
    }
}
