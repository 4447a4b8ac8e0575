//! Opening a store: the connection pool, the checks before the first write, the migrations.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keygate_store::StoreError;
use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::postgres::PgConnectOptions;
use sqlx::query::Query;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Connection, Row};

use crate::error::driver;
use crate::notify::Notifications;
use crate::schema::{self, Found};
use crate::{Backend, SqlError};

/// A keygate store in SQLite or PostgreSQL: every [`keygate_store`] trait, so it is used as an
/// `Arc<dyn Store>` like any other backend.
///
/// Cloning it is cheap and shares its connection pool. See the [crate docs](crate) for how it
/// keeps the store contract.
#[derive(Clone)]
pub struct SqlStore {
    pub(crate) shared: Arc<Shared>,
}

/// What every clone of a store shares.
pub(crate) struct Shared {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    pub(crate) notifications: Notifications,
    /// Keeps an in-memory database alive; never used.
    _anchor: Option<std::sync::Mutex<AnyConnection>>,
    #[cfg(feature = "fault-injection")]
    pub(crate) fault: crate::fault::Slot,
}

/// How a store connects.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqlOptions {
    /// The most connections the pool opens. Writers queue on the change feed whatever this is;
    /// more connections let reads run beside them.
    pub max_connections: u32,
    /// How long an operation waits for a connection (including opening one to a server that
    /// does not answer) before failing with [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
}

impl Default for SqlOptions {
    fn default() -> SqlOptions {
        SqlOptions { max_connections: 8, acquire_timeout: Duration::from_secs(10) }
    }
}

impl SqlOptions {
    /// Opens at most `max` connections (at least one).
    pub fn with_max_connections(mut self, max: u32) -> SqlOptions {
        self.max_connections = max.max(1);
        self
    }

    /// Waits at most `timeout` for a connection.
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> SqlOptions {
        self.acquire_timeout = timeout;
        self
    }
}

impl SqlStore {
    /// Opens the SQLite database at `path`, creating it if it does not exist, and migrates it.
    /// The file is put in WAL mode (readers never wait for the writer), with a five-second busy
    /// timeout and foreign keys enforced.
    ///
    /// A file that is not a SQLite database, one holding tables keygate did not create, and one
    /// with a newer keygate schema are refused without being written to.
    ///
    /// A new file is created readable and writable by its owner only (0600), whatever the
    /// umask; SQLite gives its `-wal` and `-shm` files the database file's mode. An existing
    /// file keeps its mode: [`readable_by_others`] says whether that is a concern.
    pub async fn open(path: impl AsRef<Path>) -> Result<SqlStore, StoreError> {
        SqlStore::open_with(path, SqlOptions::default()).await
    }

    /// [`SqlStore::open`] with `options`.
    pub async fn open_with(
        path: impl AsRef<Path>,
        options: SqlOptions,
    ) -> Result<SqlStore, StoreError> {
        // An absolute path, so the URL the driver is handed has no host part to misread.
        let io = |e: std::io::Error| {
            StoreError::backend(SqlError::Driver { backend: Backend::Sqlite, source: e.into() })
        };
        let path = std::path::absolute(path.as_ref()).map_err(io)?;
        create_private(&path).map_err(io)?;
        let url = SqliteConnectOptions::new().filename(path).create_if_missing(true).to_url_lossy();
        let pool = pool_options(&options);
        SqlStore::start(url.as_str(), Backend::Sqlite, pool, options.acquire_timeout, Kind::File)
            .await
    }

    /// A private SQLite database in memory, empty and migrated, gone when the last clone of the
    /// store is dropped. One connection serves it, so operations run one at a time.
    pub async fn in_memory() -> Result<SqlStore, StoreError> {
        // A name of its own, so every connection to it (the pool's, and the one that keeps it
        // alive) reaches the same database; one pool connection, so writers never meet
        // shared-cache table locks.
        static DATABASES: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "sqlite:file:keygate-memory-{}-{}?mode=memory&cache=shared",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        let pool = AnyPoolOptions::new().max_connections(1);
        let timeout = SqlOptions::default().acquire_timeout;
        SqlStore::start(&name, Backend::Sqlite, pool, timeout, Kind::Memory).await
    }

