//! `keygate serve`: the control plane as operators start it, checked against its own OpenAPI
//! document by schemathesis, and refusing to put API keys on the network in the clear.

use std::path::Path;
use std::process::Command;

use keygate_testkit::process::{Gateway, Operator, free_port, python};

use super::support::Sandbox;

#[test]
fn plaintext_beyond_loopback_is_refused_unless_named() {
    let sandbox = Sandbox::new();
    let listen = format!("0.0.0.0:{}", free_port());
    let run = sandbox.run(&["serve", "--listen", &listen]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("refusing plaintext HTTP"), "{}", run.stderr);
    assert!(run.stderr.contains("--insecure-http"), "{}", run.stderr);
}

#[test]
fn the_served_document_drives_a_property_based_run_with_no_server_error() {
    let test = "cli::server::the_served_document_drives_a_property_based_run_with_no_server_error";
    let Some(python) = python(test) else { return };
    let operator = Operator::new();
    operator.keygate(&["service-account", "create", "ops-bot"]);
    operator.keygate(&[
        "role-binding",
        "create",
        "--service-account",
        "ops-bot",
        "--role",
        "OrganizationAdmin",
    ]);
    let (id, secret) = operator.api_key(&["--service-account", "ops-bot", "--cloud"]);
    // Things for the generated requests to find.
    operator.keygate(&["service-account", "create", "orders"]);
    operator.keygate(&["user", "create", "alice"]);
    operator.api_key(&["--service-account", "orders", "--resource", "kafka-cluster/lkc-1"]);
    let store = operator.store();
    let binary = keygate_testkit::process::keygate_binary();
    // Schemathesis sends bad credentials on purpose; the budget would answer 429 to the rest.
    let mut server =
        Gateway::start(&binary, &["serve", "--store", &store, "--auth-failure-burst", "1000000"]);
    let base = format!("http://127.0.0.1:{}", server.port);
    let clients = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
    let schemathesis = Path::new(&python).with_file_name("schemathesis");
    let output = Command::new(schemathesis)
        .args(["run", &format!("{base}/v1/openapi.json"), "--url", &base])
        .args(["--auth", &format!("{id}:{secret}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance,response_headers_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing", "--max-time", "40", "--workers", "2"])
        // The hooks filter out what touches the caller; a run is not to fail for filtering.
        .args(["--suppress-health-check", "filter_too_much"])
        .arg("--no-color")
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .env("PYTHONPATH", &clients)
        .env("KEYGATE_PROTECTED", format!("{id},ops-bot"))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("passed"), "{report}");
    let lines = server.drain();
    assert!(lines.iter().all(|line| !line.contains(&secret)), "a secret in the log");
}
