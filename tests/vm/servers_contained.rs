//! What a member's server can reach of the box, on the real systemd and
//! kernel (issue 27; the unit's sandbox and the image's module policy are
//! systemd's and the kernel's, which the development machine's harness
//! does not run): root in the server's containers, plain and
//! `--privileged`, through the member's own `docker`.
//!
//! - The host's world-writable folders (`/tmp`, `/var/tmp`, `/dev/shm`,
//!   `/run/lock`) are not the host's inside a server: what a container
//!   writes there is the server's own, and gone once the server restarts.
//! - What it writes to `/dev/shm` counts in the server's memory (and goes
//!   with the restart, the files with it).
//! - The system bus's socket is not there.
//! - On the host, the server's engine binds the port its server publishes
//!   and no other (not another's, not an engine front's).
//! - A container's own limits (`--memory`, `--pids-limit`, `--cpus`) are
//!   its cgroup's: a hog over its `--memory` is killed, its sibling runs
//!   on.
//! - The kernel loads no module a server asks for but those its Docker
//!   needs (`dummy` for a link, `hfs` for a mount: refused; `bridge` and
//!   `veth`, which every container's network uses: loaded).

use std::path::Path;
use std::time::Duration;

use crate::common::TlsClient;
use crate::common::docker_cli::docker;
use crate::common::eventually_every;
use crate::common::vm::Vm;
use crate::{server_phase, servers_stream};

/// The port the member's server publishes (made so in `vm.rs`).
pub const PUBLISHED_PORT: u16 = 18080;

/// The host folders every user may write to.
const SHARED_FOLDERS: [&str; 4] = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock"];
const MARKER: &str = "left-by-the-server";
const SHM_FILL_MIB: u64 = 200;

pub async fn a_server_keeps_to_its_own(
    vm: &Vm,
    client: &TlsClient,
    member: &str,
    server: &str,
    context: &Path,
) {
    let port = u64::from(vm.front_port);
    let run = |args: &[&str]| docker(context, port, args);

    root_writes_to_the_shared_folders(&run);
    shm_counts_in_the_servers_memory(client, member, server).await;
    a_restart_takes_the_files_with_it(vm, client, member, server, &run).await;
    no_system_bus(&run);
    only_its_own_port_on_the_host(&run);
    no_module_it_asks_for(&run);
}

/// The shared folders, each mounted at `/shared/<its index>`.
fn shared_mounts() -> Vec<String> {
    SHARED_FOLDERS
        .iter()
        .enumerate()
        .map(|(i, folder)| format!("{folder}:/shared/{i}"))
        .collect()
}

/// Root in a container writes a file into each shared folder: it may
/// (they are the server's own), and may fill /dev/shm.
fn root_writes_to_the_shared_folders(run: &impl Fn(&[&str]) -> Result<String, String>) {
    let mut args = vec!["run", "--rm"];
    let mounts = shared_mounts();
    for mount in &mounts {
        args.extend(["-v", mount.as_str()]);
    }
    let script = format!(
        "for d in /shared/*; do echo x > $d/{MARKER} && echo wrote $d; done; \
         /bin/busybox dd if=/dev/zero of=/shared/2/fill bs=1M count={SHM_FILL_MIB} 2>&1; \
         echo dd $?; /bin/busybox df -m /shared/*"
    );
    args.extend(["base:vm", "/bin/busybox", "sh", "-c", &script]);
    let wrote = run(&args);
    assert!(
        wrote
            .as_deref()
            .is_ok_and(|o| o.contains("wrote /shared/2")),
        "root in the server could not write to its own /dev/shm: {wrote:?}"
    );
}

/// The memory behind /dev/shm is the server's.
async fn shm_counts_in_the_servers_memory(client: &TlsClient, member: &str, server: &str) {
    let (_member, mut stream) = servers_stream(client, member).await;
    let counted = stream
        .try_until("servers", Duration::from_secs(60), |r| {
            r["status"]["servers"].as_array().is_some_and(|l| {
                l.iter().any(|s| {
                    s["id"] == server
                        && s["usage"]["memory_bytes"].as_u64().unwrap_or(0) >= SHM_FILL_MIB << 20
                })
            })
        })
        .await;
    assert!(
        counted.is_ok(),
        "{SHM_FILL_MIB} MiB in /dev/shm are not in the server's memory: {counted:?}"
    );
    drop(stream);
}

