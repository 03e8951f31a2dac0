//! What the servers' manager publishes on the `servers` topic after
//! every pass: admins see every server, members their own.

use serde::Serialize;

use super::{DesiredState, Limits, ServerId};
use crate::auth::Username;
use crate::events::{Hidden, Reader, Topic, Visible};
use crate::reconcile::Status;
use crate::servers::engines::EngineView;
use crate::servers::logs::LogLine;
use crate::servers::plan::Phase;
use crate::servers::progress::Progress;
use crate::servers::usage::Usage;

/// Published on the `servers` topic after every pass.
#[derive(Debug, Clone, Serialize)]
pub struct ServersStatus {
    pub servers: Vec<ServerStatus>,
    /// `hs-<id>` users and units with no server: an admin's to look at.
    pub unknown_users: Vec<String>,
    pub unknown_units: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerStatus {
    pub id: ServerId,
    pub owner: Username,
    pub name: String,
    pub desired: DesiredState,
    pub phase: Phase,
    pub limits: Limits,
    /// Crashes in a row, and when the engine is started again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crashes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at_ms: Option<u64>,
    /// Its engine, while it is followed: whether it answers, its version,
    /// the containers in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineView>,
    /// While it is being prepared or started: the stage under way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// CPU, memory and tasks, read from its cgroup while its unit runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Why its usage could not be read, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_error: Option<String>,
    /// Its engine's last lines, while it is failed or unresponsive: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_log: Option<Vec<LogLine>>,
}

/// What a member sees of the servers: their own, whole. The users and
/// units with no server are left out: they name no owner, and are an
/// admin's to look at.
#[derive(Debug, Clone, Serialize)]
pub struct MemberServers {
    pub servers: Vec<ServerStatus>,
}

impl Visible for ServersStatus {
    type Member = MemberServers;
    fn for_member(&self, reader: Reader<'_>) -> Option<MemberServers> {
        let Reader::Member(member) = reader else {
            return None;
        };
        let ServersStatus {
            servers,
            unknown_users: _,
            unknown_units: _,
        } = self;
        let servers = servers
            .iter()
            .filter(|s| s.owner == *member)
            .cloned()
            .collect();
        Some(MemberServers { servers })
    }

    type Public = Hidden;
    fn for_public(&self) -> Option<Hidden> {
        None
    }
}

impl Status for ServersStatus {
    const TOPIC: Topic = Topic::Servers;
}
