//! A daemon that runs members' servers for real, for the servers' tests:
//! the privileged helper in this (root) process ([`Lab`]), the fake
//! systemd on a private bus whose job hook runs each server unit's
//! command (see [`super::unit_runner`]), and hearth with `[servers]
//! manage = true` on them, its engines' TLS front on loopback.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth::servers::helper::Layout;
use serde_json::{Value, json};

use super::fake_systemd::{FakeSystemd, PrivateBus};
use super::servers_lab::Lab;
use super::sse::{self, SseStream};
use super::unit_runner::RunningUnit;
use super::{Daemon, Options, Protocol, TlsClient, last_lines};

pub struct ServersBox {
    pub lab: Lab,
    pub bus: PrivateBus,
    pub fake: FakeSystemd,
    /// The units the fake systemd runs, by server id.
    pub running: Arc<Mutex<HashMap<String, RunningUnit>>>,
    pub daemon: Daemon,
    /// The daemon's config, for [`ServersBox::kill_and_restart`].
    config: String,
    /// Daemons killed by [`ServersBox::kill_and_restart`], kept because
    /// their temp dirs hold the state dir the new one runs on.
    retired: Vec<Daemon>,
}

impl Drop for ServersBox {
    /// Whatever servers the daemon made here and a failed test left (a
    /// server made through the page or the API has no [`Cleanup`]): each
    /// user whose home is in this box's storage goes, with its mount and
    /// ranges.
    fn drop(&mut self) {
        // Their engines first: a user with processes cannot be removed.
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let storage = self.lab.layout.storage.to_string_lossy().into_owned();
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if let (Some(name), Some(home)) = (fields.first(), fields.get(5))
                && let Some(id) = name.strip_prefix("hs-")
                && home.starts_with(&storage)
            {
                super::servers_lab::remove_leftovers(&self.lab.layout, id);
            }
        }
    }
}

impl ServersBox {
    /// The journal the daemon reads the servers' logs from.
    pub fn journal(&self) -> std::path::PathBuf {
        self.lab.dir.path().join("journal")
    }

    /// The end of what the unit of server `id` printed (its engine), for
    /// a failure message; says why when there is none.
    pub fn unit_log_tail(&self, id: &str) -> String {
        let log = self.lab.dir.path().join(format!("unit-{id}.log"));
        match std::fs::read_to_string(&log) {
            Ok(text) => last_lines(&text, 40),
            Err(e) => format!("({}: {e})", log.display()),
        }
    }

    pub fn start() -> ServersBox {
        let lab = Lab::start(0);
        let bus = PrivateBus::start();
        let fake = FakeSystemd::serve(&bus);
        let running = run_server_units(&fake, &lab);
        let journal = lab.dir.path().join("journal");
        std::fs::create_dir_all(&journal).unwrap();
        // The base image every new server gets: here a busybox root (the
        // appliance's is Debian's, built by image/build.sh).
        let base = super::docker_cli::busybox_rootfs(&lab.dir.path().join("base"));
        let config = format!(
            "[system]\nmanage = false\nbus = {:?}\n\n[servers]\nmanage = true\nhelper_socket = {:?}\nstorage = {:?}\nrun_dir = {:?}\nfront_address = \"127.0.0.1\"\njournal_dir = {:?}\nbase_image = {:?}\n",
            bus.address(),
            lab.socket.to_str().unwrap(),
            lab.layout.storage.to_str().unwrap(),
            lab.layout.run.to_str().unwrap(),
            journal.to_str().unwrap(),
            base.to_str().unwrap(),
        );
        let daemon = Daemon::start(Options {
            config: config.clone(),
            ..Options::default()
        });
        ServersBox {
            lab,
            bus,
            fake,
            running,
            daemon,
            config,
            retired: Vec::new(),
        }
    }

