//! hearth's own privileges, settled once at start, before any thread
//! exists (capabilities are per thread; threads made later inherit the
//! calling thread's sets):
//!
//! - hearth does not run as root unless told to (`--allow-root`, for a
//!   developer's machine or a test): as root, a bug anywhere is the
//!   whole box's;
//! - it keeps only the capabilities its config needs: `CAP_NET_ADMIN`
//!   while it manages the firewall (the `nft` it runs inherits it as an
//!   ambient capability), `CAP_NET_BIND_SERVICE` while its port is below
//!   1024; every other one leaves the effective, permitted, inheritable,
//!   ambient and bounding sets;
//! - `no_new_privs`: nothing it runs gains privileges through a set-uid
//!   or file-capability program.
//!
//! A capability it needs and does not hold is an error at start, naming
//! it and the setting that needs it, rather than a failure later.

use caps::{CapSet, Capability, CapsHashSet};

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    #[error(
        "hearth does not run as root: run it as its own user (the unit does: User=hearth), or pass --allow-root on a development machine"
    )]
    Root,
    #[error(
        "hearth needs {cap} for {why}, and does not hold it (the unit grants it with AmbientCapabilities={cap})"
    )]
    Missing { cap: Capability, why: &'static str },
    #[error("cannot {what}: {message}")]
    Drop { what: &'static str, message: String },
}

/// What the config needs, and why.
pub fn needed(config: &Config) -> Vec<(Capability, &'static str)> {
    let mut out = Vec::new();
    if config.firewall.manage {
        out.push((
            Capability::CAP_NET_ADMIN,
            "managing the firewall (firewall.manage = true)",
        ));
    }
    // Port 0 is any free port the kernel picks, never a privileged one.
    if (1..1024).contains(&config.listen.port()) {
        out.push((
            Capability::CAP_NET_BIND_SERVICE,
            "listening on a port below 1024 (listen)",
        ));
    }
    out
}

/// Refuses root without `allow_root`, checks that the needed
/// capabilities are held, drops every other one and sets no_new_privs.
/// Answers what is kept. Must run before the first thread is started.
pub fn settle(config: &Config, allow_root: bool) -> Result<CapsHashSet, PrivilegeError> {
    if nix::unistd::geteuid().is_root() && !allow_root {
        return Err(PrivilegeError::Root);
    }
    let needed = needed(config);
    let keep: CapsHashSet = needed.iter().map(|(c, _)| *c).collect();
    let permitted = read(CapSet::Permitted)?;
    for (cap, why) in &needed {
        if !permitted.contains(cap) {
            return Err(PrivilegeError::Missing { cap: *cap, why });
        }
    }
    // The bounding set first, while CAP_SETPCAP may still be held: a
    // process without it cannot shrink its bounding set (the unit's
    // CapabilityBoundingSet already did, then).
    if permitted.contains(&Capability::CAP_SETPCAP) {
        for cap in read(CapSet::Bounding)?.difference(&keep) {
            caps::drop(None, CapSet::Bounding, *cap).map_err(|e| PrivilegeError::Drop {
                what: "shrink the bounding set",
                message: e.to_string(),
            })?;
        }
    }
    // Only what must change is changed: under the unit the sets are
    // exactly `keep` already, and its system call filter refuses capset
    // (@privileged), which this then never calls.
    let ambient = read(CapSet::Ambient)?;
    if ambient != keep
        || read(CapSet::Inheritable)? != keep
        || read(CapSet::Effective)? != keep
        || permitted != keep
    {
        // Ambient capabilities must be permitted and inheritable: cleared
        // first, raised again last.
        caps::clear(None, CapSet::Ambient).map_err(|e| drop_err("clear the ambient set", e))?;
        caps::set(None, CapSet::Inheritable, &keep)
            .map_err(|e| drop_err("set the inheritable set", e))?;
        caps::set(None, CapSet::Effective, &keep)
            .map_err(|e| drop_err("set the effective set", e))?;
        caps::set(None, CapSet::Permitted, &keep)
            .map_err(|e| drop_err("set the permitted set", e))?;
        for cap in &keep {
            caps::raise(None, CapSet::Ambient, *cap)
                .map_err(|e| drop_err("raise an ambient capability", e))?;
        }
    }
    nix::sys::prctl::set_no_new_privs().map_err(|e| drop_err("set no_new_privs", e))?;
    Ok(keep)
}

/// What the process holds, as the kernel says in `/proc/self/status`:
/// what an admin (and the VM test) checks against the README's table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Held {
    pub uid: u32,
    pub gid: u32,
    /// Capability names per set, sorted.
    pub effective: Vec<String>,
    pub permitted: Vec<String>,
    pub inheritable: Vec<String>,
    pub ambient: Vec<String>,
    pub bounding: Vec<String>,
    pub no_new_privs: bool,
    /// `0` none, `1` strict, `2` a filter (the unit's SystemCallFilter).
    pub seccomp: u8,
}

