//! Telling readers that the feed moved: PostgreSQL's `LISTEN`/`NOTIFY` for every writer of the
//! database, and an in-process signal for SQLite.
//!
//! On PostgreSQL a write sends `NOTIFY` inside its own transaction ([`Writer`] does, just before
//! it commits), and the server delivers it only once the transaction has committed: a reader can
//! never hear of a change it cannot read yet, and a rolled-back write announces nothing. One
//! connection per store listens, opened when the first watch is taken; when it is lost, every
//! watch hears [`Notice::Interrupted`](keygate_store::Notice::Interrupted) at once, and the
//! store reconnects with exponential backoff (50 ms doubling to 5 s, jittered so a fleet does not
//! reconnect in step), then announces `Listening` so readers catch up on what was not announced.
//!
//! SQLite has no way to hear another process's writes, so its notifications reach only this
//! process ([`Reach::ThisProcess`]): every store opened on the same file here shares one signal,
//! raised after each commit.
//!
//! [`Writer`]: crate::writer::Writer

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use keygate_store::{ChangeSignal, ChangeWatch, Reach};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::task::JoinHandle;

/// The name the listening connection gives itself, unless the URL names the application: what
/// an operator sees in `pg_stat_activity`.
pub const LISTENER_APPLICATION_NAME: &str = "keygate-listener";

/// How a store announces its changes.
pub(crate) struct Notifications {
    /// `None` for a database that cannot notify.
    signal: Option<Arc<ChangeSignal>>,
    postgres: Option<Listener>,
}

