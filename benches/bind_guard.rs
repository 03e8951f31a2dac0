//! What the servers' bind guard costs (src/servers/helper/bind_guard):
//! the time of one `bind()` and `close()` of a TCP socket on 127.0.0.1
//! by a server's uid, with no guard and then with the guard of a busy
//! box in force (100 servers publishing 8 ports each, the binding uid's
//! rule the last one the program reaches, its last port: the longest
//! path), in the same run. Each sample is a child process (the uid is
//! set there) timing 20,000 binds; the figure is per bind.
//!
//! Needs root (make bench runs it as root) and a cgroup v2 hierarchy.

use hearth_testkit::stats;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hearth::firewall::model::Protocol;
use hearth::servers::helper::bind_guard::{self, Rule};
use hearth::servers::model::{PublishedPort, SERVER_UIDS};
use stats::print_line;

const SAMPLES: usize = 20;
const BINDS: u32 = 20_000;
const SERVERS: u32 = 100;
const PORTS: u16 = 8;
/// The child: `uid:port`.
const CHILD: &str = "HEARTH_BENCH_BIND_CHILD";

/// In the child: become `uid`, bind `port` [`BINDS`] times, print the
/// nanoseconds it took.
fn child(spec: &str) {
    let (uid, port) = spec.split_once(':').unwrap();
    let uid = nix::unistd::Uid::from_raw(uid.parse().unwrap());
    let port: u16 = port.parse().unwrap();
    nix::unistd::setgid(nix::unistd::Gid::from_raw(uid.as_raw())).unwrap();
    nix::unistd::setuid(uid).unwrap();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let t = Instant::now();
    for _ in 0..BINDS {
        // std's bind sets SO_REUSEADDR: the port is free again at once.
        drop(TcpListener::bind(addr).expect("bind"));
    }
    println!("{}", t.elapsed().as_nanos());
}

/// One sample: the time of one bind by `uid` of `port`.
fn sample(uid: u32, port: u16) -> Duration {
    let out = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, format!("{uid}:{port}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let total: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    Duration::from_nanos(total / u64::from(BINDS))
}

fn samples(uid: u32, port: u16) -> Vec<Duration> {
    (0..SAMPLES).map(|_| sample(uid, port)).collect()
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD) {
        return child(&spec);
    }
    assert!(
        nix::unistd::geteuid().is_root(),
        "the bind guard's benchmark sets uids and loads a BPF program: run it as root"
    );
    let uid = *SERVER_UIDS.start() + SERVERS - 1;
    let first_port = 30_000;
    let port = first_port + PORTS - 1;
    let bare = samples(uid, port);

    let servers: Vec<Rule> = (0..SERVERS)
        .map(|i| Rule {
            uids: SERVER_UIDS.start() + i..=SERVER_UIDS.start() + i,
            ports: (0..PORTS)
                .map(|p| PublishedPort {
                    port: first_port + p + if i == SERVERS - 1 { 0 } else { 1000 },
                    protocol: Protocol::Tcp,
                })
                .collect::<BTreeSet<_>>(),
        })
        .collect();
    let defaults = vec![Rule {
        uids: SERVER_UIDS,
        ports: BTreeSet::new(),
    }];
    let instructions = bind_guard::program::size(&servers) + 3;
    bind_guard::apply(Path::new("/bench"), servers, defaults).expect("the guard is put in force");
    let guarded = samples(uid, port);
    // The guard refuses what it should while it is measured.
    let refused = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, format!("{uid}:{}", port + 1))
        .output()
        .unwrap();
    assert!(!refused.status.success(), "a port not the uid's was bound");

    let ns = |d: Duration| format!("{} ns", d.as_nanos());
    let line = |name: &str, d: Vec<Duration>| print_line(name, d, ns);
    println!(
        "bind guard: {SAMPLES} samples of {BINDS} binds and closes on 127.0.0.1; \
         {SERVERS} servers x {PORTS} ports, {instructions} instructions"
    );
    line("bind + close, no guard", bare);
    line("bind + close, guard (longest path)", guarded);
}
