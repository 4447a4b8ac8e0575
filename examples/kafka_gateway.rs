//! A Kafka-protocol gateway that real Kafka clients authenticate against with keygate API keys.
//!
//! A stand-in for a broker, to show authentication end to end: it keeps no log. It speaks just
//! enough Kafka to be produced to: ApiVersions, SaslHandshake and SaslAuthenticate (PLAIN with
//! opaque keys, OAUTHBEARER with JWT API keys, and KIP-368 re-authentication), Metadata (itself
//! as the only broker, its cluster id the resource it serves), InitProducerId (for idempotent
//! producers) and Produce (acknowledged and **discarded**; TOPIC_AUTHORIZATION_FAILED for a key
//! that may not produce). Codecs come from the `kafka-protocol` crate.
//!
//! ```sh
//! cargo run -p keygate-examples --example kafka_gateway -- \
//!     --store ~/.local/share/keygate/keygate.db --resource kafka-cluster/lkc-abc123
//! ```
//!
//! It is built on `keygate-tokio`: it syncs from the store every 100 ms, closes a connection
//! whose key is revoked, and holds unauthenticated clients to the pre-authentication limits
//! (`--limit auth-deadline=5s` and the like change them).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use clap::Parser;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, BrokerId, InitProducerIdRequest,
    InitProducerIdResponse, MetadataRequest, MetadataResponse, ProduceRequest, ProduceResponse,
    ProducerId, RequestHeader, ResponseHeader, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use keygate::core::{Expiry, Permission, ResourceRef, Span};
use keygate::{AuthConfig, AuthError, Identity};
use keygate_tokio::{Connection, Event, FrameReader, Limits, Server, ServerConfig};
use keygate_wire::{OAuthBearerServer, PlainMessage, SessionLifetime, WireError};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// A Kafka gateway authenticating with keygate API keys.
#[derive(Debug, Parser)]
struct Args {
    /// The keygate store (a SQLite path or a postgres:// URL), as the keygate command uses it.
    #[arg(long, env = "KEYGATE_STORE")]
    store: String,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:9092")]
    listen: SocketAddr,
    /// The cluster this gateway is, as kafka-cluster/ID; its ID is the cluster id clients see.
    #[arg(long)]
    resource: ResourceRef,
    /// The longest a session lasts before the client must re-authenticate (KIP-368), like
    /// connections.max.reauth.ms; sessions never outlive their key either way.
    #[arg(long)]
    max_session: Option<Span>,
    /// A connection limit, NAME=VALUE: max-connections, auth-deadline, max-frame-before-auth,
    /// max-frame or idle-timeout. Repeat for several.
    #[arg(long = "limit", value_name = "NAME=VALUE")]
    limits: Vec<String>,
}

/// Error codes from the Kafka protocol.
const NONE: i16 = 0;
const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
const ILLEGAL_SASL_STATE: i16 = 34;
const UNSUPPORTED_VERSION: i16 = 35;
const SASL_AUTHENTICATION_FAILED: i16 = 58;

/// The largest request accepted once authenticated: enough for a produce batch.
const MAX_REQUEST: usize = 8 * 1024 * 1024;

