//! A Pulsar binary-protocol gateway that real Pulsar clients authenticate against with keygate
//! API keys, and optionally with Pulsar-style tokens signed with the operator's own key.
//!
//! An authentication and authorization front, not a broker: it stores no messages. It handles
//! CONNECT with token auth, PING/PONG, PARTITIONED_METADATA, LOOKUP (answering with itself),
//! PRODUCER, SEND (receipts; payloads **discarded**), CLOSE_PRODUCER, and SUBSCRIBE (authorized,
//! then refused with a clear error, since there is nothing to deliver), and refreshes
//! authentication (PIP-55): when a session's token expires, a client that advertised
//! `supports_auth_refresh` gets AUTH_CHALLENGE and must answer with a fresh token; any other
//! client is disconnected. Built on `keygate-tokio`: a revoked key's connections are closed at the
//! next sync, and unauthenticated clients are held to the pre-authentication limits
//! (`--limit NAME=VALUE` changes them).
//!
//! ```sh
//! cargo run -p keygate-examples --example pulsar_gateway -- \
//!     --store ~/.local/share/keygate/keygate.db --resource pulsar-tenant/acme \
//!     --secret-key file:///path/to/hs256.key
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use clap::Parser;
use keygate::core::{ResourceKind, ResourceRef, SigningAlgorithm};
use keygate::token::{KeyValue, VerificationKey, Verifier, VerifyOptions};
use keygate::{AuthConfig, ExternalTokens, Identity};
use keygate_tokio::{Connection, Event, FrameReader, Limits, Log, Server, ServerConfig, Untrusted};
use keygate_wire::pulsar::proto::{
    AuthData, BaseCommand, CommandAuthChallenge, CommandConnect, CommandConnected, CommandError,
    CommandLookupTopicResponse, CommandPartitionedTopicMetadataResponse, CommandPong,
    CommandProducerSuccess, CommandSendReceipt, CommandSuccess, MAX_FRAME, MessageIdData, command,
    decode_frame, server_error,
};
use keygate_wire::pulsar::topic::{Topic, TopicAction, authorize};
use keygate_wire::pulsar::{REFRESH_CHALLENGE, SessionEnd, TOKEN_METHOD, TokenAuth};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// The operator's log: timestamped lines, refusals held to a budget.
static LOG: LazyLock<Arc<Log>> = LazyLock::new(|| Arc::new(Log::new()));

macro_rules! log {
    ($($line:tt)*) => { LOG.line(format_args!($($line)*)) };
}

macro_rules! refusal {
    ($($line:tt)*) => { LOG.refusal(format_args!($($line)*)) };
}

/// A Pulsar gateway authenticating with keygate API keys and Pulsar-style tokens.
#[derive(Debug, Parser)]
struct Args {
    /// The keygate store (a SQLite path or a postgres:// URL), as the keygate command uses it.
    #[arg(long, env = "KEYGATE_STORE")]
    store: String,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:6650")]
    listen: SocketAddr,
    /// The tenant (or cluster) this gateway is, as pulsar-tenant/NAME.
    #[arg(long)]
    resource: ResourceRef,
    /// Also admit tokens signed with this HMAC secret (like a broker's tokenSecretKey):
    /// file:///path, data:;base64,... or base64.
    #[arg(long, value_name = "KEY", conflicts_with = "public_key")]
    secret_key: Option<String>,
    /// Also admit tokens signed with this public key (like a broker's tokenPublicKey).
    #[arg(long, value_name = "KEY")]
    public_key: Option<String>,
    /// The algorithm of that key: HS256 for a secret key by default; a public key's own kind
    /// decides otherwise (ES256, ES384, EdDSA, or RS256 for RSA, where -a PS256 and the like
    /// choose another).
    #[arg(short = 'a', long)]
    algorithm: Option<SigningAlgorithm>,
    /// Admit such tokens without an expiry, as Pulsar brokers do; refused by default.
    #[arg(long)]
    allow_no_expiry: bool,
    /// A connection limit, NAME=VALUE: max-connections, max-strangers (connections still
    /// authenticating), max-strangers-per-address, auth-deadline, max-frame-before-auth,
    /// max-frame or idle-timeout. Repeat for several.
    #[arg(long = "limit", value_name = "NAME=VALUE")]
    limits: Vec<String>,
}

