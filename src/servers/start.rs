//! Starts the servers' manager, where hearth runs the members' virtual
//! servers (not under `--dev`): its loop wakes on a change of the
//! servers' records, on their units' D-Bus signals and on their engines'
//! events, and its report goes to the `servers` topic.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

use super::access::ca::AccessCa;
use super::access::certs::CertsService;
use super::access::front;
use super::adapter::HostMachinery;
use super::engines::Engines;
use super::helper::Layout;
use super::run::ServersManager;
use super::signals;
use super::usage;
use crate::component::Component;
use crate::config::Config;
use crate::reconcile::{Launch, Timing, Wakes};
use crate::store::{Store, Table};
use crate::system::start::bus;
use crate::tls::SubjectNames;

pub fn start(config: &Config, store: &Store, ca: Option<&Arc<AccessCa>>, launch: &mut Launch<'_>) {
    let s = &config.servers;
    if !s.manage {
        launch.not_present(
            Component::Servers,
            "--dev runs no virtual servers (set servers.manage = true to run them)",
        );
        return;
    }
    let bus = bus(config);
    let layout = Layout::new(&s.storage, &s.run_dir);
    let machinery = Arc::new(HostMachinery::new(
        bus.clone(),
        &s.helper_socket,
        layout.clone(),
    ));
    let (engines_tx, engines_rx) = watch::channel(0u64);
    if let Some(ca) = ca {
        start_front(config, store, ca, layout.clone(), launch);
    }
    let (units_tx, units_rx) = watch::channel(0u64);
    let signals = signals::follow_units(bus, units_tx, launch.shutdown.clone());
    launch.spawn("servers' unit signals", signals);
    let mut manager = ServersManager::new(store.clone(), machinery)
        .with_engines(Engines::new(
            layout.clone(),
            engines_tx,
            launch.shutdown.clone(),
        ))
        .with_usage(PathBuf::from(usage::SERVERS_SLICE))
        .with_journal(s.journal_dir.clone());
    if let Some(tar) = &s.base_image {
        manager = manager.with_base_image(tar.clone(), layout);
    }
    launch.manager(
        manager,
        Wakes::new()
            .watch("store", store.watch(Table::Servers))
            .watch("units", units_rx)
            .watch("engines", engines_rx)
            .every("usage", usage::INTERVAL),
        Timing::default(),
    );
}

/// The servers' certificate authority in the state folder (made on first
/// start). A failure leaves the rest of hearth running: the certificates'
/// API answers 503, there is no front, and the log says why.
pub fn authority(config: &Config) -> Option<Arc<AccessCa>> {
    match AccessCa::load_or_create(&config.state_dir) {
        Ok(ca) => Some(Arc::new(ca)),
        Err(e) => {
            tracing::error!(error = %e, "the servers' certificate authority is unusable");
            None
        }
    }
}

/// The members' engine certificates.
pub fn certificates(store: &Store, ca: Option<&Arc<AccessCa>>) -> Option<Arc<CertsService>> {
    ca.map(|ca| Arc::new(CertsService::new(store.clone(), ca.clone())))
}

/// The TLS front of the engines, where hearth runs the servers.
fn start_front(
    config: &Config,
    store: &Store,
    ca: &AccessCa,
    layout: Layout,
    launch: &mut Launch<'_>,
) {
    let tls = match front::tls_config(ca, &SubjectNames::of_this_machine()) {
        Ok(tls) => tls,
        Err(e) => {
            tracing::error!(error = %e, "servers: no TLS front for the engines");
            return;
        }
    };
    let front = front::run(
        store.clone(),
        tls,
        layout,
        config.servers.front_address,
        launch.shutdown.clone(),
    );
    launch.spawn("servers' TLS front", front);
}
