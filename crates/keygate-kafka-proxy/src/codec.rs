//! Kafka frames as the proxy sees them: a request's header read without consuming the frame, and
//! responses written with their size prefix.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::ProxyError;

/// A request from a client: its header decoded, its body left as it arrived.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) api: ApiKey,
    pub(crate) version: i16,
    pub(crate) correlation: i32,
    /// The whole frame, header included, as the client sent it: what is forwarded.
    pub(crate) frame: Bytes,
    /// The body after the header.
    pub(crate) body: Bytes,
}

impl Request {
    /// Reads the header of `frame` (without its size prefix).
    pub(crate) fn parse(frame: Bytes) -> Result<Request, ProxyError> {
        let [a, b, c, d, ..] = frame[..] else {
            return Err(ProxyError::Protocol("a request too short for its header"));
        };
        let api = ApiKey::try_from(i16::from_be_bytes([a, b]))
            .map_err(|()| ProxyError::Protocol("a request for an unknown API"))?;
        let version = i16::from_be_bytes([c, d]);
        let mut body = frame.clone();
        let header = RequestHeader::decode(&mut body, api.request_header_version(version))
            .map_err(|_| ProxyError::Protocol("a malformed request header"))?;
        Ok(Request { api, version, correlation: header.correlation_id, frame, body })
    }

    /// Decodes the body as `T`.
    pub(crate) fn decode<T: Decodable>(&self) -> Result<T, ProxyError> {
        T::decode(&mut self.body.clone(), self.version)
            .map_err(|_| ProxyError::Protocol("a malformed request body"))
    }
}

/// The correlation id of a response frame (without its size prefix).
pub(crate) fn response_correlation(frame: &[u8]) -> Option<i32> {
    let id: [u8; 4] = frame.get(..4)?.try_into().ok()?;
    Some(i32::from_be_bytes(id))
}

/// Decodes the body of a response frame to an `api` request of `version`.
pub(crate) fn decode_response<T: Decodable>(
    api: ApiKey,
    version: i16,
    frame: &Bytes,
) -> Result<T, ProxyError> {
    let mut body = frame.clone();
    ResponseHeader::decode(&mut body, api.response_header_version(version))
        .and_then(|_| T::decode(&mut body, version))
        .map_err(|_| ProxyError::Upstream("a malformed response from the upstream broker".into()))
}

/// A whole response frame, size prefix included.
pub(crate) fn response<T: Encodable>(
    api: ApiKey,
    version: i16,
    correlation: i32,
    body: &T,
) -> Result<Bytes, ProxyError> {
    let header = ResponseHeader::default().with_correlation_id(correlation);
    framed(api, |buffer| {
        header
            .encode(buffer, api.response_header_version(version))
            .and_then(|()| body.encode(buffer, version))
    })
}

/// A request frame, size prefix included: for the proxy's own requests to the upstream.
pub(crate) fn request<T: Encodable>(
    api: ApiKey,
    version: i16,
    correlation: i32,
    body: &T,
) -> Result<Bytes, ProxyError> {
    let header = RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation)
        .with_client_id(Some(kafka_protocol::protocol::StrBytes::from_static_str(
            "keygate-kafka-proxy",
        )));
    framed(api, |buffer| {
        header
            .encode(buffer, api.request_header_version(version))
            .and_then(|()| body.encode(buffer, version))
    })
}

/// What `encode` writes, behind its 4-byte size.
fn framed<E>(
    api: ApiKey,
    encode: impl FnOnce(&mut BytesMut) -> Result<(), E>,
) -> Result<Bytes, ProxyError> {
    let mut buffer = BytesMut::with_capacity(64);
    buffer.put_i32(0);
    encode(&mut buffer).map_err(|_| ProxyError::Encode(api))?;
    let size = i32::try_from(buffer.len() - 4).map_err(|_| ProxyError::Encode(api))?;
    buffer[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buffer.freeze())
}

#[cfg(test)]
mod tests {
    use bytes::BufMut;
    use kafka_protocol::messages::{
        ApiVersionsRequest, SaslAuthenticateRequest, SaslHandshakeRequest,
    };
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The requests the proxy decodes before a client has authenticated hold no arrays, so
        /// kafka-protocol reserves nothing a client claims: any body decodes or is an error.
        #[test]
        fn what_strangers_send_decodes_or_is_refused(
            version in 0i16..5,
            body in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            for api in [ApiKey::ApiVersions, ApiKey::SaslHandshake, ApiKey::SaslAuthenticate] {
                let header = RequestHeader::default()
                    .with_request_api_key(api as i16)
                    .with_request_api_version(version)
                    .with_correlation_id(1);
                let mut frame = BytesMut::new();
                header.encode(&mut frame, api.request_header_version(version)).unwrap();
                frame.put_slice(&body);
                let Ok(request) = Request::parse(frame.freeze()) else { continue };
                match api {
                    ApiKey::ApiVersions => drop(request.decode::<ApiVersionsRequest>()),
                    ApiKey::SaslHandshake => drop(request.decode::<SaslHandshakeRequest>()),
                    _ => drop(request.decode::<SaslAuthenticateRequest>()),
                }
            }
        }
    }
}
