//! The host name, time zone and NTP setting the owner chose (the box
//! profile, from the setup wizard and the settings), applied to the
//! machine through hostnamed and timedated over D-Bus: a manager on
//! `reconcile::run`, woken by a change of the settings, that reads what
//! the machine has and sets what differs. The polkit rules let hearth's
//! user do exactly this.
//!
//! Its status, published on the `host` topic, is what `hostnamectl` and
//! `timedatectl` show (they read the same properties), and how many
//! changes hearth made since it started: 0 after a reboot means the
//! machine kept the settings by itself (on the appliance, in the /etc
//! overlay kept on /var; see image/rootfs/etc/fstab).

use serde::Serialize;
use zbus::Connection;
use zbus::proxy::CacheProperties;

use super::dbus::{HostnameProxy, TimedateProxy};
use super::units::Bus;
use crate::accounts::BoxProfile;
use crate::component::Component;
use crate::events::Topic;
use crate::reconcile::{Manager, Observation, Plan, Status};
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
    /// Settings changed on the machine since hearth started.
    applied: u64,
}

impl HostManager {
    pub fn new(store: Store, bus: Bus) -> HostManager {
        HostManager {
            store,
            bus,
            conn: None,
            applied: 0,
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
    pub ntp: Option<bool>,
}

/// What the machine has, as hostnamed and timedated say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostStatus {
    /// The static host name (`/etc/hostname`).
    pub hostname: String,
    /// The kernel's host name, the one in force.
    pub running_hostname: String,
    pub timezone: String,
    /// Whether an NTP service is enabled.
    pub ntp: bool,
    pub ntp_synchronized: bool,
    /// Settings hearth changed on the machine since it started.
    pub applied_since_start: u64,
}

// The machine's settings, as an admin changes them: admins only.
crate::events::admin_only!(HostStatus);

impl Status for HostStatus {
    const TOPIC: Topic = Topic::Host;
}

#[derive(Debug, PartialEq, Eq)]
pub struct HostPlan {
    /// The static name to set, when it differs; or the running one alone,
    /// when only that differs (it was set by hand, or by DHCP).
    hostname: Option<String>,
    timezone: Option<String>,
    ntp: Option<bool>,
    now: HostStatus,
}

impl Plan for HostPlan {
    fn is_noop(&self) -> bool {
        self.hostname.is_none() && self.timezone.is_none() && self.ntp.is_none()
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
            ntp: profile.ntp,
        })
    }

    async fn observe(&mut self) -> Result<Observation<HostStatus>, HostError> {
        let conn = self.conn().await?;
        let applied_since_start = self.applied;
        let read = async {
            let hostnamed = HostnameProxy::builder(&conn)
                .cache_properties(CacheProperties::No)
                .build()
                .await?;
            let timedated = TimedateProxy::builder(&conn)
                .cache_properties(CacheProperties::No)
                .build()
                .await?;
            Ok::<_, zbus::Error>(HostStatus {
                hostname: hostnamed.static_hostname().await?,
                running_hostname: hostnamed.hostname().await?,
                timezone: timedated.timezone().await?,
                ntp: timedated.ntp().await?,
                ntp_synchronized: timedated.ntp_synchronized().await?,
                applied_since_start,
            })
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
            hostname: differs(&desired.hostname, &observed.hostname)
                .or_else(|| differs(&desired.hostname, &observed.running_hostname)),
            timezone: differs(&desired.timezone, &observed.timezone),
            ntp: desired.ntp.filter(|on| *on != observed.ntp),
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
            now.running_hostname.clone_from(&name);
            now.hostname = name;
            self.applied += 1;
        }
        if let Some(zone) = plan.timezone {
            TimedateProxy::new(&conn)
                .await?
                .set_timezone(&zone, false)
                .await?;
            tracing::info!(timezone = %zone, "time zone set through timedated");
            now.timezone = zone;
            self.applied += 1;
        }
        if let Some(on) = plan.ntp {
            TimedateProxy::new(&conn).await?.set_ntp(on, false).await?;
            tracing::info!(ntp = on, "NTP set through timedated");
            now.ntp = on;
            self.applied += 1;
        }
        now.applied_since_start = self.applied;
        Ok(now)
    }

    fn status(_desired: &Desired, observed: &HostStatus) -> HostStatus {
        observed.clone()
    }

    fn detail(status: &HostStatus) -> String {
        let ntp = if status.ntp { "NTP on" } else { "NTP off" };
        format!("{} in {}, {ntp}", status.hostname, status.timezone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_settings_are_for_admins_only() {
        use crate::events::{Reader, Visible};
        let ann = crate::auth::Username::try_from("ann").unwrap();
        assert!(machine().for_member(Reader::Member(&ann)).is_none());
        assert!(machine().for_member(Reader::Anyone).is_none());
        assert!(machine().for_public().is_none());
    }

    fn machine() -> HostStatus {
        HostStatus {
            hostname: "attic".into(),
            running_hostname: "attic".into(),
            timezone: "UTC".into(),
            ntp: true,
            ntp_synchronized: false,
            applied_since_start: 0,
        }
    }

    fn want(hostname: Option<&str>, timezone: Option<&str>, ntp: Option<bool>) -> Desired {
        Desired {
            hostname: hostname.map(String::from),
            timezone: timezone.map(String::from),
            ntp,
        }
    }

    #[test]
    fn nothing_chosen_or_all_equal_is_nothing_to_do() {
        assert!(HostManager::plan(&want(None, None, None), &machine()).is_noop());
        let same = want(Some("attic"), Some("UTC"), Some(true));
        assert!(HostManager::plan(&same, &machine()).is_noop());
    }

    #[test]
    fn each_setting_that_differs_is_set_alone() {
        let plan = HostManager::plan(&want(None, Some("Europe/Vienna"), Some(false)), &machine());
        assert_eq!(plan.hostname, None);
        assert_eq!(plan.timezone.as_deref(), Some("Europe/Vienna"));
        assert_eq!(plan.ntp, Some(false));
    }

    #[test]
    fn a_running_name_changed_behind_hearths_back_is_set_again() {
        let mut m = machine();
        m.running_hostname = "dhcp-name".into();
        let plan = HostManager::plan(&want(Some("attic"), None, None), &m);
        assert_eq!(plan.hostname.as_deref(), Some("attic"));
    }
}
