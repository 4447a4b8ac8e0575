//! Tansu, the proxy and the clients, as child processes; and a raw Kafka client for what real
//! clients will not do.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::{
    ApiKey, MetadataRequest, RequestHeader, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
pub(crate) use keygate_testkit::process::{
    Client, Gateway, Operator, Tansu, closed_within, connect, connect_from, free_port, python,
};

/// The cluster the proxy fronts in every test.
pub(crate) const CLUSTER: &str = "kafka-cluster/lkc-proxy";

/// The Tansu binary, or `None` (having said so) without one. `scripts/test` installs it.
pub(crate) fn tansu(test: &str) -> Option<String> {
    keygate_testkit::external("KEYGATE_TANSU", test)
}

/// Python and Tansu both, or `None`.
pub(crate) fn externals(test: &str) -> Option<(String, String)> {
    Some((python(test)?, tansu(test)?))
}

/// The proxy in front of `tansu`, keys from `operator`'s store, with `extra` arguments.
pub(crate) fn proxy(operator: &Operator, tansu: &Tansu, extra: &[&str]) -> Gateway {
    let store = operator.store();
    let upstream = tansu.address();
    let mut args = vec!["--store", &store, "--resource", CLUSTER, "--upstream", &upstream];
    args.extend_from_slice(extra);
    Gateway::start(Path::new(env!("CARGO_BIN_EXE_keygate-kafka-proxy")), &args)
}

/// A Python Kafka client of `library` for the proxy at `port`: `credentials` are the mechanism
/// (PLAIN or OAUTHBEARER) and what it takes, then optionally a CA file for SASL_SSL.
pub(crate) fn client(python: &str, library: &str, port: u16, credentials: &[&str]) -> Client {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/kafka_client.py");
    let bootstrap = format!("127.0.0.1:{port}");
    let mut args = vec![library, &bootstrap];
    args.extend_from_slice(credentials);
    Client::start(python, &script, &args)
}

/// A store with one service account, `orders`.
pub(crate) fn operator() -> Operator {
    let operator = Operator::new();
    operator.keygate(&["service-account", "create", "orders"]);
    operator
}

/// A key of `orders` for `CLUSTER` with `extra` arguments (`--permission`, `--format jwt`).
pub(crate) fn key(operator: &Operator, extra: &[&str]) -> (String, String) {
    let mut args = vec!["--service-account", "orders", "--resource", CLUSTER];
    args.extend_from_slice(extra);
    operator.api_key(&args)
}

/// One Kafka request: the size, the header, the body.
pub(crate) fn send<T: Encodable>(
    stream: &mut TcpStream,
    api: ApiKey,
    version: i16,
    correlation: i32,
    body: &T,
) {
    let header = RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation)
        .with_client_id(Some(StrBytes::from_static_str("proxy-test")));
    let mut buffer = BytesMut::new();
    buffer.put_i32(0);
    header.encode(&mut buffer, api.request_header_version(version)).unwrap();
    body.encode(&mut buffer, version).unwrap();
    let size = i32::try_from(buffer.len() - 4).unwrap();
    buffer[..4].copy_from_slice(&size.to_be_bytes());
    stream.write_all(&buffer).unwrap();
}

/// One response's body, past its size and correlation id (header v0 for the APIs used here).
pub(crate) fn receive(stream: &mut TcpStream) -> bytes::Bytes {
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).unwrap();
    let mut body = vec![0u8; usize::try_from(i32::from_be_bytes(size)).unwrap()];
    stream.read_exact(&mut body).unwrap();
    bytes::Bytes::from(body).split_off(4)
}

/// A good client: SASL/PLAIN with the key, as Kafka clients do it. Returns the stream,
/// authenticated.
pub(crate) fn authenticate(port: u16, id: &str, secret: &str) -> TcpStream {
    let mut stream = connect(port);
    let response = sasl_plain(&mut stream, id, secret, 1);
    assert_eq!(response.error_code, 0, "{:?}", response.error_message);
    stream
}

/// SaslHandshake and SaslAuthenticate with PLAIN on `stream` (correlation ids `first` and
/// `first + 1`): the answer to the second.
pub(crate) fn sasl_plain(
    stream: &mut TcpStream,
    id: &str,
    secret: &str,
    first: i32,
) -> SaslAuthenticateResponse {
    sasl(stream, "PLAIN", keygate_wire::encode_plain(id, secret), first)
}

/// SaslHandshake for `mechanism` and SaslAuthenticate with `message` on `stream` (correlation
/// ids `first` and `first + 1`): the answer to the second.
pub(crate) fn sasl(
    stream: &mut TcpStream,
    mechanism: &'static str,
    message: Vec<u8>,
    first: i32,
) -> SaslAuthenticateResponse {
    let handshake =
        SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism));
    send(stream, ApiKey::SaslHandshake, 1, first, &handshake);
    receive(stream);
    let request = SaslAuthenticateRequest::default().with_auth_bytes(message.into());
    send(stream, ApiKey::SaslAuthenticate, 1, first + 1, &request);
    SaslAuthenticateResponse::decode(&mut receive(stream), 1).unwrap()
}

/// Sends a Metadata request (v4, the first the proxy offers) and reads the answer: proof the
/// connection still works.
pub(crate) fn still_served(stream: &mut TcpStream, correlation: i32) {
    send(stream, ApiKey::Metadata, 4, correlation, &MetadataRequest::default());
    assert!(!receive(stream).is_empty());
}

/// The proxy's metrics page.
pub(crate) fn scrape(port: u16) -> String {
    let mut stream = connect(port);
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text
}