/// The APIs and versions served: those the gateway handles, within what kafka-protocol codes.
const SUPPORTED: [(ApiKey, i16, i16); 6] = [
    (ApiKey::Produce, 3, 11),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::SaslHandshake, 1, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
];

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let mut auth = AuthConfig::default();
    if let Some(max) = args.max_session {
        auth = auth.with_max_session(max);
    }
    let limits = args
        .limits
        .iter()
        .try_fold(Limits::default().with_max_frame(MAX_REQUEST), |l, s| l.with_setting(s))
        .map_err(|e| format!("--limit: {e}"))?;
    let config = ServerConfig::default().with_auth(auth).with_limits(limits).on_sync(|outcome| {
        if let Err(error) = outcome {
            println!("sync failed (the authenticator keeps its state): {error}");
        }
    });
    let server = Server::open(&args.store, args.resource.clone(), config)
        .await
        .map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "kafka_gateway: listening on {address} as {}; a stand-in broker: records are \
         acknowledged and discarded",
        server.resource()
    );
    let address = Arc::new(address);
    loop {
        let (stream, peer) = listener.accept().await.map_err(|e| format!("accept failed: {e}"))?;
        let Some(connection) = server.admit() else {
            println!(
                "connection from {peer} refused: {} connections open",
                server.open_connections()
            );
            continue;
        };
        let address = Arc::clone(&address);
        tokio::spawn(async move {
            let id = connection.id();
            println!("connection {id}: opened from {peer}");
            let reason = serve(stream, connection, *address).await;
            println!("connection {id}: closed: {reason}");
        });
    }
}

/// Serves one connection until it ends, and says why it ended.
async fn serve(stream: TcpStream, connection: Connection, address: SocketAddr) -> String {
    let (reader, mut writer) = stream.into_split();
    let mut frames = FrameReader::new(reader);
    let mut session = Session::new(connection, address);
    loop {
        let frame = match session.connection.next(&mut frames).await {
            Ok(Event::Frame(frame)) => frame,
            Ok(Event::SessionExpired) => {
                return "the session expired without re-authenticating".to_owned();
            }
            Ok(_) => continue,
            Err(ending) => return ending.to_string(),
        };
        match session.handle(frame) {
            Ok(reply) => {
                if let Some(response) = reply.response
                    && let Err(error) = writer.write_all(&response).await
                {
                    return format!("write failed: {error}");
                }
                if let Some(reason) = reply.close {
                    return reason;
                }
            }
            Err(reason) => return reason,
        }
    }
}

/// The mechanism chosen by SaslHandshake.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Mechanism {
    Plain,
    OAuthBearer,
}

/// Where a connection is in authenticating.
#[derive(Debug)]
enum Exchange {
    /// No SASL exchange under way.
    Idle,
    /// SaslHandshake chose a mechanism; SaslAuthenticate comes next.
    Started(Mechanism),
    /// An OAUTHBEARER token was refused and the error challenge sent; the client's %x01 and the
    /// failure come next.
    Challenged(OAuthBearerServer, Refusal),
}

/// Why authentication failed: the message was refused before any credential was checked, or
/// the credential was.
#[derive(Debug)]
enum Refusal {
    Wire(WireError),
    Auth(AuthError),
}

impl Refusal {
    fn client_message(&self) -> &'static str {
        match self {
            Refusal::Wire(error) => error.client_message(),
            Refusal::Auth(error) => error.client_message(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Wire(error) => error.fmt(f),
            Refusal::Auth(error) => error.fmt(f),
        }
    }
}

/// What handling a request produced.
#[derive(Debug, Default)]
struct Reply {
    response: Option<BytesMut>,
    close: Option<String>,
}

/// One connection's protocol state.
struct Session {
    connection: Connection,
    address: SocketAddr,
    exchange: Exchange,
    next_offset: i64,
}

impl Session {
    fn new(connection: Connection, address: SocketAddr) -> Session {
        Session { connection, address, exchange: Exchange::Idle, next_offset: 0 }
    }

