//! Starts the proxy: the service the API uses, and, where hearth drives
//! Caddy, its manager on `reconcile::run`, the on-demand ask endpoint and
//! the domain health checker.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::adapter::CaddySocket;
use super::render::{CaddySettings, HearthUpstream};
use super::run::ProxyManager;
use super::service::ProxyService;
use super::upstream::hearth_upstream;
use super::{ask, checker};
use crate::component::Component;
use crate::config::Config;
use crate::health::ComponentState;
use crate::reconcile::{Launch, Observation, Timing, Wakes};
use crate::store::{Store, Table};
use crate::tls::TlsMaterial;

/// Caddy's pin on hearth's certificate (the box's own domain is proxied
/// to hearth, trusting that certificate alone): told of a new one, the
/// proxy manager loads Caddy again.
pub struct HearthPin {
    tx: tokio::sync::watch::Sender<HearthUpstream>,
    listen: SocketAddr,
}

impl HearthPin {
    /// Pins the certificate now in `material`'s file.
    pub fn update(&self, material: &TlsMaterial) {
        let pem = std::fs::read_to_string(&material.cert_path).unwrap_or_default();
        match hearth_upstream(self.listen, &pem) {
            Some(upstream) => {
                self.tx.send_if_modified(|pinned| {
                    let changed = *pinned != upstream;
                    *pinned = upstream;
                    changed
                });
            }
            None => tracing::error!(
                cert = %material.cert_path.display(),
                "cannot read hearth's new certificate for Caddy: the box's domain keeps the old pin"
            ),
        }
    }
}

/// How long a burst of domain changes is gathered into one load.
const DEBOUNCE: Duration = Duration::from_millis(500);
/// How often Caddy's running config is read back when nothing woke the
/// manager: a restarted Caddy (back on its boot config) is loaded again
/// within this.
const DRIFT: Duration = Duration::from_secs(2);

pub async fn start(
    config: &Config,
    store: &Store,
    listen: SocketAddr,
    material: &TlsMaterial,
    launch: &mut Launch<'_>,
) -> (Arc<ProxyService>, Option<HearthPin>) {
    let p = &config.proxy;
    if !p.manage {
        let why = "--dev leaves Caddy alone (set proxy.manage = true to drive it)";
        launch.not_present(Component::Proxy, why);
        let service = ProxyService::new(
            store.clone(),
            listen.port(),
            Observation::NotPresent { reason: why.into() },
        );
        return (Arc::new(service), None);
    }
    let service = Arc::new(ProxyService::new(
        store.clone(),
        listen.port(),
        Observation::Present(()),
    ));
    let pem = std::fs::read_to_string(&material.cert_path).unwrap_or_default();
    let Some(hearth) = hearth_upstream(listen, &pem) else {
        let why = format!(
            "cannot read hearth's certificate at {}",
            material.cert_path.display()
        );
        launch
            .health
            .set(Component::Proxy, ComponentState::Degraded, why);
        return (service, None);
    };
    let (pin, pinned) = tokio::sync::watch::channel(hearth.clone());
    match tokio::net::TcpListener::bind(p.ask_listen).await {
        Ok(listener) => {
            let stop = launch.shutdown.clone().cancelled_owned();
            launch.spawn(
                "on-demand ask endpoint",
                ask::serve(listener, service.clone(), stop),
            );
        }
        // Only wildcard domains need it: the rest works on.
        Err(e) => tracing::warn!(
            addr = %p.ask_listen,
            error = %e,
            "cannot listen for Caddy's on-demand question: wildcard domains get no certificates"
        ),
    }
    let settings = CaddySettings {
        admin_socket: p.admin_socket.clone(),
        storage: p.storage.clone(),
        bind: p.bind,
        http_port: p.http_port,
        https_port: p.https_port,
        ask_url: format!("http://{}{}", p.ask_listen, ask::PATH),
        acme_ca: p.acme_ca.clone(),
        acme_roots: p.acme_roots.clone(),
        hearth,
    };
    let https = SocketAddr::new(
        p.bind
            .filter(|ip| !ip.is_unspecified())
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        p.https_port,
    );
    let (checked, checked_rx) = tokio::sync::watch::channel(());
    let checks = checker::run(
        service.clone(),
        https,
        checked,
        launch.heartbeat(Component::Proxy),
        launch.shutdown.clone(),
    );
    launch.spawn("domain health checker", checks);
    launch.manager(
        ProxyManager::new(
            service.clone(),
            Arc::new(CaddySocket::new(&p.admin_socket)),
            settings,
        )
        .following_hearth(pinned.clone()),
        Wakes::new()
            .watch("store", store.watch(Table::Domains))
            // The ACME e-mail lives in the settings.
            .watch("settings", store.watch(Table::Settings))
            // A domain may lead to a member's server: rendered from
            // its record (deleted, stopped, ports changed).
            .watch("servers", store.watch(Table::Servers))
            .watch("health", checked_rx)
            .watch("certificate", pinned),
        Timing {
            debounce: DEBOUNCE,
            drift: DRIFT,
            backoff_cap: Duration::from_secs(30),
            ..Timing::default()
        },
    );
    (service, Some(HearthPin { tx: pin, listen }))
}

/// The uid of Caddy's user, whose loopback connections are believed on
/// the client's address; `None` where hearth does not drive Caddy or
/// the user does not exist.
pub fn caddy_uid(config: &Config) -> Option<u32> {
    if !config.proxy.manage {
        return None;
    }
    match nix::unistd::User::from_name(&config.proxy.caddy_user) {
        Ok(Some(user)) => Some(user.uid.as_raw()),
        _ => {
            tracing::warn!(user = %config.proxy.caddy_user, "Caddy's user does not exist: X-Forwarded-For is believed from nobody");
            None
        }
    }
}
