//! Opening the store the command works on, and the master key that seals its signing keys.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keygate::core::SigningKeyId;
use keygate::store::{Sealed, StoreError, VerificationMaterial};
use keygate::token::MasterKey;
use keygate::{Actor, KeyManager};
use keygate_store_sql::SqlStore;
use zeroize::Zeroizing;

use crate::error::Failure;
use crate::keys::key_bytes;

/// The store, the manager over it, and the master key, if there is one.
pub(crate) struct Workspace {
    pub(crate) store: Arc<SqlStore>,
    pub(crate) actor: Actor,
    pub(crate) master_key: Option<Arc<MasterKey>>,
    /// Where the master key of a SQLite store lives when none is given.
    beside: Option<PathBuf>,
}

impl Workspace {
    /// Opens the store at `location` (by default the per-user one, created on first use), for
    /// changes made by `actor`, with the master key given (`--master-key`), else the one beside
    /// a SQLite store. That one is created on first use: when the first signing key is created
    /// ([`Workspace::sealing_manager`]), or to seal what an older keygate left in the clear.
    pub(crate) async fn open(
        location: Option<&str>,
        actor_name: Option<&str>,
        master_key: Option<&str>,
        create: bool,
    ) -> Result<Workspace, Failure> {
        let actor = actor(actor_name)?;
        let (store, file) = open_store(location, create).await?;
        let store = Arc::new(store);
        let beside = file.as_deref().map(master_key_path);
        let master_key = match (master_key, &beside) {
            (Some(value), _) => {
                Some(Arc::new(master_key_from(&key_bytes("--master-key", value)?)?))
            }
            (None, Some(path)) => {
                let create = store.holds_plaintext_signing_keys().await?;
                load_or_create(&store, path, create).await?.map(Arc::new)
            }
            (None, None) => None,
        };
        if let Some(master_key) = &master_key {
            check_master_key(&store, master_key).await?;
            seal_plaintext(&store, master_key).await?;
        }
        Ok(Workspace { store, actor, master_key, beside })
    }

    /// The manager, with a master key to seal a new signing key with: the one given or found,
    /// else (for a SQLite store) one created beside the store now.
    pub(crate) async fn sealing_manager(&self) -> Result<KeyManager, Failure> {
        if let Some(master_key) = &self.master_key {
            return Ok(manager(&self.store, Some(master_key)));
        }
        let Some(path) = &self.beside else {
            return Err(Failure::from(keygate::ManagerError::NoMasterKey));
        };
        let master_key = load_or_create(&self.store, path, true).await?.map(Arc::new);
        Ok(manager(&self.store, master_key.as_ref()))
    }
}

impl Workspace {
    /// A manager over the store with the master key there is, if any.
    pub(crate) fn plain_manager(&self) -> KeyManager {
        manager(&self.store, self.master_key.as_ref())
    }

    /// How the store's credentials are checked here, as a broker checks them: HMAC-signed
    /// keys only with the master key.
    pub(crate) fn auth_config(&self) -> keygate::AuthConfig {
        match &self.master_key {
            Some(master_key) => {
                keygate::AuthConfig::default().with_master_key(Arc::clone(master_key))
            }
            None => keygate::AuthConfig::default(),
        }
    }

    /// A manager for a long-running server: with the master key when there is one (given, or
    /// beside a SQLite store), else without, so it serves everything but signing keys and JWT
    /// minting, which answer that the server has no master key.
    pub(crate) async fn serving_manager(&self) -> Result<KeyManager, Failure> {
        if self.master_key.is_some() || self.beside.is_some() {
            return self.sealing_manager().await;
        }
        Ok(manager(&self.store, None))
    }
}

fn manager(store: &Arc<SqlStore>, master_key: Option<&Arc<MasterKey>>) -> KeyManager {
    let manager = KeyManager::new(store.clone());
    match master_key {
        Some(master_key) => manager.with_master_key(Arc::clone(master_key)),
        None => manager,
    }
}

/// Where the master key of the SQLite store `file` lives when none is given: beside it.
fn master_key_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".master-key");
    file.with_file_name(name)
}

/// The master key at `path`, beside a SQLite store: read if it exists; else, with `create`,
/// created (0600), saying so once. A store whose keys are sealed already is not given a new
/// one: that would never open them.
async fn load_or_create(
    store: &SqlStore,
    path: &Path,
    create: bool,
) -> Result<Option<MasterKey>, Failure> {
    match std::fs::File::open(path).and_then(keygate::token::KeyValue::read_capped) {
        Ok(bytes) => {
            if keygate_store_sql::readable_by_others(path) {
                eprintln!(
                    "keygate: warning: other users can read the master key {}; `chmod 600` it",
                    path.display()
                );
            }
            return master_key_from(&bytes)
                .map(Some)
                .map_err(|e| Failure::error(format!("{}: {}", path.display(), e.message())));
        }
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            return Err(Failure::io(path.display(), error));
        }
        Err(_) => {}
    }
    if !create {
        return Ok(None);
    }
    if let Some((_, fingerprint)) = sealed_with(store).await?.first() {
        return Err(Failure::error(format!(
            "this store's signing keys are sealed under master key {fingerprint}, and {} is \
             missing: restore it from its backup, or give --master-key",
            path.display()
        )));
    }
    let bytes = MasterKey::generate_bytes().map_err(Failure::error)?;
    let text = Zeroizing::new(format!("{}\n", STANDARD.encode(&*bytes)));
    write_new_private(path, text.as_bytes())?;
    let key = MasterKey::from_bytes(&bytes).map_err(Failure::error)?;
    eprintln!(
        "keygate: created the master key {} ({}), which seals this store's signing keys; \
         back it up apart from the store: without it, no new JWT API key can be signed",
        path.display(),
        key.fingerprint()
    );
    Ok(Some(key))
}

