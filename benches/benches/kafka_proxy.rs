//! The Kafka proxy's data path beside the same client going straight to the broker, in the same
//! run: produce and consume throughput, and produce latency (p50, p99) on each path.
//!
//! The broker is Tansu with in-memory storage, started here (`KEYGATE_TANSU`, or the copy
//! `scripts/tansu` installs); the proxy runs in this process on its own tokio runtime, as
//! `keygate-kafka-proxy` would, with a key from a SQLite store. The client is a plain blocking
//! Kafka client written with `kafka-protocol`: it sends pre-encoded record batches, so the
//! figures are the broker's and the proxy's, not a client library's.
//!
//! Each figure alternates the two paths three times, each path going first in turn, and keeps
//! the median of each, so that a noisy neighbour (and a broker whose in-memory log grows as the
//! bench produces) weighs on both alike. The machine has 2 cores: the client, the proxy and the
//! broker share them, and on the direct path the proxy's core share goes to the other two.
//!
//! Run: `cargo bench -p keygate-benches --bench kafka_proxy`. The figures are printed and
//! written to `target/keygate-bench/kafka_proxy.json` for the summary.

// Bench setup panics on failure; there is nobody to report an error to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreateTopicsRequest, FetchRequest, FetchResponse, ProduceRequest,
    ProduceResponse, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use keygate::core::{PrincipalId, ResourceRef, Scope};
use keygate::{Actor, KeyManager, NewKey, NewPrincipal};
use keygate_kafka_proxy::{Proxy, ProxyConfig};
use keygate_store_sql::SqlStore;
use keygate_testkit::process::Tansu;

const CLUSTER: &str = "kafka-cluster/lkc-bench";
/// Versions the proxy offers and Tansu speaks.
const PRODUCE_VERSION: i16 = 9;
const FETCH_VERSION: i16 = 11;
/// Requests in flight on a connection during the throughput runs.
const PIPELINE: usize = 8;

fn main() {
    // `cargo bench` passes `--bench`; anything else wants it quick.
    let quick = !std::env::args().any(|arg| arg == "--bench");
    let Some(tansu) = tansu_binary() else {
        println!("kafka_proxy: no Tansu (set KEYGATE_TANSU or run scripts/tansu); skipped");
        return;
    };
    let (window, rounds, samples) = if quick {
        (Duration::from_millis(200), 1, 200)
    } else {
        (Duration::from_secs(2), 3, 2000)
    };
    let broker = Tansu::start(&tansu);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("keygate.db").display().to_string();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (id, secret) = runtime.block_on(key(&store));
    let upstream = format!("127.0.0.1:{}", broker.port);
    let config = ProxyConfig::new(
        &store,
        CLUSTER.parse().unwrap(),
        "127.0.0.1:0".parse().unwrap(),
        &upstream,
    );
    let proxy = runtime.block_on(Proxy::start(config)).unwrap();
    let direct = || Conn::open(broker.port);
    let proxied = || {
        let mut conn = Conn::open(proxy.address().port());
        conn.authenticate(&id, &secret);
        conn
    };

    let batch = record_batch(64, 1024);
    let small = record_batch(1, 100);
    let mut figures = serde_json::Map::new();
    let mut record = |name: &str, direct: Vec<f64>, proxied: Vec<f64>| {
        let (direct, proxied) = (median(direct), median(proxied));
        println!(
            "{name}: direct {direct:.0}, through the proxy {proxied:.0} ({:.3}x)",
            proxied / direct
        );
        figures.insert(format!("{name}_direct"), direct.into());
        figures.insert(format!("{name}_proxy"), proxied.into());
        (direct, proxied)
    };

    let paths = Paths { direct: &direct, proxied: &proxied };
    let (d, p): (Vec<f64>, Vec<f64>) = (0..rounds)
        .map(|round| {
            paths.both(round, |conn| produce_throughput(conn, &paths.new_topic(), &batch, window))
        })
        .unzip();
    record("produce_bytes_per_second", d, p);

    // Fetched: a topic of 16 batches (1 MiB), read from the start again and again.
    let fetched = paths.new_topic();
    let mut filler = direct();
    for _ in 0..16 {
        filler.send(ApiKey::Produce, PRODUCE_VERSION, &produce_request(&fetched, &batch));
        let _: ProduceResponse = filler.receive(ApiKey::Produce, PRODUCE_VERSION);
    }
    let (d, p): (Vec<f64>, Vec<f64>) = (0..rounds)
        .map(|round| paths.both(round, |conn| fetch_throughput(conn, &fetched, window)))
        .unzip();
    record("consume_bytes_per_second", d, p);

    let (mut d50, mut d99, mut p50, mut p99) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (direct, proxied) =
            paths.both(round, |conn| produce_latency(conn, &paths.new_topic(), &small, samples));
        d50.push(direct.0);
        d99.push(direct.1);
        p50.push(proxied.0);
        p99.push(proxied.1);
    }
    record("produce_p50_ns", d50, p50);
    let (direct99, proxied99) = record("produce_p99_ns", d99, p99);
    let added = proxied99 - direct99;
    println!("added p99 produce latency: {:.3} ms", added / 1e6);
    figures.insert("produce_p99_added_ns".into(), added.into());
    drop(proxy);
    if !quick {
        keygate_benches::write_figures("kafka_proxy.json", &figures);
    }
}

