//! The bind guard in the kernel: the program loaded (`BPF_PROG_LOAD`),
//! linked to the root of the cgroup v2 hierarchy at both bind hooks
//! (`BPF_LINK_CREATE`), and swapped in place when the rules change
//! (`BPF_LINK_UPDATE`: no moment without a program). The links live as
//! long as this process: the helper puts the rules back when it starts.
//!
//! One guard per process, whatever number of helpers it runs (tests run
//! several, each with storage of its own): the program is made of every
//! scope's rules, servers' own rules first.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::insn::Insn;
use super::program::{self, Rule, TooLarge};

/// `enum bpf_cmd`.
const PROG_LOAD: libc::c_int = 5;
const LINK_CREATE: libc::c_int = 28;
const LINK_UPDATE: libc::c_int = 29;
/// `BPF_PROG_TYPE_CGROUP_SOCK_ADDR`.
const PROG_TYPE_CGROUP_SOCK_ADDR: u32 = 18;
/// `SO_NETNS_COOKIE` (Linux 5.14).
const SO_NETNS_COOKIE: libc::c_int = 71;
/// Neither helper the program calls is for GPL programs only; the
/// license is said all the same.
const LICENSE: &std::ffi::CStr = c"GPL";

/// The two hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Inet4,
    Inet6,
}

impl Hook {
    /// `BPF_CGROUP_INET4_BIND`, `BPF_CGROUP_INET6_BIND`.
    fn attach_type(self) -> u32 {
        match self {
            Hook::Inet4 => 8,
            Hook::Inet6 => 9,
        }
    }

    fn name(self) -> &'static [u8] {
        match self {
            Hook::Inet4 => b"hearth_bind4",
            Hook::Inet6 => b"hearth_bind6",
        }
    }
}

impl std::fmt::Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Hook::Inet4 => "IPv4 bind",
            Hook::Inet6 => "IPv6 bind",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("cannot read the host's network namespace cookie: {0}")]
    NetnsCookie(io::Error),
    #[error("no cgroup v2 hierarchy is mounted (looked in {path})")]
    NoCgroup2 { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Mounts { path: PathBuf, source: io::Error },
    #[error("cannot open the cgroup {path}: {source}")]
    OpenCgroup { path: PathBuf, source: io::Error },
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    #[error("the kernel refused the {hook} program: {source}{log}")]
    Load {
        hook: Hook,
        source: io::Error,
        log: String,
    },
    #[error("cannot link the {hook} program to {path}: {source}")]
    Link {
        hook: Hook,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot swap in the new {hook} program: {source}")]
    Update { hook: Hook, source: io::Error },
}

/// `union bpf_attr` for `BPF_PROG_LOAD`, up to `expected_attach_type`
/// (the kernel reads what it is not given as zero).
#[repr(C, align(8))]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// `union bpf_attr` for `BPF_LINK_CREATE` to a cgroup.
#[repr(C, align(8))]
struct LinkCreateAttr {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
}

/// `union bpf_attr` for `BPF_LINK_UPDATE`.
#[repr(C, align(8))]
struct LinkUpdateAttr {
    link_fd: u32,
    new_prog_fd: u32,
    flags: u32,
    old_prog_fd: u32,
}

/// bpf(2) with one of the attribute structs above.
///
/// # Safety
/// Every pointer inside `attr` must be valid for the call.
unsafe fn bpf<T>(cmd: libc::c_int, attr: &mut T) -> io::Result<RawFd> {
    // SAFETY: `attr` is a live, initialised #[repr(C)] struct of the size
    // given; the pointers inside it are the caller's promise.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as RawFd)
    }
}

