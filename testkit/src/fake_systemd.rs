//! A fake of the parts of systemd's D-Bus APIs that hearth uses, served on
//! a private `dbus-daemon` of the test's own, so that hearth's D-Bus code
//! runs against something with systemd's names, paths, types, signals and
//! errors without touching the machine's real systemd.
//!
//! - [`PrivateBus`]: a session-type `dbus-daemon` listening on a socket in
//!   a temp dir, open to every user; [`PrivateBus::restart`] kills it and
//!   starts it again on the same address.
//! - [`FakeSystemd`]: one zbus connection on that bus owning
//!   `org.freedesktop.systemd1`, `.hostname1`, `.timedate1` and `.login1`,
//!   serving the Manager (units and jobs), unit objects (`Unit` and, for
//!   `.service` units, `Service` properties), hostnamed, timedated and
//!   logind's `Reboot`/`PowerOff`. It runs on a Tokio runtime of its own,
//!   so its handle is plain (blocking) methods usable from sync and async
//!   tests alike, and it reconnects by itself when the bus comes back.
//!
//! What it does as systemd 252 does:
//! - unit paths are `/org/freedesktop/systemd1/unit/` + the name escaped
//!   as sd-bus escapes a label ([`unit_path`]);
//! - `StartUnit`/`StopUnit`/`RestartUnit` answer a job path
//!   `/org/freedesktop/systemd1/job/N` at once (after `JobNew`), and after
//!   the job delay (50 ms unless [`FakeSystemd::set_job_delay`]) change the
//!   unit's state, emit `PropertiesChanged` on the unit for
//!   `org.freedesktop.systemd1.Unit` (ActiveState, SubState and the
//!   timestamps) and `org.freedesktop.systemd1.Service` (ExecMainStatus,
//!   ExecMainCode, MainPID), then the Manager's `JobRemoved(u, o, s, s)`
//!   with result `done`, or `failed` after [`FakeSystemd::fail_next_job`];
//! - an unknown unit is `org.freedesktop.systemd1.NoSuchUnit`; a unit or
//!   method refused by [`FakeSystemd::deny`]/[`FakeSystemd::deny_method`]
//!   is `org.freedesktop.DBus.Error.AccessDenied`, as polkit's refusal
//!   reaches the caller; a bad job mode is `InvalidArgs`.
//!
//! What it simplifies: signals are broadcast (real systemd sends the
//! Manager's and units' signals only once someone called `Subscribe`), a
//! restart goes straight to active/running (no deactivating/activating
//! steps), jobs cannot be cancelled, and timestamps are CLOCK_REALTIME µs.
//!
//! Nothing is skipped: a missing `dbus-daemon` panics, naming the package.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use zbus::message::{Header, Message};
use zbus::names::{ErrorName, InterfaceName};
use zbus::object_server::SignalEmitter;
use zbus::{Connection, DBusError, ObjectPath, OwnedObjectPath, OwnedVariant, Variant, interface};

/// How long the bus gets to start, the fake to answer, ...
pub const WAIT: Duration = Duration::from_secs(10);

pub const SYSTEMD: &str = "org.freedesktop.systemd1";
pub const HOSTNAME1: &str = "org.freedesktop.hostname1";
pub const TIMEDATE1: &str = "org.freedesktop.timedate1";
pub const LOGIN1: &str = "org.freedesktop.login1";
/// The well-known names the fake owns.
pub const NAMES: [&str; 4] = [SYSTEMD, HOSTNAME1, TIMEDATE1, LOGIN1];

pub const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
pub const UNIT_IFACE: &str = "org.freedesktop.systemd1.Unit";
pub const SERVICE_IFACE: &str = "org.freedesktop.systemd1.Service";

/// The error of an unknown unit.
pub const NO_SUCH_UNIT: &str = "org.freedesktop.systemd1.NoSuchUnit";
/// The error of a refused action (polkit said no).
pub const ACCESS_DENIED: &str = "org.freedesktop.DBus.Error.AccessDenied";
pub const INVALID_ARGS: &str = "org.freedesktop.DBus.Error.InvalidArgs";

/// `CLD_EXITED`, systemd's ExecMainCode of a main process that exited.
pub const CLD_EXITED: i32 = 1;

/// The job modes systemd 252 accepts.
const JOB_MODES: [&str; 9] = [
    "replace",
    "fail",
    "isolate",
    "ignore-dependencies",
    "ignore-requirements",
    "flush",
    "triggering",
    "replace-irreversibly",
    "restart-dependencies",
];

// ---------------------------------------------------------------------------
// The bus

/// A running `dbus-daemon` of the test's own (session type, anyone may
/// connect and own names), on `unix:path=<tempdir>/bus`. Killed on drop.
pub struct PrivateBus {
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// How many times the daemon was started, to name its log files.
    starts: u32,
}

