//! A privileged helper of the servers for tests, serving in a thread of
//! the (root) test process on a socket of its own, with its storage and
//! runtime roots in a temp dir; the users it makes are real, and removed
//! (with their mounts and ranges) when the lab is dropped, whatever
//! happened.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use hearth::servers::helper::Layout;
use hearth::servers::helper::host::RealHost;
use hearth::servers::helper::protocol::Request;
use hearth::servers::helper::serve::{self, HelperConfig};
use hearth::servers::model::ServerId;

/// `nobody`: stands for hearth's user, the only one the helper serves.
pub const CLIENT_UID: u32 = 65534;
/// Any other user: refused.
pub const OTHER_UID: u32 = 65533;

pub fn require_tools() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the helper test makes users and mounts file systems: run it as root (make test does)"
    );
    super::require("useradd", "passwd");
    super::require("mkfs.ext4", "e2fsprogs");
    super::require("mount", "mount");
    super::require("python3", "python3");
}

/// A helper serving on a socket of its own, in a thread; its storage and
/// runtime roots in a temp dir.
pub struct Lab {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub layout: Layout,
    ids: Vec<ServerId>,
    /// Where the engines run, if not in the machine's network namespace.
    netns: Option<std::sync::Arc<super::netns::NetNs>>,
}

impl Lab {
    pub fn start(client_uid: u32) -> Lab {
        require_tools();
        let dir = tempfile::tempdir().unwrap();
        // The temp dir must let the server users through, as /var/lib does.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let socket = dir.path().join("helper.sock");
        let listener: UnixListener = serve::bind(&socket, 0).unwrap();
        // The test's stand-in for hearth connects as CLIENT_UID: the
        // socket is root's group here, so open it to everyone; the
        // SO_PEERCRED check is what refuses the others.
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
        let layout = Layout::new(&dir.path().join("storage"), &dir.path().join("run"));
        let config = HelperConfig {
            client_uid,
            layout: layout.clone(),
        };
        std::thread::spawn(move || serve::serve(&listener, &config, &RealHost));
        Lab {
            dir,
            socket,
            layout,
            ids: Vec::new(),
            netns: None,
        }
    }

    /// The servers started from now on run in `netns`.
    pub fn in_netns(mut self, netns: std::sync::Arc<super::netns::NetNs>) -> Lab {
        self.netns = Some(netns);
        self
    }

    pub fn new_id(&mut self) -> ServerId {
        let id = ServerId::random();
        self.ids.push(id.clone());
        id
    }

    /// Sends one request line as `uid`, returns the helper's answer line.
    pub fn ask_as(&self, uid: u32, request: &str) -> String {
        run_as(
            uid,
            &[
                "python3",
                "-c",
                "import socket,sys\n\
                 s=socket.socket(socket.AF_UNIX)\n\
                 s.connect(sys.argv[1])\n\
                 try: s.sendall(sys.argv[2].encode()+b'\\n')\n\
                 except BrokenPipeError: pass\n\
                 print(s.makefile().readline().strip())",
                self.socket.to_str().unwrap(),
                request,
            ],
        )
        .expect("the python client runs")
    }

    pub fn ask(&self, request: &Request) -> String {
        self.ask_as(CLIENT_UID, &serde_json::to_string(request).unwrap())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for id in &self.ids {
            remove_leftovers(&self.layout, id.as_str());
        }
    }
}

/// Removes what a test may have left of server `id`: its mount, its user
/// and its ranges (while no helper request of this process runs: both
/// edit the account files).
pub fn remove_leftovers(layout: &Layout, id: &str) {
    hearth::servers::helper::serve::exclusive(|| {
        let quiet = std::process::Stdio::null;
        let _ = Command::new("umount")
            .arg(layout.storage.join(id).join("data"))
            .stderr(quiet())
            .status();
        let user = format!("hs-{id}");
        let _ = Command::new("userdel").arg(&user).stderr(quiet()).status();
        for file in ["/etc/subuid", "/etc/subgid"] {
            if let Ok(text) = std::fs::read_to_string(file) {
                let prefix = format!("{user}:");
                let kept: String = text
                    .lines()
                    .filter(|l| !l.starts_with(&prefix))
                    .map(|l| format!("{l}\n"))
                    .collect();
                let _ = std::fs::write(file, kept);
            }
        }
    });
}

/// Runs `argv` as `uid` (gid the same); its stdout, or its stderr as the
/// error.
pub fn run_as(uid: u32, argv: &[&str]) -> Result<String, String> {
    use std::os::unix::process::CommandExt;
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .uid(uid)
        .gid(uid)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

pub fn user(name: &str) -> Option<nix::unistd::User> {
    nix::unistd::User::from_name(name).unwrap()
}

pub fn subid_line(file: &str, name: &str) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines().find_map(|l| {
        let mut parts = l.split(':');
        (parts.next() == Some(name)).then(|| {
            (
                parts.next().unwrap().parse().unwrap(),
                parts.next().unwrap().parse().unwrap(),
            )
        })
    })
}

