//! The host name and time zone the owner chose (the box profile, from the
//! setup wizard), applied to the machine through hostnamed and timedated
//! over D-Bus: a manager on `reconcile::run`, woken by a change of the
//! settings, that reads what the machine has and sets what differs. The
//! polkit rules let hearth's user do exactly this.

use serde::Serialize;
use zbus::Connection;
use zbus::proxy::CacheProperties;

use super::dbus::{HostnameProxy, TimedateProxy};
use super::units::Bus;
use crate::accounts::BoxProfile;
use crate::component::Component;
use crate::reconcile::{Manager, Observation, Plan};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a store task failed: {0}")]
    Task(String),
}

pub struct HostManager {
    store: Store,
    bus: Bus,
    conn: Option<Connection>,
}

impl HostManager {
    pub fn new(store: Store, bus: Bus) -> HostManager {
        HostManager {
            store,
            bus,
            conn: None,
        }
    }

    /// The connection, made again after a failure.
    async fn conn(&mut self) -> Result<Connection, HostError> {
        if let Some(c) = &self.conn {
            return Ok(c.clone());
        }
        let c = self.bus.connect().await?;
        self.conn = Some(c.clone());
        Ok(c)
    }
}

/// What the owner chose; `None`: not chosen (the machine's stays).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub hostname: Option<String>,
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostStatus {
    pub hostname: String,
    pub timezone: String,
}

#[derive(Debug)]
pub struct HostPlan {
    hostname: Option<String>,
    timezone: Option<String>,
    now: HostStatus,
}

impl Plan for HostPlan {
    fn is_noop(&self) -> bool {
        self.hostname.is_none() && self.timezone.is_none()
    }
}

impl Manager for HostManager {
    const COMPONENT: Component = Component::Host;
    type Desired = Desired;
    type Observed = HostStatus;
    type Plan = HostPlan;
    type Status = HostStatus;
    type Error = HostError;

    async fn desired(&mut self) -> Result<Desired, HostError> {
        let store = self.store.clone();
        let profile = tokio::task::spawn_blocking(move || BoxProfile::read(&store))
            .await
            .map_err(|e| HostError::Task(e.to_string()))??;
        Ok(Desired {
            hostname: profile.hostname.map(|h| h.as_str().to_string()),
            timezone: profile.timezone.map(|t| t.as_str().to_string()),
        })
    }

    async fn observe(&mut self) -> Result<Observation<HostStatus>, HostError> {
        let conn = self.conn().await?;
        let read = async {
            let hostname = HostnameProxy::builder(&conn)
                .cache_properties(CacheProperties::No)
                .build()
                .await?
                .static_hostname()
                .await?;
            let timezone = TimedateProxy::builder(&conn)
                .cache_properties(CacheProperties::No)
                .build()
                .await?
                .timezone()
                .await?;
            Ok::<_, zbus::Error>(HostStatus { hostname, timezone })
        };
        match read.await {
            Ok(s) => Ok(Observation::Present(s)),
            Err(e) => {
                // Connected afresh on the next pass.
                self.conn = None;
                Err(e.into())
            }
        }
    }

    fn plan(desired: &Desired, observed: &HostStatus) -> HostPlan {
        let differs = |want: &Option<String>, have: &str| {
            want.as_ref().filter(|w| w.as_str() != have).cloned()
        };
        HostPlan {
            hostname: differs(&desired.hostname, &observed.hostname),
            timezone: differs(&desired.timezone, &observed.timezone),
            now: observed.clone(),
        }
    }

    async fn apply(&mut self, plan: HostPlan) -> Result<HostStatus, HostError> {
        let conn = self.conn().await?;
        let mut now = plan.now;
        if let Some(name) = plan.hostname {
            let hostnamed = HostnameProxy::new(&conn).await?;
            // The static name (kept in /etc/hostname) and the running one.
            hostnamed.set_static_hostname(&name, false).await?;
            hostnamed.set_hostname(&name, false).await?;
            tracing::info!(hostname = %name, "host name set through hostnamed");
            now.hostname = name;
        }
        if let Some(zone) = plan.timezone {
            TimedateProxy::new(&conn)
                .await?
                .set_timezone(&zone, false)
                .await?;
            tracing::info!(timezone = %zone, "time zone set through timedated");
            now.timezone = zone;
        }
        Ok(now)
    }

    fn status(_desired: &Desired, observed: &HostStatus) -> HostStatus {
        observed.clone()
    }

    fn detail(status: &HostStatus) -> String {
        format!("{} in {}", status.hostname, status.timezone)
    }
}
