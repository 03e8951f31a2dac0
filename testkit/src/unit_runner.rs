//! Runs a server's engine the way `systemd/hearth-server@.service` says,
//! for tests on machines where systemd is not PID 1 (the development and
//! CI machines): the unit file is read, `%i` replaced by the server's id,
//! and its `ExecStart=` run as its `User=`/`Group=` with exactly its
//! `Environment=`, in a cgroup of its own that stands for the unit's
//! (stopping kills every process in it, as `KillMode=control-group`).
//! The engine's OCI runtime is this build's `hearth oci-runtime`.
//!
//! The unit's `TasksMax=` and `MemoryMax=` are applied to that cgroup,
//! standing for systemd applying them (and hearth setting them per server
//! before each start): on cgroup v1 a `pids` cgroup (`pids.max`) and a
//! `memory` cgroup (`memory.limit_in_bytes`), the engine put in both; on
//! the unified hierarchy `pids.max` and `memory.max` of one cgroup. A test
//! may give other values ([`RunningUnit::start_with_limits`]), as hearth
//! gives each server its own.
//!
//! What it does not do, and the VM test covers with the real systemd:
//! `CPUQuota=`, `OOMScoreAdjust=` and `Delegate=`, and whether systemd
//! itself applies the values above. On a machine without the unified
//! cgroup hierarchy it drops `--evacuate-cgroup2` and the namespaces it
//! needs from the rootlesskit flags: that option only exists for cgroup
//! v2.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const UNIT_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../systemd/hearth-server@.service"
);

/// The engine's OCI runtime as the image installs it (a script running
/// the image's hearth); the runner puts one running this build's in its
/// place.
const OCI_RUNTIME_IN_IMAGE: &str = "/usr/lib/hearth/oci-runtime";

/// `hearth oci-runtime` of this build, as a program dockerd can be given
/// (`--add-runtime` takes a path, no arguments): a script beside the
/// binary, where the servers' users may run it.
fn oci_runtime_script() -> String {
    let hearth = super::bin();
    let script = hearth.with_file_name("hearth-oci-runtime");
    let staged = hearth.with_file_name(format!("hearth-oci-runtime.{}", std::process::id()));
    std::fs::write(
        &staged,
        format!("#!/bin/sh\nexec {} oci-runtime \"$@\"\n", hearth.display()),
    )
    .unwrap();
    std::fs::set_permissions(&staged, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::rename(&staged, &script).unwrap();
    script.display().to_string()
}

/// The lines of the unit file that the runner honours, `%i` replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitSpec {
    pub user: String,
    pub group: String,
    pub env: Vec<(String, String)>,
    pub exec: Vec<String>,
    /// The `ExecStartPre=` commands, in order (run to their end first).
    pub pre: Vec<Vec<String>>,
    /// `TasksMax=` and `MemoryMax=`.
    pub limits: Limits,
}

/// The unit's limits the runner applies; `None` is `infinity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `TasksMax=`: processes and threads, together.
    pub tasks: Option<u64>,
    /// `MemoryMax=`, in bytes.
    pub memory: Option<u64>,
}

impl Limits {
    /// No limit at all (what a unit without the lines gets).
    pub const NONE: Limits = Limits {
        tasks: None,
        memory: None,
    };
}

/// A `TasksMax=` value: a count or `infinity`.
fn parse_tasks(value: &str) -> Option<u64> {
    if value == "infinity" {
        return None;
    }
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("TasksMax={value}: the runner takes a count or infinity")),
    )
}

/// A `MemoryMax=` value: bytes with an optional K, M, G or T (base 1024,
/// as systemd reads them) or `infinity`.
fn parse_bytes(value: &str) -> Option<u64> {
    if value == "infinity" {
        return None;
    }
    let (digits, shift) = match value.char_indices().last() {
        Some((i, 'K')) => (&value[..i], 10),
        Some((i, 'M')) => (&value[..i], 20),
        Some((i, 'G')) => (&value[..i], 30),
        Some((i, 'T')) => (&value[..i], 40),
        _ => (value, 0),
    };
    let n: u64 = digits.parse().unwrap_or_else(|_| {
        panic!("MemoryMax={value}: the runner takes bytes with K, M, G or T, or infinity")
    });
    Some(n << shift)
}

