//! Starts the servers' manager, where hearth runs the members' virtual
//! servers (not under `--dev`): its loop wakes on a change of the
//! servers' records, on their units' D-Bus signals and on their engines'
//! events, and its report goes to the `servers` topic.

use std::sync::Arc;

use tokio::sync::watch;

use super::ManagerLoop;
use super::system::bus;
use crate::component::Component;
use crate::config::Config;
use crate::events::Topic;
use crate::health::ComponentState;
use crate::reconcile::{self, ReconcileContext, Wakes};
use crate::servers::adapter::HostMachinery;
use crate::servers::engines::Engines;
use crate::servers::helper::Layout;
use crate::servers::run::ServersManager;
use crate::servers::signals;
use crate::store::{Store, Table};

pub(super) fn start_servers(config: &Config, store: &Store, run: &mut ManagerLoop<'_>) {
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
    let (units_tx, units_rx) = watch::channel(0u64);
    run.tasks.spawn(
        "servers' unit signals",
        signals::follow_units(bus, units_tx, run.shutdown.clone()),
    );
    let hub = run.hub.clone();
    let publish: reconcile::Publish = Arc::new(move |json| {
        hub.publish(Topic::Servers, json);
    });
    run.tasks.spawn(
        "servers",
        reconcile::run(
            ServersManager::new(store.clone(), machinery)
                .with_engines(Engines::new(layout, engines_tx)),
            Wakes::new()
                .watch("store", store.watch(Table::Servers))
                .watch("units", units_rx)
                .watch("engines", engines_rx),
            ReconcileContext::new(run.health.clone(), run.liveness.clone(), publish),
            run.shutdown.clone().cancelled_owned(),
        ),
    );
}
