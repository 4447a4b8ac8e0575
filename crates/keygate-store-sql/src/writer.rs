//! The one way to write: a transaction that holds the feed's head from its first statement to
//! its commit.

use keygate_core::{KeyId, KeyRecord, Timestamp};
use keygate_revocation::Revocation;
use keygate_store::backend::deletion_tombstone;
use keygate_store::{ChangeEvent, Seq, StoreError};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Transaction};

use crate::SqlError;
use crate::codec::{expiry_to_db, from_json, seq_from_db, seq_to_db, to_json};
use crate::error::driver;
use crate::store::{Shared, column};

/// A write transaction: begun by locking the change feed's head, so writers queue there and
/// take sequence numbers in commit order; committed with the head moved past its changes.
/// Dropped without [`Writer::commit`] (an error returned early, a cancelled future), it rolls
/// back, leaving nothing behind.
pub(crate) struct Writer<'s> {
    shared: &'s Shared,
    tx: Transaction<'static, Any>,
    head: Seq,
    compacted_through: Seq,
    start: (Seq, Seq),
    #[cfg(feature = "fault-injection")]
    fault: Option<crate::fault::Armed>,
}

impl<'s> Writer<'s> {
    /// Begins a write, waiting for writers ahead of it.
    pub(crate) async fn begin(shared: &'s Shared) -> Result<Writer<'s>, StoreError> {
        let backend = shared.backend;
        let mut tx =
            shared.pool.begin_with(backend.begin_write()).await.map_err(|e| driver(backend, e))?;
        let row = sqlx::query(backend.lock_feed())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| driver(backend, e))?;
        let head = seq_from_db(column(&row, "head")?)?;
        let compacted_through = seq_from_db(column(&row, "compacted_through")?)?;
        Ok(Writer {
            shared,
            tx,
            head,
            compacted_through,
            start: (head, compacted_through),
            #[cfg(feature = "fault-injection")]
            fault: shared.fault.take(),
        })
    }

    /// The head as this transaction sees it, including its own changes.
    pub(crate) fn head(&self) -> Seq {
        self.head
    }

    /// Runs a statement that writes, and returns how many rows it touched.
    pub(crate) async fn execute(
        &mut self,
        query: Query<'_, Any, AnyArguments>,
    ) -> Result<u64, StoreError> {
        #[cfg(feature = "fault-injection")]
        if let Some(fault) = &mut self.fault {
            fault.before_write(&mut self.tx, self.shared.backend).await?;
        }
        let done = query.execute(&mut *self.tx).await.map_err(|e| self.error(e))?;
        Ok(done.rows_affected())
    }

    /// Runs a query that reads at most one row.
    pub(crate) async fn fetch_optional(
        &mut self,
        query: Query<'_, Any, AnyArguments>,
    ) -> Result<Option<AnyRow>, StoreError> {
        query.fetch_optional(&mut *self.tx).await.map_err(|e| self.error(e).into())
    }

    /// Runs a query that reads any number of rows.
    pub(crate) async fn fetch_all(
        &mut self,
        query: Query<'_, Any, AnyArguments>,
    ) -> Result<Vec<AnyRow>, StoreError> {
        query.fetch_all(&mut *self.tx).await.map_err(|e| self.error(e).into())
    }

    /// Appends `event` to the feed at the next position, and returns it.
    pub(crate) async fn record(
        &mut self,
        at: Timestamp,
        event: &ChangeEvent,
    ) -> Result<Seq, StoreError> {
        let seq = self.head.next();
        let text = to_json(event)?;
        self.execute(
            sqlx::query("INSERT INTO keygate_changes (seq, at, event) VALUES ($1, $2, $3)")
                .bind(seq_to_db(seq))
                .bind(at.unix())
                .bind(text),
        )
        .await?;
        self.head = seq;
        Ok(seq)
    }

    /// Moves the head to `head` with nothing in the feed before it, as if compacted there: for
    /// an import, which loads rows rather than replaying changes.
    pub(crate) fn start_at(&mut self, head: Seq) {
        self.head = self.head.max(head);
        self.compacted_through = self.compacted_through.max(head);
    }

