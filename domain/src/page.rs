//! Cursor pagination: an opaque cursor (the last id seen) and a bounded page size.

use crate::ValidationError;
use serde::{Deserialize, Serialize};

/// The position after which the next page starts: the last item's id as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub String);

impl Cursor {
    /// A cursor as a client hands it back: the id of the last item seen, or an error.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        uuid::Uuid::try_parse(text)
            .map(|_| Self(text.to_owned()))
            .map_err(|_| ValidationError::new("cursor", "not a cursor this API gave out"))
    }
}

/// Which page to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<Cursor>,
    pub limit: u32,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 200;

    /// A request with the limit clamped to `1..=MAX_LIMIT`.
    pub fn new(after: Option<Cursor>, limit: Option<u32>) -> Self {
        let limit = limit
            .unwrap_or(Self::DEFAULT_LIMIT)
            .clamp(1, Self::MAX_LIMIT);
        Self { after, limit }
    }

    /// One more than the limit: reading it tells whether a next page exists.
    pub fn fetch_limit(&self) -> u64 {
        u64::from(self.limit) + 1
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::new(None, None)
    }
}

/// One page of items and the cursor of the next, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows, using `key` for the cursor.
    pub fn from_overfetch(
        mut rows: Vec<T>,
        request: &PageRequest,
        key: impl Fn(&T) -> String,
    ) -> Self {
        let limit = request.limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| Cursor(key(last)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_clamped() {
        assert_eq!(PageRequest::new(None, Some(0)).limit, 1);
        assert_eq!(
            PageRequest::new(None, Some(10_000)).limit,
            PageRequest::MAX_LIMIT
        );
        assert_eq!(
            PageRequest::new(None, None).limit,
            PageRequest::DEFAULT_LIMIT
        );
    }

    #[test]
    fn overfetch_yields_a_cursor_only_when_more_rows_exist() {
        let req = PageRequest::new(None, Some(2));
        let page = Page::from_overfetch(vec![1, 2, 3], &req, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor, Some(Cursor("2".into())));
        let last = Page::from_overfetch(vec![1, 2], &req, |n| n.to_string());
        assert_eq!(last.next_cursor, None);
    }
}