/// The mount at `at` (source and file system type), from mountinfo.
pub fn mounted(at: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    text.lines().find_map(|l| {
        let fields: Vec<&str> = l.split(' ').collect();
        let sep = fields.iter().position(|f| *f == "-")?;
        (Path::new(fields[4]) == at)
            .then(|| (fields[sep + 2].to_string(), fields[sep + 1].to_string()))
    })
}

/// A server of the lab whose engine runs (its unit run by the harness,
/// see [`super::unit_runner`]).
pub struct RunningServer {
    pub id: ServerId,
    pub uid: u32,
    pub unit: super::unit_runner::RunningUnit,
    pub engine: hearth::servers::engine::Engine,
}

impl Lab {
    /// Makes a server's user and storage through the helper (which must
    /// serve root: `Lab::start(0)`), starts its engine with the unit
    /// file's limits and waits until it answers.
    pub async fn running_server(&mut self) -> RunningServer {
        self.running_server_with_limits(None).await
    }

    /// [`Lab::running_server`], with these limits instead of the unit
    /// file's if given (as hearth sets each server's own).
    pub async fn running_server_with_limits(
        &mut self,
        limits: Option<super::unit_runner::Limits>,
    ) -> RunningServer {
        super::require("dockerd", "docker.io");
        super::require("rootlesskit", "rootlesskit");
        super::require("slirp4netns", "slirp4netns");
        super::require("newuidmap", "uidmap");
        let id = self.new_id();
        for request in [
            Request::CreateUser { id: id.clone() },
            // As hearth asks before each first start: no port of its own
            // yet ([`Lab::guard_ports`] gives it some).
            Request::GuardPorts {
                id: id.clone(),
                ports: Vec::new(),
            },
            Request::PrepareStorage {
                id: id.clone(),
                disk_mib: 2048,
            },
        ] {
            let line = serde_json::to_string(&request).unwrap();
            assert_eq!(self.ask_as(0, &line), r#"{"outcome":"done"}"#, "{line}");
        }
        let uid = user(&id.user()).unwrap().uid.as_raw();
        let storage = self.layout.storage.to_str().unwrap().to_string();
        let run = self.layout.run.to_str().unwrap().to_string();
        let roots = [
            (Layout::STORAGE, storage.as_str()),
            (Layout::RUN, run.as_str()),
        ];
        let log = self.dir.path().join(format!("engine-{id}.log"));
        let limits = limits
            .unwrap_or_else(|| super::unit_runner::UnitSpec::read(id.as_str(), &roots).limits);
        let unit = super::unit_runner::RunningUnit::start_in(
            id.as_str(),
            &roots,
            &log,
            limits,
            self.netns.as_deref(),
        );
        let engine = wait_for_engine(&self.layout.socket(&id), &unit).await;
        RunningServer {
            id,
            uid,
            unit,
            engine,
        }
    }
}

impl Lab {
    /// The TCP ports the server's user may bind on the host (its server's
    /// published ports), through the helper as hearth asks for them.
    pub fn guard_ports(&self, id: &ServerId, ports: &[u16]) {
        let request = Request::GuardPorts {
            id: id.clone(),
            ports: ports
                .iter()
                .map(|&port| hearth::servers::model::PublishedPort {
                    port,
                    protocol: hearth::firewall::model::Protocol::Tcp,
                })
                .collect(),
        };
        let line = serde_json::to_string(&request).unwrap();
        assert_eq!(self.ask_as(0, &line), r#"{"outcome":"done"}"#, "{line}");
    }
}

/// The engine at `socket` once it answers (within 90 s, or the test
/// fails with the unit's log).
async fn wait_for_engine(
    socket: &Path,
    unit: &super::unit_runner::RunningUnit,
) -> hearth::servers::engine::Engine {
    crate::eventually(
        std::time::Duration::from_secs(90),
        &format!("the engine at {} to answer", socket.display()),
        async || {
            if let Ok(engine) = hearth::servers::engine::Engine::connect(socket)
                && engine.ping().await.is_ok()
            {
                return Ok(engine);
            }
            Err(format!("its log:\n{}", unit.log_text()))
        },
    )
    .await
}

/// Builds `tag` in the engine from nothing but Debian's static busybox
/// (`FROM scratch`): no registry is reachable, nor needed.
pub async fn build_busybox_image(engine: &hearth::servers::engine::Engine, tag: &str) {
    use futures_util::StreamExt;
    let busybox = super::require("busybox", "busybox-static");
    let ctx = tempfile::tempdir().unwrap();
    let bin = ctx.path().join("rootfs/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(&busybox, bin.join("busybox")).unwrap();
    for applet in [
        "sh", "id", "cat", "ls", "sleep", "echo", "mount", "dd", "insmod", "wget", "nc", "ps",
        "find", "mknod", "grep", "touch", "head", "test", "true",
    ] {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
    }
    // Mount points and a scratch folder, as a distribution's image has.
    for dir in ["mnt", "tmp"] {
        std::fs::create_dir(ctx.path().join("rootfs").join(dir)).unwrap();
    }
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM scratch\nCOPY rootfs/ /\nCMD [\"/bin/sh\"]\n",
    )
    .unwrap();
    let tar = Command::new("tar")
        .arg("-C")
        .arg(ctx.path())
        .args(["-cf", "-", "."])
        .output()
        .unwrap();
    assert!(tar.status.success());
    let options = bollard::query_parameters::BuildImageOptionsBuilder::new()
        .t(tag)
        .rm(true)
        .build();
    let mut build =
        engine
            .docker()
            .build_image(options, None, Some(bollard::body_full(tar.stdout.into())));
    while let Some(step) = build.next().await {
        let step = step.expect("the build runs");
        assert!(step.error_detail.is_none(), "build failed: {step:?}");
    }
}

/// Runs `cmd` in a new container of `image` to its end: its exit code
/// and its output (stdout and stderr).
pub async fn run_to_end(
    engine: &hearth::servers::engine::Engine,
    image: &str,
    cmd: &[&str],
    host: Option<bollard::models::HostConfig>,
) -> (i64, String) {
    try_run_to_end(engine, image, cmd, host)
        .await
        .unwrap_or_else(|refused| panic!("the engine refused {cmd:?}: {refused}"))
}

/// [`run_to_end`], or the engine's refusal to create or start the
/// container (its message).
pub async fn try_run_to_end(
    engine: &hearth::servers::engine::Engine,
    image: &str,
    cmd: &[&str],
    host: Option<bollard::models::HostConfig>,
) -> Result<(i64, String), String> {
    use futures_util::StreamExt;
    let docker = engine.docker();
    let id = create_and_start(engine, None, image, cmd, host).await?;
    let mut code = 0;
    let mut wait = docker.wait_container(&id, None);
    while let Some(w) = wait.next().await {
        match w {
            Ok(w) => code = w.status_code,
            // bollard reports a non-zero exit as an error carrying the code.
            Err(bollard::errors::Error::DockerContainerWaitError { code: c, .. }) => code = c,
            Err(e) => panic!("waiting for the container: {e}"),
        }
    }
    let out = container_output(engine, &id).await;
    let _ = docker.remove_container(&id, None).await;
    Ok((code, out))
}

/// Starts `cmd` in a new container of `image` named `name`, left running;
/// its id.
pub async fn start_container(
    engine: &hearth::servers::engine::Engine,
    name: &str,
    image: &str,
    cmd: &[&str],
    host: Option<bollard::models::HostConfig>,
) -> String {
    create_and_start(engine, Some(name), image, cmd, host)
        .await
        .unwrap_or_else(|refused| panic!("the engine refused {cmd:?}: {refused}"))
}

/// Creates and starts a container; the engine's refusal as the error
/// (the container removed again).
async fn create_and_start(
    engine: &hearth::servers::engine::Engine,
    name: Option<&str>,
    image: &str,
    cmd: &[&str],
    host: Option<bollard::models::HostConfig>,
) -> Result<String, String> {
    let docker = engine.docker();
    let options = name.map(|n| {
        bollard::query_parameters::CreateContainerOptionsBuilder::new()
            .name(n)
            .build()
    });
    let exposed_ports = host
        .as_ref()
        .and_then(|h| h.port_bindings.as_ref())
        .map(|ports| ports.keys().cloned().collect());
    let created = docker
        .create_container(
            options,
            bollard::models::ContainerCreateBody {
                image: Some(image.to_string()),
                cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                exposed_ports,
                host_config: host,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    if let Err(e) = docker.start_container(&created.id, None).await {
        let _ = remove_container(engine, &created.id).await;
        return Err(e.to_string());
    }
    Ok(created.id)
}

/// What a container wrote so far (stdout and stderr).
pub async fn container_output(engine: &hearth::servers::engine::Engine, id: &str) -> String {
    use futures_util::StreamExt;
    let options = bollard::query_parameters::LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .build();
    let mut out = String::new();
    let mut logs = engine.docker().logs(id, Some(options));
    while let Some(chunk) = logs.next().await {
        out.push_str(&chunk.expect("the logs are read").to_string());
    }
    out
}

/// Removes a container, killing it if it runs (`docker rm -f`).
pub async fn remove_container(
    engine: &hearth::servers::engine::Engine,
    id: &str,
) -> Result<(), bollard::errors::Error> {
    let options = bollard::query_parameters::RemoveContainerOptionsBuilder::new()
        .force(true)
        .build();
    engine.docker().remove_container(id, Some(options)).await
}
