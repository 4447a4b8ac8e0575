//! [`ChangeFeed`] on SQL.

use async_trait::async_trait;
use keygate_core::KeyRecord;
use keygate_store::{
    Change, ChangeFeed, ChangeWatch, Seq, SnapshotSink, StoreError, StoreSnapshot,
};
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Transaction};

use crate::codec::{from_json, seq_from_db, seq_to_db, timestamp_from_db};
use crate::error::driver;
use crate::store::column;
use crate::writer::Writer;
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
        // Chunks come in key order; within one, SQLite promises no order.
        snapshot.principals.sort_by(|a, b| a.id.cmp(&b.id));
        snapshot.keys.sort_by_key(KeyRecord::id);
        snapshot.signing_keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        Ok(snapshot)
    }

    /// One read-only transaction at one position (`REPEATABLE READ` on PostgreSQL, a read
    /// transaction on SQLite), read a chunk of records at a time by a task of its own, so the
    /// database reads the next chunk while this task decodes the last one into `sink`.
    async fn stream_snapshot(&self, sink: &mut (dyn SnapshotSink + '_)) -> Result<(), StoreError> {
        let backend = self.shared.backend;
        let mut tx = self
            .shared
            .pool
            .begin_with(backend.begin_snapshot())
            .await
            .map_err(|e| driver(backend, e))?;
        let row = sqlx::query("SELECT head FROM keygate_feed WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| driver(backend, e))?
            .ok_or_else(missing_feed)?;
        sink.position(seq_from_db(column(&row, "head")?)?);
        let (chunks, mut received) = tokio::sync::mpsc::channel(2);
        // Dropping `received` (a record that does not decode) ends the reader at its next send,
        // and the transaction with it.
        let reader = tokio::spawn(read_chunks(tx, backend, chunks));
        while let Some(chunk) = received.recv().await {
            let Chunk { table, records, at } = chunk?;
            for text in records.split('\n') {
                match table.holds {
                    Holds::Principals => sink.principal(from_json("principal", &at, text)?),
                    Holds::Keys => sink.key(from_json("key", &at, text)?),
                    Holds::Revocations => sink.revocation(from_json("revocation", &at, text)?),
                    Holds::SigningKeys => sink.signing_key(from_json("signing key", &at, text)?),
                }
            }
        }
        // The reader sent everything and committed, or said why not.
        reader.await.map_err(|e| StoreError::backend(e.to_string()))
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

/// A table a snapshot reads: its records, in the order of its key.
struct Table {
    holds: Holds,
    name: &'static str,
    key: &'static str,
    record: &'static str,
    /// Whether the key is a number (a feed position) rather than text.
    numeric: bool,
}

impl Table {
    const PRINCIPALS: Table = Table {
        holds: Holds::Principals,
        name: "keygate_principals",
        key: "id",
        record: "record",
        numeric: false,
    };
    const KEYS: Table = Table {
        holds: Holds::Keys,
        name: "keygate_keys",
        key: "id",
        record: "record",
        numeric: false,
    };
    const REVOCATIONS: Table = Table {
        holds: Holds::Revocations,
        name: "keygate_revocations",
        key: "seq",
        record: "entry",
        numeric: true,
    };
    const SIGNING_KEYS: Table = Table {
        holds: Holds::SigningKeys,
        name: "keygate_signing_keys",
        key: "kid",
        record: "record",
        numeric: false,
    };

    /// One chunk of records after a key, joined by newlines into one value (JSON text never
    /// holds a raw newline), with how many and the last key: a million rows cross from the
    /// database a thousand at a time rather than one by one, which is most of the cost of a
    /// start from a large store.
    fn chunk_query(&self, backend: Backend) -> String {
        let Table { name, key, record, numeric, .. } = self;
        let after = if *numeric { "CAST($1 AS BIGINT)" } else { "$1" };
        let joined = match backend {
            // Without ORDER BY, which would sort what the subquery has ordered already.
            Backend::Sqlite => "group_concat(r, char(10))",
            Backend::Postgres => "string_agg(r, chr(10) ORDER BY k)",
        };
        format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(MAX(k) AS TEXT) AS last, {joined} AS records \
             FROM (SELECT {key} AS k, {record} AS r FROM {name} WHERE {key} > {after} \
             ORDER BY {key} LIMIT {CHUNK}) AS chunk"
        )
    }
}

/// What a table's records are.
#[derive(Copy, Clone)]
enum Holds {
    Principals,
    Keys,
    Revocations,
    SigningKeys,
}

/// Records per chunk of a snapshot.
const CHUNK: i64 = 1000;

/// Some records of a table, joined by newlines, and where they were found (for errors).
struct Chunk {
    table: &'static Table,
    records: String,
    at: String,
}

/// Reads every table a snapshot holds, a chunk at a time in key order, into `chunks`, then
/// commits the read: one transaction, so one position, throughout.
async fn read_chunks(
    mut tx: Transaction<'static, Any>,
    backend: Backend,
    chunks: tokio::sync::mpsc::Sender<Result<Chunk, StoreError>>,
) {
    for table in [&Table::PRINCIPALS, &Table::KEYS, &Table::REVOCATIONS, &Table::SIGNING_KEYS] {
        let sql = table.chunk_query(backend);
        let mut last = if table.numeric { "0".to_owned() } else { String::new() };
        loop {
            let read = read_chunk(&mut tx, backend, &sql, &last).await;
            let (records, next) = match read {
                Ok(Some((records, next))) => (records, next),
                Ok(None) => break,
                Err(error) => {
                    let _gone = chunks.send(Err(error)).await;
                    return;
                }
            };
            let at = format!("{} after {last:?}", table.name);
            if chunks.send(Ok(Chunk { table, records, at })).await.is_err() {
                return;
            }
            match next {
                Some(key) => last = key,
                None => break,
            }
        }
    }
    if let Err(error) = tx.commit().await {
        let _gone = chunks.send(Err(driver(backend, error).into())).await;
    }
}

/// The records after `last`, and the key to read on from if the chunk was full.
async fn read_chunk(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    sql: &str,
    last: &str,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    let row = sqlx::query(AssertSqlSafe(sql.to_owned()))
        .bind(last.to_owned())
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| driver(backend, e))?;
    let count: i64 = column(&row, "n")?;
    let Some(records) = column::<Option<String>>(&row, "records")? else { return Ok(None) };
    let next = column::<Option<String>>(&row, "last")?.filter(|_| count == CHUNK);
    Ok(Some((records, next)))
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
