//! The daemon's systemd lifecycle against the real binary: READY, the
//! watchdog, SIGTERM, SIGHUP, a second daemon, a restart.
//!
//! Tests named `systemd_contract_*` assert times, because the time is
//! the contract: systemd kills a unit that misses its watchdog period or
//! outlives TimeoutStopSec. Their bounds are the unit's, with slack. Every
//! other timing of the loops is tested under paused time in the unit
//! tests (`reconcile`, `daemon::watchdog`, `events`).

use hearth_testkit as common;

use std::time::Duration;

use common::{Daemon, Options, Protocol, eventually_blocking};
use hearth::store::{Outcome, Store};
use nix::sys::signal::Signal;

#[tokio::test]
async fn ready_then_health_over_http1_and_http2() {
    let d = Daemon::start(Options::default());
    // READY came with the address, after the store was opened.
    assert!(d.state_dir().join("state.redb").exists());
    let client = d.client();
    for protocol in [Protocol::Http1, Protocol::Http2] {
        let r = client
            .request(protocol, "GET", "/api/v1/health", None)
            .await;
        assert_eq!(r.status, 200, "{protocol:?}");
        let expected = match protocol {
            Protocol::Http1 => http::Version::HTTP_11,
            Protocol::Http2 => http::Version::HTTP_2,
        };
        assert_eq!(r.version, expected);
        let v = r.json();
        assert_eq!(v["status"], "ok");
        assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
        assert!(v["uptime_s"].is_u64());
        assert_eq!(v["components"]["store"]["state"], "ok");
        assert_eq!(v["components"]["tls"]["state"], "ok");
        // Every loop that beats for the watchdog has a health entry too.
        assert_eq!(v["components"]["https"]["state"], "ok", "{v}");
        assert_eq!(v["components"]["metrics"]["state"], "ok", "{v}");
        // So does the recovery console's control socket.
        assert_eq!(v["components"]["control"]["state"], "ok", "{v}");
        assert_eq!(r.headers["content-type"], "application/json");
    }
}

/// A control socket hearth cannot listen on (a folder in its place) does
/// not stop hearth; its health entry says the console cannot reach it.
#[tokio::test]
async fn a_control_socket_it_cannot_listen_on_is_reported_down() {
    let d = Daemon::start(Options {
        prepare_runtime_dir: Some(|run| {
            std::fs::create_dir_all(run.join("control.sock/in-the-way")).unwrap();
        }),
        ..Options::default()
    });
    let v = d.client().get("/api/v1/health").await.json();
    let control = &v["components"]["control"];
    assert_eq!(control["state"], "down", "{v}");
    let detail = control["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("control.sock") && detail.contains("only while hearth is stopped"),
        "{v}"
    );
    // The web interface serves on.
    assert_eq!(v["components"]["https"]["state"], "ok", "{v}");
}

#[tokio::test]
async fn certificate_is_valid_for_the_loopback_address_too() {
    let d = Daemon::start(Options::default());
    let mut client = d.client();
    client.server_name = "127.0.0.1".into();
    assert_eq!(client.get("/api/v1/health").await.status, 200);
    client.server_name = "hearth.local".into();
    // hearth.local does not resolve here; the name only has to verify.
    assert_eq!(client.get("/api/v1/health").await.status, 200);
    client.server_name = "not-this-box.example".into();
    assert!(
        client.connect(&[b"http/1.1"]).await.is_err(),
        "a name outside the certificate must fail verification"
    );
}

#[test]
fn systemd_contract_watchdog_pings_at_half_the_period() {
    let mut d = Daemon::start(Options {
        env: vec![("WATCHDOG_USEC".into(), "1000000".into())],
        ..Options::default()
    });
    // Pings keep coming; their pace is reported, not asserted (a loaded
    // machine stretches it).
    let first = std::time::Instant::now();
    let pings = d.wait_pings(4, "4 watchdog pings");
    eprintln!(
        "{pings} pings in {:?} (a ping every 0.5 s expected)",
        first.elapsed()
    );
}

#[test]
fn no_watchdog_pings_without_watchdog_usec() {
    let mut d = Daemon::start(Options::default());
    assert_eq!(d.count_within("WATCHDOG=1", Duration::from_secs(2)), 0);
}

