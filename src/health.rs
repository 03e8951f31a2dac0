//! The health registry: every component of the daemon (store, HTTPS, and
//! later the firewall, proxy and servers reconcilers) reports its state
//! here; `/api/v1/health` and systemd's STATUS line read it.
//!
//! Watchers are told of every change through a `tokio::sync::watch`
//! channel, so the event hub can publish health changes without polling.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::watch;

use crate::component::Component;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComponentState {
    Ok,
    Degraded,
    Down,
    /// Not driven here (e.g. no Docker in `--dev`), by design.
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ComponentHealth {
    pub state: ComponentState,
    pub detail: String,
}

/// The overall verdict: `degraded` when any component is degraded or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Overall {
    Ok,
    Degraded,
}

pub type Snapshot = BTreeMap<Component, ComponentHealth>;

/// Shared handle to the registry; cheap to clone.
#[derive(Clone)]
pub struct Health {
    tx: Arc<watch::Sender<Snapshot>>,
}

impl Default for Health {
    fn default() -> Self {
        Health::new()
    }
}

impl Health {
    pub fn new() -> Health {
        Health {
            tx: Arc::new(watch::channel(Snapshot::new()).0),
        }
    }

    /// Records a component's state; watchers wake only if it changed.
    pub fn set(&self, component: Component, state: ComponentState, detail: impl Into<String>) {
        let health = ComponentHealth {
            state,
            detail: detail.into(),
        };
        self.tx.send_if_modified(|map| {
            if map.get(&component) == Some(&health) {
                return false;
            }
            if health.state != ComponentState::Ok {
                tracing::warn!(component = component.name(), state = ?health.state, detail = %health.detail, "component health changed");
            }
            map.insert(component, health);
            true
        });
    }

    pub fn snapshot(&self) -> Snapshot {
        self.tx.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Snapshot> {
        self.tx.subscribe()
    }

    pub fn overall(&self) -> Overall {
        overall(&self.tx.borrow())
    }

    /// One line for systemd's STATUS: the overall state and what is wrong.
    pub fn summary(&self) -> String {
        let map = self.tx.borrow();
        let bad: Vec<String> = map
            .iter()
            .filter(|(_, h)| matches!(h.state, ComponentState::Degraded | ComponentState::Down))
            .map(|(name, h)| format!("{name} {:?}", h.state).to_lowercase())
            .collect();
        if bad.is_empty() {
            "all components ok".to_string()
        } else {
            format!("degraded: {}", bad.join(", "))
        }
    }
}

pub fn overall(map: &Snapshot) -> Overall {
    if map
        .values()
        .any(|h| matches!(h.state, ComponentState::Degraded | ComponentState::Down))
    {
        Overall::Degraded
    } else {
        Overall::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overall_follows_the_worst_component() {
        let h = Health::new();
        h.set(Component::Store, ComponentState::Ok, "open");
        h.set(Component::Fake, ComponentState::Disabled, "not in --dev");
        assert_eq!(h.overall(), Overall::Ok);
        assert_eq!(h.summary(), "all components ok");
        h.set(Component::Https, ComponentState::Down, "not listening");
        assert_eq!(h.overall(), Overall::Degraded);
        assert_eq!(h.summary(), "degraded: https down");
    }

    #[test]
    fn watchers_wake_only_on_change() {
        let h = Health::new();
        let mut rx = h.subscribe();
        h.set(Component::Store, ComponentState::Ok, "open");
        assert!(rx.has_changed().unwrap());
        rx.borrow_and_update();
        h.set(Component::Store, ComponentState::Ok, "open");
        assert!(!rx.has_changed().unwrap());
        h.set(Component::Store, ComponentState::Degraded, "slow");
        assert!(rx.has_changed().unwrap());
    }
}