/// How to open a connection on each path.
struct Paths<'a> {
    direct: &'a dyn Fn() -> Conn,
    proxied: &'a dyn Fn() -> Conn,
}

impl Paths<'_> {
    /// `run` on a fresh connection of each path, (direct, proxied); the direct path goes first
    /// in even rounds and second in odd ones.
    fn both<T>(&self, round: usize, mut run: impl FnMut(&mut Conn) -> T) -> (T, T) {
        if round.is_multiple_of(2) {
            let direct = run(&mut (self.direct)());
            (direct, run(&mut (self.proxied)()))
        } else {
            let proxied = run(&mut (self.proxied)());
            (run(&mut (self.direct)()), proxied)
        }
    }

    /// A new topic of one partition: each run produces into its own, so that no run pays for
    /// the log an earlier one left in the broker's memory.
    fn new_topic(&self) -> TopicName {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = TopicName(StrBytes::from_string(format!("bench-{n}")));
        (self.direct)().create_topic(&name);
        name
    }
}

/// Bytes per second of record batches over `window`, with `PIPELINE` produce requests in flight.
fn produce_throughput(conn: &mut Conn, topic: &TopicName, batch: &Bytes, window: Duration) -> f64 {
    let request = produce_request(topic, batch);
    let started = Instant::now();
    let mut sent = 0usize;
    let mut answered = 0usize;
    while started.elapsed() < window || answered < sent {
        while sent - answered < PIPELINE && started.elapsed() < window {
            conn.send(ApiKey::Produce, PRODUCE_VERSION, &request);
            sent += 1;
        }
        let response: ProduceResponse = conn.receive(ApiKey::Produce, PRODUCE_VERSION);
        let error = response.responses[0].partition_responses[0].error_code;
        assert_eq!(error, 0, "produce failed");
        answered += 1;
    }
    (answered * batch.len()) as f64 / started.elapsed().as_secs_f64()
}

/// Bytes of records per second fetched from the start of the topic over `window`.
fn fetch_throughput(conn: &mut Conn, topic: &TopicName, window: Duration) -> f64 {
    let request = fetch_request(topic);
    let started = Instant::now();
    let mut sent = 0usize;
    let mut answered = 0usize;
    let mut bytes = 0usize;
    while started.elapsed() < window || answered < sent {
        while sent - answered < PIPELINE / 2 && started.elapsed() < window {
            conn.send(ApiKey::Fetch, FETCH_VERSION, &request);
            sent += 1;
        }
        let response: FetchResponse = conn.receive(ApiKey::Fetch, FETCH_VERSION);
        let partition = &response.responses[0].partitions[0];
        assert_eq!(partition.error_code, 0, "fetch failed");
        bytes += partition.records.as_ref().map_or(0, Bytes::len);
        answered += 1;
    }
    assert!(bytes > 0, "nothing fetched");
    let elapsed = started.elapsed();
    println!(
        "  {answered} fetches in {elapsed:.2?}, {} bytes each, {:.2?} each",
        bytes / answered,
        elapsed / u32::try_from(answered).unwrap_or(u32::MAX)
    );
    bytes as f64 / elapsed.as_secs_f64()
}

/// p50 and p99 of one-record produce round trips, in nanoseconds.
fn produce_latency(
    conn: &mut Conn,
    topic: &TopicName,
    batch: &Bytes,
    samples: usize,
) -> (f64, f64) {
    let request = produce_request(topic, batch);
    let mut times: Vec<u128> = (0..samples)
        .map(|_| {
            let started = Instant::now();
            conn.send(ApiKey::Produce, PRODUCE_VERSION, &request);
            let _: ProduceResponse = conn.receive(ApiKey::Produce, PRODUCE_VERSION);
            started.elapsed().as_nanos()
        })
        .collect();
    times.sort_unstable();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)] as f64;
    (at(0.50), at(0.99))
}

