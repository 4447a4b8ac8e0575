//! Connections to the upstream cluster: plaintext, or TLS (rustls on ring) verifying the
//! brokers' certificates against a CA file or the Mozilla roots, with their host names (or a
//! name given for all of them), and optionally presenting a client certificate (mTLS).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::ProxyError;

/// How the proxy reaches the cluster over TLS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpstreamTls {
    /// The CA certificates (PEM) the brokers' certificates chain to; the Mozilla roots when
    /// `None`.
    pub ca: Option<PathBuf>,
    /// The name every broker's certificate must carry; by default the host each broker is
    /// reached at (an IP address then needs an IP address SAN).
    pub server_name: Option<String>,
    /// A client certificate chain and its key (PEM) for clusters that require mTLS.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

impl UpstreamTls {
    /// TLS trusting the CA in `ca` (PEM).
    pub fn with_ca(ca: impl Into<PathBuf>) -> UpstreamTls {
        UpstreamTls { ca: Some(ca.into()), ..UpstreamTls::default() }
    }

    /// Expects `name` in every broker's certificate.
    pub fn with_server_name(mut self, name: impl Into<String>) -> UpstreamTls {
        self.server_name = Some(name.into());
        self
    }

    /// Presents the client certificate chain in `cert` with its key in `key`.
    pub fn with_client_cert(
        mut self,
        cert: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> UpstreamTls {
        self.client_cert = Some((cert.into(), key.into()));
        self
    }
}

/// A connection to a broker, whatever carries it.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Send + Sync + Unpin {}

impl<S: AsyncRead + AsyncWrite + Send + Sync + Unpin> Stream for S {}

/// A boxed [`Stream`].
pub(crate) type Boxed = Box<dyn Stream>;

/// What opens connections to brokers.
#[derive(Clone)]
pub(crate) struct Connector {
    tls: Option<(TlsConnector, Option<ServerName<'static>>)>,
}

impl Connector {
    /// A connector for `tls`, or plaintext; certificate files are read now, so a bad one fails
    /// the start.
    pub(crate) fn new(tls: Option<&UpstreamTls>) -> Result<Connector, ProxyError> {
        let Some(tls) = tls else { return Ok(Connector { tls: None }) };
        let bad = |what: String| ProxyError::Tls(format!("upstream TLS: {what}"));
        let mut roots = rustls::RootCertStore::empty();
        match &tls.ca {
            Some(path) => {
                for cert in certificates(path).map_err(bad)? {
                    roots.add(cert).map_err(|e| bad(format!("{}: {e}", path.display())))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(e.to_string()))?
            .with_root_certificates(roots);
        let config = match &tls.client_cert {
            Some((cert, key)) => {
                let chain = certificates(cert).map_err(bad)?;
                let private = PrivateKeyDer::from_pem_file(key).map_err(|_| {
                    bad(format!("cannot read a private key from {}", key.display()))
                })?;
                builder
                    .with_client_auth_cert(chain, private)
                    .map_err(|e| bad(format!("the client certificate and key: {e}")))?
            }
            None => builder.with_no_client_auth(),
        };
        let name = match &tls.server_name {
            Some(name) => Some(
                ServerName::try_from(name.clone())
                    .map_err(|_| bad(format!("{name:?} is not a host name")))?,
            ),
            None => None,
        };
        Ok(Connector { tls: Some((TlsConnector::from(Arc::new(config)), name)) })
    }

    /// Whether connections are TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// A connection to the broker at `address` (`HOST:PORT`), within `timeout`.
    pub(crate) async fn connect(
        &self,
        address: &str,
        timeout: Duration,
    ) -> Result<Boxed, ProxyError> {
        let connect = async {
            let stream = TcpStream::connect(address)
                .await
                .map_err(|e| ProxyError::Upstream(format!("cannot connect to {address}: {e}")))?;
            let _ = stream.set_nodelay(true);
            let Some((connector, name)) = &self.tls else {
                return Ok(Box::new(stream) as Boxed);
            };
            let name = match name {
                Some(name) => name.clone(),
                None => {
                    let host = host_of(address);
                    ServerName::try_from(host.to_owned()).map_err(|_| {
                        ProxyError::Upstream(format!("{address}: {host:?} is not a host name"))
                    })?
                }
            };
            // A certificate that does not verify will not verify on a retry either.
            let stream = connector
                .connect(name, stream)
                .await
                .map_err(|e| ProxyError::Tls(format!("with the upstream broker {address}: {e}")))?;
            Ok(Box::new(stream) as Boxed)
        };
        tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| ProxyError::Upstream(format!("connecting to {address} timed out")))?
    }
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector").field("tls", &self.is_tls()).finish()
    }
}

/// The host of `HOST:PORT` (an IPv6 address without its brackets).
fn host_of(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read certificates from {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", path.display()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_from_addresses() {
        assert_eq!(host_of("kafka-0.example.com:9093"), "kafka-0.example.com");
        assert_eq!(host_of("127.0.0.1:9093"), "127.0.0.1");
        assert_eq!(host_of("[::1]:9093"), "::1");
    }

    #[test]
    fn a_missing_ca_file_fails_the_start() {
        let error = Connector::new(Some(&UpstreamTls::with_ca("/nonexistent/ca.pem"))).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/ca.pem"), "{error}");
    }
}
