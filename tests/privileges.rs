//! hearth's own privileges: run as a user of its own with ambient
//! capabilities (as systemd runs the unit), it keeps `CAP_NET_ADMIN`
//! (it manages the firewall) and nothing else in any set, with
//! no_new_privs; without a capability its config needs it stops at start
//! naming it; as root it refuses to run unless `--allow-root` is given.

use hearth_testkit as common;

use std::time::Duration;

use common::netns::NetNs;
use common::{Daemon, Options, bin};

/// `nobody`: a user that owns nothing.
const NOBODY: u32 = 65534;
/// Bit 12 of a capability mask.
const NET_ADMIN: u64 = 1 << 12;

/// The capability sets and no_new_privs of `pid`, from its status.
fn status_fields(pid: u32) -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn mask(fields: &std::collections::HashMap<String, String>, key: &str) -> u64 {
    u64::from_str_radix(&fields[key], 16).unwrap()
}

#[test]
fn hearth_keeps_only_the_capabilities_its_config_needs() {
    // The firewall is managed, in a namespace of the test's own.
    let ns = NetNs::new(&format!("priv{}", std::process::id() % 100000));
    let mut d = Daemon::spawn(Options {
        config: "[firewall]\nmanage = true\n".into(),
        netns: Some(ns.name().to_string()),
        // More than it needs: it must give up what it does not.
        run_as: Some((
            NOBODY,
            "+net_admin,+setpcap,+sys_admin,+dac_override".into(),
        )),
        ..Options::default()
    });
    d.wait_for("READY=1", Duration::from_secs(20));
    let pid = d.child.id();
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap()
            .trim(),
        "hearth"
    );
    let f = status_fields(pid);
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(
            mask(&f, set),
            NET_ADMIN,
            "{set} is {} (want CAP_NET_ADMIN only)\n{}",
            f[set],
            d.stderr()
        );
    }
    assert_eq!(f["NoNewPrivs"], "1");
    assert!(f["Uid"].starts_with(&NOBODY.to_string()), "{}", f["Uid"]);
    d.stop();
}

#[test]
fn a_needed_capability_that_is_missing_stops_the_start_naming_it() {
    let ns = NetNs::new(&format!("nocap{}", std::process::id() % 100000));
    let mut d = Daemon::spawn(Options {
        config: "[firewall]\nmanage = true\n".into(),
        netns: Some(ns.name().to_string()),
        run_as: Some((NOBODY, "-all".into())),
        ..Options::default()
    });
    let status = d
        .wait_exit(Duration::from_secs(20))
        .expect("hearth stops at start");
    assert!(!status.success());
    let err = d.stderr();
    assert!(
        err.contains("CAP_NET_ADMIN") && err.contains("firewall.manage"),
        "{err}"
    );
}

#[test]
fn as_root_it_refuses_to_run_unless_allowed() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test runs as root (as make test does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nstate_dir = {:?}\n",
            dir.path().join("state").to_str().unwrap()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(bin())
        .args(["serve", "--dev", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--allow-root") && err.contains("root"),
        "{err}"
    );
    assert!(
        !dir.path().join("state").exists(),
        "nothing is started before the refusal"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_read_the_privileges_the_kernel_reports_through_the_api() {
    let d = Daemon::start(Options::default());
    let pid = d.child.id();
    let admin = d.admin_client();
    let r = admin.get("/api/v1/system/process").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let kernel = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kernel = hearth::system::privileges::Held::parse(&kernel).unwrap();
    assert_eq!(r.json(), serde_json::to_value(&kernel).unwrap());
    // Root here (the harness's --allow-root under --dev): settle() left
    // it nothing, as --dev needs nothing.
    assert!(kernel.effective.is_empty(), "{kernel:?}");
    assert!(kernel.no_new_privs);

    let viewer = d.signed_in("vic", "viewer").await;
    let r = viewer.get("/api/v1/system/process").await;
    assert_eq!(r.status, 403, "{:?}", r.body);
}
