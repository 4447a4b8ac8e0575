//! `keygate secret-key`, `key-pair` and `token`, with Pulsar's own key and token files.

use std::os::unix::fs::PermissionsExt;

use keygate::core::{SigningAlgorithm, Timestamp};
use keygate::token::{Claims, Minter, SigningKey};

use super::support::{Sandbox, pulsar_fixture};

fn url(path: std::path::PathBuf) -> String {
    format!("file://{}", path.display())
}

#[test]
fn secret_keys_are_written_owner_only_raw_or_base64() {
    let sandbox = Sandbox::new();
    sandbox.run(&["secret-key", "create", "-o", sandbox.file("hs256.key").to_str().unwrap()]).ok();
    let raw = std::fs::read(sandbox.file("hs256.key")).unwrap();
    assert_eq!(raw.len(), 32);
    let mode = std::fs::metadata(sandbox.file("hs256.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    sandbox
        .run(&[
            "secret-key",
            "create",
            "-a",
            "HS512",
            "--base64",
            "-o",
            sandbox.file("hs512.b64").to_str().unwrap(),
        ])
        .ok();
    assert_eq!(std::fs::read_to_string(sandbox.file("hs512.b64")).unwrap().len(), 88);
    let printed = sandbox.run(&["secret-key", "create"]).ok().stdout;
    assert_eq!(printed.trim().len(), 44);
    sandbox
        .run(&["secret-key", "create", "-o", sandbox.file("hs256.key").to_str().unwrap()])
        .fails(2, "File exists");
}

#[test]
fn tokens_made_and_checked_with_each_kind_of_key() {
    let sandbox = Sandbox::new();
    sandbox.run(&["secret-key", "create", "-o", sandbox.file("secret.key").to_str().unwrap()]).ok();
    for (algorithm, pem) in
        [("EdDSA", false), ("ES256", true), ("ES384", false), ("RS256", false), ("PS256", true)]
    {
        let (private, public) = (format!("{algorithm}.key"), format!("{algorithm}.pub"));
        let mut args = vec!["key-pair", "create", "-a", algorithm];
        let (private_path, public_path) = (sandbox.file(&private), sandbox.file(&public));
        args.extend(["--output-private-key", private_path.to_str().unwrap()]);
        args.extend(["--output-public-key", public_path.to_str().unwrap()]);
        if pem {
            args.push("--pem");
        }
        sandbox.run(&args).ok();
        let head = std::fs::read(&private_path).unwrap();
        assert_eq!(head.starts_with(b"-----BEGIN PRIVATE KEY-----"), pem, "{algorithm}");

        let mut create = vec!["token", "create", "--private-key"];
        let private_url = sandbox.file_url(&private);
        create.push(&private_url);
        create.extend([
            "-s",
            "alice",
            "-e",
            "1h",
            "--audience",
            "pulsar-tenant/acme",
            "--jti",
            "t-1",
        ]);
        if algorithm == "PS256" {
            create.extend(["-a", "PS256"]);
        }
        let token = sandbox.run(&create).ok().stdout.trim().to_owned();
        let public_url = sandbox.file_url(&public);
        let mut validate = vec![
            "token",
            "validate",
            "--public-key",
            &public_url,
            "--audience",
            "pulsar-tenant/acme",
            &token,
        ];
        if algorithm == "PS256" {
            validate.extend(["-a", "PS256"]);
        }
        let claims = sandbox.run(&validate).ok().json();
        assert_eq!(claims["sub"], "alice", "{algorithm}");
        assert_eq!(claims["jti"], "t-1");
        // Without the audience it names, refused.
        validate.retain(|arg| *arg != "--audience" && *arg != "pulsar-tenant/acme");
        sandbox.run(&validate).fails(1, "audience");
    }

    let secret = sandbox.file_url("secret.key");
    let token = sandbox
        .run(&[
            "token",
            "create",
            "--secret-key",
            &secret,
            "-s",
            "bob",
            "-e",
            "30m",
            "--permission",
            "consume",
            "--issuer",
            "ops",
        ])
        .ok()
        .stdout;
    let claims = sandbox
        .run(&["token", "validate", "--secret-key", &secret, "--issuer", "ops", token.trim()])
        .ok()
        .json();
    assert_eq!(claims["kg_permissions"], serde_json::json!(["consume"]));
    sandbox
        .run(&[
            "token",
            "validate",
            "--secret-key",
            &secret,
            "--issuer",
            "someone-else",
            token.trim(),
        ])
        .fails(1, "iss");
    let file = sandbox.file("token.jwt");
    std::fs::write(&file, &token).unwrap();
    sandbox.run(&["token", "validate", "--secret-key", &secret, "-f", file.to_str().unwrap()]).ok();
    sandbox.run_stdin(&["token", "validate", "--secret-key", &secret, "-i"], &token).ok();
    sandbox.run_stdin(&["token", "show", "-i"], &token).ok();
}

#[test]
fn tokens_that_never_expire_must_be_asked_for_on_both_sides() {
    let sandbox = Sandbox::new();
    sandbox.run(&["secret-key", "create", "-o", sandbox.file("secret.key").to_str().unwrap()]).ok();
    let secret = sandbox.file_url("secret.key");
    sandbox
        .run(&["token", "create", "--secret-key", &secret, "-s", "bob", "-e", "forever"])
        .fails(2, "--expiry-time");
    let token = sandbox
        .run(&["token", "create", "--secret-key", &secret, "-s", "bob", "-e", "never"])
        .ok()
        .stdout;
    sandbox
        .run(&["token", "validate", "--secret-key", &secret, token.trim()])
        .fails(1, "--allow-no-expiry");
    sandbox
        .run(&["token", "validate", "--secret-key", &secret, "--allow-no-expiry", token.trim()])
        .ok();
}

#[test]
fn expired_tampered_malformed_and_wrongly_keyed_tokens_are_refused() {
    let sandbox = Sandbox::new();
    sandbox.run(&["secret-key", "create", "-o", sandbox.file("secret.key").to_str().unwrap()]).ok();
    sandbox.run(&["secret-key", "create", "-o", sandbox.file("other.key").to_str().unwrap()]).ok();
    let secret = sandbox.file_url("secret.key");

    // An hour past its expiry, minted here with the same key.
    let key = SigningKey::from_secret(
        SigningAlgorithm::HS256,
        &std::fs::read(sandbox.file("secret.key")).unwrap(),
    )
    .unwrap();
    let now = Timestamp::from_unix(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
            as i64,
    )
    .unwrap();
    let expired = Minter::new(std::sync::Arc::new(key))
        .with_token_type(None)
        .mint(
            &Claims::new("bob")
                .with_expires(Some(Timestamp::from_unix(now.unix() - 3600).unwrap())),
        )
        .unwrap();
    sandbox
        .run(&["token", "validate", "--secret-key", &secret, expired.expose()])
        .fails(1, "expired");

    let token = sandbox
        .run(&["token", "create", "--secret-key", &secret, "-s", "bob", "-e", "1h"])
        .ok()
        .stdout;
    let token = token.trim();
    let (body, signature) = token.rsplit_once('.').unwrap();
    let tampered =
        format!("{body}.{}{}", if signature.starts_with('A') { "B" } else { "A" }, &signature[1..]);
    sandbox.run(&["token", "validate", "--secret-key", &secret, &tampered]).fails(1, "signature");
    sandbox
        .run(&["token", "validate", "--secret-key", &sandbox.file_url("other.key"), token])
        .fails(1, "signature");
    sandbox
        .run(&["token", "validate", "--secret-key", &secret, "not-a-token"])
        .fails(1, "malformed");
    sandbox
        .run(&["token", "validate", "--secret-key", &secret, "-a", "RS256", token])
        .fails(2, "--public-key");
    sandbox.run(&["token", "show", "not-a-token"]).fails(2, "cannot be read");
    sandbox
        .run(&["token", "validate", "--secret-key", "file:///nonexistent/key", token])
        .fails(2, "/nonexistent/key");
    sandbox
        .run(&["token", "validate", "--public-key", &secret, token])
        .fails(2, "not a public key");
    sandbox
        .run(&["token", "validate", "--secret-key", "data:;base64,!!!", token])
        .fails(2, "--secret-key");
}

#[test]
fn pulsar_keys_and_tokens_work_as_pulsar_writes_them() {
    let sandbox = Sandbox::new();
    let check = |key_option: &str, key: &str, token_file: &str, extra: &[&str]| {
        let mut args = vec!["token", "validate", key_option, key, "-f"];
        let token = pulsar_fixture(token_file);
        args.push(token.to_str().unwrap());
        args.extend_from_slice(extra);
        let claims = sandbox.run(&args).ok().json();
        assert_eq!(claims["sub"], "test-user", "{token_file}");
    };
    let secret = url(pulsar_fixture("hs256-secret.key"));
    check("--secret-key", &secret, "hs256-exp.jwt", &[]);
    check("--secret-key", &secret, "hs256-no-exp.jwt", &["--allow-no-expiry"]);
    let base64 = std::fs::read_to_string(pulsar_fixture("hs256-secret.b64")).unwrap();
    check("--secret-key", base64.trim(), "hs256-exp.jwt", &[]);
    check("--public-key", &url(pulsar_fixture("rs256-public.der")), "rs256-exp.jwt", &[]);
    check(
        "--public-key",
        &url(pulsar_fixture("es256-public.der")),
        "es256-no-exp.jwt",
        &["--allow-no-expiry"],
    );

    // Pulsar's own RSA private key signs tokens its public key verifies.
    let token = sandbox
        .run(&[
            "token",
            "create",
            "--private-key",
            &url(pulsar_fixture("rs256-private.der")),
            "-s",
            "test-user",
            "-e",
            "1h",
        ])
        .ok()
        .stdout;
    let header =
        sandbox.run(&["token", "show", token.trim(), "--output", "json"]).ok().json()["header"]
            .clone();
    assert_eq!(
        header,
        serde_json::json!({"alg": "RS256"}),
        "a plain token, as pulsar tokens makes"
    );
    sandbox
        .run(&[
            "token",
            "validate",
            "--public-key",
            &url(pulsar_fixture("rs256-public.der")),
            token.trim(),
        ])
        .ok();
}

/// Pulsar users open key files with OpenSSL and Python's `cryptography`: every key pair
/// `key-pair create` writes, DER and PEM, reads in both, and the public half matches.
#[test]
fn key_pairs_are_readable_by_openssl_and_python_cryptography() {
    let Some(python) = keygate_testkit::external(
        "KEYGATE_PYTHON",
        "cli::tokens::key_pairs_are_readable_by_openssl_and_python_cryptography",
    ) else {
        return;
    };
    let sandbox = Sandbox::new();
    for algorithm in ["EdDSA", "ES256", "ES384", "RS256"] {
        for pem in [false, true] {
            let name = format!("{algorithm}-{}", if pem { "pem" } else { "der" });
            let private = sandbox.file(&format!("{name}.key"));
            let public = sandbox.file(&format!("{name}.pub"));
            let mut args = vec!["key-pair", "create", "-a", algorithm];
            args.extend(["--output-private-key", private.to_str().unwrap()]);
            args.extend(["--output-public-key", public.to_str().unwrap()]);
            if pem {
                args.push("--pem");
            }
            sandbox.run(&args).ok();

            let form = if pem { "PEM" } else { "DER" };
            let openssl = std::process::Command::new("openssl")
                .args(["pkey", "-inform", form, "-in", private.to_str().unwrap(), "-pubout"])
                .args(["-outform", "DER"])
                .output()
                .unwrap();
            assert!(
                openssl.status.success(),
                "openssl pkey refused {name}: {}",
                String::from_utf8_lossy(&openssl.stderr)
            );
            let script = r#"
import sys
from cryptography.hazmat.primitives import serialization as s
data = open(sys.argv[1], "rb").read()
load = s.load_pem_private_key if sys.argv[3] == "PEM" else s.load_der_private_key
key = load(data, password=None)
public = key.public_key().public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo)
expected = open(sys.argv[2], "rb").read()
if sys.argv[3] == "PEM":
    expected = s.load_pem_public_key(expected).public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo)
sys.stdout.buffer.write(public if public == expected else b"MISMATCH")
"#;
            let read = std::process::Command::new(&python)
                .args(["-c", script, private.to_str().unwrap(), public.to_str().unwrap(), form])
                .output()
                .unwrap();
            assert!(
                read.status.success(),
                "cryptography refused {name}: {}",
                String::from_utf8_lossy(&read.stderr)
            );
            assert_eq!(read.stdout, openssl.stdout, "{name}: the public halves differ");
        }
    }
}
