//! The operator's log of a server: one timestamped line per event on standard output, the
//! events a client can cause held to a budget, and what clients send printed escaped.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use keygate::{SyncError, SyncReport};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::time::Instant;

/// Lines of one kind logged in a window; the rest are counted and reported when the next window
/// opens.
const PER_WINDOW: u32 = 20;
const WINDOW: Duration = Duration::from_secs(10);

/// Writes an operator's log: each line on standard output, stamped with the time (RFC 3339,
/// UTC). Lines name key ids and principals, never a secret or a token; text a client chose
/// (a topic name, a subscription) goes in through [`Untrusted`], so that it cannot forge a line
/// or end one.
///
/// Refusals (failed authentications, connections turned away, requests refused) are held to
/// 20 lines in 10 seconds, so a reconnect storm cannot flood the log; a failing sync is logged
/// when it starts failing, then at most once a window with a count, and once when it recovers.
#[derive(Debug)]
pub struct Log {
    refusals: Mutex<Budget>,
    sync: Mutex<SyncFailures>,
}

#[derive(Debug)]
struct Budget {
    opened: Instant,
    logged: u32,
    dropped: u64,
}

#[derive(Debug, Default)]
struct SyncFailures {
    /// Failures since the last sync that succeeded.
    failing: u64,
    /// Those not logged yet.
    unlogged: u64,
    last_logged: Option<Instant>,
}

impl Log {
    /// A log on standard output.
    pub fn new() -> Log {
        Log {
            refusals: Mutex::new(Budget { opened: Instant::now(), logged: 0, dropped: 0 }),
            sync: Mutex::new(SyncFailures::default()),
        }
    }

    /// Logs a line.
    pub fn line(&self, message: fmt::Arguments<'_>) {
        println!("{} {message}", stamp(OffsetDateTime::now_utc()));
    }

    /// Logs a refusal within the budget, and counts it otherwise.
    pub fn refusal(&self, message: fmt::Arguments<'_>) {
        let (log, dropped) = {
            let mut budget = lock(&self.refusals);
            let mut dropped = 0;
            if budget.opened.elapsed() >= WINDOW {
                dropped = std::mem::take(&mut budget.dropped);
                budget.opened = Instant::now();
                budget.logged = 0;
            }
            let log = budget.logged < PER_WINDOW;
            if log {
                budget.logged += 1;
            } else {
                budget.dropped += 1;
            }
            (log, dropped)
        };
        if dropped > 0 {
            self.line(format_args!("{dropped} more refusals in the last window were not logged"));
        }
        if log {
            self.line(message);
        }
    }

    /// Logs what an operator needs of a sync: a failure when syncs start failing and then once a
    /// window (the authenticator keeps its state meanwhile, until its staleness bound), the
    /// recovery, and the signing keys the replica could not use.
    pub fn sync(&self, outcome: Result<&SyncReport, &SyncError>) {
        match outcome {
            Ok(report) => {
                let recovered = std::mem::take(&mut *lock(&self.sync)).failing;
                if recovered > 0 {
                    self.line(format_args!("sync recovered after {recovered} failed attempts"));
                }
                for (kid, reason) in &report.unusable_signing_keys {
                    self.line(format_args!(
                        "signing key {kid} is not used: {reason}; JWT API keys it signed are \
                         refused here"
                    ));
                }
            }
            Err(error) => {
                let due = {
                    let mut failures = lock(&self.sync);
                    failures.failing += 1;
                    failures.unlogged += 1;
                    let due = failures.last_logged.is_none_or(|at| at.elapsed() >= WINDOW);
                    if due {
                        failures.last_logged = Some(Instant::now());
                    }
                    due.then(|| std::mem::take(&mut failures.unlogged))
                };
                if let Some(count) = due {
                    let times = if count > 1 { format!(" ({count} times)") } else { String::new() };
                    self.line(format_args!(
                        "sync failed{times} (the authenticator keeps its state): {error}"
                    ));
                }
            }
        }
    }

    /// A sync observer for [`ServerConfig::on_sync`](crate::ServerConfig::on_sync) that logs
    /// to this log as [`Log::sync`] does.
    pub fn sync_observer(
        self: &Arc<Log>,
    ) -> impl Fn(Result<&SyncReport, &SyncError>) + Send + Sync + 'static {
        let log = Arc::clone(self);
        move |outcome| log.sync(outcome)
    }
}

impl Default for Log {
    fn default() -> Log {
        Log::new()
    }
}

/// Text a client chose, for a log line: printed with control characters, quotes and backslashes
/// escaped (as Rust escapes a string literal's contents), so a newline cannot start a forged
/// line and a NUL cannot make the log binary. Long text is cut at 200 characters.
#[derive(Clone, Copy)]
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 200;
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(SHOWN) {
            write!(f, "{}", c.escape_debug())?;
        }
        if chars.next().is_some() {
            f.write_str("…")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

fn stamp(now: OffsetDateTime) -> String {
    now.format(&Rfc3339).unwrap_or_else(|_| now.unix_timestamp().to_string())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_beyond_the_budget_are_counted_not_logged() {
        let log = Log::new();
        for _ in 0..PER_WINDOW + 5 {
            log.refusal(format_args!("refused"));
        }
        let budget = log.refusals.lock().unwrap();
        assert_eq!(budget.logged, PER_WINDOW);
        assert_eq!(budget.dropped, 5);
    }

    #[test]
    fn a_failing_sync_is_logged_once_a_window_and_counted() {
        let log = Log::new();
        let error = SyncError::Apply("the store is away".to_owned());
        for _ in 0..100 {
            log.sync(Err(&error));
        }
        let failures = log.sync.lock().unwrap();
        assert_eq!((failures.failing, failures.unlogged), (100, 99));
        drop(failures);
        log.sync(Ok(&SyncReport::default()));
        assert_eq!(log.sync.lock().unwrap().failing, 0);
    }

    #[test]
    fn client_text_cannot_break_a_line() {
        let forged = "orders\n2026-12-07T00:00:00Z connection 1: authenticated as admin\0";
        let shown = Untrusted(forged).to_string();
        assert!(!shown.contains('\n') && !shown.contains('\0'), "{shown}");
        assert!(shown.starts_with("orders\\n2026"), "{shown}");
        assert!(shown.ends_with("admin\\0"), "{shown}");
        let long = "x".repeat(10_000);
        assert_eq!(Untrusted(&long).to_string().chars().count(), 201);
    }
}
