//! [`IdempotencyStore`] on the `idempotency_keys` table: claims by insert-or-nothing, answers
//! kept until they expire, every later step guarded by the claim's token.

use crate::entities::idempotency_keys::{self, state, Column, Entity};
use crate::errors::{corrupt, repo_err};
use crate::mapping::{from_json, millis, to_json};
use crate::SeaStore;
use application::ports::{
    Claim, ClaimTimes, ClaimToken, IdempotencyStore, IdempotentRequest, StoredResponse,
};
use async_trait::async_trait;
use domain::RepoError;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

/// The record of this request's scope and key.
fn this_key(request: &IdempotentRequest) -> Condition {
    Condition::all()
        .add(Column::Scope.eq(request.scope.as_str()))
        .add(Column::IdempotencyKey.eq(request.key.as_str()))
}

/// The record while `token` still holds its running claim.
fn held(request: &IdempotentRequest, token: &ClaimToken) -> Condition {
    this_key(request)
        .add(Column::ClaimToken.eq(token.0.as_str()))
        .add(Column::State.eq(state::RUNNING))
}

fn claim_row(
    request: &IdempotentRequest,
    token: &ClaimToken,
    times: ClaimTimes,
) -> idempotency_keys::ActiveModel {
    idempotency_keys::ActiveModel {
        scope: Set(request.scope.clone()),
        idempotency_key: Set(request.key.clone()),
        fingerprint: Set(request.fingerprint.clone()),
        state: Set(state::RUNNING.to_owned()),
        claim_token: Set(Some(token.0.clone())),
        locked_until: Set(Some(millis(times.held_until))),
        status: Set(None),
        headers: Set(None),
        body: Set(None),
        created_at: Set(millis(times.now)),
        expires_at: Set(millis(times.expires_at)),
    }
}

fn stored_response(row: idempotency_keys::Model) -> Result<StoredResponse, RepoError> {
    let status = row
        .status
        .ok_or_else(|| corrupt("idempotency_keys.status", "missing on a completed record"))?;
    let headers = row.headers.as_deref().unwrap_or("[]");
    Ok(StoredResponse {
        status: u16::try_from(status).map_err(|e| corrupt("idempotency_keys.status", e))?,
        headers: from_json("idempotency_keys.headers", headers)?,
        body: row.body,
    })
}

/// Whether a running claim's holder has had its time (it is presumed dead).
fn abandoned(row: &idempotency_keys::Model, times: ClaimTimes) -> bool {
    row.locked_until
        .is_some_and(|until| until < millis(times.now))
}

impl SeaStore {
    async fn purge_expired(&self, times: ClaimTimes) -> Result<(), RepoError> {
        Entity::delete_many()
            .filter(Column::ExpiresAt.lte(millis(times.now)))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(())
    }

    /// Inserts a running claim unless the key has a record; `true` when inserted.
    async fn insert_claim(
        &self,
        request: &IdempotentRequest,
        token: &ClaimToken,
        times: ClaimTimes,
    ) -> Result<bool, RepoError> {
        let first_use = OnConflict::columns([Column::Scope, Column::IdempotencyKey])
            .do_nothing()
            .to_owned();
        let inserted = Entity::insert(claim_row(request, token, times))
            .on_conflict(first_use)
            .exec_without_returning(self.db())
            .await
            .map_err(repo_err)?;
        Ok(inserted > 0)
    }

    async fn record_of(
        &self,
        request: &IdempotentRequest,
    ) -> Result<Option<idempotency_keys::Model>, RepoError> {
        Entity::find()
            .filter(this_key(request))
            .one(self.db())
            .await
            .map_err(repo_err)
    }

    /// Moves an abandoned claim to `token`, unless someone else did first.
    async fn take_over(
        &self,
        row: &idempotency_keys::Model,
        request: &IdempotentRequest,
        token: &ClaimToken,
        times: ClaimTimes,
    ) -> Result<bool, RepoError> {
        let Some(previous) = &row.claim_token else {
            return Ok(false);
        };
        let result = Entity::update_many()
            .col_expr(Column::ClaimToken, Expr::value(token.0.as_str()))
            .col_expr(Column::LockedUntil, Expr::value(millis(times.held_until)))
            .filter(held(request, &ClaimToken(previous.clone())))
            .filter(Column::LockedUntil.lt(millis(times.now)))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }

    /// What an existing record means for `request`.
    async fn judge(
        &self,
        row: idempotency_keys::Model,
        request: &IdempotentRequest,
        token: ClaimToken,
        times: ClaimTimes,
    ) -> Result<Claim, RepoError> {
        if row.fingerprint != request.fingerprint {
            return Ok(Claim::Mismatch);
        }
        if row.state == state::COMPLETED {
            return stored_response(row).map(Claim::Completed);
        }
        if abandoned(&row, times) && self.take_over(&row, request, &token, times).await? {
            return Ok(Claim::Acquired(token));
        }
        Ok(Claim::InProgress)
    }
}

#[async_trait]
impl IdempotencyStore for SeaStore {
    async fn claim(
        &self,
        request: &IdempotentRequest,
        times: ClaimTimes,
    ) -> Result<Claim, RepoError> {
        self.purge_expired(times).await?;
        let token = ClaimToken(uuid::Uuid::new_v4().to_string());
        // A record released between the insert and the read is claimed on the second try.
        for _ in 0..2 {
            if self.insert_claim(request, &token, times).await? {
                return Ok(Claim::Acquired(token));
            }
            if let Some(row) = self.record_of(request).await? {
                return self.judge(row, request, token, times).await;
            }
        }
        Ok(Claim::InProgress)
    }

    async fn complete(
        &self,
        request: &IdempotentRequest,
        token: &ClaimToken,
        response: &StoredResponse,
    ) -> Result<bool, RepoError> {
        let result = Entity::update_many()
            .col_expr(Column::State, Expr::value(state::COMPLETED))
            .col_expr(Column::Status, Expr::value(i32::from(response.status)))
            .col_expr(Column::Headers, Expr::value(to_json(&response.headers)?))
            .col_expr(Column::Body, Expr::value(response.body.clone()))
            .col_expr(Column::ClaimToken, Expr::value(Option::<String>::None))
            .col_expr(Column::LockedUntil, Expr::value(Option::<i64>::None))
            .filter(held(request, token))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn release(
        &self,
        request: &IdempotentRequest,
        token: &ClaimToken,
    ) -> Result<bool, RepoError> {
        let result = Entity::delete_many()
            .filter(held(request, token))
            .exec(self.db())
            .await
            .map_err(repo_err)?;
        Ok(result.rows_affected > 0)
    }
}
