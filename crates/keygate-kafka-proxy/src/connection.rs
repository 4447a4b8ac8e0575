//! One client connection: SASL with the proxy, then each request authorized and forwarded on
//! the connection's own upstream connection, responses back in the order of the requests.
//!
//! Two tasks share a connection. This one reads the client's requests, answers SASL and
//! ApiVersions itself, refuses what the key may not do and forwards the rest. The responder
//! writes to the client, in request order, both the proxy's own answers and the upstream's
//! responses (rewriting those that name brokers). A bounded queue between them says what comes
//! next, so a client that stops reading stops being read.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use kafka_protocol::messages::ApiKey;
use keygate_tokio::{Connection, Event, FrameReader};
use tokio::io::{
    AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, ReadHalf, WriteHalf,
};
use tokio::sync::mpsc;

use crate::access::Operation;
use crate::brokers::{Advertised, Route, names_brokers, rewrite};
use crate::codec::{Request, response_correlation};
use crate::refusal::refusal;
use crate::sasl::{Sasl, Step};
use crate::shape;
use crate::upstream::Boxed;
use crate::{ProxyError, Shared};

/// Requests in flight on one connection before the proxy stops reading the client.
const PIPELINE: usize = 256;
/// The largest response the proxy reads whole to rewrite the brokers it names (Metadata of a
/// very large cluster stays well below). Other responses are streamed through, whatever their
/// size.
const MAX_REWRITTEN: usize = 64 * 1024 * 1024;
/// The buffer responses stream through.
const STREAM_BUFFER: usize = 64 * 1024;
/// How long the responder gets to deliver a last answer (a SASL failure) before the close.
const LAST_WORDS: Duration = Duration::from_secs(1);

/// What the responder writes next.
enum Pending {
    /// An answer of the proxy's own, framed.
    Local(Bytes),
    /// The upstream connection, once open: responses are read from it.
    Attach(BufReader<ReadHalf<Boxed>>),
    /// The upstream's response to this request.
    Upstream { api: ApiKey, version: i16, correlation: i32 },
}

/// How a connection ended.
#[derive(Debug)]
pub(crate) struct Closed {
    /// Why, for the log.
    pub(crate) reason: String,
    /// Whether it had authenticated: a stranger's end is a refusal, logged within its budget.
    pub(crate) authenticated: bool,
}

/// Serves one client on `stream` until the connection ends, and says why it ended.
pub(crate) async fn serve<S>(
    stream: S,
    connection: Connection,
    route: Route,
    advertised: Advertised,
    shared: Arc<Shared>,
) -> Closed
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (reader, writer) = tokio::io::split(stream);
    let mut frames = FrameReader::new(reader);
    let (queue, pending) = mpsc::channel(PIPELINE);
    let mut responder = tokio::spawn(respond(writer, pending, advertised, Arc::clone(&shared)));
    let mut client =
        Client { connection, sasl: Sasl::default(), upstream: None, queue, route, shared };
    let (ending, last_words) = loop {
        tokio::select! {
            event = client.connection.next(&mut frames) => match event {
                Ok(Event::Frame(frame)) => match client.handle(frame).await {
                    Ok(None) => {}
                    Ok(Some(reason)) => break (reason, true),
                    Err(error) => break (error.to_string(), false),
                },
                Ok(Event::SessionExpired) => {
                    break ("the session expired without re-authenticating".to_owned(), false);
                }
                Ok(_) => {}
                Err(ending) => break (ending.to_string(), false),
            },
            done = &mut responder => {
                let reason = match done {
                    Ok(Ok(())) => "the connection ended".to_owned(),
                    Ok(Err(error)) => error.to_string(),
                    Err(_) => "the responder failed".to_owned(),
                };
                let authenticated = client.connection.identity().is_some();
                return Closed { reason, authenticated };
            }
        }
    };
    let authenticated = client.connection.identity().is_some();
    drop(client);
    if last_words {
        let _ = tokio::time::timeout(LAST_WORDS, &mut responder).await;
    }
    responder.abort();
    Closed { reason: ending, authenticated }
}

/// The client side of a connection.
struct Client {
    connection: Connection,
    sasl: Sasl,
    upstream: Option<WriteHalf<Boxed>>,
    queue: mpsc::Sender<Pending>,
    route: Route,
    shared: Arc<Shared>,
}

