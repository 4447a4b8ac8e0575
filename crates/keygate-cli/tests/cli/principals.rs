//! `keygate service-account` and `keygate user`.

use super::support::Sandbox;

#[test]
fn service_accounts_are_created_listed_and_deleted_with_their_keys() {
    let sandbox = Sandbox::new();
    sandbox.run(&["service-account", "create", "orders", "--description", "order pipeline"]).ok();
    sandbox.run(&["service-account", "create", "billing"]).ok();
    sandbox.run(&["user", "create", "alice@example.com", "--display-name", "Alice"]).ok();
    for _ in 0..2 {
        sandbox.run(&["api-key", "create", "--service-account", "orders", "--global"]).ok();
    }

    let table = sandbox.run(&["service-account", "list"]).ok().stdout;
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains("orders") && table.contains("order pipeline") && table.contains("billing")
    );
    assert!(!table.contains("alice"), "users are listed with service accounts: {table}");
    let users = sandbox.run(&["user", "list", "--output", "json"]).ok().json();
    assert_eq!(users[0]["name"], "alice@example.com");
    assert_eq!(users[0]["display_name"], "Alice");
    assert_eq!(users[0]["kind"], "user");

    sandbox.run(&["service-account", "delete", "orders"]).fails(2, "pass --yes");
    let deleted = sandbox.run(&["service-account", "delete", "orders", "--yes"]).ok().stdout;
    assert!(deleted.contains("its 2 keys"), "{deleted}");
    let keys = sandbox.run(&["api-key", "list", "--output", "json"]).ok().json();
    assert_eq!(keys.as_array().unwrap().len(), 0);
    sandbox
        .run(&["service-account", "delete", "orders", "--yes"])
        .fails(2, "there is no service account orders");
}

#[test]
fn creating_twice_or_for_the_wrong_kind_fails_with_exit_2() {
    let sandbox = Sandbox::new();
    sandbox.run(&["service-account", "create", "orders"]).ok();
    sandbox
        .run(&["service-account", "create", "orders"])
        .fails(2, "service account orders already exists");
    sandbox
        .run(&["user", "delete", "orders", "--yes"])
        .fails(2, "orders is a service account, not a user");
    sandbox
        .run(&["api-key", "create", "--user", "orders", "--global"])
        .fails(2, "orders is a service account, not a user");
    sandbox
        .run(&["api-key", "create", "--service-account", "nobody", "--global"])
        .fails(2, "there is no service account nobody");
}

#[test]
fn invalid_names_and_descriptions_are_refused() {
    let sandbox = Sandbox::new();
    sandbox.run(&["service-account", "create", "Has Spaces"]).fails(2, "is not a valid name");
    sandbox.run(&["service-account", "create", ""]).fails(2, "is not a valid name");
    let long = "x".repeat(2000);
    sandbox
        .run(&["service-account", "create", "ok", "--description", &long])
        .fails(2, "--description");
    let listed = sandbox.run(&["service-account", "list", "--output", "json"]).ok().json();
    assert_eq!(listed.as_array().unwrap().len(), 0, "a refused create wrote something");
}

#[test]
fn principal_names_follow_the_rule_the_help_states() {
    let sandbox = Sandbox::new();
    sandbox.run(&["service-account", "create", "upper"]).ok();
    for refused in ["Upper", "UPPER", "role:admin"] {
        sandbox.run(&["service-account", "create", refused]).fails(2, "lowercase letters");
        sandbox.run(&["user", "create", refused]).fails(2, "lowercase letters");
    }
    let long = "a".repeat(65);
    sandbox.run(&["service-account", "create", &long]).fails(2, "the limit is 64");
    sandbox.run(&["service-account", "create", &"a".repeat(64)]).ok();
    let listed = sandbox.run(&["service-account", "list", "--output", "json"]).ok().json();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
}

/// The first administrator is made with the store in hand; bindings are listed, removed,
/// refused when they make no sense, audited, and gone with the account they are about.
#[test]
fn role_bindings_are_made_locally_and_follow_their_principals() {
    let sandbox = Sandbox::new();
    for args in [
        ["service-account", "create", "ops-bot"],
        ["service-account", "create", "orders"],
        ["user", "create", "alice"],
    ] {
        sandbox.run(&args).ok();
    }
    let admin =
        ["role-binding", "create", "--service-account", "ops-bot", "--role", "OrganizationAdmin"];
    assert!(
        sandbox
            .run(&admin)
            .ok()
            .stdout
            .contains("Bound service account ops-bot to OrganizationAdmin")
    );
    sandbox.run(&admin).fails(2, "already exists");
    let owner = [
        "role-binding",
        "create",
        "--user",
        "alice",
        "--role",
        "ServiceAccountOwner",
        "--of",
        "orders",
    ];
    sandbox.run(&owner).ok();
    sandbox
        .run(&["role-binding", "create", "--user", "alice", "--role", "ServiceAccountOwner"])
        .fails(2, "the service account a ServiceAccountOwner owns");
    sandbox
        .run(&["role-binding", "create", "--user", "alice", "--role", "Viewer", "--of", "orders"])
        .fails(2, "no service account for OrganizationAdmin or Viewer");
    sandbox
        .run(&[
            "role-binding",
            "create",
            "--user",
            "alice",
            "--role",
            "ServiceAccountOwner",
            "--of",
            "alice",
        ])
        .fails(2, "alice is a user, not a service account");
    sandbox
        .run(&["role-binding", "create", "--user", "alice", "--role", "Root"])
        .fails(2, "expected OrganizationAdmin, ServiceAccountOwner or Viewer");

    let listed = sandbox.run(&["role-binding", "list", "--output", "json"]).ok().json();
    let roles: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["principal"].as_str().unwrap(), b["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, [("alice", "ServiceAccountOwner"), ("ops-bot", "OrganizationAdmin")]);
    let alices =
        sandbox.run(&["role-binding", "list", "--user", "alice", "--output", "json"]).ok().json();
    assert_eq!(alices[0]["service_account"], "orders", "{alices}");

    sandbox.run(&["role-binding", "list", "--user", "ghost"]).fails(2, "there is no user ghost");
    sandbox
        .run(&["role-binding", "create", "--user", "ghost", "--role", "Viewer"])
        .fails(2, "there is no user ghost");

    // Deleting the account takes alice's ownership of it.
    sandbox.run(&["service-account", "delete", "orders", "--yes"]).ok();
    let listed = sandbox.run(&["role-binding", "list", "--output", "json"]).ok().json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    sandbox
        .run(&[
            "role-binding",
            "delete",
            "--service-account",
            "ops-bot",
            "--role",
            "OrganizationAdmin",
        ])
        .ok();
    sandbox
        .run(&[
            "role-binding",
            "delete",
            "--service-account",
            "ops-bot",
            "--role",
            "OrganizationAdmin",
        ])
        .fails(2, "not found");
    let audit = sandbox.run(&["audit", "list", "--output", "json"]).ok().json();
    let actions: Vec<&str> =
        audit.as_array().unwrap().iter().map(|e| e["action"]["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "role_bound").count(), 2, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "role_unbound").count(), 1, "{actions:?}");
    // Made with the store in hand: the events say so, whatever --actor claimed.
    assert!(audit.as_array().unwrap().iter().all(|e| e["origin"]["kind"] == "local"), "{audit}");
    let table = sandbox.run(&["audit", "list"]).ok().stdout;
    assert!(table.contains("test:operator (local)"), "{table}");
}