/// PostgreSQL's side: where to listen, and the task that does, once started.
struct Listener {
    channel: String,
    options: PgConnectOptions,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Notifications {
    /// For a SQLite database in memory: only this store reaches it, so every writer announces.
    pub(crate) fn in_memory() -> Notifications {
        let signal = Arc::new(ChangeSignal::new(Reach::AllWriters));
        Notifications { signal: Some(signal), postgres: None }
    }

    /// For a Postgres-compatible database without `LISTEN`/`NOTIFY`: readers poll.
    pub(crate) fn none() -> Notifications {
        Notifications { signal: None, postgres: None }
    }

    /// For the SQLite file at `path`: one signal for every store opened on it in this process.
    pub(crate) fn sqlite_file(path: &Path) -> Notifications {
        static FILES: Mutex<Option<HashMap<PathBuf, Weak<ChangeSignal>>>> = Mutex::new(None);
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mut files = FILES.lock().unwrap_or_else(PoisonError::into_inner);
        let files = files.get_or_insert_with(HashMap::new);
        files.retain(|_, signal| signal.strong_count() > 0);
        let signal = match files.get(&path).and_then(Weak::upgrade) {
            Some(signal) => signal,
            None => {
                let signal = Arc::new(ChangeSignal::new(Reach::ThisProcess));
                files.insert(path, Arc::downgrade(&signal));
                signal
            }
        };
        Notifications { signal: Some(signal), postgres: None }
    }

    /// For PostgreSQL: `NOTIFY` on `channel`, heard by a connection made with `options`.
    pub(crate) fn postgres(channel: String, options: PgConnectOptions) -> Notifications {
        let options = match options.get_application_name() {
            Some(_) => options,
            None => options.application_name(LISTENER_APPLICATION_NAME),
        };
        Notifications {
            signal: Some(Arc::new(ChangeSignal::not_listening(Reach::AllWriters))),
            postgres: Some(Listener { channel, options, task: Mutex::new(None) }),
        }
    }

    /// The channel a PostgreSQL write notifies, `None` for SQLite.
    pub(crate) fn channel(&self) -> Option<&str> {
        self.postgres.as_ref().map(|listener| listener.channel.as_str())
    }

    /// A new watch. On PostgreSQL this starts the listening connection, on the current tokio
    /// runtime; outside one there is nothing to run it on, and the store does not notify.
    pub(crate) fn watch(&self) -> Option<ChangeWatch> {
        let signal = self.signal.as_ref()?;
        if let Some(listener) = &self.postgres {
            let mut task = listener.task.lock().unwrap_or_else(PoisonError::into_inner);
            if task.is_none() {
                let runtime = tokio::runtime::Handle::try_current().ok()?;
                *task = Some(runtime.spawn(listen(
                    listener.options.clone(),
                    listener.channel.clone(),
                    (**signal).clone(),
                )));
            }
        }
        Some(signal.watch())
    }

    /// Called after a write that moved the feed has committed.
    pub(crate) fn committed(&self) {
        // PostgreSQL announces through the server, to every listener alike.
        if self.postgres.is_none()
            && let Some(signal) = &self.signal
        {
            signal.changed();
        }
    }

    /// Stops listening for good: the store was closed. The aborted task stays in its place, so
    /// a later watch does not start another.
    pub(crate) fn stop(&self) {
        if let Some(listener) = &self.postgres
            && let Some(task) = &*listener.task.lock().unwrap_or_else(PoisonError::into_inner)
        {
            task.abort();
            if let Some(signal) = &self.signal {
                signal.interrupted();
            }
        }
    }
}

impl Drop for Notifications {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Listens on `channel` for as long as the store lives, reconnecting with backoff.
async fn listen(options: PgConnectOptions, channel: String, signal: ChangeSignal) {
    let mut backoff = Backoff::default();
    loop {
        if let Ok(mut listener) = subscribe(&options, &channel).await {
            backoff.reset();
            signal.listening();
            // `None` is a lost connection; an error (the server ending the session) too.
            while let Ok(Some(_notification)) = listener.try_recv().await {
                signal.changed();
            }
            signal.interrupted();
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// A connection listening on `channel`.
async fn subscribe(options: &PgConnectOptions, channel: &str) -> Result<PgListener, sqlx::Error> {
    // A pool of one, so that the listener never reconnects behind our back: a lost connection
    // must be seen, because what was sent while it was down was not heard.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with(options.clone());
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.eager_reconnect(false);
    listener.listen(channel).await?;
    Ok(listener)
}

/// Exponential backoff from 50 ms to 5 s, each delay jittered down by up to a half.
#[derive(Debug)]
struct Backoff {
    next: Duration,
    jitter: RandomState,
    attempt: u64,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(50);
    const MAX: Duration = Duration::from_secs(5);

    fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(Backoff::MAX);
        self.attempt += 1;
        // A fraction in [0.5, 1) from a per-process random hash of the attempt number.
        let fraction = 0.5 + (self.jitter.hash_one(self.attempt) % 1000) as f64 / 2000.0;
        delay.mul_f64(fraction)
    }

    fn reset(&mut self) {
        self.next = Backoff::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { next: Backoff::FIRST, jitter: RandomState::new(), attempt: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_ceiling_jittered_and_starts_over_after_a_success() {
        let mut backoff = Backoff::default();
        let delays: Vec<Duration> = (0..10).map(|_| backoff.next_delay()).collect();
        for (i, delay) in delays.iter().enumerate() {
            let full = (Backoff::FIRST * 2u32.pow(i as u32)).min(Backoff::MAX);
            assert!(*delay >= full / 2 && *delay <= full, "attempt {i}: {delay:?} of {full:?}");
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Backoff::FIRST);
    }

    #[test]
    fn stores_on_one_file_share_a_signal_and_other_files_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
        std::fs::write(&a, b"").unwrap();
        std::fs::write(&b, b"").unwrap();
        let first = Notifications::sqlite_file(&a);
        let same = Notifications::sqlite_file(&dir.path().join(".").join("a.db"));
        let other = Notifications::sqlite_file(&b);
        let signal = |n: &Notifications| Arc::clone(n.signal.as_ref().unwrap());
        assert!(Arc::ptr_eq(&signal(&first), &signal(&same)));
        assert!(!Arc::ptr_eq(&signal(&first), &signal(&other)));
        assert_eq!(first.watch().unwrap().reach(), Reach::ThisProcess);
    }
}
