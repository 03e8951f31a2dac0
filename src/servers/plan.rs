//! The servers' plan: from the servers in the store and what the host
//! shows of each (its user, its storage, its unit), the steps that bring
//! the host to the store. Pure: no I/O, no clock (the time is in the
//! observation), so every case is a unit test.
//!
//! Per server, in order, and only the first step it still lacks is taken
//! in one pass for a server being made (the next pass sees the result):
//!
//! - a server to run: its user, then its storage, then its unit started
//!   with its limits, then (once, where hearth has one) the base image
//!   imported into its engine when it first answers; a unit that failed is started again after a backoff
//!   that doubles with each crash in a row ([`CRASH_BACKOFF`]), forgotten
//!   once the engine has stayed up [`STABLE_AFTER_MS`];
//! - a server to stop: its unit stopped;
//! - a restart asked after the unit came up: the unit restarted;
//! - a server being deleted: its unit stopped, then its storage removed
//!   (kept aside or erased), its user removed, and its record forgotten.
//!
//! Users and units that look like a server's but have no record are
//! reported, never removed: their data may be someone's.
//!
//! Besides the steps, the firewall's user plane: the ports each server
//! publishes, with its user's uid, and the fronts of the engines. It is
//! written when it differs from what the firewall's record holds, so the
//! firewall's manager opens a server's ports once its user exists.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

use super::model::{DesiredState, Limits, PublishedPort, Server, ServerId};
use crate::plane::{Protocol, ServerPort, UserPlane};
use crate::reconcile::Plan;

/// The first wait before a crashed engine is started again; it doubles
/// with each crash in a row, up to [`CRASH_BACKOFF_CAP`].
pub const CRASH_BACKOFF: Duration = Duration::from_secs(2);
pub const CRASH_BACKOFF_CAP: Duration = Duration::from_secs(300);
/// An engine up this long is no longer crashing.
pub const STABLE_AFTER_MS: u64 = 60_000;
/// A unit up this long whose engine has never answered is reported
/// (an engine answers within seconds, some 40 s under emulation): it
/// is stuck, and waiting longer tells nobody why.
pub const UNRESPONSIVE_AFTER_MS: u64 = 180_000;

/// A unit's `ActiveState`, as systemd says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Activity {
    Inactive,
    Activating,
    Active,
    Deactivating,
    Failed,
    Reloading,
}

impl Activity {
    pub fn parse(active_state: &str) -> Option<Activity> {
        Some(match active_state {
            "inactive" => Activity::Inactive,
            "activating" => Activity::Activating,
            "active" => Activity::Active,
            "deactivating" => Activity::Deactivating,
            "failed" => Activity::Failed,
            "reloading" => Activity::Reloading,
            _ => return None,
        })
    }

    fn up(&self) -> bool {
        matches!(
            self,
            Activity::Activating | Activity::Active | Activity::Reloading
        )
    }
}

/// A server's storage on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    /// No folder (never made, erased, or moved aside).
    Absent,
    /// On disk, not mounted (after a reboot, or a failed mount).
    Unmounted,
    Mounted,
}

/// What the host shows of one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub user: bool,
    pub storage: Storage,
    pub unit: Activity,
    /// When the unit entered its state, ms since the epoch.
    pub since_ms: u64,
    /// Whether its engine answers; `None` where engines are not followed.
    pub answering: Option<bool>,
}

impl Seen {
    /// Nothing of the server is on the host yet.
    pub const NOTHING: Seen = Seen {
        user: false,
        storage: Storage::Absent,
        unit: Activity::Inactive,
        since_ms: 0,
        answering: None,
    };
}

/// Crashes in a row of one server's engine, kept by the manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Crashes {
    pub count: u32,
    /// When the unit was last seen failed, ms since the epoch.
    pub last_ms: u64,
}

impl Crashes {
    /// When the engine may be started again.
    pub fn retry_at_ms(&self) -> u64 {
        let shift = self.count.saturating_sub(1).min(16);
        let wait = CRASH_BACKOFF
            .saturating_mul(1 << shift)
            .min(CRASH_BACKOFF_CAP);
        self.last_ms + wait.as_millis() as u64
    }
}

