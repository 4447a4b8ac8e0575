//! Several servers over one PostgreSQL: one view, and the quotas hold across them.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use keygate::store::{KeyFilter, PageRequest};
use keygate_store_sql::SqlStore;
use serde_json::json;

use super::support::{Backend, Guard, Plane, store};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_share_keys_and_quotas() {
    let Some((guard, first_store)) = store(Backend::Postgres).await else { return };
    let url = match &guard {
        Guard::Database(database) => database.url.clone(),
        _ => unreachable!("a PostgreSQL store"),
    };
    let second_store = Arc::new(SqlStore::connect(&url).await.unwrap());
    let one = Plane::over(guard, first_store).await;
    let admin = one.admin().await;
    one.service_account("orders").await;
    let two = Plane::over(Guard::None, second_store).await;
    two.wait_until_known(&admin).await;

    let mut policy = one.send(Method::GET, "/v1/policy", Some(&admin), None).await.body;
    policy["max_keys_per_resource"] = json!(5);
    policy["max_keys_per_principal"] = json!(100);
    one.send(Method::PUT, "/v1/policy", Some(&admin), Some(policy)).await.expect(StatusCode::OK);

    // A key made on one server is read on the other.
    let made = one
        .send(
            Method::POST,
            "/v1/api-keys",
            Some(&admin),
            Some(json!({"owner": "orders", "scope": "global"})),
        )
        .await;
    made.expect(StatusCode::CREATED);
    let path = format!("/v1/api-keys/{}", made.body["key_id"].as_str().unwrap());
    two.send(Method::GET, &path, Some(&admin), None).await.expect(StatusCode::OK);

    let one = Arc::new(one);
    let two = Arc::new(two);
    let mut tasks = Vec::new();
    for n in 0..20 {
        let plane = if n % 2 == 0 { Arc::clone(&one) } else { Arc::clone(&two) };
        let admin = admin.clone();
        tasks.push(tokio::spawn(async move {
            let body =
                json!({"owner": "orders", "scope": "kafka-cluster/lkc-quota", "expiry": "1d"});
            plane.send(Method::POST, "/v1/api-keys", Some(&admin), Some(body)).await
        }));
    }
    let mut created = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                assert_eq!(reply.expect_problem(), "quota-exceeded", "{}", reply.text)
            }
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert_eq!(created, 5, "the per-resource quota did not hold across two servers");
    let resource = "kafka-cluster/lkc-quota".parse().unwrap();
    let stored = one
        .local
        .list_keys(&KeyFilter::all().with_resource(resource), &PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(stored.items.len(), 5);
}
