//! Cutting a write off mid-transaction, to prove it leaves nothing behind.

use std::sync::{Mutex, PoisonError};

use sqlx::{Any, Transaction};

use crate::error::driver;
use crate::{Backend, SqlError};

/// Where and how the next write is cut off. See [`SqlStore::inject_fault`](crate::SqlStore::inject_fault).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The write fails before its statement number `after` + 1 (counting from the first that
    /// writes); the transaction is dropped and rolls back.
    Error {
        /// Statements that run first.
        after: u32,
    },
    /// The connection ends before statement number `after` + 1, as a crash would end it. On
    /// PostgreSQL the server terminates the session, and the server rolls the transaction back.
    /// On SQLite the process aborts (run the write in a child process), and the next opener
    /// recovers the database from its write-ahead log.
    Crash {
        /// Statements that run first.
        after: u32,
    },
}

/// The armed fault and how many statements it still lets through.
#[derive(Debug, Default)]
pub(crate) struct Slot(Mutex<Option<(Fault, u32)>>);

impl Slot {
    pub(crate) fn arm(&self, fault: Fault) {
        let after = match fault {
            Fault::Error { after } | Fault::Crash { after } => after,
        };
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((fault, after));
    }

    /// Called before every statement that writes: lets it through, or fires the fault (once).
    pub(crate) async fn before_write(
        &self,
        tx: &mut Transaction<'static, Any>,
        backend: Backend,
    ) -> Result<(), SqlError> {
        let fired = {
            let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            match slot.as_mut() {
                Some((_, remaining)) if *remaining > 0 => {
                    *remaining -= 1;
                    None
                }
                Some((fault, _)) => {
                    let fault = *fault;
                    *slot = None;
                    Some(fault)
                }
                None => None,
            }
        };
        match (fired, backend) {
            (None, _) => Ok(()),
            (Some(Fault::Error { .. }), _) => Err(SqlError::Injected),
            (Some(Fault::Crash { .. }), Backend::Sqlite) => std::process::abort(),
            (Some(Fault::Crash { .. }), Backend::Postgres) => {
                // The server ends this very session; the statement fails as the connection goes.
                let result = sqlx::query("SELECT pg_terminate_backend(pg_backend_pid())")
                    .execute(&mut **tx)
                    .await;
                Err(match result {
                    Err(error) => driver(backend, error),
                    Ok(_) => SqlError::Injected,
                })
            }
        }
    }
}
