//! The configs the image installs for the components hearth drives are
//! accepted by those components: the base nftables ruleset loads, reloads
//! and stops without touching other tables (in network namespaces of the
//! test's own), and Caddy validates its boot config.

use hearth_testkit as common;

use std::process::Command;

use common::netns::{NetNs, link};
use common::require;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs `script` with `sh` in a network namespace of its own (so its
/// ruleset is the test's alone), with `$1` the base ruleset's path.
/// Returns what it printed (`nft list ruleset`, last), or fails with stderr.
fn in_own_netns(script: &str) -> String {
    require("nft", "nftables");
    let ruleset = format!("{ROOT}/nftables/hearth-base.nft");
    NetNs::new("boot").sh(script, &[&ruleset])
}

/// The kit's namespaces are real hosts: two of them joined by a veth
/// pair exchange packets, and neither sees the machine's interfaces.
#[test]
fn two_namespaces_joined_by_a_veth_pair_reach_each_other() {
    let a = NetNs::new("kit");
    let b = NetNs::new("kit");
    let (ea, _) = link(&a, "10.201.0.1/24", &b, "10.201.0.2/24");
    let links = a.run("ip", &["-o", "link"]);
    assert!(links.contains(&ea) && links.contains("lo"), "{links}");
    assert_eq!(links.lines().count(), 2, "only lo and the veth: {links}");
    require("ping", "iputils-ping");
    let out = a.run("ping", &["-c", "1", "-W", "5", "10.201.0.2"]);
    assert!(out.contains("1 received"), "{out}");
}

#[test]
fn the_base_ruleset_loads_and_only_opens_hearths_port_and_the_web_ports() {
    let listed = in_own_netns("nft -f \"$1\" && nft list ruleset");
    assert!(listed.contains("policy drop;"), "{listed}");
    assert!(
        listed.contains("tcp dport { 80, 443, 8443 } accept"),
        "{listed}"
    );
    assert!(!listed.contains("dport 22"), "{listed}");
}

/// Docker's tables (and hearth's own) were there before a reload; they
/// are there after it, and the base table is there once, not twice.
#[test]
fn reloading_the_base_ruleset_replaces_only_its_own_table() {
    let listed = in_own_netns(
        "nft add table ip docker_nat && nft add chain ip docker_nat DOCKER \
         && nft -f \"$1\" && nft -f \"$1\" && nft list ruleset",
    );
    assert!(listed.contains("table ip docker_nat"), "{listed}");
    assert!(listed.contains("chain DOCKER"), "{listed}");
    assert_eq!(
        listed.matches("table inet hearth_base").count(),
        1,
        "{listed}"
    );
    assert_eq!(
        listed.matches("tcp dport { 80, 443, 8443 } accept").count(),
        1,
        "{listed}"
    );
}

/// `systemctl stop nftables` runs the drop-in's command in place of the
/// stock `nft flush ruleset`: the base table goes, Docker's stays.
#[test]
fn stopping_nftables_takes_away_only_the_base_table() {
    let path = format!("{ROOT}/nftables/nftables.service.d/hearth.conf");
    let dropin = std::fs::read_to_string(&path).unwrap();
    let stops: Vec<&str> = dropin
        .lines()
        .filter_map(|l| l.strip_prefix("ExecStop="))
        .collect();
    assert_eq!(
        stops.first(),
        Some(&""),
        "{path} must first clear the stock ExecStop (nft flush ruleset)"
    );
    assert_eq!(stops.len(), 2, "{path}: one command to stop: {stops:?}");
    let listed = in_own_netns(&format!(
        "nft add table ip docker_nat && nft -f \"$1\" && {} && nft list ruleset",
        stops[1]
    ));
    assert!(listed.contains("table ip docker_nat"), "{listed}");
    assert!(!listed.contains("hearth_base"), "{listed}");
}

#[test]
fn caddy_accepts_its_boot_config() {
    let caddy = require("caddy", "caddy");
    let mut validate = Command::new(caddy);
    validate
        .args(["validate", "--adapter", "caddyfile", "--config"])
        .arg(format!("{ROOT}/caddy/Caddyfile"));
    common::run_ok(&mut validate, "caddy validate");
}
