//! Policy kept in the store and enforced by every writer, resources whose deletion revokes their
//! keys, keys due for rotation, last use and sign-out: on SQLite and on PostgreSQL.

use serde_json::json;

use super::postgres::MASTER_KEY;
use super::support::{Sandbox, postgres_store};

/// The whole flow against `sandbox`'s store.
fn policy_resources_and_sign_out(sandbox: &Sandbox) {
    sandbox.run(&["service-account", "create", "orders"]).ok();
    sandbox.run(&["user", "create", "dev"]).ok();
    let shown = sandbox.run(&["policy", "show", "--output", "json"]).ok().json();
    assert_eq!(shown["source"], "default");
    assert_eq!(shown["max_lifetime"], "1y");
    sandbox
        .run(&["api-key", "create", "--service-account", "orders", "--global", "--expiry", "never"])
        .fails(2, "keys must expire");
    let old = sandbox
        .run(&[
            "api-key", "create", "--user", "dev", "--global", "--expiry", "2d", "--output", "json",
        ])
        .ok()
        .field("key_id");

    // Astra's "7 days to never", no user keys, two keys per cluster, rotation every 90 days.
    let set = [
        "policy",
        "set",
        "--max-lifetime",
        "never",
        "--min-lifetime",
        "7d",
        "--user-keys",
        "deny",
        "--max-keys-per-resource",
        "2",
        "--rotation-period",
        "90d",
        "--output",
        "json",
    ];
    let policy = sandbox.run(&set).ok().json();
    assert_eq!(policy["source"], "store");
    assert_eq!(policy["max_lifetime"], json!(null));
    assert_eq!(policy["never_expiring_keys"], "allow");
    assert_eq!(sandbox.run(&["policy", "show", "--output", "json"]).ok().json(), policy);
    // Every writer enforces it, and it left the existing user key alone.
    sandbox
        .run(&["api-key", "create", "--user", "dev", "--global", "--expiry", "30d"])
        .fails(2, "service accounts only");
    sandbox
        .run(&["api-key", "create", "--service-account", "orders", "--global", "--expiry", "1d"])
        .fails(2, "below the policy minimum");
    let described = sandbox.run(&["api-key", "describe", &old, "--output", "json"]).ok().json();
    assert_eq!(described["status"], "active");
    let cluster = ["--service-account", "orders", "--resource", "kafka-cluster/lkc-1"];
    let create = |extra: &[&str]| {
        let mut args = vec!["api-key", "create"];
        args.extend_from_slice(&cluster);
        args.extend_from_slice(extra);
        sandbox.run(&args)
    };
    let never = create(&["--expiry", "never", "--output", "json"]).ok().json();
    assert_eq!(never["expires"], json!(null));
    let dated = create(&["--expiry", "2030-01-01T00:00:00Z", "--output", "json"]).ok().json();
    assert_eq!(dated["expires"], "2030-01-01T00:00:00Z");
    create(&["--expiry", "30d"]).fails(2, "kafka-cluster/lkc-1 has 2 live keys");
    assert_eq!(sandbox.run(&["api-key", "due"]).ok().stdout.trim(), "No key is due for rotation.");

    // Deleting the resource revokes its keys, and only those, in one audited step.
    sandbox.run(&["resource", "delete", "kafka-cluster/lkc-1"]).fails(2, "--yes");
    let deleted = sandbox
        .run(&["resource", "delete", "kafka-cluster/lkc-1", "--yes", "--output", "json"])
        .ok()
        .json();
    assert_eq!(deleted["keys_revoked"].as_array().unwrap().len(), 2);
    for key in [never["key_id"].as_str().unwrap(), dated["key_id"].as_str().unwrap()] {
        let key = sandbox.run(&["api-key", "describe", key, "--output", "json"]).ok().json();
        assert_eq!(key["status"], "revoked");
    }
    assert_eq!(
        sandbox.run(&["api-key", "describe", &old, "--output", "json"]).ok().json()["status"],
        "active"
    );
    // The deletion is remembered: no key for it until it is restored.
    create(&["--expiry", "30d"]).fails(2, "kafka-cluster/lkc-1 was deleted");
    let listed = sandbox.run(&["resource", "list", "--output", "json"]).ok().json();
    let row = listed.as_array().unwrap().iter().find(|r| r["resource"] == "kafka-cluster/lkc-1");
    let row = row.expect("the deleted resource is listed");
    assert_eq!(row["live_keys"], 0, "{listed}");
    assert!(row["deleted_at"].is_string(), "{listed}");
    let restored = sandbox
        .run(&["resource", "restore", "kafka-cluster/lkc-1", "--output", "json"])
        .ok()
        .json();
    assert_eq!(restored["restored"], true);
    sandbox.run(&["resource", "restore", "kafka-cluster/lkc-1"]).ok();
    sandbox.run(&["resource", "restore", "lkc/1/2"]).fails(2, "is not a resource");
    sandbox.run(&["resource", "restore", "nothing"]).fails(2, "a resource is KIND/ID");
    create(&["--expiry", "30d"]).ok();

    let audit = sandbox.run(&["audit", "list", "--output", "json"]).ok().json();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"]["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"policy_changed"), "{actions:?}");
    assert!(actions.contains(&"resource_deleted"), "{actions:?}");
    assert!(actions.contains(&"resource_restored"), "{actions:?}");

    // Last use, as a broker reports it to this store, shown by describe and list.
    let used = never["key_id"].as_str().unwrap();
    let at = keygate::core::Timestamp::from_unix(1_800_000_000).unwrap();
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        use keygate::store::{KeyUse, UsageStore};
        let store = keygate_store_sql::SqlStore::open_location(sandbox.store()).await.unwrap();
        let cluster = Some("kafka-cluster/lkc-1".parse().unwrap());
        store.record_key_uses(&[KeyUse::new(used.parse().unwrap(), at, cluster)]).await.unwrap();
        store.close().await;
    });
    let described = sandbox.run(&["api-key", "describe", used, "--output", "json"]).ok().json();
    assert_eq!(described["last_used"], at.to_string());
    assert_eq!(described["last_used_on"], "kafka-cluster/lkc-1");

    // Sign-out: every credential of the principal issued before it is refused.
    let verify = |id: &str, secret: &str| {
        sandbox.run(&["api-key", "verify", "--resource", "kafka-cluster/lkc-2", id, secret])
    };
    let key = sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--global",
            "--expiry",
            "30d",
            "--output",
            "json",
        ])
        .ok();
    let (id, secret) = (key.field("key_id"), key.field("secret"));
    verify(&id, &secret).ok();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    sandbox.run(&["service-account", "sign-out", "orders"]).ok();
    verify(&id, &secret).fails(1, "refused");
}

#[test]
fn policy_resources_and_sign_out_on_sqlite() {
    policy_resources_and_sign_out(&Sandbox::new());
}

#[test]
fn policy_resources_and_sign_out_on_postgres() {
    let test = "cli::policy::policy_resources_and_sign_out_on_postgres";
    let Some((url, _)) = postgres_store(test, "keygate_policy") else { return };
    policy_resources_and_sign_out(
        &Sandbox::with_store(url).with_env("KEYGATE_MASTER_KEY", MASTER_KEY),
    );
}
