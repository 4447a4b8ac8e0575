//! Opening: migrations, reopening, and the databases keygate refuses without writing to them.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use keygate_core::{Principal, PrincipalKind};
use keygate_store::{ChangeFeed, PrincipalStore, StoreError};
use keygate_store_sql::{Backend, SCHEMA_VERSION, SqlError, SqlOptions, SqlStore};
use keygate_testkit::T0;
use sqlx::Connection;

use super::support::postgres_url;

/// The `SqlError` behind a store error.
fn sql_error(error: &StoreError) -> &SqlError {
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<SqlError>())
        .unwrap_or_else(|| panic!("not an SqlError: {error:?}"))
}

/// Every file in `dir` and its bytes: what "nothing written" is checked against.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (entry.file_name().to_string_lossy().into_owned(), std::fs::read(entry.path()).unwrap())
        })
        .collect()
}

fn orders() -> Principal {
    Principal::new("orders".parse().unwrap(), PrincipalKind::ServiceAccount, T0)
}

async fn native_sqlite(path: &Path) -> sqlx::SqliteConnection {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).create_if_missing(true);
    sqlx::SqliteConnection::connect_with(&options).await.unwrap()
}

#[tokio::test]
async fn a_sqlite_file_keeps_its_state_and_is_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keygate.db");
    let store = SqlStore::open(&path).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    store.create_principal(&orders(), None).await.unwrap();
    let head = store.head().await.unwrap();
    store.close().await;

    let reopened = SqlStore::open(&path).await.unwrap();
    assert_eq!(reopened.principal(&orders().id).await.unwrap(), orders());
    assert_eq!(reopened.head().await.unwrap(), head);
    reopened.close().await;

    let mut conn = native_sqlite(&path).await;
    let mode: String =
        sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.unwrap();
    assert_eq!(mode, "wal");
    let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM keygate_schema")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(versions, SCHEMA_VERSION, "reopening applied a migration twice");
}

#[tokio::test]
async fn an_empty_file_becomes_a_keygate_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").unwrap();
    let store = SqlStore::open(&path).await.unwrap();
    store.create_principal(&orders(), None).await.unwrap();
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keygate.db");
    let garbage: Vec<u8> =
        (0..8192u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let before = contents(dir.path());

    let error = SqlStore::open(&path).await.unwrap_err();
    assert!(matches!(error, StoreError::Backend { .. }), "{error:?}");
    assert!(matches!(sql_error(&error), SqlError::NotADatabase), "{error:?}");
    assert!(error.to_string().contains("not a SQLite database"), "{error}");
    assert_eq!(contents(dir.path()), before, "a refused file was written to");
}

#[tokio::test]
async fn a_foreign_sqlite_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.db");
    let mut conn = native_sqlite(&path).await;
    sqlx::raw_sql("CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let before = contents(dir.path());

    let error = SqlStore::open(&path).await.unwrap_err();
    assert!(
        matches!(sql_error(&error), SqlError::ForeignDatabase { example } if example == "orders"),
        "{error:?}"
    );
    assert_eq!(contents(dir.path()), before, "a foreign database was written to");
}

#[tokio::test]
async fn a_newer_sqlite_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keygate.db");
    SqlStore::open(&path).await.unwrap().close().await;
    let mut conn = native_sqlite(&path).await;
    sqlx::query("INSERT INTO keygate_schema (version, name) VALUES ($1, 'from the future')")
        .bind(SCHEMA_VERSION + 1)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let before = contents(dir.path());

    let error = SqlStore::open(&path).await.unwrap_err();
    assert!(
        matches!(sql_error(&error), SqlError::SchemaTooNew { found, supported }
            if *found == SCHEMA_VERSION + 1 && *supported == SCHEMA_VERSION),
        "{error:?}"
    );
    assert!(error.to_string().contains("upgrade keygate"), "{error}");
    assert_eq!(contents(dir.path()), before, "a newer database was written to");
}

#[tokio::test]
async fn a_path_that_cannot_be_created_is_a_clear_error() {
    let error = SqlStore::open("/nonexistent-keygate-dir/sub/keygate.db").await.unwrap_err();
    assert!(matches!(error, StoreError::Backend { .. }), "{error:?}");
    assert!(error.to_string().contains("SQLite"), "{error}");
}

