//! The few statements SQLite and PostgreSQL need spelled differently.

use std::fmt;

/// Which database a [`SqlStore`](crate::SqlStore) runs on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite: a file, or a private in-memory database.
    Sqlite,
    /// PostgreSQL, or a database that speaks its protocol and SQL.
    Postgres,
}

impl Backend {
    /// The backend a connection URL names, by its scheme.
    pub(crate) fn of_url(url: &str) -> Option<Backend> {
        let scheme = url.split_once(':')?.0;
        match scheme {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            _ => None,
        }
    }

    /// Opens a write transaction. SQLite takes the database's write lock at once, so a writer
    /// that read first can never fail to upgrade; PostgreSQL locks the feed's head row instead
    /// (see [`Backend::lock_feed`]).
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// Reads the feed's head inside a write transaction, locking it until commit: the point
    /// where writers queue, so sequence numbers follow commit order.
    pub(crate) fn lock_feed(self) -> &'static str {
        match self {
            Backend::Sqlite => "SELECT head, compacted_through FROM keygate_feed WHERE id = 1",
            Backend::Postgres => {
                "SELECT head, compacted_through FROM keygate_feed WHERE id = 1 FOR UPDATE"
            }
        }
    }

    /// Opens a read transaction that sees one consistent state throughout.
    pub(crate) fn begin_snapshot(self) -> &'static str {
        match self {
            // In WAL mode a read transaction reads one snapshot from its first statement on.
            Backend::Sqlite => "BEGIN",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        }
    }

    /// Names every table in the database (SQLite) or in the current schema (PostgreSQL).
    pub(crate) fn list_tables(self) -> &'static str {
        match self {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            }
            Backend::Postgres => {
                "SELECT table_name::TEXT FROM information_schema.tables \
                 WHERE table_schema = current_schema()"
            }
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend_by_scheme() {
        assert_eq!(Backend::of_url("sqlite://keygate.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgres://u@localhost/db"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("postgresql://u@localhost/db"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("mysql://u@localhost/db"), None);
        assert_eq!(Backend::of_url("keygate.db"), None);
    }
}
