//! Listings of the commands that work on the database directly: every page, then a table or JSON lines.

use crate::commands::CommandError;
use chrono::{DateTime, SecondsFormat, Utc};
use domain::{Page, PageRequest};
use serde::Serialize;
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

/// A header line, then one line per row, columns aligned two spaces apart.
pub fn table<const N: usize>(
    columns: [&str; N],
    rows: impl IntoIterator<Item = [String; N]>,
) -> String {
    let rows: Vec<[String; N]> = std::iter::once(columns.map(String::from))
        .chain(rows)
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
