//! A server as the store keeps it and the API takes it: validated at the
//! boundary ([`Server::from_input`]) so that the manager never meets a
//! bad value, with errors that name the field (`limits.memory_mib`,
//! `ports[1].port`); and the per-member [`Quota`] an admin sets, checked
//! when a server is created or its limits grow.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::invalid::{Invalid, invalid};

/// A server's name, unique per owner: 1 to 25 of `a-z`, `0-9`, `-`.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct ServerName(String);

impl TryFrom<&str> for ServerName {
    type Error = &'static str;

    fn try_from(s: &str) -> Result<ServerName, &'static str> {
        let ok = (1..=25).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(ServerName(s.to_string()))
        } else {
            Err("must be 1 to 25 of a-z, 0-9 and '-'")
        }
    }
}

impl TryFrom<String> for ServerName {
    type Error = &'static str;
    fn try_from(s: String) -> Result<ServerName, &'static str> {
        ServerName::try_from(s.as_str())
    }
}

impl From<ServerName> for String {
    fn from(n: ServerName) -> String {
        n.0
    }
}

impl fmt::Display for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A server's id: 8 lower-case hex digits, chosen at random by the box.
/// It names everything of the server on the host (its Linux user
/// `hs-<id>`, its unit `hearth-server@<id>.service`, its folder), so it
/// never comes from a member's input and is short enough for a user name.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct ServerId(String);

impl ServerId {
    pub fn random() -> ServerId {
        let bytes = crate::auth::token::random_bytes::<4>();
        ServerId(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Linux user the server's engine runs as.
    pub fn user(&self) -> String {
        format!("hs-{}", self.0)
    }
}

impl TryFrom<&str> for ServerId {
    type Error = &'static str;
    fn try_from(s: &str) -> Result<ServerId, &'static str> {
        if s.len() == 8
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(ServerId(s.to_string()))
        } else {
            Err("a server id is 8 of 0-9 and a-f")
        }
    }
}

impl TryFrom<String> for ServerId {
    type Error = &'static str;
    fn try_from(s: String) -> Result<ServerId, &'static str> {
        ServerId::try_from(s.as_str())
    }
}

impl From<ServerId> for String {
    fn from(n: ServerId) -> String {
        n.0
    }
}

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a server may use: its unit's cgroup settings and its disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Limits {
    /// CPU in thousandths of a core (`CPUQuota=`): 1000 is one core.
    pub cpu_millis: u32,
    /// `MemoryMax=`, in MiB.
    pub memory_mib: u32,
    /// `TasksMax=`: processes and threads, the engine's own included.
    pub pids: u32,
    /// The server's storage, in MiB.
    pub disk_mib: u32,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        cpu_millis: 1000,
        memory_mib: 1024,
        pids: 1024,
        disk_mib: 4096,
    };
    /// Bounds, per field: (least, most). The least leaves the engine
    /// itself room to run; the most keeps one number from being absurd
    /// (the box's own size is the admin's quota, not a constant).
    const CPU_MILLIS: (u32, u32) = (100, 64_000);
    const MEMORY_MIB: (u32, u32) = (256, 1 << 20);
    const PIDS: (u32, u32) = (128, 1 << 16);
    const DISK_MIB: (u32, u32) = (512, 1 << 24);
}

/// The limits as the API takes them; a field left out keeps its default
/// (or, for a change, the server's current value).
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsInput {
    pub cpu_millis: Option<u64>,
    pub memory_mib: Option<u64>,
    pub pids: Option<u64>,
    pub disk_mib: Option<u64>,
}

impl LimitsInput {
    pub fn over(&self, base: Limits) -> Result<Limits, Invalid> {
        let field = |name: &str, given: Option<u64>, now: u32, (least, most): (u32, u32)| {
            let Some(v) = given else { return Ok(now) };
            if v < u64::from(least) || v > u64::from(most) {
                return Err(invalid(
                    format!("limits.{name}"),
                    format!("must be from {least} to {most}"),
                ));
            }
            Ok(v as u32)
        };
        Ok(Limits {
            cpu_millis: field(
                "cpu_millis",
                self.cpu_millis,
                base.cpu_millis,
                Limits::CPU_MILLIS,
            )?,
            memory_mib: field(
                "memory_mib",
                self.memory_mib,
                base.memory_mib,
                Limits::MEMORY_MIB,
            )?,
            pids: field("pids", self.pids, base.pids, Limits::PIDS)?,
            disk_mib: field("disk_mib", self.disk_mib, base.disk_mib, Limits::DISK_MIB)?,
        })
    }
}

