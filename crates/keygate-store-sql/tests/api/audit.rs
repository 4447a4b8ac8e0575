//! The audit log: appended in order, found by instant, principal and key.

use keygate_core::KeyId;
use keygate_store_sql::{AuditQuery, SqlStore};
use keygate_testkit::t0_plus;
use serde::{Deserialize, Serialize};

use super::support::postgres;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Event {
    what: String,
}

fn event(what: &str) -> Event {
    Event { what: what.to_owned() }
}

async fn append_and_query(store: &SqlStore) {
    let (k1, k2) = (KeyId::from_bytes([1; 10]), KeyId::from_bytes([2; 10]));
    let orders = "orders".parse().unwrap();
    store.append_audit(t0_plus(10), Some(&orders), &[], &event("created orders")).await.unwrap();
    store.append_audit(t0_plus(20), Some(&orders), &[k1], &event("issued k1")).await.unwrap();
    store.append_audit(t0_plus(30), None, &[k1, k2, k1], &event("rotated k1 to k2")).await.unwrap();
    store.append_audit(t0_plus(40), None, &[k2], &event("revoked k2")).await.unwrap();

    let what = |entries: Vec<keygate_store_sql::AuditEntry<Event>>| {
        entries.into_iter().map(|e| e.event.what).collect::<Vec<_>>()
    };
    let all = store.audit_log::<Event>(&AuditQuery::default()).await.unwrap();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(all[1].at, t0_plus(20));
    assert_eq!(
        what(store.audit_log(&AuditQuery::default().about_key(k1)).await.unwrap()),
        ["issued k1", "rotated k1 to k2"]
    );
    assert_eq!(
        what(store.audit_log(&AuditQuery::default().about_principal(orders)).await.unwrap()),
        ["created orders", "issued k1"]
    );
    assert_eq!(
        what(
            store.audit_log(&AuditQuery::default().since(t0_plus(30)).about_key(k2)).await.unwrap()
        ),
        ["rotated k1 to k2", "revoked k2"]
    );
    assert_eq!(
        what(store.audit_log(&AuditQuery::default().with_limit(1)).await.unwrap()),
        ["created orders"]
    );
}

#[tokio::test]
async fn sqlite_keeps_an_audit_log() {
    append_and_query(&SqlStore::in_memory().await.unwrap()).await;
}

#[tokio::test]
async fn postgres_keeps_an_audit_log() {
    let Some(store) = postgres().await else { return };
    append_and_query(&store).await;
}