    /// Moves the start of the feed forward to `through`.
    pub(crate) fn set_compacted_through(&mut self, through: Seq) {
        self.compacted_through = self.compacted_through.max(through);
    }

    /// Makes every change of this transaction durable and visible at once.
    /// On PostgreSQL, a write that moved the feed sends `NOTIFY` in the same transaction, so
    /// the server announces it when, and only if, it commits; on SQLite the store's in-process
    /// signal is raised once the commit returns.
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        let moved = self.head != self.start.0;
        if moved && let Some(channel) = self.shared.notifications.channel() {
            self.execute(
                sqlx::query("SELECT CAST(pg_notify($1, $2) AS TEXT) AS sent")
                    .bind(channel.to_owned())
                    .bind(self.head.to_string()),
            )
            .await?;
        }
        if (self.head, self.compacted_through) != self.start {
            let head = seq_to_db(self.head);
            let compacted = seq_to_db(self.compacted_through);
            self.execute(
                sqlx::query(
                    "UPDATE keygate_feed SET head = $1, compacted_through = $2 WHERE id = 1",
                )
                .bind(head)
                .bind(compacted),
            )
            .await?;
        }
        let backend = self.shared.backend;
        self.tx.commit().await.map_err(|e| driver(backend, e))?;
        if moved {
            self.shared.notifications.committed();
        }
        Ok(())
    }

    // The rules shared by several operations.

    /// The key `id`, or `NotFound`.
    pub(crate) async fn key(&mut self, id: KeyId) -> Result<KeyRecord, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query("SELECT record FROM keygate_keys WHERE id = $1").bind(id.to_string()),
            )
            .await?
            .ok_or_else(|| StoreError::not_found("key", id))?;
        decode_key(id, &row)
    }

    /// Replaces a key's record and records `KeyUpdated`.
    pub(crate) async fn update_key(
        &mut self,
        key: KeyRecord,
        at: Timestamp,
    ) -> Result<KeyRecord, StoreError> {
        self.execute(
            sqlx::query("UPDATE keygate_keys SET record = $2, name = $3 WHERE id = $1")
                .bind(key.id().to_string())
                .bind(to_json(&key)?)
                .bind(key.name().map(|name| name.as_str().to_owned())),
        )
        .await?;
        self.record(at, &ChangeEvent::KeyUpdated { key: key.clone() }).await?;
        Ok(key)
    }

    /// Deletes a key: its tombstone first when it needs one, then `KeyDeleted`.
    pub(crate) async fn delete_key(
        &mut self,
        key: &KeyRecord,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        if let Some(tombstone) = deletion_tombstone(key, at) {
            self.revoke(&tombstone, at).await?;
        }
        self.execute(
            sqlx::query("DELETE FROM keygate_keys WHERE id = $1").bind(key.id().to_string()),
        )
        .await?;
        self.record(at, &ChangeEvent::KeyDeleted { key: key.clone() }).await?;
        Ok(())
    }

    /// Records a revocation, keyed by the position of its `Revoked` change.
    pub(crate) async fn revoke(
        &mut self,
        revocation: &Revocation,
        at: Timestamp,
    ) -> Result<Seq, StoreError> {
        let seq = self.record(at, &ChangeEvent::Revoked { revocation: revocation.clone() }).await?;
        self.execute(
            sqlx::query(
                "INSERT INTO keygate_revocations (seq, expires, entry) VALUES ($1, $2, $3)",
            )
            .bind(seq_to_db(seq))
            .bind(expiry_to_db(revocation.expires()))
            .bind(to_json(revocation)?),
        )
        .await?;
        Ok(seq)
    }

    fn error(&self, error: sqlx::Error) -> SqlError {
        driver(self.shared.backend, error)
    }
}

/// Decodes the `record` column of the row of key `id`.
pub(crate) fn decode_key(
    id: impl std::fmt::Display,
    row: &AnyRow,
) -> Result<KeyRecord, StoreError> {
    let text: String = column(row, "record")?;
    Ok(from_json("key", id, &text)?)
}
