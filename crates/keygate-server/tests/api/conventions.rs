//! The API's conventions, each tested: problem documents for bad input with nothing changed,
//! pagination, ETag and If-Match, idempotent PUT, names unique per owner, the OpenAPI document
//! against the router, the failed-authentication budget.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use keygate::store::ChangeFeed as _;
use serde_json::{Value, json};

use super::support::{Backend, Plane};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_problem_and_changes_nothing() {
    let plane = Plane::new(Backend::Sqlite).await.unwrap();
    let admin = plane.admin().await;
    plane.service_account("orders").await;
    let head = plane.store.head().await.unwrap();
    let long = "x".repeat(10_000);
    // Each: the request, and the kind of problem and the field it names.
    type Case = (Method, String, Option<Value>, &'static str, Option<&'static str>);
    let cases: Vec<Case> = vec![
        (Method::PUT, "/v1/service-accounts/a%2Fb".into(), None, "invalid-field", Some("name")),
        (Method::PUT, "/v1/service-accounts/..".into(), None, "invalid-field", Some("name")),
        (Method::PUT, "/v1/service-accounts/a%00b".into(), None, "invalid-field", Some("name")),
        (Method::PUT, format!("/v1/service-accounts/{long}"), None, "invalid-field", Some("name")),
        (
            Method::PUT,
            "/v1/service-accounts/ok".into(),
            Some(json!({"description": long})),
            "invalid-field",
            Some("description"),
        ),
        (
            Method::PUT,
            "/v1/service-accounts/ok".into(),
            Some(json!({"description": "a\u{0}b"})),
            "invalid-field",
            Some("description"),
        ),
        (
            Method::PUT,
            "/v1/service-accounts/ok".into(),
            Some(json!({"descripton": "typo"})),
            "unknown-field",
            Some("descripton"),
        ),
        (
            Method::PUT,
            "/v1/service-accounts/ok".into(),
            Some(json!({"description": 5})),
            "invalid-field",
            Some("description"),
        ),
        (
            Method::POST,
            "/v1/api-keys".into(),
            Some(json!({"owner": "orders"})),
            "malformed-request",
            None,
        ),
        (
            Method::POST,
            "/v1/api-keys".into(),
            Some(json!({"owner": "orders", "scope": "lkc-1"})),
            "invalid-field",
            Some("scope"),
        ),
        (
            Method::POST,
            "/v1/api-keys".into(),
            Some(json!({"owner": "orders", "scope": "global", "expiry": "tomorrow"})),
            "invalid-field",
            Some("expiry"),
        ),
        (
            Method::POST,
            "/v1/api-keys".into(),
            Some(json!({"owner": "orders", "scope": "global", "permissions": ["fly"]})),
            "invalid-field",
            Some("permissions"),
        ),
        (
            Method::POST,
            "/v1/api-keys".into(),
            Some(json!({"owner": "orders", "scope": "global", "name": "../x"})),
            "invalid-field",
            Some("name"),
        ),
        (
            Method::POST,
            "/v1/api-keys".into(),
            Some(json!({"owner": "nobody", "scope": "global"})),
            "not-found",
            Some("owner"),
        ),
        (Method::POST, "/v1/api-keys".into(), Some(json!([1, 2])), "malformed-request", None),
        (Method::GET, "/v1/api-keys?colour=red".into(), None, "unknown-field", Some("colour")),
        (Method::GET, "/v1/api-keys?page_size=0".into(), None, "invalid-field", Some("page_size")),
        (
            Method::GET,
            "/v1/api-keys?page_size=many".into(),
            None,
            "invalid-field",
            Some("page_size"),
        ),
        (
            Method::GET,
            "/v1/api-keys?page_token=AAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
            None,
            "invalid-field",
            Some("page_token"),
        ),
        (Method::GET, "/v1/api-keys?state=sleeping".into(), None, "invalid-field", Some("state")),
        (
            Method::GET,
            "/v1/audit-events?action=everything".into(),
            None,
            "invalid-field",
            Some("action"),
        ),
        (Method::GET, "/v1/api-keys/not-a-key".into(), None, "not-found", None),
        (Method::GET, "/v1/nothing-here".into(), None, "not-found", None),
        (
            Method::POST,
            "/v1/role-bindings".into(),
            Some(json!({"principal": "orders", "role": "King"})),
            "invalid-field",
            Some("role"),
        ),
    ];
    for (method, path, body, kind, field) in cases {
        let reply = plane.send(method.clone(), &path, Some(&admin), body).await;
        assert!(reply.status.is_client_error(), "{method} {path}: {} {}", reply.status, reply.text);
        assert_eq!(reply.expect_problem(), kind, "{method} {path}: {}", reply.text);
        assert_eq!(reply.body["field"].as_str(), field, "{method} {path}: {}", reply.text);
    }
    // Bodies the client sends wrong at the byte level.
    let raw = |body: Body, content_type: &str| {
        Request::builder()
            .method(Method::PUT)
            .uri("/v1/service-accounts/ok")
            .header(header::AUTHORIZATION, &admin.header)
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .unwrap()
    };
    let malformed = plane.raw(raw(Body::from("{\"description\": "), "application/json")).await;
    assert_eq!(malformed.expect(StatusCode::BAD_REQUEST).expect_problem(), "malformed-request");
    let huge = plane.raw(raw(Body::from(vec![b' '; 10 * 1024 * 1024]), "application/json")).await;
    assert_eq!(huge.expect(StatusCode::PAYLOAD_TOO_LARGE).expect_problem(), "body-too-large");
    let text = plane.raw(raw(Body::from("{}"), "text/plain")).await;
    assert_eq!(
        text.expect(StatusCode::UNSUPPORTED_MEDIA_TYPE).expect_problem(),
        "unsupported-media-type"
    );

    assert_eq!(plane.store.head().await.unwrap(), head, "a refused request changed the store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_is_idempotent_and_if_match_guards_writes() {
    let plane = Plane::new(Backend::Sqlite).await.unwrap();
    let admin = plane.admin().await;
    let body = json!({"description": "order pipeline", "display_name": "Orders"});
    let path = "/v1/service-accounts/orders";
    let first = plane.send(Method::PUT, path, Some(&admin), Some(body.clone())).await;
    first.expect(StatusCode::CREATED);
    let head = plane.store.head().await.unwrap();
    let second = plane.send(Method::PUT, path, Some(&admin), Some(body)).await;
    second.expect(StatusCode::OK);
    assert_eq!(first.body, second.body);
    assert_eq!(plane.store.head().await.unwrap(), head, "the same PUT twice changed something");

    let read = plane.send(Method::GET, path, Some(&admin), None).await;
    let etag = read.headers[header::ETAG].to_str().unwrap().to_owned();
    let patch = |etag: &str, description: &str| {
        Request::builder()
            .method(Method::PATCH)
            .uri(path)
            .header(header::AUTHORIZATION, &admin.header)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::IF_MATCH, etag)
            .body(Body::from(json!({"description": description}).to_string()))
            .unwrap()
    };
    let changed = plane.raw(patch(&etag, "first writer")).await;
    changed.expect(StatusCode::OK);
    assert_ne!(changed.headers[header::ETAG], etag.as_str());
    let stale = plane.raw(patch(&etag, "second writer")).await;
    assert_eq!(
        stale.expect(StatusCode::PRECONDITION_FAILED).expect_problem(),
        "precondition-failed"
    );
    let now = plane.send(Method::GET, path, Some(&admin), None).await;
    assert_eq!(now.body["description"], "first writer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_page_by_page_with_tokens_bound_to_their_listing() {
    let plane = Plane::new(Backend::Sqlite).await.unwrap();
    let admin = plane.admin().await;
    let orders = plane.service_account("orders").await;
    for _ in 0..7 {
        plane.key(&orders, keygate::core::Scope::Global).await;
    }
    let mut seen = Vec::new();
    let mut path = "/v1/api-keys?owner=orders&page_size=3".to_owned();
    loop {
        let page = plane.send(Method::GET, &path, Some(&admin), None).await;
        page.expect(StatusCode::OK);
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["key_id"].as_str().unwrap().to_owned());
            assert!(item.get("secret").is_none(), "a listing showed a secret");
        }
        match page.body["next_page_token"].as_str() {
            Some(token) => {
                let other = plane
                    .send(
                        Method::GET,
                        &format!("/v1/api-keys?owner=ops-bot&page_size=3&page_token={token}"),
                        Some(&admin),
                        None,
                    )
                    .await;
                assert_eq!(other.expect(StatusCode::BAD_REQUEST).body["field"], "page_token");
                path = format!("/v1/api-keys?owner=orders&page_size=3&page_token={token}");
            }
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen.len(), 7);
    assert_eq!(sorted, seen, "pages overlapped or came out of order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_finds_the_key_it_made_by_name_even_after_rotation() {
    let plane = Plane::new(Backend::Sqlite).await.unwrap();
    let admin = plane.admin().await;
    plane.service_account("orders").await;
    let create = json!({"owner": "orders", "scope": "kafka-cluster/lkc-1", "name": "ci-producer", "expiry": "30d"});
    let made = plane.send(Method::POST, "/v1/api-keys", Some(&admin), Some(create.clone())).await;
    made.expect(StatusCode::CREATED);
    assert!(made.body["secret"].as_str().unwrap().starts_with("kgk_"));
    let twice = plane.send(Method::POST, "/v1/api-keys", Some(&admin), Some(create)).await;
    assert_eq!(twice.expect(StatusCode::CONFLICT).body["field"], "name");
    let found = plane
        .send(Method::GET, "/v1/api-keys?owner=orders&name=ci-producer", Some(&admin), None)
        .await;
    assert_eq!(found.body["items"][0]["key_id"], made.body["key_id"]);
    assert!(found.body["items"][0].get("secret").is_none());
    let fetched = plane
        .send(
            Method::GET,
            &format!("/v1/api-keys/{}", made.body["key_id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    assert!(fetched.body.get("secret").is_none(), "a read showed a secret");

    let rotated = plane
        .send(
            Method::POST,
            &format!("/v1/api-keys/{}/rotate", made.body["key_id"].as_str().unwrap()),
            Some(&admin),
            Some(json!({"overlap": "1h"})),
        )
        .await;
    rotated.expect(StatusCode::CREATED);
    let found = plane
        .send(Method::GET, "/v1/api-keys?owner=orders&name=ci-producer", Some(&admin), None)
        .await;
    assert_eq!(found.body["items"][0]["key_id"], rotated.body["new"]["key_id"]);
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_without_an_expiry_is_refused_once_never_is_allowed() {
    let plane = Plane::new(Backend::Sqlite).await.unwrap();
    let admin = plane.admin().await;
    plane.service_account("orders").await;
    let mut policy = plane.send(Method::GET, "/v1/policy", Some(&admin), None).await.body;
    policy["allow_never"] = json!(true);
    policy["max_lifetime"] = Value::Null;
    plane.send(Method::PUT, "/v1/policy", Some(&admin), Some(policy)).await.expect(StatusCode::OK);
    let bare = json!({"owner": "orders", "scope": "global"});
    let refused = plane.send(Method::POST, "/v1/api-keys", Some(&admin), Some(bare)).await;
    assert_eq!(refused.expect(StatusCode::BAD_REQUEST).body["field"], "expiry");
    let never = json!({"owner": "orders", "scope": "global", "expiry": "never"});
    let made = plane.send(Method::POST, "/v1/api-keys", Some(&admin), Some(never)).await;
    made.expect(StatusCode::CREATED);
    assert_eq!(made.body["expires"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_and_the_router_agree() {
    let plane = Plane::new(Backend::Sqlite).await.unwrap();
    let served = plane.send(Method::GET, "/v1/openapi.json", None, None).await;
    served.expect(StatusCode::OK);
    let document = served.body;
    assert_eq!(document["openapi"].as_str().map(|v| &v[..4]), Some("3.1."));
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "{} paths", paths.len());
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let concrete = path
                .replace("{name}", "someone")
                .replace("{id}", "aaaaaaaaaaaaaaaa")
                .replace("{kid}", "k1")
                .replace("{resource}", "kafka-cluster%2Flkc-1");
            let reply = plane.send(method.clone(), &concrete, None, None).await;
            // Routed: an operation that needs credentials refuses with 401, an open one answers.
            let open = operation.get("security").is_some_and(|s| s == &json!([{}]));
            if open {
                assert!(reply.status.is_success(), "{method} {path}: {}", reply.status);
            } else {
                assert_eq!(
                    reply.status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} is not routed as documented: {}",
                    reply.text
                );
            }
            assert!(operation["responses"].as_object().is_some_and(|r| !r.is_empty()));
            operations += 1;
        }
    }
    assert!(operations >= 30, "{operations} operations");
    // And a method the document does not list is not served.
    let reply = plane.send(Method::DELETE, "/v1/policy", None, None).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentications_are_budgeted_per_address() {
    let plane = Plane::new(Backend::Sqlite).await.unwrap();
    let admin = plane.admin().await;
    let wrong = super::support::Credentials {
        header: keygate_wire::encode_basic(&admin.id, "kgk_wrong").to_string(),
        ..admin.clone()
    };
    let mut limited = None;
    for _ in 0..20 {
        let reply = plane.send(Method::GET, "/v1/policy", Some(&wrong), None).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(reply);
            break;
        }
        reply.expect(StatusCode::UNAUTHORIZED);
    }
    let limited = limited.expect("never rate-limited");
    assert_eq!(limited.expect_problem(), "rate-limited");
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
    // The right key from the same address waits too: the budget is the address's.
    let reply = plane.send(Method::GET, "/v1/policy", Some(&admin), None).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
}
