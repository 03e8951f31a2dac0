//! The systemd side: the unit's security rating, the sysusers and tmpfiles
//! files applied to a scratch root, and socket activation (LISTEN_FDS).

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Daemon, Options, require};

const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/hearth.service");

#[test]
fn unit_is_rated_2_0_or_lower_by_systemd_analyze_security() {
    let analyze = require("systemd-analyze", "systemd");
    let out = Command::new(analyze)
        .args(["security", "--offline=true", UNIT])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| {
            panic!(
                "no rating in:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the rating from {line:?}"));
    assert!(score <= 2.0, "exposure {score} > 2.0:\n{text}");
}

#[test]
fn unit_declares_the_lifecycle_hearth_implements() {
    let unit = std::fs::read_to_string(UNIT).unwrap();
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "User=hearth",
        "StateDirectory=hearth",
        "RuntimeDirectory=hearth",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.lines().any(|l| l.starts_with(line)), "missing {line}");
    }
}

#[test]
fn sysusers_and_tmpfiles_create_the_user_and_private_folders() {
    let sysusers = require("systemd-sysusers", "systemd");
    let tmpfiles = require("systemd-tmpfiles", "systemd");
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    for d in ["etc", "usr/lib/sysusers.d", "usr/lib/tmpfiles.d"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    std::fs::copy(
        src.join("sysusers.d/hearth.conf"),
        r.join("usr/lib/sysusers.d/hearth.conf"),
    )
    .unwrap();
    std::fs::copy(
        src.join("tmpfiles.d/hearth.conf"),
        r.join("usr/lib/tmpfiles.d/hearth.conf"),
    )
    .unwrap();
    let ok = Command::new(sysusers)
        .arg(format!("--root={}", r.display()))
        .status()
        .unwrap();
    assert!(ok.success());
    let passwd = std::fs::read_to_string(r.join("etc/passwd")).unwrap();
    let entry = passwd
        .lines()
        .find(|l| l.starts_with("hearth:"))
        .unwrap_or_else(|| panic!("no hearth user in {passwd}"));
    let uid: u32 = entry.split(':').nth(2).unwrap().parse().unwrap();
    assert!(
        entry.ends_with(":/var/lib/hearth:/usr/sbin/nologin"),
        "{entry}"
    );

    let ok = Command::new(tmpfiles)
        .args([format!("--root={}", r.display()), "--create".into()])
        .status()
        .unwrap();
    assert!(ok.success());
    for (dir, mode) in [("var/lib/hearth", 0o700), ("run/hearth", 0o700)] {
        let meta = std::fs::metadata(r.join(dir)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, mode, "{dir}");
        assert_eq!(meta.uid(), uid, "{dir} owned by hearth");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_on_the_socket_systemd_passes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // The configured address is not on this machine: binding it would
    // fail, so the daemon can only be serving on the passed socket.
    let mut d = Daemon::spawn(Options {
        config: "listen = \"192.0.2.1:8443\"\n".into(),
        socket_activate: Some(addr),
        ..Options::default()
    });
    // systemd-socket-activate starts the daemon on the first connection.
    let cert = d.cert_path();
    let first = tokio::spawn(async move {
        for _ in 0..100 {
            if cert.exists() {
                break;
            }
            // A connection wakes the activator; until it listens, retry.
            let _ = tokio::net::TcpStream::connect(addr).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    tokio::task::block_in_place(|| d.wait_for("READY=1", Duration::from_secs(20)));
    first.await.unwrap();
    assert_eq!(d.addr(), addr);
    let r = d.client().get("/api/v1/health").await;
    assert_eq!(r.status, 200);
    assert!(d.stderr().contains("Systemd"), "{}", d.stderr());
}
