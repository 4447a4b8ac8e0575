//! The Pulsar gateway with pulsar-client: Pulsar-style tokens made by `keygate token create`,
//! JWT API keys, refusals, revocation, and authentication refresh.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use keygate::core::{SigningAlgorithm, Timestamp};
use keygate::token::{Claims, Minter, SigningKey};
use keygate_wire::pulsar::proto::{BaseCommand, CommandConnect, command, decode_frame};

use super::support::{Client, Gateway, Operator, example, python, script};

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

/// A store with the service account `orders`, an HS256 secret key made by `keygate secret-key
/// create`, and a gateway for `TENANT` that also trusts tokens signed with it: the operator, the
/// key as a `file://` value, the gateway and its URL.
fn gateway_trusting_a_secret_key() -> (Operator, String, Gateway, String) {
    let operator = Operator::new();
    let secret_file = operator.path("hs256.key");
    operator.keygate(&["secret-key", "create", "-o", secret_file.to_str().unwrap()]);
    let secret = format!("file://{}", secret_file.display());
    let store = operator.store();
    operator.keygate(&["service-account", "create", "orders"]);
    let gateway = Gateway::start(
        &example("pulsar_gateway"),
        &["--store", &store, "--resource", TENANT, "--secret-key", &secret],
    );
    let url = format!("pulsar://127.0.0.1:{}", gateway.port);
    (operator, secret, gateway, url)
}