fn load_once(insns: &[Insn], hook: Hook, log: &mut [u8]) -> io::Result<OwnedFd> {
    let mut name = [0u8; 16];
    name[..hook.name().len()].copy_from_slice(hook.name());
    let mut attr = ProgLoadAttr {
        prog_type: PROG_TYPE_CGROUP_SOCK_ADDR,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        log_level: u32::from(!log.is_empty()),
        log_size: log.len() as u32,
        log_buf: if log.is_empty() {
            0
        } else {
            log.as_mut_ptr() as u64
        },
        prog_name: name,
        expected_attach_type: hook.attach_type(),
        ..Default::default()
    };
    // SAFETY: `insns`, the license and `log` outlive the call, and the
    // counts given are theirs.
    let fd = unsafe { bpf(PROG_LOAD, &mut attr)? };
    // SAFETY: a new descriptor (close-on-exec), ours alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Loads the program; a refusal is asked again with the verifier's log,
/// which the error then carries.
fn load(insns: &[Insn], hook: Hook) -> Result<OwnedFd, GuardError> {
    load_once(insns, hook, &mut []).map_err(|source| {
        let mut log = vec![0u8; 1 << 20];
        let _ = load_once(insns, hook, &mut log);
        let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
        let text = String::from_utf8_lossy(&log[..end]);
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        let log = if tail.is_empty() {
            String::new()
        } else {
            format!(
                " (verifier: {})",
                tail.into_iter().rev().collect::<Vec<_>>().join("; ")
            )
        };
        GuardError::Load { hook, source, log }
    })
}

/// The cookie of this process's network namespace: the host's, for the
/// helper (a root service of the host).
pub fn host_netns_cookie() -> Result<u64, GuardError> {
    // Any socket tells its namespace; a unix one needs no address family
    // the helper's unit would refuse.
    let socket = std::os::unix::net::UnixDatagram::unbound().map_err(GuardError::NetnsCookie)?;
    let mut cookie: u64 = 0;
    let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
    // SAFETY: `cookie` and `len` are writable and of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_NETNS_COOKIE,
            (&raw mut cookie).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(GuardError::NetnsCookie(io::Error::last_os_error()));
    }
    Ok(cookie)
}

/// Where the cgroup v2 hierarchy is mounted: `/sys/fs/cgroup` on a
/// unified host, `/sys/fs/cgroup/unified` on a hybrid one.
pub fn cgroup2_root(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mount_point = left.split_whitespace().nth(4)?;
        Some(PathBuf::from(mount_point.replace("\\040", " ")))
    })
}

/// One hook's link, and the program behind it.
struct Linked {
    hook: Hook,
    link: OwnedFd,
}

struct Guard {
    links: Vec<Linked>,
}

impl Guard {
    fn attach(root: &Path, insns: &[Insn]) -> Result<Guard, GuardError> {
        let dir = std::fs::File::open(root).map_err(|source| GuardError::OpenCgroup {
            path: root.to_path_buf(),
            source,
        })?;
        let mut links = Vec::new();
        for hook in [Hook::Inet4, Hook::Inet6] {
            let prog = load(insns, hook)?;
            let mut attr = LinkCreateAttr {
                prog_fd: prog.as_raw_fd() as u32,
                target_fd: dir.as_raw_fd() as u32,
                attach_type: hook.attach_type(),
                flags: 0,
            };
            // SAFETY: only descriptors and numbers in `attr`.
            let link =
                unsafe { bpf(LINK_CREATE, &mut attr) }.map_err(|source| GuardError::Link {
                    hook,
                    path: root.to_path_buf(),
                    source,
                })?;
            // SAFETY: a new descriptor, ours alone; the link holds the
            // program, and closing it detaches it.
            let link = unsafe { OwnedFd::from_raw_fd(link) };
            links.push(Linked { hook, link });
        }
        Ok(Guard { links })
    }

