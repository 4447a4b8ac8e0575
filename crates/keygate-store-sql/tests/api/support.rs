//! Fresh databases for each test.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use keygate_store_sql::SqlStore;
use sqlx::Connection;
use tempfile::TempDir;

/// The name of the running test, as the test harness names its thread.
pub(crate) fn test_name() -> String {
    std::thread::current().name().unwrap_or("an unnamed test").to_owned()
}

/// A URL for a new, empty schema on the test server, or `None` (having said so) without one.
pub(crate) async fn postgres_url() -> Option<String> {
    let server = keygate_testkit::external("KEYGATE_POSTGRES_URL", &test_name())?;
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let schema =
        format!("keygate_test_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut admin = sqlx::PgConnection::connect(&server).await.expect("the test server");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let separator = if server.contains('?') { '&' } else { '?' };
    Some(format!("{server}{separator}options=-c%20search_path%3D{schema}"))
}

/// A store on a new schema of the test server, or `None` without one.
pub(crate) async fn postgres() -> Option<Arc<SqlStore>> {
    let url = postgres_url().await?;
    Some(Arc::new(SqlStore::connect(&url).await.unwrap()))
}

/// A store in a new SQLite file, and the directory that holds it (deleted when dropped).
pub(crate) async fn sqlite_file() -> (TempDir, Arc<SqlStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open(dir.path().join("keygate.db")).await.unwrap();
    (dir, Arc::new(store))
}
