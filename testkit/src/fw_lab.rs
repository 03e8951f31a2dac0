//! The firewall's test network, made of the test's own namespaces:
//!
//! ```text
//!  lan 192.168.50.10 ─┐
//!  private .50.20 ────┼─ switch (br0) ─ 192.168.50.1 ┐
//!                     │                              box ─ 203.0.113.1 ─ internet 203.0.113.10
//!  srv1 10.88.1.2 ─ 10.88.1.1 ───────────────────────┤
//!  srv2 10.88.2.2 ─ 10.88.2.1 ───────────────────────┘
//! ```
//!
//! The LAN is a bridge in a namespace of its own, a switch the box is
//! plugged into with one interface, as a home server is.
//!
//! The box forwards; `srv1` and `srv2` are servers behind interfaces of
//! their own (the user plane), the private host shares the LAN with the
//! client and the internet host stands for everything outside. A process
//! (a thread) on the box under [`SERVER_UID`] is the server owned by a
//! user. Nothing leaves these namespaces.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::netns::{NetNs, link, veth};
use super::{Daemon, Options, TlsClient};

pub const BOX_LAN: &str = "192.168.50.1";
pub const LAN_CLIENT: &str = "192.168.50.10";
pub const PRIVATE_HOST: &str = "192.168.50.20";
pub const INTERNET_HOST: &str = "203.0.113.10";
pub const BOX_INTERNET: &str = "203.0.113.1";
pub const SRV2: &str = "10.88.2.2";
/// The Linux user owning the sockets of the "server owned by a user"
/// (in the servers' uid range, as hearth's helper makes them).
pub const SERVER_UID: u32 = 59_001;
/// Another server's user.
pub const SERVER2_UID: u32 = 59_002;

pub struct Lab {
    pub lan: NetNs,
    pub private: NetNs,
    pub boxns: NetNs,
    pub internet: NetNs,
    pub srv1: NetNs,
    pub srv2: NetNs,
    pub switch: NetNs,
    /// The box's interfaces towards srv1 and srv2.
    pub server_ifaces: [String; 2],
}

impl Lab {
    pub fn new(tag: &str) -> Lab {
        let boxns = NetNs::new(&format!("{tag}-box"));
        let lan = NetNs::new(&format!("{tag}-lan"));
        let private = NetNs::new(&format!("{tag}-prv"));
        let internet = NetNs::new(&format!("{tag}-inet"));
        let srv1 = NetNs::new(&format!("{tag}-s1"));
        let srv2 = NetNs::new(&format!("{tag}-s2"));
        let switch = NetNs::new(&format!("{tag}-sw"));
        switch.run("ip", &["link", "add", "br0", "type", "bridge"]);
        switch.run("ip", &["link", "set", "br0", "up"]);
        for (host, addr) in [
            (&lan, LAN_CLIENT),
            (&private, PRIVATE_HOST),
            (&boxns, BOX_LAN),
        ] {
            let (end, port) = veth(host, &switch);
            host.run("ip", &["addr", "add", &format!("{addr}/24"), "dev", &end]);
            switch.run("ip", &["link", "set", &port, "master", "br0"]);
        }
        lan.run("ip", &["route", "add", "default", "via", BOX_LAN]);
        // The private host has no route out: only what the box masquerades
        // reaches it from elsewhere and gets an answer.
        link(
            &boxns,
            &format!("{BOX_INTERNET}/24"),
            &internet,
            &format!("{INTERNET_HOST}/24"),
        );
        let mut ifaces = Vec::new();
        for (srv, n) in [(&srv1, 1), (&srv2, 2)] {
            let (b, _) = link(
                &boxns,
                &format!("10.88.{n}.1/30"),
                srv,
                &format!("10.88.{n}.2/30"),
            );
            srv.run(
                "ip",
                &["route", "add", "default", "via", &format!("10.88.{n}.1")],
            );
            ifaces.push(b);
        }
        boxns.run("sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
        Lab {
            lan,
            private,
            boxns,
            internet,
            srv1,
            srv2,
            switch,
            server_ifaces: [ifaces[0].clone(), ifaces[1].clone()],
        }
    }
}

/// A TCP listener in a namespace that answers `hi` and notes the peers.
pub struct Listener {
    pub addr: SocketAddr,
    peers: Arc<Mutex<Vec<SocketAddr>>>,
}

impl Listener {
    pub fn start(ns: &NetNs, addr: &str) -> Listener {
        Listener::start_as(ns, None, addr)
    }

