//! What can go wrong below the store contract, and how it maps onto [`StoreError`]'s categories.

use keygate_store::StoreError;

use crate::Backend;

/// Why a SQL store failed, as the source of a [`StoreError::Backend`] or
/// [`StoreError::Unavailable`]. Messages name tables, versions and record ids, never a record's
/// contents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// The URL names a database, or a form of one, keygate does not support.
    #[error("unsupported database URL: {reason}")]
    UnsupportedUrl {
        /// What to use instead.
        reason: &'static str,
    },

    /// The file exists but is not a SQLite database, or is damaged.
    #[error("the file is not a SQLite database, or it is damaged")]
    NotADatabase,

    /// The database holds tables that keygate did not create, and no keygate schema: it belongs
    /// to something else, and keygate will not write into it.
    #[error(
        "the database holds tables keygate did not create (such as {example}) and no keygate \
         schema; point keygate at a new or a keygate database"
    )]
    ForeignDatabase {
        /// One of the tables found.
        example: String,
    },

    /// The database's keygate schema is newer than this build: a newer keygate migrated it.
    #[error(
        "the database's keygate schema is version {found}, newer than version {supported} that \
         this build knows; upgrade keygate"
    )]
    SchemaTooNew {
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },

    /// A stored row could not be read back: the database was edited by hand, or is damaged.
    #[error("the stored {what} {id} is unreadable: {detail}")]
    CorruptRecord {
        /// "principal", "key", "revocation", "signing key" or "change".
        what: &'static str,
        /// Its id or position.
        id: String,
        /// Where reading it failed (never the row's contents).
        detail: String,
    },

    /// The database did not answer in time.
    #[error("no answer from the database within {after:?}")]
    Timeout {
        /// How long it waited.
        after: std::time::Duration,
    },

    /// The database driver failed.
    #[error("{backend}: {source}")]
    Driver {
        /// Which database.
        backend: Backend,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// A failure injected by [`SqlStore::inject_fault`](crate::SqlStore::inject_fault).
    #[cfg(feature = "fault-injection")]
    #[error("injected fault")]
    Injected,
}

impl From<SqlError> for StoreError {
    fn from(error: SqlError) -> StoreError {
        match error {
            SqlError::Driver { ref source, .. } if is_transient(source) => {
                StoreError::unavailable(error)
            }
            SqlError::Timeout { .. } => StoreError::unavailable(error),
            #[cfg(feature = "fault-injection")]
            SqlError::Injected => StoreError::unavailable(error),
            error => StoreError::backend(error),
        }
    }
}

/// Wraps a driver error from `backend`, recognising a file that is not a database.
pub(crate) fn driver(backend: Backend, source: sqlx::Error) -> SqlError {
    if backend == Backend::Sqlite && sqlite_code(&source).is_some_and(is_not_a_database) {
        return SqlError::NotADatabase;
    }
    SqlError::Driver { backend, source }
}

/// Errors that retrying later may cure: an unreachable or restarting server, a pool with no free
/// connection, a lock not granted in time, a serialisation failure.
fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => match sqlite_code(error) {
            // SQLITE_BUSY and SQLITE_LOCKED: a lock not granted within the busy timeout.
            Some(code) => matches!(code, 5 | 6),
            // SQLSTATE classes 08 (connection), 40 (serialisation failure, deadlock),
            // 53 (insufficient resources), 57P (operator intervention: shutdown, restart).
            None => db.code().is_some_and(|code| {
                ["08", "40", "53", "57P"].iter().any(|class| code.starts_with(class))
            }),
        },
        _ => false,
    }
}

/// The primary result code of a SQLite error.
fn sqlite_code(error: &sqlx::Error) -> Option<i32> {
    let sqlx::Error::Database(db) = error else { return None };
    db.try_downcast_ref::<sqlx::sqlite::SqliteError>()?;
    db.code()?.parse::<i32>().ok().map(|code| code & 0xff)
}

/// SQLITE_NOTADB and SQLITE_CORRUPT.
fn is_not_a_database(code: i32) -> bool {
    matches!(code, 26 | 11)
}
