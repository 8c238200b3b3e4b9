//! Reading the model's Markdown (CommonMark with tables, strikethrough and task lists) into the text a user reads and its styled runs.

use super::{RichText, Span, Style};
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

fn options() -> Options {
    Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS
}

/// The text as read: markers gone, styles as spans, headings bold, list items bulleted or
/// numbered, tables as rows of cells between `|`, links that are not web addresses written out.
pub fn read(markdown: &str) -> RichText {
    let mut reader = Reader::default();
    for event in Parser::new_ext(markdown, options()) {
        reader.event(event);
    }
    reader.finish()
}

/// The Markdown source as it is, with the runs a cut must not fall into: emphasis, code,
/// links and fenced code blocks (which a cut may split, closing and reopening the fence).
pub fn source(markdown: &str) -> RichText {
    let text = markdown.trim_end();
    let mut spans = Vec::new();
    for (event, range) in Parser::new_ext(text, options()).into_offset_iter() {
        let style = match event {
            Event::Start(Tag::Strong) => Style::Bold,
            Event::Start(Tag::Emphasis) => Style::Italic,
            Event::Start(Tag::Strikethrough) => Style::Strike,
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => Style::Link {
                url: dest_url.to_string(),
            },
            Event::Code(_) => Style::Code,
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                fence(&text[range.clone()], &info)
            }
            _ => continue,
        };
        let end = text[..range.end].trim_end().len();
        spans.push(Span::new(range.start, end, style));
    }
    spans.retain(|span| span.start < span.end);
    RichText {
        text: text.to_owned(),
        spans,
    }
}

/// A fenced block's opening fence: its run of backticks or tildes, and its info string.
fn fence(block: &str, info: &str) -> Style {
    let block = block.trim_start();
    let first = block.chars().next().unwrap_or('`');
    let length = block.chars().take_while(|&c| c == first).count();
    Style::Fence {
        marker: first.to_string().repeat(length.max(3)),
        info: info.trim().to_owned(),
    }
}

/// An element begun and not yet ended.
enum Open {
    /// A styled run from byte `start`.
    Run { start: usize, style: Style },
    /// A link from byte `start`: a run or a written-out address, known at its end.
    Link { start: usize, url: String },
    /// An element without a style of its own (a footnote, a definition…).
    Other,
}

/// Builds the read text event by event.
#[derive(Default)]
struct Reader {
    out: RichText,
    /// Inline and block elements begun and not yet ended.
    open: Vec<Open>,
    /// The lists we are in, each with its next number (`None`: bulleted).
    lists: Vec<Option<u64>>,
    /// Just after a list item's bullet: the item's first block needs no break of its own.
    at_bullet: bool,
    /// Cells written so far in the current table row.
    cells: usize,
}

