//! The daemon's whole life in-process, against a recording notifier
//! instead of systemd's socket: what it tells systemd, in which order,
//! from the first status line to STOPPING=1. (The real socket, the
//! watchdog pings and the signals are tested against the binary in
//! `lifecycle.rs` and `systemd.rs`.)

use hearth_testkit as common;

use common::inproc::InProcess;
use hearth::store::Store;

#[tokio::test(flavor = "multi_thread")]
async fn start_up_and_shut_down_tell_systemd_in_order() {
    let mut d = InProcess::start().await;
    // READY came with the address it serves, which answers by then.
    tokio::net::TcpStream::connect(d.addr)
        .await
        .expect("the listener is bound before READY");
    let result = d.stop().await;
    assert!(result.is_ok(), "{result:?}");

    let sent = d.notifier.sent();
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
        tokio::net::TcpStream::connect(d.addr).await.is_err(),
        "the port is closed after the stop"
    );
    // The stop is in the audit log, after the start.
    let store = Store::open(&d.state_dir).unwrap();
    let actions: Vec<String> = store.audit_actions(100).unwrap();
    assert_eq!(
        actions.last().map(String::as_str),
        Some("daemon.stop"),
        "{actions:?}"
    );
    assert!(actions.contains(&"daemon.start".to_string()));
}
