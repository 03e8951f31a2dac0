//! What request handlers may reach: the handles the daemon gives the HTTP
//! layer. Handlers call into these modules; they never see their internals.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::access_changes::AccessChanges;
use super::limits::ConnectionLimiter;
use super::origin::{OwnHost, certificate_hosts};
use crate::accounts::{BoxSettings, Sessions, Setup, Tokens, TwoFactor, Users};
use crate::config::Limits;
use crate::connection_epoch::ConnectionEpoch;
use crate::events::Hub;
use crate::firewall::service::FirewallService;
use crate::health::Health;
use crate::metrics::sampler::MetricsState;
use crate::proxy::service::ProxyService;
use crate::servers::access::certs::CertsService;
use crate::servers::service::ServersService;
use crate::store::Store;
use crate::system::units::Units;
use crate::tls::CertSlot;
use crate::tls::self_signed::SubjectNames;

pub struct AppContext {
    pub health: Health,
    pub store: Store,
    pub hub: Hub,
    pub metrics: Arc<MetricsState>,
    pub setup: Arc<Setup>,
    pub sessions: Arc<Sessions>,
    pub users: Arc<Users>,
    pub tokens: Arc<Tokens>,
    pub two_factor: Arc<TwoFactor>,
    pub settings: Arc<BoxSettings>,
    pub firewall: Arc<FirewallService>,
    pub proxy: Arc<ProxyService>,
    pub servers: Arc<ServersService>,
    /// Members' client certificates for their engines; `None` when the
    /// authority could not be read or made (the API answers 503).
    pub server_certs: Option<Arc<CertsService>>,
    /// Where the servers' logs are read (`None`: the system's journal).
    pub journal_dir: Option<std::path::PathBuf>,
    pub units: Option<Arc<Units>>,
    /// The epoch of new connections (see `connection_epoch`).
    /// Caddy's Linux user: its loopback connections carry the client's
    /// address in `X-Forwarded-For` (see `forwarded`); `None`: nobody's do.
    pub trusted_proxy_uid: Option<u32>,
    pub epoch: ConnectionEpoch,
    /// Open SSE streams per client address.
    pub streams: ConnectionLimiter,
    /// Wakes the open SSE streams to check their credentials again.
    pub access: AccessChanges,
    pub started: Instant,
    /// The address hearth's listener is bound to (its port is shown to
    /// signed-in users, who may be reaching the box through a proxy).
    pub local_addr: SocketAddr,
    /// The certificate the listener serves, for the names it is for
    /// (see [`AppContext::own_hosts`]); `None` in tests that serve none.
    pub cert: Option<CertSlot>,
}

/// The services the daemon opened at start (each read state from the
/// store then); users and tokens are made from the store here.
pub struct Services {
    pub setup: Arc<Setup>,
    pub sessions: Arc<Sessions>,
    pub settings: Arc<BoxSettings>,
    pub firewall: Arc<FirewallService>,
    pub proxy: Arc<ProxyService>,
    /// The box's services over D-Bus; `None` where hearth does not
    /// manage the system (`--dev`).
    pub units: Option<Arc<Units>>,
    pub server_certs: Option<Arc<CertsService>>,
    pub journal_dir: Option<std::path::PathBuf>,
    /// Where the servers' disks go, where hearth manages servers: a new
    /// server is refused when its disk does not fit.
    pub servers_layout: Option<crate::servers::helper::Layout>,
    pub epoch: ConnectionEpoch,
}

impl AppContext {
    pub fn new(
        health: Health,
        store: Store,
        hub: Hub,
        metrics: Arc<MetricsState>,
        services: Services,
        limits: &Limits,
        local_addr: SocketAddr,
    ) -> AppContext {
        AppContext {
            health,
            users: Arc::new(Users::new(store.clone())),
            tokens: Arc::new(Tokens::new(store.clone())),
            two_factor: Arc::new(TwoFactor::new(store.clone())),
            servers: Arc::new({
                let service = ServersService::new(store.clone()).reserving(local_addr.port());
                match services.servers_layout {
                    Some(layout) => service.with_storage(layout),
                    None => service,
                }
            }),
            store,
            hub,
            metrics,
            setup: services.setup,
            sessions: services.sessions,
            settings: services.settings,
            firewall: services.firewall,
            proxy: services.proxy,
            units: services.units,
            server_certs: services.server_certs,
            journal_dir: services.journal_dir,
            epoch: services.epoch,
            trusted_proxy_uid: None,
            streams: ConnectionLimiter::new(limits.max_connections, limits.max_streams_per_address),
            access: AccessChanges::default(),
            started: Instant::now(),
            local_addr,
            cert: None,
        }
    }

    /// The hosts the box's own pages are served on (see `origin`): the
    /// names and addresses of its certificate, of the machine now, and
    /// the domain the setup gave it.
    pub fn own_hosts(&self) -> Vec<OwnHost> {
        let mut hosts = Vec::new();
        if let Some(leaf) = self
            .cert
            .as_ref()
            .and_then(|s| s.current().cert.first().cloned())
        {
            hosts.extend(certificate_hosts(&leaf));
        }
        let machine = SubjectNames::of_this_machine();
        hosts.extend(machine.dns.iter().map(|n| OwnHost::name(n)));
        hosts.extend(machine.ips.iter().map(|ip| OwnHost::Ip(*ip)));
        match self.settings.profile() {
            Ok(profile) => hosts.extend(profile.domain.map(|d| OwnHost::name(&d.to_string()))),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the box's domain for the origin check")
            }
        }
        hosts
    }
}