    /// Connects to the database at `url` (`postgres://user@host/database`, or `sqlite:path`)
    /// and migrates it. PostgreSQL connection parameters go in the URL as usual (`sslmode`,
    /// and `options=-c search_path=...` to keep keygate's tables in their own schema).
    pub async fn connect(url: &str) -> Result<SqlStore, StoreError> {
        SqlStore::connect_with(url, SqlOptions::default()).await
    }

    /// [`SqlStore::connect`] with `options`.
    pub async fn connect_with(url: &str, options: SqlOptions) -> Result<SqlStore, StoreError> {
        let backend = Backend::of_url(url)
            .ok_or(SqlError::UnsupportedUrl { reason: "use a sqlite: or postgres:// URL" })?;
        let kind = match backend {
            Backend::Postgres => Kind::Server,
            // Each connection to an in-memory URL would get a database of its own.
            Backend::Sqlite if url.contains(":memory:") || url.contains("mode=memory") => {
                return Err(SqlError::UnsupportedUrl {
                    reason: "for SQLite in memory, use SqlStore::in_memory",
                }
                .into());
            }
            Backend::Sqlite => {
                // A URL that lets SQLite create the file (`mode=rwc`): create it first, private
                // to its owner, as `open` does.
                if url.contains("mode=rwc")
                    && let Ok(sqlite) = SqliteConnectOptions::from_str(url)
                {
                    create_private(sqlite.get_filename()).map_err(|e| {
                        StoreError::backend(SqlError::Driver {
                            backend: Backend::Sqlite,
                            source: e.into(),
                        })
                    })?;
                }
                Kind::File
            }
        };
        SqlStore::start(url, backend, pool_options(&options), options.acquire_timeout, kind).await
    }

    /// Opens the store at `location`, as the `keygate` command, the gateways and every server
    /// built on keygate take it: a `postgres://` (or `postgresql://`) URL or a `sqlite:` URL is
    /// connected to as [`SqlStore::connect`] does; anything else is a SQLite file path, opened
    /// (and created if missing) as [`SqlStore::open`] does. A URL of any other scheme
    /// (`mysql://…`) is refused rather than taken for a file name.
    pub async fn open_location(location: &str) -> Result<SqlStore, StoreError> {
        SqlStore::open_location_with(location, SqlOptions::default()).await
    }

    /// [`SqlStore::open_location`] with `options`.
    pub async fn open_location_with(
        location: &str,
        options: SqlOptions,
    ) -> Result<SqlStore, StoreError> {
        if Backend::of_url(location).is_some() {
            return SqlStore::connect_with(location, options).await;
        }
        match SqlStore::file_of(location) {
            Some(path) => SqlStore::open_with(path, options).await,
            None if location.is_empty() => {
                Err(SqlError::UnsupportedUrl { reason: "the store location is empty" }.into())
            }
            None => Err(SqlError::UnsupportedUrl {
                reason: "use a sqlite: or postgres:// URL, or a SQLite file path",
            }
            .into()),
        }
    }

    /// The SQLite file `location` names, if it is a file path rather than a URL, as
    /// [`SqlStore::open_location`] reads it.
    pub fn file_of(location: &str) -> Option<&Path> {
        let url = Backend::of_url(location).is_some() || location.contains("://");
        (!url && !location.is_empty()).then(|| Path::new(location))
    }

    /// Which database it runs on.
    pub fn backend(&self) -> Backend {
        self.shared.backend
    }

