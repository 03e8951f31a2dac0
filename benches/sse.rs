//! The daemon under Server-Sent Events load, over TLS on loopback:
//! - RSS and CPU % at 1 Hz with 0, 100 and 1,000 open streams;
//! - fan-out to 10,000 streams: delivery latency from the sample's
//!   timestamp to its receipt (p50, p99), and RSS per idle client;
//! - one sign-out with those 10,000 streams open: every stream checks its
//!   session again (see `http::access_changes`); the daemon CPU that costs,
//!   and that every stream stays open.
//!
//! The release `hearth` binary runs as a child with its own state; the
//! clients run in this process (so they share the two cores with it).

use hearth_testkit as common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Daemon, Options, TlsClient, rss_kib};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;

struct Shared {
    connected: AtomicUsize,
    ended: AtomicUsize,
    measuring: AtomicBool,
    latencies_ms: Mutex<Vec<u32>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// One stream: connect, subscribe, read forever, note each sample's delay.
async fn client(tls: TlsClient, shared: Arc<Shared>) {
    let Ok(mut stream) = tls.connect(&[b"http/1.1"]).await else {
        return;
    };
    let session = tls.session.clone().unwrap_or_default();
    let req = format!(
        "GET /api/v1/events?topics=system HTTP/1.1\r\nHost: localhost:{}\r\nCookie: __Host-hearth_session={session}\r\n\r\n",
        tls.addr.port()
    );
    if stream.write_all(req.as_bytes()).await.is_err() {
        return;
    }
    shared.connected.fetch_add(1, Ordering::Relaxed);
    let mut buf = vec![0u8; 8192];
    let mut pending = Vec::new();
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => {
                shared.ended.fetch_add(1, Ordering::Relaxed);
                break;
            }
            Ok(n) => n,
        };
        let received = now_ms();
        pending.extend_from_slice(&buf[..n]);
        // Each system event's data starts with {"ts_ms":<ms>.
        while let Some(pos) = find(&pending, b"data: {\"ts_ms\":") {
            let start = pos + 15;
            let end = pending[start..]
                .iter()
                .position(|b| !b.is_ascii_digit())
                .map(|e| start + e);
            let Some(end) = end else { break };
            let ts: u64 = std::str::from_utf8(&pending[start..end])
                .unwrap()
                .parse()
                .unwrap_or(0);
            if shared.measuring.load(Ordering::Relaxed) && ts > 0 {
                shared
                    .latencies_ms
                    .lock()
                    .await
                    .push(received.saturating_sub(ts) as u32);
            }
            pending.drain(..end);
        }
        if pending.len() > 64 * 1024 {
            pending.clear();
        }
    }
    shared.connected.fetch_sub(1, Ordering::Relaxed);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// (user, system) clock ticks of a process.
fn cpu_ticks(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    (f[11].parse::<u64>().unwrap(), f[12].parse::<u64>().unwrap())
}

/// CPU % of one core used by `pid` over `window`: (user, system).
async fn cpu_percent(pid: u32, window: Duration) -> (f64, f64) {
    let (tck, _) = hearth::metrics::sampler::clock_and_page();
    let (u0, s0) = cpu_ticks(pid);
    tokio::time::sleep(window).await;
    let (u1, s1) = cpu_ticks(pid);
    let pct = |t: u64| t as f64 / tck as f64 / window.as_secs_f64() * 100.0;
    (pct(u1 - u0), pct(s1 - s0))
}

async fn open_streams(tls: &TlsClient, shared: &Arc<Shared>, target: usize) {
    let started = Instant::now();
    let mut launched = shared.connected.load(Ordering::Relaxed);
    while launched < target {
        // Launch in batches so handshakes do not all land at once.
        let batch = (target - launched).min(250);
        for _ in 0..batch {
            tokio::spawn(client(tls.clone(), shared.clone()));
        }
        launched += batch;
        while shared.connected.load(Ordering::Relaxed) + 50 < launched {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if started.elapsed() > Duration::from_secs(300) {
                panic!(
                    "only {} of {target} streams connected",
                    shared.connected.load(Ordering::Relaxed)
                );
            }
        }
    }
    while shared.connected.load(Ordering::Relaxed) < target {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if started.elapsed() > Duration::from_secs(300) {
            panic!(
                "only {} of {target} streams connected",
                shared.connected.load(Ordering::Relaxed)
            );
        }
    }
}

/// `; latency p50 .. p99 .. max ..` of the deliveries measured, or nothing.
async fn latency_summary(shared: &Shared) -> String {
    let mut lat = std::mem::take(&mut *shared.latencies_ms.lock().await);
    if lat.is_empty() {
        return String::new();
    }
    lat.sort_unstable();
    let p = |q: f64| lat[((lat.len() - 1) as f64 * q).round() as usize];
    format!(
        "; {} deliveries, latency p50 {} ms, p99 {} ms, max {} ms",
        lat.len(),
        p(0.5),
        p(0.99),
        lat[lat.len() - 1]
    )
}

