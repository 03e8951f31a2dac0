//! Each domain's health as people see it on the `proxy` topic: whether
//! its name resolves to this box, and the certificate Caddy shows for it.
//! The checks themselves are in `probe`; the checker task here runs them
//! after each load and every few minutes, and hands the results to the
//! service, from which the manager's next report takes them.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::model::{Domain, TlsMode};
use super::probe::{self, CertInfo, Resolution};
use super::service::ProxyService;
use super::stored;
use crate::clock::now_ms;

/// How often every domain is checked when nothing changes.
const EVERY: Duration = Duration::from_secs(300);
/// How soon after a check that found no certificate: a first one from a
/// public CA can take a while after the load.
const SOON: Duration = Duration::from_secs(30);

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

/// Runs until `shutdown`: checks every domain after each load report and
/// every [`EVERY`], hands the results to the service and `wake`s the
/// manager so that its next report carries them.
pub async fn run(
    service: Arc<ProxyService>,
    https: SocketAddr,
    wake: tokio::sync::watch::Sender<()>,
    shutdown: CancellationToken,
) {
    let mut loads = service.subscribe_loads();
    loop {
        let store = service.store().clone();
        let domains = tokio::task::spawn_blocking(move || stored::domains(&store))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let addresses = crate::host::addresses::of_this_machine();
        let mut results = BTreeMap::new();
        for d in &domains {
            // A first certificate takes a moment after a load.
            results.insert(d.name.to_string(), check(d, https, &addresses).await);
        }
        let missing = results.values().any(|h| h.certificate_error.is_some());
        if results != service.health() {
            service.set_health(results);
            wake.send_replace(());
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = loads.changed() => {
                // Let Caddy get the new certificates before looking.
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            () = tokio::time::sleep(if missing { SOON } else { EVERY }) => {}
        }
    }
}
