//! A reply's styles as Bot API message entities, and the refusals that mean Telegram could not take them.

use application::format::{Entity, EntityKind, RichText};
use teloxide_core::types::{MessageEntity, MessageEntityKind};
use teloxide_core::ApiError;
use url::Url;

/// The part's runs as entities; a link whose address Telegram could not take is left as text.
pub(crate) fn entities(part: &RichText) -> Vec<MessageEntity> {
    part.entities().into_iter().filter_map(entity).collect()
}

fn entity(entity: Entity) -> Option<MessageEntity> {
    let kind = match entity.kind {
        EntityKind::Bold => MessageEntityKind::Bold,
        EntityKind::Italic => MessageEntityKind::Italic,
        EntityKind::Strikethrough => MessageEntityKind::Strikethrough,
        EntityKind::Code => MessageEntityKind::Code,
        EntityKind::Pre { language } => MessageEntityKind::Pre { language },
        EntityKind::Blockquote => MessageEntityKind::Blockquote,
        EntityKind::TextLink { url } => MessageEntityKind::TextLink {
            url: Url::parse(&url).ok()?,
        },
    };
    Some(MessageEntity {
        kind,
        offset: entity.offset,
        length: entity.length,
    })
}

/// Telegram refused the message for its entities (or a link's address in one): the same text
/// without them will do.
pub(crate) fn refused_markup(error: &ApiError) -> bool {
    match error {
        ApiError::CantParseEntities(_) | ApiError::CantParseUrl | ApiError::WrongHttpUrl => true,
        ApiError::Unknown(description) => description.contains("entit"),
        _ => false,
    }
}
