//! Where the store is, and what happens when it cannot be used.

use super::support::Sandbox;

#[test]
fn the_default_store_is_created_in_the_data_directory_on_first_use() {
    let sandbox = Sandbox::new();
    let no_store = [("KEYGATE_STORE", "")];
    sandbox.run_with(&["service-account", "create", "orders"], None, &no_store).ok();
    assert!(sandbox.file("data/keygate/keygate.db").exists());
    let listed = sandbox
        .run_with(&["service-account", "list", "--output", "json"], None, &no_store)
        .ok()
        .json();
    assert_eq!(listed[0]["name"], "orders");
    // --store overrides the environment.
    let other = sandbox.file("other.db");
    sandbox.run(&["--store", other.to_str().unwrap(), "service-account", "create", "billing"]).ok();
    assert!(other.exists());
}

#[test]
fn an_unusable_store_is_a_one_line_error_and_exit_2() {
    let sandbox = Sandbox::new();
    let unwritable =
        sandbox.run(&["--store", "/nonexistent-dir/keygate.db", "service-account", "list"]);
    unwritable.fails(2, "cannot open the store");

    let corrupt = sandbox.file("corrupt.db");
    std::fs::write(&corrupt, vec![0x5a; 4096]).unwrap();
    sandbox
        .run(&["--store", corrupt.to_str().unwrap(), "service-account", "list"])
        .fails(2, "not a SQLite database");
    assert_eq!(
        std::fs::read(&corrupt).unwrap(),
        vec![0x5a; 4096],
        "the corrupt file was written to"
    );

    sandbox
        .run(&["--store", "postgres://keygate@127.0.0.1:1/keygate", "service-account", "list"])
        .fails(2, "cannot open the store");
    sandbox
        .run(&["--store", "mysql://localhost/db", "service-account", "list"])
        .fails(2, "cannot open the store");
}

#[test]
fn commands_on_the_operators_own_keys_never_open_the_store() {
    let sandbox = Sandbox::with_store("/nonexistent-dir/keygate.db");
    sandbox.run(&["secret-key", "create"]).ok();
}
