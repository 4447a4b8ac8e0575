//! The upstream cluster's brokers as clients see them: one proxy listener per broker node id,
//! and the responses that name brokers rewritten to point at those listeners.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, BrokerId, DescribeClusterResponse, FindCoordinatorResponse, MetadataResponse,
};
use kafka_protocol::protocol::StrBytes;

use crate::ProxyError;
use crate::codec::{decode_response, response, response_correlation};

/// Which upstream broker a listener leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// The bootstrap listener: the `--upstream` address.
    Bootstrap,
    /// The listener of one broker node.
    Broker(i32),
}

/// The upstream address of every broker seen in a response, and which have a listener.
#[derive(Debug, Default)]
pub(crate) struct Brokers {
    upstream: Mutex<HashMap<i32, String>>,
}

/// A broker a response named, before its address is replaced.
#[derive(Debug)]
pub(crate) struct Named {
    pub(crate) node: i32,
    pub(crate) upstream: String,
}

impl Brokers {
    /// The upstream address of broker `node`, if a response has named it.
    pub(crate) fn upstream(&self, node: i32) -> Option<String> {
        lock(&self.upstream).get(&node).cloned()
    }

    /// Records where broker `node` is upstream; true if it was not known before (it needs a
    /// listener).
    pub(crate) fn learn(&self, named: &Named) -> bool {
        lock(&self.upstream).insert(named.node, named.upstream.clone()).is_none()
    }
}

/// What clients are told about brokers: the host they reach the proxy at, and the port of each
/// broker's listener.
#[derive(Clone, Debug)]
pub(crate) struct Advertised {
    pub(crate) host: StrBytes,
    /// Broker node `n` is served on `first_port + n`.
    pub(crate) first_port: u16,
}

impl Advertised {
    /// The port of broker `node`'s listener.
    pub(crate) fn port(&self, node: i32) -> Result<u16, ProxyError> {
        i32::from(self.first_port)
            .checked_add(node)
            .and_then(|port| u16::try_from(port).ok())
            .filter(|&port| port != 0)
            .ok_or(ProxyError::NoPort { node, first_port: self.first_port })
    }
}

/// Whether responses to `api` name brokers, so they must be rewritten.
pub(crate) fn names_brokers(api: ApiKey) -> bool {
    matches!(api, ApiKey::Metadata | ApiKey::FindCoordinator | ApiKey::DescribeCluster)
}

/// Rewrites a response to `api` v`version` (a frame without its size prefix) so that every broker
/// it names is the proxy's listener for that broker. Returns the new frame (with its size prefix)
/// and the brokers named, with their upstream addresses.
pub(crate) fn rewrite(
    api: ApiKey,
    version: i16,
    frame: &Bytes,
    advertised: &Advertised,
) -> Result<(Bytes, Vec<Named>), ProxyError> {
    let correlation = response_correlation(frame)
        .ok_or(ProxyError::Upstream("a response too short for its header".into()))?;
    let mut named = Vec::new();
    let mut point = |node: BrokerId, host: &mut StrBytes, port: &mut i32| {
        if node.0 < 0 {
            return Ok(());
        }
        named.push(Named { node: node.0, upstream: format!("{}:{}", host.as_str(), port) });
        *host = advertised.host.clone();
        *port = i32::from(advertised.port(node.0)?);
        Ok::<(), ProxyError>(())
    };
    let rewritten = match api {
        ApiKey::Metadata => {
            let mut metadata: MetadataResponse = decode_response(api, version, frame)?;
            for broker in &mut metadata.brokers {
                point(broker.node_id, &mut broker.host, &mut broker.port)?;
            }
            response(api, version, correlation, &metadata)?
        }
        ApiKey::FindCoordinator => {
            let mut found: FindCoordinatorResponse = decode_response(api, version, frame)?;
            if version < 4 {
                if found.error_code == 0 {
                    point(found.node_id, &mut found.host, &mut found.port)?;
                }
            } else {
                for coordinator in &mut found.coordinators {
                    if coordinator.error_code == 0 {
                        point(coordinator.node_id, &mut coordinator.host, &mut coordinator.port)?;
                    }
                }
            }
            response(api, version, correlation, &found)?
        }
        ApiKey::DescribeCluster => {
            let mut cluster: DescribeClusterResponse = decode_response(api, version, frame)?;
            for broker in &mut cluster.brokers {
                point(broker.broker_id, &mut broker.host, &mut broker.port)?;
            }
            response(api, version, correlation, &cluster)?
        }
        _ => return Err(ProxyError::NotServed(api)),
    };
    Ok((rewritten, named))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::metadata_response::MetadataResponseBroker;

    fn advertised() -> Advertised {
        Advertised { host: StrBytes::from_static_str("proxy.example"), first_port: 9100 }
    }

    #[test]
    fn metadata_names_only_the_proxy() {
        let upstream = MetadataResponse::default().with_brokers(vec![
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(3))
                .with_host(StrBytes::from_static_str("10.0.0.3"))
                .with_port(9092),
        ]);
        let framed = response(ApiKey::Metadata, 12, 7, &upstream).unwrap();
        let frame = framed.slice(4..);
        let (rewritten, named) = rewrite(ApiKey::Metadata, 12, &frame, &advertised()).unwrap();
        assert_eq!(named.len(), 1);
        assert_eq!((named[0].node, named[0].upstream.as_str()), (3, "10.0.0.3:9092"));
        let seen: MetadataResponse =
            decode_response(ApiKey::Metadata, 12, &rewritten.slice(4..)).unwrap();
        assert_eq!(seen.brokers[0].host.as_str(), "proxy.example");
        assert_eq!(seen.brokers[0].port, 9103);
        assert_eq!(response_correlation(&rewritten[4..]), Some(7));
    }

    #[test]
    fn a_node_id_beyond_the_port_range_is_an_error_not_a_leak() {
        assert!(matches!(advertised().port(60_000), Err(ProxyError::NoPort { node: 60_000, .. })));
        assert!(matches!(advertised().port(-9100), Err(ProxyError::NoPort { .. })));
    }
}
