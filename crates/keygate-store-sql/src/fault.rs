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

/// The fault armed for the next write.
#[derive(Debug, Default)]
pub(crate) struct Slot(Mutex<Option<Fault>>);

impl Slot {
    pub(crate) fn arm(&self, fault: Fault) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(fault);
    }

    /// Disarms the slot, handing its fault to the write that begins now.
    pub(crate) fn take(&self) -> Option<Armed> {
        let fault = self.0.lock().unwrap_or_else(PoisonError::into_inner).take()?;
        let after = match fault {
            Fault::Error { after } | Fault::Crash { after } => after,
        };
        Some(Armed { fault, remaining: after })
    }
}

/// A fault riding on one write, and how many statements it still lets through.
#[derive(Debug)]
pub(crate) struct Armed {
    fault: Fault,
    remaining: u32,
}

impl Armed {
    /// Called before each statement of the write that writes: lets it through, or fires.
    pub(crate) async fn before_write(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        backend: Backend,
    ) -> Result<(), SqlError> {
        if self.remaining > 0 {
            self.remaining -= 1;
            return Ok(());
        }
        match (self.fault, backend) {
            (Fault::Error { .. }, _) => Err(SqlError::Injected),
            (Fault::Crash { .. }, Backend::Sqlite) => std::process::abort(),
            (Fault::Crash { .. }, Backend::Postgres) => {
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
