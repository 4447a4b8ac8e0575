//! A client of the control plane, for the `keygate` command's `--server` mode and for tools:
//! HTTP/1.1 over TCP, or over TLS (rustls on ring) trusting the Mozilla roots or a CA file,
//! authenticated with a key id and secret as HTTP Basic. Answers are JSON; failures are the
//! server's problem documents, read back into [`ClientError::Problem`].

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt as _;
use hyper::Request;
use hyper::header;
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use zeroize::Zeroizing;

/// How long connecting and each exchange may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer read, in bytes.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with a problem document.
    #[error("{detail}")]
    Problem {
        /// The HTTP status.
        status: u16,
        /// The problem's kind: the last part of its `type` (`not-found`, `forbidden`, …).
        kind: String,
        /// What went wrong.
        detail: String,
        /// The field at fault, if any.
        field: Option<String>,
    },
    /// The URL is not one this client speaks.
    #[error("{0}")]
    Url(String),
    /// The server could not be reached, or its answer could not be read.
    #[error("{0}")]
    Transport(String),
}

/// A client of one server, with one key's credentials. `Debug` shows the server and the key
/// id, never the secret.
#[derive(Clone)]
pub struct Client {
    host: String,
    port: u16,
    tls: Option<TlsConnector>,
    authorization: Arc<Zeroizing<String>>,
    key_id: String,
}

impl Client {
    /// A client of the server at `url` (`http://host:port` or `https://host[:port]`), calling
    /// as the key `key_id` with `secret`. Over HTTPS, the server's certificate must chain to
    /// `ca` (a PEM file) when given, else to the Mozilla roots.
    pub fn new(
        url: &str,
        key_id: &str,
        secret: &str,
        ca: Option<&Path>,
    ) -> Result<Client, ClientError> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| ClientError::Url(format!("{url:?} is not a URL (http://host:port)")))?;
        let tls = match scheme {
            "http" => None,
            "https" => Some(connector(ca)?),
            _ => {
                return Err(ClientError::Url(format!("{scheme}: give an http:// or https:// URL")));
            }
        };
        let authority = rest.trim_end_matches('/');
        if authority.contains('/') || authority.contains('@') || authority.is_empty() {
            return Err(ClientError::Url(format!(
                "{url:?}: give the server's address only, like https://keys.example.com"
            )));
        }
        let default_port = if tls.is_some() { 443 } else { 80 };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
                let port =
                    port.parse().map_err(|_| ClientError::Url(format!("{url:?}: a bad port")))?;
                (host, port)
            }
            _ => (authority, default_port),
        };
        let authorization =
            Arc::new(Zeroizing::new(keygate_wire::encode_basic(key_id, secret).to_string()));
        Ok(Client {
            host: host.trim_start_matches('[').trim_end_matches(']').to_owned(),
            port,
            tls,
            authorization,
            key_id: key_id.to_owned(),
        })
    }

    /// Calls `method` on `path` (with its query) with `body` as JSON, and returns the answer's
    /// JSON (`null` for an empty answer).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        self.call_with(method, path, body, &[]).await
    }

    /// [`Client::call`] with extra request headers (`If-None-Match`, `If-Match`).
    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Value, ClientError> {
        let exchange = self.exchange(method, path, body, headers);
        tokio::time::timeout(TIMEOUT, exchange).await.map_err(|_| {
            ClientError::Transport(format!("{}: no answer within {TIMEOUT:?}", self.origin()))
        })?
    }

    async fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Value, ClientError> {
        let transport =
            |e: &dyn fmt::Display| ClientError::Transport(format!("{}: {e}", self.origin()));
        let stream =
            TcpStream::connect((self.host.as_str(), self.port)).await.map_err(|e| transport(&e))?;
        let bytes = match &self.tls {
            Some(connector) => {
                let name = ServerName::try_from(self.host.clone()).map_err(|e| transport(&e))?;
                let stream = connector.connect(name, stream).await.map_err(|e| transport(&e))?;
                self.send(stream, method, path, body, headers).await?
            }
            None => self.send(stream, method, path, body, headers).await?,
        };
        let (status, bytes) = bytes;
        let value: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|_| transport(&"the answer is not JSON"))?
        };
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        Err(ClientError::Problem {
            status,
            kind: text("type")
                .and_then(|kind| kind.strip_prefix("urn:keygate:problem:").map(str::to_owned))
                .unwrap_or_else(|| "unknown".to_owned()),
            detail: text("detail").unwrap_or_else(|| format!("the server answered {status}")),
            field: text("field"),
        })
    }

    async fn send<S>(
        &self,
        stream: S,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<(u16, bytes::Bytes), ClientError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let transport =
            |e: &dyn fmt::Display| ClientError::Transport(format!("{}: {e}", self.origin()));
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| transport(&e))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let host = if self.port == 80 || self.port == 443 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, host)
            .header(header::AUTHORIZATION, self.authorization.as_str())
            .header(header::ACCEPT, "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                serde_json::to_vec(body).map_err(|e| transport(&e))?
            }
            None => Vec::new(),
        };
        let request = request
            .body(http_body_util::Full::new(bytes::Bytes::from(body)))
            .map_err(|e| ClientError::Url(e.to_string()))?;
        let response = sender.send_request(request).await.map_err(|e| transport(&e))?;
        let status = response.status().as_u16();
        let limited = http_body_util::Limited::new(response.into_body(), MAX_ANSWER);
        let bytes = limited.collect().await.map_err(|e| transport(&e))?.to_bytes();
        Ok((status, bytes))
    }

    fn origin(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}:{}", self.host, self.port)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.origin())
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

fn connector(ca: Option<&Path>) -> Result<TlsConnector, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    ClientError::Url(format!(
                        "cannot read certificates from {}: {e}",
                        path.display()
                    ))
                })?;
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| ClientError::Url(format!("{}: {e}", path.display())))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Url(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_strictly_and_debug_hides_the_secret() {
        let client = Client::new("http://127.0.0.1:8080/", "id1", "kgk_secret", None).unwrap();
        assert_eq!((client.host.as_str(), client.port), ("127.0.0.1", 8080));
        assert!(!format!("{client:?}").contains("kgk_secret"));
        let https = Client::new("https://keys.example.com", "id1", "s", None).unwrap();
        assert_eq!(https.port, 443);
        for bad in
            ["keys.example.com", "ftp://x", "http://", "http://a/b", "http://u@h", "http://h:port"]
        {
            assert!(Client::new(bad, "id1", "s", None).is_err(), "{bad}");
        }
    }
}
