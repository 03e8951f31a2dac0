//! Starts the follower of the box's services over systemd's D-Bus, where
//! hearth manages the system (not under `--dev`): its states go to the
//! `services` topic, its connection's health to the component `system`.

use std::sync::Arc;
use std::time::Duration;

use super::ManagerLoop;
use crate::component::Component;
use crate::config::{Config, SystemConfig};
use crate::events::Hub;
use crate::health::{ComponentState, Health};
use crate::reconcile::{self, ReconcileContext};
use crate::store::{Store, Table};
use crate::system::host::HostManager;
use crate::system::units::{self, Bus, Services, UnitState, Units};

pub(super) fn start_system(
    config: &Config,
    store: &Store,
    run: &mut ManagerLoop<'_>,
) -> Option<Arc<Units>> {
    let s = &config.system;
    if !s.manage {
        let why = "--dev leaves systemd alone (set system.manage = true to follow the services)";
        run.health
            .set(Component::System, ComponentState::Disabled, why);
        run.health
            .set(Component::Host, ComponentState::Disabled, why);
        return None;
    }
    let bus = bus(config);
    let units = Arc::new(Units::new(
        bus,
        s.followed(),
        SystemConfig::CONTROLLED
            .iter()
            .map(|u| u.to_string())
            .collect(),
    ));
    run.health.set(
        Component::System,
        ComponentState::Degraded,
        "connecting to systemd over D-Bus",
    );
    let report = Reporter {
        health: run.health.clone(),
        hub: run.hub.clone(),
    };
    run.tasks.spawn(
        "services follower",
        units::follow(
            units.clone(),
            report,
            run.liveness.register(Component::System),
            run.shutdown.clone(),
        ),
    );
    // The host name, time zone and NTP: on their manager, woken by a change
    // of the settings; its report goes to the `host` topic.
    let publish = super::events_for(run.hub);
    run.tasks.spawn(
        "host settings",
        reconcile::run(
            HostManager::new(store.clone(), units.bus().clone()),
            reconcile::Wakes::new().watch("settings", store.watch(Table::Settings)),
            ReconcileContext::new(run.health.clone(), run.liveness.clone(), publish),
            run.shutdown.clone().cancelled_owned(),
        ),
    );
    Some(units)
}

/// The bus of the config: the system's, or a test's private one.
pub(super) fn bus(config: &Config) -> Bus {
    match &config.system.bus {
        Some(address) => Bus::Address(address.clone()),
        None => Bus::System,
    }
}

struct Reporter {
    health: Health,
    hub: Hub,
}

impl units::Report for Reporter {
    fn up(&self, n: usize) {
        self.health.set(
            Component::System,
            ComponentState::Ok,
            format!("following {n} services over D-Bus"),
        );
    }

    fn down(&self, why: &str, retry: Duration) {
        tracing::debug!(why, "systemd's bus is gone");
        self.health.set(
            Component::System,
            ComponentState::Degraded,
            format!(
                "lost the connection to systemd; connecting again in {} s",
                retry.as_secs()
            ),
        );
    }

    fn states(&self, states: &[UnitState]) {
        self.hub.publish(Services {
            units: states.to_vec(),
            power: None,
        });
    }
}
