//! A database of its own on a PostgreSQL server, for a test or a bench that must do to it what
//! others on the same server must not see: refuse connections, end sessions, count statements.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// A database created for one test, on the server its admin connection reaches.
pub struct Database {
    /// Its name.
    pub name: String,
    /// A URL for it: the server's, with the database's name.
    pub url: String,
    admin: PgConnection,
}

impl Database {
    /// Creates a new database on the server at `server` (a `postgres://` URL), named after
    /// `prefix`, this process and a counter.
    pub async fn create(server: &str, prefix: &str) -> Database {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}_{}_{n}", std::process::id());
        let mut admin = PgConnection::connect(server).await.expect("the PostgreSQL server");
        execute(&mut admin, format!("CREATE DATABASE {name}")).await;
        let (base, query) =
            server.split_once('?').map_or((server, None), |(base, query)| (base, Some(query)));
        let (root, _database) = base.rsplit_once('/').expect("a URL that names a database");
        let url = match query {
            Some(query) => format!("{root}/{name}?{query}"),
            None => format!("{root}/{name}"),
        };
        Database { name, url, admin }
    }

    /// Lets new connections to the database in, or keeps them out (those open stay open).
    pub async fn allow_connections(&mut self, allow: bool) {
        let sql = format!("ALTER DATABASE {} ALLOW_CONNECTIONS {allow}", self.name);
        execute(&mut self.admin, sql).await;
    }

    /// Ends the sessions on the database, those of `application` only when given; returns how
    /// many.
    pub async fn terminate(&mut self, application: Option<&str>) -> i64 {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND ($2::text IS NULL OR application_name = $2)) AS ended",
        )
        .bind(&self.name)
        .bind(application)
        .fetch_one(&mut self.admin)
        .await
        .unwrap()
    }

    /// Waits until `count` sessions of `application` on the database are listening, or panics
    /// after `within`.
    pub async fn wait_for_listeners(&mut self, application: &str, count: usize, within: Duration) {
        let started = Instant::now();
        loop {
            let listening: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 \
                 AND application_name = $2 AND query LIKE 'LISTEN%'",
            )
            .bind(&self.name)
            .bind(application)
            .fetch_one(&mut self.admin)
            .await
            .unwrap();
            if usize::try_from(listening).unwrap_or(0) >= count {
                return;
            }
            assert!(started.elapsed() < within, "{count} listeners never came");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Drops the database, ending whatever sessions it still has.
    pub async fn drop(mut self) {
        execute(&mut self.admin, format!("DROP DATABASE {} WITH (FORCE)", self.name)).await;
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the URL: it may carry a password.
        f.debug_struct("Database").field("name", &self.name).finish_non_exhaustive()
    }
}

async fn execute(connection: &mut PgConnection, sql: String) {
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(connection).await.unwrap();
}