impl Client {
    /// Handles one request; `Some(reason)` when the connection must close once what is queued
    /// has been written.
    async fn handle(&mut self, frame: Bytes) -> Result<Option<String>, ProxyError> {
        self.shared.metrics.bytes_from_clients.fetch_add(
            u64::try_from(frame.len() + 4).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
        if self.sasl.expects_raw_token() {
            // After a SaslHandshake v0 the client sends the SASL token itself.
            let step = self.sasl.authenticate_raw(&frame, &mut self.connection)?;
            return self.sasl_step(step).await;
        }
        let request = Request::parse(frame)?;
        match request.api {
            ApiKey::ApiVersions => {
                let answer = self.shared.versions.answer(&request)?;
                self.local(answer).await?;
                return Ok(None);
            }
            ApiKey::SaslHandshake => {
                let step = self.sasl.handshake(&request)?;
                return self.sasl_step(step).await;
            }
            ApiKey::SaslAuthenticate => {
                let step = self.sasl.authenticate(&request, &mut self.connection)?;
                return self.sasl_step(step).await;
            }
            _ => {}
        }
        let id = self.connection.id();
        let Some(identity) = self.connection.identity() else {
            return Ok(Some(format!("{:?} before authenticating", request.api)));
        };
        if self.sasl.in_exchange() {
            return Ok(Some(format!("{:?} in the middle of re-authenticating", request.api)));
        }
        let Some(operation) = Operation::of(request.api) else {
            return Ok(Some(format!("{:?} is not served by the proxy", request.api)));
        };
        if !self.shared.versions.offers(request.api, request.version) {
            return Ok(Some(format!(
                "{:?} v{} is not offered by the proxy",
                request.api, request.version
            )));
        }
        if !operation.granted(identity) {
            self.shared.metrics.refused(request.api);
            self.shared.log.refusal(format_args!(
                "connection {id}: {:?} refused: key {} of {} may not {}",
                request.api,
                identity.key_id().map_or_else(|| "-".to_owned(), |k| k.to_string()),
                identity.principal(),
                operation.as_str(),
            ));
            if let Some(answer) = refusal(&request)? {
                self.local(answer).await?;
            }
            return Ok(None);
        }
        let frame = if request.api == ApiKey::Metadata && !Operation::Admin.granted(identity) {
            without_auto_creation(&request)?
        } else {
            request.frame.clone()
        };
        let answered = expects_response(&request)?;
        let upstream = self
            .upstream
            .as_mut()
            .ok_or(ProxyError::Protocol("a request before the upstream connection opened"))?;
        let size = u32::try_from(frame.len())
            .map_err(|_| ProxyError::Protocol("a request too large to forward"))?
            .to_be_bytes();
        let mut framed = Buf::chain(&size[..], &frame[..]);
        upstream
            .write_all_buf(&mut framed)
            .await
            .map_err(|e| ProxyError::Upstream(format!("write failed: {e}")))?;
        self.shared.metrics.forwarded(request.api);
        if answered {
            let (api, version, correlation) = (request.api, request.version, request.correlation);
            self.enqueue(Pending::Upstream { api, version, correlation }).await?;
        }
        Ok(None)
    }

    async fn sasl_step(&mut self, step: Step) -> Result<Option<String>, ProxyError> {
        let id = self.connection.id();
        match step {
            Step::Reply(reply) => {
                self.local(reply).await?;
                Ok(None)
            }
            Step::Authenticated { reply, identity, again, lifetime_ms } => {
                self.shared.metrics.authentication("success", String::new());
                self.shared.log.line(format_args!(
                    "connection {id}: {} as {} with key {} (session lifetime {} ms)",
                    if again { "re-authenticated" } else { "authenticated" },
                    identity.principal(),
                    identity.key_id().map_or_else(|| "-".to_owned(), |k| k.to_string()),
                    lifetime_ms
                ));
                self.local(reply).await?;
                if self.upstream.is_none() {
                    let (reader, writer) = tokio::io::split(self.connect().await?);
                    self.upstream = Some(writer);
                    let reader = BufReader::with_capacity(STREAM_BUFFER, reader);
                    self.enqueue(Pending::Attach(reader)).await?;
                }
                Ok(None)
            }
            Step::Refused { reply, refusal } => {
                self.shared.metrics.authentication("failure", refusal.reason());
                if !reply.is_empty() {
                    self.local(reply).await?;
                }
                Ok(Some(format!("authentication failed: {refusal}")))
            }
        }
    }

    /// Opens the connection's own upstream connection, to the broker its listener serves.
    async fn connect(&self) -> Result<Boxed, ProxyError> {
        let (connector, timeout) = (&self.shared.connector, self.shared.connect_timeout);
        match self.route {
            // The first bootstrap address that answers: one broker down stops nobody.
            Route::Bootstrap => {
                let mut last = None;
                for address in &self.shared.upstream {
                    match connector.connect(address, timeout).await {
                        Ok(stream) => return Ok(stream),
                        Err(error) => last = Some(error),
                    }
                }
                Err(last.unwrap_or(ProxyError::Upstream("no bootstrap address".into())))
            }
            Route::Broker(node) => {
                let address = self.shared.brokers.upstream(node).ok_or_else(|| {
                    ProxyError::Upstream(format!("broker {node} is not known to the proxy"))
                })?;
                connector.connect(&address, timeout).await
            }
        }
    }

    async fn local(&self, frame: Bytes) -> Result<(), ProxyError> {
        self.enqueue(Pending::Local(frame)).await
    }

    async fn enqueue(&self, pending: Pending) -> Result<(), ProxyError> {
        self.queue
            .send(pending)
            .await
            .map_err(|_| ProxyError::Protocol("the connection is closing"))
    }
}

/// A Metadata request's frame with `allow_auto_topic_creation` cleared: for a key that may not
/// create topics, whatever the client asked.
fn without_auto_creation(request: &Request) -> Result<Bytes, ProxyError> {
    let Some(at) = shape::metadata_auto_create_at(&request.body, request.version)? else {
        return Ok(request.frame.clone());
    };
    // The body is the end of the frame.
    let at = request.frame.len() - request.body.len() + at;
    if request.frame[at] == 0 {
        return Ok(request.frame.clone());
    }
    let mut frame = bytes::BytesMut::from(&request.frame[..]);
    frame[at] = 0;
    Ok(frame.freeze())
}

/// Whether the request gets a response: all do but Produce with `acks=0`.
fn expects_response(request: &Request) -> Result<bool, ProxyError> {
    if request.api != ApiKey::Produce {
        return Ok(true);
    }
    produce_acks(&request.body, request.version)
        .map(|acks| acks != 0)
        .ok_or(ProxyError::Protocol("a malformed produce request"))
}

/// The `acks` of a Produce request body, read without decoding the records: it follows the
/// transactional id, a nullable string (compact from v9).
fn produce_acks(body: &[u8], version: i16) -> Option<i16> {
    let mut rest = body;
    if version >= 9 {
        let mut length: u64 = 0;
        let mut shift = 0;
        loop {
            let (&byte, tail) = rest.split_first()?;
            rest = tail;
            length |= u64::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 28 {
                return None;
            }
        }
        // Compact strings store length + 1; 0 is null.
        let skip = usize::try_from(length.saturating_sub(1)).ok()?;
        rest = rest.get(skip..)?;
    } else {
        let (length, tail) = rest.split_first_chunk::<2>()?;
        let length = i16::from_be_bytes(*length);
        rest = tail.get(usize::try_from(length.max(0)).ok()?..)?;
    }
    let acks = rest.first_chunk::<2>()?;
    Some(i16::from_be_bytes(*acks))
}

/// Writes responses to the client in request order: the proxy's own, and the upstream's.
async fn respond<W: AsyncWrite + Unpin>(
    mut client: W,
    mut pending: mpsc::Receiver<Pending>,
    advertised: Advertised,
    shared: Arc<Shared>,
) -> Result<(), ProxyError> {
    let mut upstream: Option<BufReader<ReadHalf<Boxed>>> = None;
    let written = |n: usize| {
        shared
            .metrics
            .bytes_to_clients
            .fetch_add(u64::try_from(n).unwrap_or(u64::MAX), std::sync::atomic::Ordering::Relaxed);
    };
    while let Some(next) = pending.recv().await {
        match next {
            Pending::Local(frame) => {
                client.write_all(&frame).await?;
                written(frame.len());
            }
            Pending::Attach(reader) => upstream = Some(reader),
            Pending::Upstream { api, version, correlation } => {
                let reader = upstream.as_mut().ok_or(ProxyError::Protocol("no upstream"))?;
                let (size, head) = response_head(reader).await?;
                if response_correlation(&head) != Some(correlation) {
                    return Err(ProxyError::Upstream(format!(
                        "a response out of order (expected correlation id {correlation})"
                    )));
                }
                if names_brokers(api) {
                    if size > MAX_REWRITTEN {
                        return Err(ProxyError::Upstream(format!(
                            "a {api:?} response of {size} bytes, too large to rewrite"
                        )));
                    }
                    let mut frame = vec![0; size];
                    frame[..4].copy_from_slice(&head);
                    reader.read_exact(&mut frame[4..]).await.map_err(upstream_gone)?;
                    let (framed, named) = rewrite(api, version, &Bytes::from(frame), &advertised)?;
                    for broker in named {
                        shared.learn(broker).await;
                    }
                    client.write_all(&framed).await?;
                    written(framed.len());
                } else {
                    // Passed through as it arrives: a large fetch is not held whole.
                    let wire_size = u32::try_from(size).unwrap_or(u32::MAX).to_be_bytes();
                    client.write_all_buf(&mut Buf::chain(&wire_size[..], &head[..])).await?;
                    let rest = u64::try_from(size - head.len()).unwrap_or(u64::MAX);
                    let copied =
                        tokio::io::copy_buf(&mut (&mut *reader).take(rest), &mut client).await?;
                    if copied != rest {
                        return Err(upstream_gone(std::io::ErrorKind::UnexpectedEof.into()));
                    }
                    written(size + 4);
                }
            }
        }
        // TLS buffers what it is given; flushing sends it.
        client.flush().await?;
    }
    Ok(())
}

/// A response's size and its first four bytes (the correlation id).
async fn response_head<R: AsyncRead + Unpin>(
    reader: &mut R,
) -> Result<(usize, [u8; 4]), ProxyError> {
    let mut head = [0u8; 8];
    reader.read_exact(&mut head).await.map_err(upstream_gone)?;
    let [a, b, c, d, e, f, g, h] = head;
    let size = usize::try_from(i32::from_be_bytes([a, b, c, d]))
        .ok()
        .filter(|&size| size >= 4)
        .ok_or_else(|| ProxyError::Upstream("a response with an impossible size".into()))?;
    Ok((size, [e, f, g, h]))
}

fn upstream_gone(error: std::io::Error) -> ProxyError {
    if error.kind() == std::io::ErrorKind::UnexpectedEof {
        ProxyError::Upstream("the upstream broker closed the connection".into())
    } else {
        ProxyError::Upstream(format!("read failed: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use kafka_protocol::messages::{MetadataRequest, RequestHeader, metadata_request};
    use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

    use super::*;

    /// A Metadata request for topic `orders` asking the broker to create it.
    fn metadata(version: i16) -> Request {
        let mut topic = metadata_request::MetadataRequestTopic::default();
        topic.name = Some(kafka_protocol::messages::TopicName(StrBytes::from_static_str("orders")));
        let body = MetadataRequest::default()
            .with_topics(Some(vec![topic]))
            .with_allow_auto_topic_creation(true)
            .with_include_topic_authorized_operations(version >= 8);
        let header = RequestHeader::default()
            .with_request_api_key(ApiKey::Metadata as i16)
            .with_request_api_version(version)
            .with_correlation_id(7);
        let mut frame = BytesMut::new();
        header.encode(&mut frame, ApiKey::Metadata.request_header_version(version)).unwrap();
        body.encode(&mut frame, version).unwrap();
        Request::parse(frame.freeze()).unwrap()
    }

    #[test]
    fn auto_creation_is_cleared_and_nothing_else_changes_at_every_version() {
        for version in 4..=ApiKey::Metadata.valid_versions().max {
            let request = metadata(version);
            let cleared = Request::parse(without_auto_creation(&request).unwrap()).unwrap();
            let before: MetadataRequest = request.decode().unwrap();
            let after: MetadataRequest = cleared.decode().unwrap();
            assert!(before.allow_auto_topic_creation, "v{version}");
            assert!(!after.allow_auto_topic_creation, "v{version}");
            assert_eq!(after, before.with_allow_auto_topic_creation(false), "v{version}");
            assert_eq!(cleared.correlation, 7);
            let _ = MetadataRequest::decode(&mut cleared.body.clone(), version).unwrap();
        }
    }

    #[test]
    fn acks_are_read_past_the_transactional_id() {
        // v3..8: a 2-byte length, -1 for null.
        assert_eq!(produce_acks(&[0xff, 0xff, 0, 1, 9], 7), Some(1));
        assert_eq!(produce_acks(&[0, 2, b't', b'x', 0xff, 0xff], 3), Some(-1));
        // v9+: a compact string, 0 for null and length + 1 otherwise.
        assert_eq!(produce_acks(&[0, 0, 0], 9), Some(0));
        assert_eq!(produce_acks(&[3, b't', b'x', 0, 1], 9), Some(1));
    }

    #[test]
    fn a_short_or_overlong_header_is_not_read_past() {
        assert_eq!(produce_acks(&[], 7), None);
        assert_eq!(produce_acks(&[0, 9, 1], 7), None);
        assert_eq!(produce_acks(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 9), None);
        assert_eq!(produce_acks(&[0x7f], 9), None);
    }
}
