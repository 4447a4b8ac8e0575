//! [`ChangeFeed`] on SQL.

use std::future::poll_fn;

use async_trait::async_trait;
use keygate_revocation::Revocation;
use keygate_store::{
    Change, ChangeFeed, ChangeWatch, Seq, SnapshotSink, StoreError, StoreSnapshot,
};
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
        // One statement, so one snapshot of the database: the start of the feed it reads is
        // the start as of the changes it reads, and a compaction that left a gap after `after`
        // is reported rather than returned. The feed row always joins, so an idle feed is one
        // row of nulls. One query per poll is what a fleet of idle replicas costs the database.
        let rows = self
            .shared
            .fetch_all(
                sqlx::query(
                    "SELECT f.compacted_through, c.seq, c.at, c.event FROM keygate_feed f \
                     LEFT JOIN (SELECT seq, at, event FROM keygate_changes WHERE seq > $1 \
                     ORDER BY seq LIMIT $2) c ON 1 = 1 WHERE f.id = 1 ORDER BY c.seq",
                )
                .bind(seq_to_db(after))
                .bind(i64::try_from(limit).unwrap_or(i64::MAX)),
            )
            .await?;
        let first = rows.first().ok_or_else(missing_feed)?;
        let oldest = seq_from_db(column(first, "compacted_through")?)?;
        if after < oldest {
            return Err(StoreError::ChangesCompacted { requested: after, oldest });
        }
        rows.iter()
            .filter_map(|row| match column::<Option<i64>>(row, "seq") {
                Ok(Some(_)) => Some(decode_change(row)),
                Ok(None) => None,
                Err(error) => Some(Err(error.into())),
            })
            .collect()
    }

    async fn snapshot(&self) -> Result<StoreSnapshot, StoreError> {
        let mut snapshot = StoreSnapshot::default();
        self.stream_snapshot(&mut snapshot).await?;
        Ok(snapshot)
    }

    /// One read-only transaction at one position (`REPEATABLE READ` on PostgreSQL, a read
    /// transaction on SQLite), its rows decoded and handed on as they arrive.
    async fn stream_snapshot(&self, sink: &mut (dyn SnapshotSink + '_)) -> Result<(), StoreError> {
        let backend = self.shared.backend;
        let mut tx = self
            .shared
            .pool
            .begin_with(backend.begin_snapshot())
            .await
            .map_err(|e| driver(backend, e))?;
        let mut head = None;
        each_row(&mut tx, backend, "SELECT head FROM keygate_feed WHERE id = 1", |row| {
            head = Some(seq_from_db(column(row, "head")?)?);
            Ok(())
        })
        .await?;
        sink.position(head.ok_or_else(missing_feed)?);
        each_row(
            &mut tx,
            backend,
            "SELECT id, record FROM keygate_principals ORDER BY id",
            |row| {
                let id: String = column(row, "id")?;
                sink.principal(from_json("principal", &id, &column::<String>(row, "record")?)?);
                Ok(())
            },
        )
        .await?;
        each_row(&mut tx, backend, "SELECT id, record FROM keygate_keys ORDER BY id", |row| {
            let id: String = column(row, "id")?;
            sink.key(decode_key(&id, row)?);
            Ok(())
        })
        .await?;
        each_row(
            &mut tx,
            backend,
            "SELECT seq, entry FROM keygate_revocations ORDER BY seq",
            |row| {
                let seq: i64 = column(row, "seq")?;
                sink.revocation(from_json::<Revocation>(
                    "revocation",
                    seq,
                    &column::<String>(row, "entry")?,
                )?);
                Ok(())
            },
        )
        .await?;
        each_row(
            &mut tx,
            backend,
            "SELECT kid, record FROM keygate_signing_keys ORDER BY kid",
            |row| {
                sink.signing_key(crate::signing::decode(row)?);
                Ok(())
            },
        )
        .await?;
        tx.commit().await.map_err(|e| driver(backend, e))?;
        Ok(())
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

/// Hands every row `sql` selects, inside the snapshot's transaction, to `each` as it arrives.
async fn each_row(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    sql: &'static str,
    mut each: impl FnMut(&AnyRow) -> Result<(), StoreError> + Send,
) -> Result<(), StoreError> {
    let mut rows = sqlx::query(sql).fetch(&mut **tx);
    while let Some(row) = poll_fn(|cx| rows.as_mut().poll_next(cx)).await {
        each(&row.map_err(|e| driver(backend, e))?)?;
    }
    Ok(())
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