fn produce_request(topic: &TopicName, batch: &Bytes) -> ProduceRequest {
    let partition = PartitionProduceData::default().with_index(0).with_records(Some(batch.clone()));
    let topic =
        TopicProduceData::default().with_name(topic.clone()).with_partition_data(vec![partition]);
    ProduceRequest::default().with_acks(1).with_timeout_ms(5000).with_topic_data(vec![topic])
}

fn fetch_request(topic: &TopicName) -> FetchRequest {
    let partition = FetchPartition::default()
        .with_partition(0)
        .with_fetch_offset(0)
        .with_partition_max_bytes(1024 * 1024);
    let topic = FetchTopic::default().with_topic(topic.clone()).with_partitions(vec![partition]);
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(1024 * 1024)
        .with_topics(vec![topic])
}

/// One record batch of `count` records of `size` bytes, uncompressed.
fn record_batch(count: usize, size: usize) -> Bytes {
    let value = Bytes::from(vec![b'k'; size]);
    let records: Vec<Record> = (0..count)
        .map(|offset| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: offset as i64,
            sequence: -1,
            timestamp: 1_767_225_600_000,
            key: None,
            value: Some(value.clone()),
            headers: Default::default(),
        })
        .collect();
    let mut buffer = BytesMut::new();
    let options = RecordEncodeOptions { version: 2, compression: Compression::None };
    RecordBatchEncoder::encode(&mut buffer, &records, &options).unwrap();
    buffer.freeze()
}

/// A store with one key for `CLUSTER`: its id and secret.
async fn key(store: &str) -> (String, String) {
    let store = Arc::new(SqlStore::open_location(store).await.unwrap());
    let manager = KeyManager::new(store);
    let actor = Actor::new("bench:operator").unwrap();
    let owner: PrincipalId = "bench".parse().unwrap();
    manager.create_principal(&actor, NewPrincipal::service_account(owner.clone())).await.unwrap();
    let cluster: ResourceRef = CLUSTER.parse().unwrap();
    let issued =
        manager.create_key(&actor, NewKey::new(owner, Scope::Resource(cluster))).await.unwrap();
    (issued.record.id().to_string(), issued.secret.expose().to_owned())
}

fn tansu_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KEYGATE_TANSU") {
        return Some(path.into());
    }
    let home = std::env::var_os("HOME")?;
    let cached = PathBuf::from(home).join(".cache/keygate/tansu-0.6.0/bin/tansu");
    cached.exists().then_some(cached)
}

/// A blocking Kafka connection.
struct Conn {
    stream: TcpStream,
    correlation: i32,
    buffer: BytesMut,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn { stream, correlation: 0, buffer: BytesMut::new() }
    }

    fn send<T: Encodable + HeaderVersion>(&mut self, api: ApiKey, version: i16, body: &T) {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(api as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("bench")));
        self.buffer.clear();
        self.buffer.put_i32(0);
        header.encode(&mut self.buffer, api.request_header_version(version)).unwrap();
        body.encode(&mut self.buffer, version).unwrap();
        let size = i32::try_from(self.buffer.len() - 4).unwrap();
        self.buffer[..4].copy_from_slice(&size.to_be_bytes());
        self.stream.write_all(&self.buffer).unwrap();
    }

    fn receive<T: Decodable>(&mut self, api: ApiKey, version: i16) -> T {
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).unwrap();
        let mut frame = vec![0u8; usize::try_from(i32::from_be_bytes(size)).unwrap()];
        self.stream.read_exact(&mut frame).unwrap();
        let mut frame = Bytes::from(frame);
        ResponseHeader::decode(&mut frame, api.response_header_version(version)).unwrap();
        T::decode(&mut frame, version).unwrap()
    }

    fn authenticate(&mut self, id: &str, secret: &str) {
        let handshake =
            SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN"));
        self.send(ApiKey::SaslHandshake, 1, &handshake);
        let _: kafka_protocol::messages::SaslHandshakeResponse =
            self.receive(ApiKey::SaslHandshake, 1);
        let message = keygate_wire::encode_plain(id, secret);
        let request = SaslAuthenticateRequest::default().with_auth_bytes(message.into());
        self.send(ApiKey::SaslAuthenticate, 2, &request);
        let response: SaslAuthenticateResponse = self.receive(ApiKey::SaslAuthenticate, 2);
        assert_eq!(response.error_code, 0, "authentication failed");
    }

    fn create_topic(&mut self, name: &TopicName) {
        let topic = CreatableTopic::default()
            .with_name(name.clone())
            .with_num_partitions(1)
            .with_replication_factor(1);
        let request = CreateTopicsRequest::default().with_topics(vec![topic]).with_timeout_ms(5000);
        self.send(ApiKey::CreateTopics, 5, &request);
        let _: kafka_protocol::messages::CreateTopicsResponse =
            self.receive(ApiKey::CreateTopics, 5);
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
