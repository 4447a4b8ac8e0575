//! The audit log: events of the embedder's type, kept beside the store's state and found by
//! instant, principal and key.
//!
//! The log is not part of the store contract (the facade's `AuditSink` is where events go);
//! it is what a self-contained deployment, such as the `keygate` command, persists them in. The
//! event type is the caller's: anything that serialises, stored as JSON.

use keygate_core::{KeyId, PrincipalId, Timestamp};
use keygate_store::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::any::AnyArguments;
use sqlx::{Arguments, AssertSqlSafe};

use crate::SqlStore;
use crate::codec::{from_json, timestamp_from_db, to_json};
use crate::store::column;
use crate::writer::Writer;

/// Which entries of the audit log to read. Every field narrows; entries come oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditQuery {
    /// Entries at or after this instant.
    pub since: Option<Timestamp>,
    /// Entries about this principal.
    pub principal: Option<PrincipalId>,
    /// Entries about this key.
    pub key: Option<KeyId>,
    /// The most entries to return.
    pub limit: usize,
}

impl Default for AuditQuery {
    fn default() -> AuditQuery {
        AuditQuery { since: None, principal: None, key: None, limit: 1000 }
    }
}

impl AuditQuery {
    /// Entries at or after `since`.
    pub fn since(mut self, since: Timestamp) -> AuditQuery {
        self.since = Some(since);
        self
    }

    /// Entries about `principal`.
    pub fn about_principal(mut self, principal: PrincipalId) -> AuditQuery {
        self.principal = Some(principal);
        self
    }

    /// Entries about `key`.
    pub fn about_key(mut self, key: KeyId) -> AuditQuery {
        self.key = Some(key);
        self
    }

    /// At most `limit` entries (at least one).
    pub fn with_limit(mut self, limit: usize) -> AuditQuery {
        self.limit = limit.max(1);
        self
    }
}

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditEntry<T> {
    /// Its position in the log, from 1.
    pub id: i64,
    /// When the event happened.
    pub at: Timestamp,
    /// The event.
    pub event: T,
}

impl SqlStore {
    /// Appends `event`, which happened at `at`, to the audit log, to be found by `principal`
    /// and by each of `keys`. Returns its position.
    pub async fn append_audit<T: Serialize>(
        &self,
        at: Timestamp,
        principal: Option<&PrincipalId>,
        keys: &[KeyId],
        event: &T,
    ) -> Result<i64, StoreError> {
        // The feed's lock orders appends too: positions never collide.
        let mut w = Writer::begin(&self.shared).await?;
        let row = w
            .fetch_optional(sqlx::query(
                "SELECT COALESCE(MAX(id), 0) + 1 AS next FROM keygate_audit",
            ))
            .await?
            .ok_or(StoreError::Invalid("the audit log has no next position"))?;
        let id: i64 = column(&row, "next")?;
        w.execute(
            sqlx::query(
                "INSERT INTO keygate_audit (id, at, principal, event) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(at.unix())
            .bind(principal.map(|p| p.as_str().to_owned()))
            .bind(to_json(event)?),
        )
        .await?;
        let mut keys = keys.to_vec();
        keys.sort();
        keys.dedup();
        for key in keys {
            w.execute(
                sqlx::query("INSERT INTO keygate_audit_keys (key_id, entry) VALUES ($1, $2)")
                    .bind(key.to_string())
                    .bind(id),
            )
            .await?;
        }
        w.commit().await?;
        Ok(id)
    }

    /// The entries of the audit log that `query` selects, oldest first.
    pub async fn audit_log<T: DeserializeOwned>(
        &self,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry<T>>, StoreError> {
        let mut sql = String::from("SELECT id, at, event FROM keygate_audit WHERE 1 = 1");
        let mut arguments = AnyArguments::default();
        let bound = |result: Result<(), _>| result.map_err(|_| StoreError::Invalid("unbindable"));
        // Only fixed text and placeholders go into the statement; values are bound.
        if let Some(since) = query.since {
            bound(arguments.add(since.unix()))?;
            sql.push_str(&format!(" AND at >= ${}", arguments.len()));
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
        sql.push_str(&format!(" ORDER BY id LIMIT ${}", arguments.len()));
        let rows = self.shared.fetch_all(sqlx::query_with(AssertSqlSafe(sql), arguments)).await?;
        rows.iter()
            .map(|row| {
                let id: i64 = column(row, "id")?;
                let at = timestamp_from_db("audit entry", column(row, "at")?)?;
                let event = from_json("audit entry", id, &column::<String>(row, "event")?)?;
                Ok(AuditEntry { id, at, event })
            })
            .collect()
    }
}
