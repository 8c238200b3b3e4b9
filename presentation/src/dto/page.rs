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
        if let Some(cursor) = &self.cursor {
            if uuid::Uuid::try_parse(cursor).is_err() {
                return Err(ApiError::InvalidQuery(
                    "cursor: not a cursor this API gave out".into(),
                ));
            }
        }
        Ok(PageRequest::new(
            self.cursor.clone().map(Cursor),
            self.limit,
        ))
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

impl<T> ListBody<T> {
    pub fn from_items<D>(items: impl IntoIterator<Item = D>) -> Self
    where
        T: From<D>,
    {
        Self {
            items: items.into_iter().map(T::from).collect(),
        }
    }
}
