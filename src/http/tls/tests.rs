use super::self_signed::generate;
use super::*;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;

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
    assert_eq!(
        first.source,
        CertSource::SelfSigned {
            generated_now: true
        }
    );
    let key_mode = std::fs::metadata(dir.path().join("tls/key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(dir.path().join("tls"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let second = load_or_generate(dir.path(), None).unwrap();
    assert_eq!(
        second.source,
        CertSource::SelfSigned {
            generated_now: false
        }
    );
    assert_eq!(first.fingerprint, second.fingerprint);
    assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
}

#[test]
fn lone_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    load_or_generate(dir.path(), None).unwrap();
    std::fs::remove_file(dir.path().join("tls/key.pem")).unwrap();
    let err = load_or_generate(dir.path(), None).err().unwrap();
    assert!(matches!(err, TlsError::Incomplete { .. }), "{err}");
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
