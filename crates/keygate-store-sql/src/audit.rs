//! The audit log: each change's [`AuditRecord`], appended in the change's own transaction, and
//! found by instant, principal and key; and the policy, whose changes it records.

use std::collections::BTreeMap;

use async_trait::async_trait;
use keygate_core::{KeyId, KeyPolicy};
use keygate_store::{
    AuditEntry, AuditLog, AuditQuery, AuditRecord, KeyUse, PolicyStore, StoreError, UsageStore,
};
use sqlx::any::AnyArguments;
use sqlx::{Arguments, AssertSqlSafe};

use crate::SqlStore;
use crate::codec::{from_json, timestamp_from_db, to_json};
use crate::error::driver;
use crate::store::column;
use crate::writer::Writer;

impl Writer<'_> {
    /// Appends `record`, filed under `keys` too, at the log's next position. A refused record
    /// or a failed statement fails the write, and with it the change being recorded. The feed's
    /// lock, held since [`Writer::begin`], orders appends: positions never collide.
    pub(crate) async fn audit(
        &mut self,
        record: Option<&AuditRecord>,
        keys: impl IntoIterator<Item = KeyId>,
    ) -> Result<(), StoreError> {
        let Some(record) = record else { return Ok(()) };
        record.check()?;
        let record = record.clone().with_keys(keys);
        let row = self
            .fetch_optional(sqlx::query(
                "SELECT COALESCE(MAX(id), 0) + 1 AS next FROM keygate_audit",
            ))
            .await?
            .ok_or(StoreError::Invalid("the audit log has no next position"))?;
        let id: i64 = column(&row, "next")?;
        self.execute(
            sqlx::query(
                "INSERT INTO keygate_audit (id, at, principal, action, event) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(record.at.unix())
            .bind(record.principal.as_ref().map(|p| p.as_str().to_owned()))
            .bind(record.action)
            .bind(record.event),
        )
        .await?;
        for key in record.keys {
            self.execute(
                sqlx::query("INSERT INTO keygate_audit_keys (key_id, entry) VALUES ($1, $2)")
                    .bind(key.to_string())
                    .bind(id),
            )
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl PolicyStore for SqlStore {
    async fn policy(&self) -> Result<Option<KeyPolicy>, StoreError> {
        let row =
            self.shared.fetch_optional(sqlx::query("SELECT policy FROM keygate_policy")).await?;
        match row {
            Some(row) => Ok(Some(from_json("policy", 1, &column::<String>(&row, "policy")?)?)),
            None => Ok(None),
        }
    }

    async fn set_policy(
        &self,
        policy: &KeyPolicy,
        audit: Option<&AuditRecord>,
    ) -> Result<(), StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        w.execute(sqlx::query("DELETE FROM keygate_policy")).await?;
        w.execute(
            sqlx::query("INSERT INTO keygate_policy (id, policy) VALUES (1, $1)")
                .bind(to_json(policy)?),
        )
        .await?;
        w.audit(audit, []).await?;
        w.commit().await
    }
}

#[async_trait]
impl UsageStore for SqlStore {
    async fn record_key_uses(&self, uses: &[KeyUse]) -> Result<(), StoreError> {
        if uses.is_empty() {
            return Ok(());
        }
        // Not a change: no feed lock, only a transaction of upserts that move forward.
        let backend = self.shared.backend;
        let mut tx = self.shared.pool.begin().await.map_err(|e| driver(backend, e))?;
        for used in uses {
            sqlx::query(
                "INSERT INTO keygate_key_uses (key_id, at, resource) VALUES ($1, $2, $3) \
                 ON CONFLICT (key_id) DO UPDATE SET at = excluded.at, resource = excluded.resource \
                 WHERE excluded.at > keygate_key_uses.at",
            )
            .bind(used.key.to_string())
            .bind(used.at.unix())
            .bind(used.resource.as_ref().map(|r| r.as_str().to_owned()))
            .execute(&mut *tx)
            .await
            .map_err(|e| driver(backend, e))?;
        }
        tx.commit().await.map_err(|e| driver(backend, e).into())
    }

    async fn key_uses(&self) -> Result<Vec<KeyUse>, StoreError> {
        let rows = self
            .shared
            .fetch_all(sqlx::query(
                "SELECT key_id, at, resource FROM keygate_key_uses ORDER BY key_id",
            ))
            .await?;
        rows.iter().map(key_use).collect()
    }

    async fn key_uses_of(&self, keys: &[KeyId]) -> Result<Vec<KeyUse>, StoreError> {
        let mut uses = Vec::new();
        // In batches, each one statement with its ids bound.
        for batch in keys.chunks(500) {
            let mut arguments = AnyArguments::default();
            let mut placeholders = Vec::with_capacity(batch.len());
            for key in batch {
                arguments.add(key.to_string()).map_err(|_| StoreError::Invalid("unbindable"))?;
                placeholders.push(format!("${}", arguments.len()));
            }
            let sql = format!(
                "SELECT key_id, at, resource FROM keygate_key_uses WHERE key_id IN ({}) \
                 ORDER BY key_id",
                placeholders.join(", ")
            );
            let rows =
                self.shared.fetch_all(sqlx::query_with(AssertSqlSafe(sql), arguments)).await?;
            for row in &rows {
                uses.push(key_use(row)?);
            }
        }
        uses.sort_by_key(|used| used.key);
        Ok(uses)
    }
}

/// A row of `keygate_key_uses`.
fn key_use(row: &sqlx::any::AnyRow) -> Result<KeyUse, StoreError> {
    let key = stored(&column::<String>(row, "key_id")?, "a key use names an invalid key")?;
    let at = timestamp_from_db("key use", column(row, "at")?)?;
    let resource: Option<String> = column(row, "resource")?;
    let resource =
        resource.map(|text| stored(&text, "a key use names an invalid resource")).transpose()?;
    Ok(KeyUse::new(key, at, resource))
}

#[async_trait]
impl AuditLog for SqlStore {
    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let mut sql =
            String::from("SELECT id, at, principal, action, event FROM keygate_audit WHERE 1 = 1");
        let mut arguments = AnyArguments::default();
        let bound = |result: Result<(), _>| result.map_err(|_| StoreError::Invalid("unbindable"));
        // Only fixed text and placeholders go into the statement; values are bound.
        if let Some(since) = query.since {
            bound(arguments.add(since.unix()))?;
            sql.push_str(&format!(" AND at >= ${}", arguments.len()));
        }
        if let Some(until) = query.until {
            bound(arguments.add(until.unix()))?;
            sql.push_str(&format!(" AND at < ${}", arguments.len()));
        }
        if let Some(before) = query.before {
            bound(arguments.add(i64::try_from(before).unwrap_or(i64::MAX)))?;
            sql.push_str(&format!(" AND id < ${}", arguments.len()));
        }
        if let Some(action) = &query.action {
            bound(arguments.add(action.clone()))?;
            sql.push_str(&format!(" AND action = ${}", arguments.len()));
        }
        if let Some(principal) = &query.principal {
            bound(arguments.add(principal.as_str().to_owned()))?;
            sql.push_str(&format!(" AND principal = ${}", arguments.len()));
        }
        if let Some(key) = query.key {
            bound(arguments.add(key.to_string()))?;
            sql.push_str(&format!(
                " AND id IN (SELECT entry FROM keygate_audit_keys WHERE key_id = ${})",
                arguments.len()
            ));
        }
        bound(arguments.add(i64::try_from(query.limit).unwrap_or(i64::MAX)))?;
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", arguments.len()));
        let rows = self.shared.fetch_all(sqlx::query_with(AssertSqlSafe(sql), arguments)).await?;
        let mut entries = BTreeMap::new();
        for row in &rows {
            let id: i64 = column(row, "id")?;
            let at = timestamp_from_db("audit entry", column(row, "at")?)?;
            let mut record = AuditRecord::new(at, column(row, "event")?);
            let action: Option<String> = column(row, "action")?;
            if let Some(action) = action {
                record = record.with_action(action);
            }
            let principal: Option<String> = column(row, "principal")?;
            if let Some(principal) = principal {
                record = record.with_principal(stored(
                    &principal,
                    "an audit entry names an invalid principal",
                )?);
            }
            entries.insert(id, record);
        }
        if let (Some(first), Some(last)) = (entries.keys().next(), entries.keys().next_back()) {
            let keys = self
                .shared
                .fetch_all(
                    sqlx::query(
                        "SELECT entry, key_id FROM keygate_audit_keys \
                         WHERE entry >= $1 AND entry <= $2 ORDER BY entry, key_id",
                    )
                    .bind(*first)
                    .bind(*last),
                )
                .await?;
            for row in &keys {
                let entry: i64 = column(row, "entry")?;
                if let Some(record) = entries.get_mut(&entry) {
                    let key: KeyId = stored(
                        &column::<String>(row, "key_id")?,
                        "an audit entry names an invalid key",
                    )?;
                    record.keys.push(key);
                }
            }
        }
        entries
            .into_iter()
            .map(|(id, record)| {
                let position = u64::try_from(id)
                    .map_err(|_| StoreError::Invalid("an audit entry at a negative position"))?;
                Ok(AuditEntry::new(position, record))
            })
            .collect()
    }
}

/// An id as the log stored it; one that does not parse is a corrupt row, reported as
/// `corrupt`.
fn stored<T: std::str::FromStr>(text: &str, corrupt: &'static str) -> Result<T, StoreError> {
    text.parse().map_err(|_| StoreError::Invalid(corrupt))
}
