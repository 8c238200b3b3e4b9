//! Provider bodies: create and partial-update requests (validated, then parsed into domain
//! values) and the provider answer, which never carries its key.

use crate::dto::text::single_line;
use crate::errors::ApiError;
use chrono::{DateTime, Utc};
use domain::provider::model_list;
use domain::{
    BaseUrl, ModelPrice, Prices, Provider, ProviderDraft, ProviderId, ProviderKind, ProviderName,
    Secret, ValidationError,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use validator::Validate;

/// What a model costs per million tokens, in the prices' currency (the schema of
/// [`ModelPrice`], which the bodies carry as it is).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceBody {
    #[schema(minimum = 0.0, maximum = 1000000.0)]
    pub input: f64,
    #[schema(minimum = 0.0, maximum = 1000000.0)]
    pub output: f64,
}

/// Prices per model, so that Switchboard can tell what each reply cost.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PricesBody {
    /// Three capital letters, such as `USD`.
    #[schema(pattern = "^[A-Z]{3}$", example = "USD")]
    pub currency: String,
    /// By model name, at most 200.
    #[schema(value_type = BTreeMap<String, PriceBody>)]
    pub models: BTreeMap<String, ModelPrice>,
}

impl PricesBody {
    fn parse(self) -> Result<Prices, ValidationError> {
        Prices::parse(&self.currency, self.models)
    }
}

impl From<Prices> for PricesBody {
    fn from(prices: Prices) -> Self {
        Self {
            currency: prices.currency,
            models: prices.models,
        }
    }
}

/// `POST /api/v1/providers`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProvider {
    /// One line: no control characters.
    #[validate(required, length(min = 1, max = 100), custom(function = single_line))]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[validate(required)]
    #[schema(value_type = crate::openapi::schemas::ProviderKind, required = true)]
    pub kind: Option<String>,
    /// `http://` or `https://`, with a host; no credentials, query or fragment. For Azure
    /// OpenAI, the deployment's URL (`https://{resource}.openai.azure.com/openai/deployments/{deployment}`).
    #[validate(required, length(min = 1, max = 2048))]
    #[schema(value_type = String, required = true, max_length = 2048)]
    pub base_url: Option<String>,
    /// Sealed at rest (with `security.master_key`), never shown again.
    #[validate(required, length(min = 1, max = 4096), custom(function = single_line))]
    #[schema(value_type = String, required = true, write_only, min_length = 1, max_length = 4096)]
    pub api_key: Option<String>,
    /// The models it offers, at most 200 (informative).
    #[validate(length(max = 200))]
    #[schema(max_items = 200)]
    pub models: Option<Vec<String>>,
    pub prices: Option<PricesBody>,
}

fn kind(value: &str) -> Result<ProviderKind, ValidationError> {
    ProviderKind::parse(value).ok_or_else(|| {
        ValidationError::new(
            "kind",
            "must be one of openai, azure_openai, openai_compatible",
        )
    })
}

impl CreateProvider {
    pub fn into_draft(self) -> Result<ProviderDraft, ApiError> {
        self.validate()?;
        let text = |value: Option<String>| value.unwrap_or_default();
        Ok(ProviderDraft {
            name: ProviderName::parse(&text(self.name))?,
            kind: kind(&text(self.kind))?,
            base_url: BaseUrl::parse(&text(self.base_url))?,
            api_key: Secret::new(text(self.api_key)),
            models: model_list(&self.models.unwrap_or_default())?,
            prices: self.prices.map(PricesBody::parse).transpose()?,
        })
    }
}

/// `PATCH /api/v1/providers/{id}`: an absent field stays as it is; `prices: null` clears them.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProvider {
    #[validate(length(min = 1, max = 100), custom(function = single_line))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(value_type = Option<crate::openapi::schemas::ProviderKind>)]
    pub kind: Option<String>,
    #[validate(length(min = 1, max = 2048))]
    #[schema(max_length = 2048)]
    pub base_url: Option<String>,
    /// A new key; absent, the stored one is kept.
    #[validate(length(min = 1, max = 4096), custom(function = single_line))]
    #[schema(write_only, min_length = 1, max_length = 4096)]
    pub api_key: Option<String>,
    #[validate(length(max = 200))]
    #[schema(max_items = 200)]
    pub models: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::patch::present")]
    #[schema(value_type = Option<PricesBody>)]
    pub prices: Option<Option<PricesBody>>,
}