    fn handle(&mut self, mut frame: Bytes) -> Result<Reply, String> {
        let api_key = ApiKey::try_from(frame.clone().get_i16())
            .map_err(|()| "an unknown API key".to_owned())?;
        let version = frame.clone().get_i16_at(2);
        let header = RequestHeader::decode(&mut frame, api_key.request_header_version(version))
            .map_err(|e| format!("a malformed request header: {e}"))?;
        let correlation = header.correlation_id;
        let Some(&(_, min, max)) = SUPPORTED.iter().find(|(key, _, _)| *key == api_key) else {
            return Err(format!("{api_key:?} is not served here"));
        };
        if api_key == ApiKey::ApiVersions {
            return self.api_versions(&mut frame, correlation, version, min, max);
        }
        if !(min..=max).contains(&version) {
            return Err(format!("{api_key:?} v{version} is not served here"));
        }
        let authenticated = self.connection.identity().is_some();
        match api_key {
            ApiKey::SaslHandshake => {
                let request = decode::<SaslHandshakeRequest>(&mut frame, version)?;
                self.handshake(&request, correlation, version)
            }
            ApiKey::SaslAuthenticate => {
                let request = decode::<SaslAuthenticateRequest>(&mut frame, version)?;
                self.authenticate(&request, correlation, version)
            }
            _ if !authenticated => Err(format!("{api_key:?} before authenticating")),
            _ if matches!(self.exchange, Exchange::Started(_) | Exchange::Challenged(..)) => {
                Err(format!("{api_key:?} in the middle of re-authenticating"))
            }
            ApiKey::Metadata => {
                let request = decode::<MetadataRequest>(&mut frame, version)?;
                Ok(self.metadata(&request, correlation, version))
            }
            ApiKey::Produce => {
                let request = decode::<ProduceRequest>(&mut frame, version)?;
                Ok(self.produce(&request, correlation, version))
            }
            ApiKey::InitProducerId => {
                // Idempotent producers (the default of today's clients) ask for an id first; any
                // id does for a gateway that keeps no log.
                decode::<InitProducerIdRequest>(&mut frame, version)?;
                let response = InitProducerIdResponse::default()
                    .with_producer_id(ProducerId(
                        i64::try_from(self.connection.id().0).unwrap_or(i64::MAX),
                    ))
                    .with_producer_epoch(0);
                Ok(respond(ApiKey::InitProducerId, version, correlation, &response))
            }
            _ => Err(format!("{api_key:?} is not served here")),
        }
    }

    fn api_versions(
        &self,
        frame: &mut Bytes,
        correlation: i32,
        version: i16,
        min: i16,
        max: i16,
    ) -> Result<Reply, String> {
        let api_keys = SUPPORTED
            .iter()
            .map(|&(key, min, max)| {
                ApiVersion::default()
                    .with_api_key(key as i16)
                    .with_min_version(min)
                    .with_max_version(max)
            })
            .collect();
        // A version too new for us: answer in v0 with the versions we have, as brokers do.
        if !(min..=max).contains(&version) {
            let response = ApiVersionsResponse::default()
                .with_error_code(UNSUPPORTED_VERSION)
                .with_api_keys(api_keys);
            return Ok(respond(ApiKey::ApiVersions, 0, correlation, &response));
        }
        decode::<ApiVersionsRequest>(frame, version)?;
        let response = ApiVersionsResponse::default().with_api_keys(api_keys);
        Ok(respond(ApiKey::ApiVersions, version, correlation, &response))
    }

    fn handshake(
        &mut self,
        request: &SaslHandshakeRequest,
        correlation: i32,
        version: i16,
    ) -> Result<Reply, String> {
        let mechanisms =
            vec![StrBytes::from_static_str("PLAIN"), StrBytes::from_static_str("OAUTHBEARER")];
        let mechanism = match request.mechanism.as_str() {
            "PLAIN" => Some(Mechanism::Plain),
            "OAUTHBEARER" => Some(Mechanism::OAuthBearer),
            _ => None,
        };
        let in_exchange = !matches!(self.exchange, Exchange::Idle);
        let error = match mechanism {
            _ if in_exchange => ILLEGAL_SASL_STATE,
            None => UNSUPPORTED_SASL_MECHANISM,
            Some(mechanism) => {
                self.exchange = Exchange::Started(mechanism);
                NONE
            }
        };
        let response =
            SaslHandshakeResponse::default().with_error_code(error).with_mechanisms(mechanisms);
        let mut reply = respond(ApiKey::SaslHandshake, version, correlation, &response);
        if error != NONE {
            reply.close = Some(format!("SaslHandshake refused with error {error}"));
        }
        Ok(reply)
    }