    /// SIGKILLs the daemon and starts another on its state dir, as
    /// systemd would restart a hearth that died; the helper, the fake
    /// systemd and the engines it runs go on meanwhile, as on a box.
    pub fn kill_and_restart(&mut self) {
        self.daemon.signal(nix::sys::signal::Signal::SIGKILL);
        self.daemon
            .wait_exit(Duration::from_secs(10))
            .expect("the daemon dies of SIGKILL");
        let again = Daemon::start(Options {
            config: self.config.clone(),
            state_dir: Some(self.daemon.state_dir()),
            ..Options::default()
        });
        self.retired
            .push(std::mem::replace(&mut self.daemon, again));
    }

    /// Creates a server as `member` through the API and waits until the
    /// member's stream shows it running; its record, and a guard that
    /// removes what a failed test leaves of it.
    pub async fn running_server(&self, member: &TlsClient, name: &str) -> (Value, Cleanup) {
        let (status, created) =
            call(member, "POST", "/api/v1/servers", json!({ "name": name })).await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().unwrap().to_string();
        let cleanup = Cleanup::new(&id, &self.lab.layout);
        let mut stream = follow(member).await;
        let wait = Duration::from_secs(90);
        let waited = stream
            .try_until("servers", wait, |r| {
                server(r, &id).is_some_and(|s| s["phase"] == "running")
            })
            .await;
        if let Err(last) = waited {
            // What the engine said is the first thing to read then.
            panic!(
                "server {id} not running within {wait:?}; the last servers event: {last}\n\
                 the end of its unit's output:\n{}\n\
                 the end of hearth's log:\n{}",
                self.unit_log_tail(&id),
                last_lines(&self.daemon.stderr(), 40),
            );
        }
        (created, cleanup)
    }
}

/// The fake systemd runs each server unit's command as systemd would.
pub fn run_server_units(fake: &FakeSystemd, lab: &Lab) -> Arc<Mutex<HashMap<String, RunningUnit>>> {
    fake.add_template("hearth-server@");
    let running: Arc<Mutex<HashMap<String, RunningUnit>>> = Arc::default();
    let storage = lab.layout.storage.to_str().unwrap().to_string();
    let run = lab.layout.run.to_str().unwrap().to_string();
    let logs = lab.dir.path().to_path_buf();
    let units = running.clone();
    fake.on_job(
        "hearth-server@",
        Arc::new(move |unit: &str, verb: &str| {
            let id = unit
                .trim_start_matches("hearth-server@")
                .trim_end_matches(".service")
                .to_string();
            let mut units = units.lock().unwrap();
            if matches!(verb, "stop" | "restart") {
                units.remove(&id);
            }
            if matches!(verb, "start" | "restart") && !units.contains_key(&id) {
                let roots = [
                    (Layout::STORAGE, storage.as_str()),
                    (Layout::RUN, run.as_str()),
                ];
                let log = logs.join(format!("unit-{id}.log"));
                units.insert(id.clone(), RunningUnit::start(&id, &roots, &log));
            }
            true
        }),
    );
    running
}

/// Whatever the test leaves of the server (a failed assertion midway) is
/// removed: its mount, its user and ranges.
pub struct Cleanup {
    id: String,
    layout: Layout,
}

impl Cleanup {
    pub fn new(id: &str, layout: &Layout) -> Cleanup {
        Cleanup {
            id: id.to_string(),
            layout: layout.clone(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        super::servers_lab::remove_leftovers(&self.layout, &self.id);
    }
}

pub async fn follow(client: &TlsClient) -> SseStream {
    sse::open(
        client,
        Protocol::Http2,
        "/api/v1/events?topics=servers",
        None,
    )
    .await
}

pub fn server<'a>(report: &'a Value, id: &str) -> Option<&'a Value> {
    report["status"]["servers"]
        .as_array()
        .and_then(|list| list.iter().find(|s| s["id"] == id))
}

pub async fn call(c: &TlsClient, method: &str, path: &str, body: Value) -> (u16, Value) {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let r = c.send(method, path, &body, &[], &[]).await;
    let json = if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    };
    (r.status, json)
}
