use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::PrivateKeyDer;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[tokio::test]
async fn localhost_resolves_to_this_box() {
    let found = resolve("localhost", &[LOOPBACK]).await;
    assert_eq!(found.error, None);
    assert!(found.to_this_box, "{found:?}");
    assert!(
        found.addresses.contains(&LOOPBACK)
            || found.addresses.contains(&Ipv6Addr::LOCALHOST.into())
    );
    // ::1 is not in the box's list given here, so it would be foreign.
    assert!(!found.foreign.contains(&LOOPBACK));
    let mut sorted = found.addresses.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, found.addresses);
}

#[tokio::test]
async fn localhost_is_foreign_to_another_box() {
    let found = resolve("localhost", &["192.0.2.7".parse().unwrap()]).await;
    assert!(!found.to_this_box);
    assert_eq!(found.foreign, found.addresses);
}

#[tokio::test]
async fn an_invalid_name_does_not_resolve() {
    let found = resolve("nothing-here.invalid", &[LOOPBACK]).await;
    assert!(found.error.is_some());
    assert!(found.addresses.is_empty());
    assert!(!found.to_this_box);
}

#[tokio::test]
async fn a_wildcard_is_not_looked_up() {
    let found = resolve("*.example.org", &[LOOPBACK]).await;
    assert_eq!(
        found.error.as_deref(),
        Some("a wildcard name is checked per host")
    );
    assert!(found.addresses.is_empty());
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A leaf for `app.test`, valid 30 days, issued by "Probe Test CA": the
/// chain (leaf first) and the leaf's key.
fn issued_for_app_test() -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name = DistinguishedName::new();
    ca.distinguished_name
        .push(DnType::CommonName, "Probe Test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut leaf = CertificateParams::new(vec!["app.test".to_owned()]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    leaf.not_before = now - time::Duration::days(1);
    leaf.not_after = now + time::Duration::days(30);
    let leaf = leaf.signed_by(&key, &issuer).unwrap();
    let key = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    (vec![leaf.der().clone(), ca_cert.der().clone()], key)
}

/// A TLS server on 127.0.0.1 presenting `chain` to one client.
async fn serve_once(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let listener = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        if let Ok(mut tls) = TlsAcceptor::from(Arc::new(config)).accept(tcp).await {
            let mut rest = Vec::new();
            let _ = tls.read_to_end(&mut rest).await;
        }
    });
    addr
}

#[tokio::test]
async fn reads_the_certificate_presented_for_a_name() {
    let (chain, key) = issued_for_app_test();
    let addr = serve_once(chain, key).await;
    let before = now_ms();
    let info = certificate(addr, "app.test").await.unwrap();
    assert_eq!(info.issuer, "Probe Test CA");
    assert_eq!(info.subject_names, vec!["app.test"]);
    assert!(!info.self_signed);
    let thirty_days: u64 = 30 * 24 * 3600 * 1000;
    let slack: u64 = 3600 * 1000;
    assert!(
        info.not_after_ms + slack >= before + thirty_days,
        "{info:?}"
    );
    assert!(
        info.not_after_ms <= now_ms() + thirty_days + slack,
        "{info:?}"
    );
}

#[tokio::test]
async fn a_self_signed_certificate_without_common_name_shows_the_whole_issuer() {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(vec!["app.test".to_owned()]).unwrap();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "hearth appliance");
    let cert = params.self_signed(&key).unwrap();
    let key = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let addr = serve_once(vec![cert.der().clone()], key).await;
    // The SNI need not match: the certificate is read, not trusted.
    let info = certificate(addr, "other.test").await.unwrap();
    assert_eq!(info.issuer, "O=hearth appliance");
    assert!(info.self_signed);
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let listener = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = certificate(addr, "app.test").await.unwrap_err();
    assert!(
        matches!(err, ProbeError::Connect { addr: a, .. } if a == addr),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_name_tls_cannot_carry_is_a_handshake_error() {
    let addr = SocketAddr::from((LOOPBACK, 9));
    let err = certificate(addr, "not a name").await.unwrap_err();
    assert!(matches!(err, ProbeError::Handshake { .. }), "{err:?}");
}
