//! Tokens keygate mints verify with PyJWT, an independent implementation, for every algorithm.
//! Runs when `KEYGATE_PYTHON` names a Python with PyJWT[crypto]; `scripts/test` provides one.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keygate_core::{
    Clock, Expiry, KeyFormat, KeyId, KeyRecord, KeyTemplate, SigningAlgorithm, Span, SystemClock,
};
use keygate_token::{Minter, SigningKey};

use super::support::rsa;

#[test]
fn pyjwt_verifies_keygate_tokens() {
    let Some(python) = keygate_testkit::external("KEYGATE_PYTHON", "pyjwt_verifies_keygate_tokens")
    else {
        return;
    };
    let now = SystemClock.now();
    let template = KeyTemplate::new(
        "orders-service".parse().unwrap(),
        keygate_core::Scope::Resource("kafka-cluster/lkc-abc123".parse().unwrap()),
        KeyFormat::Jwt,
        Expiry::At(now.saturating_add(Span::hours(1))),
    );
    let record = KeyRecord::issue(template, KeyId::from_bytes([3; 10]), now, None).unwrap();

    let mut cases = String::new();
    for algorithm in SigningAlgorithm::ALL {
        let key = match algorithm {
            a if a.name().starts_with('R') || a.name().starts_with('P') => rsa(a),
            a => SigningKey::generate(a).unwrap().with_kid("k1".parse().unwrap()),
        };
        let public = if algorithm.is_symmetric() {
            STANDARD.encode(key.private_bytes())
        } else {
            key.verification_key().to_pem().unwrap()
        };
        let token = Minter::new(Arc::new(key)).mint_api_key(&record, now).unwrap();
        let case = serde_json::json!({"alg": algorithm.name(), "token": token.expose(), "key": public, "audience": "kafka-cluster/lkc-abc123"});
        cases.push_str(&case.to_string());
        cases.push('\n');
    }

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pyjwt_verify.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(cases.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), SigningAlgorithm::ALL.len());
    for (algorithm, claims) in SigningAlgorithm::ALL.iter().zip(&lines) {
        assert_eq!(claims["sub"], "orders-service", "{algorithm}: {claims}");
        assert_eq!(claims["jti"], record.id().to_string(), "{algorithm}");
        assert_eq!(claims["kg_scope"], "kafka-cluster/lkc-abc123", "{algorithm}");
    }
}