impl PrivateBus {
    /// A daemon's options managing the system through this bus and
    /// following `ssh.service`.
    pub fn system_options(&self) -> crate::Options {
        crate::Options {
            config: format!(
                "[system]\nmanage = true\nbus = {:?}\nfollow = [\"ssh.service\"]\n",
                self.address()
            ),
            ..crate::Options::default()
        }
    }

    /// Starts the bus and waits until it answers on its socket.
    pub fn start() -> PrivateBus {
        super::require("dbus-daemon", "dbus");
        let dir = tempfile::Builder::new()
            .prefix("bus")
            .tempdir_in("/tmp")
            .unwrap();
        // A hearth run as another user must reach the socket.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut bus = PrivateBus {
            dir,
            child: None,
            starts: 0,
        };
        std::fs::write(bus.config_path(), bus.config()).unwrap();
        bus.spawn();
        bus
    }

    /// The address to give a D-Bus client, e.g. `unix:path=/tmp/busXYZ/bus`;
    /// the same across [`Self::restart`].
    pub fn address(&self) -> String {
        format!("unix:path={}", self.socket_path().display())
    }

    pub fn socket_path(&self) -> PathBuf {
        self.dir.path().join("bus")
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("bus.conf")
    }

    /// The daemon's config: the session bus's, open to every user.
    fn config(&self) -> String {
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"#,
            self.address()
        )
    }

    /// The daemon's stderr, all of its runs.
    pub fn log(&self) -> String {
        (1..=self.starts)
            .map(|n| std::fs::read_to_string(self.log_path(n)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn log_path(&self, n: u32) -> PathBuf {
        self.dir.path().join(format!("dbus-daemon.{n}.log"))
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Kills the daemon (every connection on it drops) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.socket_path());
    }

    /// Kills the daemon and starts a new one on the same address; returns
    /// once the new one answers.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn spawn(&mut self) {
        let bin = super::require("dbus-daemon", "dbus");
        self.starts += 1;
        let log = std::fs::File::create(self.log_path(self.starts)).unwrap();
        let mut child = Command::new(bin)
            .arg(format!("--config-file={}", self.config_path().display()))
            .arg("--nofork")
            .arg("--print-address=1")
            .arg(format!("--address={}", self.address()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("run dbus-daemon");
        // It prints its address once it listens.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(WAIT).unwrap_or_default();
        if !line.starts_with("unix:") {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "dbus-daemon did not start (printed {line:?}): {}",
                self.log()
            );
        }
        self.child = Some(child);
        crate::eventually_blocking_every(
            WAIT,
            Duration::from_millis(10),
            "dbus-daemon to answer",
            || {
                UnixStream::connect(self.socket_path())
                    .map(drop)
                    .map_err(|e| format!("{e}; its log: {}", self.log()))
            },
        );
        std::fs::set_permissions(self.socket_path(), std::fs::Permissions::from_mode(0o777))
            .unwrap();
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------
// State

/// One unit as the fake knows it (what its D-Bus properties answer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitState {
    pub id: String,
    pub load_state: String,
    pub active_state: String,
    pub sub_state: String,
    /// µs since the epoch, as systemd's `*Timestamp` properties.
    pub state_change_timestamp: u64,
    pub active_enter_timestamp: u64,
    pub inactive_enter_timestamp: u64,
    pub exec_main_status: i32,
    pub exec_main_code: i32,
    pub main_pid: u32,
}

impl UnitState {
    fn is_service(&self) -> bool {
        self.id.ends_with(".service")
    }

    /// Moves to `active`/`sub` now, with the timestamps systemd updates.
    fn enter(&mut self, active: &str, sub: &str, next_pid: &mut u32) {
        let now = now_us();
        if active == "active" && self.active_state != "active" {
            self.active_enter_timestamp = now;
        }
        if matches!(active, "inactive" | "failed") && self.active_state != active {
            self.inactive_enter_timestamp = now;
        }
        self.state_change_timestamp = now;
        self.active_state = active.to_string();
        self.sub_state = sub.to_string();
        if active == "active" && sub == "running" {
            if self.main_pid == 0 {
                self.main_pid = *next_pid;
                *next_pid += 1;
            }
        } else if matches!(active, "inactive" | "failed") {
            self.main_pid = 0;
        }
    }
}

struct State {
    units: BTreeMap<String, UnitState>,
    denied_units: HashSet<String>,
    denied_methods: HashSet<String>,
    fail_next: HashSet<String>,
    calls: Vec<String>,
    hostname: String,
    static_hostname: String,
    timezone: String,
    ntp: bool,
    reboots: Vec<bool>,
    power_offs: Vec<bool>,
    next_job: u32,
    next_pid: u32,
    job_delay: Duration,
    /// Templates (`hearth-server@`): `LoadUnit` of an instance loads it.
    templates: Vec<String>,
    /// Properties set with `SetUnitProperties`, per unit, last value.
    properties: BTreeMap<String, BTreeMap<String, u64>>,
    /// Called as a job ends (before the unit's new state): the unit, the
    /// verb; `false` fails the job. Stands for what the unit runs.
    hooks: Vec<(String, JobHook)>,
    /// The connection on the bus, while there is one.
    conn: Option<Connection>,
}

/// A test's stand-in for what a unit runs: called with the unit's name and
/// `start`, `stop` or `restart` as a job of a unit with its prefix ends.
pub type JobHook = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

#[derive(Clone)]
struct Shared(Arc<Mutex<State>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn unit<T>(&self, name: &str, f: impl FnOnce(&UnitState) -> T) -> T {
        let st = self.lock();
        f(st.units.get(name).expect("a unit of the fake"))
    }

    /// Records a call; refuses it if its method is denied.
    fn call(&self, method: &str, args: &[&str]) -> Result<(), Refusal> {
        let mut st = self.lock();
        let mut line = method.to_string();
        for a in args {
            line.push(' ');
            line.push_str(a);
        }
        st.calls.push(line);
        if st.denied_methods.contains(method) {
            return Err(Refusal::access_denied());
        }
        Ok(())
    }

    fn conn(&self) -> Option<Connection> {
        self.lock().conn.clone()
    }
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// systemd's object path of unit `name`: every byte but `[A-Za-z0-9]`
/// (and a digit first) becomes `_xx`, e.g. `caddy.service` →
/// `/org/freedesktop/systemd1/unit/caddy_2eservice`.
pub fn unit_path(name: &str) -> String {
    let mut label = String::new();
    if name.is_empty() {
        label.push('_');
    }
    for (i, b) in name.bytes().enumerate() {
        if b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()) {
            label.push(b as char);
        } else {
            label.push_str(&format!("_{b:02x}"));
        }
    }
    format!("/org/freedesktop/systemd1/unit/{label}")
}

fn object_path(path: &str) -> OwnedObjectPath {
    OwnedObjectPath::try_from(path.to_string()).expect("a valid object path")
}

// ---------------------------------------------------------------------------
// Errors

/// A D-Bus error reply of any name.
#[derive(Debug)]
pub struct Refusal {
    name: &'static str,
    message: String,
}

impl Refusal {
    fn access_denied() -> Refusal {
        Refusal {
            name: ACCESS_DENIED,
            message: "Access denied".into(),
        }
    }

    fn no_such_unit(name: &str) -> Refusal {
        Refusal {
            name: NO_SUCH_UNIT,
            message: format!("Unit {name} not found."),
        }
    }

    fn invalid_args(message: String) -> Refusal {
        Refusal {
            name: INVALID_ARGS,
            message,
        }
    }
}

impl DBusError for Refusal {
    fn create_reply(&self, call: &Header<'_>) -> zbus::Result<Message> {
        Message::error(call, self.name).build(&(self.message.as_str(),))
    }

    fn name(&self) -> ErrorName<'_> {
        ErrorName::from_static_str_unchecked(self.name)
    }

    fn description(&self) -> Option<&str> {
        Some(&self.message)
    }
}

// ---------------------------------------------------------------------------
// The interfaces

struct Manager {
    shared: Shared,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verb {
    Start,
    Stop,
    Restart,
}

impl Manager {
    async fn job(
        &self,
        emitter: &SignalEmitter<'_>,
        verb: Verb,
        name: String,
        mode: String,
    ) -> Result<OwnedObjectPath, Refusal> {
        let method = match verb {
            Verb::Start => "StartUnit",
            Verb::Stop => "StopUnit",
            Verb::Restart => "RestartUnit",
        };
        self.shared.call(method, &[&name, &mode])?;
        let (id, delay, fail) = {
            let mut st = self.shared.lock();
            if !JOB_MODES.contains(&mode.as_str()) {
                return Err(Refusal::invalid_args(format!("Job mode {mode} invalid")));
            }
            if st.denied_units.contains(&name) {
                return Err(Refusal::access_denied());
            }
            match st.units.get(&name) {
                Some(u) if u.load_state == "loaded" || verb == Verb::Stop => {}
                _ => return Err(Refusal::no_such_unit(&name)),
            }
            st.next_job += 1;
            let fail = st.fail_next.remove(&name);
            (st.next_job, st.job_delay, fail)
        };
        let job = object_path(&format!("/org/freedesktop/systemd1/job/{id}"));
        let _ = Manager::job_new(emitter, id, job.as_ref(), &name).await;
        let shared = self.shared.clone();
        let job2 = job.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            finish_job(shared, id, job2, name, verb, fail).await;
        });
        Ok(job)
    }
}

