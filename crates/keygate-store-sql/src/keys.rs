//! [`KeyStore`] on SQL.

use async_trait::async_trait;
use keygate_core::{
    Description, Expiry, KeyId, KeyRecord, KeyState, ResourceKind, ResourceRef, Scope, Timestamp,
};
use keygate_store::backend::{
    change_state, check_quota, check_resource_quota, revoked_with_resource, rotation, shorten,
};
use keygate_store::{
    AuditRecord, ChangeEvent, KeyFilter, KeyStore, Page, PageRequest, Quota, Rotated, Seq,
    StoreError,
};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Arguments};

use crate::SqlStore;
use crate::codec::to_json;
use crate::store::column;
use crate::writer::{Writer, decode_key};

/// Rows read per round trip when a listing filters by status, which SQL cannot evaluate.
const SCAN_BATCH: usize = 256;

#[async_trait]
impl KeyStore for SqlStore {
    async fn insert_key(
        &self,
        key: &KeyRecord,
        quota: Quota,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        w.check_insert(key, quota).await?;
        let seq = w.insert_key(key).await?;
        w.audit(audit, []).await?;
        w.commit().await?;
        Ok(seq)
    }

    async fn key(&self, id: KeyId) -> Result<KeyRecord, StoreError> {
        let row = self
            .shared
            .fetch_optional(
                sqlx::query("SELECT record FROM keygate_keys WHERE id = $1").bind(id.to_string()),
            )
            .await?
            .ok_or_else(|| StoreError::not_found("key", id))?;
        decode_key(id, &row)
    }

    async fn list_keys(
        &self,
        filter: &KeyFilter,
        page: &PageRequest<KeyId>,
    ) -> Result<Page<KeyRecord, KeyId>, StoreError> {
        // Owner and resource narrow in SQL; status depends on the instant, so it is evaluated
        // here, reading on in id order until the page is full or the keys run out.
        let batch = if filter.status.is_some() { page.limit.max(SCAN_BATCH) } else { page.limit };
        let mut items = Vec::new();
        let mut after = page.after;
        loop {
            let rows = self.shared.fetch_all(list_query(filter, after, batch)?).await?;
            let full = rows.len() == batch;
            for row in &rows {
                let id: String = column(row, "id")?;
                let key = decode_key(&id, row)?;
                after = Some(key.id());
                if filter.matches(&key) {
                    items.push(key);
                    if items.len() == page.limit {
                        let next = items.last().map(KeyRecord::id);
                        return Ok(Page::new(items, next));
                    }
                }
            }
            if !full {
                return Ok(Page::new(items, None));
            }
        }
    }

    async fn update_description(
        &self,
        id: KeyId,
        description: &Description,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<KeyRecord, StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        let mut key = w.key(id).await?;
        key.set_description(description.clone());
        let key = w.update_key(key, at).await?;
        w.audit(audit, []).await?;
        w.commit().await?;
        Ok(key)
    }

    async fn compare_and_set_state(
        &self,
        id: KeyId,
        expected: &KeyState,
        new: &KeyState,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<KeyRecord, StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        let next = change_state(&w.key(id).await?, expected, new)?;
        let key = w.update_key(next, at).await?;
        w.audit(audit, []).await?;
        w.commit().await?;
        Ok(key)
    }

    async fn shorten_expiry(
        &self,
        id: KeyId,
        expires: Expiry,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<KeyRecord, StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        let next = shorten(&w.key(id).await?, expires)?;
        let key = w.update_key(next, at).await?;
        w.audit(audit, []).await?;
        w.commit().await?;
        Ok(key)
    }

    async fn rotate_key(
        &self,
        replacement: &KeyRecord,
        old_expires: Expiry,
        quota: Quota,
        audit: Option<&AuditRecord>,
    ) -> Result<Rotated, StoreError> {
        let old_id = replacement
            .replaces()
            .ok_or(StoreError::Invalid("the replacement does not name the key it replaces"))?;
        let mut w = Writer::begin(&self.shared).await?;
        let old = rotation(&w.key(old_id).await?, replacement, old_expires)?;
        w.check_insert(replacement, quota).await?;
        let old = w.update_key(old, replacement.created_at()).await?;
        w.insert_key(replacement).await?;
        w.audit(audit, []).await?;
        w.commit().await?;
        Ok(Rotated::new(old, replacement.clone()))
    }