/// The protocol version the gateway answers with, at most: v14 brought AUTH_CHALLENGE.
const PROTOCOL_VERSION: i32 = 19;
/// How long a challenged client has to answer with a fresh token.
const REFRESH_GRACE: Duration = Duration::from_secs(10);
/// The least time between two challenges on one connection, whatever the tokens say.
const CHALLENGE_INTERVAL: Duration = Duration::from_secs(1);

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let mut auth = AuthConfig::default();
    if let Some(external) = external_tokens(&args)? {
        auth = auth.with_external_tokens(external);
    }
    let limits = args
        .limits
        .iter()
        .try_fold(Limits::default().with_max_frame(MAX_FRAME), |l, s| l.with_setting(s))
        .map_err(|e| format!("--limit: {e}"))?;
    let config =
        ServerConfig::default().with_auth(auth).with_limits(limits).on_sync(LOG.sync_observer());
    let server = Server::open(&args.store, args.resource.clone(), config)
        .await
        .map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    log!(
        "pulsar_gateway: listening on pulsar://{address} as {}; an authentication and \
         authorization front, not a broker: messages are acknowledged and discarded, and \
         subscriptions refused",
        server.resource()
    );
    let service_url = Arc::new(format!("pulsar://{address}"));
    loop {
        let (stream, peer) = listener.accept().await.map_err(|e| format!("accept failed: {e}"))?;
        let connection = match server.admit(peer.ip()) {
            Ok(connection) => connection,
            Err(refused) => {
                refusal!("connection from {peer} refused: {refused}");
                continue;
            }
        };
        let service_url = Arc::clone(&service_url);
        tokio::spawn(async move {
            let id = connection.id();
            log!("connection {id}: opened from {peer}");
            let reason = serve(stream, connection, &service_url).await;
            log!("connection {id}: closed: {reason}");
        });
    }
}

/// The operator's own token key, if given, as an issuer the authenticator trusts.
fn external_tokens(args: &Args) -> Result<Option<ExternalTokens>, String> {
    let (value, secret) = match (&args.secret_key, &args.public_key) {
        (Some(value), _) => (value, true),
        (None, Some(value)) => (value, false),
        (None, None) => return Ok(None),
    };
    let bytes = match KeyValue::parse(value).map_err(|e| format!("the token key: {e}"))? {
        KeyValue::Inline(bytes) => bytes,
        KeyValue::File(path) => std::fs::File::open(&path)
            .and_then(KeyValue::read_capped)
            .map_err(|e| format!("{}: {e}", path.display()))?,
    };
    let key = if secret {
        VerificationKey::hmac(args.algorithm.unwrap_or(SigningAlgorithm::HS256), &bytes)
    } else {
        VerificationKey::from_public_bytes(&bytes, args.algorithm)
    }
    .map_err(|e| match e {
        keygate::token::Error::KeyAlgorithmMismatch { .. } => {
            format!("the token key: {e} (with -a)")
        }
        e => format!("the token key: {e}"),
    })?;
    let verifier = Verifier::new([Arc::new(key)]).map_err(|e| e.to_string())?;
    let mut options = VerifyOptions::default();
    if args.allow_no_expiry {
        options = options.allow_no_expiry();
    }
    Ok(Some(ExternalTokens::new(verifier, options)))
}

/// Serves one connection until it ends, and says why it ended.
async fn serve(stream: TcpStream, connection: Connection, service_url: &str) -> String {
    let (reader, mut writer) = stream.into_split();
    let mut frames = FrameReader::new(reader);
    let mut session = Session::new(connection, service_url);
    loop {
        let outcome = match session.connection.next(&mut frames).await {
            Ok(Event::Frame(frame)) => match decode_frame(&frame) {
                Ok(command) => session.handle(command),
                Err(error) => return error.to_string(),
            },
            Ok(Event::SessionExpired) => session.deadline_reached(),
            Ok(_) => continue,
            Err(ending) => return ending.to_string(),
        };
        for reply in &outcome.replies {
            if let Err(error) = writer.write_all(&reply.to_frame()).await {
                return format!("write failed: {error}");
            }
        }
        if let Some(reason) = outcome.close {
            return reason;
        }
    }
}