/// Ends a job: the unit's new state, its PropertiesChanged, JobRemoved.
async fn finish_job(
    shared: Shared,
    id: u32,
    job: OwnedObjectPath,
    name: String,
    verb: Verb,
    fail: bool,
) {
    let hook = {
        let st = shared.lock();
        st.hooks
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix.as_str()))
            .map(|(_, h)| h.clone())
    };
    let verb_name = match verb {
        Verb::Start => "start",
        Verb::Stop => "stop",
        Verb::Restart => "restart",
    };
    let fail = match hook {
        // Off the runtime: the hook may block (start a process, wait).
        Some(h) => {
            let n = name.clone();
            let ok = tokio::task::spawn_blocking(move || h(&n, verb_name))
                .await
                .unwrap_or(false);
            fail || !ok
        }
        None => fail,
    };
    let (unit, conn) = {
        let mut st = shared.lock();
        let st = &mut *st;
        let Some(u) = st.units.get_mut(&name) else {
            return;
        };
        if fail {
            u.enter("failed", "failed", &mut st.next_pid);
            u.exec_main_code = CLD_EXITED;
            u.exec_main_status = 1;
        } else if verb == Verb::Stop {
            u.enter("inactive", "dead", &mut st.next_pid);
            u.exec_main_code = CLD_EXITED;
            u.exec_main_status = 0;
        } else {
            if verb == Verb::Restart {
                // Through inactive, with a new main process.
                u.main_pid = 0;
                u.inactive_enter_timestamp = now_us();
                u.active_state = "activating".into();
            }
            u.enter("active", "running", &mut st.next_pid);
            u.exec_main_code = 0;
            u.exec_main_status = 0;
        }
        (u.clone(), st.conn.clone())
    };
    let Some(conn) = conn else { return };
    let _ = emit_unit_changed(&conn, &unit).await;
    let result = if fail { "failed" } else { "done" };
    if let Ok(emitter) = SignalEmitter::new(&conn, MANAGER_PATH) {
        let _ = Manager::job_removed(&emitter, id, job.as_ref(), &name, result).await;
    }
}

