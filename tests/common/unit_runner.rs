//! Runs a server's engine the way `systemd/hearth-server@.service` says,
//! for tests on machines where systemd is not PID 1 (the development and
//! CI machines): the unit file is read, `%i` replaced by the server's id,
//! and its `ExecStart=` run as its `User=`/`Group=` with exactly its
//! `Environment=`, in a cgroup of its own that stands for the unit's
//! (stopping kills every process in it, as `KillMode=control-group`).
//!
//! What it does not do, and the VM test covers with the real systemd:
//! the cgroup limits (`MemoryMax=`, `TasksMax=`, `CPUQuota=`) and
//! `Delegate=`. On a machine without the unified cgroup hierarchy it
//! drops `--evacuate-cgroup2` and the namespaces it needs from the
//! rootlesskit flags: that option only exists for cgroup v2.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const UNIT_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/systemd/hearth-server@.service"
);

/// The lines of the unit file that the runner honours, `%i` replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitSpec {
    pub user: String,
    pub group: String,
    pub env: Vec<(String, String)>,
    pub exec: Vec<String>,
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
        };
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let mut value = value.replace("%i", instance);
            for (from, to) in roots {
                value = value.replace(from, to);
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

/// A running engine.
pub struct RunningUnit {
    child: Child,
    cgroup: PathBuf,
    pub log: PathBuf,
}

impl RunningUnit {
    /// Starts the unit for `instance`; its output goes to `log`.
    pub fn start(instance: &str, roots: &[(&str, &str)], log: &Path) -> RunningUnit {
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
        // Stands for the unit's cgroup (the pids hierarchy on cgroup v1,
        // the unified one otherwise).
        let cgroup = if unified_cgroup() {
            PathBuf::from(format!("/sys/fs/cgroup/hearth-test-{instance}"))
        } else {
            PathBuf::from(format!("/sys/fs/cgroup/pids/hearth-test-{instance}"))
        };
        std::fs::create_dir_all(&cgroup).unwrap();
        let procs = cgroup.join("cgroup.procs");
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
        // write(2) of this process's pid to the cgroup file, opened before.
        let procs_file = std::fs::OpenOptions::new()
            .write(true)
            .open(&procs)
            .unwrap();
        unsafe {
            use std::os::fd::AsRawFd;
            let fd = procs_file.as_raw_fd();
            command.pre_exec(move || {
                let pid = b"0\n";
                if libc::write(fd, pid.as_ptr().cast(), pid.len()) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().unwrap();
        drop(procs_file);
        RunningUnit {
            child,
            cgroup,
            log: log.to_path_buf(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The pids of every process of the unit.
    pub fn processes(&self) -> Vec<i32> {
        std::fs::read_to_string(self.cgroup.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect()
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
        let _ = std::fs::remove_dir(&self.cgroup);
    }
}
