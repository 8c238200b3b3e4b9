//! Cursor paging in id order (ids are UUIDv7 text, so id order is creation order).

use crate::errors::repo_err;
use domain::{Page, PageRequest, RepoError};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select,
};

/// Reads the page of `query` after the request's cursor in `id`'s `order` (newest first with
/// [`Order::Desc`]), mapping each row.
pub(crate) async fn in_order<E, T>(
    db: &impl ConnectionTrait,
    query: Select<E>,
    (id, order): (E::Column, Order),
    page: &PageRequest,
    map: impl Fn(E::Model) -> Result<T, RepoError>,
    key: impl Fn(&T) -> String,
) -> Result<Page<T>, RepoError>
where
    E: EntityTrait,
{
    let mut query = query.order_by(id, order.clone());
    if let Some(after) = &page.after {
        let after = after.0.as_str();
        query = query.filter(match order {
            Order::Desc => id.lt(after),
            _ => id.gt(after),
        });
    }
    let rows = query
        .limit(page.fetch_limit())
        .all(db)
        .await
        .map_err(repo_err)?;
    let items = rows.into_iter().map(map).collect::<Result<_, _>>()?;
    Ok(Page::from_overfetch(items, page, key))
}