/// `PropertiesChanged` on the unit's object, for `Unit` and (a service)
/// `Service`, with the values.
async fn emit_unit_changed(conn: &Connection, u: &UnitState) -> zbus::Result<()> {
    let path = unit_path(&u.id);
    let emitter = SignalEmitter::new(conn, path.as_str())?;
    let changed: HashMap<&str, Variant<'_>> = HashMap::from([
        ("ActiveState", Variant::from(u.active_state.as_str())),
        ("SubState", Variant::from(u.sub_state.as_str())),
        (
            "StateChangeTimestamp",
            Variant::from(u.state_change_timestamp),
        ),
        (
            "ActiveEnterTimestamp",
            Variant::from(u.active_enter_timestamp),
        ),
        (
            "InactiveEnterTimestamp",
            Variant::from(u.inactive_enter_timestamp),
        ),
    ]);
    zbus::fdo::Properties::properties_changed(
        &emitter,
        InterfaceName::from_static_str_unchecked(UNIT_IFACE),
        changed,
        Cow::Borrowed(&[]),
    )
    .await?;
    if u.is_service() {
        let changed: HashMap<&str, Variant<'_>> = HashMap::from([
            ("ExecMainStatus", Variant::from(u.exec_main_status)),
            ("ExecMainCode", Variant::from(u.exec_main_code)),
            ("MainPID", Variant::from(u.main_pid)),
        ]);
        zbus::fdo::Properties::properties_changed(
            &emitter,
            InterfaceName::from_static_str_unchecked(SERVICE_IFACE),
            changed,
            Cow::Borrowed(&[]),
        )
        .await?;
    }
    Ok(())
}

#[interface(name = "org.freedesktop.systemd1.Manager")]
impl Manager {
    fn subscribe(&self) -> Result<(), Refusal> {
        self.shared.call("Subscribe", &[])
    }

    fn unsubscribe(&self) -> Result<(), Refusal> {
        self.shared.call("Unsubscribe", &[])
    }

    fn get_unit(&self, name: String) -> Result<OwnedObjectPath, Refusal> {
        self.shared.call("GetUnit", &[&name])?;
        if self.shared.lock().units.contains_key(&name) {
            Ok(object_path(&unit_path(&name)))
        } else {
            Err(Refusal {
                name: NO_SUCH_UNIT,
                message: format!("Unit {name} not loaded."),
            })
        }
    }

    /// Loads the unit: an unknown one becomes a `not-found` unit, as in
    /// systemd.
    async fn load_unit(
        &self,
        #[zbus(connection)] conn: &Connection,
        name: String,
    ) -> Result<OwnedObjectPath, Refusal> {
        self.shared.call("LoadUnit", &[&name])?;
        let added = {
            let mut st = self.shared.lock();
            let added = !st.units.contains_key(&name);
            if added {
                let load = if st.templates.iter().any(|t| name.starts_with(t.as_str())) {
                    "loaded"
                } else {
                    "not-found"
                };
                st.units
                    .insert(name.clone(), new_unit(&name, load, "inactive", "dead"));
            }
            added
        };
        if added {
            register_unit(conn, &self.shared, &name).await;
        }
        Ok(object_path(&unit_path(&name)))
    }

