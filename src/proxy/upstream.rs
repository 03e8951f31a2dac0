//! hearth's own interface as Caddy's upstream, for a domain with the
//! target `hearth`: where Caddy dials (loopback, at hearth's port), the
//! certificate it pins, and the name it checks in it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use super::render::HearthUpstream;

/// The upstream for hearth listening on `listen` with the PEM
/// certificate `pem`; `None` if the PEM holds no certificate.
pub fn hearth_upstream(listen: SocketAddr, pem: &str) -> Option<HearthUpstream> {
    let certificate = first_certificate_base64(pem)?;
    Some(HearthUpstream {
        dial: dial(listen),
        server_name: server_name(&certificate).unwrap_or_else(|| "localhost".into()),
        certificate,
    })
}

/// Loopback when hearth listens on every address, else its own address.
fn dial(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip == Ipv6Addr::LOCALHOST => IpAddr::V6(ip),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// A PEM block's body is the DER in base64: the first certificate's
/// lines, joined.
fn first_certificate_base64(pem: &str) -> Option<String> {
    let start = pem.find("-----BEGIN CERTIFICATE-----")?;
    let body = &pem[start + "-----BEGIN CERTIFICATE-----".len()..];
    let end = body.find("-----END CERTIFICATE-----")?;
    let b64: String = body[..end].split_whitespace().collect();
    (!b64.is_empty()).then_some(b64)
}

/// `localhost` if the certificate names it (hearth's generated one
/// does), else its first DNS name.
fn server_name(b64: &str) -> Option<String> {
    let der = decode_base64(b64)?;
    let (_, cert) = X509Certificate::from_der(&der).ok()?;
    let names: Vec<String> = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some(d.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    names
        .iter()
        .find(|n| *n == "localhost")
        .or(names.first())
        .cloned()
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::self_signed::{SubjectNames, generate};

    #[test]
    fn hearths_own_certificate_is_pinned_by_name_localhost() {
        let names = SubjectNames::new(Some("mybox"), &["192.168.1.2".parse().unwrap()]);
        let (pem, _key) = generate(&names).unwrap();
        let up = hearth_upstream("[::]:8443".parse().unwrap(), &pem).unwrap();
        assert_eq!(up.dial, "127.0.0.1:8443".parse().unwrap());
        assert_eq!(up.server_name, "localhost");
        let der = decode_base64(&up.certificate).unwrap();
        assert!(X509Certificate::from_der(&der).is_ok());
    }

    #[test]
    fn dial_follows_the_listen_address() {
        assert_eq!(
            dial("192.168.1.2:9443".parse().unwrap()),
            "192.168.1.2:9443".parse().unwrap()
        );
        assert_eq!(
            dial("[::1]:8443".parse().unwrap()),
            "[::1]:8443".parse().unwrap()
        );
        assert_eq!(
            dial("0.0.0.0:8443".parse().unwrap()),
            "127.0.0.1:8443".parse().unwrap()
        );
    }

    #[test]
    fn no_certificate_no_upstream() {
        assert!(hearth_upstream("[::]:8443".parse().unwrap(), "not a pem").is_none());
    }

    #[test]
    fn base64_decodes() {
        assert_eq!(decode_base64("aGVhcnRo").unwrap(), b"hearth");
        assert!(decode_base64("a*b=").is_none());
    }
}
