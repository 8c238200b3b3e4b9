//! The Provider entity: a model API that bots may use instead of the configured default — its
//! kind, address, key (never shown), the models it offers and their prices.

use crate::text::one_line_name;
use crate::{Cost, ProviderId, Secret, TextRule, TokenUsage, ValidationError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the provider is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI itself.
    Openai,
    /// Azure OpenAI: the base URL names the resource (and deployment); the key goes in `api-key`.
    AzureOpenai,
    /// Any OpenAI-compatible endpoint: Ollama, vLLM, Gemini's and others'.
    OpenaiCompatible,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 3] = [Self::Openai, Self::AzureOpenai, Self::OpenaiCompatible];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Openai => "openai",
            Self::AzureOpenai => "azure_openai",
            Self::OpenaiCompatible => "openai_compatible",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }
}

/// A provider's name: 1 to 100 characters, trimmed, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderName(String);

impl ProviderName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        one_line_name("name", value, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where the provider answers: an absolute `http` or `https` URL with a host, and no user
/// information, query or fragment; stored without a trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub const MAX_CHARS: usize = 2048;

    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        Self::parse_field("base_url", value)
    }

    /// [`BaseUrl::parse`], a refusal naming `field`.
    pub fn parse_field(field: &'static str, value: &str) -> Result<Self, ValidationError> {
        let invalid = |reason: &str| ValidationError::new(field, reason);
        let url = value.trim().trim_end_matches('/');
        if url.chars().count() > Self::MAX_CHARS {
            return Err(invalid("must be at most 2048 characters"));
        }
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| invalid("must be an http:// or https:// URL"))?;
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() || authority.starts_with(':') {
            return Err(invalid("must name a host"));
        }
        if authority.contains('@') || url.contains(['?', '#']) {
            return Err(invalid("must not carry credentials, a query or a fragment"));
        }
        if url.chars().any(char::is_whitespace) {
            return Err(invalid("must not contain spaces"));
        }
        TextRule::SingleLine.check(field, url)?;
        Ok(Self(url.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a model costs, per million tokens, in the provider's currency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    pub input: f64,
    pub output: f64,
}

/// A provider's prices: a currency the operator names, and a price per model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    /// Three capital letters (`USD`, `EUR`, …).
    pub currency: String,
    pub models: BTreeMap<String, ModelPrice>,
}

/// The most models a provider may list or price.
pub const MAX_MODELS: usize = 200;
/// The highest price per million tokens taken as meant.
const MAX_PRICE: f64 = 1_000_000.0;

impl Prices {
    pub fn parse(
        currency: &str,
        models: BTreeMap<String, ModelPrice>,
    ) -> Result<Self, ValidationError> {
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ValidationError::new(
                "prices.currency",
                "must be three capital letters, such as USD",
            ));
        }
        if models.len() > MAX_MODELS {
            return Err(ValidationError::new(
                "prices.models",
                "must price at most 200 models",
            ));
        }
        for (model, price) in &models {
            model_name("prices.models", model)?;
            for (side, value) in [("input", price.input), ("output", price.output)] {
                if !(0.0..=MAX_PRICE).contains(&value) {
                    let reason =
                        format!("`{model}`'s {side} price must be 0 to 1000000 per million tokens");
                    return Err(ValidationError::new("prices.models", reason));
                }
            }
        }
        Ok(Self {
            currency: currency.to_owned(),
            models,
        })
    }

    /// What `usage` of `model` cost, when the model is priced.
    pub fn cost_of(&self, model: &str, usage: &TokenUsage) -> Option<Cost> {
        let price = self.models.get(model)?;
        Some(Cost::of(usage, &self.currency, price.input, price.output))
    }
}

/// A model's name as a provider knows it: 1 to 200 characters, one line.
pub fn model_name(field: &'static str, value: &str) -> Result<String, ValidationError> {
    one_line_name(field, value, 200)
}

