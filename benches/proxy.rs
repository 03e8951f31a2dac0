//! Caddy 2.6.2 driven the way hearth drives it, at the size of 1,000
//! domains (800 on Caddy's internal CA, 200 plain HTTP, all to loopback
//! ports that are never dialled):
//! 1. render and load: `render::config`, then `CaddySocket::load` of the
//!    config and the `config()` read-back hearth compares after every
//!    load, 20 runs each, alternated with a bare `curl --unix-socket ...
//!    POST /load` of the same JSON. A load is timed up to Caddy's answer:
//!    the certificates of a config are issued in the background after it
//!    (timed once, after the first load, until all 800 are on disk).
//!    Caddy takes a config equal to the running one as a no-op ("config
//!    is unchanged"), so the two sides load two configs that differ in
//!    one domain's port: every timed load is a real change.
//! 2. Caddy's memory (VmRSS): after 100 sequential changes (one domain
//!    more each, load + read-back, as hearth does on every change) beside
//!    the same final config loaded once into a freshly started Caddy. Both
//!    start on the storage of part 1, certificates already there, so the
//!    difference is the loads' alone. Then the same 100 changes with a
//!    proxied stream opened before each change and left open, since
//!    Caddy 2.6.2 does not close a replaced config's open connections: its
//!    old server waits for them (no grace period is set).
//! 3. A proxied event stream across a load (is it closed, and how long
//!    is it interrupted?): a loopback SSE backend whose event N is due
//!    at N × 50 ms and which continues from N+1 on `Last-Event-ID: N`,
//!    behind a plain-HTTP route; a client reading through Caddy that
//!    reconnects at once with `Last-Event-ID` when the stream ends; 10
//!    loads (the same config plus one unrelated domain each): the longest
//!    pause between two events around each load (across the reconnect if
//!    the stream was closed), and whether any id was lost; then one load
//!    that removes the stream's own domain.
//!
//! Everything lives in one temp dir (Caddy's admin socket, storage, XDG
//! dirs, logs, the curl payloads) and on loopback ports free at start;
//! every Caddy started here is stopped at the end, also on a panic. Needs
//! caddy and curl.

use hearth_testkit::{free_port, stats};

use stats::{Stats, ms, stats};
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hearth::proxy::adapter::{CaddyAdmin, CaddySocket};
use hearth::proxy::model::{Domain, SiteName, Target, TlsMode};
use hearth::proxy::render::{CaddySettings, HearthUpstream, RenderInput, config};
use serde_json::Value;

const RUNS: usize = 20;
const DOMAINS: usize = 1000;
const CHANGES: usize = 100;
const STREAM_LOADS: usize = 10;
/// The SSE backend's spacing between events.
const TICK: Duration = Duration::from_millis(50);
/// How long Caddy gets to start, to issue certificates, a stream to
/// come back...
const WAIT: Duration = Duration::from_secs(120);
/// How long Caddy idles before its memory is read.
const SETTLE: Duration = Duration::from_secs(10);
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const EVENTS_HOST: &str = "events.bench.test";

/// Where a program is, if installed.
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin".into(), "/usr/sbin".into(), "/bin".into()])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The temp dir of the whole run; removed when dropped (after the Caddys,
/// which are declared after it).
struct Lab {
    dir: tempfile::TempDir,
    caddy: PathBuf,
    curl: PathBuf,
}

impl Lab {
    fn socket(&self) -> PathBuf {
        self.dir.path().join("admin.sock")
    }

