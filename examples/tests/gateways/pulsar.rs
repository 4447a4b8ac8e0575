//! The Pulsar gateway with pulsar-client: Pulsar-style tokens made by `keygate token create`,
//! JWT API keys, refusals, revocation, and authentication refresh.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use keygate::core::{SigningAlgorithm, Timestamp};
use keygate::token::{Claims, Minter, SigningKey};
use keygate_wire::pulsar::proto::{BaseCommand, CommandConnect, command, decode_frame};

use super::support::{Client, Gateway, Operator, python};

const TENANT: &str = "pulsar-tenant/acme";
const TOPIC: &str = "persistent://acme/orders/events";

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A token for `orders` signed with the operator's secret key, expiring at `exp`, minted here
/// (for instants `keygate token create` does not make: the past).
fn token_expiring_at(operator: &Operator, exp: i64) -> String {
    let secret = std::fs::read(operator.path("hs256.key")).unwrap();
    let key = SigningKey::from_secret(SigningAlgorithm::HS256, &secret).unwrap();
    let claims = Claims::new("orders").with_expires(Some(Timestamp::from_unix(exp).unwrap()));
    Minter::new(Arc::new(key)).with_token_type(None).mint(&claims).unwrap().expose().to_owned()
}

fn produce(python: &str, url: &str, credential: &[&str]) -> serde_json::Value {
    let mut args = vec![url];
    args.extend_from_slice(credential);
    Client::start(python, "pulsar_client.py", &args).ask(&format!("produce {TOPIC}"))
}

#[test]
fn pulsar_clients_connect_with_tokens_and_keys_until_they_are_revoked() {
    let Some(python) = python(
        "gateways::pulsar::pulsar_clients_connect_with_tokens_and_keys_until_they_are_revoked",
    ) else {
        return;
    };
    let operator = Operator::new();
    let secret_file = operator.path("hs256.key");
    operator.keygate(&["secret-key", "create", "-o", secret_file.to_str().unwrap()]);
    let secret = format!("file://{}", secret_file.display());
    operator.keygate(&["service-account", "create", "orders"]);
    operator.keygate(&["signing-key", "create"]);
    let (jwt_id, jwt) =
        operator.api_key(&["--service-account", "orders", "--resource", TENANT, "--format", "jwt"]);
    let (_, reader) = operator.api_key(&[
        "--service-account",
        "orders",
        "--resource",
        TENANT,
        "--format",
        "jwt",
        "--permission",
        "consume",
    ]);
    let token =
        operator.keygate(&["token", "create", "--secret-key", &secret, "-s", "orders", "-e", "1h"]);
    let elsewhere = operator.keygate(&[
        "token",
        "create",
        "--secret-key",
        &secret,
        "-s",
        "orders",
        "-e",
        "1h",
        "--audience",
        "pulsar-tenant/other",
    ]);
    let here = operator.keygate(&[
        "token",
        "create",
        "--secret-key",
        &secret,
        "-s",
        "orders",
        "-e",
        "1h",
        "--audience",
        TENANT,
    ]);
    let forever = operator.keygate(&[
        "token",
        "create",
        "--secret-key",
        &secret,
        "-s",
        "orders",
        "-e",
        "never",
    ]);
    let expired = token_expiring_at(&operator, now() - 3600);

    let store = operator.store();
    let mut gateway = Gateway::start(
        "pulsar_gateway",
        &["--store", &store, "--resource", TENANT, "--secret-key", &secret],
    );
    let url = format!("pulsar://127.0.0.1:{}", gateway.port);

    // A Pulsar-style token from `keygate token create`, with or without this tenant as audience.
    for good in [token.trim(), here.trim()] {
        let answer = produce(&python, &url, &[good]);
        assert_eq!(answer["ok"], true, "{answer}");
    }
    gateway.expect("authenticated as orders (a token", Duration::from_secs(5));
    // Expired, for another tenant, or never expiring (the gateway was not told to allow it).
    for (bad, reason) in
        [(expired.as_str(), "expired"), (elsewhere.trim(), "audience"), (forever.trim(), "exp")]
    {
        let answer = produce(&python, &url, &[bad]);
        assert_eq!(answer["ok"], false, "{answer}");
        gateway.expect(reason, Duration::from_secs(10));
    }

    // A JWT API key: accepted, then refused after revocation, its open connection closed.
    let mut client = Client::start(&python, "pulsar_client.py", &[&url, &jwt]);
    assert_eq!(client.ask(&format!("produce {TOPIC}"))["ok"], true);
    gateway.expect(&format!("key {jwt_id}"), Duration::from_secs(5));
    let answer = produce(&python, &url, &[&reader]);
    assert_eq!(answer["ok"], false, "{answer}");
    gateway.expect("producer refused", Duration::from_secs(5));
    operator.keygate(&["api-key", "revoke", &jwt_id]);
    gateway.expect(
        &format!("closed: the credential no longer holds: key {jwt_id} is revoked"),
        Duration::from_secs(5),
    );
    let answer = produce(&python, &url, &[&jwt]);
    assert_eq!(answer["ok"], false, "{answer}");
    drop(client);
}

