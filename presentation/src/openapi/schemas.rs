//! OpenAPI schemas of the domain's wire types, which cannot derive `ToSchema` themselves (the
//! domain imports no framework): string enums built from the values serde writes, and ids.

use serde::Serialize;
use std::borrow::Cow;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{RefOr, SchemaFormat};
use utoipa::{PartialSchema, ToSchema};

/// A string schema whose values are what serde writes for each of `values`.
fn string_enum<T: Serialize>(values: &[T], description: &str) -> RefOr<Schema> {
    let names: Vec<serde_json::Value> = values
        .iter()
        .filter_map(|value| serde_json::to_value(value).ok())
        .collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .description(Some(description))
        .into()
}

/// Declares a named component schema for a domain string enum with an `ALL` constant.
macro_rules! domain_enum {
    ($name:ident, $domain:ty, $description:literal) => {
        #[doc = $description]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                string_enum(&<$domain>::ALL, $description)
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

domain_enum!(Platform, domain::PlatformKind, "A messaging platform.");
domain_enum!(
    ProviderKind,
    domain::ProviderKind,
    "How a provider is spoken to: OpenAI, Azure OpenAI, or any OpenAI-compatible endpoint."
);
domain_enum!(
    Role,
    domain::Role,
    "What an API key may do: viewer < operator < admin."
);
domain_enum!(
    TelegramMode,
    domain::TelegramMode,
    "How a Telegram binding gets its updates: Telegram posts webhooks, or Switchboard long-polls getUpdates."
);
domain_enum!(BotStatus, domain::BotStatus, "Whether the bot answers.");
domain_enum!(
    ConversationStatus,
    domain::ConversationStatus,
    "An active conversation takes new messages; an ended one does not."
);
domain_enum!(
    ConversationMode,
    domain::ConversationMode,
    "Who answers the conversation: the bot, or a person who took it over (the bot stays silent)."
);
domain_enum!(
    Direction,
    domain::Direction,
    "From the user (inbound) or to them (outbound)."
);
domain_enum!(
    MessageStatus,
    domain::MessageStatus,
    "Inbound messages are `received`; outbound ones go `pending` → `sent` | `failed`."
);

/// A resource id: a UUIDv7, so ids sort by creation time.
pub struct Id;

impl PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("uuid".into())))
            .description(Some("A UUIDv7 id."))
            .into()
    }
}

impl ToSchema for Id {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Id")
    }
}

/// A message's content: text, or a kind Switchboard keeps by name without reading it.
pub struct MessageContent;

impl PartialSchema for MessageContent {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(tagged("text", "text", "The text."))
            .item(tagged(
                "unsupported",
                "kind",
                "What was sent instead: sticker, voice…",
            ))
            .item(
                tagged(
                    "image",
                    "media",
                    "The platform's reference to the photo (a Telegram file_id).",
                )
                .property(
                    "caption",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .description(Some("What the user wrote with it; absent, nothing.")),
                ),
            )
            .description(Some("Tagged by `type`."))
            .into()
    }
}

impl ToSchema for MessageContent {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("MessageContent")
    }
}

/// `{type: <tag>, <field>: string}`, both required.
fn tagged(tag: &str, field: &str, description: &str) -> ObjectBuilder {
    let tag_schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some([tag]));
    let field_schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description));
    ObjectBuilder::new()
        .property("type", tag_schema)
        .property(field, field_schema)
        .required("type")
        .required(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_schemas_list_what_serde_writes() {
        let json = serde_json::to_value(MessageStatus::schema()).unwrap();
        assert_eq!(
            json["enum"],
            serde_json::json!([
                "received",
                "rate_limited",
                "pending",
                "sent",
                "delivered",
                "read",
                "failed"
            ])
        );
        let json = serde_json::to_value(Platform::schema()).unwrap();
        assert_eq!(json["enum"].as_array().unwrap().len(), 5);
        assert!(json["enum"]
            .as_array()
            .unwrap()
            .contains(&"web_chat".into()));
    }
}