    fn storage(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A `caddy run` on the lab's boot config; stopped when dropped.
struct Caddy {
    child: Child,
    log: PathBuf,
}

impl Caddy {
    fn start(lab: &Lab, name: &str) -> Caddy {
        let boot = serde_json::json!({
            "admin": {
                "listen": format!("unix/{}", lab.socket().display()),
                "config": {"persist": false},
            },
            "storage": {"module": "file_system", "root": lab.storage()},
        });
        let boot_path = lab.path("boot.json");
        std::fs::write(&boot_path, boot.to_string()).expect("write boot.json");
        let log = lab.path(&format!("caddy-{name}.log"));
        let out = std::fs::File::create(&log).expect("create Caddy's log");
        let child = Command::new(&lab.caddy)
            .arg("run")
            .arg("--config")
            .arg(&boot_path)
            // Caddy's default storage and autosave place: the lab, never
            // the caller's home.
            .env("HOME", lab.dir.path())
            .env("XDG_CONFIG_HOME", lab.path("xdg-config"))
            .env("XDG_DATA_HOME", lab.path("xdg-data"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("clone the log's handle"))
            .stderr(out)
            .spawn()
            .expect("start caddy run");
        let mut caddy = Caddy { child, log };
        let deadline = Instant::now() + WAIT;
        while !admin_answers(&lab.socket()) {
            if let Ok(Some(status)) = caddy.child.try_wait() {
                panic!("caddy exited at start ({status}):\n{}", caddy.log());
            }
            assert!(
                Instant::now() < deadline,
                "Caddy's admin socket did not answer:\n{}",
                caddy.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        caddy
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many times Caddy logged `msg`.
    fn logged(&self, msg: &str) -> usize {
        self.log().matches(&format!("\"msg\":\"{msg}\"")).count()
    }

    /// A field of /proc/PID/status in KiB (VmRSS, VmHWM).
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read Caddy's /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in Caddy's status"))
    }
}

impl Drop for Caddy {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `GET /config/` on the admin socket answers.
fn admin_answers(socket: &Path) -> bool {
    admin_get(socket, "/config/").is_ok()
}

/// `GET path` on the admin socket (with the empty Host 2.6.2 wants
/// there): the body of a 200, its chunks joined.
fn admin_get(socket: &Path, path: &str) -> std::io::Result<String> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n").as_bytes())?;
    let mut reader = BufReader::new(s);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    if !status.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(format!(
            "GET {path}: {}",
            status.trim()
        )));
    }
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        let line = line.to_ascii_lowercase();
        chunked |= line.starts_with("transfer-encoding:") && line.contains("chunked");
    }
    let mut body = Vec::new();
    read_body(&mut reader, chunked, |bytes| body.extend_from_slice(bytes))?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// An HTTP/1.1 body after its headers, to its end: chunked, or up to the
/// connection's close.
fn read_body(
    reader: &mut impl BufRead,
    chunked: bool,
    mut on_bytes: impl FnMut(&[u8]),
) -> std::io::Result<()> {
    if !chunked {
        let mut buf = [0; 4096];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            on_bytes(&buf[..n]);
        }
    }
    loop {
        let mut size = String::new();
        if reader.read_line(&mut size)? == 0 {
            return Ok(());
        }
        let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
            .map_err(std::io::Error::other)?;
        if size == 0 {
            // Trailers may follow (Caddy's Etag): not needed.
            return Ok(());
        }
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        on_bytes(&chunk[..size]);
    }
}

/// What Go's runtime says of Caddy's memory, from the admin API's pprof
/// endpoints (no GC forced).
struct GoMemory {
    heap_in_use: u64,
    /// Heap spans free but not yet given back to the system.
    heap_idle_kept: u64,
    goroutines: usize,
    /// Servers of replaced configs still waiting in `Shutdown` for their
    /// open connections to end.
    draining_servers: usize,
    /// What a forced GC leaves (`HeapAlloc` after it): the live heap.
    /// Read last, as it changes what it measures.
    heap_live: u64,
}

fn go_memory(socket: &Path) -> GoMemory {
    let stat = |heap: &str, name: &str| -> u64 {
        heap.lines()
            .find_map(|l| l.strip_prefix(&format!("# {name} = ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in Caddy's heap profile"))
    };
    let heap = admin_get(socket, "/debug/pprof/heap?debug=1").expect("Caddy's heap profile");
    let goroutines =
        admin_get(socket, "/debug/pprof/goroutine?debug=2").expect("Caddy's goroutines");
    let collected =
        admin_get(socket, "/debug/pprof/heap?gc=1&debug=1").expect("Caddy's heap profile");
    GoMemory {
        heap_in_use: stat(&heap, "HeapInuse") / 1024,
        heap_idle_kept: stat(&heap, "HeapIdle").saturating_sub(stat(&heap, "HeapReleased")) / 1024,
        goroutines: goroutines.matches("\n\ngoroutine ").count() + 1,
        draining_servers: goroutines.matches("net/http.(*Server).Shutdown(").count(),
        heap_live: stat(&collected, "HeapAlloc") / 1024,
    }
}

fn domain(name: &str, tls: TlsMode, port: u16, hsts: bool) -> Domain {
    Domain {
        name: SiteName::try_from(name).expect("a valid site name"),
        owner: "bench".into(),
        target: Target::Address {
            address: LOOPBACK,
            port,
        },
        tls,
        hsts,
    }
}

/// `d0001.bench.test` .. `d1000.bench.test`: every fifth plain HTTP, the
/// rest on the internal CA (every other one of those with HSTS).
fn domains() -> Vec<Domain> {
    (1..=DOMAINS)
        .map(|i| {
            let tls = if i % 5 == 0 {
                TlsMode::Off
            } else {
                TlsMode::Internal
            };
            let hsts = tls == TlsMode::Internal && i % 2 == 0;
            domain(
                &format!("d{i:04}.bench.test"),
                tls,
                20000 + (i % 100) as u16,
                hsts,
            )
        })
        .collect()
}

/// Waits until the internal CA's certificate of every name is on disk.
fn wait_for_certs(storage: &Path, names: &[&str], caddy: &Caddy) {
    let deadline = Instant::now() + WAIT;
    let mut missing: Vec<PathBuf> = names
        .iter()
        .map(|n| storage.join(format!("certificates/local/{n}/{n}.crt")))
        .collect();
    loop {
        missing.retain(|p| !p.exists());
        if missing.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} certificates still missing, e.g. {}:\n{}",
            missing.len(),
            missing[0].display(),
            caddy.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// 1000 as "1,000".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The peer: curl POSTing the file to /load, as a shell script would.
fn curl_load(lab: &Lab, file: &Path) {
    let out = Command::new(&lab.curl)
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--unix-socket",
        ])
        .arg(lab.socket())
        // curl's --data-binary sends a form's Content-Type by default,
        // which Caddy refuses ("unrecognized config adapter").
        .args(["-H", "Host;", "-H", "Content-Type: application/json"])
        .args(["-X", "POST", "--data-binary"])
        .arg(format!("@{}", file.display()))
        .arg("http://x/load")
        .output()
        .expect("run curl");
    let code = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && code == "200",
        "curl POST /load: {code} {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

// ---- the event stream: a backend and a client on std threads ----

/// Event N is due at `t0 + N × TICK`.
fn due(t0: Instant, id: u64) -> Instant {
    t0 + TICK * u32::try_from(id).expect("an id that fits u32")
}

/// A loopback SSE backend: one thread per connection.
fn start_backend(t0: Instant) -> u16 {
    let listener = TcpListener::bind((LOOPBACK, 0)).expect("bind the SSE backend");
    let port = listener.local_addr().unwrap().port();
    // Lives until the process ends: it only ever serves loopback.
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = serve_events(conn, t0);
            });
        }
    });
    port
}

