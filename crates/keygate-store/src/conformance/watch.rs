//! Notifications, for stores that send them ([`ChangeFeed::watch`](crate::ChangeFeed::watch)
//! returns a watch): every committed change is announced, after it is visible; a failed one is
//! not; every watch hears it. A store that does not notify passes these cases by returning
//! `None`, and its readers poll.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::timeout;

use crate::{ChangeWatch, Notice, Seq, Store, StoreError};

use super::fixtures::*;

/// How long a notification may take before a case calls it lost: a liveness bound, far above
/// what any store takes.
const LOST_AFTER: Duration = Duration::from_secs(10);

/// How long a case waits to be sure a notification does not come.
const QUIET_FOR: Duration = Duration::from_millis(300);

/// Each committed change is announced to a watch taken before it, and when the notice arrives
/// the change is in the feed.
pub async fn watch_announces_each_change_after_it_is_visible<S: Store + ?Sized>(store: Arc<S>) {
    let Some(mut watch) = listening(&*store).await else { return };
    let mut cursor = store.head().await.unwrap();
    for i in 0..5 {
        store.create_principal(&principal(&format!("watched-{i}")), None).await.unwrap();
        let notice = timeout(LOST_AFTER, watch.notice()).await.expect("a change was not announced");
        assert_eq!(notice, Notice::Changed);
        let changes = store.changes_since(cursor, 100).await.unwrap();
        assert_eq!(changes.len(), 1, "the announced change must be readable when announced");
        cursor = changes[0].seq;
    }
}

/// A mutation that fails (here, creating a principal that exists) announces nothing.
pub async fn watch_failed_mutations_announce_nothing<S: Store + ?Sized>(store: Arc<S>) {
    let Some(mut watch) = listening(&*store).await else { return };
    store.create_principal(&principal("alice"), None).await.unwrap();
    timeout(LOST_AFTER, watch.notice()).await.expect("a change was not announced");
    let refused = store.create_principal(&principal("alice"), None).await;
    assert!(matches!(refused, Err(StoreError::AlreadyExists { .. })), "{refused:?}");
    let heard = timeout(QUIET_FOR, watch.notice()).await;
    assert!(heard.is_err(), "a failed mutation was announced: {heard:?}");
}

/// Several watches each hear every burst of writes from concurrent writers, and a reader that
/// reads the feed only when notified reaches the last change: the last commit is always
/// announced after it is visible.
pub async fn watch_every_watch_hears_concurrent_writers<S: Store + ?Sized + 'static>(
    store: Arc<S>,
) {
    let Some(first) = listening(&*store).await else { return };
    let Some(second) = listening(&*store).await else { return };
    let start = store.head().await.unwrap();
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..10 {
                    let name = format!("writer-{writer}-{i}");
                    store.create_principal(&principal(&name), None).await.unwrap();
                }
            })
        })
        .collect();
    let readers: Vec<_> = [first, second]
        .into_iter()
        .map(|watch| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { read_when_notified(&*store, watch, start, 40).await })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    for reader in readers {
        assert_eq!(reader.await.unwrap(), 40, "a watch missed the last changes");
    }
}

/// A watch from `store`, once it is listening; `None` for a store that does not notify.
async fn listening<S: Store + ?Sized>(store: &S) -> Option<ChangeWatch> {
    let mut watch = store.watch()?;
    while !watch.is_listening() {
        timeout(LOST_AFTER, watch.notice()).await.expect("the store never started listening");
    }
    Some(watch)
}

/// Reads the feed after `cursor` each time `watch` hears something, until it has read `wanted`
/// changes or a notification is overdue; returns how many it read.
async fn read_when_notified<S: Store + ?Sized>(
    store: &S,
    mut watch: ChangeWatch,
    mut cursor: Seq,
    wanted: usize,
) -> usize {
    let mut read = 0;
    while read < wanted {
        if timeout(LOST_AFTER, watch.notice()).await.is_err() {
            break;
        }
        for change in store.changes_since(cursor, 1000).await.unwrap() {
            cursor = change.seq;
            read += 1;
        }
    }
    read
}
