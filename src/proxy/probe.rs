//! The per-domain health checks shown on the `proxy` topic: does the name
//! lead to this box, and which certificate does the box present for it.
//!
//! Both look from the box itself, with its own resolver and towards its own
//! address, so they say what hearth can know (the name's DNS records reach
//! here, Caddy has a certificate for it), not what a visitor elsewhere sees.
//! Neither fails the caller: a name that does not resolve is a finding, and
//! a certificate that cannot be read is reported as a [`ProbeError`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::DigitallySignedStruct;
use rustls::SignatureScheme;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use x509_parser::extensions::GeneralName;

/// A resolver that does not answer in this long is as good as none: the
/// check runs in the background and must not hold the topic up.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// Connect plus handshake; a TLS server on the LAN answers in milliseconds.
const CERTIFICATE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the system resolver says about a name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution {
    /// Every address the name resolves to, deduplicated and sorted.
    pub addresses: Vec<IpAddr>,
    /// At least one address is the box's. Not "all": a name may also point
    /// at a second machine or keep an old record, and it still reaches here.
    pub to_this_box: bool,
    /// The addresses that are not the box's, to show beside the verdict.
    pub foreign: Vec<IpAddr>,
    /// Why there are no addresses, when there are none.
    pub error: Option<String>,
}

impl Resolution {
    fn failed(message: &str) -> Resolution {
        Resolution {
            addresses: Vec::new(),
            to_this_box: false,
            foreign: Vec::new(),
            error: Some(message.to_owned()),
        }
    }
}

/// Resolves `name` with the system resolver and compares the answer with
/// the box's own addresses.
///
/// A wildcard (`*.example.org`) is not looked up: resolving one made-up
/// label under it would say nothing certain about the hosts people use.
pub async fn resolve(name: &str, box_addresses: &[IpAddr]) -> Resolution {
    if name.starts_with("*.") {
        return Resolution::failed("a wildcard name is checked per host");
    }
    let found =
        match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name, 443))).await {
            Err(_) => return Resolution::failed("the resolver did not answer within 3 s"),
            // The resolver's own wording ("failed to lookup address
            // information: Name or service not known") helps nobody here.
            Ok(Err(_)) => return Resolution::failed("does not resolve"),
            Ok(Ok(found)) => found,
        };
    let mut addresses: Vec<IpAddr> = found.map(|a| a.ip().to_canonical()).collect();
    addresses.sort();
    addresses.dedup();
    if addresses.is_empty() {
        return Resolution::failed("does not resolve");
    }
    let ours = |ip: &IpAddr| box_addresses.iter().any(|b| b.to_canonical() == *ip);
    let foreign: Vec<IpAddr> = addresses.iter().copied().filter(|ip| !ours(ip)).collect();
    Resolution {
        to_this_box: foreign.len() < addresses.len(),
        addresses,
        foreign,
        error: None,
    }
}

/// The certificate a TLS server presents for a name, as far as a person
/// needs it: who issued it, which names it covers, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// The issuer's common name, or the whole issuer DN when it has none.
    pub issuer: String,
    /// The DNS names of the subject alternative name extension, in order.
    pub subject_names: Vec<String>,
    /// The end of validity, in milliseconds since the Unix epoch.
    pub not_after_ms: u64,
    /// Issuer and subject are the same name: nobody vouches for it. (Whether
    /// a CA is public cannot be told without a root store, which hearth
    /// does not carry; the issuer's name shows it, e.g. Caddy's local CA.)
    pub self_signed: bool,
}

/// Why the certificate could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The server refused the handshake: typically it has no certificate
    /// for this name (yet), or the name is not one TLS can carry.
    #[error("the TLS handshake for {name} failed: {message}")]
    Handshake { name: String, message: String },
    #[error("the server presented no certificate")]
    NoCertificate,
    #[error("the certificate cannot be read: {0}")]
    Parse(String),
    #[error("no TLS handshake within 5 s")]
    TimedOut,
}

/// Connects to `connect`, shakes hands with SNI `name` and reads the leaf
/// certificate the server presents.
///
/// Any certificate is accepted (`ReadOnly`): this only reports what is
/// presented, so an expired or self-signed one must be read, not refused.
pub async fn certificate(connect: SocketAddr, name: &str) -> Result<CertInfo, ProbeError> {
    parse(&presented_certificate(connect, name).await?)
}

/// The leaf certificate the server at `connect` presents for `name`, in
/// DER, read without verifying it (see `ReadOnly`): what a person sees
/// before deciding to trust it.
pub async fn presented_certificate(
    connect: SocketAddr,
    name: &str,
) -> Result<CertificateDer<'static>, ProbeError> {
    let handshake_err = |message: String| ProbeError::Handshake {
        name: name.to_owned(),
        message,
    };
    let server_name = ServerName::try_from(name.to_owned())
        .map_err(|_| handshake_err("not a name TLS can carry".to_owned()))?;
    tokio::time::timeout(CERTIFICATE_TIMEOUT, async {
        let tcp = TcpStream::connect(connect)
            .await
            .map_err(|source| ProbeError::Connect {
                addr: connect,
                source,
            })?;
        let mut tls = TlsConnector::from(client_config())
            .connect(server_name, tcp)
            .await
            .map_err(|e| handshake_err(e.to_string()))?;
        let leaf = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|c| c.clone().into_owned())
            .ok_or(ProbeError::NoCertificate)?;
        // Nothing was sent; say goodbye properly. A failure here changes
        // nothing about the certificate already in hand.
        let _ = tls.shutdown().await;
        Ok(leaf)
    })
    .await
    .map_err(|_| ProbeError::TimedOut)?
}

/// Reads the parts of a DER certificate that [`CertInfo`] reports.
fn parse(der: &CertificateDer<'_>) -> Result<CertInfo, ProbeError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| ProbeError::Parse(e.to_string()))?;
    let issuer = cert
        .issuer()
        .iter_common_name()
        .find_map(|cn| cn.as_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| cert.issuer().to_string());
    let subject_names = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                _ => None,
            })
            .collect(),
        Ok(None) => Vec::new(),
        Err(e) => return Err(ProbeError::Parse(e.to_string())),
    };
    // Before 1970 would be a broken certificate; it reads as long expired.
    let not_after_ms = u64::try_from(cert.validity().not_after.timestamp())
        .unwrap_or(0)
        .saturating_mul(1000);
    Ok(CertInfo {
        issuer,
        subject_names,
        not_after_ms,
        self_signed: cert.issuer().as_raw() == cert.subject().as_raw(),
    })
}

/// A client config that reads any certificate; see [`ReadOnly`].
fn client_config() -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ReadOnly(provider)))
        .with_no_client_auth();
    Arc::new(config)
}

/// A verifier that accepts every certificate, for reading it only.
///
/// Skipping verification is safe here because nothing rests on the
/// connection: no request and no data are sent over it, it is closed right
/// after the handshake, and what it yields is only shown to a person as the
/// certificate the server presents — never used to trust the server. A
/// verifying client would instead refuse exactly the certificates worth
/// reporting (expired, self-signed, for another name). The handshake's
/// signatures are still checked, so the peer holds the certificate's key.
#[derive(Debug)]
struct ReadOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for ReadOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests;
