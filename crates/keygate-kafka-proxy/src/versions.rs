//! The API versions the proxy offers: those it can read, within what the upstream speaks.

use std::time::Duration;

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use tokio::io::AsyncWriteExt;

use crate::ProxyError;
use crate::access::{TABLE, version_cap, version_floor};
use crate::codec::{Request, decode_response, request, response};
use crate::upstream::Connector;

const UNSUPPORTED_VERSION: i16 = 35;

/// The APIs the proxy answers itself, with the versions it speaks: SaslHandshake v0 (the SASL
/// tokens follow raw, as older clients send them) and v1, as Kafka offers them.
const OWN: [(ApiKey, i16, i16); 3] =
    [(ApiKey::ApiVersions, 0, 4), (ApiKey::SaslHandshake, 0, 1), (ApiKey::SaslAuthenticate, 0, 2)];

/// The versions offered to clients.
#[derive(Debug)]
pub(crate) struct Versions {
    offered: Vec<ApiVersion>,
}

impl Versions {
    /// What to offer, given what the upstream answered to ApiVersions.
    pub(crate) fn new(upstream: &ApiVersionsResponse) -> Versions {
        let own = OWN.iter().map(|&(api, min, max)| (api as i16, min, max));
        let forwarded = TABLE.iter().filter_map(|&(api, _)| {
            let theirs = upstream.api_keys.iter().find(|v| v.api_key == api as i16)?;
            let ours = api.valid_versions();
            let min = theirs.min_version.max(ours.min).max(version_floor(api).unwrap_or(0));
            let max = theirs.max_version.min(ours.max).min(version_cap(api).unwrap_or(i16::MAX));
            (min <= max).then_some((api as i16, min, max))
        });
        let offered = own
            .chain(forwarded)
            .map(|(api, min, max)| {
                ApiVersion::default().with_api_key(api).with_min_version(min).with_max_version(max)
            })
            .collect();
        Versions { offered }
    }

    /// Whether `api` v`version` is offered.
    pub(crate) fn offers(&self, api: ApiKey, version: i16) -> bool {
        self.offered
            .iter()
            .any(|v| v.api_key == api as i16 && (v.min_version..=v.max_version).contains(&version))
    }

    /// How many APIs are offered.
    pub(crate) fn len(&self) -> usize {
        self.offered.len()
    }

    /// The answer to an ApiVersions request. A version newer than the proxy's is answered in v0
    /// with UNSUPPORTED_VERSION and the list, as brokers do, so the client can retry.
    pub(crate) fn answer(&self, request: &Request) -> Result<bytes::Bytes, ProxyError> {
        let mut answer = ApiVersionsResponse::default().with_api_keys(self.offered.clone());
        if !self.offers(ApiKey::ApiVersions, request.version) {
            answer.error_code = UNSUPPORTED_VERSION;
            return response(ApiKey::ApiVersions, 0, request.correlation, &answer);
        }
        request.decode::<ApiVersionsRequest>()?;
        response(ApiKey::ApiVersions, request.version, request.correlation, &answer)
    }
}

/// Asks the upstream which versions it speaks, at the first of `addresses` that answers,
/// trying them in turn until `patience` runs out (a proxy may start before its brokers).
pub(crate) async fn probe(
    connector: &Connector,
    addresses: &[String],
    patience: Duration,
) -> Result<ApiVersionsResponse, ProxyError> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let mut last = None;
        for address in addresses {
            match probe_once(connector, address).await {
                Ok(versions) => return Ok(versions),
                // A certificate that does not verify is not waited out.
                Err(error @ ProxyError::Tls(_)) => return Err(error),
                Err(error) => last = Some(error),
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ProxyError::UpstreamUnreachable {
                address: addresses.join(","),
                reason: last.map_or_else(|| "no address".to_owned(), |e| e.to_string()),
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn probe_once(
    connector: &Connector,
    address: &str,
) -> Result<ApiVersionsResponse, ProxyError> {
    let exchange = async {
        let mut stream = connector.connect(address, Duration::from_secs(5)).await?;
        let frame = request(ApiKey::ApiVersions, 0, 1, &ApiVersionsRequest::default())?;
        stream.write_all(&frame).await?;
        let mut frames = keygate_tokio::FrameReader::new(stream);
        let frame = frames
            .read(1024 * 1024)
            .await
            .map_err(|e| ProxyError::Upstream(e.to_string()))?
            .ok_or_else(|| ProxyError::Upstream("closed without answering".into()))?;
        let versions: ApiVersionsResponse = decode_response(ApiKey::ApiVersions, 0, &frame)?;
        if versions.error_code != 0 {
            return Err(ProxyError::Upstream(format!(
                "ApiVersions answered error {}",
                versions.error_code
            )));
        }
        Ok(versions)
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| ProxyError::Upstream("no answer to ApiVersions within 5 s".into()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(apis: &[(ApiKey, i16, i16)]) -> ApiVersionsResponse {
        ApiVersionsResponse::default().with_api_keys(
            apis.iter()
                .map(|&(api, min, max)| {
                    ApiVersion::default()
                        .with_api_key(api as i16)
                        .with_min_version(min)
                        .with_max_version(max)
                })
                .collect(),
        )
    }

    #[test]
    fn offered_versions_are_what_both_sides_speak() {
        let versions = Versions::new(&upstream(&[
            (ApiKey::Produce, 0, 11),
            (ApiKey::Metadata, 0, 12),
            (ApiKey::WriteTxnMarkers, 0, 1),
        ]));
        // Produce: the codec starts at 3, and v10 would carry broker addresses unread.
        assert!(!versions.offers(ApiKey::Produce, 2));
        assert!(versions.offers(ApiKey::Produce, 9));
        assert!(!versions.offers(ApiKey::Produce, 10));
        assert!(versions.offers(ApiKey::Metadata, 12));
        // Metadata before v4 cannot be told not to create topics.
        assert!(!versions.offers(ApiKey::Metadata, 3));
        assert!(versions.offers(ApiKey::Metadata, 4));
        // Not in the table, even though the upstream speaks it; not spoken upstream.
        assert!(!versions.offers(ApiKey::WriteTxnMarkers, 0));
        assert!(!versions.offers(ApiKey::Fetch, 4));
        // The proxy's own, whatever the upstream says.
        assert!(versions.offers(ApiKey::SaslAuthenticate, 2));
        assert!(
            versions.offers(ApiKey::SaslHandshake, 0) && versions.offers(ApiKey::SaslHandshake, 1)
        );
        assert_eq!(versions.len(), 5);
    }
}