fn serve_events(conn: TcpStream, t0: Instant) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut last = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("last-event-id")
        {
            last = value.trim().parse::<u64>().ok();
        }
    }
    let mut out = conn;
    out.set_nodelay(true)?;
    out.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
    )?;
    // A fresh stream starts at the next event due; a reconnect continues
    // right after the last one seen (at once if it is already due).
    let mut id = match last {
        Some(last) => last + 1,
        None => (t0.elapsed().as_nanos() / TICK.as_nanos()) as u64 + 1,
    };
    loop {
        let at = due(t0, id);
        let now = Instant::now();
        if at > now {
            std::thread::sleep(at - now);
        }
        out.write_all(format!("id: {id}\ndata: {{\"n\":{id}}}\n\n").as_bytes())?;
        id += 1;
    }
}

/// One event the client got.
#[derive(Clone, Copy)]
struct Got {
    id: u64,
    at: Instant,
    /// Which connection (counted from 1) it came on.
    conn: u32,
}

#[derive(Default)]
struct ClientLog {
    events: Vec<Got>,
    /// When each connection's stream ended, by connection number.
    ended: Vec<(u32, Instant)>,
    /// Connection attempts that got no stream (refused, not 200).
    failed: u32,
    conn: u32,
}

/// An SSE client through Caddy, reconnecting at once with Last-Event-ID
/// (a browser's EventSource would wait its retry delay first).
struct Client {
    log: Arc<Mutex<ClientLog>>,
    stop: Arc<AtomicBool>,
    current: Arc<Mutex<Option<TcpStream>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Client {
    fn start(port: u16) -> Client {
        let log = Arc::new(Mutex::new(ClientLog::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let current = Arc::new(Mutex::new(None));
        let (l, s, c) = (log.clone(), stop.clone(), current.clone());
        let thread = std::thread::spawn(move || {
            let mut last = None;
            while !s.load(Ordering::SeqCst) {
                match read_stream(port, last, &l, &c, &s) {
                    Ok(Some(id)) => last = Some(id),
                    Ok(None) => {}
                    Err(_) => {
                        l.lock().unwrap().failed += 1;
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
                if let Some(id) = l.lock().unwrap().events.last().map(|g| g.id) {
                    last = Some(id);
                }
            }
        });
        Client {
            log,
            stop,
            current,
            thread: Some(thread),
        }
    }

    fn snapshot(&self) -> (u32, Vec<Got>, Vec<(u32, Instant)>, u32) {
        let l = self.log.lock().unwrap();
        (l.conn, l.events.clone(), l.ended.clone(), l.failed)
    }

    /// Whether connection `conn`'s stream has ended.
    fn ended(&self, conn: u32) -> bool {
        self.log
            .lock()
            .unwrap()
            .ended
            .iter()
            .any(|(c, _)| *c == conn)
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(s) = self.current.lock().unwrap().as_ref() {
            let _ = s.shutdown(Shutdown::Both);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One connection: the stream until it ends. Err: no stream at all.
fn read_stream(
    port: u16,
    last: Option<u64>,
    log: &Mutex<ClientLog>,
    current: &Mutex<Option<TcpStream>>,
    stop: &AtomicBool,
) -> std::io::Result<Option<u64>> {
    let mut conn = TcpStream::connect((LOOPBACK, port))?;
    conn.set_nodelay(true)?;
    *current.lock().unwrap() = Some(conn.try_clone()?);
    // `Client::stop` sets the flag, then shuts down what is current: one
    // of the two sees this connection.
    if stop.load(Ordering::SeqCst) {
        return Ok(None);
    }
    let mut request = format!(
        "GET /events HTTP/1.1\r\nHost: {EVENTS_HOST}:{port}\r\nAccept: text/event-stream\r\n"
    );
    if let Some(id) = last {
        request.push_str(&format!("Last-Event-ID: {id}\r\n"));
    }
    request.push_str("\r\n");
    conn.write_all(request.as_bytes())?;
    let mut reader = BufReader::new(conn);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    if !status.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(format!("answer {}", status.trim())));
    }
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("no end of headers"));
        }
        if line.trim().is_empty() {
            break;
        }
        let line = line.to_ascii_lowercase();
        if line.starts_with("transfer-encoding:") && line.contains("chunked") {
            chunked = true;
        }
    }
    let number = {
        let mut l = log.lock().unwrap();
        l.conn += 1;
        l.conn
    };
    let mut parser = SseParser::default();
    let mut seen = None;
    let mut on_bytes = |bytes: &[u8]| {
        for id in parser.feed(bytes) {
            seen = Some(id);
            log.lock().unwrap().events.push(Got {
                id,
                at: Instant::now(),
                conn: number,
            });
        }
    };
    // The stream ends with Caddy's last chunk, the connection's close, or
    // an error: all the same to a client.
    let _ = read_body(&mut reader, chunked, &mut on_bytes);
    log.lock().unwrap().ended.push((number, Instant::now()));
    *current.lock().unwrap() = None;
    Ok(seen)
}

/// Just enough of an SSE parser: the ids of complete events.
#[derive(Default)]
struct SseParser {
    pending: Vec<u8>,
    id: Option<u64>,
}

impl SseParser {
    fn feed(&mut self, bytes: &[u8]) -> Vec<u64> {
        self.pending.extend_from_slice(bytes);
        let mut done = Vec::new();
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if let Some(id) = self.id.take() {
                    done.push(id);
                }
            } else if let Some(id) = line.strip_prefix("id:") {
                self.id = id.trim().parse().ok();
            }
        }
        done
    }
}

/// What one load did to the stream.
struct LoadEffect {
    /// The longest time between two events from just before the load to
    /// a second after it (across a reconnect, if the stream was closed).
    pause: Duration,
    /// The latest event in that window, for its slot.
    late: Duration,
    closed: bool,
    load: Duration,
}

/// Caddy's memory once a config is in (KiB).
struct Memory {
    boot: u64,
    just_after: u64,
    /// After SETTLE idle.
    settled: u64,
    peak: u64,
    go: GoMemory,
}

fn memory(caddy: &Caddy, socket: &Path, boot: u64) -> Memory {
    let just_after = caddy.status_kib("VmRSS");
    std::thread::sleep(SETTLE);
    let settled = caddy.status_kib("VmRSS");
    let peak = caddy.status_kib("VmHWM");
    // After the RSS: the profile costs Caddy memory of its own.
    let go = go_memory(socket);
    Memory {
        boot,
        just_after,
        settled,
        peak,
        go,
    }
}

/// Part 3's figures.
struct StreamReport {
    effects: Vec<LoadEffect>,
    lost: u64,
    repeated: u64,
    connections: u32,
    failed: u32,
    /// How late events come when no load is near.
    steady_late: Stats,
    /// Old servers waiting in `Shutdown` while the stream was open, and
    /// once the client had left.
    draining_open: usize,
    draining_after: usize,
    /// Events on the same connection in the second after a load that
    /// removed the stream's domain, and whether that load closed it.
    after_removal: usize,
    removal_closed: bool,
}

/// Part 3: an event stream through Caddy (plain HTTP route to a loopback
/// SSE backend) across loads of `domains` plus one more domain each.
fn stream_across_loads(
    domains: &[Domain],
    http_port: u16,
    socket: &Path,
    render: Render,
    hearth_load: HearthLoad,
) -> StreamReport {
    let t0 = Instant::now();
    let backend = start_backend(t0);
    let mut loaded = domains.to_vec();
    loaded.push(domain(EVENTS_HOST, TlsMode::Off, backend, false));
    hearth_load(&render(&loaded));
    let mut client = Client::start(http_port);
    let deadline = Instant::now() + WAIT;
    while client.snapshot().1.len() < 10 {
        assert!(Instant::now() < deadline, "no events came through Caddy");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut effects = Vec::with_capacity(STREAM_LOADS);
    for k in 1..=STREAM_LOADS {
        loaded.push(domain(
            &format!("x{k:02}.bench.test"),
            TlsMode::Internal,
            20000,
            false,
        ));
        let next = render(&loaded);
        // A steady stream first.
        std::thread::sleep(Duration::from_secs(1));
        let (conn, ..) = client.snapshot();
        let start = Instant::now();
        let (load, _) = hearth_load(&next);
        // A second after the load, or, if the stream was closed, until
        // three events came on the next connection.
        let deadline = start + Duration::from_secs(10);
        let events = loop {
            std::thread::sleep(Duration::from_millis(10));
            let (now_conn, events, ..) = client.snapshot();
            let closed = now_conn > conn || client.ended(conn);
            if closed && events.iter().filter(|g| g.conn > conn).count() >= 3 {
                break events;
            }
            if !closed && start.elapsed() >= load + Duration::from_secs(1) {
                break events;
            }
            assert!(
                Instant::now() < deadline,
                "the stream did not come back within 10 s of load {k}"
            );
        };
        let from = start - Duration::from_millis(200);
        let first = events
            .iter()
            .position(|g| g.at >= from)
            .expect("events around the load");
        let window = &events[first.saturating_sub(1)..];
        let pause = window
            .windows(2)
            .map(|p| p[1].at - p[0].at)
            .max()
            .unwrap_or_default();
        let late = window[1..]
            .iter()
            .map(|g| g.at.saturating_duration_since(due(t0, g.id)))
            .max()
            .unwrap_or_default();
        effects.push(LoadEffect {
            pause,
            late,
            closed: client.snapshot().0 > conn || client.ended(conn),
            load,
        });
    }

    std::thread::sleep(Duration::from_secs(1));
    let draining_open = go_memory(socket).draining_servers;
    // The stream's own domain removed.
    let (conn, ..) = client.snapshot();
    loaded.retain(|d| d.name.as_str() != EVENTS_HOST);
    hearth_load(&render(&loaded));
    let removed = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    let (_, events, ..) = client.snapshot();
    let after_removal = events
        .iter()
        .filter(|g| g.conn == conn && g.at > removed)
        .count();
    let removal_closed = client.ended(conn);
    client.stop();
    std::thread::sleep(Duration::from_millis(500));
    let draining_after = go_memory(socket).draining_servers;

    let (connections, events, _, failed) = client.snapshot();
    let (mut lost, mut repeated) = (0, 0);
    for pair in events.windows(2) {
        let (a, b) = (pair[0].id, pair[1].id);
        if b <= a {
            repeated += 1;
        } else {
            lost += b - a - 1;
        }
    }
    // The first connection's first two seconds: no load near.
    let steady = events
        .iter()
        .filter(|g| g.conn == 1)
        .take(40)
        .map(|g| g.at.saturating_duration_since(due(t0, g.id)))
        .collect();
    StreamReport {
        effects,
        lost,
        repeated,
        connections,
        failed,
        steady_late: stats(steady),
        draining_open,
        draining_after,
        after_removal,
        removal_closed,
    }
}

type Render<'a> = &'a dyn Fn(&[Domain]) -> Value;
type HearthLoad<'a> = &'a dyn Fn(&Value) -> (Duration, Duration);

/// The load average of the last 1, 5 and 15 minutes.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Part 1's figures.
struct Loads {
    render: Stats,
    load: Stats,
    read: Stats,
    both: Stats,
    bare: Stats,
    spawn: Stats,
    applied: usize,
    unchanged: usize,
    first_load: Duration,
    issuance: Duration,
    internal: usize,
    config_kib: f64,
    /// The config of all the domains, loaded again in part 2.
    config: Value,
}

/// Part 2's figures.
struct Memories {
    changes_took: Duration,
    change: Stats,
    after_changes: Memory,
    after_once: Memory,
    once_load: Duration,
    after_pinned: Memory,
    released: Memory,
}

/// Part 1: render and load the domains, hearth's way and with bare curl,
/// alternated; Caddy (started here) is handed back for part 3.
fn render_and_load(
    lab: &Lab,
    all: &[Domain],
    render: Render,
    hearth_load: HearthLoad,
) -> (Loads, Caddy) {
    let internal: Vec<&str> = all
        .iter()
        .filter(|d| d.tls == TlsMode::Internal)
        .map(|d| d.name.as_str())
        .collect();
    let mut renders = Vec::with_capacity(RUNS);
    let mut config_a = Value::Null;
    for _ in 0..RUNS {
        let t = Instant::now();
        config_a = std::hint::black_box(render(std::hint::black_box(all)));
        renders.push(t.elapsed());
    }
    let mut changed = all.to_vec();
    changed[DOMAINS - 1].target = Target::Address {
        address: LOOPBACK,
        port: 19999,
    };
    let config_b = render(&changed);
    let bytes_a = serde_json::to_vec(&config_a).unwrap();
    let file_b = lab.path("b.json");
    std::fs::write(&file_b, serde_json::to_vec(&config_b).unwrap()).unwrap();

    let caddy = Caddy::start(lab, "a");
    let (first_load, _) = hearth_load(&config_a);
    let t = Instant::now();
    wait_for_certs(&lab.storage(), &internal, &caddy);
    let issuance = t.elapsed() + first_load;
    // Warm-up, not counted; Caddy runs `b` after it.
    curl_load(lab, &file_b);
    hearth_load(&config_a);
    curl_load(lab, &file_b);
    let (applied_before, unchanged_before) = (
        caddy.logged("load complete"),
        caddy.logged("config is unchanged"),
    );
    let mut loads = Vec::with_capacity(RUNS);
    let mut reads = Vec::with_capacity(RUNS);
    let mut bares = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        // hearth loads `a` after curl's `b`, curl `b` after hearth's `a`.
        let (load, read) = hearth_load(&config_a);
        loads.push(load);
        reads.push(read);
        let t = Instant::now();
        curl_load(lab, &file_b);
        bares.push(t.elapsed());
    }
    // Caddy logs "load complete" after a no-op too.
    let unchanged = caddy.logged("config is unchanged") - unchanged_before;
    let applied = caddy.logged("load complete") - applied_before - unchanged;
    let mut spawns = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let ok = Command::new(&lab.curl)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        spawns.push(t.elapsed());
        assert!(ok, "curl --version failed");
    }
    let both: Vec<Duration> = loads.iter().zip(&reads).map(|(l, r)| *l + *r).collect();
    let (render_s, load_s, read_s, both_s, bare_s, spawn_s) = (
        stats(renders),
        stats(loads),
        stats(reads),
        stats(both),
        stats(bares),
        stats(spawns),
    );

