//! The listening connection's life: started by the first watch, stopped when the store closes.

use std::time::Duration;

use keygate_store::{ChangeFeed, Notice, Reach};
use keygate_store_sql::SqlStore;
use tokio::time::timeout;

use super::support::{postgres, sqlite_file};

const LOST_AFTER: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_postgres_store_stops_its_listener_for_good() {
    let Some(store) = postgres().await else { return };
    let mut watch = store.watch().expect("PostgreSQL notifies");
    assert_eq!(watch.reach(), Reach::AllWriters);
    assert!(!watch.is_listening(), "listening takes a connection first");
    assert_eq!(timeout(LOST_AFTER, watch.notice()).await.unwrap(), Notice::Listening);

    store.close().await;
    assert_eq!(timeout(LOST_AFTER, watch.notice()).await.unwrap(), Notice::Interrupted);
    // Nothing reconnects, not even for a new watch.
    let mut later = store.watch().expect("a watch, even of a closed store");
    assert!(timeout(Duration::from_millis(500), later.notice()).await.is_err());
    assert!(!watch.is_listening() && !later.is_listening());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_stores_on_one_file_in_one_process_hear_each_other() {
    let (dir, first) = sqlite_file().await;
    let second = SqlStore::open(dir.path().join("keygate.db")).await.unwrap();
    let mut watch = second.watch().expect("SQLite notifies within the process");
    assert_eq!(watch.reach(), Reach::ThisProcess);
    assert!(watch.is_listening());
    let principal = keygate_core::Principal::new(
        "orders".parse().unwrap(),
        keygate_core::PrincipalKind::ServiceAccount,
        keygate_testkit::T0,
    );
    keygate_store::PrincipalStore::create_principal(&*first, &principal, None).await.unwrap();
    assert_eq!(timeout(LOST_AFTER, watch.notice()).await.unwrap(), Notice::Changed);
}