/// A published port's protocol: the firewall's own type (the same
/// `tcp`/`udp` in JSON), so the user plane takes it as it is.
pub use crate::plane::Protocol as PortProtocol;

/// A port of the server that may be reached from outside it (by a port
/// forward from the LAN, or by a domain): nothing else is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
pub struct PublishedPort {
    pub port: u16,
    pub protocol: PortProtocol,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortInput {
    pub port: u64,
    /// `tcp` (the default) or `udp`.
    #[serde(default)]
    pub protocol: Option<String>,
}

/// At most this many published ports per server.
pub const MAX_PORTS: usize = 32;

fn ports_from_input(input: &[PortInput]) -> Result<Vec<PublishedPort>, Invalid> {
    if input.len() > MAX_PORTS {
        return Err(invalid("ports", format!("may hold at most {MAX_PORTS}")));
    }
    let mut out: Vec<PublishedPort> = Vec::with_capacity(input.len());
    for (i, p) in input.iter().enumerate() {
        let port = u16::try_from(p.port)
            .ok()
            .filter(|p| *p >= FIRST_PUBLISHED_PORT)
            .ok_or_else(|| {
                invalid(
                    format!("ports[{i}].port"),
                    format!(
                        "must be from {FIRST_PUBLISHED_PORT} to 65535 (a server's engine runs unprivileged)"
                    ),
                )
            })?;
        if ENGINE_PORTS.contains(&port) {
            return Err(invalid(
                format!("ports[{i}].port"),
                format!(
                    "{port} is among the ports of the servers' engines ({}-{})",
                    ENGINE_PORTS.start(),
                    ENGINE_PORTS.end()
                ),
            ));
        }
        let protocol = match p.protocol.as_deref() {
            None | Some("tcp") => PortProtocol::Tcp,
            Some("udp") => PortProtocol::Udp,
            Some(_) => {
                return Err(invalid(
                    format!("ports[{i}].protocol"),
                    "must be tcp or udp",
                ));
            }
        };
        let published = PublishedPort { port, protocol };
        if out.contains(&published) {
            return Err(invalid(format!("ports[{i}]"), "is published twice"));
        }
        out.push(published);
    }
    out.sort();
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DesiredState {
    Running,
    Stopped,
}

/// A server as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Server {
    pub id: ServerId,
    /// The member it belongs to (a username).
    pub owner: String,
    pub name: ServerName,
    pub limits: Limits,
    pub ports: Vec<PublishedPort>,
    pub desired: DesiredState,
    pub created_ms: u64,
    /// Asked to be deleted: the manager stops the engine, erases the data
    /// if asked to, and only then removes the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleting: Option<Deletion>,
    /// When a restart was last asked: the manager restarts an engine
    /// that has been up since before this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_asked_ms: Option<u64>,
    /// Where the TLS front serves this server's engine (see
    /// [`ENGINE_PORTS`]); given at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_port: Option<u16>,
    /// The base image was imported into its engine (once: a member may
    /// remove it). See [`super::base`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub base_loaded: bool,
}

/// The ports the servers' engines are served on over TLS, one per server
/// (`docker -H tcp://box:PORT`): 1,000 servers at most.
pub const ENGINE_PORTS: std::ops::RangeInclusive<u16> = 23760..=24759;

pub use crate::plane::SERVER_UIDS;

/// Published ports start here: below it, an unprivileged process (the
/// server's rootless engine) cannot listen.
pub const FIRST_PUBLISHED_PORT: u16 = 1024;

impl PublishedPort {
    /// `8080/tcp`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.port, self.protocol.name())
    }
}

impl ServerInput {
    /// The field of the input that gave `port` (the stored ports are
    /// sorted), so that an error names what the caller sent.
    pub fn port_field(&self, port: &PublishedPort) -> String {
        let protocol = port.protocol.name();
        self.ports
            .iter()
            .position(|p| {
                p.port == u64::from(port.port) && p.protocol.as_deref().unwrap_or("tcp") == protocol
            })
            .map_or_else(|| "ports".to_string(), |i| format!("ports[{i}]"))
    }
}