impl UpdateProvider {
    /// Checks the body, then the function that applies it to a provider's draft.
    pub fn into_patch(
        self,
    ) -> Result<impl FnOnce(ProviderDraft) -> Result<ProviderDraft, ValidationError> + Send, ApiError>
    {
        self.validate()?;
        let name = self.name.as_deref().map(ProviderName::parse).transpose()?;
        let kind = self.kind.as_deref().map(kind).transpose()?;
        let base_url = self.base_url.as_deref().map(BaseUrl::parse).transpose()?;
        let models = self.models.as_deref().map(model_list).transpose()?;
        let prices = self
            .prices
            .map(|prices| prices.map(PricesBody::parse).transpose())
            .transpose()?;
        let api_key = self.api_key.map(Secret::new);
        Ok(move |draft: ProviderDraft| {
            Ok(ProviderDraft {
                name: name.unwrap_or(draft.name),
                kind: kind.unwrap_or(draft.kind),
                base_url: base_url.unwrap_or(draft.base_url),
                api_key: api_key.unwrap_or(draft.api_key),
                models: models.unwrap_or(draft.models),
                prices: prices.unwrap_or(draft.prices),
            })
        })
    }
}

/// A provider as the API shows it: everything but its key.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderBody {
    #[schema(value_type = crate::openapi::schemas::Id)]
    pub id: ProviderId,
    pub name: String,
    #[schema(value_type = crate::openapi::schemas::ProviderKind)]
    pub kind: ProviderKind,
    pub base_url: String,
    pub models: Vec<String>,
    pub prices: Option<PricesBody>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Provider> for ProviderBody {
    fn from(provider: Provider) -> Self {
        Self {
            id: provider.id,
            name: provider.name.as_str().to_owned(),
            kind: provider.kind,
            base_url: provider.base_url.as_str().to_owned(),
            models: provider.models,
            prices: provider.prices.map(PricesBody::from),
            created_at: provider.created_at,
            updated_at: provider.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(body: serde_json::Value) -> Result<ProviderDraft, ApiError> {
        serde_json::from_value::<CreateProvider>(body)
            .unwrap()
            .into_draft()
    }

    fn field(error: ApiError) -> String {
        match error {
            ApiError::Invalid(errors) => errors[0].field.to_string(),
            other => panic!("not a field error: {other}"),
        }
    }

    #[test]
    fn a_provider_body_is_checked_field_by_field() {
        let good = json!({"name": "Local", "kind": "openai_compatible",
            "base_url": "http://127.0.0.1:11434/v1", "api_key": "k",
            "prices": {"currency": "USD", "models": {"m": {"input": 0.1, "output": 0.2}}}});
        let draft = create(good.clone()).unwrap();
        assert_eq!(draft.kind, ProviderKind::OpenaiCompatible);
        for (key, value, named) in [
            ("kind", json!("anthropic"), "kind"),
            ("base_url", json!("ftp://x"), "base_url"),
            ("api_key", json!(""), "api_key"),
        ] {
            let mut bad = good.clone();
            bad[key] = value;
            assert_eq!(field(create(bad).unwrap_err()), named, "{key}");
        }
        let mut negative = good.clone();
        negative["prices"]["models"]["m"]["input"] = json!(-1);
        assert_eq!(field(create(negative).unwrap_err()), "prices.models");
    }

    #[test]
    fn the_answer_never_carries_the_key() {
        let draft = create(json!({"name": "Cloud", "kind": "openai",
            "base_url": "https://api.openai.com/v1", "api_key": "sk-very-secret"}))
        .unwrap();
        let body = ProviderBody::from(Provider::create(draft, Utc::now()));
        let text = serde_json::to_string(&body).unwrap();
        assert!(
            !text.contains("sk-very-secret") && !text.contains("api_key"),
            "{text}"
        );
    }
}
