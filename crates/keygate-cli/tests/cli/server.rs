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
    let (id, secret) = operator.organization_admin("ops-bot");
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

#[test]
fn over_tls_the_api_serves_and_its_jwks_verifies_a_jwt_api_key_outside_keygate() {
    let test =
        "cli::server::over_tls_the_api_serves_and_its_jwks_verifies_a_jwt_api_key_outside_keygate";
    let Some(python) = python(test) else { return };
    let operator = Operator::new();
    let (id, secret) = operator.organization_admin("ops-bot");
    let (ca, cert, key) = keygate_testkit::process::certificates(&python, &operator.path(""));
    let store = operator.store();
    let binary = keygate_testkit::process::keygate_binary();
    let server = Gateway::start(
        &binary,
        &["serve", "--store", &store, "--tls-cert", &cert, "--tls-key", &key],
    );
    let base = format!("https://127.0.0.1:{}", server.port);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = keygate_server::Client::new(&base, &id, &secret, Some(Path::new(&ca))).unwrap();
    let (jwks, discovery, token) = runtime.block_on(async {
        // Trusting the Mozilla roots only, the self-signed server is refused.
        let untrusting = keygate_server::Client::new(&base, &id, &secret, None).unwrap();
        let refused = untrusting.call("GET", "/v1/service-accounts", None).await;
        assert!(matches!(refused, Err(keygate_server::ClientError::Transport(_))), "{refused:?}");
        // And plaintext to a TLS port gets no answer it can read.
        let plain_url = format!("http://127.0.0.1:{}", server.port);
        let plain = keygate_server::Client::new(&plain_url, &id, &secret, None).unwrap();
        assert!(plain.call("GET", "/v1/service-accounts", None).await.is_err());

        client.call("GET", "/v1/service-accounts", None).await.unwrap();
        let created = client
            .call("POST", "/v1/signing-keys", Some(&serde_json::json!({"algorithm": "EdDSA"})))
            .await
            .unwrap();
        client
            .call("PUT", "/v1/service-accounts/orders", Some(&serde_json::json!({})))
            .await
            .unwrap();
        let body = serde_json::json!({
            "owner": "orders", "scope": "kafka-cluster/lkc-1", "format": "jwt", "expiry": "1d"
        });
        let made = client.call("POST", "/v1/api-keys", Some(&body)).await.unwrap();
        let jwks = client.call("GET", "/.well-known/jwks.json", None).await.unwrap();
        let discovery =
            client.call("GET", "/.well-known/openid-configuration", None).await.unwrap();
        assert_eq!(jwks["keys"][0]["kid"], created["kid"]);
        (jwks, discovery, made["secret"].as_str().unwrap().to_owned())
    });
    let jwk = &jwks["keys"][0];
    assert_eq!((jwk["alg"].as_str(), jwk["use"].as_str()), (Some("EdDSA"), Some("sig")), "{jwks}");
    assert_eq!(discovery["jwks_uri"], format!("{base}/.well-known/jwks.json"));
    // PyJWT, knowing nothing of keygate but the JWK set, verifies the JWT API key.
    let script = r#"
import json, sys, jwt
jwks, token = json.loads(sys.argv[1]), sys.argv[2]
header = jwt.get_unverified_header(token)
key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=[key["alg"]], audience="kafka-cluster/lkc-1")
print(claims["sub"])
"#;
    let output =
        Command::new(&python).args(["-c", script, &jwks.to_string(), &token]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "orders");
}

/// `value` with what differs from run to run (key ids, instants, secrets, signing key ids, and
/// so the order of listings) made placeholders, so two runs of one flow compare equal.
fn shape(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(text)
            if text.len() == 16 && text.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Value::String("<key id>".into())
        }
        Value::String(text) if text.starts_with("kgk_") || text.starts_with("eyJ") => {
            Value::String("<secret>".into())
        }
        Value::String(text)
            if text.len() == 20 && text.ends_with('Z') && text.as_bytes()[10] == b'T' =>
        {
            Value::String("<instant>".into())
        }
        Value::String(text) if text.starts_with("kg-") => Value::String("<kid>".into()),
        // Listings are in key id order, and ids differ from run to run.
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(shape).collect();
            items.sort_by_key(|item| item.to_string());
            Value::Array(items)
        }
        Value::Object(fields) => {
            Value::Object(fields.iter().map(|(name, field)| (name.clone(), shape(field))).collect())
        }
        other => other.clone(),
    }
}

