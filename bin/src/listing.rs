//! Listings of the commands that work on the database directly: every page, then a table or JSON lines.

use crate::commands::CommandError;
use chrono::{DateTime, SecondsFormat, Utc};
use domain::{Page, PageRequest};
use serde::Serialize;
use std::borrow::Cow;
use std::fmt::Display;
use std::future::Future;

/// Every item of a paged listing, reading the largest pages allowed; `what` names the items
/// in an error.
pub async fn all_pages<T, E, F, Fut>(what: &str, mut fetch: F) -> Result<Vec<T>, CommandError>
where
    E: Display,
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, E>>,
{
    let limit = Some(PageRequest::MAX_LIMIT);
    let mut request = PageRequest::new(None, limit);
    let mut all = Vec::new();
    loop {
        let page = fetch(request)
            .await
            .map_err(|e| CommandError::Failed(format!("cannot list the {what}: {e}")))?;
        all.extend(page.items);
        let Some(cursor) = page.next_cursor else {
            return Ok(all);
        };
        request = PageRequest::new(Some(cursor), limit);
    }
}

/// Prints `items` as JSON lines of their API body `B` with `json`, else as a table of `row`s
/// under `columns`.
pub fn print_listing<T, B, const N: usize>(
    items: Vec<T>,
    json: bool,
    columns: [&str; N],
    row: impl Fn(&T) -> [String; N],
) -> Result<(), CommandError>
where
    B: Serialize + From<T>,
{
    if !json {
        print!("{}", table(columns, items.iter().map(row)));
        return Ok(());
    }
    for item in items {
        let line = serde_json::to_string(&B::from(item))
            .map_err(|e| CommandError::Failed(e.to_string()))?;
        println!("{line}");
    }
    Ok(())
}

/// A time to the second, or `-` for none.
pub fn when(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "-".to_owned(),
        |at| at.to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

/// `value` as it may be printed: control characters escaped (`\n`, `\u{1b}`) and backslashes
/// doubled, so that a stored string can neither drive the terminal nor fake a row of its own.
pub fn printable(value: &str) -> Cow<'_, str> {
    let plain = |c: char| !c.is_control() && c != '\\';
    if value.chars().all(plain) {
        return Cow::Borrowed(value);
    }
    let mut escaped = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if plain(c) {
            escaped.push(c);
        } else {
            escaped.extend(c.escape_debug());
        }
    }
    Cow::Owned(escaped)
}

/// A header line, then one line per row, columns aligned two spaces apart; each cell
/// [`printable`].
pub fn table<const N: usize>(
    columns: [&str; N],
    rows: impl IntoIterator<Item = [String; N]>,
) -> String {
    let rows: Vec<[String; N]> = std::iter::once(columns.map(String::from))
        .chain(rows)
        .map(|cells| cells.map(|cell| printable(&cell).into_owned()))
        .collect();
    let widths: [usize; N] = std::array::from_fn(|col| {
        rows.iter()
            .map(|r| r[col].chars().count())
            .max()
            .unwrap_or(0)
    });
    rows.iter()
        .map(|cells| {
            let padded: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            format!("{}\n", padded.join("  ").trim_end())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_strings_are_printed_with_their_control_characters_escaped() {
        assert!(matches!(printable("Ada é 漢"), Cow::Borrowed("Ada é 漢")));
        assert_eq!(
            printable("a\u{1b}[31mred\r\nfake\trow\0\u{7f}\u{9b}"),
            r"a\u{1b}[31mred\r\nfake\trow\0\u{7f}\u{9b}"
        );
        assert_eq!(
            printable(r"a\nb"),
            r"a\\nb",
            "a literal backslash is told apart"
        );
    }

    #[test]
    fn a_name_cannot_recolour_the_terminal_or_fake_a_row() {
        let forged = "Ada\u{1b}[2J\nID  NAME\r".to_owned();
        let text = table(["ID", "NAME"], [["1".to_owned(), forged]]);
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
        assert!(
            text.ends_with("1   Ada\\u{1b}[2J\\nID  NAME\\r\n"),
            "{text:?}"
        );
    }
}
