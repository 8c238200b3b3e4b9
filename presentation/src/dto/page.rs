//! Cursor pagination on the wire: `?cursor=&limit=` in, `{items, next_cursor}` out.

use crate::errors::ApiError;
use domain::{Cursor, Page, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `?cursor=&limit=`; the limit is clamped to the domain's bounds.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page, 1-200 (default 50; larger values are clamped).
    pub limit: Option<u32>,
}

impl PageQuery {
    /// The page asked for; a cursor that is no id (cursors are ids) is a bad query (400).
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        let after = self
            .cursor
            .as_deref()
            .map(Cursor::parse)
            .transpose()
            .map_err(|err| ApiError::InvalidQuery(err.to_string()))?;
        Ok(PageRequest::new(after, self.limit))
    }
}

/// One page of items as JSON.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageBody<T> {
    pub items: Vec<T>,
    /// Pass as `?cursor=` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

impl<T> PageBody<T> {
    /// Converts each domain item into its body.
    pub fn from_page<D>(page: Page<D>) -> Self
    where
        T: From<D>,
    {
        let page = page.map(T::from);
        Self {
            items: page.items,
            next_cursor: page.next_cursor.map(|cursor| cursor.0),
        }
    }
}

/// A complete, unpaged list as JSON.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListBody<T> {
    pub items: Vec<T>,
}
