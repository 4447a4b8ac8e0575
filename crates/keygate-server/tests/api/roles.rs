//! The role matrix: each role against each operation, allowed or 403; credentials that do not
//! open the API, 401; the audit log names the caller.

use axum::http::{Method, StatusCode};
use keygate::NewKey;
use keygate::core::{KeyPolicy, Permission, Permissions, Role, Scope};
use keygate::store::AuditQuery;
use serde_json::{Value, json};

use super::support::{Backend, Credentials, Plane};

/// The callers of the matrix, each a principal with a cloud key.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Caller {
    Admin,
    /// An admin's key restricted to `describe`.
    ReadingAdmin,
    Viewer,
    /// ServiceAccountOwner of `orders`.
    Owner,
    /// A user with no role, managing its own keys.
    User,
    /// A principal with no role at all.
    Nobody,
}

const CALLERS: [Caller; 6] = [
    Caller::Admin,
    Caller::ReadingAdmin,
    Caller::Viewer,
    Caller::Owner,
    Caller::User,
    Caller::Nobody,
];

/// What each operation is, and who may do it.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    allowed: &'static [Caller],
}

use Caller::*;
const READERS: &[Caller] = &[Admin, ReadingAdmin, Viewer];
const ADMINS: &[Caller] = &[Admin];

async fn matrix(backend: Backend) {
    for caller in CALLERS {
        let Some(plane) = Plane::new(backend).await else { return };
        let world = World::build(&plane, caller).await;
        for case in world.cases() {
            let reply = plane
                .send(case.method.clone(), &case.path, Some(&world.caller), case.body.clone())
                .await;
            let allowed = case.allowed.contains(&caller);
            if allowed {
                assert!(
                    !matches!(reply.status, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED),
                    "{caller:?} {}: refused {}: {}",
                    case.name,
                    reply.status,
                    reply.text
                );
                assert!(
                    reply.status.is_success(),
                    "{caller:?} {}: {} {}",
                    case.name,
                    reply.status,
                    reply.text
                );
            } else {
                assert_eq!(
                    reply.status,
                    StatusCode::FORBIDDEN,
                    "{caller:?} {}: expected 403: {}",
                    case.name,
                    reply.text
                );
                assert_eq!(reply.expect_problem(), "forbidden");
            }
        }
    }
}

/// The principals and keys a matrix row acts on.
struct World {
    caller: Credentials,
    /// Keys of `orders`, one per operation that ends or changes one.
    orders_keys: Vec<String>,
}

impl World {
    async fn build(plane: &Plane, caller: Caller) -> World {
        let orders = plane.service_account("orders").await;
        plane.service_account("throwaway").await;
        let alice = plane.user("alice").await;
        let me = match caller {
            Admin | ReadingAdmin => {
                let bot = plane.service_account("ops-bot").await;
                plane.bind(&bot, Role::OrganizationAdmin).await;
                bot
            }
            Viewer => {
                let auditor = plane.service_account("auditor").await;
                plane.bind(&auditor, Role::Viewer).await;
                auditor
            }
            Owner => {
                let team = plane.service_account("orders-team").await;
                plane.bind(&team, Role::ServiceAccountOwner(orders.clone())).await;
                team
            }
            User => alice.clone(),
            Nobody => plane.service_account("stranger").await,
        };
        let new = NewKey::new(me, Scope::Cloud);
        let new = match caller {
            ReadingAdmin => new.with_permissions(Permissions::only([Permission::DESCRIBE])),
            _ => new,
        };
        let caller = plane.key_with(new).await;
        let mut orders_keys = Vec::new();
        for _ in 0..4 {
            let scope = Scope::Resource("kafka-cluster/lkc-1".parse().unwrap());
            orders_keys.push(plane.key(&orders, scope).await.id);
        }
        World { caller, orders_keys }
    }