    fn authenticate(
        &mut self,
        request: &SaslAuthenticateRequest,
        correlation: i32,
        version: i16,
    ) -> Result<Reply, String> {
        let exchange = std::mem::replace(&mut self.exchange, Exchange::Idle);
        let previous = self.connection.identity().cloned();
        let server = self.connection.server().clone();
        let outcome = match exchange {
            Exchange::Idle => return Err("SaslAuthenticate without SaslHandshake".to_owned()),
            Exchange::Started(Mechanism::Plain) => {
                PlainMessage::parse(&request.auth_bytes).map_err(Refusal::Wire).and_then(|plain| {
                    let identity =
                        server.authenticate(&plain.credential(), None).map_err(Refusal::Auth)?;
                    plain.finish(identity, previous.as_ref()).map_err(Refusal::Wire)
                })
            }
            Exchange::Started(Mechanism::OAuthBearer) => {
                let mut bearer = OAuthBearerServer::new();
                let result = bearer.initial(&request.auth_bytes).map_err(Refusal::Wire).and_then(
                    |initial| {
                        let identity = server
                            .authenticate(&initial.credential(), None)
                            .map_err(Refusal::Auth)?;
                        initial.finish(identity, previous.as_ref()).map_err(Refusal::Wire)
                    },
                );
                if let Err(refusal) = result {
                    // RFC 7628: the error challenge first; the failure after the client's %x01.
                    let challenge = Bytes::from_static(bearer.reject());
                    self.exchange = Exchange::Challenged(bearer, refusal);
                    let response = SaslAuthenticateResponse::default().with_auth_bytes(challenge);
                    return Ok(respond(ApiKey::SaslAuthenticate, version, correlation, &response));
                }
                result
            }
            Exchange::Challenged(mut bearer, refusal) => {
                let _ = bearer.after_challenge(&request.auth_bytes);
                Err(refusal)
            }
        };
        let outcome = outcome.and_then(|identity| {
            self.connection.established(identity.clone()).map_err(Refusal::Auth)?;
            Ok(identity)
        });
        match outcome {
            Ok(identity) => {
                Ok(self.authenticated(&identity, previous.is_some(), correlation, version))
            }
            Err(refusal) => {
                let response = SaslAuthenticateResponse::default()
                    .with_error_code(SASL_AUTHENTICATION_FAILED)
                    .with_error_message(Some(StrBytes::from_static_str(refusal.client_message())));
                let mut reply = respond(ApiKey::SaslAuthenticate, version, correlation, &response);
                reply.close = Some(format!("authentication failed: {refusal}"));
                Ok(reply)
            }
        }
    }

    fn authenticated(
        &mut self,
        identity: &Identity,
        again: bool,
        correlation: i32,
        version: i16,
    ) -> Reply {
        let lifetime = SessionLifetime::of(identity, self.connection.server().now());
        println!(
            "connection {}: {} as {} with key {} (session lifetime {} ms)",
            self.connection.id(),
            if again { "re-authenticated" } else { "authenticated" },
            identity.principal(),
            identity.key_id().map_or_else(|| "-".to_owned(), |k| k.to_string()),
            lifetime.session_lifetime_ms
        );
        // The client is told the lifetime to the millisecond; the session ends then.
        if let Expiry::At(_) = lifetime.ends {
            let ms = u64::try_from(lifetime.session_lifetime_ms).unwrap_or(0);
            self.connection.set_deadline(Some(Instant::now() + Duration::from_millis(ms)));
        }
        let mut response = SaslAuthenticateResponse::default();
        if version >= 1 {
            response = response.with_session_lifetime_ms(lifetime.session_lifetime_ms);
        }
        respond(ApiKey::SaslAuthenticate, version, correlation, &response)
    }