/// Everything the plan looks at besides the store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observed {
    pub servers: BTreeMap<ServerId, Seen>,
    /// The `hs-<id>` users on the host, with their uids.
    pub users: BTreeMap<ServerId, u32>,
    /// Ids of `hearth-server@<id>.service` units systemd has loaded and
    /// not inactive.
    pub units: BTreeSet<ServerId>,
    pub crashes: BTreeMap<ServerId, Crashes>,
    pub now_ms: u64,
    /// What the followed engines show (for the status; the plan reads
    /// only [`Seen::answering`]).
    pub engines: BTreeMap<ServerId, super::engines::EngineView>,
    /// The user plane the firewall's record holds.
    pub plane: UserPlane,
    /// Whether hearth has a base image for new servers.
    pub base_offered: bool,
    /// Servers whose base image is being imported (in the background: an
    /// import takes longer than a pass may), or whose last import failed
    /// and is not to be tried again before the time given.
    pub base_busy: BTreeMap<ServerId, Option<u64>>,
    /// What each running server uses (for the status only).
    pub usage: super::usage::Readings,
    /// The last lines of the engines in trouble (failed, or not
    /// answering for long): for the status only.
    pub tails: BTreeMap<ServerId, Vec<super::logs::LogLine>>,
}

/// One step on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    CreateUser(ServerId),
    /// Its storage made or mounted, and the ports its user may bind on
    /// the host put in force (before each first start after a boot).
    PrepareStorage {
        id: ServerId,
        disk_mib: u32,
        ports: Vec<PublishedPort>,
    },
    Start {
        id: ServerId,
        limits: Limits,
    },
    Stop(ServerId),
    Restart {
        id: ServerId,
        limits: Limits,
    },
    RemoveStorage {
        id: ServerId,
        erase: bool,
    },
    RemoveUser(ServerId),
    /// The deletion is done: the record goes.
    Forget(ServerId),
    /// Its engine answers and has no base image yet: the import starts
    /// (it runs in the background; its end is a change of the record).
    LoadBase(ServerId),
}

impl Step {
    pub fn server(&self) -> &ServerId {
        match self {
            Step::CreateUser(id)
            | Step::PrepareStorage { id, .. }
            | Step::Start { id, .. }
            | Step::Stop(id)
            | Step::Restart { id, .. }
            | Step::RemoveStorage { id, .. }
            | Step::RemoveUser(id)
            | Step::Forget(id)
            | Step::LoadBase(id) => id,
        }
    }
}

/// What one server is doing, for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Its user or storage is being made.
    Preparing,
    Starting,
    Running,
    Stopping,
    Stopped,
    /// Its engine failed; started again at `retry_at_ms`.
    Failed,
    /// Its unit runs but its engine has not answered for
    /// [`UNRESPONSIVE_AFTER_MS`]: the component is degraded until it does.
    Unresponsive,
    Deleting,
}

