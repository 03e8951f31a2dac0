//! The servers' manager against what happens behind its back, in the
//! running daemon with real engines (`common::servers_box`: the helper
//! as root in this process, the fake systemd on a private bus running
//! each unit's command): an engine that crashes is started again after
//! its backoff, one stopped by someone else comes back, users and units
//! that look like a server's but have no record are reported and left
//! alone, and a systemd (its bus) restarted while a server is being
//! started converges to the server running.

use hearth_testkit as common;

use std::time::Duration;

use common::servers_box::{Cleanup, ServersBox, call, follow, server};
use common::servers_lab::{remove_leftovers, user};
use common::{eventually, eventually_every, when};
use hearth::servers::engine::Engine;
use hearth::servers::helper::protocol::Request;
use hearth::servers::model::ServerId;
use serde_json::{Value, json};

fn unit(id: &str) -> String {
    format!("hearth-server@{id}.service")
}

/// How many start jobs the fake systemd got for `unit`.
fn starts(sb: &ServersBox, unit: &str) -> usize {
    sb.fake
        .calls()
        .iter()
        .filter(|c| c.starts_with("StartUnit") && c.contains(unit))
        .count()
}

/// The engine of `id` answers on its socket.
async fn engine_answers(sb: &ServersBox, id: &str) -> bool {
    let id = ServerId::try_from(id).unwrap();
    match Engine::connect(&sb.lab.layout.socket(&id)) {
        Ok(engine) => engine.ping().await.is_ok(),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crashed_engine_restarts_after_its_backoff_and_a_stopped_one_comes_back() {
    let sb = ServersBox::start();
    let ann = sb.daemon.signed_in("ann", "member").await;
    let (web, _cleanup) = sb.running_server(&ann, "web").await;
    let id = web["id"].as_str().unwrap().to_string();
    let name = unit(&id);
    let mut stream = follow(&ann).await;

    // The engine dies (its processes gone, the unit failed).
    let before = starts(&sb, &name);
    sb.running.lock().unwrap().remove(&id);
    sb.fake.crash(&name, 1);
    let failed = stream
        .until("servers", Duration::from_secs(30), |r| {
            server(r, &id).is_some_and(|s| s["phase"] == "failed")
        })
        .await;
    let s = server(&failed, &id).unwrap().clone();
    assert_eq!(s["crashes"], 1, "{s}");
    assert!(s["retry_at_ms"].is_u64(), "a retry time: {s}");
    stream
        .until("servers", Duration::from_secs(90), |r| {
            server(r, &id).is_some_and(|s| s["phase"] == "running")
        })
        .await;
    assert_eq!(starts(&sb, &name), before + 1, "one start after the crash");
    assert!(engine_answers(&sb, &id).await, "a new engine answers");

    // Someone stops it (its engine gone, the unit inactive): hearth
    // starts it again, as the record wants it running.
    let before = starts(&sb, &name);
    sb.running.lock().unwrap().remove(&id);
    sb.fake.set_state(&name, "inactive", "dead");
    eventually(
        Duration::from_secs(90),
        "the stopped engine to come back",
        async || {
            if starts(&sb, &name) != before && engine_answers(&sb, &id).await {
                Ok(())
            } else {
                Err(format!(
                    "calls {:?}; its log:\n{}",
                    sb.fake.calls(),
                    sb.unit_log_tail(&id)
                ))
            }
        },
    )
    .await;
    stream
        .until("servers", Duration::from_secs(60), |r| {
            server(r, &id).is_some_and(|s| s["phase"] == "running")
        })
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_or_unit_with_no_server_is_reported_and_left_alone() {
    let sb = ServersBox::start();
    let admin = sb.daemon.admin_client();
    // A user the helper made for a server hearth has no record of (a
    // record lost, a store restored from an older backup)…
    let stray = ServerId::random();
    let _gone = Cleanup::new(stray.as_str(), &sb.lab.layout);
    let line = serde_json::to_string(&Request::CreateUser { id: stray.clone() }).unwrap();
    assert_eq!(sb.lab.ask_as(0, &line), r#"{"outcome":"done"}"#);
    // …and a unit of a server nobody made through hearth.
    let other = ServerId::random();
    sb.fake.add_unit(&unit(other.as_str()), "active", "running");

    let mut stream = follow(&admin).await;
    let report = stream
        .until("servers", Duration::from_secs(60), |r| {
            let has = |field: &str, what: &str| {
                r["status"][field]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|v| v == what))
            };
            has("unknown_users", &stray.user()) && has("unknown_units", &unit(other.as_str()))
        })
        .await;
    assert_eq!(report["status"]["servers"], json!([]), "{report}");
    // Later passes (a change of the records wakes one) leave both alone.
    let ann = sb.daemon.signed_in("ann", "member").await;
    let (_web, _cleanup) = sb.running_server(&ann, "web").await;
    assert!(user(&stray.user()).is_some(), "the stray user was removed");
    assert!(
        !sb.fake
            .calls()
            .iter()
            .any(|c| c.contains(&unit(other.as_str()))
                && ["StartUnit", "StopUnit", "RestartUnit", "SetUnitProperties"]
                    .iter()
                    .any(|m| c.starts_with(m))),
        "the stray unit was acted on: {:?}",
        sb.fake.calls()
    );
    remove_leftovers(&sb.lab.layout, stray.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_systemd_restarted_while_a_server_starts_converges_to_running() {
    let mut sb = ServersBox::start();
    let ann = sb.daemon.signed_in("ann", "member").await;
    // Slow jobs, so the bus goes while hearth waits for the start.
    sb.fake.set_job_delay(Duration::from_secs(2));
    let (status, created) = call(&ann, "POST", "/api/v1/servers", json!({"name": "web"})).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let _cleanup = Cleanup::new(&id, &sb.lab.layout);
    eventually_every(
        Duration::from_secs(60),
        Duration::from_millis(50),
        "a start asked",
        async || {
            if starts(&sb, &unit(&id)) > 0 {
                Ok(())
            } else {
                Err(format!("calls {:?}", sb.fake.calls()))
            }
        },
    )
    .await;
    sb.bus.restart();
    sb.fake.wait_ready();
    sb.fake.set_job_delay(Duration::ZERO);

    let mut stream = follow(&ann).await;
    let report: Value = stream
        .until("servers", Duration::from_secs(120), |r| {
            server(r, &id).is_some_and(|s| s["phase"] == "running")
        })
        .await;
    assert!(engine_answers(&sb, &id).await, "{report}");
    let health = sb.daemon.admin_client().get("/api/v1/health").await.json();
    if health["components"]["servers"]["state"] != "ok" {
        eventually(Duration::from_secs(60), "servers ok again", async || {
            let health = sb.daemon.admin_client().get("/api/v1/health").await.json();
            when(health["components"]["servers"]["state"].clone(), |s| {
                s == "ok"
            })
        })
        .await;
    }
}
