//! Connections to the upstream cluster: plaintext, or TLS (rustls on ring) verifying the
//! brokers' certificates against a CA file or the Mozilla roots, with their host names (or a
//! name given for all of them), and optionally presenting a client certificate (mTLS); then,
//! where the cluster requires it, SASL as the proxy's own identity (PLAIN or OAUTHBEARER), on
//! every connection before anything of a client's is forwarded.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use zeroize::Zeroizing;

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

/// How the proxy authenticates to the cluster: SASL as its own identity.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpstreamSasl {
    /// SASL/PLAIN with a username and a password.
    Plain {
        /// The username.
        username: String,
        /// Where the password is: see [`Secret`].
        password: Secret,
    },
    /// SASL/OAUTHBEARER with a bearer token.
    OAuthBearer {
        /// Where the token is: see [`Secret`]; a file is read again for each connection, so a
        /// token refreshed on disk is used from the next connection.
        token: Secret,
    },
}

impl fmt::Debug for UpstreamSasl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamSasl::Plain { username, password } => f
                .debug_struct("Plain")
                .field("username", username)
                .field("password", password)
                .finish(),
            UpstreamSasl::OAuthBearer { token } => {
                f.debug_struct("OAuthBearer").field("token", token).finish()
            }
        }
    }
}

/// Where a credential is: `file:///path` (read when it is needed, its surrounding whitespace
/// trimmed), `env:NAME` (an environment variable, read at start), or the text itself. `Debug`
/// shows where, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Source);

#[derive(Clone, PartialEq, Eq)]
enum Source {
    File(PathBuf),
    Text(Zeroizing<String>),
}

impl Secret {
    /// The credential `spec` names; an `env:` variable that is not set is an error.
    pub fn parse(spec: &str) -> Result<Secret, String> {
        if let Some(path) = spec.strip_prefix("file://") {
            return Ok(Secret(Source::File(PathBuf::from(path))));
        }
        if let Some(name) = spec.strip_prefix("env:") {
            let value = std::env::var(name)
                .map_err(|_| format!("the environment variable {name} is not set"))?;
            return Ok(Secret(Source::Text(Zeroizing::new(value))));
        }
        Ok(Secret(Source::Text(Zeroizing::new(spec.to_owned()))))
    }

    /// The value now.
    fn read(&self) -> Result<Zeroizing<String>, ProxyError> {
        match &self.0 {
            Source::Text(text) => Ok(text.clone()),
            Source::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ProxyError::Upstream(format!(
                        "cannot read the upstream credential {}: {e}",
                        path.display()
                    ))
                })?;
                Ok(Zeroizing::new(text.trim().to_owned()))
            }
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::File(path) => write!(f, "Secret(file {})", path.display()),
            Source::Text(_) => f.write_str("Secret(..)"),
        }
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
    sasl: Option<UpstreamSasl>,
}

impl Connector {
    /// A connector for `tls`, or plaintext; certificate files are read now, so a bad one fails
    /// the start.
    pub(crate) fn new(
        tls: Option<&UpstreamTls>,
        sasl: Option<&UpstreamSasl>,
    ) -> Result<Connector, ProxyError> {
        let sasl = sasl.cloned();
        let Some(tls) = tls else { return Ok(Connector { tls: None, sasl }) };
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
        Ok(Connector { tls: Some((TlsConnector::from(Arc::new(config)), name)), sasl })
    }

    /// Whether connections are TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// A connection to the broker at `address` (`HOST:PORT`), within `timeout`.
    /// A connection to the broker at `address` (`HOST:PORT`), within `timeout`, logged in
    /// when the cluster requires it.
    pub(crate) async fn connect(
        &self,
        address: &str,
        timeout: Duration,
    ) -> Result<Boxed, ProxyError> {
        let connect = async {
            let mut stream = self.open(address).await?;
            if let Some(sasl) = &self.sasl {
                login(&mut stream, sasl, address).await?;
            }
            Ok(stream)
        };
        tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| ProxyError::Upstream(format!("connecting to {address} timed out")))?
    }

    /// A connection to `address`, over TLS when configured.
    async fn open(&self, address: &str) -> Result<Boxed, ProxyError> {
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
    }
}