    async fn delete_resource(
        &self,
        resource: &ResourceRef,
        reason: &Description,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        // The parts of a resource (a tenant's namespaces) share a prefix: `pulsar-namespace/`
        // and the tenant's id. Compared with substr, not LIKE, whose wildcards ids may hold.
        let query = if resource.is_kind(&ResourceKind::PULSAR_TENANT) {
            let parts = format!("{}/{}/", ResourceKind::PULSAR_NAMESPACE.as_str(), resource.id());
            let length = i32::try_from(parts.len())
                .map_err(|_| StoreError::Invalid("a resource id too long"))?;
            sqlx::query(
                "SELECT id, record FROM keygate_keys \
                 WHERE resource = $1 OR substr(resource, 1, $2) = $3 ORDER BY id",
            )
            .bind(resource.as_str())
            .bind(length)
            .bind(parts)
        } else {
            sqlx::query("SELECT id, record FROM keygate_keys WHERE resource = $1 ORDER BY id")
                .bind(resource.as_str())
        };
        let rows = w.fetch_all(query).await?;
        let mut revoked = Vec::new();
        for row in &rows {
            let id: String = column(row, "id")?;
            if let Some(key) = revoked_with_resource(&decode_key(&id, row)?, at, reason) {
                revoked.push(w.update_key(key, at).await?);
            }
        }
        w.audit(audit, revoked.iter().map(KeyRecord::id)).await?;
        // The first deletion's time is kept.
        w.execute(
            sqlx::query(
                "INSERT INTO keygate_deleted_resources (resource, at) VALUES ($1, $2) \
                 ON CONFLICT (resource) DO NOTHING",
            )
            .bind(resource.as_str())
            .bind(at.unix()),
        )
        .await?;
        w.commit().await?;
        Ok(revoked)
    }

    async fn restore_resource(
        &self,
        resource: &ResourceRef,
        audit: Option<&AuditRecord>,
    ) -> Result<bool, StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        let deleted = w
            .fetch_optional(
                sqlx::query(
                    "DELETE FROM keygate_deleted_resources WHERE resource = $1 RETURNING at",
                )
                .bind(resource.as_str()),
            )
            .await?
            .is_some();
        w.audit(audit, []).await?;
        w.commit().await?;
        Ok(deleted)
    }

    async fn deleted_resources(&self) -> Result<Vec<(ResourceRef, Timestamp)>, StoreError> {
        let rows = self
            .shared
            .fetch_all(sqlx::query(
                "SELECT resource, at FROM keygate_deleted_resources ORDER BY resource",
            ))
            .await?;
        rows.iter()
            .map(|row| {
                let resource: String = column(row, "resource")?;
                let at: i64 = column(row, "at")?;
                let resource = resource
                    .parse()
                    .map_err(|_| StoreError::Invalid("a deleted resource the store cannot read"))?;
                let at = Timestamp::from_unix(at)
                    .map_err(|_| StoreError::Invalid("a deletion time the store cannot read"))?;
                Ok((resource, at))
            })
            .collect()
    }

    async fn delete_key(
        &self,
        id: KeyId,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<KeyRecord, StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        let key = w.key(id).await?;
        w.delete_key(&key, at).await?;
        w.audit(audit, []).await?;
        w.commit().await?;
        Ok(key)
    }
}