    /// The schema version of the database (always [`SCHEMA_VERSION`](crate::SCHEMA_VERSION)
    /// once opened by this build).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let backend = self.shared.backend;
        let mut conn = self.shared.pool.acquire().await.map_err(|e| driver(backend, e))?;
        Ok(schema::version(&mut conn, backend).await?)
    }

    /// Closes every connection, waiting for operations in progress to finish, and stops
    /// listening for notifications. Operations after this fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.shared.notifications.stop();
        self.shared.pool.close().await;
    }

    /// Arms `fault` for the next write of this store (or of its clones); a write that ends
    /// before the fault's statement disarms it unfired.
    #[cfg(feature = "fault-injection")]
    pub fn inject_fault(&self, fault: crate::Fault) {
        self.shared.fault.arm(fault);
    }

    async fn start(
        url: &str,
        backend: Backend,
        pool: AnyPoolOptions,
        timeout: Duration,
        kind: Kind,
    ) -> Result<SqlStore, StoreError> {
        install_drivers();
        let options = AnyConnectOptions::from_str(url).map_err(|e| driver(backend, e))?;
        // The checks and migrations run on a connection of their own rather than the pool's,
        // so a failure to connect reports its cause (refused, unknown host, authentication)
        // rather than a pool timeout.
        let mut conn = tokio::time::timeout(timeout, AnyConnection::connect_with(&options))
            .await
            .map_err(|_| SqlError::Timeout { after: timeout })?
            .map_err(|e| driver(backend, e))?;
        let notifications = match prepare(&mut conn, backend, kind == Kind::File).await {
            Ok(()) => notifications(&mut conn, url, backend, kind).await,
            Err(error) => Err(error),
        };
        let notifications = match notifications {
            Ok(notifications) => notifications,
            Err(error) => {
                // Close before returning, so a refused SQLite file is released (and the files
                // a reader of a WAL database creates beside it are gone) when the caller sees
                // why.
                let _closed = conn.close().await;
                return Err(error.into());
            }
        };
        let anchor = match kind {
            // An in-memory database lives while a connection to it is open: this one.
            Kind::Memory => Some(std::sync::Mutex::new(conn)),
            Kind::File | Kind::Server => {
                let _closed = conn.close().await;
                None
            }
        };
        let pool = match backend {
            // Deleted and overwritten content is zeroed, so a key sealed in place or a row
            // deleted leaves nothing behind in the file's free space.
            Backend::Sqlite => pool.after_connect(|conn, _meta| {
                Box::pin(async move {
                    sqlx::query("PRAGMA secure_delete = ON").execute(conn).await.map(drop)
                })
            }),
            Backend::Postgres => pool,
        };
        Ok(SqlStore {
            shared: Arc::new(Shared {
                pool: pool.acquire_timeout(timeout).connect_lazy_with(options),
                backend,
                notifications,
                _anchor: anchor,
                #[cfg(feature = "fault-injection")]
                fault: crate::fault::Slot::default(),
            }),
        })
    }
}

/// Where a store's database lives.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// A SQLite file.
    File,
    /// A SQLite database in memory.
    Memory,
    /// A database server.
    Server,
}

impl fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may carry a password.
        f.debug_struct("SqlStore")
            .field("backend", &self.shared.backend)
            .field("connections", &self.shared.pool.size())
            .finish_non_exhaustive()
    }
}

fn pool_options(options: &SqlOptions) -> AnyPoolOptions {
    AnyPoolOptions::new().max_connections(options.max_connections.max(1))
}

/// Makes the drivers for SQLite and PostgreSQL available to sqlx's `Any`. sqlx keeps one set
/// per process: if the embedder installed its own first, that set is used, and a URL it lacks
/// a driver for fails to connect with a clear error.
fn install_drivers() {
    let _already_installed =
        sqlx::any::install_drivers(&[sqlx::sqlite::any::DRIVER, sqlx::postgres::any::DRIVER]);
}