#[tokio::test]
async fn unsupported_urls_are_refused() {
    for url in ["mysql://root@localhost/keygate", "keygate.db", "sqlite::memory:"] {
        let error = SqlStore::connect(url).await.unwrap_err();
        assert!(matches!(sql_error(&error), SqlError::UnsupportedUrl { .. }), "{url}: {error:?}");
    }
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_not_a_hang() {
    // Nothing listens on port 1 of the loopback interface.
    let options = SqlOptions::default().with_acquire_timeout(Duration::from_secs(2));
    let started = std::time::Instant::now();
    let error = SqlStore::connect_with("postgres://keygate@127.0.0.1:1/keygate", options)
        .await
        .unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert!(error.to_string().contains("refused"), "the cause is lost: {error}");
    assert!(started.elapsed() < Duration::from_secs(30), "connecting hung");
    assert!(!error.to_string().contains("keygate@"), "the URL leaked into the error: {error}");
}

#[tokio::test]
async fn a_newer_postgres_schema_is_refused_untouched() {
    let Some(url) = postgres_url().await else { return };
    SqlStore::connect(&url).await.unwrap().close().await;
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO keygate_schema (version, name) VALUES ($1, 'from the future')")
        .bind(SCHEMA_VERSION + 1)
        .execute(&mut conn)
        .await
        .unwrap();

    let error = SqlStore::connect(&url).await.unwrap_err();
    assert!(matches!(sql_error(&error), SqlError::SchemaTooNew { .. }), "{error:?}");
    let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM keygate_schema")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(versions, SCHEMA_VERSION + 1);
}

#[tokio::test]
async fn a_postgres_schema_may_hold_other_tables_but_not_stray_keygate_ones() {
    let Some(url) = postgres_url().await else { return };
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("CREATE TABLE orders (id BIGINT PRIMARY KEY)").execute(&mut conn).await.unwrap();
    let store = SqlStore::connect(&url).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);

    let Some(url) = postgres_url().await else { return };
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("CREATE TABLE keygate_keys (id TEXT)").execute(&mut conn).await.unwrap();
    let error = SqlStore::connect(&url).await.unwrap_err();
    assert!(
        matches!(sql_error(&error), SqlError::ForeignDatabase { example } if example == "keygate_keys"),
        "{error:?}"
    );
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(tables, 1, "keygate wrote beside a stray table");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_opens_migrate_once() {
    let Some(url) = postgres_url().await else { return };
    let mut opens = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let url = url.clone();
        opens.spawn(async move { SqlStore::connect(&url).await });
    }
    while let Some(opened) = opens.join_next().await {
        let store = opened.unwrap().unwrap();
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    }
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM keygate_schema")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(versions, SCHEMA_VERSION);
}

#[tokio::test]
async fn an_older_schema_migrates_forward_keeping_its_data() {
    // A database as the first release left it: schema 1, with a principal.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keygate.db");
    let mut conn = native_sqlite(&path).await;
    sqlx::raw_sql(
        "CREATE TABLE keygate_schema (version BIGINT PRIMARY KEY, name TEXT NOT NULL);
         INSERT INTO keygate_schema (version, name) VALUES (1, 'initial');",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::raw_sql(include_str!("../../migrations/sqlite/0001_initial.sql"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO keygate_principals (id, record) VALUES ('orders', $1)")
        .bind(serde_json::to_string(&orders()).unwrap())
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let store = SqlStore::open(&path).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    assert_eq!(store.principal(&orders().id).await.unwrap(), orders());
    let query = keygate_store::AuditQuery::default();
    assert!(keygate_store::AuditLog::audit_log(&store, &query).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_location_is_a_file_path_or_a_url_of_a_known_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("by-path.db");
    let by_path = SqlStore::open_location(path.to_str().unwrap()).await.unwrap();
    by_path.create_principal(&orders(), None).await.unwrap();
    by_path.close().await;

    // The same file as a sqlite: URL sees what the path wrote.
    let url = format!("sqlite://{}", path.display());
    let by_url = SqlStore::open_location(&url).await.unwrap();
    assert_eq!(by_url.principal(&orders().id).await.unwrap(), orders());
    by_url.close().await;

    for refused in ["mysql://u@localhost/db", "", "sqlite::memory:"] {
        let error = SqlStore::open_location(refused).await.err().unwrap();
        assert!(matches!(sql_error(&error), SqlError::UnsupportedUrl { .. }), "{refused}: {error}");
    }
    assert!(!dir.path().join("mysql:").exists());

    if let Some(url) = postgres_url().await {
        let store = SqlStore::open_location(&url).await.unwrap();
        assert_eq!(store.backend(), Backend::Postgres);
        store.close().await;
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_store_and_its_wal_files_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keygate.db");
    let store = SqlStore::open(&path).await.unwrap();
    store.create_principal(&orders(), None).await.unwrap();
    assert!(!keygate_store_sql::readable_by_others(&path));
    // While the store is open, SQLite keeps its write-ahead log and shared memory beside it.
    for name in ["keygate.db", "keygate.db-wal", "keygate.db-shm"] {
        let mode = std::fs::metadata(dir.path().join(name)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{name} has mode {:o}", mode & 0o777);
    }

    // Created through a URL that lets SQLite create it: private too.
    let by_url = dir.path().join("by-url.db");
    let url = format!("sqlite://{}?mode=rwc", by_url.display());
    SqlStore::open_location(&url).await.unwrap();
    let mode = std::fs::metadata(&by_url).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "by-url.db has mode {:o}", mode & 0o777);

    // A store someone made readable is noticed.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(keygate_store_sql::readable_by_others(&path));
}
