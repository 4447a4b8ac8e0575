//! `keygate audit list`: every change, by whom, found by key, principal and time.

use super::support::{Sandbox, account_with_key};

#[test]
fn every_change_is_in_the_audit_log() {
    let sandbox = Sandbox::new();
    let (id, _) = account_with_key(&sandbox, "orders", "kafka-cluster/lkc-1");
    account_with_key(&sandbox, "billing", "kafka-cluster/lkc-1");
    sandbox.run(&["api-key", "suspend", &id]).ok();
    sandbox.run(&["api-key", "resume", &id]).ok();
    sandbox.run(&["api-key", "revoke", &id, "--reason", "rotated out"]).ok();
    sandbox.run(&["signing-key", "create", "--kid", "k1"]).ok();

    let all = sandbox.run(&["audit", "list", "--output", "json"]).ok().json();
    let actions: Vec<&str> =
        all.as_array().unwrap().iter().map(|e| e["action"]["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "principal_created",
            "key_created",
            "principal_created",
            "key_created",
            "key_suspended",
            "key_resumed",
            "key_revoked",
            "signing_key_created",
        ]
    );
    assert!(all.as_array().unwrap().iter().all(|e| e["actor"] == "test:operator"));

    let about_key = sandbox.run(&["audit", "list", "--key", &id, "--output", "json"]).ok().json();
    assert_eq!(about_key.as_array().unwrap().len(), 4);
    // Filed under the key's owner too, though a revocation names only the key.
    let about_orders =
        sandbox.run(&["audit", "list", "--principal", "orders", "--output", "json"]).ok().json();
    let actions: Vec<&str> = about_orders
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["principal_created", "key_created", "key_suspended", "key_resumed", "key_revoked"]
    );

    let table = sandbox.run(&["audit", "list", "--key", &id]).ok().stdout;
    assert!(table.starts_with("AT") && table.contains("reason=rotated out"), "{table}");
    let recent = sandbox.run(&["audit", "list", "--since", "1h", "--output", "json"]).ok().json();
    assert_eq!(recent.as_array().unwrap().len(), 8);
    let future = sandbox
        .run(&["audit", "list", "--since", "2099-01-01T00:00:00Z", "--output", "json"])
        .ok()
        .json();
    assert_eq!(future.as_array().unwrap().len(), 0);
    sandbox.run(&["audit", "list", "--since", "yesterday"]).fails(2, "--since");
    sandbox.run(&["audit", "list", "--key", "nope"]).fails(2, "is not a key id");
}
