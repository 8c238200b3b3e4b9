//! Cutting a formatted reply into parts that fit a platform's message, on paragraph, line or word boundaries outside styled runs.

use super::{RichText, Span};
use crate::text::utf16_len;
use std::ops::Range;

/// Splits `rich` into parts whose `measure` (the length of the part as the platform is sent
/// it, in UTF-16 units) is at most `max`. A cut prefers a blank line, then a line break, then
/// a space, outside every run; failing that, a line break or space inside a block (code,
/// quote), which is closed in one part and reopened in the next; failing that, wherever it
/// must. Parts keep their order and, joined, hold all of the text but the whitespace cut at.
pub fn split(rich: &RichText, max: usize, measure: impl Fn(&RichText) -> usize) -> Vec<RichText> {
    let max = max.max(1);
    let mut parts = Vec::new();
    let mut start = skip_whitespace(rich, 0);
    while start < rich.text.len() {
        let mut limit = max;
        loop {
            let cut = cut(rich, start, limit);
            let part = slice(rich, start..cut.end);
            let measured = measure(&part);
            if measured <= max || limit == 1 {
                if !part.text.is_empty() {
                    parts.push(part);
                }
                start = cut.next;
                break;
            }
            // Markers take room too: try again with as much less text as they made too much.
            let held = utf16_len(&part.text).min(limit);
            limit = (held * max / measured).clamp(1, held.saturating_sub(1).max(1));
        }
    }
    parts
}

/// Where a cut may fall, best first: a separator, whether it may fall inside a block, and
/// whether the part before it must be at least half full. A block is rather cut at a line than
/// left whole for a nearly empty part before it; an inline run is cut only when nothing else
/// fits.
const TIERS: [(&str, bool, bool); 8] = [
    ("\n\n", false, true),
    ("\n", false, true),
    (" ", false, true),
    ("\n", true, false),
    (" ", true, false),
    ("\n\n", false, false),
    ("\n", false, false),
    (" ", false, false),
];

/// Where a part ends and the next begins.
struct Cut {
    end: usize,
    next: usize,
}

/// The best cut of the text from `start` that leaves at most `limit` UTF-16 units before it.
fn cut(rich: &RichText, start: usize, limit: usize) -> Cut {
    let text = &rich.text;
    let hard = start + byte_index_at_utf16(&text[start..], limit);
    if hard == text.len() {
        return Cut {
            end: hard,
            next: hard,
        };
    }
    let half = start + (hard - start) / 2;
    let found = TIERS
        .iter()
        .find_map(|&(separator, through_blocks, half_full)| {
            let after = if half_full { half } else { start };
            last_separator(rich, start..hard, separator, through_blocks)
                .filter(|at| at.start > after)
        });
    match found {
        Some(at) => Cut {
            end: text[..at.start].trim_end().len().max(start),
            next: resume_at(rich, at.end),
        },
        None => Cut {
            end: hard,
            next: hard,
        },
    }
}

/// The last `separator` in `window`, after its first byte, inside no run (but a block, when
/// `through_blocks`).
fn last_separator(
    rich: &RichText,
    window: Range<usize>,
    separator: &str,
    through_blocks: bool,
) -> Option<Range<usize>> {
    let offset = window.start;
    rich.text[window]
        .rmatch_indices(separator)
        .map(|(index, _)| offset + index..offset + index + separator.len())
        .filter(|at| at.start > offset)
        .find(|at| {
            rich.spans
                .iter()
                .all(|span| !overlaps(span, at) || (through_blocks && span.style.is_block()))
        })
}

fn overlaps(span: &Span, range: &Range<usize>) -> bool {
    span.start < range.end && range.start < span.end
}

/// Where the next part begins after a cut at `at`: past the whitespace, unless that is code's
/// indentation.
fn resume_at(rich: &RichText, at: usize) -> usize {
    let in_code = rich
        .spans
        .iter()
        .any(|span| span.style.keeps_indentation() && span.start < at && at < span.end);
    if in_code {
        at
    } else {
        skip_whitespace(rich, at)
    }
}

fn skip_whitespace(rich: &RichText, from: usize) -> usize {
    let rest = &rich.text[from..];
    from + (rest.len() - rest.trim_start().len())
}

