//! The virtual servers, measured: for each of a few servers, the time
//! the privileged helper takes to make its user and storage, and from
//! starting its unit's command to its engine answering (together:
//! create-to-running, without systemd's own part, which the VM test
//! covers); the idle memory of one server (engine, rootlesskit,
//! slirp4netns, containerd: the resident sets of its processes, and its
//! cgroup's charge) after 10 s; and a container's start-to-exit time
//! (`true`, no network) inside a server next to the same on a root
//! engine started here, in the same run.
//!
//! Needs root, docker.io, rootlesskit, slirp4netns, uidmap and
//! busybox-static (make bench installs them). Every user, mount and
//! engine made here is removed at the end.

use hearth_testkit as common;
use hearth_testkit::stats;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::servers_lab::{Lab, build_busybox_image, run_to_end};
use common::unit_runner::RunningUnit;
use hearth::servers::engine::Engine;
use hearth::servers::helper::Layout;
use hearth::servers::helper::protocol::Request;
use stats::{ms, print_line};

const SERVERS: usize = 5;
const RUNS: usize = 20;

fn no_network() -> Option<bollard::models::HostConfig> {
    Some(bollard::models::HostConfig {
        network_mode: Some("none".into()),
        ..Default::default()
    })
}

/// Waits until the engine at `socket` answers; its client.
async fn answering(socket: &Path) -> Engine {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(e) = Engine::connect(socket)
            && e.ping().await.is_ok()
        {
            return e;
        }
        assert!(
            Instant::now() < deadline,
            "no engine at {}",
            socket.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The resident set of `pid`, in KiB (0 once it is gone).
fn rss_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The container runs of `cmd` on `engine`: start-to-exit times.
async fn container_runs(engine: &Engine, image: &str) -> Vec<Duration> {
    // One first, not counted: the image's layers are read once.
    run_to_end(engine, image, &["true"], no_network()).await;
    let mut out = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let (code, _) = run_to_end(engine, image, &["true"], no_network()).await;
        assert_eq!(code, 0);
        out.push(t.elapsed());
    }
    out
}

/// A root dockerd of this run's own, in `dir`, with no network of its own.
struct RootEngine(Child);

impl RootEngine {
    fn start(dir: &Path) -> RootEngine {
        let dockerd = common::require("dockerd", "docker.io");
        let child = Command::new(dockerd)
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", dir.join("docker.sock").display()))
            .args(["--iptables=false", "--ip6tables=false", "--bridge=none"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("dockerd.log")).unwrap())
            .spawn()
            .unwrap();
        RootEngine(child)
    }
}

impl Drop for RootEngine {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.0.wait();
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut lab = Lab::start(0);
    let storage = lab.layout.storage.to_str().unwrap().to_string();
    let run = lab.layout.run.to_str().unwrap().to_string();
    let roots = [
        (Layout::STORAGE, storage.as_str()),
        (Layout::RUN, run.as_str()),
    ];
    // The first server makes the tun device usable (as udev does).
    let first = lab.running_server().await;

    let (mut prepare, mut answer, mut total) = (Vec::new(), Vec::new(), Vec::new());
    let mut units: Vec<RunningUnit> = Vec::new();
    for _ in 0..SERVERS {
        let id = lab.new_id();
        let t0 = Instant::now();
        for request in [
            Request::CreateUser { id: id.clone() },
            Request::PrepareStorage {
                id: id.clone(),
                disk_mib: 4096,
            },
        ] {
            let line = serde_json::to_string(&request).unwrap();
            assert_eq!(lab.ask_as(0, &line), r#"{"outcome":"done"}"#);
        }
        let t1 = Instant::now();
        let log = lab.dir.path().join(format!("bench-{id}.log"));
        let unit = RunningUnit::start(id.as_str(), &roots, &log);
        answering(&lab.layout.socket(&id)).await;
        let t2 = Instant::now();
        prepare.push(t1 - t0);
        answer.push(t2 - t1);
        total.push(t2 - t0);
        units.push(unit);
    }

    // Idle: the first server, untouched for 10 s.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let pids = first.unit.processes();
    let rss: u64 = pids.iter().map(|p| rss_kib(*p)).sum();

    build_busybox_image(&first.engine, "base:bench").await;
    let rootless = container_runs(&first.engine, "base:bench").await;
    let dir = tempfile::tempdir().unwrap();
    let root = RootEngine::start(dir.path());
    let root_engine = answering(&dir.path().join("docker.sock")).await;
    build_busybox_image(&root_engine, "base:bench").await;
    let rooted = container_runs(&root_engine, "base:bench").await;
    drop(root);
    drop(units);

    let line = |name: &str, d: Vec<Duration>| print_line(name, d, ms);
    println!("servers: {SERVERS} created one after another, {RUNS} container runs per engine");
    line("helper: user, ranges, 4 GiB storage", prepare);
    line("unit started to engine answering", answer);
    line("create to running (both)", total);
    println!(
        "{:<44} {} MiB in {} processes",
        "idle server, resident sets",
        rss / 1024,
        pids.len()
    );
    line("container start to exit, rootless server", rootless);
    line("container start to exit, root engine", rooted);
}
