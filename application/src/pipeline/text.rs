//! Splitting a reply into platform-sized parts on paragraph, line or word boundaries.

/// Length as the platforms count it: UTF-16 code units (Telegram's 4096 limit, for one).
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Splits `text` into parts of at most `max` UTF-16 units, preferring to cut after a blank
/// line, then a line break, then a space; a word longer than `max` is cut where it must be.
/// Parts keep their order and, joined, hold all of the text but the separators cut at.
pub fn split_for_platform(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while utf16_len(rest) > max {
        let hard = byte_index_at_utf16(rest, max);
        let cut = best_cut(&rest[..hard]).unwrap_or(hard);
        let (head, tail) = rest.split_at(cut);
        let head = head.trim_end();
        if !head.is_empty() {
            parts.push(head.to_owned());
        }
        rest = tail.trim_start();
    }
    if !rest.is_empty() {
        parts.push(rest.to_owned());
    }
    parts
}

/// The byte index of the longest prefix that fits in `units` UTF-16 units (never splitting a char).
fn byte_index_at_utf16(text: &str, units: usize) -> usize {
    let mut used = 0;
    for (index, ch) in text.char_indices() {
        used += ch.len_utf16();
        if used > units {
            // A lone character wider than the limit still has to go somewhere.
            return if index == 0 { ch.len_utf8() } else { index };
        }
    }
    text.len()
}

/// Where to cut a window: after its last paragraph break, line break or space.
fn best_cut(window: &str) -> Option<usize> {
    ["\n\n", "\n", " "]
        .iter()
        .find_map(|sep| window.rfind(sep).filter(|&i| i > 0).map(|i| i + sep.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_part() {
        assert_eq!(split_for_platform("hello", 10), vec!["hello"]);
        assert!(split_for_platform("   ", 10).is_empty());
    }

    #[test]
    fn prefers_paragraphs_then_lines_then_words() {
        let text = "first para\n\nsecond para";
        assert_eq!(
            split_for_platform(text, 15),
            vec!["first para", "second para"]
        );
        let lines = "line one\nline two";
        assert_eq!(split_for_platform(lines, 12), vec!["line one", "line two"]);
        let words = "alpha beta gamma";
        assert_eq!(split_for_platform(words, 11), vec!["alpha beta", "gamma"]);
    }

    #[test]
    fn long_words_are_cut_hard() {
        assert_eq!(
            split_for_platform("abcdefghij", 4),
            vec!["abcd", "efgh", "ij"]
        );
    }

    #[test]
    fn every_part_fits_and_nothing_is_lost() {
        let text = "😀 word ".repeat(2000);
        let parts = split_for_platform(&text, 4096);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| utf16_len(p) <= 4096));
        let words: usize = parts.iter().map(|p| p.split_whitespace().count()).sum();
        assert_eq!(words, 4000);
    }

    #[test]
    fn never_splits_inside_a_surrogate_pair() {
        let parts = split_for_platform("😀😀😀", 3);
        assert_eq!(parts, vec!["😀", "😀", "😀"]);
    }
}
