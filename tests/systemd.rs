//! The systemd side: the unit's security rating, the sysusers and tmpfiles
//! files applied to a scratch root, socket activation (LISTEN_FDS), and
//! the recovery console's template unit as systemd reads it.

use hearth_testkit as common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Daemon, Options, require};

const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/hearth.service");
const CONSOLE_UNIT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/systemd/hearth-console@.service"
);
/// The terminals the image runs the console on (image/customize.sh).
const CONSOLE_TTYS: [&str; 2] = ["tty1", "ttyS0"];

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

/// Each instance the image enables, as `systemd-analyze verify` reads it:
/// nothing to say about it. (An unknown key or a bad value is only a
/// warning there, with a zero exit: any line naming the unit fails.)
#[test]
fn console_unit_verifies_for_each_terminal() {
    let analyze = require("systemd-analyze", "systemd");
    let dir = tempfile::tempdir().unwrap();
    // verify checks that ExecStart's program is there: the binary built
    // here stands for /usr/bin/hearth.
    let text = std::fs::read_to_string(CONSOLE_UNIT)
        .unwrap()
        .replace("/usr/bin/hearth ", &format!("{} ", common::bin().display()));
    for tty in CONSOLE_TTYS {
        let name = format!("hearth-console@{tty}.service");
        let path = dir.path().join(&name);
        std::fs::write(&path, &text).unwrap();
        let out = Command::new(&analyze)
            .arg("verify")
            .arg(&path)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let about_it: Vec<&str> = said
            .lines()
            .filter(|l| l.contains("hearth-console"))
            .collect();
        assert!(
            out.status.success() && about_it.is_empty(),
            "systemd-analyze verify {name}:\n{said}"
        );
    }
}

/// What the console relies on: root on its own terminal, started again
/// after every end of input with no start limit, everything it started
/// ended with it, and nothing of hearth's needed to run.
#[test]
fn console_unit_runs_as_root_on_its_terminal_without_hearth() {
    let unit = std::fs::read_to_string(CONSOLE_UNIT).unwrap();
    let settings: Vec<&str> = unit
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .collect();
    for line in [
        "ExecStart=/usr/bin/hearth console --tty %I",
        "StandardInput=tty",
        "StandardOutput=tty",
        "TTYPath=/dev/%I",
        "TTYReset=yes",
        "TTYVHangup=yes",
        "TTYVTDisallocate=no",
        "Restart=always",
        "StartLimitIntervalSec=0",
        "KillMode=control-group",
        "IgnoreSIGPIPE=no",
        "Environment=TERM=vt100",
        "Conflicts=getty@%i.service serial-getty@%i.service",
        "WantedBy=getty.target",
    ] {
        assert!(settings.contains(&line), "missing {line}");
    }
    for key in [
        "User=",
        "DynamicUser=",
        "ProtectSystem=",
        "ProtectHome=",
        "PrivateTmp=",
        "PrivateDevices=",
        "ReadOnlyPaths=",
        "CapabilityBoundingSet=",
        "NoNewPrivileges=",
        "SystemCallFilter=",
    ] {
        assert!(
            !settings.iter().any(|l| l.starts_with(key)),
            "{key} would keep the console from what it needs as root"
        );
    }
    let dependencies = ["Requires=", "Requisite=", "Wants=", "BindsTo=", "After="];
    for line in &settings {
        if dependencies.iter().any(|d| line.starts_with(d)) {
            assert!(
                !line.contains("hearth.service"),
                "the console must work while hearth is down: {line}"
            );
        }
    }
}

/// The image enables one instance per terminal with `systemctl --root`
/// (image/customize.sh): the [Install] section makes each a want of
/// getty.target, where the login prompts would be.
#[test]
fn console_instances_enable_under_getty_target() {
    let systemctl = require("systemctl", "systemd");
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let units = r.join("usr/lib/systemd/system");
    std::fs::create_dir_all(&units).unwrap();
    std::fs::create_dir_all(r.join("etc/systemd/system")).unwrap();
    std::fs::copy(CONSOLE_UNIT, units.join("hearth-console@.service")).unwrap();
    let mut enable = Command::new(systemctl);
    enable
        .arg(format!("--root={}", r.display()))
        .args(["enable", "--quiet"])
        .args(CONSOLE_TTYS.map(|tty| format!("hearth-console@{tty}.service")));
    common::run_ok(&mut enable, "systemctl enable");
    for tty in CONSOLE_TTYS {
        let link = r.join(format!(
            "etc/systemd/system/getty.target.wants/hearth-console@{tty}.service"
        ));
        assert_eq!(
            std::fs::read_link(&link).ok().as_deref(),
            Some(Path::new("/usr/lib/systemd/system/hearth-console@.service")),
            "{}",
            link.display()
        );
    }
}