/// Bytes `range` of `rich`, with the runs over them clipped and marked where they go on.
fn slice(rich: &RichText, range: Range<usize>) -> RichText {
    let spans = rich
        .spans
        .iter()
        .filter(|span| overlaps(span, &range))
        .map(|span| Span {
            start: span.start.max(range.start) - range.start,
            end: span.end.min(range.end) - range.start,
            style: span.style.clone(),
            continued: span.continued || span.start < range.start,
            continues: span.continues || span.end > range.end,
        })
        .collect();
    RichText {
        text: rich.text[range].to_owned(),
        spans,
    }
}

/// The byte index of the longest prefix that fits in `units` UTF-16 units (never splitting a
/// character); a lone character wider than that still has to go somewhere.
fn byte_index_at_utf16(text: &str, units: usize) -> usize {
    let mut used = 0;
    for (index, ch) in text.char_indices() {
        used += ch.len_utf16();
        if used > units {
            return if index == 0 { ch.len_utf8() } else { index };
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Style;

    fn plain_parts(text: &str, max: usize) -> Vec<String> {
        split(&RichText::plain(text), max, |part| utf16_len(&part.text))
            .into_iter()
            .map(|part| part.text)
            .collect()
    }

    fn run(start: usize, end: usize, style: Style) -> Span {
        Span::new(start, end, style)
    }

    #[test]
    fn short_text_is_one_part() {
        assert_eq!(plain_parts("hello", 10), vec!["hello"]);
        assert!(plain_parts("   ", 10).is_empty());
    }

    #[test]
    fn prefers_paragraphs_then_lines_then_words() {
        assert_eq!(
            plain_parts("first para\n\nsecond para", 15),
            vec!["first para", "second para"]
        );
        assert_eq!(
            plain_parts("line one\nline two", 12),
            vec!["line one", "line two"]
        );
        assert_eq!(
            plain_parts("alpha beta gamma", 11),
            vec!["alpha beta", "gamma"]
        );
    }

    #[test]
    fn long_words_are_cut_hard() {
        assert_eq!(plain_parts("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
    }

    #[test]
    fn every_part_fits_and_nothing_is_lost() {
        let text = "😀 word ".repeat(2000);
        let parts = plain_parts(&text, 4096);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| utf16_len(p) <= 4096));
        let words: usize = parts.iter().map(|p| p.split_whitespace().count()).sum();
        assert_eq!(words, 4000);
    }

    #[test]
    fn never_splits_inside_a_surrogate_pair() {
        assert_eq!(plain_parts("😀😀😀", 3), vec!["😀", "😀", "😀"]);
    }

    #[test]
    fn a_cut_goes_around_a_styled_run_rather_than_through_it() {
        // "aa bold words cc": the last space of the first 12 characters is inside the run.
        let rich = RichText {
            text: "aa bold words cc".to_owned(),
            spans: vec![run(3, 13, Style::Bold)],
        };
        let parts = split(&rich, 12, |part| utf16_len(&part.text));
        let texts: Vec<_> = parts.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, vec!["aa", "bold words", "cc"]);
        assert_eq!(parts[1].spans, vec![run(0, 10, Style::Bold)]);
    }

    #[test]
    fn a_block_too_long_for_one_part_is_cut_at_a_line_and_marked_as_going_on() {
        let code = "fn a() {}\n    b();\nc";
        let rich = RichText {
            text: code.to_owned(),
            spans: vec![run(0, code.len(), Style::Pre { language: None })],
        };
        let parts = split(&rich, 12, |part| utf16_len(&part.text));
        let texts: Vec<_> = parts.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(
            texts,
            vec!["fn a() {}", "    b();\nc"],
            "indentation is kept"
        );
        assert!(parts[0].spans[0].continues && !parts[0].spans[0].continued);
        assert!(parts[1].spans[0].continued && !parts[1].spans[0].continues);
    }

    #[test]
    fn markers_count_toward_the_limit() {
        // Each part is measured with two markers per run, as WhatsApp's `*bold*` would be.
        let rich = RichText {
            text: "aaaa bbbb".to_owned(),
            spans: vec![run(0, 4, Style::Bold), run(5, 9, Style::Bold)],
        };
        let measure = |part: &RichText| utf16_len(&part.text) + 2 * part.spans.len();
        let parts = split(&rich, 9, measure);
        assert!(parts.iter().all(|part| measure(part) <= 9));
        assert_eq!(parts.len(), 2);
    }
}
