//! Starts the servers' manager, where hearth runs the members' virtual
//! servers (not under `--dev`): its loop wakes on a change of the
//! servers' records, on their units' D-Bus signals and on their engines'
//! events, and its report goes to the `servers` topic.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

use super::ManagerLoop;
use super::system::bus;
use crate::component::Component;
use crate::config::Config;
use crate::health::ComponentState;
use crate::reconcile::{self, ReconcileContext, Wakes};
use crate::servers::access::ca::AccessCa;
use crate::servers::access::certs::CertsService;
use crate::servers::access::front;
use crate::servers::adapter::HostMachinery;
use crate::servers::engines::Engines;
use crate::servers::helper::Layout;
use crate::servers::run::ServersManager;
use crate::servers::signals;
use crate::servers::usage;
use crate::store::{Store, Table};
use crate::tls::SubjectNames;

pub(super) fn start_servers(
    config: &Config,
    store: &Store,
    ca: Option<&Arc<AccessCa>>,
    run: &mut ManagerLoop<'_>,
) {
    let s = &config.servers;
    if !s.manage {
        run.health.set(
            Component::Servers,
            ComponentState::Disabled,
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
        start_front(config, store, ca, layout.clone(), run);
    }
    let (units_tx, units_rx) = watch::channel(0u64);
    run.tasks.spawn(
        "servers' unit signals",
        signals::follow_units(bus, units_tx, run.shutdown.clone()),
    );
    let (usage_tx, usage_rx) = watch::channel(0u64);
    run.tasks.spawn(
        "servers' usage",
        usage::tick_every(usage_tx, run.shutdown.clone()),
    );
    let publish = super::events_for(run.hub);
    let mut manager = ServersManager::new(store.clone(), machinery)
        .with_engines(Engines::new(layout.clone(), engines_tx))
        .with_usage(PathBuf::from(usage::SERVERS_SLICE))
        .with_journal(s.journal_dir.clone());
    if let Some(tar) = &s.base_image {
        manager = manager.with_base_image(tar.clone(), layout);
    }
    run.tasks.spawn(
        "servers",
        reconcile::run(
            manager,
            Wakes::new()
                .watch("store", store.watch(Table::Servers))
                .watch("units", units_rx)
                .watch("engines", engines_rx)
                .watch("usage", usage_rx),
            ReconcileContext::new(run.health.clone(), run.liveness.clone(), publish),
            run.shutdown.clone().cancelled_owned(),
        ),
    );
}

/// The servers' certificate authority in the state folder (made on first
/// start). A failure leaves the rest of hearth running: the certificates'
/// API answers 503, there is no front, and the log says why.
pub(super) fn authority(config: &Config) -> Option<Arc<AccessCa>> {
    match AccessCa::load_or_create(&config.state_dir) {
        Ok(ca) => Some(Arc::new(ca)),
        Err(e) => {
            tracing::error!(error = %e, "the servers' certificate authority is unusable");
            None
        }
    }
}

/// The members' engine certificates.
pub(super) fn certificates(store: &Store, ca: Option<&Arc<AccessCa>>) -> Option<Arc<CertsService>> {
    ca.map(|ca| Arc::new(CertsService::new(store.clone(), ca.clone())))
}

/// The TLS front of the engines, where hearth runs the servers.
fn start_front(
    config: &Config,
    store: &Store,
    ca: &AccessCa,
    layout: Layout,
    run: &mut ManagerLoop<'_>,
) {
    let tls = match front::tls_config(ca, &SubjectNames::of_this_machine()) {
        Ok(tls) => tls,
        Err(e) => {
            tracing::error!(error = %e, "servers: no TLS front for the engines");
            return;
        }
    };
    run.tasks.spawn(
        "servers' TLS front",
        front::run(
            store.clone(),
            tls,
            layout,
            config.servers.front_address,
            run.shutdown.clone(),
        ),
    );
}