impl Phase {
    /// Whether the server is in trouble an admin should see at once
    /// (with its engine's last words).
    pub fn is_trouble(self) -> bool {
        matches!(self, Phase::Failed | Phase::Unresponsive)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServersPlan {
    pub steps: Vec<Step>,
    pub phases: BTreeMap<ServerId, Phase>,
    /// Records with no server on the host, or the reverse: reported.
    pub unknown_users: Vec<ServerId>,
    pub unknown_units: Vec<ServerId>,
    /// The user plane to write, when the firewall's differs.
    pub plane: Option<UserPlane>,
}

impl Plan for ServersPlan {
    fn is_noop(&self) -> bool {
        self.steps.is_empty() && self.plane.is_none()
    }
}

/// The user plane for `servers`: what each server not being deleted
/// publishes, under its user's uid (none yet without a user), and its
/// engine's front, and the box's DNS ([`OFFERED`]). What the servers'
/// manager does not own (interfaces) is kept as the firewall's record has
/// it.
pub fn user_plane(servers: &[Server], observed: &Observed) -> UserPlane {
    let live = || servers.iter().filter(|s| s.deleting.is_none());
    let mut published: Vec<ServerPort> = live()
        .filter_map(|s| Some((s, *observed.users.get(&s.id)?)))
        .flat_map(|(s, uid)| {
            s.ports.iter().map(move |p| ServerPort {
                uid,
                protocol: p.protocol,
                port: p.port,
            })
        })
        .collect();
    published.sort();
    let mut fronts: Vec<u16> = live().filter_map(|s| s.engine_port).collect();
    fronts.sort();
    UserPlane {
        published,
        fronts,
        offered: OFFERED.to_vec(),
        ..observed.plane.clone()
    }
}

/// The box's ports every server may reach: DNS, where systemd-resolved's
/// stub answers on loopback (slirp4netns sends a server's queries to the
/// box's resolver; the resolver, not the server, asks the network).
pub const OFFERED: [(Protocol, u16); 2] = [(Protocol::Udp, 53), (Protocol::Tcp, 53)];

pub fn plan(servers: &[Server], observed: &Observed) -> ServersPlan {
    let mut out = ServersPlan::default();
    for server in servers {
        let seen = observed
            .servers
            .get(&server.id)
            .cloned()
            .unwrap_or(Seen::NOTHING);
        let crashes = observed.crashes.get(&server.id).copied();
        let (phase, step) = server_step(server, &seen, crashes, observed);
        out.phases.insert(server.id.clone(), phase);
        out.steps.extend(step);
    }
    let known: BTreeSet<&ServerId> = servers.iter().map(|s| &s.id).collect();
    out.unknown_users = observed
        .users
        .keys()
        .filter(|id| !known.contains(id))
        .cloned()
        .collect();
    out.unknown_units = observed
        .units
        .iter()
        .filter(|id| !known.contains(id))
        .cloned()
        .collect();
    let plane = user_plane(servers, observed);
    out.plane = (plane != observed.plane).then_some(plane);
    out
}

fn server_step(
    server: &Server,
    seen: &Seen,
    crashes: Option<Crashes>,
    observed: &Observed,
) -> (Phase, Option<Step>) {
    let now_ms = observed.now_ms;
    let id = server.id.clone();
    if let Some(deletion) = server.deleting {
        let step = if seen.unit.up() || seen.unit == Activity::Deactivating {
            Step::Stop(id)
        } else if seen.storage != Storage::Absent {
            Step::RemoveStorage {
                id,
                erase: deletion.erase,
            }
        } else if seen.user {
            Step::RemoveUser(id)
        } else {
            Step::Forget(id)
        };
        return (Phase::Deleting, Some(step));
    }
    match server.desired {
        DesiredState::Stopped => match seen.unit {
            Activity::Inactive | Activity::Failed => (Phase::Stopped, None),
            Activity::Deactivating => (Phase::Stopping, None),
            _ => (Phase::Stopping, Some(Step::Stop(id))),
        },
        DesiredState::Running => {
            if !seen.user {
                return (Phase::Preparing, Some(Step::CreateUser(id)));
            }
            if seen.storage != Storage::Mounted {
                return (
                    Phase::Preparing,
                    Some(Step::PrepareStorage {
                        id,
                        disk_mib: server.limits.disk_mib,
                        ports: server.ports.clone(),
                    }),
                );
            }
            let limits = server.limits;
            match seen.unit {
                Activity::Active | Activity::Reloading => match server.restart_asked_ms {
                    Some(asked) if asked > seen.since_ms => {
                        (Phase::Starting, Some(Step::Restart { id, limits }))
                    }
                    // Up, but its engine does not answer (yet).
                    _ if seen.answering == Some(false) => {
                        let waited = now_ms.saturating_sub(seen.since_ms);
                        if waited >= UNRESPONSIVE_AFTER_MS {
                            (Phase::Unresponsive, None)
                        } else {
                            (Phase::Starting, None)
                        }
                    }
                    _ if seen.answering == Some(true)
                        && observed.base_offered
                        && !server.base_loaded =>
                    {
                        let step = match observed.base_busy.get(&id) {
                            // Under way.
                            Some(None) => None,
                            Some(Some(retry_at)) if *retry_at > now_ms => None,
                            _ => Some(Step::LoadBase(id)),
                        };
                        (Phase::Running, step)
                    }
                    _ => (Phase::Running, None),
                },
                Activity::Activating => (Phase::Starting, None),
                Activity::Deactivating => (Phase::Stopping, None),
                Activity::Inactive => (Phase::Starting, Some(Step::Start { id, limits })),
                Activity::Failed => match crashes {
                    Some(c) if c.retry_at_ms() > now_ms => (Phase::Failed, None),
                    _ => (Phase::Failed, Some(Step::Start { id, limits })),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests;