/// The lowest port of [`ENGINE_PORTS`] no server has.
pub fn free_engine_port(servers: &[Server]) -> Option<u16> {
    let used: std::collections::BTreeSet<u16> =
        servers.iter().filter_map(|s| s.engine_port).collect();
    ENGINE_PORTS.into_iter().find(|p| !used.contains(p))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Deletion {
    /// Erase the server's storage too; otherwise it is kept (moved aside)
    /// for an admin to restore or erase later.
    pub erase: bool,
    pub asked_ms: u64,
}

/// The API's JSON for a new server, before validation.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerInput {
    pub name: String,
    /// Defaults to the caller; only admins name another.
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub limits: LimitsInput,
    #[serde(default)]
    pub ports: Vec<PortInput>,
    /// Whether it starts at once (the default).
    #[serde(default)]
    pub running: Option<bool>,
}

impl Server {
    /// Validates `input` for `owner` (whom the service resolved and
    /// authorised); `id` and `now_ms` come from the box.
    pub fn from_input(
        input: &ServerInput,
        owner: String,
        id: ServerId,
        now_ms: u64,
    ) -> Result<Server, Invalid> {
        let name = ServerName::try_from(input.name.as_str()).map_err(|e| invalid("name", e))?;
        Ok(Server {
            id,
            owner,
            name,
            limits: input.limits.over(Limits::DEFAULT)?,
            ports: ports_from_input(&input.ports)?,
            desired: if input.running.unwrap_or(true) {
                DesiredState::Running
            } else {
                DesiredState::Stopped
            },
            created_ms: now_ms,
            deleting: None,
            restart_asked_ms: None,
            engine_port: None,
            base_loaded: false,
        })
    }
}

/// What one member may have, set by an admin; `None`: no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    pub max_servers: Option<u32>,
    pub max_memory_mib: Option<u64>,
    pub max_disk_mib: Option<u64>,
}

/// Why a member may not have one more server (or a bigger one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaExceeded {
    #[error("{owner} may have at most {max} servers, and has {has}")]
    Servers { owner: String, max: u32, has: u32 },
    #[error(
        "{owner}'s servers may use at most {max} MiB of memory together; this would make {would} MiB"
    )]
    Memory { owner: String, max: u64, would: u64 },
    #[error(
        "{owner}'s servers may use at most {max} MiB of disk together; this would make {would} MiB"
    )]
    Disk { owner: String, max: u64, would: u64 },
    #[error("{owner} already has a server named {name}")]
    NameTaken { owner: String, name: ServerName },
}

impl Quota {
    /// Whether `candidate` may exist beside `servers` (all of the box's;
    /// a server of the same id is the one being changed, not counted).
    pub fn admit(&self, servers: &[Server], candidate: &Server) -> Result<(), QuotaExceeded> {
        let owner = &candidate.owner;
        let others: Vec<&Server> = servers
            .iter()
            .filter(|s| s.owner == *owner && s.id != candidate.id)
            .collect();
        if others.iter().any(|s| s.name == candidate.name) {
            return Err(QuotaExceeded::NameTaken {
                owner: owner.clone(),
                name: candidate.name.clone(),
            });
        }
        let has = others.len() as u32;
        if let Some(max) = self.max_servers
            && has + 1 > max
        {
            return Err(QuotaExceeded::Servers {
                owner: owner.clone(),
                max,
                has,
            });
        }
        let sum = |f: fn(&Limits) -> u32| {
            others.iter().map(|s| u64::from(f(&s.limits))).sum::<u64>()
                + u64::from(f(&candidate.limits))
        };
        let memory = sum(|l| l.memory_mib);
        if let Some(max) = self.max_memory_mib
            && memory > max
        {
            return Err(QuotaExceeded::Memory {
                owner: owner.clone(),
                max,
                would: memory,
            });
        }
        let disk = sum(|l| l.disk_mib);
        if let Some(max) = self.max_disk_mib
            && disk > max
        {
            return Err(QuotaExceeded::Disk {
                owner: owner.clone(),
                max,
                would: disk,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod props;
pub mod status;
#[cfg(test)]
mod tests;
