//! Each domain's health as people see it on the `proxy` topic: whether
//! its name resolves to this box, and the certificate Caddy shows for it.
//! The checks themselves are in `probe`; the checker (`checker`) runs
//! them after each load and every few minutes, and hands the results to
//! the service, from which the manager's next report takes them.

use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

use super::model::{Domain, TlsMode};
use super::probe::{self, CertInfo, Resolution};
use crate::clock::now_ms;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainHealth {
    pub checked_ms: u64,
    pub dns: Resolution,
    /// The certificate Caddy presents for the name (not for `tls: off`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertInfo>,
    /// Why the certificate could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_error: Option<String>,
}

/// Checks one domain: `https` is where Caddy's HTTPS listener is reached
/// from the box itself.
pub async fn check(domain: &Domain, https: SocketAddr, box_addresses: &[IpAddr]) -> DomainHealth {
    let dns = probe::resolve(domain.name.as_str(), box_addresses).await;
    let (certificate, certificate_error) =
        if domain.tls == TlsMode::Off || domain.name.is_wildcard() {
            (None, None)
        } else {
            match probe::certificate(https, domain.name.as_str()).await {
                Ok(c) => (Some(c), None),
                Err(e) => (None, Some(e.to_string())),
            }
        };
    DomainHealth {
        checked_ms: now_ms(),
        dns,
        certificate,
        certificate_error,
    }
}