#[test]
fn the_command_through_a_server_runs_the_operator_flow_as_on_the_store() {
    // The server, over a store of its own, opened by an admin's cloud key.
    let operator = Operator::new();
    let (id, secret) = operator.organization_admin("ops-bot");
    let store = operator.store();
    let binary = keygate_testkit::process::keygate_binary();
    let server = Gateway::start(&binary, &["serve", "--store", &store]);
    let url = format!("http://127.0.0.1:{}", server.port);

    // The store in hand starts as the server's did.
    let local = Sandbox::new();
    local.run(&["service-account", "create", "ops-bot"]).ok();
    local
        .run(&[
            "role-binding",
            "create",
            "--service-account",
            "ops-bot",
            "--role",
            "OrganizationAdmin",
        ])
        .ok();
    local.run(&["api-key", "create", "--service-account", "ops-bot", "--cloud"]).ok();
    let remote = Sandbox::new()
        .with_env("KEYGATE_SERVER", &url)
        .with_env("KEYGATE_API_KEY", &id)
        .with_env("KEYGATE_API_SECRET", &secret);
    // Each step runs on both; `{0}` is the key the flow made on that side.
    let flow: &[&[&str]] = &[
        &["service-account", "create", "orders", "--description", "order pipeline", "-o", "json"],
        &["service-account", "list", "-o", "json"],
        &["user", "create", "alice", "-o", "json"],
        &["signing-key", "create", "-o", "json"],
        &[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--resource",
            "lkc-abc123",
            "--expiry",
            "30d",
            "--permission",
            "produce",
            "-o",
            "json",
        ],
        &[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--global",
            "--format",
            "jwt",
            "--expiry",
            "7d",
            "-o",
            "json",
        ],
        &["api-key", "list", "--service-account", "orders", "-o", "json"],
        &["api-key", "describe", "{0}", "-o", "json"],
        &["api-key", "update", "{0}", "--description", "producer", "-o", "json"],
        &["api-key", "suspend", "{0}", "-o", "json"],
        &["api-key", "resume", "{0}", "-o", "json"],
        &["api-key", "rotate", "{0}", "--overlap", "1h", "-o", "json"],
        &["api-key", "expiring", "--within", "2h", "-o", "json"],
        &["api-key", "due", "-o", "json"],
        &["api-key", "revoke", "{0}", "--reason", "rotated out", "-o", "json"],
        &["policy", "show", "-o", "json"],
        &["policy", "set", "--max-keys-per-resource", "50", "-o", "json"],
        &[
            "role-binding",
            "create",
            "--user",
            "alice",
            "--role",
            "ServiceAccountOwner",
            "--of",
            "orders",
            "-o",
            "json",
        ],
        &["role-binding", "list", "--user", "alice", "-o", "json"],
        &["resource", "list", "-o", "json"],
        &["resource", "delete", "kafka-cluster/lkc-gone", "--yes", "-o", "json"],
        &["resource", "restore", "kafka-cluster/lkc-gone", "-o", "json"],
        &["signing-key", "list", "-o", "json"],
        &["service-account", "sign-out", "orders", "-o", "json"],
        &["service-account", "delete", "orders", "--yes", "-o", "json"],
    ];
    let mut made: [Option<String>; 2] = [None, None];
    for step in flow {
        let mut answers = Vec::new();
        for (side, sandbox) in [&local, &remote].into_iter().enumerate() {
            let args: Vec<String> = step
                .iter()
                .map(|arg| arg.replace("{0}", made[side].as_deref().unwrap_or("")))
                .collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let run = sandbox.run(&args);
            assert_eq!(run.code, 0, "{} {step:?}: {}", ["local", "remote"][side], run.stderr);
            let answer: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
            if made[side].is_none() && step[..2] == ["api-key", "create"] {
                made[side] = answer["key_id"].as_str().map(str::to_owned);
            }
            answers.push(answer);
        }
        assert_eq!(shape(&answers[0]), shape(&answers[1]), "{step:?} answered differently");
    }
    // The audit log through the server names the API key, as the store's names the operator.
    let audit = remote.run(&["audit", "list", "-o", "json"]).ok();
    let events: serde_json::Value = serde_json::from_str(&audit.stdout).unwrap();
    let last = events.as_array().unwrap().last().unwrap();
    assert_eq!(last["action"]["action"], "principal_deleted");
    assert_eq!(
        (last["origin"]["kind"].as_str(), last["origin"]["key"].as_str()),
        (Some("api_key"), Some(id.as_str()))
    );
    let local_audit: serde_json::Value =
        serde_json::from_str(&local.run(&["audit", "list", "-o", "json"]).ok().stdout).unwrap();
    assert_eq!(local_audit.as_array().unwrap().last().unwrap()["origin"]["kind"], "local");
    // And a table prints the same way.
    let tables: Vec<String> = [&local, &remote]
        .iter()
        .map(|sandbox| {
            sandbox.run(&["user", "list"]).ok().stdout.lines().next().unwrap().to_owned()
        })
        .collect();
    assert_eq!(tables[0], tables[1]);
}
