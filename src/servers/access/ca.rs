//! The certificate authority of the servers' engines: it signs the front's
//! server certificate (which a member's `docker` checks against the
//! `ca.pem` of their context) and each member's client certificate (which
//! the front checks). Made once, kept in hearth's state folder (the key
//! 0600); it signs nothing else and is trusted by nothing else.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use ring::digest;

use crate::fsutil::{create_private_dir, write_atomically};
use crate::tls::SubjectNames;

#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a usable certificate authority: {source}")]
    Parse { path: PathBuf, source: rcgen::Error },
    #[error("cannot make a certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// A certificate and its key, as PEM, with the certificate's SHA-256.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    /// Lowercase hex of the SHA-256 of the certificate's DER.
    pub fingerprint: String,
}

pub struct AccessCa {
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for AccessCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessCa")
    }
}

/// The SHA-256 of a DER certificate, lowercase hex.
pub fn fingerprint(der: &[u8]) -> String {
    digest::digest(&digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn years_from_now(years: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + time::Duration::days(365 * years)
}

impl AccessCa {
    /// The authority in `dir` (`servers-ca.pem`, `servers-ca.key`), made
    /// on first use.
    pub fn load_or_create(dir: &Path) -> Result<AccessCa, CaError> {
        let cert_path = dir.join("servers-ca.pem");
        let key_path = dir.join("servers-ca.key");
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| CaError::Read {
                path: path.to_path_buf(),
                source,
            })
        };
        if cert_path.exists() && key_path.exists() {
            let ca_pem = read(&cert_path)?;
            let key = KeyPair::from_pem(&read(&key_path)?).map_err(|source| CaError::Parse {
                path: key_path.clone(),
                source,
            })?;
            let issuer =
                Issuer::from_ca_cert_pem(&ca_pem, key).map_err(|source| CaError::Parse {
                    path: cert_path.clone(),
                    source,
                })?;
            return Ok(AccessCa { ca_pem, issuer });
        }
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "hearth servers CA");
        dn.push(DnType::OrganizationName, "hearth appliance");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_after = years_from_now(30);
        let cert = params.self_signed(&key)?;
        let write = |path: &Path, text: &str, mode: u32| {
            write_atomically(path, text.as_bytes(), mode).map_err(|source| CaError::Write {
                path: path.to_path_buf(),
                source,
            })
        };
        create_private_dir(dir).map_err(|source| CaError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        // The key first: a crash in between leaves no certificate without it.
        write(&key_path, &key.serialize_pem(), 0o600)?;
        write(&cert_path, &cert.pem(), 0o644)?;
        Ok(AccessCa {
            ca_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A client certificate for member `owner` (its common name).
    pub fn issue_client(&self, owner: &str) -> Result<Issued, CaError> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, owner);
        dn.push(DnType::OrganizationName, "hearth servers");
        params.distinguished_name = dn;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }

    /// The front's certificate, naming every way the box may be reached.
    pub fn issue_front(&self, names: &SubjectNames) -> Result<Issued, CaError> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "hearth servers");
        params.distinguished_name = dn;
        params.subject_alt_names = names.alt_names();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params)
    }

    /// Signs `params` for a new key: a random serial, ten years.
    fn sign(&self, mut params: CertificateParams) -> Result<Issued, CaError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&random_serial()));
        params.not_after = years_from_now(10);
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Issued {
            fingerprint: fingerprint(cert.der()),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

fn random_serial() -> [u8; 16] {
    let mut serial = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut serial)
        .expect("the kernel's random source");
    // Positive, as X.509 wants.
    serial[0] &= 0x7f;
    serial
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authority_is_made_once_and_signs_what_it_issues() {
        let dir = tempfile::tempdir().unwrap();
        let ca = AccessCa::load_or_create(dir.path()).unwrap();
        let again = AccessCa::load_or_create(dir.path()).unwrap();
        assert_eq!(ca.ca_pem(), again.ca_pem());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("servers-ca.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let client = again.issue_client("ann").unwrap();
        let der = rustls_pki_types::pem::PemObject::from_pem_slice(client.cert_pem.as_bytes())
            .map(|c: rustls_pki_types::CertificateDer<'static>| c)
            .unwrap();
        assert_eq!(client.fingerprint, fingerprint(&der));
        let (_, parsed) = x509_parser::parse_x509_certificate(&der).unwrap();
        let cn = parsed.subject().iter_common_name().next().unwrap();
        assert_eq!(cn.as_str().unwrap(), "ann");
        assert_eq!(
            parsed.issuer().to_string(),
            "CN=hearth servers CA, O=hearth appliance"
        );
        assert_ne!(
            client.fingerprint,
            again.issue_client("ann").unwrap().fingerprint
        );
    }

    #[test]
    fn a_damaged_authority_is_an_error_naming_its_file() {
        let dir = tempfile::tempdir().unwrap();
        AccessCa::load_or_create(dir.path()).unwrap();
        std::fs::write(dir.path().join("servers-ca.pem"), "not a certificate").unwrap();
        let err = AccessCa::load_or_create(dir.path()).unwrap_err();
        assert!(matches!(err, CaError::Parse { .. }), "{err:?}");
        assert!(err.to_string().contains("servers-ca.pem"), "{err}");
        // The key is never in the message.
        assert!(!err.to_string().contains("PRIVATE"), "{err}");
    }
}