    let loads = Loads {
        render: render_s,
        load: load_s,
        read: read_s,
        both: both_s,
        bare: bare_s,
        spawn: spawn_s,
        applied,
        unchanged,
        first_load,
        issuance,
        internal: internal.len(),
        config_kib: bytes_a.len() as f64 / 1024.0,
        config: config_a,
    };
    (loads, caddy)
}

/// Part 2: Caddy's memory after [`CHANGES`] loads, with and without a
/// proxied stream held open across each, against one load.
fn memory_after_changes(
    lab: &Lab,
    all: &[Domain],
    http_port: u16,
    config_a: &Value,
    render: Render,
    hearth_load: HearthLoad,
) -> Memories {
    let changes = Caddy::start(lab, "changes");
    let boot_rss = changes.status_kib("VmRSS");
    let mut change_loads = Vec::with_capacity(CHANGES);
    let started = Instant::now();
    for k in 1..=CHANGES {
        let (load, _) = hearth_load(&render(&all[..DOMAINS - CHANGES + k]));
        change_loads.push(load);
    }
    let changes_took = started.elapsed();
    let after_changes = memory(&changes, &lab.socket(), boot_rss);
    let change_s = stats(change_loads);
    drop(changes);

    // The same changes with a proxied stream opened before each and
    // left open: each replaced server waits for its stream.
    let pinned = Caddy::start(lab, "pinned");
    let boot_rss = pinned.status_kib("VmRSS");
    let backend = start_backend(Instant::now());
    let mut clients = Vec::with_capacity(CHANGES);
    for k in 1..=CHANGES {
        let mut domains = all[..DOMAINS - CHANGES + k].to_vec();
        domains.push(domain(EVENTS_HOST, TlsMode::Off, backend, false));
        hearth_load(&render(&domains));
        if k < CHANGES {
            let client = Client::start(http_port);
            let deadline = Instant::now() + WAIT;
            while client.snapshot().1.is_empty() {
                assert!(Instant::now() < deadline, "no event through Caddy");
                std::thread::sleep(Duration::from_millis(5));
            }
            clients.push(client);
        }
    }
    let after_pinned = memory(&pinned, &lab.socket(), boot_rss);
    drop(clients);
    std::thread::sleep(Duration::from_secs(1));
    let released = memory(&pinned, &lab.socket(), boot_rss);
    drop(pinned);

    let once = Caddy::start(lab, "once");
    let boot_rss = once.status_kib("VmRSS");
    let (once_load, _) = hearth_load(config_a);
    let after_once = memory(&once, &lab.socket(), boot_rss);
    drop(once);

    Memories {
        changes_took,
        change: change_s,
        after_changes,
        after_once,
        once_load,
        after_pinned,
        released,
    }
}

