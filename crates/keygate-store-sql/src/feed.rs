//! [`ChangeFeed`] on SQL.

use async_trait::async_trait;
use keygate_core::Principal;
use keygate_revocation::Revocation;
use keygate_store::{Change, ChangeFeed, ChangeWatch, Seq, StoreError, StoreSnapshot};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::codec::{from_json, seq_from_db, seq_to_db, timestamp_from_db};
use crate::error::driver;
use crate::store::column;
use crate::writer::{Writer, decode_key};
use crate::{Backend, SqlError, SqlStore};

#[async_trait]
impl ChangeFeed for SqlStore {
    async fn head(&self) -> Result<Seq, StoreError> {
        let row = self
            .shared
            .fetch_optional(sqlx::query("SELECT head FROM keygate_feed WHERE id = 1"))
            .await?
            .ok_or_else(missing_feed)?;
        Ok(seq_from_db(column(&row, "head")?)?)
    }

    async fn changes_since(&self, after: Seq, limit: usize) -> Result<Vec<Change>, StoreError> {
        let rows = self
            .shared
            .fetch_all(
                sqlx::query(
                    "SELECT seq, at, event FROM keygate_changes WHERE seq > $1 ORDER BY seq \
                     LIMIT $2",
                )
                .bind(seq_to_db(after))
                .bind(i64::try_from(limit).unwrap_or(i64::MAX)),
            )
            .await?;
        // The start of the feed is read after the changes: a compaction that ran before the
        // read above is seen here, so a gap it left is reported rather than returned.
        let row = self
            .shared
            .fetch_optional(sqlx::query("SELECT compacted_through FROM keygate_feed WHERE id = 1"))
            .await?
            .ok_or_else(missing_feed)?;
        let oldest = seq_from_db(column(&row, "compacted_through")?)?;
        if after < oldest {
            return Err(StoreError::ChangesCompacted { requested: after, oldest });
        }
        rows.iter().map(decode_change).collect()
    }

    async fn snapshot(&self) -> Result<StoreSnapshot, StoreError> {
        let backend = self.shared.backend;
        let mut tx = self
            .shared
            .pool
            .begin_with(backend.begin_snapshot())
            .await
            .map_err(|e| driver(backend, e))?;
        let head = read_all(&mut tx, backend, "SELECT head FROM keygate_feed WHERE id = 1").await?;
        let seq = match head.first() {
            Some(row) => seq_from_db(column(row, "head")?)?,
            None => return Err(missing_feed()),
        };
        let mut principals = Vec::new();
        for row in
            read_all(&mut tx, backend, "SELECT id, record FROM keygate_principals ORDER BY id")
                .await?
        {
            let id: String = column(&row, "id")?;
            principals.push(from_json::<Principal>(
                "principal",
                &id,
                &column::<String>(&row, "record")?,
            )?);
        }
        let mut keys = Vec::new();
        for row in
            read_all(&mut tx, backend, "SELECT id, record FROM keygate_keys ORDER BY id").await?
        {
            let id: String = column(&row, "id")?;
            keys.push(decode_key(&id, &row)?);
        }
        let mut revocations = Vec::new();
        for row in
            read_all(&mut tx, backend, "SELECT seq, entry FROM keygate_revocations ORDER BY seq")
                .await?
        {
            let seq: i64 = column(&row, "seq")?;
            revocations.push(from_json::<Revocation>(
                "revocation",
                seq,
                &column::<String>(&row, "entry")?,
            )?);
        }
        let signing_keys =
            read_all(&mut tx, backend, "SELECT kid, record FROM keygate_signing_keys ORDER BY kid")
                .await?
                .iter()
                .map(crate::signing::decode)
                .collect::<Result<Vec<_>, _>>()?;
        tx.commit().await.map_err(|e| driver(backend, e))?;
        Ok(StoreSnapshot::new(seq, principals, keys, revocations, signing_keys))
    }

    async fn compact(&self, through: Seq) -> Result<(), StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        let through = through.min(w.head());
        w.execute(
            sqlx::query("DELETE FROM keygate_changes WHERE seq <= $1").bind(seq_to_db(through)),
        )
        .await?;
        w.set_compacted_through(through);
        w.commit().await
    }

    fn watch(&self) -> Option<ChangeWatch> {
        self.shared.notifications.watch()
    }
}

/// Every row `sql` selects, inside the snapshot's transaction.
async fn read_all(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    sql: &'static str,
) -> Result<Vec<AnyRow>, StoreError> {
    sqlx::query(sql).fetch_all(&mut **tx).await.map_err(|e| driver(backend, e).into())
}

fn decode_change(row: &AnyRow) -> Result<Change, StoreError> {
    let seq = seq_from_db(column(row, "seq")?)?;
    let at = timestamp_from_db("change", column(row, "at")?)?;
    let event = from_json("change", seq, &column::<String>(row, "event")?)?;
    Ok(Change { seq, at, event })
}

/// The feed row is created with the schema and never deleted; without it the database was
/// tampered with.
fn missing_feed() -> StoreError {
    SqlError::CorruptRecord {
        what: "change feed",
        id: "head".to_owned(),
        detail: "the row is missing".to_owned(),
    }
    .into()
}
