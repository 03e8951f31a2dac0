//! A server's log over the API: `GET /api/v1/servers/{id}/logs` streams
//! its unit's journal as SSE, the past entries and then each new one,
//! only that unit's; another member's server is 404 and a viewer is 403.
//! The journal is a real one: files written by `systemd-journal-remote`
//! from journal export entries, read by hearth's `journalctl` through
//! `servers.journal_dir` (the test machines have no journald).

use hearth_testkit as common;

use std::time::Duration;

use common::servers_box::call;
use common::sse::{self, SseStream};
use common::{Daemon, Options, Protocol, TlsClient};
use serde_json::{Value, json};

async fn logs(c: &TlsClient, id: &str) -> SseStream {
    sse::open(
        c,
        Protocol::Http2,
        &format!("/api/v1/servers/{id}/logs"),
        None,
    )
    .await
}

/// The next `log` event's JSON.
async fn next_log(s: &mut SseStream) -> Value {
    let e = s
        .next(Duration::from_secs(20))
        .await
        .expect("a log event within 20 s");
    assert_eq!(e.event, "log");
    e.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_members_server_log_streams_and_no_one_elses() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(Options {
        config: format!(
            "[servers]\nmanage = false\njournal_dir = {:?}\n",
            dir.path().to_str().unwrap()
        ),
        ..Options::default()
    });
    let ann = d.signed_in("ann", "member").await;
    let bob = d.signed_in("bob", "member").await;
    let vic = d.signed_in("vic", "viewer").await;
    let (status, web) = call(&ann, "POST", "/api/v1/servers", json!({"name": "web"})).await;
    assert_eq!(status, 201);
    let (_, other) = call(&bob, "POST", "/api/v1/servers", json!({"name": "web"})).await;
    let id = web["id"].as_str().unwrap();
    let unit = format!("hearth-server@{id}.service");
    let others = format!("hearth-server@{}.service", other["id"].as_str().unwrap());
    common::journal::append(dir.path(), &unit, 1, 6, "API listen on docker.sock");
    common::journal::append(dir.path(), &others, 2, 6, "bob's engine says hello");

    let mut s = logs(&ann, id).await;
    assert_eq!(s.status, 200);
    assert_eq!(s.headers["content-type"], "text/event-stream");
    let first = next_log(&mut s).await;
    assert_eq!(first["message"], "API listen on docker.sock");
    assert_eq!(first["priority"], 6);
    assert_eq!(first["at_ms"], 1_764_770_001_000u64);
    // A new entry arrives as it is written; Bob's never do.
    common::journal::append(dir.path(), &others, 3, 6, "bob's engine again");
    common::journal::append(dir.path(), &unit, 4, 3, "a container died");
    let second = next_log(&mut s).await;
    assert_eq!(second["message"], "a container died");
    assert_eq!(second["priority"], 3);

    let bob_asks = bob.get(&format!("/api/v1/servers/{id}/logs")).await;
    assert_eq!(bob_asks.status, 404);
    let vic_asks = vic.get(&format!("/api/v1/servers/{id}/logs")).await;
    assert_eq!(vic_asks.status, 403);
    let nobody = d.client().get(&format!("/api/v1/servers/{id}/logs")).await;
    assert_eq!(nobody.status, 401);
}
