//! `keygate api-key`: the lifecycle, and verification as a broker does it.

use std::time::Duration;

use super::support::{Sandbox, account_with_key};

const CLUSTER: &str = "kafka-cluster/lkc-abc123";

#[test]
fn create_prints_the_secret_once_with_a_warning_and_json_for_scripts() {
    let sandbox = Sandbox::new();
    sandbox.run(&["service-account", "create", "orders"]).ok();
    let table = sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--resource",
            CLUSTER,
            "--expiry",
            "90d",
        ])
        .ok()
        .stdout;
    assert!(table.contains("cannot be shown again"), "{table}");
    assert!(table.contains("kgk_"), "{table}");
    assert!(table.contains("SASL/PLAIN"), "{table}");

    let created = sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--resource",
            CLUSTER,
            "--permission",
            "produce",
            "--permission",
            "describe",
            "--description",
            "orders producer",
            "--output",
            "json",
        ])
        .ok()
        .json();
    let (id, secret) = (created["key_id"].as_str().unwrap(), created["secret"].as_str().unwrap());
    assert_eq!(id.len(), 16);
    assert!(secret.starts_with(&format!("kgk_{id}_")), "{secret}");
    assert_eq!(created["permissions"], serde_json::json!(["describe", "produce"]));
    assert_eq!(created["scope"], CLUSTER);
    assert_eq!(created["status"], "active");

    // Shown once: nothing the store prints later holds it, nor its digest.
    for args in [
        &["api-key", "describe", id, "--output", "json"][..],
        &["api-key", "list", "--output", "json"],
    ] {
        let out = sandbox.run(args).ok().stdout;
        assert!(!out.contains(secret) && !out.contains("digest"), "{out}");
    }
    let described = sandbox.run(&["api-key", "describe", id]).ok().stdout;
    assert!(
        described.contains("orders producer") && described.contains("describe,produce"),
        "{described}"
    );
}

#[test]
fn verify_accepts_a_key_every_way_it_is_presented() {
    let sandbox = Sandbox::new();
    let (id, secret) = account_with_key(&sandbox, "orders", CLUSTER);
    // kgk_, 16 characters of id, _, 52 of secret, 7 of checksum.
    let bare_secret = &secret[21..73];
    let checks = [
        sandbox.run(&["api-key", "verify", "--resource", CLUSTER, &id, &secret]),
        sandbox.run(&["api-key", "verify", "--resource", CLUSTER, &id, bare_secret]),
        sandbox.run(&["api-key", "verify", "--resource", CLUSTER, "--key", &secret]),
        sandbox
            .run_stdin(&["api-key", "verify", "--resource", CLUSTER, "-i"], &format!("{secret}\n")),
    ];
    for check in checks {
        let identity = check.ok().json();
        assert_eq!(identity["principal"], "orders");
        assert_eq!(identity["credential"]["api_key"], id.as_str());
        assert_eq!(identity["scope"], CLUSTER);
    }
}

