//! The services the box depends on, through systemd's D-Bus API: hearth
//! follows their state (no polling: systemd's `PropertiesChanged`
//! signals, after `Subscribe()`) and starts, stops and restarts those on
//! an allow-list, answering from the job's `JobRemoved` signal.
//!
//! One connection serves both. [`follow`] owns it: it connects, loads
//! each followed unit, publishes every state change, and when the bus
//! goes away (its streams end, or a ping fails) it marks the component
//! `system` degraded and connects again with backoff. An action uses the
//! follower's connection, or a connection of its own while there is none.
//!
//! The follower beats for the systemd watchdog (see [`crate::liveness`])
//! while it waits, and every call it makes to systemd has a time limit
//! (`CALL_LIMIT`): a systemd that does not answer is a lost connection
//! (the component degraded, connecting again), not a stuck daemon.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::SelectAll;
use serde::Serialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use zbus::Connection;
use zbus::proxy::CacheProperties;

use super::dbus::{ManagerProxy, ServiceProxy, UnitProxy};
use crate::events::{Event, Topic};
use crate::liveness::Heartbeat;
use crate::reconcile::{self, Connected, Follower, Pace};

/// How long a job may take before the API stops waiting.
const JOB_WAIT: Duration = Duration::from_secs(90);
/// How often a quiet bus is checked to be alive.
const PING_EVERY: Duration = Duration::from_secs(10);
/// How long the follower waits for one answer from systemd.
const CALL_LIMIT: Duration = Duration::from_secs(10);

/// Which bus to use: the system's, or a test's private one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bus {
    System,
    Address(String),
}

impl Bus {
    pub async fn connect(&self) -> zbus::Result<Connection> {
        match self {
            Bus::System => Connection::system().await,
            Bus::Address(a) => zbus::connection::Builder::address(a.as_str()).build().await,
        }
    }
}

/// One unit as people see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UnitState {
    pub unit: String,
    /// `loaded`, `not-found`, ...
    pub load: String,
    /// `active`, `inactive`, `failed`, `activating`, ...
    pub active: String,
    /// `running`, `dead`, `exited`, ...
    pub sub: String,
    /// When `active` last changed, in ms since the epoch.
    pub since_ms: u64,
    /// The main process's last exit status (services only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
    /// Whether admins may start, stop and restart it (the allow-list).
    pub controllable: bool,
}

/// The `services` topic: the followed units, and a reboot or power-off
/// about to happen. Its objects' keys are sorted on the wire, as they
/// always were.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Services {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power: Option<PowerNotice>,
    #[serde(serialize_with = "crate::events::sorted")]
    pub units: Vec<UnitState>,
}

/// The box goes down at `at_ms`, as `by` asked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerNotice {
    /// `reboot` or `power-off`.
    pub action: &'static str,
    pub at_ms: u64,
    pub by: String,
}

// What runs on the box is for everyone signed in, the same for all; the
// public status page shows the machine only.
crate::events::signed_in_only!(Services);

impl Event for Services {
    const TOPIC: Topic = Topic::Services;
}

/// What an admin may ask of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Verb {
    Start,
    Stop,
    Restart,
}

impl Verb {
    pub fn parse(s: &str) -> Option<Verb> {
        match s {
            "start" => Some(Verb::Start),
            "stop" => Some(Verb::Stop),
            "restart" => Some(Verb::Restart),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Restart => "restart",
        }
    }
}

/// Reboot or power off, through logind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    Reboot,
    PowerOff,
}

