use super::self_signed::generate;
use super::*;
use rustls::pki_types::pem::PemObject;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;

fn self_signed(generated_now: bool) -> CertSource {
    CertSource::SelfSigned { generated_now }
}

/// The permission bits of the file at `path`.
fn mode(path: impl AsRef<std::path::Path>) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn subject_names_cover_fixed_names_and_addresses() {
    let addrs: Vec<IpAddr> = vec![
        "192.168.1.20".parse().unwrap(),
        "fe80::1".parse().unwrap(),
        "2001:db8::5".parse().unwrap(),
        "127.0.0.1".parse().unwrap(),
    ];
    let names = SubjectNames::new(Some("MyBox"), &addrs);
    assert_eq!(names.dns, vec!["mybox", "hearth.local", "localhost"]);
    assert_eq!(
        names.ips,
        vec![
            "127.0.0.1".parse::<IpAddr>().unwrap(),
            "::1".parse().unwrap(),
            "192.168.1.20".parse().unwrap(),
            "2001:db8::5".parse().unwrap(),
        ]
    );
}

#[test]
fn subject_names_without_hostname() {
    let names = SubjectNames::new(None, &[]);
    assert_eq!(names.dns, vec!["hearth.local", "localhost"]);
}

#[test]
fn generated_pair_is_saved_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let first = load_or_generate(dir.path(), None).unwrap();
    assert_eq!(first.source, self_signed(true));
    assert_eq!(mode(dir.path().join("tls/key.pem")), 0o600);
    assert_eq!(mode(dir.path().join("tls")), 0o700);
    let second = load_or_generate(dir.path(), None).unwrap();
    assert_eq!(second.source, self_signed(false));
    assert_eq!(first.fingerprint, second.fingerprint);
    assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
}

#[test]
fn lone_certificate_is_set_aside_and_a_new_pair_made() {
    let dir = tempfile::tempdir().unwrap();
    let first = load_or_generate(dir.path(), None).unwrap();
    std::fs::remove_file(dir.path().join("tls/key.pem")).unwrap();
    let second = load_or_generate(dir.path(), None).unwrap();
    assert_eq!(second.source, self_signed(true));
    assert_ne!(first.fingerprint, second.fingerprint);
    let aside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("tls.incomplete-"))
        .collect();
    assert_eq!(aside.len(), 1, "the half pair is kept for inspection");
    assert!(dir.path().join(&aside[0]).join("cert.pem").exists());
}

#[test]
fn generated_certificate_is_p256_and_names_loopback() {
    let names = SubjectNames::new(Some("box"), &["192.168.1.2".parse().unwrap()]);
    let (cert_pem, key_pem) = generate(&names).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    let signing = rustls::crypto::ring::default_provider()
        .key_provider
        .load_private_key(key)
        .unwrap();
    assert_eq!(signing.algorithm(), rustls::SignatureAlgorithm::ECDSA);
    let der = CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap();
    let cert = webpki_end_entity(&der);
    for name in [
        "box",
        "hearth.local",
        "localhost",
        "127.0.0.1",
        "::1",
        "192.168.1.2",
    ] {
        let server_name = rustls::pki_types::ServerName::try_from(name).unwrap();
        assert!(
            cert.verify_is_valid_for_subject_name(&server_name).is_ok(),
            "certificate does not name {name}"
        );
    }
    // P-256: the SubjectPublicKeyInfo names the prime256v1 curve.
    let p256_oid = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    assert!(der.windows(p256_oid.len()).any(|w| w == p256_oid));
}

fn webpki_end_entity<'a>(der: &'a CertificateDer<'a>) -> webpki::EndEntityCert<'a> {
    webpki::EndEntityCert::try_from(der).unwrap()
}

#[test]
fn configured_pair_must_match() {
    let dir = tempfile::tempdir().unwrap();
    let names = SubjectNames::new(Some("a"), &[]);
    let (cert_a, _) = generate(&names).unwrap();
    let (_, key_b) = generate(&names).unwrap();
    std::fs::write(dir.path().join("c.pem"), cert_a).unwrap();
    std::fs::write(dir.path().join("k.pem"), key_b).unwrap();
    let files = crate::config::TlsFiles {
        cert: dir.path().join("c.pem"),
        key: dir.path().join("k.pem"),
    };
    let err = load_or_generate(dir.path(), Some(&files)).err().unwrap();
    assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err}");
}

#[test]
fn unreadable_key_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = generate(&SubjectNames::new(None, &[])).unwrap();
    std::fs::write(dir.path().join("c.pem"), cert).unwrap();
    std::fs::write(dir.path().join("k.pem"), "not a key").unwrap();
    let files = crate::config::TlsFiles {
        cert: dir.path().join("c.pem"),
        key: dir.path().join("k.pem"),
    };
    let err = load_or_generate(dir.path(), Some(&files)).err().unwrap();
    assert!(err.to_string().contains("k.pem"), "{err}");
}