/// SaslHandshake v1 and SaslAuthenticate on `stream`, as the proxy's own identity.
async fn login(stream: &mut Boxed, sasl: &UpstreamSasl, address: &str) -> Result<(), ProxyError> {
    use kafka_protocol::messages::{
        ApiKey, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
        SaslHandshakeResponse,
    };
    use kafka_protocol::protocol::StrBytes;

    use crate::codec::{decode_response, request};

    let (mechanism, message) = match sasl {
        UpstreamSasl::Plain { username, password } => {
            let password = password.read()?;
            ("PLAIN", Zeroizing::new(keygate_wire::encode_plain(username, &password)))
        }
        UpstreamSasl::OAuthBearer { token } => {
            let token = token.read()?;
            let message = format!("n,,\x01auth=Bearer {}\x01\x01", token.as_str());
            ("OAUTHBEARER", Zeroizing::new(message.into_bytes()))
        }
    };
    let refused = |why: String| {
        ProxyError::Upstream(format!(
            "the upstream broker {address} refused the proxy's {mechanism} login: {why}"
        ))
    };
    let handshake =
        SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism));
    let answer = exchange(stream, &request(ApiKey::SaslHandshake, 1, 1, &handshake)?).await?;
    let answer: SaslHandshakeResponse = decode_response(ApiKey::SaslHandshake, 1, &answer)?;
    if answer.error_code != 0 {
        return Err(refused(format!("the mechanism is not offered (error {})", answer.error_code)));
    }
    let login =
        SaslAuthenticateRequest::default().with_auth_bytes(bytes::Bytes::copy_from_slice(&message));
    let answer = exchange(stream, &request(ApiKey::SaslAuthenticate, 1, 2, &login)?).await?;
    let answer: SaslAuthenticateResponse = decode_response(ApiKey::SaslAuthenticate, 1, &answer)?;
    if answer.error_code != 0 {
        let said = answer.error_message.map(|m| m.to_string()).unwrap_or_default();
        return Err(refused(format!("error {}: {said}", answer.error_code)));
    }
    Ok(())
}

/// Writes `frame` and reads one response frame back (at most 1 MiB), without its size.
async fn exchange(stream: &mut Boxed, frame: &[u8]) -> Result<bytes::Bytes, ProxyError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let failed = |e: std::io::Error| ProxyError::Upstream(format!("the SASL login: {e}"));
    stream.write_all(frame).await.map_err(failed)?;
    stream.flush().await.map_err(failed)?;
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).await.map_err(failed)?;
    let size = usize::try_from(u32::from_be_bytes(size)).unwrap_or(usize::MAX);
    if size > 1024 * 1024 {
        return Err(ProxyError::Upstream("an oversized answer to the SASL login".into()));
    }
    let mut body = vec![0; size];
    stream.read_exact(&mut body).await.map_err(failed)?;
    Ok(bytes::Bytes::from(body))
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
    fn secrets_print_where_they_are_never_what() {
        let text = Secret::parse("kgk_secret_value").unwrap();
        assert_eq!(format!("{text:?}"), "Secret(..)");
        let file = Secret::parse("file:///etc/keygate/upstream").unwrap();
        assert_eq!(format!("{file:?}"), "Secret(file /etc/keygate/upstream)");
        let sasl = UpstreamSasl::Plain { username: "proxy".into(), password: text };
        assert!(!format!("{sasl:?}").contains("kgk_secret_value"));
        assert!(Secret::parse("env:KEYGATE_SURELY_UNSET_VARIABLE").is_err());
    }

    #[test]
    fn a_missing_ca_file_fails_the_start() {
        let tls = UpstreamTls::with_ca("/nonexistent/ca.pem");
        let error = Connector::new(Some(&tls), None).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/ca.pem"), "{error}");
    }
}
