//! Applying hearth's nftables ruleset at the size of a large policy
//! (1,000 port forwards and 1,000 allow rules), side by side with a bare
//! `nft -f FILE` of the same script:
//! - render: the pure function from policy to script;
//! - hearth apply: `NftBinary::apply`, what the manager runs (`nft -f -`,
//!   the script on stdin, from the tokio runtime);
//! - hearth read-back: the `list()` the manager runs after each apply;
//! - bare: `ip netns exec NAME nft -f /tmp/...` from std::process.
//!
//! Everything runs in a network namespace of its own (`hearth-bench-PID`),
//! deleted at the end even on a panic; the machine's own ruleset is never
//! touched. Needs root, nftables and iproute2. The applies alternate
//! (hearth, bare, hearth, bare...) so that machine noise hits both alike.

use hearth_testkit::stats;

use stats::{Stats, ms, stats};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hearth::firewall::adapter::{Nft, NftBinary};
use hearth::firewall::model::{AllowRule, Policy, PortForward, PortRange, Protocol, UserPlane};
use hearth::firewall::render::{RenderInput, ruleset};
use ipnet::IpNet;

const RUNS: usize = 20;
const HTTPS_PORT: u16 = 8443;

/// A network namespace, deleted when dropped (also when unwinding).
struct Netns {
    name: String,
}

impl Netns {
    fn new(name: String) -> Netns {
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("run ip netns add");
        assert!(
            out.status.success(),
            "ip netns add {name} failed (root is needed): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Netns { name }
    }

    /// `ip netns exec NAME nft`, the prefix of every nft call here.
    fn nft_argv(&self) -> Vec<String> {
        ["ip", "netns", "exec", &self.name, "nft"]
            .map(String::from)
            .to_vec()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let ok = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!(
                "could not delete the network namespace {}: ip netns del {}",
                self.name, self.name
            );
        }
    }
}

/// Whether `program` is on the PATH or in the sbin directories.
fn installed(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .any(|dir| dir.join(program).is_file())
}

fn net(s: &str) -> IpNet {
    s.parse::<IpNet>().expect("a valid network").trunc()
}

/// 1,000 tcp forwards on 20000..21000 to five hosts' port 80, and 1,000
/// allow rules (tcp and udp, single ports and ranges, in 30000..60000).
fn policy() -> Policy {
    let forwards = (0..1000u16)
        .map(|i| PortForward {
            protocol: Protocol::Tcp,
            port: 20000 + i,
            to: format!("192.168.50.{}", 10 + i % 5).parse().unwrap(),
            to_port: 80,
            from: match i % 4 {
                0 => vec![net(&format!("192.168.{}.0/24", i % 50))],
                1 => vec![net("192.168.0.0/16"), net("fd00::/8")],
                _ => Vec::new(),
            },
        })
        .collect();
    let allow = (0..1000u16)
        .map(|i| {
            // Each rule owns 30 ports from 30000 up: no two overlap, and
            // the last ends below 60000.
            let first = 30000 + i * 30;
            AllowRule {
                protocol: if i % 2 == 0 {
                    Protocol::Tcp
                } else {
                    Protocol::Udp
                },
                ports: if i % 3 == 0 {
                    PortRange {
                        first,
                        last: first + 9,
                    }
                } else {
                    PortRange::one(first)
                },
                from: match i % 5 {
                    0 => vec![net(&format!("10.{}.{}.0/24", i % 256, i / 256))],
                    1 => vec![net(&format!("fd00:{i:x}::/32"))],
                    2 => vec![
                        net(&format!("10.{}.0.0/16", i % 256)),
                        net(&format!("fd00:{i:x}::/32")),
                    ],
                    _ => Vec::new(),
                },
            }
        })
        .collect();
    Policy {
        https_from: vec![net("0.0.0.0/0"), net("::/0")],
        web: true,
        allow,
        forwards,
    }
}

