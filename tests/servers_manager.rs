//! The servers' manager in the running daemon, end to end: a member asks
//! for a server through the API; hearth asks the privileged helper (in
//! this test's process, as root) for its user and storage, sets the
//! unit's limits and starts it through systemd's D-Bus API (the fake
//! systemd of the tests, on a private bus, whose job hook runs the unit
//! file's command for real: see `common::unit_runner`), and the member's
//! `servers` topic shows it running while its engine answers on its
//! socket. Stopping stops the engine; deleting with `erase` removes the
//! user and the storage and then the record. Another member's stream
//! never shows the server.

use hearth_testkit as common;

use std::time::Duration;

use common::servers_box::{Cleanup, ServersBox, call, follow, server};
use common::servers_lab::user;
use hearth::servers::engine::Engine;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn a_members_server_is_made_run_stopped_and_erased_through_the_api() {
    let sb = ServersBox::start();
    let (lab, fake, running, d) = (&sb.lab, &sb.fake, &sb.running, &sb.daemon);
    let ann = d.signed_in("ann", "member").await;
    let bob = d.signed_in("bob", "member").await;
    let mut ann_stream = follow(&ann).await;
    let mut bob_stream = follow(&bob).await;

    let (status, created) = call(
        &ann,
        "POST",
        "/api/v1/servers",
        json!({"name": "web", "limits": {"memory_mib": 768, "pids": 600}}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let _cleanup = Cleanup::new(&id, &lab.layout);

    // Running: the topic says so, and the engine answers on its socket.
    let report = ann_stream
        .until("servers", Duration::from_secs(90), |r| {
            server(r, &id).is_some_and(|s| s["phase"] == "running")
        })
        .await;
    assert_eq!(server(&report, &id).unwrap()["owner"], "ann");
    // Running means its engine answers: hearth reached it, at API 1.41.
    let engine_seen = &server(&report, &id).unwrap()["engine"];
    assert_eq!(engine_seen["answering"], true, "{report}");
    assert_eq!(engine_seen["version"]["api"], "1.41", "{report}");
    let socket = lab.layout.run.join(&id).join("docker.sock");
    let engine = Engine::connect(&socket).unwrap();
    engine.ping().await.unwrap();

    // The base image goes in once the engine answers, in the background
    // (the progress's last stage), under both its names.
    let loaded = ann_stream
        .until("servers", Duration::from_secs(60), |r| {
            server(r, &id).is_some_and(|s| s["phase"] == "running" && s.get("progress").is_none())
        })
        .await;
    for name in ["debian:12", "debian:bookworm"] {
        assert!(engine.has_image(name).await.unwrap(), "{name}: {loaded}");
    }
    let (_, record) = call(&ann, "GET", &format!("/api/v1/servers/{id}"), Value::Null).await;
    assert_eq!(record["base_loaded"], true, "{record}");
    let (code, out) =
        common::servers_lab::run_to_end(&engine, "debian:12", &["/bin/busybox", "true"], None)
            .await;
    assert_eq!(code, 0, "a container of the base image runs: {out}");

    // A container started in it shows on the topic, from the engine's
    // events.
    common::servers_lab::build_busybox_image(&engine, "base:test").await;
    common::servers_lab::start_container(&engine, "napper", "base:test", &["sleep", "300"], None)
        .await;
    ann_stream
        .until("servers", Duration::from_secs(30), |r| {
            server(r, &id).is_some_and(|s| {
                s["engine"]["containers"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["name"] == "napper" && c["state"] == "running")
                })
            })
        })
        .await;
    let unit = format!("hearth-server@{id}.service");
    let limits = fake.properties(&unit);
    assert_eq!(limits["MemoryMax"], 768 << 20);
    assert_eq!(limits["TasksMax"], 600);
    assert_eq!(limits["CPUQuotaPerSecUSec"], 1_000_000);
    assert!(user(&format!("hs-{id}")).is_some());

    // Bob's stream carries no trace of Ann's server.
    let bobs = bob_stream
        .until("servers", Duration::from_secs(10), |r| {
            r["status"].is_object()
        })
        .await;
    assert!(!bobs.to_string().contains(&id), "{bobs}");

    // Stopped: the unit's processes are gone.
    let (status, _) = call(
        &ann,
        "POST",
        &format!("/api/v1/servers/{id}/stop"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    ann_stream
        .until("servers", Duration::from_secs(30), |r| {
            server(r, &id).is_some_and(|s| s["phase"] == "stopped")
        })
        .await;
    assert!(!running.lock().unwrap().contains_key(&id));
    assert!(
        Engine::connect(&socket).is_err() || !socket.exists() || {
            let e = Engine::connect(&socket).unwrap();
            e.ping().await.is_err()
        }
    );

    // Deleted with its data: the record goes last, after the user and the
    // storage.
    let (status, _) = call(
        &ann,
        "DELETE",
        &format!("/api/v1/servers/{id}?erase=true"),
        Value::Null,
    )
    .await;
    // Accepted: the manager finishes it.
    assert_eq!(status, 202);
    ann_stream
        .until("servers", Duration::from_secs(30), |r| {
            r["status"]["servers"].is_array() && server(r, &id).is_none()
        })
        .await;
    let (status, _) = call(&ann, "GET", &format!("/api/v1/servers/{id}"), Value::Null).await;
    assert_eq!(status, 404);
    assert!(user(&format!("hs-{id}")).is_none());
    assert!(!lab.layout.storage.join(&id).exists());
    let audit = d
        .admin_client()
        .get("/api/v1/audit?limit=100")
        .await
        .json()
        .to_string();
    for action in [
        "server.create",
        "server.stop",
        "server.delete",
        "server.helper",
        "server.removed",
    ] {
        assert!(audit.contains(action), "{action} not audited: {audit}");
    }
}
