//! The embedded, versioned, forward-only migrations, and the checks that run before any of them.

use sqlx::{Any, AnyConnection, AssertSqlSafe, Row};

use crate::error::driver;
use crate::{Backend, SqlError};

/// The schema version this build creates and reads. A database at a newer version is refused.
pub const SCHEMA_VERSION: i64 = 8;

/// One step of the schema, in both dialects. Steps are never edited once released: a change is
/// a new step.
struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sqlite: include_str!("../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "audit",
        sqlite: include_str!("../migrations/sqlite/0002_audit.sql"),
        postgres: include_str!("../migrations/postgres/0002_audit.sql"),
    },
    Migration {
        version: 3,
        name: "sealed",
        sqlite: include_str!("../migrations/sqlite/0003_sealed.sql"),
        postgres: include_str!("../migrations/postgres/0003_sealed.sql"),
    },
    Migration {
        version: 4,
        name: "policy",
        sqlite: include_str!("../migrations/sqlite/0004_policy.sql"),
        postgres: include_str!("../migrations/postgres/0004_policy.sql"),
    },
    Migration {
        version: 5,
        name: "key_uses",
        sqlite: include_str!("../migrations/sqlite/0005_key_uses.sql"),
        postgres: include_str!("../migrations/postgres/0005_key_uses.sql"),
    },
    Migration {
        version: 6,
        name: "deleted_resources",
        sqlite: include_str!("../migrations/sqlite/0006_deleted_resources.sql"),
        postgres: include_str!("../migrations/postgres/0006_deleted_resources.sql"),
    },
    Migration {
        version: 7,
        name: "role_bindings",
        sqlite: include_str!("../migrations/sqlite/0007_role_bindings.sql"),
        postgres: include_str!("../migrations/postgres/0007_role_bindings.sql"),
    },
    Migration {
        version: 8,
        name: "names",
        sqlite: include_str!("../migrations/sqlite/0008_names.sql"),
        postgres: include_str!("../migrations/postgres/0008_names.sql"),
    },
];

/// The table recording which migrations were applied, created with the first.
const CREATE_SCHEMA_TABLE: &str =
    "CREATE TABLE keygate_schema (version BIGINT PRIMARY KEY, name TEXT NOT NULL)";

/// What a database holds before keygate touches it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// Nothing of keygate's (and, for SQLite, nothing at all).
    Empty,
    /// A keygate schema at this version.
    Keygate(i64),
}

/// Reads what the database holds, refusing one that keygate must not write to. Reads only.
pub(crate) async fn inspect(conn: &mut AnyConnection, backend: Backend) -> Result<Found, SqlError> {
    let tables: Vec<String> = sqlx::query_scalar::<Any, String>(backend.list_tables())
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| driver(backend, e))?;
    if tables.iter().any(|table| table == "keygate_schema") {
        let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM keygate_schema")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| driver(backend, e))?;
        return Ok(Found::Keygate(version.unwrap_or(0)));
    }
    // A SQLite file is keygate's alone. A PostgreSQL schema may be shared with other
    // applications' tables, but not with keygate tables that have no schema record.
    let foreign = tables
        .into_iter()
        .find(|table| backend == Backend::Sqlite || table.starts_with("keygate_"));
    match foreign {
        Some(example) => Err(SqlError::ForeignDatabase { example }),
        None => Ok(Found::Empty),
    }
}

/// Refuses a schema newer than this build.
pub(crate) fn check_version(found: &Found) -> Result<(), SqlError> {
    match *found {
        Found::Keygate(version) if version > SCHEMA_VERSION => {
            Err(SqlError::SchemaTooNew { found: version, supported: SCHEMA_VERSION })
        }
        _ => Ok(()),
    }
}

/// Applies every migration after `found`, each in its own transaction with its schema record.
/// Past the first, each transaction holds the schema table against other migrators and skips a
/// step one of them applied meanwhile; two first migrations make one fail, and the caller
/// inspects again.
pub(crate) async fn migrate(
    conn: &mut AnyConnection,
    backend: Backend,
    found: &Found,
) -> Result<(), SqlError> {
    let current = match *found {
        Found::Empty => 0,
        Found::Keygate(version) => version,
    };
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        let script = match backend {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        let mut tx = sqlx::Connection::begin_with(&mut *conn, backend.begin_write())
            .await
            .map_err(|e| driver(backend, e))?;
        if migration.version == 1 {
            sqlx::raw_sql(CREATE_SCHEMA_TABLE)
                .execute(&mut *tx)
                .await
                .map_err(|e| driver(backend, e))?;
        } else {
            // SQLite's write transaction excludes other writers already.
            if backend == Backend::Postgres {
                sqlx::raw_sql("LOCK TABLE keygate_schema IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| driver(backend, e))?;
            }
            if version(&mut tx, backend).await? >= migration.version {
                continue;
            }
        }
        sqlx::raw_sql(AssertSqlSafe(script))
            .execute(&mut *tx)
            .await
            .map_err(|e| driver(backend, e))?;
        sqlx::query("INSERT INTO keygate_schema (version, name) VALUES ($1, $2)")
            .bind(migration.version)
            .bind(migration.name)
            .execute(&mut *tx)
            .await
            .map_err(|e| driver(backend, e))?;
        tx.commit().await.map_err(|e| driver(backend, e))?;
    }
    Ok(())
}

/// The version a prepared database is at.
pub(crate) async fn version(conn: &mut AnyConnection, backend: Backend) -> Result<i64, SqlError> {
    let row = sqlx::query("SELECT MAX(version) FROM keygate_schema")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| driver(backend, e))?;
    row.try_get::<Option<i64>, _>(0).map(Option::unwrap_or_default).map_err(|e| driver(backend, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_without_gaps_up_to_the_schema_version() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, index as i64 + 1, "{}", migration.name);
            assert!(!migration.sqlite.is_empty() && !migration.postgres.is_empty());
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }

    #[test]
    fn newer_schemas_are_refused_by_version() {
        assert!(check_version(&Found::Empty).is_ok());
        assert!(check_version(&Found::Keygate(SCHEMA_VERSION)).is_ok());
        let error = check_version(&Found::Keygate(SCHEMA_VERSION + 1)).unwrap_err();
        assert!(
            matches!(error, SqlError::SchemaTooNew { found, .. } if found == SCHEMA_VERSION + 1)
        );
    }
}
