//! Notifications that the change feed moved: how a store that can tell its readers about a change
//! does so, without them asking.
//!
//! A store that notifies holds a [`ChangeSignal`] and raises it after each change is committed
//! (never before: a reader woken by it must find the change). Readers take a [`ChangeWatch`] from
//! [`ChangeFeed::watch`](crate::ChangeFeed::watch) and wait on [`ChangeWatch::notice`]. A
//! notification says only that the feed may have moved; the reader then reads the feed as it
//! always does, so a notification that is lost, late or spurious costs freshness, never
//! correctness, and readers keep a slow poll beside it.
//!
//! Runtime-agnostic: a watch is woken through its task's [`Waker`], whatever executor runs it.

use std::collections::BTreeMap;
use std::fmt;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

/// Which changes a store's notifications announce.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reach {
    /// Every change, whoever made it (PostgreSQL's `NOTIFY`, a store in memory): while the
    /// watch is listening, a reader can poll slowly.
    AllWriters,
    /// Changes made through this process only (a SQLite file, which another process may write
    /// to unannounced): a reader still polls at its usual rate, and hears of this process's own
    /// changes at once.
    ThisProcess,
}

/// What a [`ChangeWatch`] heard.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// The feed moved on.
    Changed,
    /// Notifications flow (again). Changes made while they did not were not announced: read
    /// the feed now.
    Listening,
    /// Notifications stopped (the connection that carries them was lost); the store is
    /// reconnecting. Until [`Notice::Listening`], poll at the rate used without notifications.
    Interrupted,
}

/// The sending side of a store's notifications: raised by the store, heard by every
/// [`ChangeWatch`] it handed out. Cheap to clone; clones raise the same signal.
#[derive(Clone)]
pub struct ChangeSignal {
    shared: Arc<Shared>,
}

/// A reader's subscription to a store's notifications. Dropping it unsubscribes.
pub struct ChangeWatch {
    shared: Arc<Shared>,
    id: u64,
    seen: Heard,
}

struct Shared {
    reach: Reach,
    state: Mutex<State>,
}

struct State {
    heard: Heard,
    /// The watches waiting for something new, by id.
    waiting: BTreeMap<u64, Waker>,
    next_id: u64,
}

/// Everything a signal has said so far, as counters a watch compares with what it saw.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Heard {
    changes: u64,
    /// How many times notifications started flowing.
    starts: u64,
    listening: bool,
}

impl ChangeSignal {
    /// A signal announcing changes of `reach`, listening from the start (a store that notifies
    /// its own writers in-process).
    pub fn new(reach: Reach) -> ChangeSignal {
        ChangeSignal::with_listening(reach, true)
    }

    /// A signal that is not listening yet: for a store whose notifications arrive over a
    /// connection still to be made. Call [`ChangeSignal::listening`] once it is.
    pub fn not_listening(reach: Reach) -> ChangeSignal {
        ChangeSignal::with_listening(reach, false)
    }

    /// Announces that the feed moved. Call it after the change is visible to readers.
    pub fn changed(&self) {
        self.update(|heard| heard.changes = heard.changes.wrapping_add(1));
    }

    /// Announces that notifications flow (again); watches then read the feed, to catch what
    /// was committed while they did not.
    pub fn listening(&self) {
        self.update(|heard| {
            heard.starts = heard.starts.wrapping_add(1);
            heard.listening = true;
        });
    }

    /// Announces that notifications stopped until the next [`ChangeSignal::listening`].
    pub fn interrupted(&self) {
        self.update(|heard| heard.listening = false);
    }

    /// Whether notifications flow now.
    pub fn is_listening(&self) -> bool {
        self.shared.lock().heard.listening
    }

    /// A new subscription. It hears what is raised from now on.
    pub fn watch(&self) -> ChangeWatch {
        let mut state = self.shared.lock();
        let id = state.next_id;
        state.next_id += 1;
        ChangeWatch { shared: Arc::clone(&self.shared), id, seen: state.heard }
    }

    fn update(&self, change: impl FnOnce(&mut Heard)) {
        let waiting = {
            let mut state = self.shared.lock();
            change(&mut state.heard);
            std::mem::take(&mut state.waiting)
        };
        // Woken outside the lock: a woken watch may be polled on another thread at once.
        for waker in waiting.into_values() {
            waker.wake();
        }
    }
}

