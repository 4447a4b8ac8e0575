//! Serving the control plane: HTTP/1.1 on a TCP listener, over TLS (rustls on ring) or, on a
//! loopback address or by the operator's explicit choice, in plaintext.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use crate::app::App;
use crate::caller::Peer;

/// How long a client has to finish the TLS handshake, and to send a request's head.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// Why the server cannot start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Plaintext on an address other hosts reach: Basic credentials would cross the network
    /// in the clear.
    #[error(
        "refusing plaintext HTTP on {0}: API keys would cross the network in the clear; give \
         --tls-cert and --tls-key, listen on a loopback address, or name --insecure-http"
    )]
    Plaintext(SocketAddr),
    /// The certificate or key could not be loaded.
    #[error("{0}")]
    Tls(String),
    /// The listener failed.
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

/// The TLS configuration presenting the certificate chain in `cert` with the private key in
/// `key`. Errors name the file, never its contents.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, ServeError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            ServeError::Tls(format!("cannot read a certificate chain from {}: {e}", cert.display()))
        })?;
    if chain.is_empty() {
        return Err(ServeError::Tls(format!("no certificate in {}", cert.display())));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|_| {
        ServeError::Tls(format!("cannot read a private key from {}", key.display()))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServeError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| ServeError::Tls(format!("the certificate and key do not go together: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Checks that serving on `address` without TLS is safe, or that the operator said it is.
pub fn check_plaintext(address: SocketAddr, insecure_http: bool) -> Result<(), ServeError> {
    if address.ip().is_loopback() || insecure_http {
        Ok(())
    } else {
        Err(ServeError::Plaintext(address))
    }
}

/// Serves `app` on `listener` until `shutdown` completes, over TLS when `tls` is given (the
/// caller checks plaintext with [`check_plaintext`] first). Connections count against the
/// authenticator's [`Limits`](keygate_tokio::Limits): over the cap, a connection is closed at
/// once; a client gets 10 seconds to finish TLS and to send each request's head.
pub async fn serve(
    app: App,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let Some(auth) = app.auth().cloned() else {
        return Err(ServeError::Tls("a local control plane is not served".to_owned()));
    };
    let (router, _) = app.router();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // A peer that reset before it was accepted, or no descriptors left for now.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let place = match auth.admit(peer.ip()) {
            Ok(place) => place,
            Err(refused) => {
                app.log().refusal(format_args!("connection from {peer} refused: {refused}"));
                continue;
            }
        };
        let router = router.clone();
        let tls = tls.clone();
        let log = app.clone();
        tokio::spawn(async move {
            let _place = place;
            let result = match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => connection(router, peer, stream).await,
                        Ok(Err(_)) | Err(_) => return,
                    }
                }
                None => connection(router, peer, stream).await,
            };
            if let Err(error) = result
                && !error.is_incomplete_message()
            {
                log.log().line(format_args!("connection from {peer} ended: {error}"));
            }
        });
    }
}

async fn connection<S>(router: Router, peer: SocketAddr, stream: S) -> Result<(), hyper::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(Peer(peer));
        let mut router = router.clone();
        async move { router.call(request.map(axum::body::Body::new)).await }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(HANDSHAKE).max_buf_size(64 * 1024);
    http.serve_connection(TokioIo::new(stream), service).await
}
