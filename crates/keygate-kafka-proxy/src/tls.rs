//! `SASL_SSL`: TLS with rustls on ring, from PEM files.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::ProxyError;

/// An acceptor presenting the certificate chain in `cert` with the private key in `key`.
/// Errors name the file, never its contents.
pub(crate) fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, ProxyError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            ProxyError::Tls(format!("cannot read a certificate chain from {}: {e}", cert.display()))
        })?;
    if chain.is_empty() {
        return Err(ProxyError::Tls(format!("no certificate in {}", cert.display())));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|_| {
        ProxyError::Tls(format!("cannot read a private key from {}", key.display()))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ProxyError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| ProxyError::Tls(format!("the certificate and key do not go together: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
