//! Opening the store the command works on, and the audit log it writes to.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use keygate::store::KeyStore;
use keygate::{Actor, AuditEvent, AuditSink, KeyManager};
use keygate_store_sql::SqlStore;

use crate::error::Failure;

/// The store and the manager over it, with the audit log in the same database.
pub(crate) struct Workspace {
    pub(crate) store: Arc<SqlStore>,
    pub(crate) manager: KeyManager,
    pub(crate) actor: Actor,
}

impl Workspace {
    /// Opens the store at `location` (by default the per-user one, created on first use), for
    /// changes made by `actor`.
    pub(crate) async fn open(
        location: Option<&str>,
        actor_name: Option<&str>,
    ) -> Result<Workspace, Failure> {
        let actor = actor(actor_name)?;
        let store = Arc::new(open_store(location).await?);
        let manager = KeyManager::new(store.clone())
            .with_audit(Arc::new(SqlAudit { store: Arc::clone(&store) }));
        Ok(Workspace { store, manager, actor })
    }
}

/// The store at `location` (as [`SqlStore::open_location`] reads it); by default the per-user
/// data path, whose directory is created on first use, private to its owner. A store file that
/// other users can read is opened with a warning: it holds signing keys.
async fn open_store(location: Option<&str>) -> Result<SqlStore, Failure> {
    let (opened, file) = match location {
        Some(location) => {
            let file = SqlStore::file_of(location).map(Path::to_path_buf);
            (SqlStore::open_location(location).await, file)
        }
        None => {
            let path = default_store_path()?;
            if let Some(dir) = path.parent() {
                create_private_dir(dir)?;
            }
            (SqlStore::open(&path).await, Some(path))
        }
    };
    let store = opened.map_err(|error| {
        Failure::error(format!("cannot open the store: {}", Failure::from(error).message()))
    })?;
    if let Some(file) = file.filter(|file| keygate_store_sql::readable_by_others(file)) {
        eprintln!(
            "keygate: warning: other users can read the store {} (it holds signing keys); \
             `chmod 600` it",
            file.display()
        );
    }
    Ok(store)
}

/// Creates `dir` readable by its owner only (0700) if it does not exist; its parents as usual.
fn create_private_dir(dir: &Path) -> Result<(), Failure> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Failure::io(parent.display(), e))?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            Err(Failure::io(dir.display(), e))
        }
        _ => Ok(()),
    }
}

/// `$XDG_DATA_HOME/keygate/keygate.db`, or `$HOME/.local/share/keygate/keygate.db`.
pub(crate) fn default_store_path() -> Result<PathBuf, Failure> {
    let data = match std::env::var_os("XDG_DATA_HOME").filter(|dir| !dir.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME").filter(|dir| !dir.is_empty()) {
            Some(home) => PathBuf::from(home).join(".local").join("share"),
            None => {
                return Err(Failure::error(
                    "no store given, and neither XDG_DATA_HOME nor HOME is set: pass --store",
                ));
            }
        },
    };
    Ok(data.join("keygate").join("keygate.db"))
}

/// The actor named on the command line or in the environment, else `cli:$USER`.
fn actor(name: Option<&str>) -> Result<Actor, Failure> {
    let name = match name {
        Some(name) => name.to_owned(),
        None => match std::env::var("USER").or_else(|_| std::env::var("LOGNAME")) {
            Ok(user) if !user.is_empty() => format!("cli:{user}"),
            _ => "cli".to_owned(),
        },
    };
    Actor::new(&name).map_err(|e| Failure::error(format!("--actor: {e}")))
}

/// Audit events, appended to the store's audit log. An event about a key is filed under the
/// key's owner too, so `audit list --principal` finds revocations and suspensions.
#[derive(Debug)]
struct SqlAudit {
    store: Arc<SqlStore>,
}

#[async_trait]
impl AuditSink for SqlAudit {
    async fn record(&self, event: &AuditEvent) {
        let keys = event.keys();
        let mut principal = event.principal().cloned();
        if principal.is_none()
            && let Some(first) = keys.first()
            && let Ok(key) = self.store.key(*first).await
        {
            principal = Some(key.owner().clone());
        }
        if let Err(error) =
            self.store.append_audit(event.at, principal.as_ref(), &keys, event).await
        {
            // The change itself happened; say that its record did not.
            eprintln!("keygate: warning: the audit log did not record this change: {error}");
        }
    }
}
