//! Starts the follower of the box's services over systemd's D-Bus, where
//! hearth manages the system (not under `--dev`): its states go to the
//! `services` topic, its connection's health to the component `system`.

use std::sync::Arc;
use std::time::Duration;

use super::host::{HostManager, Hostnamed};
use super::units::{self, Bus, Services, UnitState, Units};
use crate::component::Component;
use crate::config::{Config, SystemConfig};
use crate::events::Hub;
use crate::health::{ComponentState, Health};
use crate::reconcile::{Launch, Timing, Wakes};
use crate::store::{Store, Table};

pub fn start(config: &Config, store: &Store, launch: &mut Launch<'_>) -> Option<Arc<Units>> {
    let s = &config.system;
    if !s.manage {
        let why = "--dev leaves systemd alone (set system.manage = true to follow the services)";
        launch.not_present(Component::System, why);
        launch.not_present(Component::Host, why);
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
    launch.health.set(
        Component::System,
        ComponentState::Degraded,
        "connecting to systemd over D-Bus",
    );
    let report = Reporter {
        health: launch.health.clone(),
        hub: launch.hub.clone(),
    };
    let follower = units::follow(
        units.clone(),
        report,
        launch.heartbeat(Component::System),
        launch.shutdown.clone(),
    );
    launch.spawn("services follower", follower);
    // The host name, time zone and NTP: on their manager, woken by a change
    // of the settings; its report goes to the `host` topic.
    launch.manager(
        HostManager::new(store.clone(), Hostnamed::new(units.bus().clone())),
        Wakes::new().watch("settings", store.watch(Table::Settings)),
        Timing::default(),
    );
    Some(units)
}

/// The bus of the config: the system's, or a test's private one.
pub fn bus(config: &Config) -> Bus {
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
