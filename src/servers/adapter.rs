//! What the servers' manager does to the host, behind one trait: the real
//! [`HostMachinery`] (systemd over D-Bus for the units, the privileged
//! helper for users and storage, `/etc/passwd` and mountinfo read
//! directly), and a recording one in the manager's tests.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::Mutex;
use zbus::Connection;
use zbus::Variant;

use super::helper::client::{ClientError, HelperClient};
use super::helper::host::mount_points;
use super::helper::layout::Layout;
use super::helper::protocol::Request;
use super::model::{Limits, ServerId};
use super::plan::{Activity, Seen, Storage};
use crate::system::dbus::{ManagerProxy, UnitProxy};
use crate::system::units::Bus;

/// How long one systemd call may take.
const CALL_LIMIT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum MachineryError {
    #[error("systemd: {0}")]
    Systemd(#[from] zbus::Error),
    #[error("systemd did not answer within {} s", CALL_LIMIT.as_secs())]
    SystemdTimedOut,
    #[error(transparent)]
    Helper(#[from] ClientError),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What the host shows of the servers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostView {
    pub servers: BTreeMap<ServerId, Seen>,
    /// Every `hs-<id>` user, with its uid.
    pub users: BTreeMap<ServerId, u32>,
    /// Every `hearth-server@<id>.service` unit not inactive.
    pub units: BTreeSet<ServerId>,
}

pub trait Machinery: Send + Sync + 'static {
    /// What the host shows of `ids`, and every server user and unit.
    fn look(
        &self,
        ids: &[ServerId],
    ) -> impl Future<Output = Result<HostView, MachineryError>> + Send;
    fn ask_helper(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<(), MachineryError>> + Send;
    /// Sets the unit's limits (until reboot) and starts it; does not wait
    /// for the engine: its unit's signals wake the manager.
    fn start(
        &self,
        id: &ServerId,
        limits: Limits,
    ) -> impl Future<Output = Result<(), MachineryError>> + Send;
    fn restart(
        &self,
        id: &ServerId,
        limits: Limits,
    ) -> impl Future<Output = Result<(), MachineryError>> + Send;
    fn stop(&self, id: &ServerId) -> impl Future<Output = Result<(), MachineryError>> + Send;
}

/// The unit of a server.
pub fn unit_name(id: &ServerId) -> String {
    format!("hearth-server@{id}.service")
}

/// The unit properties that carry a server's limits.
pub fn unit_limits(limits: Limits) -> [(&'static str, u64); 3] {
    [
        ("MemoryMax", u64::from(limits.memory_mib) << 20),
        ("TasksMax", u64::from(limits.pids)),
        // µs of CPU per second of time: 1000 millis (a core) is 1 s.
        ("CPUQuotaPerSecUSec", u64::from(limits.cpu_millis) * 1000),
    ]
}

/// The ids and uids of the `hs-<id>` users in a passwd file's text.
pub fn server_users(passwd: &str) -> BTreeMap<ServerId, u32> {
    passwd
        .lines()
        .filter_map(|l| {
            let mut fields = l.split(':');
            let id = fields.next()?.strip_prefix("hs-")?;
            let uid = fields.nth(1)?.parse().ok()?;
            Some((ServerId::try_from(id).ok()?, uid))
        })
        .collect()
}

/// The host itself.
pub struct HostMachinery {
    bus: Bus,
    conn: Mutex<Option<Connection>>,
    helper: HelperClient,
    layout: Layout,
    passwd: PathBuf,
    mountinfo: PathBuf,
}

impl HostMachinery {
    pub fn new(bus: Bus, helper_socket: &Path, layout: Layout) -> HostMachinery {
        HostMachinery {
            bus,
            conn: Mutex::new(None),
            helper: HelperClient::new(helper_socket),
            layout,
            passwd: PathBuf::from("/etc/passwd"),
            mountinfo: PathBuf::from("/proc/self/mountinfo"),
        }
    }

    /// The connection, made again after a failure.
    async fn manager(&self) -> Result<ManagerProxy<'static>, MachineryError> {
        let mut conn = self.conn.lock().await;
        let c = match conn.as_ref() {
            Some(c) => c.clone(),
            None => {
                let c = limited(self.bus.connect()).await?;
                *conn = Some(c.clone());
                c
            }
        };
        Ok(ManagerProxy::new(&c).await?)
    }

    /// Forgets the connection after an error, so the next call connects.
    async fn forget_on_error<T>(
        &self,
        result: Result<T, MachineryError>,
    ) -> Result<T, MachineryError> {
        if result.is_err() {
            *self.conn.lock().await = None;
        }
        result
    }

    async fn unit_state(
        &self,
        manager: &ManagerProxy<'static>,
        id: &ServerId,
    ) -> Result<(Activity, u64), MachineryError> {
        let path = limited(manager.load_unit(&unit_name(id))).await?;
        let unit = UnitProxy::builder(manager.inner().connection())
            .path(path)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await?;
        let active = limited(unit.active_state()).await?;
        let since_us = limited(unit.state_change_timestamp()).await?;
        // A state systemd adds later is not a running engine.
        let activity = Activity::parse(&active).unwrap_or(Activity::Inactive);
        Ok((activity, since_us / 1000))
    }

    async fn look_inner(&self, ids: &[ServerId]) -> Result<HostView, MachineryError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| MachineryError::Read {
                path: path.to_path_buf(),
                source,
            })
        };
        let users = server_users(&read(&self.passwd)?);
        let mounted: BTreeSet<PathBuf> = mount_points(&read(&self.mountinfo)?)
            .map(PathBuf::from)
            .collect();
        let manager = self.manager().await?;
        let listed = limited(manager.list_units_by_patterns(
            &[
                "active",
                "activating",
                "deactivating",
                "reloading",
                "failed",
            ],
            &["hearth-server@*.service"],
        ))
        .await?;
        let units = listed
            .iter()
            .filter_map(|u| {
                u.0.strip_prefix("hearth-server@")
                    .and_then(|r| r.strip_suffix(".service"))
            })
            .filter_map(|id| ServerId::try_from(id).ok())
            .collect();
        let mut servers = BTreeMap::new();
        for id in ids {
            let storage = if mounted.contains(&self.layout.data(id)) {
                Storage::Mounted
            } else if self.layout.server_dir(id).exists() {
                Storage::Unmounted
            } else {
                Storage::Absent
            };
            let (unit, since_ms) = self.unit_state(&manager, id).await?;
            servers.insert(
                id.clone(),
                Seen {
                    user: users.contains_key(id),
                    storage,
                    unit,
                    since_ms,
                    answering: None,
                },
            );
        }
        Ok(HostView {
            servers,
            users,
            units,
        })
    }

    async fn set_limits(
        &self,
        manager: &ManagerProxy<'static>,
        id: &ServerId,
        limits: Limits,
    ) -> Result<(), MachineryError> {
        let values = unit_limits(limits);
        let props: Vec<(&str, Variant<'_>)> =
            values.iter().map(|(k, v)| (*k, Variant::U64(*v))).collect();
        limited(manager.set_unit_properties(&unit_name(id), true, &props)).await?;
        Ok(())
    }
}

