//! [`AuditLog`] on the `audit_log` table: appended one row per admin write, listed newest first by id.

use crate::entities::audit_log::{ActiveModel, Column, Entity, Model};
use crate::errors::repo_err;
use crate::mapping::{from_json, millis, parse, time, to_json};
use crate::paging::in_order;
use crate::SeaStore;
use application::ports::{AuditEntry, AuditFilter, AuditLog};
use async_trait::async_trait;
use domain::{Page, PageRequest, RepoError};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, Condition, EntityTrait, Order, QueryFilter};

#[async_trait]
impl AuditLog for SeaStore {
    async fn append(&self, entry: &AuditEntry) -> Result<(), RepoError> {
        Entity::insert(row(entry)?)
            .exec_without_returning(self.db())
            .await
            .map_err(repo_err)?;
        Ok(())
    }

    async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, RepoError> {
        let query = Entity::find().filter(matching(filter));
        let key = |entry: &AuditEntry| entry.id.to_string();
        in_order(
            self.db(),
            query,
            (Column::Id, Order::Desc),
            page,
            entry,
            key,
        )
        .await
    }
}

fn matching(filter: &AuditFilter) -> Condition {
    let mut condition = Condition::all();
    if let Some(resource) = &filter.resource {
        let route = format!("/api/v1/{resource}");
        let under = format!("{route}/%");
        condition = condition.add(
            Condition::any()
                .add(Column::Route.eq(route))
                .add(Column::Route.like(under)),
        );
    }
    if let Some(key_id) = filter.key_id {
        condition = condition.add(Column::KeyId.eq(key_id.to_string()));
    }
    if let Some(since) = filter.since {
        condition = condition.add(Column::At.gte(millis(since)));
    }
    if let Some(until) = filter.until {
        condition = condition.add(Column::At.lt(millis(until)));
    }
    condition
}

fn row(entry: &AuditEntry) -> Result<ActiveModel, RepoError> {
    Ok(ActiveModel {
        id: Set(entry.id.to_string()),
        at: Set(millis(entry.at)),
        key_id: Set(entry.key_id.map(|id| id.to_string())),
        key_name: Set(entry.key_name.clone()),
        role: Set(entry.role.as_str().to_owned()),
        method: Set(entry.method.clone()),
        route: Set(entry.route.clone()),
        params: Set(to_json(&entry.params)?),
        fields: Set(to_json(&entry.fields)?),
        status: Set(i32::from(entry.status)),
        request_id: Set(entry.request_id.clone()),
        source_ip: Set(entry.source_ip.clone()),
    })
}

fn entry(row: Model) -> Result<AuditEntry, RepoError> {
    Ok(AuditEntry {
        id: parse("audit_log.id", &row.id)?,
        at: time("audit_log.at", row.at)?,
        key_id: row
            .key_id
            .as_deref()
            .map(|id| parse("audit_log.key_id", id))
            .transpose()?,
        key_name: row.key_name,
        role: parse("audit_log.role", &row.role)?,
        method: row.method,
        route: row.route,
        params: from_json("audit_log.params", &row.params)?,
        fields: from_json("audit_log.fields", &row.fields)?,
        status: u16::try_from(row.status).unwrap_or_default(),
        request_id: row.request_id,
        source_ip: row.source_ip,
    })
}