/// How the store at `url` announces its changes. On PostgreSQL the channel is named after the
/// schema keygate's tables are in (by its oid, which always fits a channel name), so stores in
/// different schemas of one database do not wake each other's readers.
async fn notifications(
    conn: &mut AnyConnection,
    url: &str,
    backend: Backend,
    kind: Kind,
) -> Result<Notifications, SqlError> {
    match (backend, kind) {
        (Backend::Postgres, _) => {
            // A Postgres-compatible database without NOTIFY (CockroachDB, say) still works as a
            // store; its readers poll.
            let found = sqlx::query(
                "SELECT CAST(COUNT(*) AS BIGINT) AS found FROM pg_catalog.pg_proc \
                 WHERE proname = 'pg_notify'",
            )
            .fetch_one(&mut *conn)
            .await;
            if !found.is_ok_and(|row| column::<i64>(&row, "found").is_ok_and(|n| n > 0)) {
                return Ok(Notifications::none());
            }
            let row = sqlx::query(
                "SELECT 'keygate_changes_' || CAST(oid AS TEXT) AS channel FROM pg_namespace \
                 WHERE nspname = current_schema()",
            )
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| driver(backend, e))?;
            let channel: String = column(&row, "channel")?;
            let options = PgConnectOptions::from_str(url).map_err(|e| driver(backend, e))?;
            Ok(Notifications::postgres(channel, options))
        }
        (Backend::Sqlite, Kind::Memory) => Ok(Notifications::in_memory()),
        (Backend::Sqlite, Kind::File | Kind::Server) => {
            let options = SqliteConnectOptions::from_str(url).map_err(|e| driver(backend, e))?;
            Ok(Notifications::sqlite_file(options.get_filename()))
        }
    }
}

/// Checks what the database holds, refuses what keygate must not write to, and migrates the
/// rest. Nothing is written before the checks pass.
async fn prepare(conn: &mut AnyConnection, backend: Backend, file: bool) -> Result<(), SqlError> {
    // A concurrent opener may create the schema between our look and our migration; then ours
    // fails, and the next look sees its work.
    let mut attempts = 0;
    loop {
        let found = schema::inspect(conn, backend).await?;
        schema::check_version(&found)?;
        if file {
            // Persistent for the file; a no-op when it is in WAL mode already.
            sqlx::query("PRAGMA journal_mode = WAL")
                .fetch_optional(&mut *conn)
                .await
                .map_err(|e| driver(backend, e))?;
        }
        if found == Found::Keygate(schema::SCHEMA_VERSION) {
            return Ok(());
        }
        match schema::migrate(conn, backend, &found).await {
            Ok(()) => return Ok(()),
            Err(_) if attempts < 2 => attempts += 1,
            Err(error) => return Err(error),
        }
    }
}

impl Shared {
    /// Runs a read outside any write: it sees the last committed state.
    pub(crate) async fn fetch_optional(
        &self,
        query: Query<'_, Any, AnyArguments>,
    ) -> Result<Option<AnyRow>, StoreError> {
        query.fetch_optional(&self.pool).await.map_err(|e| driver(self.backend, e).into())
    }

    /// Runs a read outside any write, returning every row.
    pub(crate) async fn fetch_all(
        &self,
        query: Query<'_, Any, AnyArguments>,
    ) -> Result<Vec<AnyRow>, StoreError> {
        query.fetch_all(&self.pool).await.map_err(|e| driver(self.backend, e).into())
    }
}

/// Reads column `name` of `row`.
pub(crate) fn column<'r, T>(row: &'r AnyRow, name: &str) -> Result<T, SqlError>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(name).map_err(|source| SqlError::CorruptRecord {
        what: "column",
        id: name.to_owned(),
        detail: match source {
            sqlx::Error::ColumnNotFound(_) => "column missing".to_owned(),
            _ => "column of the wrong type".to_owned(),
        },
    })
}

/// Whether users other than the file's owner may read the file at `path`: a store holding
/// signing material should not be. False where permissions are not Unix modes, and for a file
/// that cannot be examined.
pub fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|meta| meta.permissions().mode() & 0o044 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Creates an empty file at `path`, private to its owner, unless one exists.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}