async fn limited<T>(call: impl Future<Output = zbus::Result<T>>) -> Result<T, MachineryError> {
    match tokio::time::timeout(CALL_LIMIT, call).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(MachineryError::SystemdTimedOut),
    }
}

impl Machinery for HostMachinery {
    async fn look(&self, ids: &[ServerId]) -> Result<HostView, MachineryError> {
        let r = self.look_inner(ids).await;
        self.forget_on_error(r).await
    }

    async fn ask_helper(&self, request: Request) -> Result<(), MachineryError> {
        Ok(self.helper.ask(&request).await?)
    }

    async fn start(&self, id: &ServerId, limits: Limits) -> Result<(), MachineryError> {
        let r = async {
            let manager = self.manager().await?;
            self.set_limits(&manager, id, limits).await?;
            limited(manager.start_unit(&unit_name(id), "replace")).await?;
            Ok(())
        }
        .await;
        self.forget_on_error(r).await
    }

    async fn restart(&self, id: &ServerId, limits: Limits) -> Result<(), MachineryError> {
        let r = async {
            let manager = self.manager().await?;
            self.set_limits(&manager, id, limits).await?;
            limited(manager.restart_unit(&unit_name(id), "replace")).await?;
            Ok(())
        }
        .await;
        self.forget_on_error(r).await
    }

    async fn stop(&self, id: &ServerId) -> Result<(), MachineryError> {
        let r = async {
            let manager = self.manager().await?;
            limited(manager.stop_unit(&unit_name(id), "replace")).await?;
            Ok(())
        }
        .await;
        self.forget_on_error(r).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_users_are_the_hs_users_with_a_valid_id() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      hs-0a1b2c3d:x:990:990:hearth server:/var/lib/hearth-servers/0a1b2c3d/data/home:/usr/sbin/nologin\n\
                      hs-nothex!:x:991:991::/:/usr/sbin/nologin\n\
                      hearth:x:107:107::/var/lib/hearth:/usr/sbin/nologin\n";
        let users: Vec<(String, u32)> = server_users(passwd)
            .into_iter()
            .map(|(id, uid)| (id.to_string(), uid))
            .collect();
        assert_eq!(users, [("0a1b2c3d".to_string(), 990)]);
    }

    #[test]
    fn limits_become_systemds_units() {
        let l = Limits {
            cpu_millis: 1500,
            memory_mib: 2048,
            pids: 512,
            disk_mib: 4096,
        };
        assert_eq!(
            unit_limits(l),
            [
                ("MemoryMax", 2 << 30),
                ("TasksMax", 512),
                ("CPUQuotaPerSecUSec", 1_500_000)
            ]
        );
        assert_eq!(
            unit_name(&ServerId::try_from("0a1b2c3d").unwrap()),
            "hearth-server@0a1b2c3d.service"
        );
    }
}
