//! Network namespaces of a test's own, for what must cross a network
//! without touching the machine's: a ruleset loaded where only the test
//! sees it, and hosts joined by veth pairs that send real packets. Each
//! namespace is deleted when its value is dropped, even after a failed
//! assertion. Needs root (as `make test` runs) and iproute2.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use super::require;

/// A named network namespace (`ip netns`), with its loopback up.
pub struct NetNs {
    name: String,
}

impl NetNs {
    /// A fresh namespace; `tag` says which test made it (in `ip netns`).
    pub fn new(tag: &str) -> NetNs {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        require("ip", "iproute2");
        let name = format!(
            "hearth-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        ok(&ip(&["netns", "add", &name]), "ip netns add (needs root)");
        let ns = NetNs { name };
        ns.run("ip", &["link", "set", "lo", "up"]);
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `program` inside; panics with its stderr when it fails.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let out = self.output(program, args);
        ok(&out, &format!("{program} {args:?} in {}", self.name));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `program` inside and hands back whatever happened.
    pub fn output(&self, program: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, program])
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs `script` with `sh` inside, `$1`, `$2`, ... being `args`.
    pub fn sh(&self, script: &str, args: &[&str]) -> String {
        let mut all = vec!["-c", script, "sh"];
        all.extend_from_slice(args);
        self.run("sh", &all)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
        // What `set_hosts` wrote, if it did (the name is this value's own).
        let _ = std::fs::remove_dir_all(self.etc_dir());
    }
}

impl NetNs {
    /// Makes `names` resolve to 127.0.0.1 for the programs started inside
    /// with [`Self::run`], [`Self::output`] or `ip netns exec` (which
    /// bind-mounts `/etc/netns/NAME/hosts` on `/etc/hosts` for them;
    /// threads entered with [`Self::on_thread`] keep the host's file).
    /// Removed with the namespace.
    pub fn set_hosts(&self, names: &[&str]) {
        std::fs::create_dir_all(self.etc_dir()).unwrap();
        std::fs::write(
            self.etc_dir().join("hosts"),
            format!("127.0.0.1 localhost {}\n::1 localhost\n", names.join(" ")),
        )
        .unwrap();
    }

    /// `/etc/netns/NAME`, the files `ip netns exec` puts over `/etc`.
    pub fn etc_dir(&self) -> std::path::PathBuf {
        std::path::Path::new("/etc/netns").join(&self.name)
    }
}

/// Joins `a` and `b` with a veth pair, `a_addr` and `b_addr` in CIDR
/// form (`10.9.0.1/24`), both ends up; answers the interface names.
pub fn link(a: &NetNs, a_addr: &str, b: &NetNs, b_addr: &str) -> (String, String) {
    let (ea, eb) = veth(a, b);
    for (ns, dev, addr) in [(a, &ea, a_addr), (b, &eb, b_addr)] {
        ns.run("ip", &["addr", "add", addr, "dev", dev]);
    }
    (ea, eb)
}

/// Joins `a` and `b` with a veth pair, both ends up and without an
/// address (e.g. to put `b`'s end on a bridge); answers the names.
pub fn veth(a: &NetNs, b: &NetNs) -> (String, String) {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // Interface names are at most 15 bytes, and unique on the host while
    // both ends are created there.
    let (ea, eb) = (
        format!("hv{}a{n}", std::process::id() % 100_000),
        format!("hv{}b{n}", std::process::id() % 100_000),
    );
    ok(
        &ip(&[
            "link",
            "add",
            &ea,
            "netns",
            a.name(),
            "type",
            "veth",
            "peer",
            "name",
            &eb,
            "netns",
            b.name(),
        ]),
        "ip link add veth",
    );
    for (ns, dev) in [(a, &ea), (b, &eb)] {
        ns.run("ip", &["link", "set", dev, "up"]);
    }
    (ea, eb)
}

impl NetNs {
    /// Runs `work` on a thread of its own inside this namespace (and, with
    /// `uid`, as that user: the thread's own credentials only), so that the
    /// sockets it opens are this namespace's and that user's.
    pub fn on_thread<T: Send + 'static>(
        &self,
        uid: Option<u32>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::spawn(move || {
            enter(&path);
            if let Some(uid) = uid {
                // SAFETY: the raw system call changes this thread's
                // credentials only (glibc's setresuid would change every
                // thread's); the arguments are plain integers.
                let r = unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) };
                assert_eq!(r, 0, "setresuid({uid}) on a test thread (needs root)");
            }
            work()
        })
    }
}

/// Moves the calling thread into the network namespace at `path`.
pub fn enter(path: &str) {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    // SAFETY: `file` is an open namespace file for the whole call; setns
    // only changes the calling thread's network namespace.
    let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(
        r,
        0,
        "setns into {path}: {}",
        std::io::Error::last_os_error()
    );
}

fn ip(args: &[&str]) -> Output {
    Command::new("ip").args(args).output().unwrap()
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