impl Reader {
    fn event(&mut self, event: Event) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) | Event::Html(text) | Event::InlineHtml(text) => self.push(&text),
            Event::InlineMath(text) | Event::DisplayMath(text) => self.push(&text),
            Event::Code(code) => {
                let start = self.out.text.len();
                self.push(&code);
                self.add(start, Style::Code);
            }
            Event::SoftBreak | Event::HardBreak => self.push("\n"),
            Event::Rule => {
                self.separate();
                self.push("———");
            }
            Event::TaskListMarker(done) => self.push(if done { "[x] " } else { "[ ] " }),
            Event::FootnoteReference(name) => self.push(&format!("[^{name}]")),
        }
    }

    fn start(&mut self, tag: Tag) {
        let style = match tag {
            Tag::Paragraph | Tag::HtmlBlock => return self.separate(),
            Tag::Heading { .. } => {
                self.separate();
                Style::Bold
            }
            Tag::BlockQuote(_) => {
                self.separate();
                Style::Quote
            }
            Tag::CodeBlock(kind) => {
                self.separate();
                Style::Pre {
                    language: language(&kind),
                }
            }
            Tag::List(first) => {
                self.separate();
                self.lists.push(first);
                return;
            }
            Tag::Item => return self.bullet(),
            Tag::Table(_) => return self.separate(),
            Tag::TableHead | Tag::TableRow => {
                self.line();
                self.cells = 0;
                return;
            }
            Tag::TableCell => {
                if self.cells > 0 {
                    self.push(" | ");
                }
                self.cells += 1;
                return;
            }
            Tag::Emphasis => Style::Italic,
            Tag::Strong => Style::Bold,
            Tag::Strikethrough => Style::Strike,
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                let start = self.out.text.len();
                let url = dest_url.to_string();
                return self.open.push(Open::Link { start, url });
            }
            _ => return self.open.push(Open::Other),
        };
        let start = self.out.text.len();
        self.open.push(Open::Run { start, style });
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph
            | TagEnd::HtmlBlock
            | TagEnd::Item
            | TagEnd::Table
            | TagEnd::TableHead
            | TagEnd::TableRow
            | TagEnd::TableCell => {}
            TagEnd::List(_) => {
                self.lists.pop();
            }
            TagEnd::Link | TagEnd::Image => self.close_link(),
            _ => self.close(),
        }
    }

    /// Ends a link: a web link is a run over its text, unless the text is the address; any other
    /// link (`mailto:`, relative) is its text followed by the address in brackets; a link
    /// without text is its address.
    fn close_link(&mut self) {
        let Some(Open::Link { start, url }) = self.open.pop() else {
            return;
        };
        let shown = self.out.text[start..].trim();
        let web = url.starts_with("https://") || url.starts_with("http://");
        if shown.is_empty() {
            self.push(&url);
        } else if shown != url && web {
            self.add(start, Style::Link { url });
        } else if shown != url {
            self.push(&format!(" ({url})"));
        }
    }

    fn close(&mut self) {
        if let Some(Open::Run { start, style }) = self.open.pop() {
            self.add(start, style);
        }
    }

    /// Records a run from `start` to here, without the whitespace at its ends.
    fn add(&mut self, start: usize, style: Style) {
        let text = &self.out.text;
        let end = text.trim_end().len().max(start);
        let start = start + (text[start..end].len() - text[start..end].trim_start().len());
        if start < end {
            self.out.spans.push(Span::new(start, end, style));
        }
    }

    /// A list item: a new line, indented by the depth of nesting, and its bullet or number.
    fn bullet(&mut self) {
        self.line();
        let depth = self.lists.len().saturating_sub(1);
        let marker = match self.lists.last_mut() {
            Some(Some(number)) => {
                let marker = format!("{number}. ");
                *number += 1;
                marker
            }
            _ => "• ".to_owned(),
        };
        self.push(&format!("{}{marker}", "  ".repeat(depth)));
        self.at_bullet = true;
    }

    /// Starts a block: a blank line after what came before, a line break inside a list.
    fn separate(&mut self) {
        if self.lists.is_empty() {
            self.breaks(2);
        } else {
            self.line();
        }
    }

    fn line(&mut self) {
        self.breaks(1);
    }

    /// Ends the text so far with `count` line breaks, unless it is empty or a bullet was just
    /// written.
    fn breaks(&mut self, count: usize) {
        if self.out.text.is_empty() || self.at_bullet {
            return;
        }
        let text = &mut self.out.text;
        let kept = text.trim_end_matches([' ', '\t']).len();
        text.truncate(kept);
        let have = text.len() - text.trim_end_matches('\n').len();
        for _ in have..count {
            text.push('\n');
        }
    }

    fn push(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.at_bullet = false;
        self.out.text.push_str(text);
    }

    /// The text without trailing whitespace, and the runs in order of where they start.
    fn finish(mut self) -> RichText {
        let text = &mut self.out.text;
        text.truncate(text.trim_end().len());
        let length = text.len();
        self.out.spans.retain(|span| span.start < length);
        for span in &mut self.out.spans {
            span.end = span.end.min(length);
        }
        sort_nested(&mut self.out.spans);
        self.out
    }
}

/// Orders runs by start, the outer one first where two start together.
pub(super) fn sort_nested(spans: &mut [Span]) {
    spans.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
}

/// A fenced block's language: the first word of its info string.
fn language(kind: &CodeBlockKind) -> Option<String> {
    match kind {
        CodeBlockKind::Fenced(info) => info.split_whitespace().next().map(str::to_owned),
        CodeBlockKind::Indented => None,
    }
}