    fn cases(&self) -> Vec<Case> {
        let key = |n: usize| self.orders_keys[n].clone();
        let policy =
            serde_json::to_value(keygate_server::PolicyView::from(&KeyPolicy::default())).unwrap();
        let case = |name, method, path: &str, body, allowed| Case {
            name,
            method,
            path: path.to_owned(),
            body,
            allowed,
        };
        vec![
            case("list service accounts", Method::GET, "/v1/service-accounts", None, READERS),
            case(
                "get a service account",
                Method::GET,
                "/v1/service-accounts/orders",
                None,
                &[Admin, ReadingAdmin, Viewer, Owner],
            ),
            case(
                "put a service account",
                Method::PUT,
                "/v1/service-accounts/new-one",
                Some(json!({"description": "x"})),
                ADMINS,
            ),
            case(
                "patch a service account",
                Method::PATCH,
                "/v1/service-accounts/orders",
                Some(json!({"description": "y"})),
                ADMINS,
            ),
            case("list users", Method::GET, "/v1/users", None, READERS),
            case(
                "get oneself as a user",
                Method::GET,
                "/v1/users/alice",
                None,
                &[Admin, ReadingAdmin, Viewer, User],
            ),
            case(
                "create a key of orders",
                Method::POST,
                "/v1/api-keys",
                Some(
                    json!({"owner": "orders", "scope": "kafka-cluster/lkc-1", "permissions": ["produce"]}),
                ),
                &[Admin, Owner],
            ),
            case(
                "create a key of user alice",
                Method::POST,
                "/v1/api-keys",
                Some(json!({"owner": "alice", "scope": "kafka-cluster/lkc-1"})),
                &[Admin, User],
            ),
            case("list every key", Method::GET, "/v1/api-keys", None, READERS),
            case(
                "list the keys of orders",
                Method::GET,
                "/v1/api-keys?owner=orders",
                None,
                &[Admin, ReadingAdmin, Viewer, Owner],
            ),
            case(
                "get a key of orders",
                Method::GET,
                &format!("/v1/api-keys/{}", key(0)),
                None,
                &[Admin, ReadingAdmin, Viewer, Owner],
            ),
            case(
                "describe a key of orders",
                Method::PATCH,
                &format!("/v1/api-keys/{}", key(0)),
                Some(json!({"description": "z"})),
                &[Admin, Owner],
            ),
            case(
                "suspend a key of orders",
                Method::POST,
                &format!("/v1/api-keys/{}/suspend", key(1)),
                None,
                &[Admin, Owner],
            ),
            case(
                "rotate a key of orders",
                Method::POST,
                &format!("/v1/api-keys/{}/rotate", key(2)),
                Some(json!({"overlap": "1h"})),
                &[Admin, Owner],
            ),
            case(
                "revoke a key of orders",
                Method::POST,
                &format!("/v1/api-keys/{}/revoke", key(3)),
                Some(json!({"reason": "matrix"})),
                &[Admin, Owner],
            ),
            case(
                "delete a revoked key of orders",
                Method::DELETE,
                &format!("/v1/api-keys/{}", key(3)),
                None,
                &[Admin, Owner],
            ),
            case("read the audit log", Method::GET, "/v1/audit-events", None, READERS),
            case("read the policy", Method::GET, "/v1/policy", None, READERS),
            case("replace the policy", Method::PUT, "/v1/policy", Some(policy), ADMINS),
            case("list role bindings", Method::GET, "/v1/role-bindings", None, READERS),
            case(
                "bind a role",
                Method::POST,
                "/v1/role-bindings",
                Some(json!({"principal": "throwaway", "role": "Viewer"})),
                ADMINS,
            ),
            case(
                "unbind a role",
                Method::DELETE,
                "/v1/role-bindings?principal=throwaway&role=Viewer",
                None,
                ADMINS,
            ),
            case("list signing keys", Method::GET, "/v1/signing-keys", None, READERS),
            case(
                "create a signing key",
                Method::POST,
                "/v1/signing-keys",
                Some(json!({"algorithm": "EdDSA"})),
                ADMINS,
            ),
            case("list resources", Method::GET, "/v1/resources", None, READERS),
            case(
                "delete a resource",
                Method::DELETE,
                "/v1/resources/kafka-cluster%2Flkc-gone",
                None,
                ADMINS,
            ),
            case(
                "restore a resource",
                Method::POST,
                "/v1/resources/kafka-cluster%2Flkc-gone/restore",
                None,
                ADMINS,
            ),
            case(
                "revoke a token",
                Method::POST,
                "/v1/tokens/revoke",
                Some(json!({"token": "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJ4In0.c2ln"})),
                ADMINS,
            ),
            case(
                "sign a service account out",
                Method::POST,
                "/v1/service-accounts/throwaway/sign-out",
                None,
                ADMINS,
            ),
            case(
                "delete a service account",
                Method::DELETE,
                "/v1/service-accounts/throwaway",
                None,
                ADMINS,
            ),
        ]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_matrix_on_sqlite() {
    matrix(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_matrix_on_postgres() {
    matrix(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_cloud_and_global_keys_of_this_store_open_the_api() {
    let plane = Plane::new(Backend::Sqlite).await.unwrap();
    let admin = plane.admin().await;
    let bot = "ops-bot".parse().unwrap();
    let global = plane.key(&bot, Scope::Global).await;
    let cluster = plane.key(&bot, Scope::Resource("kafka-cluster/lkc-1".parse().unwrap())).await;
    for (name, credentials) in [("basic", &admin), ("bearer", &admin.bearer()), ("global", &global)]
    {
        plane
            .send(Method::GET, "/v1/service-accounts", Some(credentials), None)
            .await
            .expect(StatusCode::OK);
        let _ = name;
    }
    let refused = plane.send(Method::GET, "/v1/service-accounts", Some(&cluster), None).await;
    refused.expect(StatusCode::UNAUTHORIZED);
    assert_eq!(refused.body["detail"], "authentication failed", "the client learns nothing");
    assert!(refused.headers.contains_key("www-authenticate"));

    plane
        .send(Method::POST, &format!("/v1/api-keys/{}/revoke", global.id), Some(&admin), None)
        .await
        .expect(StatusCode::OK);
    let mut refused = None;
    for _ in 0..100 {
        let reply = plane.send(Method::GET, "/v1/service-accounts", Some(&global), None).await;
        if reply.status == StatusCode::UNAUTHORIZED {
            refused = Some(reply);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    refused.expect("a revoked cloud key is refused").expect(StatusCode::UNAUTHORIZED);

    let missing = plane.send(Method::GET, "/v1/service-accounts", None, None).await;
    missing.expect(StatusCode::UNAUTHORIZED);
    let metrics = plane.send(Method::GET, "/metrics", None, None).await;
    assert!(metrics.text.contains("reason=\"wrong_resource\""), "{}", metrics.text);
    assert!(metrics.text.contains("reason=\"revoked\""), "{}", metrics.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_names_the_caller_and_its_key() {
    let plane = Plane::new(Backend::Sqlite).await.unwrap();
    let admin = plane.admin().await;
    plane
        .send(
            Method::PUT,
            "/v1/service-accounts/orders",
            Some(&admin),
            Some(json!({"description": "orders"})),
        )
        .await
        .expect(StatusCode::CREATED);
    let entries =
        plane.store.audit_log(&AuditQuery::default().of_action("principal_created")).await.unwrap();
    let created = entries.last().unwrap();
    let event: Value = serde_json::from_str(&created.record.event).unwrap();
    assert_eq!(event["actor"], "ops-bot");
    assert_eq!(event["origin"]["kind"], "api_key");
    assert_eq!(event["origin"]["key"], admin.id.as_str());
    let listed = plane
        .send(Method::GET, "/v1/audit-events?action=principal_created", Some(&admin), None)
        .await;
    listed.expect(StatusCode::OK);
    let first = &listed.body["items"][0];
    assert_eq!(first["origin"]["kind"], "api_key");
    assert_eq!(first["origin"]["key"], admin.id.as_str());
    assert_eq!(first["action"]["id"], "orders");
}

use keygate::store::AuditLog as _;