    /// Only `u64` values are kept (the servers' limits are all `t`).
    fn set_unit_properties(
        &self,
        name: String,
        runtime: bool,
        properties: Vec<(String, OwnedVariant)>,
    ) -> Result<(), Refusal> {
        self.shared
            .call("SetUnitProperties", &[&name, &runtime.to_string()])?;
        let mut st = self.shared.lock();
        if !st.units.contains_key(&name) {
            return Err(Refusal::no_such_unit(&name));
        }
        let props = st.properties.entry(name).or_default();
        for (key, value) in properties {
            if let Ok(v) = u64::try_from(value) {
                props.insert(key, v);
            }
        }
        Ok(())
    }

    /// Shell-style patterns with `*` only, as hearth uses them.
    #[allow(clippy::type_complexity)]
    fn list_units_by_patterns(
        &self,
        states: Vec<String>,
        patterns: Vec<String>,
    ) -> Result<
        Vec<(
            String,
            String,
            String,
            String,
            String,
            String,
            OwnedObjectPath,
            u32,
            String,
            OwnedObjectPath,
        )>,
        Refusal,
    > {
        self.shared.call("ListUnitsByPatterns", &[])?;
        let st = self.shared.lock();
        Ok(st
            .units
            .values()
            .filter(|u| u.load_state == "loaded")
            .filter(|u| states.is_empty() || states.contains(&u.active_state))
            .filter(|u| patterns.is_empty() || patterns.iter().any(|p| glob(p, &u.id)))
            .map(|u| {
                (
                    u.id.clone(),
                    String::new(),
                    u.load_state.clone(),
                    u.active_state.clone(),
                    u.sub_state.clone(),
                    String::new(),
                    object_path(&unit_path(&u.id)),
                    0,
                    String::new(),
                    object_path("/"),
                )
            })
            .collect())
    }

    async fn start_unit(
        &self,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        name: String,
        mode: String,
    ) -> Result<OwnedObjectPath, Refusal> {
        self.job(&emitter, Verb::Start, name, mode).await
    }

    async fn stop_unit(
        &self,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        name: String,
        mode: String,
    ) -> Result<OwnedObjectPath, Refusal> {
        self.job(&emitter, Verb::Stop, name, mode).await
    }

    async fn restart_unit(
        &self,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        name: String,
        mode: String,
    ) -> Result<OwnedObjectPath, Refusal> {
        self.job(&emitter, Verb::Restart, name, mode).await
    }

    #[zbus(property)]
    fn version(&self) -> String {
        "252.fake".into()
    }

    #[zbus(signal)]
    async fn job_new(
        emitter: &SignalEmitter<'_>,
        id: u32,
        job: ObjectPath<'_>,
        unit: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn job_removed(
        emitter: &SignalEmitter<'_>,
        id: u32,
        job: ObjectPath<'_>,
        unit: &str,
        result: &str,
    ) -> zbus::Result<()>;
}

/// Whether `name` matches `pattern`, whose only wildcard is `*` (unit
/// names are ASCII).
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.starts_with(head) && (head.len()..=name.len()).any(|i| glob(tail, &name[i..]))
        }
    }
}

fn new_unit(name: &str, load: &str, active: &str, sub: &str) -> UnitState {
    let mut u = UnitState {
        id: name.to_string(),
        load_state: load.to_string(),
        active_state: "inactive".into(),
        sub_state: "dead".into(),
        state_change_timestamp: 0,
        active_enter_timestamp: 0,
        inactive_enter_timestamp: 0,
        exec_main_status: 0,
        exec_main_code: 0,
        main_pid: 0,
    };
    if active != "inactive" || sub != "dead" {
        // Started before the test looked: a pid of its own.
        let mut pid = 1000 + (now_us() % 30000) as u32;
        u.enter(active, sub, &mut pid);
    }
    u
}

struct UnitIface {
    name: String,
    shared: Shared,
}

#[interface(name = "org.freedesktop.systemd1.Unit")]
impl UnitIface {
    #[zbus(property, name = "Id")]
    fn id(&self) -> String {
        self.name.clone()
    }

    #[zbus(property, name = "LoadState")]
    fn load_state(&self) -> String {
        self.shared.unit(&self.name, |u| u.load_state.clone())
    }

    #[zbus(property, name = "ActiveState")]
    fn active_state(&self) -> String {
        self.shared.unit(&self.name, |u| u.active_state.clone())
    }

    #[zbus(property, name = "SubState")]
    fn sub_state(&self) -> String {
        self.shared.unit(&self.name, |u| u.sub_state.clone())
    }

    #[zbus(property, name = "StateChangeTimestamp")]
    fn state_change_timestamp(&self) -> u64 {
        self.shared.unit(&self.name, |u| u.state_change_timestamp)
    }

    #[zbus(property, name = "ActiveEnterTimestamp")]
    fn active_enter_timestamp(&self) -> u64 {
        self.shared.unit(&self.name, |u| u.active_enter_timestamp)
    }