#[test]
fn verify_refuses_with_exit_1_and_the_reason() {
    let sandbox = Sandbox::new();
    let (id, secret) = account_with_key(&sandbox, "orders", CLUSTER);
    let restricted = sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--global",
            "--permission",
            "consume",
            "--output",
            "json",
        ])
        .ok();
    let restricted = restricted.field("secret");

    let verify = |args: &[&str]| {
        let mut all = vec!["api-key", "verify"];
        all.extend_from_slice(args);
        sandbox.run(&all)
    };
    verify(&["--resource", "kafka-cluster/lkc-other", "--key", &secret])
        .fails(1, "not valid on kafka-cluster/lkc-other");
    verify(&["--resource", CLUSTER, "--key", &restricted, "--permission", "produce"])
        .fails(1, "produce");
    verify(&["--resource", CLUSTER, "--key", "kgk_not-a-key"]).fails(1, "refused");
    verify(&["--resource", CLUSTER, "--token", "not.a.jwt"]).fails(1, "refused");

    // Another key's secret under this key's id: refused, and the secret is not echoed.
    let (_, other) = account_with_key(&sandbox, "billing", CLUSTER);
    let other_secret = &other[21..73];
    let run = verify(&["--resource", CLUSTER, &id, other_secret]).fails(1, "refused");
    assert!(!run.stderr.contains(other_secret), "{}", run.stderr);

    // A well-formed key this store never issued.
    let elsewhere = Sandbox::new();
    let (_, foreign) = account_with_key(&elsewhere, "orders", CLUSTER);
    verify(&["--resource", CLUSTER, "--key", &foreign]).fails(1, "unknown key");

    sandbox.run(&["api-key", "suspend", &id]).ok();
    verify(&["--resource", CLUSTER, "--key", &secret]).fails(1, "suspended");
    sandbox.run(&["api-key", "resume", &id]).ok();
    verify(&["--resource", CLUSTER, "--key", &secret]).ok();
    sandbox.run(&["api-key", "revoke", &id, "--reason", "leaked in a log"]).ok();
    verify(&["--resource", CLUSTER, "--key", &secret]).fails(1, "revoked");
}

#[test]
fn rotation_prints_the_new_key_and_the_old_one_expires_after_the_overlap() {
    let sandbox = Sandbox::new();
    let (id, secret) = account_with_key(&sandbox, "orders", CLUSTER);
    let rotated =
        sandbox.run(&["api-key", "rotate", &id, "--overlap", "1s", "--output", "json"]).ok().json();
    assert_eq!(rotated["old_key_id"], id.as_str());
    assert_eq!(rotated["replaces"], id.as_str());
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    sandbox.run(&["api-key", "verify", "--resource", CLUSTER, "--key", &new_secret]).ok();

    std::thread::sleep(Duration::from_millis(2100));
    sandbox
        .run(&["api-key", "verify", "--resource", CLUSTER, "--key", &secret])
        .fails(1, "expired");
    sandbox.run(&["api-key", "verify", "--resource", CLUSTER, "--key", &new_secret]).ok();

    let table =
        sandbox.run(&["api-key", "rotate", rotated["key_id"].as_str().unwrap()]).ok().stdout;
    assert!(
        table.contains("keeps working until") && table.contains("cannot be shown again"),
        "{table}"
    );
}

#[test]
fn the_lifecycle_commands_say_what_they_did() {
    let sandbox = Sandbox::new();
    let (id, _) = account_with_key(&sandbox, "orders", CLUSTER);
    sandbox.run(&["api-key", "update", &id, "--description", "renamed"]).ok();
    assert_eq!(
        sandbox.run(&["api-key", "describe", &id, "--output", "json"]).ok().field("description"),
        "renamed"
    );

    sandbox.run(&["api-key", "delete", &id]).fails(2, "give --yes to revoke and delete it");
    let revoked = sandbox.run(&["api-key", "revoke", &id]).ok().stdout;
    assert!(revoked.contains("Revoked key"), "{revoked}");
    let again = sandbox.run(&["api-key", "revoke", &id]).ok().stdout;
    assert!(again.contains("already revoked"), "{again}");
    sandbox.run(&["api-key", "suspend", &id]).fails(2, "revoked");
    sandbox.run(&["api-key", "delete", &id]).ok();
    sandbox.run(&["api-key", "describe", &id]).fails(2, &format!("there is no key {id}"));
    sandbox.run(&["api-key", "describe", "not-a-key-id"]).fails(2, "is not a key id");
}

