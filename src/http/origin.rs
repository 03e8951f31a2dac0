//! The box's own origins: where its pages may send a state-changing
//! request from.
//!
//! A browser names the page that sent a request in `Origin`. The check
//! used to compare it with the request's own `Host`, which the sender
//! chooses: a page on a name rebound to the box's address (DNS
//! rebinding) sends matching ones. Now the origin's host must be one the
//! box answers to: a name or address in the certificate it serves, an
//! address it has now, or the domain the setup gave it. The port is not
//! compared: a box reached through a port forward or behind Caddy is seen
//! on another port than it listens on, and the threat is another site,
//! not another port of this one.

use std::net::IpAddr;

use http::Uri;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// A host an origin may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnHost {
    /// A DNS name, lowercase.
    Name(String),
    Ip(IpAddr),
}

impl OwnHost {
    pub fn name(name: &str) -> OwnHost {
        OwnHost::Name(name.trim_end_matches('.').to_ascii_lowercase())
    }
}

/// Whether `origin` (an `Origin` header's value) is an `https` origin on
/// one of `hosts`. `null`, another scheme, or a value that is not an
/// origin is not.
pub fn is_own(origin: &str, hosts: &[OwnHost]) -> bool {
    let Ok(uri) = origin.parse::<Uri>() else {
        return false;
    };
    // An origin is scheme://host[:port], nothing after it.
    if uri.scheme_str() != Some("https") || !matches!(uri.path(), "" | "/") {
        return false;
    }
    let Some(host) = uri.host() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let wanted = match bare.parse::<IpAddr>() {
        Ok(ip) => OwnHost::Ip(ip),
        Err(_) => OwnHost::name(bare),
    };
    hosts.contains(&wanted)
}

/// The names and addresses a certificate (DER) is for: its subject
/// alternative names. A certificate that does not parse names none.
pub fn certificate_hosts(der: &[u8]) -> Vec<OwnHost> {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(OwnHost::name(dns)),
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => Some(OwnHost::Ip(IpAddr::from(<[u8; 4]>::try_from(*bytes).ok()?))),
                16 => Some(OwnHost::Ip(IpAddr::from(
                    <[u8; 16]>::try_from(*bytes).ok()?,
                ))),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Vec<OwnHost> {
        vec![
            OwnHost::name("attic"),
            OwnHost::name("hearth.local"),
            OwnHost::name("Box.Example.COM."),
            OwnHost::Ip("192.168.1.10".parse().unwrap()),
            OwnHost::Ip("::1".parse().unwrap()),
        ]
    }

    #[test]
    fn the_box_names_on_any_port_are_its_own() {
        for own in [
            "https://attic:8443",
            "https://hearth.local:8443",
            "https://HEARTH.local",
            "https://box.example.com",
            "https://box.example.com:443",
            "https://192.168.1.10:8444",
            "https://[::1]:8443",
        ] {
            assert!(is_own(own, &hosts()), "{own}");
        }
    }

    #[test]
    fn other_sites_schemes_and_non_origins_are_not() {
        for foreign in [
            "https://evil.example",
            "https://attic.evil.example",
            "https://192.168.1.11:8443",
            "http://attic:8443",
            "null",
            "",
            "attic",
            "https://attic:8443/path",
            "https://[::2]",
        ] {
            assert!(!is_own(foreign, &hosts()), "{foreign}");
        }
    }

    #[test]
    fn the_self_signed_certificate_names_its_hosts() {
        let names = crate::tls::self_signed::SubjectNames::new(
            Some("attic"),
            &["192.168.1.10".parse().unwrap()],
        );
        let (pem, _key) = crate::tls::self_signed::generate(&names).unwrap();
        let der = rustls_pemfile_der(&pem);
        let found = certificate_hosts(&der);
        for host in [
            OwnHost::name("attic"),
            OwnHost::name("hearth.local"),
            OwnHost::name("localhost"),
            OwnHost::Ip("127.0.0.1".parse().unwrap()),
            OwnHost::Ip("::1".parse().unwrap()),
            OwnHost::Ip("192.168.1.10".parse().unwrap()),
        ] {
            assert!(found.contains(&host), "{host:?} in {found:?}");
        }
        assert!(certificate_hosts(b"not a certificate").is_empty());
    }

    fn rustls_pemfile_der(pem: &str) -> Vec<u8> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        CertificateDer::from_pem_slice(pem.as_bytes())
            .unwrap()
            .to_vec()
    }
}
