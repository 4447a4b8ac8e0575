//! SASL_SSL: the proxy presents a certificate the test makes, clients trust it, and produce and
//! consume as over plaintext.

use std::process::Command;

use serde_json::json;

use super::support::{Operator, Tansu, client, externals, key, operator, proxy};

/// A self-signed certificate for 127.0.0.1 and its key, written by Python's `cryptography`
/// into `operator`'s directory: (certificate, key) paths.
fn certificate(python: &str, operator: &Operator) -> (String, String) {
    let cert = operator.path("proxy.crt").display().to_string();
    let key = operator.path("proxy.key").display().to_string();
    let script = r#"
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keygate-kafka-proxy test")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
    .public_key(key.public_key()).serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(minutes=5))
    .not_valid_after(now + datetime.timedelta(days=1))
    .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    .sign(key, hashes.SHA256()))
open(sys.argv[1], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(sys.argv[2], "wb").write(key.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
"#;
    let status = Command::new(python).args(["-c", script, &cert, &key]).status().unwrap();
    assert!(status.success(), "making the test certificate failed");
    (cert, key)
}

#[test]
fn sasl_ssl_clients_produce_and_consume() {
    let Some((python, tansu)) = externals("api::tls::sasl_ssl_clients_produce_and_consume") else {
        return;
    };
    let tansu = Tansu::start(&tansu);
    let operator = operator();
    operator.keygate(&["signing-key", "create"]);
    let (id, secret) = key(&operator, &[]);
    let (_, jwt) = key(&operator, &["--format", "jwt"]);
    let (cert, private) = certificate(&python, &operator);
    let mut gateway = proxy(&operator, &tansu, &["--tls-cert", &cert, "--tls-key", &private]);
    let port = gateway.port;

    for (library, credentials) in [
        ("kafka-python", vec!["PLAIN", &id, &secret, &cert]),
        ("confluent-kafka", vec!["OAUTHBEARER", &jwt, &cert]),
    ] {
        let topic = format!("tls-{library}");
        let mut producer = client(&python, library, port, &credentials);
        assert_eq!(producer.ask(&format!("create {topic}"))["ok"], true, "{library}");
        let answer = producer.ask(&format!("produce {topic} sealed"));
        assert_eq!(answer["ok"], true, "{library}: {answer}");
        let mut consumer = client(&python, library, port, &credentials);
        let answer = consumer.ask(&format!("consume {topic} group-{topic} 1"));
        assert_eq!(answer["records"], json!([[0, "sealed"]]), "{library}: {answer}");
    }

    // A plaintext client gets nowhere, and the proxy says why.
    let mut plain = client(&python, "kafka-python", port, &["PLAIN", &id, &secret]);
    assert_eq!(plain.ask("produce tls-kafka-python clear")["ok"], false);
    gateway.expect("closed: TLS handshake failed", std::time::Duration::from_secs(5));
}