    /// A listener whose socket `uid` owns (a server's user, say).
    pub fn start_as(ns: &NetNs, uid: Option<u32>, addr: &str) -> Listener {
        let addr: SocketAddr = addr.parse().unwrap();
        let peers = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let seen = peers.clone();
        // Runs until the test process ends; its namespace's deletion does
        // not end a socket that is still open.
        let _ = ns.on_thread(uid, move || {
            let listener = TcpListener::bind(addr).unwrap();
            ready_tx.send(()).unwrap();
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                if let Ok(peer) = conn.peer_addr() {
                    seen.lock().unwrap().push(peer);
                }
                let _ = conn.write_all(b"hi");
            }
        });
        ready_rx.recv().expect("the listener is up");
        Listener { addr, peers }
    }

    /// Who connected so far, as this listener saw them.
    pub fn peers(&self) -> Vec<SocketAddr> {
        self.peers.lock().unwrap().clone()
    }
}

/// How long a connection attempt may take before it counts as dropped.
const CONNECT_WAIT: Duration = Duration::from_millis(1500);

/// Whether a TCP connection from `ns` (as `uid`, if given) to `to` is
/// answered with `hi`. A dropped SYN is a `false` after [`CONNECT_WAIT`].
pub fn reaches(ns: &NetNs, uid: Option<u32>, to: &str) -> bool {
    let to: SocketAddr = to.parse().unwrap();
    ns.on_thread(uid, move || {
        let Ok(mut conn) = TcpStream::connect_timeout(&to, CONNECT_WAIT) else {
            return false;
        };
        conn.set_read_timeout(Some(CONNECT_WAIT)).unwrap();
        let mut buf = [0u8; 2];
        conn.read_exact(&mut buf).is_ok() && &buf == b"hi"
    })
    .join()
    .unwrap()
}

impl Lab {
    /// A lab with the calling thread (and so every child it starts: the
    /// daemon's harness threads, chromedriver, Chromium) in the LAN
    /// client's namespace: its requests cross the box's firewall.
    pub fn from_lan(tag: &str) -> Lab {
        let lab = Lab::new(tag);
        super::netns::enter(&format!("/var/run/netns/{}", lab.lan.name()));
        lab
    }

    /// hearth started in the box (as [`Lab::start_hearth`], its own state
    /// folder) and its admin's client, once the policy it starts with
    /// (version 0) is in force.
    pub async fn hearth_in_force(&self, window_s: u64) -> (Daemon, TlsClient) {
        let d = self.start_hearth(window_s, None);
        let admin = d.admin_client();
        in_force(&admin, 0).await;
        (d, admin)
    }

    /// hearth in the box's namespace on its LAN address, managing the
    /// firewall with a confirm window of `window_s`.
    pub fn start_hearth(&self, window_s: u64, state_dir: Option<std::path::PathBuf>) -> Daemon {
        super::require("nft", "nftables");
        Daemon::start(Options {
            config: format!(
                "listen = \"{BOX_LAN}:8443\"\n[firewall]\nmanage = true\nconfirm_seconds = {window_s}\n"
            ),
            netns: Some(self.boxns.name().to_string()),
            state_dir,
            ..Options::default()
        })
    }
}

/// Waits until the firewall's health says `version` is in force; answers
/// its health entry.
pub async fn in_force(client: &TlsClient, version: u64) -> serde_json::Value {
    crate::eventually(
        Duration::from_secs(20),
        &format!("version {version} in force"),
        async || {
            let health = client.get("/api/v1/health").await.json();
            let fw = &health["components"]["firewall"];
            if fw["state"] == "ok"
                && fw["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with(&format!("policy version {version} ")))
            {
                return Ok(fw.clone());
            }
            Err(health)
        },
    )
    .await
}
