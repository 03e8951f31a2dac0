//! The daemon's whole life in-process, against a recording notifier
//! instead of systemd's socket: what it tells systemd, in which order,
//! from the first status line to STOPPING=1. (The real socket, the
//! watchdog pings and the signals are tested against the binary in
//! `lifecycle.rs` and `systemd.rs`.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth::config::{Config, Mode};
use hearth::daemon::{self, ConfigSource, RecordingNotifier};
use hearth::logging::LogHandle;
use hearth::store::Store;

#[tokio::test(flavor = "multi_thread")]
async fn start_up_and_shut_down_tell_systemd_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let text = format!(
        "listen = \"127.0.0.1:0\"\nstate_dir = {:?}\n",
        state.display().to_string()
    );
    let config = Config::parse(&text, Mode::Dev).unwrap();
    let recorder = Arc::new(RecordingNotifier::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(daemon::run(
        config,
        ConfigSource {
            path: None,
            mode: Mode::Dev,
        },
        LogHandle::detached(),
        recorder.clone(),
        async {
            let _ = stopped.await;
        },
    ));

    let deadline = Instant::now() + Duration::from_secs(30);
    while !recorder.sent().iter().any(|s| s == "READY=1") {
        assert!(Instant::now() < deadline, "no READY: {:?}", recorder.sent());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // READY comes with the address it serves, which answers by then.
    let sent = recorder.sent();
    let serving = sent
        .iter()
        .find_map(|s| s.strip_prefix("STATUS=serving https://"))
        .expect("a status line with the address");
    let addr = serving.split(';').next().unwrap();
    tokio::net::TcpStream::connect(addr)
        .await
        .expect("the listener is bound before READY");

    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("stops within 10 s")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");

    let sent = recorder.sent();
    assert_eq!(
        sent.first().map(String::as_str),
        Some("STATUS=starting: opening the state store"),
        "{sent:?}"
    );
    let ready = sent.iter().position(|s| s == "READY=1").unwrap();
    let stopping = sent
        .iter()
        .position(|s| s == "STOPPING=1")
        .expect("STOPPING=1");
    assert!(ready < stopping, "{sent:?}");
    assert_eq!(
        sent.iter().filter(|s| *s == "READY=1").count(),
        1,
        "READY once (no reload happened): {sent:?}"
    );
    assert_eq!(
        &sent[stopping..],
        ["STOPPING=1", "STATUS=stopping"],
        "nothing after stopping: {sent:?}"
    );
    assert!(
        !sent.iter().any(|s| s.starts_with("WATCHDOG")),
        "no watchdog was asked for: {sent:?}"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the port is closed after the stop"
    );
    // The stop is in the audit log, after the start.
    let store = Store::open(&state).unwrap();
    let actions: Vec<String> = store
        .audit_records(0, 100)
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(
        actions.iter().rev().take(1).collect::<Vec<_>>(),
        ["daemon.stop"],
        "{actions:?}"
    );
    assert!(actions.contains(&"daemon.start".to_string()));
}