impl UnitSpec {
    /// The unit for `instance`, each path root in `roots` replaced (the
    /// test's temp dirs stand for `/var/lib/hearth-servers` and
    /// `/run/hearth-servers`).
    pub fn read(instance: &str, roots: &[(&str, &str)]) -> UnitSpec {
        let text = std::fs::read_to_string(UNIT_FILE).unwrap();
        let mut spec = UnitSpec {
            user: String::new(),
            group: String::new(),
            env: Vec::new(),
            exec: Vec::new(),
            pre: Vec::new(),
            limits: Limits::NONE,
        };
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let mut value = value.replace("%i", instance);
            for (from, to) in roots {
                value = value.replace(from, to);
            }
            if value.contains(OCI_RUNTIME_IN_IMAGE) {
                value = value.replace(OCI_RUNTIME_IN_IMAGE, &oci_runtime_script());
            }
            match key {
                "User" => spec.user = value,
                "Group" => spec.group = value,
                "Environment" => {
                    let value = value.trim_matches('"');
                    let (k, v) = value.split_once('=').expect("Environment=KEY=VALUE");
                    spec.env.push((k.to_string(), v.to_string()));
                }
                "ExecStart" => spec.exec = value.split_whitespace().map(String::from).collect(),
                "ExecStartPre" => spec
                    .pre
                    .push(value.split_whitespace().map(String::from).collect()),
                "TasksMax" => spec.limits.tasks = parse_tasks(&value),
                "MemoryMax" => spec.limits.memory = parse_bytes(&value),
                _ => {}
            }
        }
        assert!(
            !spec.user.is_empty() && !spec.exec.is_empty(),
            "{UNIT_FILE}"
        );
        spec
    }

    pub fn env(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn unified_cgroup() -> bool {
    nix::sys::statfs::statfs("/sys/fs/cgroup")
        .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

/// The cgroups that stand for the unit's: on cgroup v1 one in the `pids`
/// and one in the `memory` hierarchy, on v2 one.
struct UnitCgroup {
    /// Holds `pids.*`; its `cgroup.procs` (and its children's) are the
    /// unit's processes.
    pids: PathBuf,
    /// Holds `memory.*` (the same folder on v2).
    memory: PathBuf,
}

impl UnitCgroup {
    fn create(instance: &str, limits: Limits) -> UnitCgroup {
        let name = format!("hearth-test-{instance}");
        let cgroup = if unified_cgroup() {
            // The root must hand the controllers down (systemd does it on
            // the appliance); done already is fine.
            let _ = std::fs::write("/sys/fs/cgroup/cgroup.subtree_control", "+pids +memory");
            let dir = Path::new("/sys/fs/cgroup").join(&name);
            UnitCgroup {
                pids: dir.clone(),
                memory: dir,
            }
        } else {
            UnitCgroup {
                pids: Path::new("/sys/fs/cgroup/pids").join(&name),
                memory: Path::new("/sys/fs/cgroup/memory").join(&name),
            }
        };
        for dir in cgroup.dirs() {
            std::fs::create_dir_all(dir).unwrap();
        }
        let tasks = limits.tasks.map_or("max".to_string(), |n| n.to_string());
        cgroup.set(&cgroup.pids, "pids.max", &tasks);
        if unified_cgroup() {
            let memory = limits.memory.map_or("max".to_string(), |n| n.to_string());
            cgroup.set(&cgroup.memory, "memory.max", &memory);
        } else {
            let memory = limits.memory.map_or("-1".to_string(), |n| n.to_string());
            cgroup.set(&cgroup.memory, "memory.limit_in_bytes", &memory);
        }
        cgroup
    }

    fn set(&self, dir: &Path, file: &str, value: &str) {
        std::fs::write(dir.join(file), value)
            .unwrap_or_else(|e| panic!("writing {value} to {}: {e}", dir.join(file).display()));
    }

    /// Each folder once (one on v2).
    fn dirs(&self) -> Vec<&Path> {
        let mut dirs = vec![self.pids.as_path()];
        if self.memory != self.pids {
            dirs.push(&self.memory);
        }
        dirs
    }

    /// The `cgroup.procs` files a new process must be written to.
    fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs().iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// The named counter of a flat-keyed file (`max 3`, `oom_kill 1`).
    fn counter(dir: &Path, file: &str, key: &str) -> u64 {
        std::fs::read_to_string(dir.join(file))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
            .unwrap_or(0)
    }

    fn remove(&self) {
        for dir in self.dirs() {
            remove_tree(dir);
        }
    }
}

/// The processes of the cgroup `dir` and of its children.
fn processes_below(dir: &Path) -> Vec<i32> {
    let mut pids: Vec<i32> = std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect();
    for child in child_cgroups(dir) {
        pids.extend(processes_below(&child));
    }
    pids
}

fn child_cgroups(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Removes an empty cgroup and its children, deepest first.
fn remove_tree(dir: &Path) {
    for child in child_cgroups(dir) {
        remove_tree(&child);
    }
    let _ = std::fs::remove_dir(dir);
}

/// A running engine.
pub struct RunningUnit {
    child: Child,
    cgroup: UnitCgroup,
    pub limits: Limits,
    pub log: PathBuf,
}

impl RunningUnit {
    /// Starts the unit for `instance` with the unit file's limits; its
    /// output goes to `log`.
    pub fn start(instance: &str, roots: &[(&str, &str)], log: &Path) -> RunningUnit {
        let limits = UnitSpec::read(instance, roots).limits;
        RunningUnit::start_with_limits(instance, roots, log, limits)
    }

    /// Starts the unit for `instance` with `limits` instead of the unit
    /// file's, as hearth sets each server's before its start.
    pub fn start_with_limits(
        instance: &str,
        roots: &[(&str, &str)],
        log: &Path,
        limits: Limits,
    ) -> RunningUnit {
        RunningUnit::start_in(instance, roots, log, limits, None)
    }

    /// [`RunningUnit::start_with_limits`], in the network namespace `netns`
    /// if given (the unit's processes and every socket they open are
    /// there, as a test's firewall sees them).
    pub fn start_in(
        instance: &str,
        roots: &[(&str, &str)],
        log: &Path,
        limits: Limits,
        netns: Option<&super::netns::NetNs>,
    ) -> RunningUnit {
        let spec = UnitSpec::read(instance, roots);
        let user = nix::unistd::User::from_name(&spec.user)
            .unwrap()
            .unwrap_or_else(|| panic!("the unit's user {} does not exist", spec.user));
        let group = nix::unistd::Group::from_name(&spec.group)
            .unwrap()
            .unwrap_or_else(|| panic!("the unit's group {} does not exist", spec.group));
        let mut env = spec.env.clone();
        if !unified_cgroup() {
            env.retain(|(k, _)| k != "DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS");
        }
        // As systemd: each ExecStartPre= as the unit's user, to its end;
        // a failure fails the start.
        for pre in &spec.pre {
            let status = Command::new(&pre[0])
                .args(&pre[1..])
                .env_clear()
                .envs(env.clone())
                .current_dir("/")
                .gid(group.gid.as_raw())
                .uid(user.uid.as_raw())
                .status()
                .unwrap();
            assert!(status.success(), "ExecStartPre={pre:?}: {status}");
        }
        let cgroup = UnitCgroup::create(instance, limits);
        let out = std::fs::File::create(log).unwrap();
        let err = out.try_clone().unwrap();
        let mut command = Command::new(&spec.exec[0]);
        command
            .args(&spec.exec[1..])
            .env_clear()
            .envs(env)
            .env("USER", &spec.user)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .gid(group.gid.as_raw())
            .uid(user.uid.as_raw());
        // SAFETY: only async-signal-safe calls between fork and exec: one
        // write(2) of this process's pid to each cgroup file, opened
        // before.
        let procs_files: Vec<std::fs::File> = cgroup
            .procs_files()
            .iter()
            .map(|p| std::fs::OpenOptions::new().write(true).open(p).unwrap())
            .collect();
        unsafe {
            use std::os::fd::AsRawFd;
            let fds: Vec<i32> = procs_files.iter().map(|f| f.as_raw_fd()).collect();
            command.pre_exec(move || {
                let pid = b"0\n";
                for &fd in &fds {
                    if libc::write(fd, pid.as_ptr().cast(), pid.len()) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        // A child starts in the namespace of the thread that forks it
        // (after the fork it is the unit's user, who could not enter one).
        let child = match netns {
            Some(ns) => ns.on_thread(None, move || command.spawn()).join().unwrap(),
            None => command.spawn(),
        }
        .unwrap();
        drop(procs_files);
        RunningUnit {
            child,
            cgroup,
            limits,
            log: log.to_path_buf(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The pids of every process of the unit.
    pub fn processes(&self) -> Vec<i32> {
        processes_below(&self.cgroup.pids)
    }

    /// The unit's tasks now (processes and threads: `pids.current`).
    pub fn tasks(&self) -> u64 {
        let text = std::fs::read_to_string(self.cgroup.pids.join("pids.current")).unwrap();
        text.trim().parse().unwrap()
    }

    /// How many forks the tasks limit refused (`pids.events`, `max`).
    pub fn forks_refused(&self) -> u64 {
        UnitCgroup::counter(&self.cgroup.pids, "pids.events", "max ")
    }

    /// How many processes of the unit the kernel killed for its memory
    /// limit (`oom_kill` of `memory.oom_control` on v1, of
    /// `memory.events` on v2).
    pub fn oom_kills(&self) -> u64 {
        let file = if unified_cgroup() {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        UnitCgroup::counter(&self.cgroup.memory, file, "oom_kill ")
    }

    /// Whether the main process is still there.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Kills every process of the unit and waits until none is left.
    pub fn stop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let pids = self.processes();
            if pids.is_empty() {
                break;
            }
            for pid in pids {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            assert!(
                Instant::now() < deadline,
                "the unit's processes would not die"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for RunningUnit {
    fn drop(&mut self) {
        self.stop();
        self.cgroup.remove();
    }
}
