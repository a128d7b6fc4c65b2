//! An X.509 user certificate an OPC UA session logs in with, and the check that it can be used.

use opcua::client::IdentityToken;
use opcua::crypto::{CertificateStore, KeySize};
use std::path::PathBuf;

/// Bytes signed with the private key and verified with the certificate's public key to prove
/// that the two belong together.
const PROBE: &[u8] = b"optibid user certificate check";

/// Why a user certificate cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserCertificateError {
    /// The certificate file is missing, unreadable or not a `.der` or `.pem` certificate.
    #[error("user_certificate {}: {message}", path.display())]
    Certificate {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The key file is missing, unreadable or not a PEM RSA private key.
    #[error("user_private_key {}: {message}", path.display())]
    PrivateKey {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The key does not sign what the certificate's public key verifies.
    #[error("user_private_key {} does not belong to user_certificate {}", key.display(), certificate.display())]
    Mismatch {
        /// The certificate file.
        certificate: PathBuf,
        /// The key file.
        key: PathBuf,
    },
}

/// An X.509 user certificate (`.der` or `.pem`) and its RSA private key (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCertificate {
    /// The certificate file.
    pub certificate: PathBuf,
    /// The private key file.
    pub private_key: PathBuf,
}

impl UserCertificate {
    /// Reads both files and checks that the key belongs to the certificate.
    pub fn check(&self) -> Result<(), UserCertificateError> {
        self.token().map(drop)
    }

    /// Reads both files into the identity token a session logs in with.
    pub fn token(&self) -> Result<IdentityToken, UserCertificateError> {
        let certificate_error =
            |message: String| UserCertificateError::Certificate { path: self.certificate.clone(), message };
        let key_error = |message: String| UserCertificateError::PrivateKey { path: self.private_key.clone(), message };
        let certificate = CertificateStore::read_cert(&self.certificate).map_err(certificate_error)?;
        let key = CertificateStore::read_pkey(&self.private_key).map_err(key_error)?;
        let public = certificate.public_key().map_err(|error| certificate_error(error.to_string()))?;
        let mut signature = vec![0; key.size()];
        let length = key.sign_sha256(PROBE, &mut signature).map_err(|error| key_error(error.to_string()))?;
        if !public.verify_sha256(PROBE, &signature[..length]).unwrap_or(false) {
            return Err(UserCertificateError::Mismatch {
                certificate: self.certificate.clone(),
                key: self.private_key.clone(),
            });
        }
        Ok(IdentityToken::new_x509(certificate, key))
    }
}