/// A restart: the server's folders go with it. On the host's own
/// folders the files would still be there.
async fn a_restart_takes_the_files_with_it(
    vm: &Vm,
    client: &TlsClient,
    member: &str,
    server: &str,
    run: &impl Fn(&[&str]) -> Result<String, String>,
) {
    let r = client
        .as_user(
            member,
            "POST",
            &format!("/api/v1/servers/{server}/restart"),
            "",
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    server_phase(
        client,
        member,
        server,
        "running",
        Duration::from_secs(300),
        vm,
    )
    .await;
    let mounts = shared_mounts();
    let mut args = vec!["run", "--rm"];
    for mount in &mounts {
        args.extend(["-v", mount.as_str()]);
    }
    args.extend([
        "base:vm",
        "/bin/busybox",
        "sh",
        "-c",
        "/bin/busybox ls -la /shared/*",
    ]);
    // The phase may still read `running` from before the restart: the
    // first command after it is tried again until the engine takes it.
    let left = eventually_every(
        Duration::from_secs(180),
        Duration::from_secs(2),
        "the engine taking a command after the restart",
        async || run(&args),
    )
    .await;
    assert!(
        !left.contains(MARKER) && !left.contains("fill"),
        "files a container wrote outlived the server's restart: on the host's folders? {left:?}"
    );
}

/// No system bus.
fn no_system_bus(run: &impl Fn(&[&str]) -> Result<String, String>) {
    let bus = run(&[
        "run",
        "--rm",
        "-v",
        "/run/dbus:/bus",
        "base:vm",
        "/bin/busybox",
        "ls",
        "-la",
        "/bus",
    ]);
    assert!(
        !bus.as_deref()
            .unwrap_or_default()
            .contains("system_bus_socket"),
        "the system bus's socket reaches a server: {bus:?}"
    );
}

/// Ports on the host: its own, and no other.
fn only_its_own_port_on_the_host(run: &impl Fn(&[&str]) -> Result<String, String>) {
    let publish = |port: u16| {
        let mapping = format!("{port}:8080");
        run(&[
            "run",
            "--rm",
            "-p",
            &mapping,
            "base:vm",
            "/bin/busybox",
            "true",
        ])
    };
    let own = publish(PUBLISHED_PORT);
    assert!(own.is_ok(), "the server's own port: {own:?}");
    for (port, whose) in [
        (PUBLISHED_PORT + 1, "a port no server publishes"),
        (
            crate::common::vm::FIRST_ENGINE_PORT + 1,
            "an engine front's port",
        ),
    ] {
        let taken = publish(port);
        assert!(
            taken
                .as_ref()
                .is_err_and(|e| e.contains("bind: operation not permitted")),
            "the server took {whose} {port}: {taken:?}"
        );
    }
}

/// Modules: asked for by a privileged container, refused; those of
/// Docker's own network, there.
fn no_module_it_asks_for(run: &impl Fn(&[&str]) -> Result<String, String>) {
    let asked = run(&[
        "run",
        "--rm",
        "--privileged",
        "base:vm",
        "/bin/busybox",
        "sh",
        "-c",
        "/bin/busybox ip link add esc0 type dummy; echo link $?; \
         /bin/busybox mkdir -p /m; /bin/busybox mount -t hfs none /m; echo mount $?",
    ]);
    assert!(
        asked
            .as_deref()
            .is_ok_and(|o| o.contains("link ") && !o.contains("link 0")),
        "a privileged container made a dummy link: {asked:?}"
    );
    let modules = run(&[
        "run",
        "--rm",
        "base:vm",
        "/bin/busybox",
        "cat",
        "/proc/modules",
    ])
    .unwrap_or_else(|e| panic!("reading /proc/modules in a container: {e}"));
    let loaded: Vec<&str> = modules
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for refused in ["dummy", "hfs"] {
        assert!(
            !loaded.contains(&refused),
            "a server made the kernel load {refused}: {loaded:?}"
        );
    }
    for needed in ["bridge", "veth"] {
        assert!(
            loaded.contains(&needed),
            "{needed}, which the server's Docker network needs, is not loaded: {loaded:?}"
        );
    }
}

/// The limits a member gives one container (`docker run --memory 64m
/// --pids-limit 50 --cpus 0.5`) are that container's cgroup's, seen from
/// inside it; a memory hog under `--memory` is killed at its own limit
/// while a sibling container and the server run on (on cgroup v2, which
/// the development machine does not have).
pub async fn a_containers_own_limits_hold(
    vm: &Vm,
    client: &TlsClient,
    member: &str,
    server: &str,
    context: &Path,
) {
    let port = u64::from(vm.front_port);
    let run = |args: &[&str]| docker(context, port, args);
    let sibling = run(&[
        "run",
        "-d",
        "--name",
        "sibling",
        "base:vm",
        "/bin/busybox",
        "sleep",
        "600",
    ]);
    assert!(sibling.is_ok(), "{sibling:?}");

    let seen = run(&[
        "run",
        "--rm",
        "--memory",
        "64m",
        "--pids-limit",
        "50",
        "--cpus",
        "0.5",
        "base:vm",
        "/bin/busybox",
        "cat",
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/pids.max",
        "/sys/fs/cgroup/cpu.max",
    ]);
    assert_eq!(
        seen.as_deref().map(|o| o.lines().collect::<Vec<_>>()),
        Ok(vec!["67108864", "50", "50000 100000"]),
        "a container's own limits, from inside it"
    );

    // dd's 256 MiB buffer fits the server's 512 MiB, not the container's
    // 64 MiB.
    let hog = run(&[
        "run",
        "--name",
        "hog",
        "--memory",
        "64m",
        "base:vm",
        "/bin/busybox",
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=256M",
        "count=1",
    ]);
    assert!(
        hog.as_ref().is_err_and(|e| e.contains("exit status: 137")),
        "a 256 MiB hog under --memory 64m was not killed: {hog:?}"
    );
    // Docker records the OOM kill from containerd's `oom` event, which
    // may come after the exit that ended `docker run` (OOMKilled is set
    // late or racily, moby #18510): the flag is waited for, not read once.
    let killed = eventually_every(
        Duration::from_secs(30),
        Duration::from_millis(500),
        "Docker recording the hog as OOM-killed (true 137)",
        async || {
            let state = run(&[
                "inspect",
                "-f",
                "{{.State.OOMKilled}} {{.State.ExitCode}}",
                "hog",
            ])?;
            if state.trim() == "true 137" {
                Ok(state)
            } else {
                Err(format!("inspect says {:?}", state.trim()))
            }
        },
    )
    .await;
    assert_eq!(killed.trim(), "true 137");
    let running = run(&["inspect", "-f", "{{.State.Running}}", "sibling"]);
    assert_eq!(
        running.as_deref().map(str::trim),
        Ok("true"),
        "the hog's sibling did not run on"
    );
    server_phase(
        client,
        member,
        server,
        "running",
        Duration::from_secs(60),
        vm,
    )
    .await;
    let removed = run(&["rm", "-f", "hog", "sibling"]);
    assert!(removed.is_ok(), "{removed:?}");
}