impl ChangeWatch {
    /// Waits until the signal says something this watch has not heard, and returns what.
    /// Several changes since the last call are one [`Notice::Changed`]. Cancel-safe: dropping
    /// the future loses nothing, the next call hears it.
    pub async fn notice(&mut self) -> Notice {
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            let heard = state.heard;
            match notice(self.seen, heard) {
                Some(notice) => {
                    self.seen = heard;
                    state.waiting.remove(&self.id);
                    Poll::Ready(notice)
                }
                None => {
                    match state.waiting.get_mut(&self.id) {
                        Some(waker) => waker.clone_from(cx.waker()),
                        None => {
                            state.waiting.insert(self.id, cx.waker().clone());
                        }
                    }
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// Whether notifications flow now.
    pub fn is_listening(&self) -> bool {
        self.shared.lock().heard.listening
    }

    /// Which changes the notifications announce.
    pub fn reach(&self) -> Reach {
        self.shared.reach
    }
}

/// What a watch that saw `seen` hears now that the signal says `now`, if anything.
fn notice(seen: Heard, now: Heard) -> Option<Notice> {
    if now.starts != seen.starts && now.listening {
        Some(Notice::Listening)
    } else if (seen.listening && !now.listening) || now.starts != seen.starts {
        // Stopped; or started and stopped again since the watch last looked.
        Some(Notice::Interrupted)
    } else if now.changes != seen.changes {
        Some(Notice::Changed)
    } else {
        None
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state whole, so a poisoned lock is still sound.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ChangeSignal {
    fn with_listening(reach: Reach, listening: bool) -> ChangeSignal {
        let heard = Heard { changes: 0, starts: u64::from(listening), listening };
        let state = State { heard, waiting: BTreeMap::new(), next_id: 0 };
        ChangeSignal { shared: Arc::new(Shared { reach, state: Mutex::new(state) }) }
    }
}

impl Drop for ChangeWatch {
    fn drop(&mut self) {
        self.shared.lock().waiting.remove(&self.id);
    }
}

impl fmt::Debug for ChangeSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("ChangeSignal")
            .field("reach", &self.shared.reach)
            .field("listening", &state.heard.listening)
            .field("watches_waiting", &state.waiting.len())
            .finish()
    }
}

impl fmt::Debug for ChangeWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeWatch")
            .field("reach", &self.shared.reach)
            .field("listening", &self.is_listening())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Wake};

    use super::*;

    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Polls `watch.notice()` once.
    fn poll_once(watch: &mut ChangeWatch, wakes: &Arc<CountWakes>) -> Poll<Notice> {
        let waker = Waker::from(Arc::clone(wakes));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(watch.notice());
        future.as_mut().poll(&mut cx)
    }

    #[test]
    fn a_watch_hears_changes_raised_after_it_was_taken_once_each_burst() {
        let signal = ChangeSignal::new(Reach::AllWriters);
        signal.changed();
        let mut watch = signal.watch();
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        assert_eq!(poll_once(&mut watch, &wakes), Poll::Pending);
        signal.changed();
        signal.changed();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "woken once, then no longer waiting");
        assert_eq!(poll_once(&mut watch, &wakes), Poll::Ready(Notice::Changed));
        assert_eq!(poll_once(&mut watch, &wakes), Poll::Pending);
    }

    #[test]
    fn interruptions_and_restarts_are_heard_even_when_missed_in_between() {
        let signal = ChangeSignal::not_listening(Reach::AllWriters);
        let mut watch = signal.watch();
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        assert!(!watch.is_listening());
        signal.listening();
        assert_eq!(poll_once(&mut watch, &wakes), Poll::Ready(Notice::Listening));
        signal.interrupted();
        assert_eq!(poll_once(&mut watch, &wakes), Poll::Ready(Notice::Interrupted));
        // Back and lost again before the watch looked: it must still poll fast, and resync.
        signal.listening();
        signal.interrupted();
        assert_eq!(poll_once(&mut watch, &wakes), Poll::Ready(Notice::Interrupted));
        signal.listening();
        signal.changed();
        assert_eq!(poll_once(&mut watch, &wakes), Poll::Ready(Notice::Listening));
        assert_eq!(poll_once(&mut watch, &wakes), Poll::Pending);
    }

    #[test]
    fn a_dropped_watch_leaves_no_waker_behind() {
        let signal = ChangeSignal::new(Reach::ThisProcess);
        let mut watch = signal.watch();
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        assert_eq!(poll_once(&mut watch, &wakes), Poll::Pending);
        assert_eq!(watch.reach(), Reach::ThisProcess);
        drop(watch);
        signal.changed();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0);
        assert!(format!("{signal:?}").contains("watches_waiting: 0"));
    }
}
