//! A Kafka-protocol gateway that real Kafka clients authenticate against with keygate API keys.
//!
//! It speaks just enough Kafka to be produced to: ApiVersions, SaslHandshake and
//! SaslAuthenticate (PLAIN with opaque keys, OAUTHBEARER with JWT API keys, and KIP-368
//! re-authentication), Metadata (itself as the only broker, its cluster id the resource it
//! serves), InitProducerId (for idempotent producers) and Produce (acknowledged, records discarded; TOPIC_AUTHORIZATION_FAILED for a key
//! that may not produce). Codecs come from the `kafka-protocol` crate.
//!
//! ```sh
//! cargo run -p keygate-examples --example kafka_gateway -- \
//!     --store ~/.local/share/keygate/keygate.db --resource kafka-cluster/lkc-abc123
//! ```
//!
//! It syncs from the store every 100 ms and closes a connection whose key is revoked.

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
use keygate::core::{Clock, Expiry, Permission, ResourceRef, Span, SystemClock};
use keygate::{AuthConfig, Identity};
use keygate_examples::{Broker, Connection, Control, until};
use keygate_wire::{OAuthBearerServer, PlainMessage, SessionLifetime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
}

/// Error codes from the Kafka protocol.
const NONE: i16 = 0;
const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
const ILLEGAL_SASL_STATE: i16 = 34;
const UNSUPPORTED_VERSION: i16 = 35;
const SASL_AUTHENTICATION_FAILED: i16 = 58;

/// The largest request accepted: enough for a produce batch, small enough to bound memory.
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
    let broker = Broker::start(
        &args.store,
        args.resource.clone(),
        AuthConfig::default(),
        Duration::from_millis(100),
    )
    .await?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("kafka_gateway: listening on {address} as {}", broker.resource());
    let settings = Arc::new(Settings { address, max_session: args.max_session });
    loop {
        let (stream, peer) = listener.accept().await.map_err(|e| format!("accept failed: {e}"))?;
        let (broker, settings) = (Arc::clone(&broker), Arc::clone(&settings));
        tokio::spawn(async move {
            let connection = broker.connect();
            let id = connection.id;
            println!("connection {id}: opened from {peer}");
            let reason = serve(stream, &broker, connection, &settings).await;
            broker.closed(id);
            println!("connection {id}: closed: {reason}");
        });
    }
}

/// What every connection needs to know about the gateway.
#[derive(Debug)]
struct Settings {
    address: SocketAddr,
    max_session: Option<Span>,
}