/// Prints the three parts' tables, as the README quotes them.
fn print_report(caddy: &str, load_at_start: &str, l: &Loads, m: &Memories, stream: &StreamReport) {
    println!(
        "{caddy}; load average {load_at_start} at the start, {} at the end",
        loadavg()
    );
    println!();
    print_loads(l);
    print_memory(m);
    print_stream(stream);
}

/// Part 1's table.
fn print_loads(l: &Loads) {
    println!(
        "### 1. Render and load: {} domains ({} internal TLS, {} plain HTTP; config {:.0} KiB of JSON)",
        thousands(DOMAINS),
        l.internal,
        DOMAINS - l.internal,
        l.config_kib
    );
    println!();
    println!(
        "{RUNS} runs each, alternated (hearth, curl, hearth, ...), each load a real change ({} of {} loads applied, {} taken as unchanged); p95 is the 19th of 20. A load is timed to Caddy's answer: the certificates are issued in the background after it.",
        l.applied,
        2 * RUNS,
        l.unchanged
    );
    println!();
    println!("| {} domains | min | median | p95 |", thousands(DOMAINS));
    println!("|---|---|---|---|");
    let row = stats::print_row;
    println!(
        "| render (`render::config`) | {:.0} µs | {:.0} µs | {:.0} µs |",
        l.render.min.as_secs_f64() * 1e6,
        l.render.median.as_secs_f64() * 1e6,
        l.render.p95.as_secs_f64() * 1e6
    );
    row("hearth load (`CaddySocket::load`)", &l.load);
    row("hearth read-back (`config()` + compare)", &l.read);
    row("hearth load + read-back", &l.both);
    row("bare `curl --unix-socket ... POST /load`", &l.bare);
    println!();
    println!(
        "ratio hearth load / bare curl (medians): {:.2}; starting curl alone (`curl --version`): median {}",
        l.load.median.as_secs_f64() / l.bare.median.as_secs_f64(),
        ms(l.spawn.median)
    );
    println!(
        "first load into a just-started Caddy: {}; all {} internal certificates on disk {:.1} s after that load began",
        ms(l.first_load),
        l.internal,
        l.issuance.as_secs_f64()
    );
    println!();
}