    fn metadata(&self, request: &MetadataRequest, correlation: i32, version: i16) -> Reply {
        let broker = MetadataResponseBroker::default()
            .with_node_id(BrokerId(1))
            .with_host(StrBytes::from_string(self.address.ip().to_string()))
            .with_port(i32::from(self.address.port()));
        let topics = request
            .topics
            .iter()
            .flatten()
            .filter_map(|topic| topic.name.clone())
            .map(|name| {
                let partition = MetadataResponsePartition::default()
                    .with_partition_index(0)
                    .with_leader_id(BrokerId(1))
                    .with_replica_nodes(vec![BrokerId(1)])
                    .with_isr_nodes(vec![BrokerId(1)]);
                MetadataResponseTopic::default()
                    .with_name(Some(name))
                    .with_partitions(vec![partition])
            })
            .collect();
        let mut response =
            MetadataResponse::default().with_brokers(vec![broker]).with_topics(topics);
        if version >= 1 {
            response = response.with_controller_id(BrokerId(1));
        }
        if version >= 2 {
            response = response.with_cluster_id(Some(StrBytes::from_string(
                self.connection.server().resource().id().to_owned(),
            )));
        }
        respond(ApiKey::Metadata, version, correlation, &response)
    }

    fn produce(&mut self, request: &ProduceRequest, correlation: i32, version: i16) -> Reply {
        // The key's permissions, checked per request as a broker's authorizer would.
        let allowed = self
            .connection
            .identity()
            .is_some_and(|identity| identity.permits(&Permission::PRODUCE));
        let responses = request
            .topic_data
            .iter()
            .map(|topic| {
                let partitions = topic
                    .partition_data
                    .iter()
                    .map(|partition| {
                        let response =
                            PartitionProduceResponse::default().with_index(partition.index);
                        if allowed {
                            let offset = self.next_offset;
                            self.next_offset += 1;
                            response.with_base_offset(offset)
                        } else {
                            response
                                .with_error_code(TOPIC_AUTHORIZATION_FAILED)
                                .with_base_offset(-1)
                        }
                    })
                    .collect();
                TopicProduceResponse::default()
                    .with_name(topic.name.clone())
                    .with_partition_responses(partitions)
            })
            .collect();
        if !allowed {
            println!(
                "connection {}: produce refused: the key may not produce",
                self.connection.id()
            );
        }
        if request.acks == 0 {
            return Reply::default();
        }
        let response = ProduceResponse::default().with_responses(responses);
        respond(ApiKey::Produce, version, correlation, &response)
    }
}

fn decode<T: Decodable>(frame: &mut Bytes, version: i16) -> Result<T, String> {
    T::decode(frame, version).map_err(|e| format!("a malformed request: {e}"))
}

/// A size-prefixed response to the request `correlation`.
fn respond<T: Encodable + HeaderVersion>(
    api_key: ApiKey,
    version: i16,
    correlation: i32,
    body: &T,
) -> Reply {
    let header = ResponseHeader::default().with_correlation_id(correlation);
    let mut buffer = BytesMut::new();
    buffer.put_i32(0);
    let encoded = header
        .encode(&mut buffer, api_key.response_header_version(version))
        .and_then(|()| body.encode(&mut buffer, version));
    if let Err(error) = encoded {
        return Reply {
            response: None,
            close: Some(format!("cannot encode a {api_key:?} response: {error}")),
        };
    }
    let size = i32::try_from(buffer.len() - 4).unwrap_or(i32::MAX);
    buffer[..4].copy_from_slice(&size.to_be_bytes());
    Reply { response: Some(buffer), close: None }
}

/// Reading a big-endian i16 at an offset of a frame without consuming it.
trait PeekI16 {
    fn get_i16_at(self, offset: usize) -> i16;
}

impl PeekI16 for Bytes {
    fn get_i16_at(mut self, offset: usize) -> i16 {
        if self.len() < offset + 2 {
            return -1;
        }
        self.advance(offset);
        self.get_i16()
    }
}