    #[zbus(property, name = "InactiveEnterTimestamp")]
    fn inactive_enter_timestamp(&self) -> u64 {
        self.shared.unit(&self.name, |u| u.inactive_enter_timestamp)
    }
}

struct ServiceIface {
    name: String,
    shared: Shared,
}

#[interface(name = "org.freedesktop.systemd1.Service")]
impl ServiceIface {
    #[zbus(property, name = "ExecMainStatus")]
    fn exec_main_status(&self) -> i32 {
        self.shared.unit(&self.name, |u| u.exec_main_status)
    }

    #[zbus(property, name = "ExecMainCode")]
    fn exec_main_code(&self) -> i32 {
        self.shared.unit(&self.name, |u| u.exec_main_code)
    }

    #[zbus(property, name = "MainPID")]
    fn main_pid(&self) -> u32 {
        self.shared.unit(&self.name, |u| u.main_pid)
    }
}

/// Puts unit `name`'s object on `conn` (nothing if it is there already).
async fn register_unit(conn: &Connection, shared: &Shared, name: &str) {
    let path = unit_path(name);
    let server = conn.object_server();
    let iface = UnitIface {
        name: name.to_string(),
        shared: shared.clone(),
    };
    let _ = server.at(path.as_str(), iface).await;
    if name.ends_with(".service") {
        let iface = ServiceIface {
            name: name.to_string(),
            shared: shared.clone(),
        };
        let _ = server.at(path.as_str(), iface).await;
    }
}

struct Hostname1 {
    shared: Shared,
}

#[interface(name = "org.freedesktop.hostname1")]
impl Hostname1 {
    async fn set_static_hostname(
        &self,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        hostname: String,
        _interactive: bool,
    ) -> Result<(), Refusal> {
        self.shared.call("SetStaticHostname", &[&hostname])?;
        {
            let mut st = self.shared.lock();
            st.static_hostname = hostname.clone();
            st.hostname = hostname;
        }
        let _ = self.static_hostname_changed(&emitter).await;
        let _ = self.hostname_changed(&emitter).await;
        Ok(())
    }

    async fn set_hostname(
        &self,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        hostname: String,
        _interactive: bool,
    ) -> Result<(), Refusal> {
        self.shared.call("SetHostname", &[&hostname])?;
        self.shared.lock().hostname = hostname;
        let _ = self.hostname_changed(&emitter).await;
        Ok(())
    }

    #[zbus(property)]
    fn hostname(&self) -> String {
        self.shared.lock().hostname.clone()
    }

    #[zbus(property)]
    fn static_hostname(&self) -> String {
        self.shared.lock().static_hostname.clone()
    }
}

struct Timedate1 {
    shared: Shared,
}

#[interface(name = "org.freedesktop.timedate1")]
impl Timedate1 {
    async fn set_timezone(
        &self,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        timezone: String,
        _interactive: bool,
    ) -> Result<(), Refusal> {
        self.shared.call("SetTimezone", &[&timezone])?;
        if timezone.is_empty() || timezone.starts_with('/') || timezone.contains("..") {
            return Err(Refusal::invalid_args(format!(
                "Invalid or not installed time zone '{timezone}'"
            )));
        }
        self.shared.lock().timezone = timezone;
        let _ = self.timezone_changed(&emitter).await;
        Ok(())
    }

    #[zbus(name = "SetNTP")]
    async fn set_ntp(
        &self,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        use_ntp: bool,
        _interactive: bool,
    ) -> Result<(), Refusal> {
        self.shared.call("SetNTP", &[&use_ntp.to_string()])?;
        self.shared.lock().ntp = use_ntp;
        let _ = self.n_t_p_changed(&emitter).await;
        Ok(())
    }

    #[zbus(property)]
    fn timezone(&self) -> String {
        self.shared.lock().timezone.clone()
    }

    #[zbus(property, name = "NTP")]
    fn ntp(&self) -> bool {
        self.shared.lock().ntp
    }

    /// The fake's clock is never synchronised: no time server is reached.
    #[zbus(property, name = "NTPSynchronized")]
    fn ntp_synchronized(&self) -> bool {
        false
    }
}

struct Login1 {
    shared: Shared,
}

#[interface(name = "org.freedesktop.login1.Manager")]
impl Login1 {
    /// Recorded; nothing reboots.
    fn reboot(&self, interactive: bool) -> Result<(), Refusal> {
        self.shared.call("Reboot", &[&interactive.to_string()])?;
        self.shared.lock().reboots.push(interactive);
        Ok(())
    }