/// Part 2's table.
fn print_memory(m: &Memories) {
    println!(
        "### 2. Caddy's memory: {CHANGES} changes against one load of the same final config ({} domains)",
        thousands(DOMAINS)
    );
    println!();
    println!(
        "each change a load of one domain more ({} → {}) and the read-back, back to back ({:.1} s in all; load median {}, p95 {}); certificates already in storage; memory read at once and after {} s idle",
        DOMAINS - CHANGES + 1,
        thousands(DOMAINS),
        m.changes_took.as_secs_f64(),
        ms(m.change.median),
        ms(m.change.p95),
        SETTLE.as_secs()
    );
    println!();
    println!(
        "| Caddy | VmRSS at boot | VmRSS just after | VmRSS after {} s | VmHWM (peak) | Go heap in use | Go heap free, not returned | Go live heap (after a forced GC) | goroutines | replaced servers draining |",
        SETTLE.as_secs()
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let row = |what: &str, m: &Memory| {
        println!(
            "| {what} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            mib(m.boot),
            mib(m.just_after),
            mib(m.settled),
            mib(m.peak),
            mib(m.go.heap_in_use),
            mib(m.go.heap_idle_kept),
            mib(m.go.heap_live),
            m.go.goroutines,
            m.go.draining_servers
        );
    };
    row(
        &format!("after {CHANGES} sequential changes"),
        &m.after_changes,
    );
    row(
        &format!("fresh, the final config loaded once ({})", ms(m.once_load)),
        &m.after_once,
    );
    row(
        &format!(
            "after the {CHANGES} changes with a proxied stream opened before each change and left open (+1 domain, the stream's)"
        ),
        &m.after_pinned,
    );
    row("the same Caddy once those streams closed", &m.released);
    println!();
    println!(
        "ratio after {CHANGES} changes / loaded once (VmRSS after {} s): {:.2}",
        SETTLE.as_secs(),
        m.after_changes.settled as f64 / m.after_once.settled as f64
    );
    println!();
}

/// Part 3's table.
fn print_stream(stream: &StreamReport) {
    println!(
        "### 3. A proxied event stream across a load ({STREAM_LOADS} loads, events every {} ms)",
        TICK.as_millis()
    );
    println!();
    println!(
        "a loopback SSE backend behind a plain-HTTP route, read through Caddy by a client that reconnects at once with Last-Event-ID when the stream ends; each load the same config plus one unrelated domain; the window: 200 ms before the load to 1 s after it"
    );
    println!();
    let r = stream;
    let closed = r.effects.iter().filter(|e| e.closed).count();
    println!("| {STREAM_LOADS} loads during one stream | min | median | max |");
    println!("|---|---|---|---|");
    let row = |what: &str, s: Stats| {
        println!(
            "| {what} | {} | {} | {} |",
            ms(s.min),
            ms(s.median),
            ms(s.max)
        );
    };
    row(
        "longest pause between two events in the window",
        stats(r.effects.iter().map(|e| e.pause).collect()),
    );
    row(
        "latest event in the window, for its slot",
        stats(r.effects.iter().map(|e| e.late).collect()),
    );
    row(
        "the load call (1,001 to 1,010 domains)",
        stats(r.effects.iter().map(|e| e.load).collect()),
    );
    println!();
    println!(
        "streams closed by the loads: {closed} of {STREAM_LOADS} (connections in all: {}, failed attempts: {}); ids lost: {}; ids repeated: {}; with no load near, events late by median {} (max {})",
        r.connections,
        r.failed,
        r.lost,
        r.repeated,
        ms(r.steady_late.median),
        ms(r.steady_late.max)
    );
    println!(
        "replaced servers still waiting in http.Server.Shutdown for open connections: {} while the stream was open, {} once the client had left",
        r.draining_open, r.draining_after
    );
    println!(
        "a load that removed the stream's own domain: stream {}; {} events came on it in the second after",
        if r.removal_closed {
            "closed"
        } else {
            "kept open"
        },
        r.after_removal
    );
}

fn main() {
    let (caddy_bin, curl_bin) = (find("caddy"), find("curl"));
    if caddy_bin.is_none() {
        eprintln!("the caddy program is missing: install caddy (apt-get install caddy)");
    }
    if curl_bin.is_none() {
        eprintln!("the curl program is missing: install curl (apt-get install curl)");
    }
    let (Some(caddy_bin), Some(curl_bin)) = (caddy_bin, curl_bin) else {
        std::process::exit(1);
    };
    let version = Command::new(&caddy_bin)
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let load_at_start = loadavg();

    let lab = Lab {
        dir: tempfile::Builder::new()
            .prefix("hearth-bench-proxy-")
            .tempdir_in("/tmp")
            .expect("a temp dir in /tmp"),
        caddy: caddy_bin,
        curl: curl_bin,
    };
    let settings = CaddySettings {
        admin_socket: lab.socket(),
        storage: Some(lab.storage()),
        bind: Some(LOOPBACK),
        http_port: free_port(),
        https_port: free_port(),
        // Asked only for on-demand (wildcard) names: there are none.
        ask_url: format!("http://127.0.0.1:{}/ask", free_port()),
        acme_ca: None,
        acme_roots: None,
        // No domain targets hearth itself.
        hearth: HearthUpstream {
            dial: (LOOPBACK, 8443).into(),
            certificate: String::new(),
            server_name: "box.bench.test".into(),
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let admin = CaddySocket::new(lab.socket());
    let render = |domains: &[Domain]| {
        config(RenderInput {
            domains,
            servers: &[],
            email: None,
            settings: &settings,
        })
    };
    // hearth's way: load, then read back and compare.
    let hearth_load = |config: &Value| -> (Duration, Duration) {
        runtime.block_on(async {
            let t = Instant::now();
            admin.load(config).await.expect("hearth's load");
            let load = t.elapsed();
            let t = Instant::now();
            let running = admin.config().await.expect("hearth's read-back");
            let read_back = t.elapsed();
            assert!(running == *config, "Caddy runs another config than loaded");
            (load, read_back)
        })
    };

    let all = domains();
    let (loads, caddy) = render_and_load(&lab, &all, &render, &hearth_load);
    // Part 3 on the same Caddy, before it is stopped for part 2.
    let stream = stream_across_loads(
        &all,
        settings.http_port,
        &lab.socket(),
        &render,
        &hearth_load,
    );
    drop(caddy);
    let memories = memory_after_changes(
        &lab,
        &all,
        settings.http_port,
        &loads.config,
        &render,
        &hearth_load,
    );
    print_report(&version, &load_at_start, &loads, &memories, &stream);
}
