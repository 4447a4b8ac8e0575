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

/// With the usual umask (022), the store's directory and files, and the master key made beside
/// it with the first signing key, are still private to their owner, and a store someone opened
/// up is reported.
#[cfg(unix)]
#[test]
fn the_store_is_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    let data = sandbox.file("data");
    let status = std::process::Command::new("sh")
        .args([
            "-c",
            "umask 022 && \"$0\" service-account create orders && exec \"$0\" signing-key create",
        ])
        .arg(env!("CARGO_BIN_EXE_keygate"))
        .env_remove("KEYGATE_STORE")
        .env("KEYGATE_ACTOR", "test:operator")
        .env("XDG_DATA_HOME", &data)
        .status()
        .unwrap();
    assert!(status.success());
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data.join("keygate")), 0o700);
    let store = data.join("keygate/keygate.db");
    assert_eq!(mode(&store), 0o600);
    assert_eq!(mode(&data.join("keygate/keygate.db.master-key")), 0o600);
    for name in ["keygate.db-wal", "keygate.db-shm"] {
        let path = data.join("keygate").join(name);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }

    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o644)).unwrap();
    let listed = sandbox.run(&["--store", store.to_str().unwrap(), "service-account", "list"]).ok();
    assert!(listed.stderr.contains("other users can read the store"), "{}", listed.stderr);
}

#[test]
fn an_unusable_store_is_a_one_line_error_and_exit_2() {
    let sandbox = Sandbox::new();
    let unwritable = ["--store", "/nonexistent-dir/keygate.db", "service-account"];
    sandbox
        .run(&[&unwritable[..], &["create", "orders"]].concat())
        .fails(2, "cannot open the store");
    sandbox.run(&[&unwritable[..], &["list"]].concat()).fails(2, "there is no store at");

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