fn bare_apply(argv: &[String], path: &str) {
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .args(["-f", path])
        .stdin(Stdio::null())
        .output()
        .expect("run ip netns exec ... nft -f");
    assert!(
        out.status.success(),
        "bare nft -f {path} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// Where the time goes: the same prefix starting nft without netlink
/// work (process spawns and the namespace switch), the bare run with the
/// script on a stdin pipe instead of a file, and the bare JSON dump that
/// the read-back runs (after `nft -j list tables inet`).
fn where_the_time_goes(argv: &[String], script: &str) -> (Stats, Stats, Stats) {
    let mut spawns = Vec::with_capacity(RUNS);
    let mut stdins = Vec::with_capacity(RUNS);
    let mut dumps = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .args(["-j", "list", "table", "inet", "hearth"])
            .output()
            .expect("run nft -j list table");
        dumps.push(t.elapsed());
        assert!(out.status.success(), "nft -j list table failed");
        let t = Instant::now();
        let ok = Command::new(&argv[0])
            .args(&argv[1..])
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        spawns.push(t.elapsed());
        assert!(ok, "nft --version failed");
        let t = Instant::now();
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("run nft -f -");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let ok = child.wait().is_ok_and(|s| s.success());
        stdins.push(t.elapsed());
        assert!(ok, "bare nft -f - failed");
    }
    (stats(spawns), stats(stdins), stats(dumps))
}

/// Exits saying what to install when `ip` or `nft` is missing.
fn require_tools() {
    let mut missing = Vec::new();
    if !installed("ip") {
        missing.push("the ip program is missing: install iproute2 (apt-get install iproute2)");
    }
    if !installed("nft") {
        missing.push("the nft program is missing: install nftables (apt-get install nftables)");
    }
    if !missing.is_empty() {
        for m in missing {
            eprintln!("{m}");
        }
        std::process::exit(1);
    }
}

fn main() {
    require_tools();
    let policy = policy();
    if let Err(e) = policy.check_ports(HTTPS_PORT) {
        panic!("the benchmark's policy is invalid: {e}");
    }
    let servers = UserPlane::default();
    let input = RenderInput {
        policy: &policy,
        servers: &servers,
        https_port: HTTPS_PORT,
    };
    let mut renders = Vec::with_capacity(RUNS);
    let mut script = String::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        script = std::hint::black_box(ruleset(std::hint::black_box(input)));
        renders.push(t.elapsed());
    }
    let render = stats(renders);

    let mut file = tempfile::Builder::new()
        .prefix("hearth-bench-")
        .suffix(".nft")
        .tempfile_in("/tmp")
        .expect("a temp file in /tmp");
    file.write_all(script.as_bytes()).unwrap();
    file.flush().unwrap();
    let path = file.path().to_str().expect("a UTF-8 path").to_owned();

    let ns = Netns::new(format!("hearth-bench-{}", std::process::id()));
    let argv = ns.nft_argv();
    let nft = NftBinary::with_argv(argv.clone());
    nft.present().expect("nft runs through ip netns exec");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let hearth_apply = || {
        runtime.block_on(async {
            let t = Instant::now();
            nft.apply(&script).await.expect("hearth's apply");
            t.elapsed()
        })
    };
    let hearth_list = || {
        runtime.block_on(async {
            let t = Instant::now();
            let listing = nft.list().await.expect("hearth's read-back");
            (t.elapsed(), listing)
        })
    };

    // Warm-up, not counted: the first load creates the table (later ones
    // replace it), and the page cache gets nft and its libraries.
    hearth_apply();
    let (_, listing) = hearth_list();
    bare_apply(&argv, &path);
    let table = listing.hearth.expect("hearth's table is loaded");
    assert!(!listing.base_present, "no boot-time table in the namespace");
    let rules = table
        .shape
        .as_array()
        .map_or(0, |a| a.iter().filter(|i| i.get("rule").is_some()).count());

    let mut applies = Vec::with_capacity(RUNS);
    let mut lists = Vec::with_capacity(RUNS);
    let mut bares = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        applies.push(hearth_apply());
        lists.push(hearth_list().0);
        let t = Instant::now();
        bare_apply(&argv, &path);
        bares.push(t.elapsed());
    }
    let both: Vec<Duration> = applies.iter().zip(&lists).map(|(a, l)| *a + *l).collect();

    let (spawn, stdin, dump) = where_the_time_goes(&argv, &script);
    let (apply, list, both, bare) = (stats(applies), stats(lists), stats(both), stats(bares));
    let ratio = apply.median.as_secs_f64() / bare.median.as_secs_f64();
    let kib = script.len() as f64 / 1024.0;

    println!(
        "script: {kib:.1} KiB, {} lines; {rules} rules in hearth's table once loaded ({} forwards + {} allow rules in the policy)",
        script.lines().count(),
        policy.forwards.len(),
        policy.allow.len()
    );
    println!(
        "render: median {:.0} µs, min {:.0} µs, p95 {:.0} µs (of {RUNS})",
        render.median.as_secs_f64() * 1e6,
        render.min.as_secs_f64() * 1e6,
        render.p95.as_secs_f64() * 1e6
    );
    println!(
        "in namespace {}, {RUNS} runs each, alternated; p95 is the 19th of 20",
        ns.name
    );
    println!();
    println!(
        "| 1,000 forwards + 1,000 allow rules ({kib:.0} KiB, {rules} rules) | min | median | p95 |"
    );
    println!("|---|---|---|---|");
    let row = stats::print_row;
    row("hearth apply (`nft -f -`, script on stdin)", &apply);
    row("hearth read-back (`list()` after the apply)", &list);
    row("hearth apply + read-back", &both);
    row("bare `nft -f FILE`", &bare);
    println!(
        "| render (policy to script) | {:.0} µs | {:.0} µs | {:.0} µs |",
        render.min.as_secs_f64() * 1e6,
        render.median.as_secs_f64() * 1e6,
        render.p95.as_secs_f64() * 1e6
    );
    println!();
    println!("ratio hearth apply / bare (medians): {ratio:.2}");
    println!(
        "where the time goes (medians): `ip netns exec NAME nft --version` {}; bare `nft -f -` from std with the script on stdin {}; bare `nft -j list table inet hearth` {}",
        ms(spawn.median),
        ms(stdin.median),
        ms(dump.median)
    );
    let ratio_ok = ratio <= 1.5;
    let p95_ok = apply.p95 < Duration::from_millis(100);
    println!(
        "goals: hearth apply median ≤ 1.5 × bare median: {} ({ratio:.2}×); hearth apply p95 < 100 ms: {} ({})",
        if ratio_ok { "holds" } else { "FAILS" },
        if p95_ok { "holds" } else { "FAILS" },
        ms(apply.p95)
    );
}
