//! The operator's log: one timestamped line per event on standard output, and refusals held
//! to a budget so that a client's reconnect storm cannot flood it.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::time::Instant;

/// Refusals logged in one window; the rest are counted and reported when the next window opens.
const REFUSALS_PER_WINDOW: u32 = 20;
const WINDOW: Duration = Duration::from_secs(10);

/// Writes log lines. Lines carry key ids and principals, never a secret or a token.
#[derive(Debug)]
pub(crate) struct Log {
    refusals: Mutex<Budget>,
}

#[derive(Debug)]
struct Budget {
    opened: Instant,
    logged: u32,
    dropped: u64,
}

impl Log {
    pub(crate) fn new() -> Log {
        Log { refusals: Mutex::new(Budget { opened: Instant::now(), logged: 0, dropped: 0 }) }
    }

    /// Logs a line.
    pub(crate) fn line(&self, message: fmt::Arguments<'_>) {
        let now = OffsetDateTime::now_utc();
        let stamp = now.format(&Rfc3339).unwrap_or_else(|_| now.unix_timestamp().to_string());
        println!("{stamp} {message}");
    }

    /// Logs a refusal (a failed authentication, a refused connection or request) within the
    /// budget, and counts it otherwise.
    pub(crate) fn refusal(&self, message: fmt::Arguments<'_>) {
        let (log, dropped) = {
            let mut budget = self.refusals.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut dropped = 0;
            if budget.opened.elapsed() >= WINDOW {
                dropped = std::mem::take(&mut budget.dropped);
                budget.opened = Instant::now();
                budget.logged = 0;
            }
            let log = budget.logged < REFUSALS_PER_WINDOW;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_beyond_the_budget_are_counted_not_logged() {
        let log = Log::new();
        for _ in 0..REFUSALS_PER_WINDOW + 5 {
            log.refusal(format_args!("refused"));
        }
        let budget = log.refusals.lock().unwrap();
        assert_eq!(budget.logged, REFUSALS_PER_WINDOW);
        assert_eq!(budget.dropped, 5);
    }
}