#[test]
fn systemd_contract_sigterm_sends_stopping_and_exits_zero_within_5_s() {
    let mut d = Daemon::start(Options::default());
    d.signal(Signal::SIGTERM);
    // STOPPING=1, then the exit, within 5 s of SIGTERM.
    let status = eventually_blocking(
        Duration::from_secs(5),
        "STOPPING=1 and the exit after SIGTERM",
        || {
            // Whatever was sent before the exit is queued by now.
            let exited = d.child.try_wait().unwrap();
            while d.receive(Duration::from_millis(1)) {}
            let stopping = d.messages.iter().any(|m| m == "STOPPING=1");
            match exited {
                Some(status) => {
                    assert!(
                        stopping,
                        "exited ({status}) without STOPPING=1: {:?}",
                        d.messages
                    );
                    Ok(status)
                }
                None => Err(format!("STOPPING=1 sent: {stopping}")),
            }
        },
    );
    assert!(status.success(), "{status:?}\n{}", d.stderr());
}

#[tokio::test]
async fn systemd_contract_sigterm_with_a_connection_open_still_exits_within_5_s() {
    let mut d = Daemon::start(Options::default());
    // An idle keep-alive HTTP/2 connection must not hold the shutdown.
    let client = d.client();
    let tls = client.connect(&[b"h2"]).await.unwrap();
    let (_send, conn) =
        hyper::client::conn::http2::handshake::<_, _, http_body_util::Empty<bytes::Bytes>>(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(tls),
        )
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    d.signal(Signal::SIGTERM);
    let status = d
        .wait_exit(Duration::from_secs(5))
        .expect("exit within 5 s");
    assert!(status.success());
    // The server said goodbye (or its process is gone): the client's
    // connection ends rather than hanging on.
    let ended = tokio::time::timeout(Duration::from_secs(2), conn).await;
    assert!(ended.is_ok(), "the client's connection is still open");
}

#[test]
fn second_daemon_on_the_same_state_dir_fails_clearly() {
    let first = Daemon::start(Options::default());
    let mut second = Daemon::spawn(Options {
        state_dir: Some(first.state_dir()),
        ..Options::default()
    });
    let status = second
        .wait_exit(Duration::from_secs(10))
        .expect("second daemon exits");
    assert_eq!(status.code(), Some(1));
    let err = second.stderr();
    assert!(err.contains("in use by another process"), "{err}");
    assert!(err.contains("state.redb"), "{err}");
    assert!(
        !second.messages.iter().any(|m| m == "READY=1"),
        "the second daemon must never report READY"
    );
}

#[test]
fn corrupt_store_stops_the_start_and_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let garbage = vec![0x5au8; 64 * 1024];
    std::fs::write(state.join("state.redb"), &garbage).unwrap();
    let mut d = Daemon::spawn(Options {
        state_dir: Some(state.clone()),
        ..Options::default()
    });
    let status = d.wait_exit(Duration::from_secs(10)).expect("exits");
    assert_eq!(status.code(), Some(1));
    assert!(
        d.stderr().contains("unreadable or corrupt"),
        "{}",
        d.stderr()
    );
    assert_eq!(std::fs::read(state.join("state.redb")).unwrap(), garbage);
}

/// A power cut while the disk was full can leave the store file empty;
/// a set-up box must not come back as a new one asking to be claimed,
/// with its accounts, policy and servers silently gone.
#[test]
fn an_empty_or_missing_store_on_a_set_up_box_stops_the_start() {
    let mut d = Daemon::start(Options::default());
    let state = d.state_dir();
    assert!(d.stop().success());
    assert!(
        state.join(hearth::store::SETUP_MARKER).exists(),
        "setup leaves its marker beside the store"
    );
    for (what, damage) in [
        (
            "empty",
            (|p: &std::path::Path| std::fs::write(p, b"").unwrap()) as fn(&std::path::Path),
        ),
        ("missing", |p: &std::path::Path| {
            std::fs::remove_file(p).unwrap()
        }),
    ] {
        damage(&state.join("state.redb"));
        let mut again = Daemon::spawn(Options {
            state_dir: Some(state.clone()),
            ..Options::default()
        });
        let status = again.wait_exit(Duration::from_secs(10)).expect("exits");
        assert_eq!(status.code(), Some(1), "{what}");
        let err = again.stderr();
        assert!(
            err.contains(&format!("is {what}, but this box was set up"))
                && err.contains("factory reset"),
            "{what}: {err}"
        );
        assert!(
            !again.messages.iter().any(|m| m == "READY=1"),
            "never READY"
        );
        // Nothing made afresh: no new store, no setup code to claim it.
        let len = std::fs::metadata(state.join("state.redb")).map(|m| m.len());
        match what {
            "empty" => assert_eq!(len.unwrap(), 0),
            _ => assert!(len.is_err()),
        }
        assert!(!again.setup_code_path().exists(), "no setup code");
    }
}