/// What handling a command or a deadline produced.
#[derive(Debug, Default)]
struct Outcome {
    replies: Vec<BaseCommand>,
    close: Option<String>,
}

impl Outcome {
    fn reply(command: BaseCommand) -> Outcome {
        Outcome { replies: vec![command], close: None }
    }

    fn close(reason: impl Into<String>) -> Outcome {
        Outcome { replies: Vec::new(), close: Some(reason.into()) }
    }
}

/// One connection's protocol state.
struct Session<'s> {
    connection: Connection,
    service_url: &'s str,
    supports_refresh: bool,
    /// What happens when the session's deadline passes.
    end: SessionEnd,
    /// Whether the client has been challenged and has yet to answer with a fresh token.
    challenged: bool,
    /// When the last challenge was sent.
    last_challenge: Option<Instant>,
    /// Why CONNECT was refused, in the client's words: told to the client in answer to its
    /// first request.
    refused: Option<&'static str>,
    producers: HashMap<u64, String>,
    next_entry: u64,
}

impl<'s> Session<'s> {
    fn new(connection: Connection, service_url: &'s str) -> Session<'s> {
        Session {
            connection,
            service_url,
            supports_refresh: false,
            end: SessionEnd::Never,
            challenged: false,
            last_challenge: None,
            refused: None,
            producers: HashMap::new(),
            next_entry: 0,
        }
    }

    /// The session's credential ran out, or a challenged client did not refresh in time.
    fn deadline_reached(&mut self) -> Outcome {
        if self.challenged {
            return Outcome::close("the client did not refresh its token in time");
        }
        match self.end {
            SessionEnd::Refresh(_) => {
                // However short the tokens a client supplies, it is not asked more than once a
                // second.
                if let Some(last) = self.last_challenge
                    && last.elapsed() < CHALLENGE_INTERVAL
                {
                    self.connection.set_deadline(Some(last + CHALLENGE_INTERVAL));
                    return Outcome::default();
                }
                self.last_challenge = Some(Instant::now());
                self.challenged = true;
                self.connection.set_deadline(Some(Instant::now() + REFRESH_GRACE));
                log!(
                    "connection {}: token expired; asking the client to refresh it",
                    self.connection.id()
                );
                let mut challenge = BaseCommand::of(command::AUTH_CHALLENGE);
                challenge.auth_challenge = Some(CommandAuthChallenge {
                    server_version: Some(server_version()),
                    challenge: Some(AuthData {
                        auth_method_name: Some(TOKEN_METHOD.to_owned()),
                        auth_data: Some(REFRESH_CHALLENGE.to_vec()),
                    }),
                    protocol_version: Some(PROTOCOL_VERSION),
                });
                Outcome::reply(challenge)
            }
            _ => Outcome::close("the token expired, and the client cannot refresh it"),
        }
    }

    fn handle(&mut self, request: BaseCommand) -> Outcome {
        if let Some(reason) = self.refused {
            return refusal(&request, reason);
        }
        if self.connection.identity().is_none() && request.r#type != command::CONNECT {
            return Outcome::close(format!("command {} before CONNECT", request.r#type));
        }
        match request.r#type {
            command::CONNECT => self.connect(&request),
            command::AUTH_RESPONSE => self.refresh(&request),
            command::PING => {
                let mut pong = BaseCommand::of(command::PONG);
                pong.pong = Some(CommandPong {});
                Outcome::reply(pong)
            }
            command::PONG => Outcome::default(),
            command::PARTITIONED_METADATA => {
                let Some(metadata) = request.partition_metadata else {
                    return Outcome::close("PARTITIONED_METADATA without its body");
                };
                let mut reply = BaseCommand::of(command::PARTITIONED_METADATA_RESPONSE);
                let mut response = CommandPartitionedTopicMetadataResponse {
                    partitions: Some(0),
                    request_id: metadata.request_id,
                    response: Some(0),
                    ..Default::default()
                };
                if let Err(refusal) = self.topic(&metadata.topic, TopicAction::Lookup) {
                    response = CommandPartitionedTopicMetadataResponse {
                        request_id: metadata.request_id,
                        response: Some(1),
                        error: Some(refusal.error),
                        message: Some(refusal.message),
                        ..Default::default()
                    };
                }
                reply.partition_metadata_response = Some(response);
                Outcome::reply(reply)
            }
            command::LOOKUP => {
                let Some(lookup) = request.lookup_topic else {
                    return Outcome::close("LOOKUP without its body");
                };
                let mut reply = BaseCommand::of(command::LOOKUP_RESPONSE);
                let mut response = CommandLookupTopicResponse {
                    broker_service_url: Some(self.service_url.to_owned()),
                    response: Some(1),
                    request_id: lookup.request_id,
                    authoritative: Some(true),
                    ..Default::default()
                };
                if let Err(refusal) = self.topic(&lookup.topic, TopicAction::Lookup) {
                    response = CommandLookupTopicResponse {
                        response: Some(2),
                        request_id: lookup.request_id,
                        error: Some(refusal.error),
                        message: Some(refusal.message),
                        ..Default::default()
                    };
                }
                reply.lookup_topic_response = Some(response);
                Outcome::reply(reply)
            }
            command::PRODUCER => self.producer(&request),
            command::SUBSCRIBE => self.subscribe(&request),
            command::SEND => {
                let Some(send) = request.send else {
                    return Outcome::close("SEND without its body");
                };
                if !self.producers.contains_key(&send.producer_id) {
                    return Outcome::close("SEND for a producer this connection did not open");
                }
                self.next_entry += 1;
                let mut receipt = BaseCommand::of(command::SEND_RECEIPT);
                receipt.send_receipt = Some(CommandSendReceipt {
                    producer_id: send.producer_id,
                    sequence_id: send.sequence_id,
                    message_id: Some(MessageIdData {
                        ledger_id: self.connection.id().0,
                        entry_id: self.next_entry,
                    }),
                    highest_sequence_id: send.highest_sequence_id,
                });
                Outcome::reply(receipt)
            }
            command::CLOSE_PRODUCER => {
                let Some(close) = request.close_producer else {
                    return Outcome::close("CLOSE_PRODUCER without its body");
                };
                self.producers.remove(&close.producer_id);
                let mut reply = BaseCommand::of(command::SUCCESS);
                reply.success = Some(CommandSuccess { request_id: close.request_id });
                Outcome::reply(reply)
            }
            other => Outcome::close(format!("command {other} is not served here")),
        }
    }

    fn connect(&mut self, request: &BaseCommand) -> Outcome {
        let Some(connect) = &request.connect else {
            return Outcome::close("CONNECT without its body");
        };
        if self.connection.identity().is_some() {
            return Outcome::close("a second CONNECT");
        }
        let method = connect.auth_method_name.as_deref().unwrap_or("none");
        let data = connect.auth_data.as_deref().unwrap_or_default();
        let identity = match self.authenticate(method, data) {
            Ok(identity) => identity,
            Err((client, operator)) => {
                // Pulsar's C++ client (and so the Python one) reads anything but CONNECTED here
                // as a dropped connection and retries until its operation times out. So the
                // refusal is answered to the client's first request instead, as an
                // AuthenticationError it reports at once and does not retry; until then the
                // connection is still unauthenticated, under the auth deadline, and serves
                // nothing.
                refusal!("connection {}: authentication failed: {operator}", self.connection.id());
                self.refused = Some(client);
                return Outcome::reply(connected(connect));
            }
        };
        self.supports_refresh = connect
            .feature_flags
            .as_ref()
            .and_then(|flags| flags.supports_auth_refresh)
            .unwrap_or(false);
        self.established(&identity, "authenticated");
        Outcome::reply(connected(connect))
    }

    /// An AUTH_RESPONSE: the fresh token after a challenge. It must authenticate, as the same
    /// principal; otherwise the connection ends.
    fn refresh(&mut self, request: &BaseCommand) -> Outcome {
        let Some(response) = request.auth_response.as_ref().and_then(|r| r.response.as_ref())
        else {
            return Outcome::close("AUTH_RESPONSE without auth data");
        };
        let method = response.auth_method_name.as_deref().unwrap_or("none");
        let data = response.auth_data.as_deref().unwrap_or_default();
        match self.authenticate(method, data) {
            Ok(identity) => {
                self.challenged = false;
                self.established(&identity, "refreshed its token");
                Outcome::default()
            }
            Err((_, operator)) => Outcome::close(format!("refresh failed: {operator}")),
        }
    }

    /// Parse, authenticate, finish, establish: the client's message and the operator's reason
    /// when any step refuses.
    fn authenticate(
        &mut self,
        method: &str,
        data: &[u8],
    ) -> Result<Identity, (&'static str, String)> {
        let auth =
            TokenAuth::parse(method, data).map_err(|e| (e.client_message(), e.to_string()))?;
        let server = self.connection.server();
        // A key for one of the tenant's namespaces connects too; each topic is authorized.
        let identity = server
            .authenticate_reaching_parts(&auth.credential())
            .map_err(|e| (e.client_message(), e.to_string()))?;
        let identity = auth
            .finish(identity, self.connection.identity())
            .map_err(|e| (e.client_message(), e.to_string()))?;
        self.connection
            .established(identity.clone())
            .map_err(|e| (e.client_message(), e.to_string()))?;
        Ok(identity)
    }

    fn established(&mut self, identity: &Identity, what: &str) {
        self.end = SessionEnd::of(identity, self.supports_refresh);
        log!(
            "connection {}: {what} as {} ({}; {})",
            self.connection.id(),
            identity.principal(),
            identity.key_id().map_or_else(|| "a token".to_owned(), |id| format!("key {id}")),
            match self.end {
                SessionEnd::Never => "the credential never expires".to_owned(),
                SessionEnd::Refresh(at) => format!("refresh at {at}"),
                SessionEnd::Disconnect(at) => format!("disconnect at {at}"),
                _ => String::new(),
            }
        );
    }

    /// Whether this connection may do `action` on the topic `name`, as a broker embedding
    /// keygate-wire decides it: the name read in whichever form it was given, the gateway's own
    /// tenant, the credential's scope and permission. A refusal is logged with its whole reason.
    fn topic(&self, name: &str, action: TopicAction) -> Result<(), TopicRefused> {
        let refused = |error, message: String, reason: String| {
            refusal!(
                "connection {}: {action:?} on {} refused: {reason}",
                self.connection.id(),
                Untrusted(name)
            );
            TopicRefused { error, message }
        };
        // The rule a name broke is the client's to know; the message never echoes the name.
        let topic = Topic::parse(name)
            .map_err(|e| refused(server_error::INVALID_TOPIC_NAME, e.to_string(), e.to_string()))?;
        let served = self.connection.server().resource();
        if served.is_kind(&ResourceKind::PULSAR_TENANT) && served.id() != topic.tenant() {
            return Err(refused(
                server_error::AUTHORIZATION_ERROR,
                "this gateway does not serve the topic's tenant".to_owned(),
                format!("the gateway serves {served}, not tenant {}", topic.tenant()),
            ));
        }
        let Some(identity) = self.connection.identity() else {
            return Err(refused(
                server_error::AUTHENTICATION_ERROR,
                "not authenticated".to_owned(),
                "no identity".to_owned(),
            ));
        };
        authorize(identity, &topic, action).map_err(|refusal| {
            refused(
                server_error::AUTHORIZATION_ERROR,
                refusal.client_message().to_owned(),
                refusal.to_string(),
            )
        })
    }

    /// A consumer: authorized as a broker would, then refused, because this example stores no
    /// messages to deliver; the client is told so rather than left waiting.
    fn subscribe(&mut self, request: &BaseCommand) -> Outcome {
        let Some(subscribe) = &request.subscribe else {
            return Outcome::close("SUBSCRIBE without its body");
        };
        let (error, message) = match self.topic(&subscribe.topic, TopicAction::Consume) {
            Ok(()) => (
                server_error::NOT_ALLOWED_ERROR,
                "this example gateway stores no messages: it authenticates and authorizes, and \
                 has nothing to deliver"
                    .to_owned(),
            ),
            Err(refusal) => (refusal.error, refusal.message),
        };
        refusal!(
            "connection {}: subscription {} on {} refused: {}",
            self.connection.id(),
            Untrusted(&subscribe.subscription),
            Untrusted(&subscribe.topic),
            Untrusted(&message)
        );
        let mut reply = BaseCommand::of(command::ERROR);
        reply.error = Some(CommandError { request_id: subscribe.request_id, error, message });
        Outcome::reply(reply)
    }

    fn producer(&mut self, request: &BaseCommand) -> Outcome {
        let Some(producer) = &request.producer else {
            return Outcome::close("PRODUCER without its body");
        };
        if let Err(refusal) = self.topic(&producer.topic, TopicAction::Produce) {
            let mut error = BaseCommand::of(command::ERROR);
            error.error = Some(CommandError {
                request_id: producer.request_id,
                error: refusal.error,
                message: refusal.message,
            });
            return Outcome::reply(error);
        }
        self.producers.insert(producer.producer_id, producer.topic.clone());
        let name = producer.producer_name.clone().unwrap_or_else(|| {
            format!("keygate-{}-{}", self.connection.id(), producer.producer_id)
        });
        let mut reply = BaseCommand::of(command::PRODUCER_SUCCESS);
        reply.producer_success = Some(CommandProducerSuccess {
            request_id: producer.request_id,
            producer_name: name,
            last_sequence_id: Some(-1),
            producer_ready: Some(true),
        });
        Outcome::reply(reply)
    }
}

/// A topic request refused: the server error and the client's message.
struct TopicRefused {
    error: i32,
    message: String,
}

/// CONNECTED, in the protocol version both sides speak.
fn connected(connect: &CommandConnect) -> BaseCommand {
    let mut connected = BaseCommand::of(command::CONNECTED);
    connected.connected = Some(CommandConnected {
        server_version: server_version(),
        protocol_version: Some(connect.protocol_version.unwrap_or(0).min(PROTOCOL_VERSION)),
        max_message_size: Some(5 * 1024 * 1024),
        feature_flags: None,
    });
    connected
}

/// The answer to a request on a connection whose CONNECT was refused: an AuthenticationError
/// for that request, with the client-facing reason, in the response the client waits for (a
/// lookup's own response; ERROR for the others), and the end of the connection.
fn refusal(request: &BaseCommand, reason: &str) -> Outcome {
    const FAILED_METADATA: i32 = 1;
    const FAILED_LOOKUP: i32 = 2;
    let close = Some("authentication failed; the client was told at its first request".to_owned());
    let error = Some(server_error::AUTHENTICATION_ERROR);
    let message = Some(reason.to_owned());
    let reply = if let Some(metadata) = &request.partition_metadata {
        let mut reply = BaseCommand::of(command::PARTITIONED_METADATA_RESPONSE);
        reply.partition_metadata_response = Some(CommandPartitionedTopicMetadataResponse {
            request_id: metadata.request_id,
            response: Some(FAILED_METADATA),
            error,
            message,
            ..Default::default()
        });
        reply
    } else if let Some(lookup) = &request.lookup_topic {
        let mut reply = BaseCommand::of(command::LOOKUP_RESPONSE);
        reply.lookup_topic_response = Some(CommandLookupTopicResponse {
            request_id: lookup.request_id,
            response: Some(FAILED_LOOKUP),
            error,
            message,
            ..Default::default()
        });
        reply
    } else if let Some(request_id) = request
        .producer
        .as_ref()
        .map(|producer| producer.request_id)
        .or(request.subscribe.as_ref().map(|subscribe| subscribe.request_id))
    {
        let mut reply = BaseCommand::of(command::ERROR);
        reply.error = Some(CommandError {
            request_id,
            error: server_error::AUTHENTICATION_ERROR,
            message: reason.to_owned(),
        });
        reply
    } else {
        return Outcome { replies: Vec::new(), close };
    };
    Outcome { replies: vec![reply], close }
}

fn server_version() -> String {
    format!("keygate-pulsar-gateway/{}", env!("CARGO_PKG_VERSION"))
}
