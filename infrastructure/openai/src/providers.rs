//! Clients of stored providers: a provider's kind, address and key made into the adapter, with
//! the server's own timeouts and retries.

use crate::model::OpenAiModel;
use crate::settings::{KeyHeader, OpenAiSettings};
use application::ports::{LanguageModel, ModelError, ModelFactory};
use domain::{Provider, ProviderKind};
use std::sync::Arc;

/// The Azure OpenAI API version requests name.
pub const AZURE_API_VERSION: &str = "2024-10-21";

/// Builds a provider's client from `base`, the configured adapter's settings (timeouts,
/// retries, default model).
#[derive(Debug, Clone)]
pub struct ProviderClients {
    base: OpenAiSettings,
}

impl ProviderClients {
    pub fn new(base: OpenAiSettings) -> Self {
        Self { base }
    }

    /// The settings of `provider`'s client: its address and key, sent as its kind expects; a
    /// request that names no model asks the first it lists, else the server's default.
    pub fn settings_for(&self, provider: &Provider) -> OpenAiSettings {
        let azure = provider.kind == ProviderKind::AzureOpenai;
        let query = if azure {
            vec![("api-version".to_owned(), AZURE_API_VERSION.to_owned())]
        } else {
            Vec::new()
        };
        OpenAiSettings {
            base_url: provider.base_url.as_str().to_owned(),
            api_key: Some(provider.api_key.clone()),
            key_header: if azure {
                KeyHeader::AzureApiKey
            } else {
                KeyHeader::Bearer
            },
            query,
            default_model: (provider.models.first().cloned())
                .unwrap_or_else(|| self.base.default_model.clone()),
            ..self.base.clone()
        }
    }
}

impl ModelFactory for ProviderClients {
    fn model_for(&self, provider: &Provider) -> Result<Arc<dyn LanguageModel>, ModelError> {
        let model = OpenAiModel::new(self.settings_for(provider))
            .map_err(|e| ModelError::Rejected(format!("provider {}: {e}", provider.id)))?;
        Ok(Arc::new(model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{BaseUrl, ProviderDraft, ProviderName, Secret};

    fn provider(kind: ProviderKind, models: &[&str]) -> Provider {
        let draft = ProviderDraft {
            name: ProviderName::parse("p").unwrap(),
            kind,
            base_url: BaseUrl::parse("https://example.openai.azure.com/openai/deployments/d")
                .unwrap(),
            api_key: Secret::new("k"),
            models: models.iter().map(|m| m.to_string()).collect(),
            prices: None,
        };
        Provider::create(draft, chrono::Utc::now())
    }

    #[test]
    fn azure_gets_its_header_and_api_version_and_others_a_bearer_key() {
        let clients = ProviderClients::new(OpenAiSettings::default());
        let azure = clients.settings_for(&provider(ProviderKind::AzureOpenai, &[]));
        assert_eq!(azure.key_header, KeyHeader::AzureApiKey);
        assert_eq!(
            azure.query,
            [("api-version".to_owned(), AZURE_API_VERSION.to_owned())]
        );
        assert_eq!(azure.default_model, OpenAiSettings::default().default_model);
        let local = clients.settings_for(&provider(ProviderKind::OpenaiCompatible, &["llama3"]));
        assert_eq!(
            (local.key_header, local.query.len()),
            (KeyHeader::Bearer, 0)
        );
        assert_eq!(local.default_model, "llama3");
        assert_eq!(local.api_key.unwrap().expose(), "k");
    }
}