impl Held {
    pub fn read() -> std::io::Result<Held> {
        Held::parse(&std::fs::read_to_string("/proc/self/status")?).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "/proc/self/status lacks a field this kernel should have",
            )
        })
    }

    /// Parses the text of `/proc/<pid>/status`.
    pub fn parse(status: &str) -> Option<Held> {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(str::trim)
        };
        // `Uid:` is real, effective, saved, fs: the effective one counts.
        let second = |name: &str| field(name)?.split_whitespace().nth(1)?.parse().ok();
        let caps = |name: &str| {
            let mask = u64::from_str_radix(field(name)?, 16).ok()?;
            let mut names: Vec<String> = caps::all()
                .into_iter()
                .filter(|c| mask & c.bitmask() != 0)
                .map(|c| c.to_string())
                .collect();
            names.sort();
            Some(names)
        };
        Some(Held {
            uid: second("Uid")?,
            gid: second("Gid")?,
            effective: caps("CapEff")?,
            permitted: caps("CapPrm")?,
            inheritable: caps("CapInh")?,
            ambient: caps("CapAmb")?,
            bounding: caps("CapBnd")?,
            no_new_privs: field("NoNewPrivs")? == "1",
            seccomp: field("Seccomp")?.parse().ok()?,
        })
    }
}

fn read(set: CapSet) -> Result<CapsHashSet, PrivilegeError> {
    caps::read(None, set).map_err(|e| drop_err("read the capability sets", e))
}

fn drop_err(what: &'static str, e: impl std::fmt::Display) -> PrivilegeError {
    PrivilegeError::Drop {
        what,
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mode;

    #[test]
    fn the_config_decides_what_is_needed() {
        let dev = Config::defaults(Mode::Dev);
        assert!(needed(&dev).is_empty(), "--dev manages nothing, on 8443");
        let prod = Config::defaults(Mode::Production);
        let caps: Vec<Capability> = needed(&prod).into_iter().map(|(c, _)| c).collect();
        assert_eq!(caps, [Capability::CAP_NET_ADMIN]);
        let mut low = Config::defaults(Mode::Dev);
        low.listen = "0.0.0.0:443".parse().unwrap();
        let caps: Vec<Capability> = needed(&low).into_iter().map(|(c, _)| c).collect();
        assert_eq!(caps, [Capability::CAP_NET_BIND_SERVICE]);
    }

    #[test]
    fn the_kernels_status_reads_as_names_per_set() {
        let status = "Name:\thearth\nUid:\t0\t998\t998\t998\nGid:\t997\t997\t997\t997\n\
            CapInh:\t0000000000001000\nCapPrm:\t0000000000001000\nCapEff:\t0000000000001000\n\
            CapBnd:\t0000000000001400\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n";
        let held = Held::parse(status).unwrap();
        assert_eq!((held.uid, held.gid), (998, 997));
        assert_eq!(held.effective, ["CAP_NET_ADMIN"]);
        assert_eq!(held.bounding, ["CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE"]);
        assert!(held.ambient.is_empty());
        assert!(held.no_new_privs);
        assert_eq!(held.seccomp, 2);
        assert_eq!(Held::parse("Name:\thearth\n"), None);
        // This process's own, as the kernel has it.
        let me = Held::read().unwrap();
        assert_eq!(me.uid, nix::unistd::geteuid().as_raw());
    }

    #[test]
    fn messages_name_the_capability_and_why() {
        let e = PrivilegeError::Missing {
            cap: Capability::CAP_NET_ADMIN,
            why: "managing the firewall (firewall.manage = true)",
        };
        let text = e.to_string();
        assert!(
            text.contains("CAP_NET_ADMIN") && text.contains("firewall.manage"),
            "{text}"
        );
        assert!(PrivilegeError::Root.to_string().contains("--allow-root"));
    }
}
