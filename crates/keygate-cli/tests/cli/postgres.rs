//! The same flow against PostgreSQL, the store a fleet of brokers shares.

use super::support::{Sandbox, postgres_store};

/// 32 bytes of base64, in the `data:` form.
pub(crate) const MASTER_KEY: &str = "data:;base64,a2V5Z2F0ZSB0ZXN0IG1hc3RlciBrZXkgMzIgYnl0ZXM=";

#[test]
fn the_operator_flow_on_postgres() {
    let test = "cli::postgres::the_operator_flow_on_postgres";
    let Some((store, _)) = postgres_store(test, "keygate_cli") else { return };
    // A PostgreSQL store has no file to keep a master key beside: the operator gives one.
    let without = Sandbox::with_store(store.clone());
    let sandbox = Sandbox::with_store(store.clone()).with_env("KEYGATE_MASTER_KEY", MASTER_KEY);

    sandbox.run(&["service-account", "create", "orders"]).ok();
    without.run(&["signing-key", "create"]).fails(2, "no master key");
    sandbox.run(&["signing-key", "create"]).ok();
    let created = sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--resource",
            "pulsar-tenant/acme",
            "--output",
            "json",
        ])
        .ok();
    let (id, secret) = (created.field("key_id"), created.field("secret"));
    let jwt = sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--global",
            "--format",
            "jwt",
            "--output",
            "json",
        ])
        .ok()
        .field("secret");
    without
        .run(&["api-key", "create", "--service-account", "orders", "--global", "--format", "jwt"])
        .fails(2, "no master key");
    // Verifying needs no master key: a broker's replica holds public material only.
    without.run(&["api-key", "verify", "--resource", "pulsar-tenant/acme", &id, &secret]).ok();
    without.run(&["api-key", "verify", "--resource", "pulsar-tenant/acme", "--token", &jwt]).ok();
    sandbox.run(&["api-key", "revoke", &id]).ok();
    sandbox
        .run(&["api-key", "verify", "--resource", "pulsar-tenant/acme", &id, &secret])
        .fails(1, "revoked");
    let audit =
        sandbox.run(&["audit", "list", "--principal", "orders", "--output", "json"]).ok().json();
    assert_eq!(audit.as_array().unwrap().len(), 4);
    let deleted = sandbox.run(&["service-account", "delete", "orders", "--yes"]).ok().stdout;
    assert!(deleted.contains("its 2 keys"), "{deleted}");
    sandbox
        .run(&["api-key", "verify", "--resource", "kafka-cluster/x", "--token", &jwt])
        .fails(1, "refused");
}
