//! The limits before authentication, held by the gateways built on keygate-tokio: each test
//! opens the connections or sends the frames a hostile client would, sees them closed, and sees
//! a good client authenticate meanwhile.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::{
    ApiKey, MetadataRequest, RequestHeader, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use super::support::{Gateway, Operator};

const CLUSTER: &str = "kafka-cluster/lkc-limits";

/// A store with one service account and a key for `CLUSTER`.
fn operator_with_key() -> (Operator, String, String) {
    let operator = Operator::new();
    operator.keygate(&["service-account", "create", "orders"]);
    let (id, secret) = operator.api_key(&["--service-account", "orders", "--resource", CLUSTER]);
    (operator, id, secret)
}

fn kafka_gateway(operator: &Operator, limits: &[&str]) -> Gateway {
    let store = operator.store();
    let mut args = vec!["--store", store.as_str(), "--resource", CLUSTER];
    for limit in limits {
        args.extend(["--limit", limit]);
    }
    Gateway::start("kafka_gateway", &args)
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

/// Whether the server closed `stream` (reading gives end of file or a reset) before `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => !matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

/// One Kafka request: the size, the header, the body.
fn send<T: Encodable>(
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
        .with_client_id(Some(StrBytes::from_static_str("limits-test")));
    let mut buffer = BytesMut::new();
    buffer.put_i32(0);
    header.encode(&mut buffer, api.request_header_version(version)).unwrap();
    body.encode(&mut buffer, version).unwrap();
    let size = i32::try_from(buffer.len() - 4).unwrap();
    buffer[..4].copy_from_slice(&size.to_be_bytes());
    stream.write_all(&buffer).unwrap();
}

/// One response's body, past its size and correlation id (header v0 for the APIs used here).
fn receive(stream: &mut TcpStream) -> bytes::Bytes {
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).unwrap();
    let mut body = vec![0u8; usize::try_from(i32::from_be_bytes(size)).unwrap()];
    stream.read_exact(&mut body).unwrap();
    bytes::Bytes::from(body).split_off(4)
}

/// A good client: SASL/PLAIN with the key, as Kafka clients do it. Returns the stream,
/// authenticated.
fn authenticate(port: u16, id: &str, secret: &str) -> TcpStream {
    let mut stream = connect(port);
    let handshake =
        SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN"));
    send(&mut stream, ApiKey::SaslHandshake, 1, 1, &handshake);
    receive(&mut stream);
    let message = keygate_wire::encode_plain(id, secret);
    let request = SaslAuthenticateRequest::default().with_auth_bytes(message.into());
    send(&mut stream, ApiKey::SaslAuthenticate, 1, 2, &request);
    let response = SaslAuthenticateResponse::decode(&mut receive(&mut stream), 1).unwrap();
    assert_eq!(response.error_code, 0, "{:?}", response.error_message);
    stream
}

/// Sends a Metadata request and reads the answer: proof the connection still works.
fn still_served(stream: &mut TcpStream, correlation: i32) {
    send(stream, ApiKey::Metadata, 1, correlation, &MetadataRequest::default());
    assert!(!receive(stream).is_empty());
}

/// The resident memory of a process, in bytes.
fn resident(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[test]
fn connections_over_the_cap_are_closed_at_once() {
    let (operator, id, secret) = operator_with_key();
    let mut gateway = kafka_gateway(&operator, &["max-connections=20", "auth-deadline=2s"]);
    let mut held: Vec<TcpStream> = (0..20).map(|_| connect(gateway.port)).collect();
    gateway.expect("connection 20: opened", Duration::from_secs(5));

    let mut over = connect(gateway.port);
    assert!(closed_within(&mut over, Duration::from_secs(2)), "a 21st connection stayed open");
    gateway.expect("refused: 20 connections open", Duration::from_secs(5));

    // The auth deadline frees the places the idle strangers held; a good client gets one.
    for stream in &mut held {
        assert!(closed_within(stream, Duration::from_secs(5)), "an idle stranger stayed open");
    }
    let mut good = authenticate(gateway.port, &id, &secret);
    still_served(&mut good, 3);
}

#[test]
fn clients_that_do_not_authenticate_in_time_are_closed_and_good_ones_stay() {
    let (operator, id, secret) = operator_with_key();
    let mut gateway = kafka_gateway(&operator, &["auth-deadline=1s"]);
    let started = Instant::now();
    let mut idle: Vec<TcpStream> = (0..50).map(|_| connect(gateway.port)).collect();
    // A stranger that starts a frame and never finishes it is no better.
    let mut slow = connect(gateway.port);
    slow.write_all(&[0, 0, 0, 100, 0, 17]).unwrap();
    let mut good = authenticate(gateway.port, &id, &secret);

    for stream in idle.iter_mut().chain([&mut slow]) {
        assert!(closed_within(stream, Duration::from_secs(5)), "a stranger stayed open");
    }
    assert!(started.elapsed() >= Duration::from_millis(900), "closed before the deadline");
    gateway.expect("did not authenticate within 1s", Duration::from_secs(5));
    // The client that authenticated is past the deadline and still served.
    std::thread::sleep(Duration::from_millis(1200).saturating_sub(started.elapsed()));
    still_served(&mut good, 3);
}

#[test]
fn frames_larger_than_the_pre_authentication_limit_are_refused_before_they_are_buffered() {
    let (operator, id, secret) = operator_with_key();
    let mut gateway = kafka_gateway(&operator, &[]);
    let pid = gateway.pid();
    let before = resident(pid);

    // 40 strangers each declare an 8 MiB request and send a megabyte of it.
    let chunk = vec![0u8; 1024 * 1024];
    let mut strangers = Vec::new();
    for _ in 0..40 {
        let mut stream = connect(gateway.port);
        stream.write_all(&(8u32 * 1024 * 1024).to_be_bytes()).unwrap();
        // The gateway may already have closed it; what it holds is what matters.
        let _ = stream.write_all(&chunk);
        strangers.push(stream);
    }
    for stream in &mut strangers {
        assert!(closed_within(stream, Duration::from_secs(5)), "an oversized frame was waited for");
    }
    gateway
        .expect("a frame of 8388608 bytes, more than the 524288 allowed", Duration::from_secs(5));
    let grown = resident(pid).saturating_sub(before);
    assert!(grown < 32 * 1024 * 1024, "the gateway grew by {grown} bytes for 40 refused frames");

    // A good client's SASL frames are well under the limit.
    let mut good = authenticate(gateway.port, &id, &secret);
    still_served(&mut good, 3);
}

#[test]
fn idle_connections_are_closed_and_busy_ones_are_not() {
    let (operator, id, secret) = operator_with_key();
    let mut gateway = kafka_gateway(&operator, &["idle-timeout=2s", "auth-deadline=30s"]);
    let mut stranger = connect(gateway.port);
    let mut quiet = authenticate(gateway.port, &id, &secret);
    let mut busy = authenticate(gateway.port, &id, &secret);

    let started = Instant::now();
    let mut correlation = 3;
    while started.elapsed() < Duration::from_secs(3) {
        still_served(&mut busy, correlation);
        correlation += 1;
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(closed_within(&mut stranger, Duration::from_secs(3)), "an idle stranger stayed open");
    assert!(closed_within(&mut quiet, Duration::from_secs(3)), "an idle client stayed open");
    gateway.expect("idle for 2s", Duration::from_secs(5));
    still_served(&mut busy, correlation);
}
