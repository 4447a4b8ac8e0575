//! Help and usage: every command explains itself, and misuse exits 2.

use super::support::Sandbox;

const COMMANDS: &[&[&str]] = &[
    &["secret-key", "create"],
    &["key-pair", "create"],
    &["token", "create"],
    &["token", "show"],
    &["token", "validate"],
    &["service-account", "create"],
    &["service-account", "list"],
    &["service-account", "delete"],
    &["user", "create"],
    &["user", "list"],
    &["user", "delete"],
    &["api-key", "create"],
    &["api-key", "list"],
    &["api-key", "describe"],
    &["api-key", "update"],
    &["api-key", "rotate"],
    &["api-key", "suspend"],
    &["api-key", "resume"],
    &["api-key", "revoke"],
    &["api-key", "delete"],
    &["api-key", "expiring"],
    &["api-key", "verify"],
    &["signing-key", "create"],
    &["signing-key", "list"],
    &["signing-key", "promote"],
    &["signing-key", "retire"],
    &["signing-key", "jwks"],
    &["audit", "list"],
    &["token", "revoke"],
    &["service-account", "sign-out"],
    &["user", "sign-out"],
    &["api-key", "due"],
    &["policy", "show"],
    &["policy", "set"],
    &["resource", "delete"],
    &["completions"],
    &["man"],
];

#[test]
fn the_top_level_help_lists_every_command_and_the_exit_codes() {
    let help = Sandbox::new().run(&["--help"]).ok().stdout;
    for group in [
        "secret-key",
        "key-pair",
        "token",
        "service-account",
        "user",
        "api-key",
        "signing-key",
        "audit",
    ] {
        assert!(help.contains(group), "--help does not list {group}");
    }
    assert!(help.contains("Exit status"), "{help}");
    for global in ["--store", "--actor", "--master-key", "--output"] {
        assert!(help.contains(global), "{help}");
    }
    let by_word = Sandbox::new().run(&["help", "api-key", "list"]).ok().stdout;
    assert!(by_word.contains("--unused-since") && !by_word.contains("--master-key <KEY>"));
}

#[test]
fn every_command_has_help() {
    let sandbox = Sandbox::new();
    for command in COMMANDS {
        let mut args = command.to_vec();
        args.push("--help");
        let help = sandbox.run(&args).ok().stdout;
        assert!(help.contains("Usage: keygate"), "{command:?}: {help}");
        // The global options are described once, at the top, and pointed to here.
        assert!(!help.contains("--master-key <KEY>"), "{command:?} repeats the globals: {help}");
        assert!(help.contains("keygate --help"), "{command:?}: {help}");
        // A sentence of description above the usage line.
        assert!(help.lines().next().is_some_and(|line| line.len() > 10), "{command:?}: {help}");
    }
    assert!(!sandbox.file("keygate.db").exists(), "asking for help opened the store");
}

#[test]
fn misuse_exits_2_with_a_usage_message() {
    let sandbox = Sandbox::new();
    for args in [
        &["frobnicate"][..],
        &["api-key", "create", "--global"],
        &["api-key", "create", "--service-account", "a", "--user", "b", "--global"],
        &["api-key", "create", "--service-account", "a", "--global", "--cloud"],
        &["token", "create", "-s", "alice", "-e", "1h"],
        &["api-key", "list", "--state", "sleepy"],
        &["--output", "yaml", "api-key", "list"],
    ] {
        let run = sandbox.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains("error"), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn the_version_is_printed() {
    let run = Sandbox::new().run(&["--version"]).ok();
    assert!(run.stdout.starts_with("keygate "), "{}", run.stdout);
}
