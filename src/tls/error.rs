//! Errors of loading or generating the TLS certificate.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read TLS certificate {path}: {reason}")]
    ReadCert { path: PathBuf, reason: String },
    #[error("cannot read TLS private key {path}: {reason}")]
    ReadKey { path: PathBuf, reason: String },
    #[error("TLS certificate {cert} and key {key} do not belong together: {reason}")]
    KeyMismatch {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
    #[error("cannot generate the self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error(
        "the certificate is the owner's own ({cert}, set in [tls]): replace its files and reload hearth"
    )]
    Configured { cert: PathBuf },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
