//! The machine's host name, time zone and NTP setting, behind a trait:
//! the real one asks hostnamed and timedated over D-Bus, the recording
//! one (for unit tests) keeps them in memory and writes down each call.

use std::future::Future;

use zbus::Connection;
use zbus::proxy::CacheProperties;

use super::error::HostError;
use super::model::HostStatus;
use crate::system::dbus::{HostnameProxy, TimedateProxy};
use crate::system::units::Bus;

/// What the host manager reads and sets.
pub trait HostMachine: Send + 'static {
    /// The machine's settings (`applied_since_start` is left 0: the
    /// manager counts).
    fn read(&mut self) -> impl Future<Output = Result<HostStatus, HostError>> + Send;
    /// Sets the static and the running host name.
    fn set_hostname(&mut self, name: &str) -> impl Future<Output = Result<(), HostError>> + Send;
    fn set_timezone(&mut self, zone: &str) -> impl Future<Output = Result<(), HostError>> + Send;
    fn set_ntp(&mut self, on: bool) -> impl Future<Output = Result<(), HostError>> + Send;
}

/// hostnamed and timedated on `bus`, over one connection made again
/// after a failed read.
pub struct Hostnamed {
    bus: Bus,
    conn: Option<Connection>,
}

impl Hostnamed {
    pub fn new(bus: Bus) -> Hostnamed {
        Hostnamed { bus, conn: None }
    }

    async fn conn(&mut self) -> Result<Connection, HostError> {
        if let Some(c) = &self.conn {
            return Ok(c.clone());
        }
        let c = self.bus.connect().await.map_err(HostError::Connect)?;
        self.conn = Some(c.clone());
        Ok(c)
    }
}

impl HostMachine for Hostnamed {
    async fn read(&mut self) -> Result<HostStatus, HostError> {
        let conn = self.conn().await?;
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
                applied_since_start: 0,
            })
        };
        read.await.map_err(|e| {
            // Connected afresh on the next pass.
            self.conn = None;
            HostError::Read(e)
        })
    }

    async fn set_hostname(&mut self, name: &str) -> Result<(), HostError> {
        let conn = self.conn().await?;
        let set = async {
            let hostnamed = HostnameProxy::new(&conn).await?;
            // The static name (kept in /etc/hostname) and the running one.
            hostnamed.set_static_hostname(name, false).await?;
            hostnamed.set_hostname(name, false).await
        };
        set.await.map_err(|source| HostError::SetHostname {
            name: name.to_string(),
            source,
        })
    }

    async fn set_timezone(&mut self, zone: &str) -> Result<(), HostError> {
        let conn = self.conn().await?;
        let set = async {
            TimedateProxy::new(&conn)
                .await?
                .set_timezone(zone, false)
                .await
        };
        set.await.map_err(|source| HostError::SetTimezone {
            zone: zone.to_string(),
            source,
        })
    }

    async fn set_ntp(&mut self, on: bool) -> Result<(), HostError> {
        let conn = self.conn().await?;
        let set = async { TimedateProxy::new(&conn).await?.set_ntp(on, false).await };
        set.await.map_err(|source| HostError::SetNtp { on, source })
    }
}

/// A machine in memory that writes down every call, for unit tests.
#[cfg(test)]
#[derive(Debug, Clone)]
pub struct RecordingHost {
    pub machine: HostStatus,
    pub calls: Vec<String>,
}

#[cfg(test)]
impl HostMachine for RecordingHost {
    async fn read(&mut self) -> Result<HostStatus, HostError> {
        self.calls.push("read".into());
        Ok(self.machine.clone())
    }

    async fn set_hostname(&mut self, name: &str) -> Result<(), HostError> {
        self.calls.push(format!("hostname {name}"));
        self.machine.hostname = name.into();
        self.machine.running_hostname = name.into();
        Ok(())
    }

    async fn set_timezone(&mut self, zone: &str) -> Result<(), HostError> {
        self.calls.push(format!("timezone {zone}"));
        self.machine.timezone = zone.into();
        Ok(())
    }

    async fn set_ntp(&mut self, on: bool) -> Result<(), HostError> {
        self.calls.push(format!("ntp {on}"));
        self.machine.ntp = on;
        Ok(())
    }
}