#[tokio::test]
async fn restart_keeps_the_certificate_and_the_stored_data() {
    let mut d = Daemon::start(Options::default());
    let state = d.state_dir();
    let cert_before = d.client().peer_certificate().await;
    assert!(d.stop().success());
    let installed_at = {
        let store = Store::open(&state).unwrap();
        store
            .installed_at_ms()
            .unwrap()
            .expect("set on first start")
    };
    // Milliseconds, like every time in the store: after 2020 in ms.
    assert!(installed_at > 1_577_836_800_000, "{installed_at}");

    let mut again = Daemon::start(Options {
        state_dir: Some(state.clone()),
        ..Options::default()
    });
    let cert_after = again.client().peer_certificate().await;
    assert_eq!(cert_before, cert_after, "the certificate is reused");
    assert!(again.stop().success());

    let store = Store::open(&state).unwrap();
    assert_eq!(store.installed_at_ms().unwrap(), Some(installed_at));
    let actions: Vec<(String, Outcome)> = store
        .audit_records(0, 100)
        .unwrap()
        .into_iter()
        .filter(|r| r.action.starts_with("daemon."))
        .map(|r| (r.action, r.outcome))
        .collect();
    let start = ("daemon.start".to_string(), Outcome::Success);
    let stop = ("daemon.stop".to_string(), Outcome::Success);
    assert_eq!(actions, vec![start.clone(), stop.clone(), start, stop]);
}

#[tokio::test]
async fn sighup_reloads_the_certificate_without_dropping_the_listener() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("own-cert.pem");
    let key = dir.path().join("own-key.pem");
    let names = hearth::tls::SubjectNames::new(Some("first"), &[]);
    let (c, k) = hearth::tls::generate_self_signed(&names).unwrap();
    std::fs::write(&cert, c).unwrap();
    std::fs::write(&key, k).unwrap();
    let mut d = Daemon::start(Options {
        config: format!("[tls]\ncert = {cert:?}\nkey = {key:?}\n"),
        // Health answers in setup mode; setup would need the own cert.
        pending_setup: true,
        ..Options::default()
    });
    let client = common::TlsClient::trusting(&cert, d.addr());
    let first = client.peer_certificate().await;

    let names = hearth::tls::SubjectNames::new(Some("second"), &[]);
    let (c2, k2) = hearth::tls::generate_self_signed(&names).unwrap();
    std::fs::write(&cert, &c2).unwrap();
    std::fs::write(&key, k2).unwrap();
    d.signal(Signal::SIGHUP);
    d.wait_for("RELOADING=1", Duration::from_secs(5));
    d.wait_for("READY=1", Duration::from_secs(5));

    let client = common::TlsClient::trusting(&cert, d.addr());
    let second = client.peer_certificate().await;
    assert_ne!(first, second, "SIGHUP swapped the certificate");
    assert_eq!(client.get("/api/v1/health").await.status, 200);

    // A broken certificate on reload keeps the running one.
    std::fs::write(&cert, "garbage").unwrap();
    d.signal(Signal::SIGHUP);
    d.wait_for("RELOADING=1", Duration::from_secs(5));
    d.wait_for("READY=1", Duration::from_secs(5));
    std::fs::write(&cert, &c2).unwrap();
    assert_eq!(client.peer_certificate().await, second);
    assert!(d.stderr().contains("certificate refused"), "{}", d.stderr());
}