/// Each sealed signing key of the store, with the fingerprint of the master key it is sealed
/// under.
async fn sealed_with(store: &SqlStore) -> Result<Vec<(SigningKeyId, String)>, Failure> {
    use keygate::store::SigningKeyStore;
    let mut sealed_with = Vec::new();
    for key in store.signing_keys().await? {
        let sealed = match key.verification {
            VerificationMaterial::SealedSecret(sealed) => sealed,
            _ => match store.signing_key_private(&key.kid).await {
                Ok(sealed) => sealed,
                Err(StoreError::NotFound { .. } | StoreError::Invalid(_)) => continue,
                Err(error) => return Err(error.into()),
            },
        };
        if let Ok(fingerprint) = keygate::token::seal::sealed_with_fingerprint(sealed.as_bytes()) {
            sealed_with.push((key.kid, fingerprint));
        }
    }
    Ok(sealed_with)
}

/// Refuses a master key that seals none of the store's signing keys: used, it would seal new
/// keys that the real master key cannot open, and every replica given the real one would hold
/// a signing key it cannot use. Keys sealed under another master key beside ones this key
/// opens (left by such a mistake before) are named, not fatal.
async fn check_master_key(store: &SqlStore, master_key: &MasterKey) -> Result<(), Failure> {
    let sealed = sealed_with(store).await?;
    if sealed.is_empty() {
        return Ok(());
    }
    let given = master_key.fingerprint();
    let (ours, others): (Vec<_>, Vec<_>) = sealed.iter().partition(|(_, fp)| *fp == given);
    if ours.is_empty() {
        let mut fingerprints: Vec<&str> = sealed.iter().map(|(_, fp)| fp.as_str()).collect();
        fingerprints.sort_unstable();
        fingerprints.dedup();
        return Err(Failure::error(format!(
            "the master key given ({given}) is not the one this store's signing keys are sealed \
             under ({}): check --master-key and KEYGATE_MASTER_KEY",
            fingerprints.join(", ")
        )));
    }
    if !others.is_empty() {
        let kids: Vec<String> = others.iter().map(|(kid, _)| kid.to_string()).collect();
        eprintln!(
            "keygate: warning: signing key(s) {} are sealed under another master key and \
             cannot be opened with this one; retire them",
            kids.join(", ")
        );
    }
    Ok(())
}

/// A master key as given: 32 bytes, raw or as base64 text (as the file keygate creates holds).
fn master_key_from(bytes: &[u8]) -> Result<MasterKey, Failure> {
    MasterKey::decode(bytes).map_err(Failure::error)
}

/// Seals what an older keygate left in the clear in the store, saying so.
async fn seal_plaintext(store: &SqlStore, master_key: &MasterKey) -> Result<(), Failure> {
    let sealed = store
        .seal_plaintext_signing_keys(|kid, bytes| {
            master_key
                .seal(kid.as_str().as_bytes(), bytes)
                .map(Sealed::new)
                .map_err(|_| StoreError::Invalid("sealing a signing key failed"))
        })
        .await
        .map_err(|e| Failure::error(format!("cannot seal the store's signing keys: {e}")))?;
    if !sealed.is_empty() {
        let kids: Vec<String> = sealed.iter().map(ToString::to_string).collect();
        eprintln!(
            "keygate: sealed signing key(s) {} under master key {}: an older keygate stored \
             them in the clear",
            kids.join(", "),
            master_key.fingerprint()
        );
    }
    Ok(())
}

/// Writes `bytes` to a new file at `path`, readable by its owner only.
fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| Failure::io(path.display(), e))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| Failure::io(path.display(), e))
}

/// The store at `location` (as [`SqlStore::open_location`] reads it); by default the per-user
/// data path, whose directory is created on first use, private to its owner. Without `create`,
/// a SQLite file that does not exist is refused rather than made. A store file that other users
/// can read is opened with a warning.
async fn open_store(
    location: Option<&str>,
    create: bool,
) -> Result<(SqlStore, Option<PathBuf>), Failure> {
    let file = match location {
        Some(location) => SqlStore::file_of(location).map(Path::to_path_buf),
        None => Some(default_store_path()?),
    };
    if let Some(file) = file.as_ref().filter(|file| file.exists() && !file.is_file()) {
        return Err(Failure::error(format!(
            "{} is not a regular file: a SQLite store is a file (check --store and KEYGATE_STORE)",
            file.display()
        )));
    }
    if let Some(file) = file.as_ref().filter(|file| !create && !file.exists()) {
        return Err(Failure::error(format!(
            "there is no store at {}: a command that only reads does not create one (check \
             --store and KEYGATE_STORE)",
            file.display()
        )));
    }
    let opened = match location {
        Some(location) => SqlStore::open_location(location).await,
        None => {
            let path = default_store_path()?;
            if let Some(dir) = path.parent() {
                create_private_dir(dir)?;
            }
            SqlStore::open(&path).await
        }
    };
    let store = opened.map_err(|error| {
        Failure::error(format!("cannot open the store: {}", Failure::from(error).message()))
    })?;
    if let Some(file) = file.as_ref().filter(|file| keygate_store_sql::readable_by_others(file)) {
        eprintln!(
            "keygate: warning: other users can read the store {} (it holds signing keys); \
             `chmod 600` it",
            file.display()
        );
    }
    Ok((store, file))
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