    /// Both programs verified before either is swapped in: a refusal
    /// leaves the rules in force as they were.
    fn update(&mut self, insns: &[Insn]) -> Result<(), GuardError> {
        let progs = self
            .links
            .iter()
            .map(|l| load(insns, l.hook))
            .collect::<Result<Vec<_>, _>>()?;
        for (linked, prog) in self.links.iter().zip(progs) {
            let mut attr = LinkUpdateAttr {
                link_fd: linked.link.as_raw_fd() as u32,
                new_prog_fd: prog.as_raw_fd() as u32,
                flags: 0,
                old_prog_fd: 0,
            };
            // SAFETY: only descriptors and numbers in `attr`.
            unsafe { bpf(LINK_UPDATE, &mut attr) }.map_err(|source| GuardError::Update {
                hook: linked.hook,
                source,
            })?;
        }
        Ok(())
    }
}

/// What one scope (a helper's storage root) asked for last.
#[derive(Clone)]
struct Asked {
    /// When, in this process's order of requests.
    turn: u64,
    servers: Vec<Rule>,
    defaults: Vec<Rule>,
}

struct Scopes {
    asked: BTreeMap<PathBuf, Asked>,
    turns: u64,
    guard: Option<Guard>,
}

static GUARD: Mutex<Scopes> = Mutex::new(Scopes {
    asked: BTreeMap::new(),
    turns: 0,
    guard: None,
});

/// Puts `scope`'s rules in force: each server's own (`servers`) before
/// the catch-alls (`defaults`), with every other scope's of this process.
/// The servers' rules of the scope that asked last come first: a uid a
/// scope's removed user left behind, and another scope's new user got,
/// is the new user's (this happens only in tests, which run helpers of
/// their own side by side; the box has one).
pub fn apply(scope: &Path, servers: Vec<Rule>, defaults: Vec<Rule>) -> Result<(), GuardError> {
    let mut state = GUARD.lock().unwrap_or_else(|e| e.into_inner());
    state.turns += 1;
    let asked = Asked {
        turn: state.turns,
        servers,
        defaults,
    };
    let old = state.asked.insert(scope.to_path_buf(), asked);
    let result = put_in_force(&mut state);
    if result.is_err() {
        // What is in force stays what the process knows.
        match old {
            Some(old) => state.asked.insert(scope.to_path_buf(), old),
            None => state.asked.remove(scope),
        };
    }
    result
}

fn put_in_force(state: &mut Scopes) -> Result<(), GuardError> {
    let mut asked: Vec<&Asked> = state.asked.values().collect();
    asked.sort_by_key(|a| std::cmp::Reverse(a.turn));
    let rules: Vec<Rule> = asked
        .iter()
        .flat_map(|a| a.servers.iter())
        .chain(asked.iter().flat_map(|a| a.defaults.iter()))
        .cloned()
        .collect();
    let insns = program::generate(&rules, host_netns_cookie()?)?;
    match &mut state.guard {
        Some(guard) => guard.update(&insns),
        None => {
            let path = PathBuf::from("/proc/self/mountinfo");
            let mountinfo =
                std::fs::read_to_string(&path).map_err(|source| GuardError::Mounts {
                    path: path.clone(),
                    source,
                })?;
            let root = cgroup2_root(&mountinfo).ok_or(GuardError::NoCgroup2 { path })?;
            state.guard = Some(Guard::attach(&root, &insns)?);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cgroup2_hierarchy_is_found_unified_or_hybrid() {
        let unified = "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";
        assert_eq!(cgroup2_root(unified), Some(PathBuf::from("/sys/fs/cgroup")));
        let hybrid = "30 24 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n\
                      31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n\
                      32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        assert_eq!(
            cgroup2_root(hybrid),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        let v1 = "32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        assert_eq!(cgroup2_root(v1), None);
    }

    #[test]
    fn the_attributes_have_the_kernels_sizes() {
        assert_eq!(std::mem::size_of::<ProgLoadAttr>(), 72);
        assert_eq!(std::mem::size_of::<LinkCreateAttr>(), 16);
        assert_eq!(std::mem::size_of::<LinkUpdateAttr>(), 16);
    }
}