    /// Recorded; nothing powers off.
    fn power_off(&self, interactive: bool) -> Result<(), Refusal> {
        self.shared.call("PowerOff", &[&interactive.to_string()])?;
        self.shared.lock().power_offs.push(interactive);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The fake

/// The fake systemd (and hostnamed, timedated, logind) on a [`PrivateBus`],
/// and the test's handle on it. Stops serving on drop.
pub struct FakeSystemd {
    shared: Shared,
    address: String,
    rt: Option<tokio::runtime::Runtime>,
}

impl FakeSystemd {
    /// Connects to `bus`, takes the four names and serves; returns once
    /// they are taken. Knows no units until [`Self::add_unit`].
    pub fn serve(bus: &PrivateBus) -> FakeSystemd {
        FakeSystemd::serve_at(&bus.address())
    }

    /// [`Self::serve`] on a bus given by its address.
    pub fn serve_at(address: &str) -> FakeSystemd {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fake-systemd")
            .enable_all()
            .build()
            .unwrap();
        let shared = Shared(Arc::new(Mutex::new(State {
            units: BTreeMap::new(),
            denied_units: HashSet::new(),
            denied_methods: HashSet::new(),
            fail_next: HashSet::new(),
            calls: Vec::new(),
            hostname: "localhost".into(),
            static_hostname: "localhost".into(),
            timezone: "Etc/UTC".into(),
            ntp: true,
            reboots: Vec::new(),
            power_offs: Vec::new(),
            next_job: 0,
            next_pid: 4200,
            job_delay: Duration::from_millis(50),
            templates: Vec::new(),
            properties: BTreeMap::new(),
            hooks: Vec::new(),
            conn: None,
        })));
        let (tx, rx) = mpsc::channel();
        rt.spawn(supervise(shared.clone(), address.to_string(), tx));
        match rx.recv_timeout(WAIT) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the fake systemd cannot serve on {address}: {e}"),
            Err(_) => panic!("the fake systemd did not connect to {address} in {WAIT:?}"),
        }
        FakeSystemd {
            shared,
            address: address.to_string(),
            rt: Some(rt),
        }
    }

    /// Runs `work` on the fake's runtime and waits for its result (fine
    /// from inside a test's runtime too: the fake's is another one).
    fn on_runtime<T: Send + 'static>(&self, work: impl Future<Output = T> + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        self.rt.as_ref().unwrap().spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv_timeout(WAIT).expect("the fake systemd answered")
    }