#[test]
fn lists_filter_by_owner_resource_and_state_and_expiring_finds_the_soonest() {
    let sandbox = Sandbox::new();
    let (a, _) = account_with_key(&sandbox, "orders", CLUSTER);
    sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--resource",
            "pulsar-tenant/acme",
            "--expiry",
            "7d",
        ])
        .ok();
    sandbox.run(&["user", "create", "alice"]).ok();
    sandbox.run(&["api-key", "create", "--user", "alice", "--cloud", "--expiry", "30d"]).ok();
    sandbox.run(&["api-key", "revoke", &a]).ok();

    let count = |args: &[&str]| {
        let mut all = vec!["api-key", "list", "--output", "json"];
        all.extend_from_slice(args);
        sandbox.run(&all).ok().json().as_array().unwrap().len()
    };
    assert_eq!(count(&[]), 3);
    assert_eq!(count(&["--service-account", "orders"]), 2);
    assert_eq!(count(&["--user", "alice"]), 1);
    assert_eq!(count(&["--resource", CLUSTER]), 1);
    assert_eq!(count(&["--state", "revoked"]), 1);
    assert_eq!(count(&["--state", "active"]), 2);
    sandbox.run(&["api-key", "list", "--user", "orders"]).fails(2, "not a user");

    let expiring =
        sandbox.run(&["api-key", "expiring", "--within", "14d", "--output", "json"]).ok().json();
    let scopes: Vec<&str> =
        expiring.as_array().unwrap().iter().map(|k| k["scope"].as_str().unwrap()).collect();
    assert_eq!(scopes, ["pulsar-tenant/acme"]);
    let table = sandbox.run(&["api-key", "list"]).ok().stdout;
    assert!(
        table.starts_with("KEY ID") && table.contains("revoked") && table.contains("cloud"),
        "{table}"
    );
}

#[test]
fn bad_input_is_refused_before_anything_is_written() {
    let sandbox = Sandbox::new();
    sandbox.run(&["service-account", "create", "orders"]).ok();
    let create = |extra: &[&str]| {
        let mut args = vec!["api-key", "create", "--service-account", "orders"];
        args.extend_from_slice(extra);
        sandbox.run(&args)
    };
    create(&["--resource", "no-slash"]).fails(2, "is not a resource");
    create(&["--global", "--expiry", "forever"]).fails(2, "--expiry");
    create(&["--global", "--expiry", "never"]).fails(2, "keys must expire");
    create(&["--global", "--expiry", "5y"]).fails(2, "exceeds the policy maximum of 1y");
    create(&["--global", "--permission", "fly!"]).fails(2, "--permission");
    create(&["--global", "--format", "jwt"]).fails(2, "signing-key create");
    assert_eq!(
        sandbox.run(&["api-key", "list", "--output", "json"]).ok().json().as_array().unwrap().len(),
        0
    );
}

#[test]
fn a_permission_typo_is_refused_with_the_known_names() {
    let sandbox = Sandbox::new();
    sandbox.run(&["service-account", "create", "orders"]).ok();
    let create = ["api-key", "create", "--service-account", "orders", "--resource"];
    let mut typo = create.to_vec();
    typo.extend(["kafka-cluster/lkc-1", "--permission", "produc"]);
    sandbox
        .run(&typo)
        .fails(2, "unknown permission produc; known: admin, consume, describe, produce");
    let listed = sandbox.run(&["api-key", "list", "--output", "json"]).ok().json();
    assert_eq!(listed.as_array().unwrap().len(), 0, "a refused key was written: {listed}");

    let mut good = create.to_vec();
    good.extend(["kafka-cluster/lkc-1", "--permission", "produce", "--output", "json"]);
    let key = sandbox.run(&good).ok().json();
    let (id, secret) = (key["key_id"].as_str().unwrap(), key["secret"].as_str().unwrap());
    let verify = ["api-key", "verify", "--resource", "kafka-cluster/lkc-1", "--permission"];
    let mut typo = verify.to_vec();
    typo.extend(["prodce", id, secret]);
    sandbox.run(&typo).fails(2, "unknown permission prodce");
    let mut right = verify.to_vec();
    right.extend(["produce", id, secret]);
    sandbox.run(&right).ok();
}