/// Serves one connection until it ends, and says why it ended.
async fn serve(
    mut stream: TcpStream,
    broker: &Broker,
    mut connection: Connection,
    settings: &Settings,
) -> String {
    let mut session = Session::new(connection.id, broker, settings);
    loop {
        let deadline = session.deadline();
        tokio::select! {
            frame = read_frame(&mut stream) => {
                let frame = match frame {
                    Ok(Some(frame)) => frame,
                    Ok(None) => return "the client hung up".to_owned(),
                    Err(reason) => return reason,
                };
                match session.handle(frame) {
                    Ok(reply) => {
                        if let Some(response) = reply.response
                            && let Err(error) = stream.write_all(&response).await
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
            control = connection.controls.recv() => match control {
                Some(Control::Close(reason)) => return reason,
                Some(Control::Deadline(at)) => session.shorten(at),
                None => return "the gateway is shutting down".to_owned(),
            },
            () = sleep_until(deadline) => return "the session expired without re-authenticating".to_owned(),
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Reads one size-prefixed request; `None` when the client closed the connection.
async fn read_frame(stream: &mut TcpStream) -> Result<Option<Bytes>, String> {
    let mut size = [0u8; 4];
    match stream.read_exact(&mut size).await {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(format!("read failed: {error}")),
    }
    let size = usize::try_from(i32::from_be_bytes(size))
        .map_err(|_| "a negative request size".to_owned())?;
    if !(8..=MAX_REQUEST).contains(&size) {
        return Err(format!("a request of {size} bytes"));
    }
    let mut body = vec![0u8; size];
    stream.read_exact(&mut body).await.map_err(|e| format!("read failed: {e}"))?;
    Ok(Some(Bytes::from(body)))
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
    Challenged(OAuthBearerServer, String),
}

/// What handling a request produced.
#[derive(Debug, Default)]
struct Reply {
    response: Option<BytesMut>,
    close: Option<String>,
}

/// One connection's protocol state.
struct Session<'b> {
    id: keygate::SessionId,
    broker: &'b Broker,
    settings: &'b Settings,
    identity: Option<Identity>,
    /// When the session ends unless re-authenticated, to the millisecond the client was told.
    ends: Option<Instant>,
    exchange: Exchange,
    next_offset: i64,
}

impl<'b> Session<'b> {
    fn new(id: keygate::SessionId, broker: &'b Broker, settings: &'b Settings) -> Session<'b> {
        Session {
            id,
            broker,
            settings,
            identity: None,
            ends: None,
            exchange: Exchange::Idle,
            next_offset: 0,
        }
    }

    /// When the session must end unless re-authenticated; none before authentication.
    fn deadline(&self) -> Option<Instant> {
        self.ends
    }

    /// The key's expiry moved to `at`: the session ends by then.
    fn shorten(&mut self, at: keygate::core::Timestamp) {
        let at = Instant::now() + until(at);
        self.ends = Some(self.ends.map_or(at, |ends| ends.min(at)));
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
        let authenticated = self.identity.is_some();
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
                    .with_producer_id(ProducerId(i64::try_from(self.id.0).unwrap_or(i64::MAX)))
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
        let outcome = match exchange {
            Exchange::Idle => return Err("SaslAuthenticate without SaslHandshake".to_owned()),
            Exchange::Started(Mechanism::Plain) => match PlainMessage::parse(&request.auth_bytes) {
                Ok(plain) => self
                    .broker
                    .authenticate(&plain.credential(), None)
                    .map_err(|e| (e.client_message().to_owned(), e.to_string())),
                Err(error) => Err(("authentication failed".to_owned(), error.to_string())),
            },
            Exchange::Started(Mechanism::OAuthBearer) => {
                let mut server = OAuthBearerServer::new();
                let result = match server.initial(&request.auth_bytes) {
                    Ok(initial) => match self.broker.authenticate(&initial.credential(), None) {
                        Ok(identity)
                            if initial
                                .authzid()
                                .is_some_and(|a| a != identity.principal().as_str()) =>
                        {
                            Err("the authorization identity is not the token's principal"
                                .to_owned())
                        }
                        Ok(identity) => Ok(identity),
                        Err(error) => Err(error.to_string()),
                    },
                    Err(error) => Err(error.to_string()),
                };
                match result {
                    Ok(identity) => Ok(identity),
                    Err(reason) => {
                        // RFC 7628: the error challenge first; the failure after the client's %x01.
                        let challenge = Bytes::from_static(server.reject());
                        self.exchange = Exchange::Challenged(server, reason);
                        let response =
                            SaslAuthenticateResponse::default().with_auth_bytes(challenge);
                        return Ok(respond(
                            ApiKey::SaslAuthenticate,
                            version,
                            correlation,
                            &response,
                        ));
                    }
                }
            }
            Exchange::Challenged(mut server, reason) => {
                let _ = server.after_challenge(&request.auth_bytes);
                Err(("authentication failed".to_owned(), reason))
            }
        };
        match outcome {
            Ok(identity) => self.authenticated(identity, correlation, version),
            Err((client, operator)) => {
                let response = SaslAuthenticateResponse::default()
                    .with_error_code(SASL_AUTHENTICATION_FAILED)
                    .with_error_message(Some(StrBytes::from_string(client)));
                let mut reply = respond(ApiKey::SaslAuthenticate, version, correlation, &response);
                reply.close = Some(format!("authentication failed: {operator}"));
                Ok(reply)
            }
        }
    }

    fn authenticated(
        &mut self,
        identity: Identity,
        correlation: i32,
        version: i16,
    ) -> Result<Reply, String> {
        if let Some(previous) = &self.identity
            && previous.principal() != identity.principal()
        {
            // KIP-368: re-authentication may not change who the connection is.
            let response = SaslAuthenticateResponse::default()
                .with_error_code(SASL_AUTHENTICATION_FAILED)
                .with_error_message(Some(StrBytes::from_static_str(
                    "re-authentication must keep the principal",
                )));
            let mut reply = respond(ApiKey::SaslAuthenticate, version, correlation, &response);
            reply.close = Some("re-authentication changed the principal".to_owned());
            return Ok(reply);
        }
        let lifetime = SessionLifetime::of(&identity, SystemClock.now(), self.settings.max_session);
        let again = if self.identity.is_some() { "re-authenticated" } else { "authenticated" };
        println!(
            "connection {}: {again} as {} with key {} (session lifetime {} ms)",
            self.id,
            identity.principal(),
            identity.key_id().map_or_else(|| "-".to_owned(), |k| k.to_string()),
            lifetime.session_lifetime_ms
        );
        self.ends = match lifetime.ends {
            Expiry::Never => None,
            Expiry::At(_) => {
                let ms = u64::try_from(lifetime.session_lifetime_ms).unwrap_or(0);
                Some(Instant::now() + Duration::from_millis(ms))
            }
        };
        self.broker.established(self.id, identity.clone());
        self.identity = Some(identity);
        let mut response = SaslAuthenticateResponse::default();
        if version >= 1 {
            response = response.with_session_lifetime_ms(lifetime.session_lifetime_ms);
        }
        Ok(respond(ApiKey::SaslAuthenticate, version, correlation, &response))
    }

    fn metadata(&self, request: &MetadataRequest, correlation: i32, version: i16) -> Reply {
        let broker = MetadataResponseBroker::default()
            .with_node_id(BrokerId(1))
            .with_host(StrBytes::from_string(self.settings.address.ip().to_string()))
            .with_port(i32::from(self.settings.address.port()));
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
                self.broker.resource().id().to_owned(),
            )));
        }
        respond(ApiKey::Metadata, version, correlation, &response)
    }

    fn produce(&mut self, request: &ProduceRequest, correlation: i32, version: i16) -> Reply {
        // The key's permissions, checked per request as a broker's authorizer would.
        let allowed =
            self.identity.as_ref().is_some_and(|identity| identity.permits(&Permission::PRODUCE));
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
            println!("connection {}: produce refused: the key may not produce", self.id);
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