fn produce(python: &str, url: &str, credential: &[&str]) -> serde_json::Value {
    let mut args = vec![url];
    args.extend_from_slice(credential);
    Client::start(python, &script("pulsar_client.py"), &args).ask(&format!("produce {TOPIC}"))
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
    let (_, writer) = operator.api_key(&[
        "--service-account",
        "orders",
        "--resource",
        TENANT,
        "--format",
        "jwt",
        "--permission",
        "produce",
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
        &example("pulsar_gateway"),
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
    // Each is told at once, as an authentication error with the client-facing reason (which
    // the client library logs; its exception has the error's kind only), not left to time out.
    for (bad, reason, told) in [
        (expired.as_str(), "expired", "the credential has expired"),
        (elsewhere.trim(), "audience", "authentication failed"),
        (forever.trim(), "exp", "authentication failed"),
    ] {
        let mut client = Client::start(&python, &script("pulsar_client.py"), &[&url, bad]);
        let asked = std::time::Instant::now();
        let answer = client.ask(&format!("produce {TOPIC}"));
        assert_eq!(answer["ok"], false, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains("AuthenticationError"), "{answer}");
        assert!(answer["logged"].to_string().contains(&format!("msg: {told}")), "{answer}");
        assert!(asked.elapsed() < Duration::from_secs(2), "refused after {:?}", asked.elapsed());
        gateway.expect(reason, Duration::from_secs(10));
    }

    // A JWT API key: accepted, then refused after revocation, its open connection closed.
    let mut client = Client::start(&python, &script("pulsar_client.py"), &[&url, &jwt]);
    assert_eq!(client.ask(&format!("produce {TOPIC}"))["ok"], true);
    gateway.expect(&format!("key {jwt_id}"), Duration::from_secs(5));
    let answer = produce(&python, &url, &[&reader]);
    assert_eq!(answer["ok"], false, "{answer}");
    gateway.expect("Produce on persistent://acme/orders/events refused", Duration::from_secs(5));
    // Subscriptions: an authorized one is refused plainly (the example stores nothing to
    // deliver), an unauthorized one as such; neither is left to time out.
    for (key, error, logged) in [
        (&reader, "NotAllowed", "stores no messages"),
        (&writer, "AuthorizationError", "the credential does not permit consume"),
    ] {
        let mut consumer = Client::start(&python, &script("pulsar_client.py"), &[&url, key]);
        let asked = std::time::Instant::now();
        let answer = consumer.ask(&format!("subscribe {TOPIC}"));
        assert_eq!(answer["ok"], false, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains(error), "{answer}");
        assert!(asked.elapsed() < Duration::from_secs(2), "refused after {:?}", asked.elapsed());
        gateway.expect(logged, Duration::from_secs(5));
    }
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
    let (operator, secret, mut gateway, url) = gateway_trusting_a_secret_key();

    // pulsar-client advertises supports_auth_refresh: challenged at expiry, it answers with the
    // token its supplier reads now, and carries on.
    let token_file = operator.path("token");
    std::fs::write(&token_file, token_expiring_at(&operator, now() + 3)).unwrap();
    let mut client = Client::start(
        &python,
        &script("pulsar_client.py"),
        &[&url, "--token-file", token_file.to_str().unwrap()],
    );
    assert_eq!(client.ask(&format!("produce {TOPIC}"))["ok"], true);
    // Several refreshes on the one connection, each with the token the supplier reads then.
    for _ in 0..2 {
        // Two seconds past the current token's end, at the least: a token already expired
        // when it is asked for would end the session.
        std::fs::write(&token_file, token_expiring_at(&operator, now() + 5)).unwrap();
        gateway.expect("asking the client to refresh", Duration::from_secs(10));
        gateway.expect("refreshed its token as orders", Duration::from_secs(10));
        assert_eq!(client.ask(&format!("produce {TOPIC}"))["ok"], true);
    }
    let fresh =
        operator.keygate(&["token", "create", "--secret-key", &secret, "-s", "orders", "-e", "1h"]);
    std::fs::write(&token_file, fresh.trim()).unwrap();
    gateway.expect("asking the client to refresh", Duration::from_secs(10));
    gateway.expect("refreshed its token as orders", Duration::from_secs(10));
    assert_eq!(client.ask(&format!("produce {TOPIC}"))["ok"], true);
    let reopened = gateway.drain().iter().filter(|line| line.contains(": opened from")).count();
    assert_eq!(reopened, 0, "the client reconnected instead of refreshing");

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

#[test]
fn a_public_key_from_key_pair_create_works_without_naming_its_algorithm() {
    let Some(python) = python(
        "gateways::pulsar::a_public_key_from_key_pair_create_works_without_naming_its_algorithm",
    ) else {
        return;
    };
    let operator = Operator::new();
    let (private, public) = (operator.path("es256.key"), operator.path("es256.pub"));
    operator.keygate(&[
        "key-pair",
        "create",
        "-a",
        "ES256",
        "--output-private-key",
        private.to_str().unwrap(),
        "--output-public-key",
        public.to_str().unwrap(),
    ]);
    // Neither the token nor the gateway is told the algorithm: the key says it.
    let private = format!("file://{}", private.display());
    let token = operator.keygate(&[
        "token",
        "create",
        "--private-key",
        &private,
        "-s",
        "orders",
        "-e",
        "1h",
    ]);
    operator.keygate(&["service-account", "create", "orders"]);
    let store = operator.store();
    let public = format!("file://{}", public.display());
    let mut gateway = Gateway::start(
        &example("pulsar_gateway"),
        &["--store", &store, "--resource", TENANT, "--public-key", &public],
    );
    let url = format!("pulsar://127.0.0.1:{}", gateway.port);
    let answer = produce(&python, &url, &[token.trim()]);
    assert_eq!(answer["ok"], true, "{answer}");
    gateway.expect("authenticated as orders (a token", Duration::from_secs(5));
    drop(gateway);

    // Naming the wrong one says which to name.
    let output = std::process::Command::new(example("pulsar_gateway"))
        .args(["--store", &store, "--resource", TENANT, "--public-key", &public, "-a", "RS256"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("an EC P-256 key") && stderr.contains("ES256"), "{stderr}");
}

#[test]
fn a_static_token_that_expires_ends_its_connection_after_one_challenge() {
    let Some(python) = python(
        "gateways::pulsar::a_static_token_that_expires_ends_its_connection_after_one_challenge",
    ) else {
        return;
    };
    let (operator, _, mut gateway, url) = gateway_trusting_a_secret_key();

    // The client answers every challenge with the one token it has, which has expired (though
    // still inside the verifier's clock-skew leeway, which a session never gets): the first
    // answer ends the connection, and its reconnections are refused at once.
    let expires = now() + 3;
    let token = token_expiring_at(&operator, expires);
    let mut client = Client::start(&python, &script("pulsar_client.py"), &[&url, &token]);
    assert_eq!(client.ask(&format!("produce {TOPIC}"))["ok"], true);
    let lines = gateway.lines_until("closed: refresh failed: expired", Duration::from_secs(10));
    let ended = now();
    assert!(ended <= expires + 2, "the connection ended {}s after its token", ended - expires);
    let challenges =
        lines.iter().filter(|line| line.contains("asking the client to refresh")).count();
    assert!((1..10).contains(&challenges), "{challenges} challenges: {lines:#?}");
    drop(client);
}

#[test]
fn topics_are_authorized_by_tenant_in_every_form_pulsar_accepts() {
    let Some(python) =
        python("gateways::pulsar::topics_are_authorized_by_tenant_in_every_form_pulsar_accepts")
    else {
        return;
    };
    let operator = Operator::new();
    operator.keygate(&["service-account", "create", "orders"]);
    operator.keygate(&["signing-key", "create"]);
    let (_, key) =
        operator.api_key(&["--service-account", "orders", "--resource", TENANT, "--format", "jwt"]);
    let (_, namespace_key) = operator.api_key(&[
        "--service-account",
        "orders",
        "--resource",
        "pulsar-namespace/acme/orders",
        "--format",
        "jwt",
    ]);
    let store = operator.store();
    let mut gateway =
        Gateway::start(&example("pulsar_gateway"), &["--store", &store, "--resource", TENANT]);
    let url = format!("pulsar://127.0.0.1:{}", gateway.port);

    // A key for one namespace connects to the tenant's gateway and reaches that namespace only.
    let mut narrow = Client::start(&python, &script("pulsar_client.py"), &[&url, &namespace_key]);
    for (topic, admitted) in
        [("persistent://acme/orders/events", true), ("persistent://acme/billing/events", false)]
    {
        let produced = narrow.ask(&format!("produce {topic}"));
        assert_eq!(produced["ok"], admitted, "produce {topic} with the namespace key: {produced}");
    }
    drop(narrow);

    let mut client = Client::start(&python, &script("pulsar_client.py"), &[&url, &key]);

    // (topic, admitted): a key scoped to pulsar-tenant/acme covers acme's topics however they
    // are written, and nothing else; the bare name means public/default.
    let table = [
        ("persistent://acme/orders/events", true),
        ("non-persistent://acme/orders/events", true),
        ("acme/orders/events", true),
        ("persistent://acme/orders/events-partition-2", true),
        ("persistent://other/ns/t", false),
        ("non-persistent://other/ns/t", false),
        ("other/ns/t", false),
        ("t", false),
    ];
    for (topic, admitted) in table {
        let produced = client.ask(&format!("produce {topic}"));
        assert_eq!(produced["ok"], admitted, "produce {topic}: {produced}");
        let subscribed = client.ask(&format!("subscribe {topic}"));
        assert_eq!(subscribed["ok"], false, "subscribe {topic}: {subscribed}");
        let expected = if admitted { "NotAllowed" } else { "AuthorizationError" };
        let error = subscribed["error"].as_str().unwrap();
        assert!(error.contains(expected), "subscribe {topic}: {subscribed}");
        if !admitted {
            let error = produced["error"].as_str().unwrap();
            assert!(error.contains("AuthorizationError"), "produce {topic}: {produced}");
        }
    }
    gateway.expect(
        "refused: the gateway serves pulsar-tenant/acme, not tenant other",
        Duration::from_secs(5),
    );
    drop(client);
}

/// What a client names (a topic, a subscription) reaches the operator's log escaped: a newline
/// cannot forge a line, a NUL cannot make the log binary, and every line carries its time.
#[test]
fn client_text_cannot_forge_or_corrupt_log_lines() {
    let (operator, secret, mut gateway, _url) = gateway_trusting_a_secret_key();
    let token =
        operator.keygate(&["token", "create", "--secret-key", &secret, "-s", "orders", "-e", "1h"]);
    let mut stream = TcpStream::connect(("127.0.0.1", gateway.port)).unwrap();
    let mut connect = BaseCommand::of(command::CONNECT);
    connect.connect = Some(CommandConnect {
        client_version: "raw-test-client".to_owned(),
        auth_method_name: Some("token".to_owned()),
        auth_data: Some(token.trim().as_bytes().to_vec()),
        protocol_version: Some(19),
        feature_flags: None,
    });
    stream.write_all(&connect.to_frame()).unwrap();
    let forged = "\n2026-12-07T00:00:00Z connection 1: authenticated as admin (key x)\0";
    let mut producer = BaseCommand::of(command::PRODUCER);
    producer.producer = Some(keygate_wire::pulsar::proto::CommandProducer {
        topic: format!("persistent://other/orders/events{forged}"),
        producer_id: 1,
        request_id: 1,
        producer_name: None,
    });
    stream.write_all(&producer.to_frame()).unwrap();
    let mut subscribe = BaseCommand::of(command::SUBSCRIBE);
    subscribe.subscribe = Some(keygate_wire::pulsar::proto::CommandSubscribe {
        topic: TOPIC.to_owned(),
        subscription: format!("readers{forged}"),
        sub_type: 0,
        consumer_id: 1,
        request_id: 2,
    });
    stream.write_all(&subscribe.to_frame()).unwrap();

    let lines = gateway.lines_until("subscription readers", Duration::from_secs(10));
    assert!(lines.iter().any(|line| line.contains("refused")), "{lines:#?}");
    for line in &lines {
        let stamp = line.split(' ').next().unwrap();
        let stamped = stamp.len() >= 20 && stamp.as_bytes()[4] == b'-' && stamp.ends_with('Z');
        assert!(stamped, "a line without its time: {line:?}");
        assert!(!line.contains('\0'), "a NUL in the log: {line:?}");
        assert!(!line.contains(" 2026-12-07T00:00:00Z connection 1"), "{line:?}");
    }
    let forged_lines = lines.iter().filter(|l| l.starts_with("2026-12-07T00:00:00Z")).count();
    assert_eq!(forged_lines, 0, "a forged line: {lines:#?}");
}