/// Room for the 10,000 streams, all from loopback.
const LIMITS: &str = "[limits]
max_connections = 30000
max_connections_per_address = 30000
max_streams_per_address = 30000
";

fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
}

#[tokio::main]
async fn main() {
    raise_fd_limit();
    println!("SSE over TLS on loopback, 1 sample per second (release build)");
    // Memory at rest, in a box's three moments: in setup mode, before any
    // password was set; just after setup and a sign-in (zxcvbn's
    // dictionaries, built when the admin's password was set, are kept);
    // and restarted, set up, with a sign-in: what a box runs as day to day,
    // and the daemon every figure below is taken from.
    let fresh = Daemon::start(Options {
        pending_setup: true,
        ..Options::default()
    });
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!(
        "  RSS at start, in setup mode (no password set yet): {:.1} MiB",
        rss_kib(fresh.child.id()) as f64 / 1024.0
    );
    drop(fresh);
    let state = tempfile::tempdir().unwrap();
    let options = || Options {
        config: LIMITS.into(),
        state_dir: Some(state.path().join("state")),
        ..Options::default()
    };
    let just_set_up = Daemon::start(options());
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!(
        "  RSS just after setup and a sign-in: {:.1} MiB",
        rss_kib(just_set_up.child.id()) as f64 / 1024.0
    );
    drop(just_set_up);
    // Restarted, set up; Daemon::start signs the admin in.
    let daemon = Daemon::start(options());
    let pid = daemon.child.id();
    let tls = daemon.admin_client();
    let shared = Arc::new(Shared {
        connected: AtomicUsize::new(0),
        ended: AtomicUsize::new(0),
        measuring: AtomicBool::new(false),
        latencies_ms: Mutex::new(Vec::new()),
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut rss_at_zero = 0;
    for n in [0usize, 100, 1000] {
        open_streams(&tls, &shared, n).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        shared.latencies_ms.lock().await.clear();
        shared.measuring.store(true, Ordering::Relaxed);
        let (user, system) = cpu_percent(pid, Duration::from_secs(10)).await;
        shared.measuring.store(false, Ordering::Relaxed);
        let rss = rss_kib(pid);
        if n == 0 {
            rss_at_zero = rss;
        }
        let latency = latency_summary(&shared).await;
        println!(
            "  {n:>5} streams (restarted box): RSS {:.1} MiB, CPU {:.1} % of one core (user {user:.1}, kernel {system:.1}){latency}",
            rss as f64 / 1024.0,
            user + system
        );
    }
    let n = 10_000;
    let connect_started = Instant::now();
    open_streams(&tls, &shared, n).await;
    let connect_time = connect_started.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    shared.measuring.store(true, Ordering::Relaxed);
    let me = std::process::id();
    let client_before = cpu_ticks(me);
    let (user, system) = cpu_percent(pid, Duration::from_secs(10)).await;
    let client_after = cpu_ticks(me);
    shared.measuring.store(false, Ordering::Relaxed);
    let rss = rss_kib(pid);
    let latency = latency_summary(&shared).await;
    let (tck, _) = hearth::metrics::sampler::clock_and_page();
    let client_cpu = ((client_after.0 + client_after.1) - (client_before.0 + client_before.1))
        as f64
        / tck as f64
        / 10.0
        * 100.0;
    println!(
        "  {n:>5} streams: connected in {:.1} s; RSS {:.1} MiB, CPU {:.1} % of one core (user {user:.1}, kernel {system:.1}); the clients used {client_cpu:.0} %",
        connect_time.as_secs_f64(),
        rss as f64 / 1024.0,
        user + system
    );
    println!("  fan-out to {n}{latency}");
    println!(
        "  memory per stream: {:.1} KiB ((RSS at {n} - RSS at 0) / {n})",
        (rss.saturating_sub(rss_at_zero)) as f64 / n as f64
    );

    // A sign-out of another session wakes every stream to check its own.
    // Its cost: the daemon's CPU in the 5 s after it, less what 5 s of
    // streaming cost in the window measured above.
    let other = tls.login("admin", common::ADMIN_PASSWORD).await;
    let before = cpu_ticks(pid);
    let started = Instant::now();
    let r = tls
        .send(
            "DELETE",
            "/api/v1/session",
            "",
            &[(common::SESSION_COOKIE, &other)],
            &[],
        )
        .await;
    assert_eq!(r.status, 204);
    let answered = started.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = cpu_ticks(pid);
    let window_ms = ((after.0 + after.1) - (before.0 + before.1)) as f64 / tck as f64 * 1000.0;
    let streaming_ms = (user + system) / 100.0 * 5000.0;
    let ended = shared.ended.load(Ordering::Relaxed);
    println!(
        "  a sign-out with {n} streams open: answered in {} ms; {:.0} ms of daemon CPU for the {n} re-checks ({:.0} ms in the 5 s after it, less {streaming_ms:.0} ms of streaming); {} of {n} streams still open",
        answered.as_millis(),
        (window_ms - streaming_ms).max(0.0),
        window_ms,
        n - ended
    );
    assert_eq!(ended, 0, "a sign-out of another session ended streams");
}
