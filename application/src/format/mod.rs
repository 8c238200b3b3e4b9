//! Replies formatted per platform: the model's Markdown read once, cut into parts that fit, each written in the platform's markup.
//!
//! A reply is stored as the model wrote it (Markdown). On its way out it becomes a [`RichText`]:
//! the text the user reads and the [`Span`]s styling it. Splitting works on that, so a cut never
//! falls inside a styled run when it can fall outside one, and a run that must be cut (a code
//! block longer than a message) is closed in one part and reopened in the next. Each platform
//! then writes a part in its [`Markup`]: Telegram as entities beside the text, WhatsApp with its
//! `*bold*`/`_italic_` markers, Discord the model's own Markdown, Messenger plain text.

mod markdown;
mod render;
mod split;
#[cfg(test)]
mod tests;

pub use render::{Entity, EntityKind};

use crate::text::utf16_len;

/// How a platform marks text up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Markup {
    /// No markup: the text alone, links written out after their text (Messenger).
    Plain,
    /// Styles sent beside the text as entities, with UTF-16 offsets (Telegram).
    Entities,
    /// WhatsApp's `*bold*`, `_italic_`, `~strike~`, `` `code` ``, ```` ```blocks``` ```` and `> `.
    WhatsApp,
    /// The model's Markdown as it wrote it, a split code block closed and reopened (Discord).
    Markdown,
}

/// Text and the styled runs over it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RichText {
    pub text: String,
    /// Byte ranges of `text`, nested (never partly overlapping), none empty.
    pub spans: Vec<Span>,
}

/// One styled run of a [`RichText`]: bytes `start..end` of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub style: Style,
    /// The run began in an earlier part.
    pub continued: bool,
    /// The run goes on in the next part.
    pub continues: bool,
}

impl Span {
    /// A run over bytes `start..end`, whole in its part.
    pub fn new(start: usize, end: usize, style: Style) -> Self {
        Self {
            start,
            end,
            style,
            continued: false,
            continues: false,
        }
    }
}

/// What a run looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Style {
    Bold,
    Italic,
    Strike,
    /// Inline code.
    Code,
    /// A code block, with the language its fence named.
    Pre {
        language: Option<String>,
    },
    Quote,
    /// Text leading to a web address (`http`/`https` only: other links are written out).
    Link {
        url: String,
    },
    /// A fenced code block in Markdown source, its opening fence (```` ``` ```` or `~~~`, and
    /// the info string) kept to reopen it in the next part.
    Fence {
        marker: String,
        info: String,
    },
}

impl Style {
    /// A block may be cut at a line break when it does not fit a message; inline runs are cut
    /// only when nothing else fits.
    fn is_block(&self) -> bool {
        matches!(self, Style::Pre { .. } | Style::Quote | Style::Fence { .. })
    }

    /// Code keeps its leading whitespace when cut.
    fn keeps_indentation(&self) -> bool {
        matches!(self, Style::Pre { .. } | Style::Fence { .. })
    }
}

impl RichText {
    /// Text without styles, as it is.
    pub fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            spans: Vec::new(),
        }
    }

    /// What a platform with `markup` is sent as this part's text.
    pub fn render(&self, markup: Markup) -> String {
        render::render(self, markup)
    }

    /// How long the part is as the platform is sent it, in UTF-16 units: entities travel
    /// beside the text and add nothing.
    pub fn rendered_len(&self, markup: Markup) -> usize {
        match markup {
            Markup::Entities => utf16_len(&self.text),
            _ => utf16_len(&self.render(markup)),
        }
    }

    /// The runs as Telegram-style entities, with offsets and lengths in UTF-16 code units.
    pub fn entities(&self) -> Vec<Entity> {
        render::entities(self)
    }
}

/// The parts a platform with `markup`, whose messages hold at most `max` UTF-16 units, is sent
/// for `markdown`, in order. Blank text yields none.
pub fn parts(markdown: &str, markup: Markup, max: usize) -> Vec<RichText> {
    let rich = match markup {
        Markup::Markdown => markdown::source(markdown),
        Markup::Plain | Markup::Entities | Markup::WhatsApp => markdown::read(markdown),
    };
    split::split(&rich, max, |part| part.rendered_len(markup))
}
