//! Filling an empty store from a snapshot, many rows to a statement.

use keygate_core::Scope;
use keygate_store::{Seq, StoreError, StoreSnapshot};
use sqlx::AssertSqlSafe;

use crate::SqlStore;
use crate::codec::{expiry_to_db, seq_to_db, to_json};
use crate::signing::is_active;
use crate::writer::Writer;

/// Rows per `INSERT`: four values each stays far below both databases' limit on bound values.
const ROWS_PER_STATEMENT: usize = 1000;

impl SqlStore {
    /// Fills this store, which must be empty, with what `snapshot` holds, in one transaction:
    /// for moving a store to another database (a SQLite file outgrown by a fleet, say), and for
    /// building a large store quickly. A store that holds anything is refused
    /// ([`StoreError::Conflict`]) and left as it was.
    ///
    /// The store then starts at a feed position past every imported revocation, with nothing in
    /// the feed before it: readers load it from a snapshot, as from any compacted store. A
    /// snapshot carries no private signing keys, so signing keys come across as verification
    /// keys: tokens they signed keep verifying, and minting needs a signing key added here. No
    /// audit entry is written for the import.
    pub async fn import(&self, snapshot: &StoreSnapshot) -> Result<Seq, StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        let principals =
            w.fetch_optional(sqlx::query("SELECT id FROM keygate_principals LIMIT 1")).await?;
        if w.head() != Seq::ZERO || principals.is_some() {
            return Err(StoreError::Conflict { reason: "the store is not empty", current: None });
        }
        for chunk in snapshot.principals.chunks(ROWS_PER_STATEMENT) {
            let sql = insert("keygate_principals (id, record)", 2, chunk.len());
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for principal in chunk {
                query = query.bind(principal.id.as_str().to_owned()).bind(to_json(principal)?);
            }
            w.execute(query).await?;
        }
        for chunk in snapshot.keys.chunks(ROWS_PER_STATEMENT) {
            let sql = insert("keygate_keys (id, owner, resource, record)", 4, chunk.len());
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for key in chunk {
                let resource = match key.scope() {
                    Scope::Resource(resource) => Some(resource.as_str().to_owned()),
                    _ => None,
                };
                query = query
                    .bind(key.id().to_string())
                    .bind(key.owner().as_str().to_owned())
                    .bind(resource)
                    .bind(to_json(key)?);
            }
            w.execute(query).await?;
        }
        // Revocations are keyed by a feed position: they take the first ones.
        let mut position = Seq::ZERO;
        for chunk in snapshot.revocations.chunks(ROWS_PER_STATEMENT) {
            let sql = insert("keygate_revocations (seq, expires, entry)", 3, chunk.len());
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for revocation in chunk {
                position = position.next();
                query = query
                    .bind(seq_to_db(position))
                    .bind(expiry_to_db(revocation.expires()))
                    .bind(to_json(revocation)?);
            }
            w.execute(query).await?;
        }
        for key in &snapshot.signing_keys {
            w.execute(
                sqlx::query(
                    "INSERT INTO keygate_signing_keys (kid, active, record) VALUES ($1, $2, $3)",
                )
                .bind(key.kid.as_str().to_owned())
                .bind(is_active(key))
                .bind(to_json(key)?),
            )
            .await?;
        }
        let head = position.max(snapshot.seq);
        w.start_at(head);
        w.commit().await?;
        Ok(head)
    }
}

/// `INSERT INTO {table} VALUES (...), ...` for `rows` rows of `columns` bound values.
fn insert(table: &str, columns: usize, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} VALUES ");
    let mut n = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            n += 1;
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&n.to_string());
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_bound_values_are_numbered_in_order() {
        assert_eq!(insert("t (a, b)", 2, 2), "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
    }
}