/// The models a provider offers: at most [`MAX_MODELS`] names, without repeats.
pub fn model_list(values: &[String]) -> Result<Vec<String>, ValidationError> {
    if values.len() > MAX_MODELS {
        return Err(ValidationError::new(
            "models",
            "must list at most 200 models",
        ));
    }
    let mut models: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        let model = model_name("models", value)?;
        if !models.contains(&model) {
            models.push(model);
        }
    }
    Ok(models)
}

/// What an operator chooses for a provider, already valid.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderDraft {
    pub name: ProviderName,
    pub kind: ProviderKind,
    pub base_url: BaseUrl,
    pub api_key: Secret,
    /// The models it offers (informative; empty: not said).
    pub models: Vec<String>,
    pub prices: Option<Prices>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    pub id: ProviderId,
    pub name: ProviderName,
    pub kind: ProviderKind,
    pub base_url: BaseUrl,
    /// Sealed at rest like platform credentials; never shown.
    pub api_key: Secret,
    pub models: Vec<String>,
    pub prices: Option<Prices>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Provider {
    pub fn create(draft: ProviderDraft, now: DateTime<Utc>) -> Self {
        Self {
            id: ProviderId::new(),
            name: draft.name,
            kind: draft.kind,
            base_url: draft.base_url,
            api_key: draft.api_key,
            models: draft.models,
            prices: draft.prices,
            created_at: now,
            updated_at: now,
        }
    }

    /// The operator's fields as a draft, the starting point of a partial update.
    pub fn draft(&self) -> ProviderDraft {
        ProviderDraft {
            name: self.name.clone(),
            kind: self.kind,
            base_url: self.base_url.clone(),
            api_key: self.api_key.clone(),
            models: self.models.clone(),
            prices: self.prices.clone(),
        }
    }

    /// Replaces the operator's fields, keeping identity and creation time.
    pub fn revise(&mut self, draft: ProviderDraft, now: DateTime<Utc>) {
        self.name = draft.name;
        self.kind = draft.kind;
        self.base_url = draft.base_url;
        self.api_key = draft.api_key;
        self.models = draft.models;
        self.prices = draft.prices;
        self.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_is_an_http_url_with_a_host_and_nothing_secret() {
        let ok = |url: &str| BaseUrl::parse(url).map(|u| u.as_str().to_owned());
        assert_eq!(
            ok(" https://api.example.com/v1/ ").unwrap(),
            "https://api.example.com/v1"
        );
        assert_eq!(
            ok("http://127.0.0.1:11434/v1").unwrap(),
            "http://127.0.0.1:11434/v1"
        );
        for bad in [
            "ftp://example.com",
            "file:///etc/passwd",
            "example.com/v1",
            "https://",
            "https://:443/v1",
            "https://user:pass@example.com/v1",
            "https://example.com/v1?key=1",
            "https://example.com/v1#x",
            "https://exa mple.com",
        ] {
            let error = BaseUrl::parse(bad).unwrap_err();
            assert_eq!(error.field, "base_url", "{bad}");
        }
    }

    #[test]
    fn prices_need_a_currency_and_sane_amounts() {
        let price =
            |input, output| BTreeMap::from([("m".to_owned(), ModelPrice { input, output })]);
        assert!(Prices::parse("USD", price(0.15, 0.6)).is_ok());
        assert_eq!(
            Prices::parse("usd", price(1.0, 1.0)).unwrap_err().field,
            "prices.currency"
        );
        for (input, output) in [
            (-1.0, 1.0),
            (1.0, f64::NAN),
            (2e6, 1.0),
            (1.0, f64::INFINITY),
        ] {
            let error = Prices::parse("EUR", price(input, output)).unwrap_err();
            assert_eq!(error.field, "prices.models", "{input} {output}");
        }
    }

    #[test]
    fn kinds_parse_from_their_names_and_model_lists_drop_repeats() {
        for kind in ProviderKind::ALL {
            assert_eq!(ProviderKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ProviderKind::parse("anthropic"), None);
        let models = model_list(&["a".into(), " a ".into(), "b".into()]).unwrap();
        assert_eq!(models, ["a", "b"]);
        assert!(model_list(&["".into()]).is_err());
    }
}