impl Writer<'_> {
    /// Checks that `key` may be inserted: its owner exists, its id is new, the quota holds.
    async fn check_insert(&mut self, key: &KeyRecord, quota: Quota) -> Result<(), StoreError> {
        if self.principal(key.owner()).await?.is_none() {
            return Err(StoreError::not_found("principal", key.owner()));
        }
        let existing = self
            .fetch_optional(
                sqlx::query("SELECT 1 FROM keygate_keys WHERE id = $1").bind(key.id().to_string()),
            )
            .await?;
        if existing.is_some() {
            return Err(StoreError::already_exists("key", key.id()));
        }
        if let Some(name) = key.name() {
            // A replacement takes the name of the key it replaces.
            let holder = self
                .fetch_optional(
                    sqlx::query(
                        "SELECT id FROM keygate_keys WHERE owner = $1 AND name = $2 AND id <> $3",
                    )
                    .bind(key.owner().as_str())
                    .bind(name.as_str())
                    .bind(key.replaces().map(|id| id.to_string()).unwrap_or_default()),
                )
                .await?;
            if holder.is_some() {
                return Err(StoreError::already_exists("key name", name));
            }
        }
        if let Scope::Resource(resource) = key.scope() {
            // Read in the insert's transaction, so a deletion cannot slip in between.
            let whole = resource.whole();
            let tenant = whole.as_ref().unwrap_or(resource);
            let deleted = self
                .fetch_optional(
                    sqlx::query(
                        "SELECT resource FROM keygate_deleted_resources \
                         WHERE resource = $1 OR resource = $2",
                    )
                    .bind(resource.as_str())
                    .bind(tenant.as_str()),
                )
                .await?;
            if let Some(row) = deleted {
                let resource: String = column(&row, "resource")?;
                return Err(StoreError::ResourceDeleted { resource });
            }
        }
        let rows = self
            .fetch_all(
                sqlx::query("SELECT id, record FROM keygate_keys WHERE owner = $1")
                    .bind(key.owner().as_str()),
            )
            .await?;
        check_quota(quota, live_among(&rows, quota)?)?;
        if let (Some(_), Scope::Resource(resource)) = (quota.per_resource, key.scope()) {
            let rows = self
                .fetch_all(
                    sqlx::query("SELECT id, record FROM keygate_keys WHERE resource = $1")
                        .bind(resource.as_str()),
                )
                .await?;
            check_resource_quota(key, quota, live_among(&rows, quota)?)?;
        }
        Ok(())
    }

    /// Inserts `key` and records `KeyCreated`.
    async fn insert_key(&mut self, key: &KeyRecord) -> Result<Seq, StoreError> {
        let resource = match key.scope() {
            Scope::Resource(resource) => Some(resource.as_str().to_owned()),
            _ => None,
        };
        self.execute(
            sqlx::query(
                "INSERT INTO keygate_keys (id, owner, resource, name, record) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(key.id().to_string())
            .bind(key.owner().as_str())
            .bind(resource)
            .bind(key.name().map(|name| name.as_str().to_owned()))
            .bind(to_json(key)?),
        )
        .await?;
        self.record(key.created_at(), &ChangeEvent::KeyCreated { key: key.clone() }).await
    }
}

/// How many of the keys in `rows` count toward a quota at `quota.now`.
fn live_among(rows: &[AnyRow], quota: Quota) -> Result<usize, StoreError> {
    let mut live = 0;
    for row in rows {
        let id: String = column(row, "id")?;
        if decode_key(&id, row)?.counts_toward_quota(quota.now) {
            live += 1;
        }
    }
    Ok(live)
}

/// Keys after `after` that pass the filter's owner and resource, in id order.
fn list_query(
    filter: &KeyFilter,
    after: Option<KeyId>,
    limit: usize,
) -> Result<sqlx::query::Query<'static, Any, AnyArguments>, StoreError> {
    let mut sql = String::from("SELECT id, record FROM keygate_keys WHERE 1 = 1");
    let mut arguments = AnyArguments::default();
    let mut bind = |sql: &mut String, condition: &str, value: Option<String>| {
        if let Some(value) = value {
            // Only fixed text and placeholders go into the statement; values are bound.
            arguments.add(value).map_err(|_| StoreError::Invalid("unbindable filter"))?;
            sql.push_str(&format!(" AND {condition} ${}", arguments.len()));
        }
        Ok::<_, StoreError>(())
    };
    bind(&mut sql, "owner =", filter.owner.as_ref().map(|owner| owner.as_str().to_owned()))?;
    bind(&mut sql, "resource =", filter.resource.as_ref().map(|r| r.as_str().to_owned()))?;
    bind(&mut sql, "name =", filter.name.as_ref().map(|name| name.as_str().to_owned()))?;
    bind(&mut sql, "id >", after.map(|id| id.to_string()))?;
    arguments
        .add(i64::try_from(limit).unwrap_or(i64::MAX))
        .map_err(|_| StoreError::Invalid("unbindable limit"))?;
    sql.push_str(&format!(" ORDER BY id LIMIT ${}", arguments.len()));
    Ok(sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments))
}
