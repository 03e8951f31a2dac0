//! A server's engine, for real: the helper makes the user and storage,
//! the harness runs the unit file's command as that user (see
//! `common::unit_runner`), and hearth's engine client reaches it through
//! the socket. No registry: the image is built in the engine from
//! Debian's static busybox.

use hearth_testkit as common;

use std::time::Duration;

use common::servers_lab::{Lab, build_busybox_image, run_to_end};
use futures_util::StreamExt;
use hearth::servers::engine::EngineEvent;

#[tokio::test(flavor = "multi_thread")]
async fn an_engine_runs_containers_whose_root_is_the_servers_user() {
    let mut lab = Lab::start(0);
    let mut server = lab.running_server().await;
    let engine = server.engine.clone();

    // Docker 20.10 answers at API 1.41 what hearth's client sends.
    let version = engine.version().await.unwrap();
    assert_eq!(version.api, "1.41");
    assert!(version.version.starts_with("20.10"), "{version:?}");

    build_busybox_image(&engine, "base:test").await;

    // A container's root is the server's user on the host, the rest of
    // its IDs the server's own range: never host root.
    let (code, out) = run_to_end(&engine, "base:test", &["cat", "/proc/self/uid_map"], None).await;
    assert_eq!(code, 0, "{out}");
    let maps: Vec<Vec<u64>> = out
        .lines()
        .map(|l| l.split_whitespace().map(|n| n.parse().unwrap()).collect())
        .collect();
    assert_eq!(maps[0], [0, u64::from(server.uid), 1], "{out}");
    assert_eq!(maps[1][0], 1, "{out}");
    assert!(maps[1][1] >= 1 << 30, "{out}");
    assert_eq!(maps[1][2], 65536, "{out}");

    // The engine's events and its container list show a container that
    // runs.
    let mut events = Box::pin(engine.events(std::time::SystemTime::now()));
    let created_id = common::servers_lab::start_container(
        &engine,
        "sleeper",
        "base:test",
        &["sleep", "300"],
        None,
    )
    .await;
    let started = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(e) = events.next().await {
            let e: EngineEvent = e.unwrap();
            if e.kind == "container" && e.action == "start" && e.id == created_id {
                return e;
            }
        }
        panic!("the event stream ended");
    })
    .await
    .expect("its start event within 30 s");
    assert_eq!(started.id, created_id);
    let containers = engine.containers().await.unwrap();
    let sleeper = containers
        .iter()
        .find(|c| c.name == "sleeper")
        .expect("the container is listed");
    assert_eq!(sleeper.state, "running");
    assert_eq!(sleeper.image, "base:test");

    // Containers are made through hearth's OCI runtime (which puts their
    // own limits back into their specs on cgroup v2, the VM test checks
    // that; on cgroup v1 it hands them to runc as they are).
    let info = engine.docker().info().await.unwrap();
    assert_eq!(info.default_runtime.as_deref(), Some("hearth"), "{info:?}");
    let inspected = engine
        .docker()
        .inspect_container(
            &created_id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap();
    assert_eq!(
        inspected.host_config.and_then(|h| h.runtime).as_deref(),
        Some("hearth")
    );

    // Every process of the unit runs as the server's user.
    for pid in server.unit.processes() {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if let Some(uids) = status.lines().find(|l| l.starts_with("Uid:")) {
            let real: u32 = uids.split_whitespace().nth(1).unwrap().parse().unwrap();
            assert!(real == server.uid || real >= 1 << 30, "pid {pid}: {uids}");
        }
    }

    // Stopped, nothing of it is left.
    drop(events);
    server.unit.stop();
    assert!(server.unit.processes().is_empty());
    assert!(engine.ping().await.is_err());
}
