//! The configs the image installs for the components hearth drives are
//! accepted by those components: the base nftables ruleset loads (in a
//! network namespace of the test's own) and Caddy validates its boot config.

mod common;

use std::process::Command;

use common::require;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn the_base_ruleset_loads_and_only_opens_the_web_ports() {
    require("nft", "nftables");
    let unshare = require("unshare", "util-linux");
    let ruleset = format!("{ROOT}/nftables/hearth-base.nft");
    let out = Command::new(unshare)
        .args([
            "--net",
            "sh",
            "-c",
            "nft -f \"$1\" && nft list ruleset",
            "sh",
        ])
        .arg(&ruleset)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "nft -f {ruleset}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(listed.contains("policy drop;"), "{listed}");
    assert!(listed.contains("tcp dport { 80, 443 } accept"), "{listed}");
    assert!(!listed.contains("dport 22"), "{listed}");
}

#[test]
fn caddy_accepts_its_boot_config() {
    let caddy = require("caddy", "caddy");
    let out = Command::new(caddy)
        .args(["validate", "--adapter", "caddyfile", "--config"])
        .arg(format!("{ROOT}/caddy/Caddyfile"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "caddy validate: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
