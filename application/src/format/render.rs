//! Writing a formatted part in a platform's markup: entities beside the text, WhatsApp's markers, Markdown with its fences mended, or plain text.

use super::{Markup, RichText, Span, Style};
use crate::text::utf16_len;
use std::cmp::Reverse;

/// A styled run as Telegram's Bot API takes it: offsets and lengths in UTF-16 code units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    pub kind: EntityKind,
    pub offset: usize,
    pub length: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityKind {
    Bold,
    Italic,
    Strikethrough,
    Code,
    Pre { language: Option<String> },
    TextLink { url: String },
    Blockquote,
}

pub(super) fn entities(rich: &RichText) -> Vec<Entity> {
    rich.spans
        .iter()
        .filter_map(|span| {
            let kind = match &span.style {
                Style::Bold => EntityKind::Bold,
                Style::Italic => EntityKind::Italic,
                Style::Strike => EntityKind::Strikethrough,
                Style::Code => EntityKind::Code,
                Style::Pre { language } => EntityKind::Pre {
                    language: language.clone(),
                },
                Style::Quote => EntityKind::Blockquote,
                Style::Link { url } => EntityKind::TextLink { url: url.clone() },
                Style::Fence { .. } => return None,
            };
            Some(Entity {
                kind,
                offset: utf16_len(&rich.text[..span.start]),
                length: utf16_len(&rich.text[span.start..span.end]),
            })
        })
        .collect()
}

pub(super) fn render(rich: &RichText, markup: Markup) -> String {
    match markup {
        Markup::Entities => rich.text.clone(),
        Markup::Plain => marked(rich, plain_marks),
        Markup::WhatsApp => marked(rich, whatsapp_marks),
        Markup::Markdown => marked(rich, fence_marks),
    }
}

/// What is written before and after a run.
type Marks = (String, String);

fn plain_marks(span: &Span) -> Marks {
    match &span.style {
        Style::Link { url } => (String::new(), format!(" ({url})")),
        _ => Marks::default(),
    }
}

fn whatsapp_marks(span: &Span) -> Marks {
    let around = |marker: &str| (marker.to_owned(), marker.to_owned());
    match &span.style {
        Style::Bold => around("*"),
        Style::Italic => around("_"),
        Style::Strike => around("~"),
        Style::Code => around("`"),
        Style::Pre { .. } => around("```"),
        _ => plain_marks(span),
    }
}

/// Markdown source has its markers already; a fenced block cut in two is closed at the end of
/// one part and opened again, with its info string, at the start of the next.
fn fence_marks(span: &Span) -> Marks {
    let Style::Fence { marker, info } = &span.style else {
        return Marks::default();
    };
    let reopen = if span.continued {
        format!("{marker}{info}\n")
    } else {
        String::new()
    };
    let close = if span.continues {
        format!("\n{marker}")
    } else {
        String::new()
    };
    (reopen, close)
}

/// The text with each run's marks written around it, inner runs inside outer ones, and each
/// line of a quote begun with `> `.
fn marked(rich: &RichText, marks: fn(&Span) -> Marks) -> String {
    // Each run's two edges: where, whether it opens, and an order among edges at one place
    // (runs close before others open, the inner closing first and the outer opening first).
    let mut edges: Vec<(usize, bool, Reverse<usize>, &str, bool)> = Vec::new();
    let written: Vec<(Marks, bool)> = rich
        .spans
        .iter()
        .map(|span| (marks(span), span.style == Style::Quote))
        .collect();
    for (span, ((open, close), quote)) in rich.spans.iter().zip(&written) {
        edges.push((span.end, false, Reverse(span.start), close.as_str(), *quote));
        edges.push((span.start, true, Reverse(span.end), open.as_str(), *quote));
    }
    edges.sort_by_key(|&(at, opens, order, ..)| (at, opens, order));
    let mut out = String::with_capacity(rich.text.len() + 16 * edges.len());
    let (mut written_to, mut quotes) = (0, 0usize);
    for (at, opens, _, mark, quote) in edges {
        push_quoted(&mut out, &rich.text[written_to..at], quotes > 0);
        written_to = at;
        if quote && opens {
            quotes += 1;
            out.push_str("> ");
        } else if quote {
            quotes -= 1;
        }
        out.push_str(mark);
    }
    push_quoted(&mut out, &rich.text[written_to..], quotes > 0);
    out
}

fn push_quoted(out: &mut String, text: &str, quoted: bool) {
    if quoted {
        out.push_str(&text.replace('\n', "\n> "));
    } else {
        out.push_str(text);
    }
}