impl Power {
    pub fn name(self) -> &'static str {
        match self {
            Power::Reboot => "reboot",
            Power::PowerOff => "power-off",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UnitError {
    #[error("{0} is not one of the services hearth may control")]
    NotAllowed(String),
    #[error("the {verb} job of {unit} ended with {result:?}")]
    JobFailed {
        unit: String,
        verb: &'static str,
        result: String,
    },
    #[error("the {verb} job of {unit} did not end within {} s", JOB_WAIT.as_secs())]
    JobTimedOut { unit: String, verb: &'static str },
    #[error("systemd refused to {verb} {unit}: {message}")]
    Refused {
        unit: String,
        verb: &'static str,
        message: String,
    },
    #[error("cannot reach systemd over D-Bus: {0}")]
    Bus(String),
}

impl From<UnitError> for crate::refusal::Refusal {
    fn from(e: UnitError) -> Self {
        use crate::refusal::Refusal;
        match e {
            e @ UnitError::NotAllowed(_) => Refusal::forbidden(e.to_string()),
            e @ (UnitError::JobFailed { .. } | UnitError::Refused { .. }) => Refusal::Rejected {
                code: "job_failed",
                message: e.to_string(),
            },
            e @ (UnitError::JobTimedOut { .. } | UnitError::Bus(_)) => {
                Refusal::Unavailable(e.to_string())
            }
        }
    }
}

/// The units, as followed and controlled over one bus.
pub struct Units {
    bus: Bus,
    follow: Vec<String>,
    control: Vec<String>,
    conn: Mutex<Option<Connection>>,
    states: watch::Sender<BTreeMap<String, UnitState>>,
}

impl Units {
    pub fn new(bus: Bus, follow: Vec<String>, control: Vec<String>) -> Units {
        Units {
            bus,
            follow,
            control,
            conn: Mutex::new(None),
            states: watch::channel(BTreeMap::new()).0,
        }
    }

    /// The followed units' states, as last seen.
    pub fn states(&self) -> Vec<UnitState> {
        self.states.borrow().values().cloned().collect()
    }

    pub fn subscribe(&self) -> watch::Receiver<BTreeMap<String, UnitState>> {
        self.states.subscribe()
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    pub fn may_control(&self, unit: &str) -> bool {
        self.control.iter().any(|u| u == unit)
    }

    /// The follower's connection, or one of its own while there is none.
    async fn connection(&self) -> zbus::Result<Connection> {
        let current = self.conn.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match current {
            Some(c) => Ok(c),
            None => self.bus.connect().await,
        }
    }

    /// Asks logind to reboot or power off (not interactive: the polkit
    /// rules grant hearth's user this).
    pub async fn power(&self, power: Power) -> Result<(), UnitError> {
        let bus_err = |e: zbus::Error| UnitError::Bus(e.to_string());
        let conn = self.connection().await.map_err(bus_err)?;
        let login = super::dbus::LoginProxy::new(&conn).await.map_err(bus_err)?;
        match power {
            Power::Reboot => login.reboot(false).await,
            Power::PowerOff => login.power_off(false).await,
        }
        .map_err(bus_err)
    }

    /// Carries out `verb` on `unit` and waits for its job to end.
    pub async fn act(&self, unit: &str, verb: Verb) -> Result<(), UnitError> {
        if !self.may_control(unit) {
            return Err(UnitError::NotAllowed(unit.to_string()));
        }
        let bus_err = |e: zbus::Error| UnitError::Bus(e.to_string());
        let conn = self.connection().await.map_err(bus_err)?;
        let manager = ManagerProxy::new(&conn).await.map_err(bus_err)?;
        // Subscribed before the job exists, so its end cannot be missed.
        let mut removed = manager.receive_job_removed().await.map_err(bus_err)?;
        let job = match verb {
            Verb::Start => manager.start_unit(unit, "replace").await,
            Verb::Stop => manager.stop_unit(unit, "replace").await,
            Verb::Restart => manager.restart_unit(unit, "replace").await,
        }
        .map_err(|e| UnitError::Refused {
            unit: unit.to_string(),
            verb: verb.name(),
            message: e.to_string(),
        })?;
        let ended = async {
            while let Some(signal) = removed.next().await {
                let Ok(args) = signal.args() else { continue };
                if args.job.as_str() == job.as_str() {
                    return Some(args.result.clone());
                }
            }
            None
        };
        match tokio::time::timeout(JOB_WAIT, ended).await {
            Ok(Some(result)) if result == "done" => Ok(()),
            Ok(Some(result)) => Err(UnitError::JobFailed {
                unit: unit.to_string(),
                verb: verb.name(),
                result,
            }),
            Ok(None) => Err(UnitError::Bus("the bus closed before the job ended".into())),
            Err(_) => Err(UnitError::JobTimedOut {
                unit: unit.to_string(),
                verb: verb.name(),
            }),
        }
    }
}

/// Reads one unit's state.
async fn read(
    units: &Units,
    conn: &Connection,
    name: &str,
    path: &zbus::OwnedObjectPath,
) -> zbus::Result<UnitState> {
    let unit = UnitProxy::builder(conn)
        .path(path.clone())
        .cache_properties(CacheProperties::No)
        .build()
        .await?;
    let exit_status = if name.ends_with(".service") {
        let service = ServiceProxy::builder(conn)
            .path(path.clone())
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        service.exec_main_status().await.ok()
    } else {
        None
    };
    Ok(UnitState {
        unit: name.to_string(),
        load: unit.load_state().await?,
        active: unit.active_state().await?,
        sub: unit.sub_state().await?,
        since_ms: unit.state_change_timestamp().await? / 1000,
        exit_status,
        controllable: units.control.iter().any(|c| c == name),
    })
}

/// How the follower tells the rest of the daemon.
pub trait Report: Send + Sync {
    /// Connected and following `n` units.
    fn up(&self, n: usize);
    /// The bus is gone; retrying in `retry`.
    fn down(&self, why: &str, retry: Duration);
    /// The states changed.
    fn states(&self, states: &[UnitState]);
}

/// The units' follower on [`crate::reconcile::follow`]:
/// one session per connection to the bus, reconnecting with the shared
/// backoff (1 s to 30 s), beating for the watchdog.
pub struct UnitsFollower<R> {
    pub units: std::sync::Arc<Units>,
    pub report: R,
}

impl<R: Report> Follower for UnitsFollower<R> {
    type Error = zbus::Error;

    async fn session(&mut self, connected: &Connected) -> zbus::Result<()> {
        session(&self.units, &self.report, connected).await
    }

    fn down(&mut self, why: &str, retry: Duration) {
        *self.units.conn.lock().unwrap_or_else(|p| p.into_inner()) = None;
        tracing::warn!(error = %why, retry_s = retry.as_secs(), "lost systemd's D-Bus; connecting again");
        self.report.down(why, retry);
    }
}

/// Follows the units until `shutdown`, reconnecting with backoff, and
/// beats on `heartbeat` throughout.
pub async fn follow(
    units: std::sync::Arc<Units>,
    report: impl Report,
    heartbeat: Heartbeat,
    shutdown: CancellationToken,
) {
    let pace = Pace::new(Duration::from_secs(1), Duration::from_secs(30)).beating(heartbeat);
    reconcile::follow(
        "systemd units",
        UnitsFollower { units, report },
        pace,
        shutdown,
    )
    .await;
}

/// One call to systemd, within [`CALL_LIMIT`].
async fn limited<T>(call: impl Future<Output = zbus::Result<T>>) -> zbus::Result<T> {
    tokio::time::timeout(CALL_LIMIT, call)
        .await
        .unwrap_or_else(|_| {
            Err(zbus::Error::Failure(format!(
                "systemd did not answer within {} s",
                CALL_LIMIT.as_secs()
            )))
        })
}

/// One connection's life: answers when the bus is gone.
async fn session(units: &Units, report: &impl Report, connected: &Connected) -> zbus::Result<()> {
    let (conn, paths, mut changes) = limited(subscribe(units)).await?;
    connected.now();
    let mut states = BTreeMap::new();
    for (name, path) in units.follow.iter().zip(&paths) {
        states.insert(name.clone(), limited(read(units, &conn, name, path)).await?);
    }
    *units.conn.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn.clone());
    publish(units, report, states);
    report.up(units.follow.len());
    let peer = zbus::fdo::PeerProxy::builder(&conn)
        .destination("org.freedesktop.systemd1")
        .path("/org/freedesktop/systemd1")
        .build()
        .await?;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            changed = changes.next() => {
                let Some(i) = changed else { return Ok(()) };
                let state = limited(read(units, &conn, &units.follow[i], &paths[i])).await?;
                let mut states = units.states.borrow().clone();
                states.insert(state.unit.clone(), state);
                publish(units, report, states);
            }
            _ = ping.tick() => limited(peer.ping()).await?,
        }
    }
}

/// The index of a followed unit whose properties changed.
type Changes = SelectAll<futures_util::stream::BoxStream<'static, usize>>;

/// Connects, subscribes to systemd's signals and to each followed unit's
/// `PropertiesChanged`.
async fn subscribe(
    units: &Units,
) -> zbus::Result<(Connection, Vec<zbus::OwnedObjectPath>, Changes)> {
    let conn = units.bus.connect().await?;
    let manager = ManagerProxy::new(&conn).await?;
    manager.subscribe().await?;
    let mut changes = SelectAll::new();
    let mut paths = Vec::new();
    for (i, name) in units.follow.iter().enumerate() {
        let path = manager.load_unit(name).await?;
        let props = zbus::fdo::PropertiesProxy::builder(&conn)
            .destination("org.freedesktop.systemd1")
            .path(path.clone())
            .build()
            .await?;
        changes.push(
            props
                .receive_properties_changed()
                .await?
                .map(move |_| i)
                .boxed(),
        );
        paths.push(path);
    }
    Ok((conn, paths, changes))
}

fn publish(units: &Units, report: &impl Report, states: BTreeMap<String, UnitState>) {
    let changed = units.states.send_if_modified(|current| {
        if *current == states {
            false
        } else {
            *current = states;
            true
        }
    });
    if changed {
        let list: Vec<UnitState> = units.states.borrow().values().cloned().collect();
        report.states(&list);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Reader, Visible};

    #[test]
    fn services_keep_their_sorted_keys_and_are_for_those_signed_in() {
        let services = Services {
            units: vec![UnitState {
                unit: "caddy.service".into(),
                load: "loaded".into(),
                active: "active".into(),
                sub: "running".into(),
                since_ms: 7,
                exit_status: None,
                controllable: true,
            }],
            power: Some(PowerNotice {
                action: "reboot",
                at_ms: 9,
                by: "root-admin".into(),
            }),
        };
        let admin = serde_json::to_string(&services).unwrap();
        assert_eq!(
            admin,
            r#"{"power":{"action":"reboot","at_ms":9,"by":"root-admin"},"units":[{"active":"active","controllable":true,"load":"loaded","since_ms":7,"sub":"running","unit":"caddy.service"}]}"#
        );
        let member = services.for_member(Reader::Anyone).unwrap();
        assert_eq!(serde_json::to_string(&member).unwrap(), admin);
        assert!(services.for_public().is_none());
    }
}

#[cfg(test)]
mod refusal_tests {
    use super::*;
    use crate::refusal::Refusal;

    #[test]
    fn unit_errors_refuse_as_the_api_promises() {
        assert_eq!(
            Refusal::from(UnitError::NotAllowed("sshd.service".into())),
            Refusal::forbidden("sshd.service is not one of the services hearth may control")
        );
        // systemd refused, or its job failed: nothing changed, and the
        // code says so.
        let failed = UnitError::JobFailed {
            unit: "caddy.service".into(),
            verb: "restart",
            result: "failed".into(),
        };
        let refused = UnitError::Refused {
            unit: "caddy.service".into(),
            verb: "stop",
            message: "access denied".into(),
        };
        for e in [failed, refused] {
            let message = e.to_string();
            assert_eq!(
                Refusal::from(e),
                Refusal::Rejected {
                    code: "job_failed",
                    message
                }
            );
        }
        // systemd out of reach, or slow: try again later.
        let timed_out = UnitError::JobTimedOut {
            unit: "caddy.service".into(),
            verb: "start",
        };
        for e in [timed_out, UnitError::Bus("no bus".into())] {
            let message = e.to_string();
            assert_eq!(Refusal::from(e), Refusal::Unavailable(message));
        }
    }
}
