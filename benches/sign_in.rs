//! Sign-in under attack, and what it costs the store (issue 28):
//! - 256 wrong sign-ins sent at once (8 HTTP/2 connections of 32 streams,
//!   as `h2load -n 256 -c 8 -m 32` does): the answers, p50/p99 latency,
//!   the daemon's peak RSS and its RSS before;
//! - 100,000 refused (throttled) sign-ins from one address: the store
//!   file's size before and after, and the requests' p50/p99;
//! - the store's own write latency for refused attempts
//!   (`Store::audit_refused`, 100,000 from 1,000 addresses) beside a plain
//!   audited write (`Store::audit`, 2,000), in process.
//!
//! The release `hearth` runs as a child with its own state; the clients
//! share the two cores with it. `HEARTH_BENCH_OLD=/path/to/hearth` runs
//! the first part against that binary too, side by side (e.g. one built
//! from a commit before issue 28).

use hearth_testkit as common;

use std::time::{Duration, Instant};

use common::{Daemon, Options, TlsClient, peak_rss_kib, rss_kib, sign_ins_at_once};
use hearth::store::{AuditAction, AuditEntry, Outcome, Store};

const WRONG: &str = r#"{"username":"admin","password":"not the password at all"}"#;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// `n` wrong sign-ins over `connections` HTTP/2 connections, at most
/// `at_once` in flight: their statuses, and their latencies sorted.
async fn wrong_sign_ins(
    client: &TlsClient,
    n: usize,
    connections: usize,
    at_once: usize,
) -> (Vec<u16>, Vec<Duration>) {
    let (statuses, mut latencies): (Vec<u16>, Vec<Duration>) =
        sign_ins_at_once(client, WRONG, n, connections, at_once)
            .await
            .into_iter()
            .unzip();
    latencies.sort();
    (statuses, latencies)
}

fn tally(statuses: &[u16]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for s in statuses {
        *counts.entry(*s).or_insert(0) += 1;
    }
    counts
        .iter()
        .map(|(s, n)| format!("{n}×{s}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn parallel(label: &str, binary: Option<&str>) {
    let d = Daemon::start(Options {
        binary: binary.map(Into::into),
        ..Options::default()
    });
    let client = d.client();
    let pid = d.child.id();
    let before = rss_kib(pid);
    let (statuses, latencies) =
        common::on_own_runtime(async { wrong_sign_ins(&client, 256, 8, 256).await });
    let peak = peak_rss_kib(pid);
    println!(
        "{label:<10} 256 wrong sign-ins at once: {}; p50 {}, p99 {}; RSS {before} KiB before, peak {peak} KiB",
        tally(&statuses),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
    );
}

fn flood() {
    const FLOOD: usize = 100_000;
    let d = Daemon::start(Options::default());
    let client = d.client();
    let store = d.state_dir().join("state.redb");
    common::on_own_runtime(async {
        // Into the throttle first.
        for _ in 0..4 {
            client.post_session(WRONG).await;
        }
    });
    let size_before = std::fs::metadata(&store).unwrap().len();
    let start = Instant::now();
    let (statuses, latencies) =
        common::on_own_runtime(async { wrong_sign_ins(&client, FLOOD, 4, 64).await });
    let took = start.elapsed();
    let size_after = std::fs::metadata(&store).unwrap().len();
    println!(
        "100,000 refused sign-ins from one address: {} in {:.1} s ({:.0}/s); p50 {}, p99 {}; state.redb {size_before} → {size_after} bytes",
        tally(&statuses),
        took.as_secs_f64(),
        FLOOD as f64 / took.as_secs_f64(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
    );
}

fn store_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let entry = |n: usize, outcome| AuditEntry {
        actor: "admin".into(),
        action: AuditAction::SessionLogin,
        target: "session".into(),
        source: format!("10.0.{}.{}", (n % 1000) / 250, n % 250),
        outcome,
    };
    let size = || std::fs::metadata(store.path()).unwrap().len();
    let size_before = size();
    let mut refused = Vec::with_capacity(100_000);
    for n in 0..100_000 {
        let start = Instant::now();
        store.audit_refused(entry(n, Outcome::Denied)).unwrap();
        refused.push(start.elapsed());
    }
    refused.sort();
    let (records, bytes) = store.audit_attempts_kept().unwrap();
    println!(
        "store, 100,000 refused attempts from 1,000 addresses: p50 {}, p99 {}; {records} records ({bytes} bytes of JSON); state.redb {size_before} → {} bytes",
        ms(percentile(&refused, 0.50)),
        ms(percentile(&refused, 0.99)),
        size()
    );
    let mut plain = Vec::with_capacity(2_000);
    for n in 0..2_000 {
        let start = Instant::now();
        store.audit(entry(n, Outcome::Failure)).unwrap();
        plain.push(start.elapsed());
    }
    plain.sort();
    println!(
        "store, 2,000 audited writes (each its own durable record): p50 {}, p99 {}",
        ms(percentile(&plain, 0.50)),
        ms(percentile(&plain, 0.99)),
    );
}

fn main() {
    println!("sign-in under attack (release hearth, clients in this process, 2 cores)");
    parallel("now", None);
    if let Ok(old) = std::env::var("HEARTH_BENCH_OLD") {
        parallel("old", Some(&old));
    }
    flood();
    store_writes();
}
