//! MQTT over TLS (rustls): the server certificate and key, and optionally a CA whose client
//! certificates log devices in (the certificate's common name or a DNS alternative name is the
//! login). Clients without a certificate may still log in with their secret.

use mqtt_endpoint_tokio::mqtt_ep::{TransportError, TransportOps};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use std::future::Future;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use x509_cert::der::Decode;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;

/// Object id of the X.520 common name attribute (2.5.4.3).
const COMMON_NAME: x509_cert::der::oid::ObjectIdentifier = x509_cert::der::oid::ObjectIdentifier::new_unwrap("2.5.4.3");

/// Where the TLS listener listens and what it presents.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// Listen address.
    pub listen: SocketAddr,
    /// The server's certificate chain (PEM).
    pub certificate: PathBuf,
    /// The server's private key (PEM).
    pub private_key: PathBuf,
    /// CA certificates (PEM) that sign device certificates; without it no client certificate
    /// is asked for.
    pub client_ca: Option<PathBuf>,
}

/// Why the TLS listener cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("the TLS configuration is refused: {0}")]
    Config(String),
}

/// The rustls server configuration of `settings`.
pub fn server_config(settings: &TlsSettings) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certificates(&settings.certificate)?;
    let key = PrivateKeyDer::from_pem_file(&settings.private_key)
        .map_err(|e| TlsError::Read { path: settings.private_key.clone(), reason: e.to_string() })?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match &settings.client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for certificate in certificates(ca)? {
                roots.add(certificate).map_err(|e| TlsError::Config(format!("{}: {e}", ca.display())))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| TlsError::Config(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder.with_single_cert(chain, key).map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(Arc::new(config))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read = |reason: String| TlsError::Read { path: path.to_owned(), reason };
    let all: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| read(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| read(e.to_string()))?;
    if all.is_empty() {
        return Err(read("no certificate in the file".to_owned()));
    }
    Ok(all)
}

/// The names a verified client certificate gives its holder: the subject's common names and
/// the DNS alternative names. Empty when the certificate cannot be parsed.
pub fn certificate_names(der: &[u8]) -> Vec<String> {
    let Ok(certificate) = x509_cert::Certificate::from_der(der) else { return Vec::new() };
    let tbs = &certificate.tbs_certificate;
    let mut names: Vec<String> = tbs
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|attribute| attribute.oid == COMMON_NAME)
        .filter_map(|attribute| std::str::from_utf8(attribute.value.value()).ok().map(str::to_owned))
        .collect();
    if let Ok(Some((_, alternatives))) = tbs.get::<SubjectAltName>() {
        names.extend(alternatives.0.iter().filter_map(|name| match name {
            GeneralName::DnsName(dns) => Some(dns.to_string()),
            _ => None,
        }));
    }
    names
}

/// A TLS stream as the MQTT endpoint's transport.
pub struct StreamTransport<S> {
    stream: S,
}

impl<S> StreamTransport<S> {
    /// Wraps `stream`.
    pub fn new(stream: S) -> Self {
        Self { stream }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> TransportOps for StreamTransport<S> {
    fn send<'a>(
        &'a mut self,
        buffers: &'a [IoSlice<'a>],
    ) -> Pin<Box<dyn Future<Output = Result<(), TransportError>> + Send + 'a>> {
        Box::pin(async move {
            for buffer in buffers {
                self.stream.write_all(buffer).await.map_err(TransportError::Io)?;
            }
            self.stream.flush().await.map_err(TransportError::Io)
        })
    }

    fn recv<'a>(
        &'a mut self,
        buffer: &'a mut [u8],
    ) -> Pin<Box<dyn Future<Output = Result<usize, TransportError>> + Send + 'a>> {
        Box::pin(async move { self.stream.read(buffer).await.map_err(TransportError::Io) })
    }

    fn shutdown<'a>(&'a mut self, timeout: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let _ = tokio::time::timeout(timeout, self.stream.shutdown()).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_common_name_and_the_dns_alternatives() {
        let mut params = rcgen::CertificateParams::new(vec!["inv-7".to_owned()]).expect("params");
        params.distinguished_name.push(rcgen::DnType::CommonName, "edge:gw-1");
        let key = rcgen::KeyPair::generate().expect("key");
        let certificate = params.self_signed(&key).expect("certificate");
        let names = certificate_names(certificate.der());
        assert!(names.contains(&"edge:gw-1".to_owned()), "{names:?}");
        assert!(names.contains(&"inv-7".to_owned()), "{names:?}");
        assert!(certificate_names(b"not a certificate").is_empty());
    }
}