#[test]
fn pulsar_clients_refresh_expiring_tokens_and_others_are_disconnected() {
    let Some(python) = python(
        "gateways::pulsar::pulsar_clients_refresh_expiring_tokens_and_others_are_disconnected",
    ) else {
        return;
    };
    let operator = Operator::new();
    let secret_file = operator.path("hs256.key");
    operator.keygate(&["secret-key", "create", "-o", secret_file.to_str().unwrap()]);
    let secret = format!("file://{}", secret_file.display());
    let store = operator.store();
    operator.keygate(&["service-account", "create", "orders"]);
    let mut gateway = Gateway::start(
        "pulsar_gateway",
        &["--store", &store, "--resource", TENANT, "--secret-key", &secret],
    );
    let url = format!("pulsar://127.0.0.1:{}", gateway.port);

    // pulsar-client advertises supports_auth_refresh: challenged at expiry, it answers with the
    // token its supplier reads now, and carries on.
    let token_file = operator.path("token");
    std::fs::write(&token_file, token_expiring_at(&operator, now() + 3)).unwrap();
    let mut client = Client::start(
        &python,
        "pulsar_client.py",
        &[&url, "--token-file", token_file.to_str().unwrap()],
    );
    assert_eq!(client.ask(&format!("produce {TOPIC}"))["ok"], true);
    let fresh =
        operator.keygate(&["token", "create", "--secret-key", &secret, "-s", "orders", "-e", "1h"]);
    std::fs::write(&token_file, fresh.trim()).unwrap();
    gateway.expect("asking the client to refresh", Duration::from_secs(10));
    gateway.expect("refreshed its token as orders", Duration::from_secs(10));
    assert_eq!(client.ask(&format!("produce {TOPIC}"))["ok"], true);

    // A client that does not advertise it is disconnected when its token expires.
    let mut stream = TcpStream::connect(("127.0.0.1", gateway.port)).unwrap();
    let mut connect = BaseCommand::of(command::CONNECT);
    connect.connect = Some(CommandConnect {
        client_version: "raw-test-client".to_owned(),
        auth_method_name: Some("token".to_owned()),
        auth_data: Some(token_expiring_at(&operator, now() + 2).into_bytes()),
        protocol_version: Some(19),
        feature_flags: None,
    });
    stream.write_all(&connect.to_frame()).unwrap();
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
    stream.read_exact(&mut body).unwrap();
    assert_eq!(decode_frame(&body).unwrap().r#type, command::CONNECTED);
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut rest = Vec::new();
    let read = stream.read_to_end(&mut rest);
    assert!(matches!(read, Ok(0)), "the connection stayed open: {read:?}");
    gateway.expect("the client cannot refresh it", Duration::from_secs(5));
}