    /// Waits until the fake is connected and owns its names on the bus
    /// now running at its address (after [`PrivateBus::restart`], it
    /// reconnects by itself).
    pub fn wait_ready(&self) {
        let shared = self.shared.clone();
        let address = self.address.clone();
        let ready = self.on_runtime(async move {
            let deadline = Instant::now() + WAIT - Duration::from_millis(500);
            while Instant::now() < deadline {
                let connected = shared.conn().is_some_and(|c| !c.is_closed());
                if connected && names_owned(&address).await {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            false
        });
        assert!(ready, "the fake systemd is not back on {}", self.address);
    }

    /// Adds (or replaces) a loaded unit in state `active`/`sub`, e.g.
    /// `("caddy.service", "active", "running")`.
    pub fn add_unit(&self, name: &str, active: &str, sub: &str) {
        self.shared
            .lock()
            .units
            .insert(name.to_string(), new_unit(name, "loaded", active, sub));
        if let Some(conn) = self.shared.conn() {
            let shared = self.shared.clone();
            let name = name.to_string();
            self.on_runtime(async move { register_unit(&conn, &shared, &name).await });
        }
    }

    /// Moves a unit to `active`/`sub` by itself (a crash, a restart by
    /// systemd), with the timestamps, and emits its PropertiesChanged;
    /// returns once they are sent.
    pub fn set_state(&self, name: &str, active: &str, sub: &str) {
        let unit = {
            let mut st = self.shared.lock();
            let st = &mut *st;
            let u = st
                .units
                .get_mut(name)
                .unwrap_or_else(|| panic!("{name} is not a unit of the fake"));
            u.enter(active, sub, &mut st.next_pid);
            u.clone()
        };
        self.emit_changed(unit);
    }

    /// A crash: the unit goes failed/failed, its main process having
    /// exited with `status`; emits its PropertiesChanged.
    pub fn crash(&self, name: &str, status: i32) {
        let unit = {
            let mut st = self.shared.lock();
            let st = &mut *st;
            let u = st
                .units
                .get_mut(name)
                .unwrap_or_else(|| panic!("{name} is not a unit of the fake"));
            u.enter("failed", "failed", &mut st.next_pid);
            u.exec_main_code = CLD_EXITED;
            u.exec_main_status = status;
            u.clone()
        };
        self.emit_changed(unit);
    }

    fn emit_changed(&self, unit: UnitState) {
        if let Some(conn) = self.shared.conn() {
            self.on_runtime(async move {
                let _ = emit_unit_changed(&conn, &unit).await;
            });
        }
    }

    /// The next job on `unit` fails: JobRemoved says `failed`, the unit
    /// goes failed/failed with ExecMainStatus 1.
    pub fn fail_next_job(&self, unit: &str) {
        self.shared.lock().fail_next.insert(unit.to_string());
    }

    /// Refuses start/stop/restart of `unit` with AccessDenied, as polkit
    /// refuses a unit outside hearth's rules.
    pub fn deny(&self, unit: &str) {
        self.shared.lock().denied_units.insert(unit.to_string());
    }

    /// Refuses every call of `method` (e.g. `SetStaticHostname`, `Reboot`)
    /// with AccessDenied.
    pub fn deny_method(&self, method: &str) {
        self.shared.lock().denied_methods.insert(method.to_string());
    }

    /// How long a job takes before its unit changes (50 ms by default).
    /// `LoadUnit` of any unit named `prefix...` loads it (`hearth-server@`).
    pub fn add_template(&self, prefix: &str) {
        self.shared.lock().templates.push(prefix.to_string());
    }

    /// Runs `hook` as each job of a unit named `prefix...` ends.
    pub fn on_job(&self, prefix: &str, hook: JobHook) {
        self.shared.lock().hooks.push((prefix.to_string(), hook));
    }

    /// The `u64` properties last set on `unit` with `SetUnitProperties`.
    pub fn properties(&self, unit: &str) -> BTreeMap<String, u64> {
        self.shared
            .lock()
            .properties
            .get(unit)
            .cloned()
            .unwrap_or_default()
    }

    pub fn set_job_delay(&self, delay: Duration) {
        self.shared.lock().job_delay = delay;
    }

    /// Every method call so far, in order, as `Method arg ...`, e.g.
    /// `RestartUnit caddy.service replace`, `SetStaticHostname mybox`,
    /// `SetNTP true`, `Reboot false` (the `interactive` flag of the
    /// hostname and timezone calls is left out). Refused calls included.
    pub fn calls(&self) -> Vec<String> {
        self.shared.lock().calls.clone()
    }

    /// A unit as the fake knows it.
    pub fn unit(&self, name: &str) -> Option<UnitState> {
        self.shared.lock().units.get(name).cloned()
    }

    /// The transient hostname (set by both SetHostname and SetStaticHostname).
    pub fn hostname(&self) -> String {
        self.shared.lock().hostname.clone()
    }

    pub fn static_hostname(&self) -> String {
        self.shared.lock().static_hostname.clone()
    }

    pub fn timezone(&self) -> String {
        self.shared.lock().timezone.clone()
    }

    pub fn ntp(&self) -> bool {
        self.shared.lock().ntp
    }

    /// How many times `Reboot` was called (and not refused).
    pub fn reboots(&self) -> usize {
        self.shared.lock().reboots.len()
    }

    /// How many times `PowerOff` was called (and not refused).
    pub fn power_offs(&self) -> usize {
        self.shared.lock().power_offs.len()
    }

    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for FakeSystemd {
    fn drop(&mut self) {
        let conn = self.shared.lock().conn.take();
        if let Some(rt) = self.rt.take() {
            {
                let _guard = rt.enter();
                drop(conn);
            }
            rt.shutdown_background();
        }
    }
}

/// Keeps the fake on the bus: connects, waits until the connection
/// closes (the bus went away), connects again, until the runtime stops.
/// The first outcome goes to `first`.
async fn supervise(shared: Shared, address: String, first: mpsc::Sender<Result<(), String>>) {
    let mut first = Some(first);
    loop {
        match connect(&shared, &address).await {
            Ok(conn) => {
                if let Some(tx) = first.take() {
                    let _ = tx.send(Ok(()));
                }
                conn.closed().await;
                shared.lock().conn = None;
            }
            Err(e) => {
                if let Some(tx) = first.take() {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

async fn connect(shared: &Shared, address: &str) -> zbus::Result<Connection> {
    let mut builder = zbus::connection::Builder::address(address)
        .serve_at(
            MANAGER_PATH,
            Manager {
                shared: shared.clone(),
            },
        )
        .serve_at(
            "/org/freedesktop/hostname1",
            Hostname1 {
                shared: shared.clone(),
            },
        )
        .serve_at(
            "/org/freedesktop/timedate1",
            Timedate1 {
                shared: shared.clone(),
            },
        )
        .serve_at(
            "/org/freedesktop/login1",
            Login1 {
                shared: shared.clone(),
            },
        )
        .replace_existing_names(true);
    for name in NAMES {
        builder = builder.name(name);
    }
    let conn = builder.build().await?;
    shared.lock().conn = Some(conn.clone());
    // Every unit, those added while this connected included.
    let units: Vec<String> = shared.lock().units.keys().cloned().collect();
    for name in units {
        register_unit(&conn, shared, &name).await;
    }
    Ok(conn)
}

/// Whether the fake's four names have an owner on the bus at `address`.
async fn names_owned(address: &str) -> bool {
    let Ok(conn) = zbus::connection::Builder::address(address).build().await else {
        return false;
    };
    let Ok(dbus) = zbus::fdo::DBusProxy::new(&conn).await else {
        return false;
    };
    for name in NAMES {
        let Ok(name) = zbus::names::BusName::try_from(name) else {
            return false;
        };
        if !matches!(dbus.name_has_owner(name).await, Ok(true)) {
            return false;
        }
    }
    true
}
