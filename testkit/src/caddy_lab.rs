//! A real Caddy (Debian's 2.6.2) of the test's own, driven the way hearth
//! drives it: through the admin API on a unix socket, with certificates
//! and the local CA in a temp dir instead of /var/lib/caddy, and no
//! autosave, so a test neither reads nor leaves state on the machine.
//! Plus the loopback pieces such tests need around it: an HTTP backend
//! that shows what Caddy forwarded, free ports, and curl pinned to
//! 127.0.0.1 with a given CA. [`CaddyLab::start_in`] and
//! [`Backend::start_in`] put them in a network namespace instead (e.g. to
//! take ports 80 and 443 and resolve names through its hosts file).
//!
//! What Caddy 2.6.2 does that this module relies on (verified against the
//! binary; see the spike notes):
//! - over a unix socket the admin endpoint only accepts an EMPTY `Host`
//!   (`Host: localhost` gets `403 host not allowed: localhost`, no Host at
//!   all gets Go's `400 missing required Host header`);
//! - `GET /config/` answers chunked, with an `Etag` trailer;
//! - a loaded config replaces `admin` and `storage` too: a config without
//!   them moves the admin API to TCP 127.0.0.1:2019 and turns autosave
//!   back on, so [`CaddyLab::config`] always repeats the boot blocks;
//! - the internal CA must be told `install_trust: false`, or Caddy (as
//!   root) installs its root into the system trust store: every config
//!   made by [`CaddyLab::config`] carries that.
//!
//! Nothing is skipped: a missing `caddy` or `curl` panics, saying which
//! package to install.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long Caddy gets to answer on its socket, to issue a certificate, ...
pub const WAIT: Duration = Duration::from_secs(15);

/// The response header in which [`Backend`] echoes the `X-Forwarded-For`
/// it received (all of its values joined with ", "; empty when none).
pub const ECHO_XFF: &str = "x-backend-saw-xff";

/// A running `caddy run` with its own admin socket and storage.
pub struct CaddyLab {
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// The network namespace Caddy runs in (`ip netns exec`), if not the
    /// test's own.
    netns: Option<String>,
    /// How many times Caddy was started, to name the log files.
    starts: u32,
}

impl CaddyLab {
    /// Starts Caddy with the boot config (admin API on a unix socket in a
    /// temp dir, storage in that dir, autosave off, no apps) and waits
    /// until the socket answers.
    pub fn start() -> CaddyLab {
        CaddyLab::start_in(None)
    }

    /// [`Self::start`], inside network namespace `netns` when given
    /// (through `ip netns exec`, so that Caddy also sees the namespace's
    /// `/etc/netns/NAME/hosts` as `/etc/hosts`). The admin socket is a
    /// file, reachable from every namespace.
    pub fn start_in(netns: Option<&str>) -> CaddyLab {
        caddy_bin();
        let dir = tempfile::Builder::new()
            .prefix("caddylab")
            .tempdir_in("/tmp")
            .unwrap();
        let mut lab = CaddyLab {
            dir,
            child: None,
            netns: netns.map(str::to_string),
            starts: 0,
        };
        std::fs::write(
            lab.dir.path().join("boot.json"),
            serde_json::to_vec_pretty(&lab.boot_config()).unwrap(),
        )
        .unwrap();
        lab.spawn();
        lab
    }

    /// The admin API's socket; it keeps its path across [`Self::restart`].
    pub fn socket_path(&self) -> PathBuf {
        // Short: a unix socket path has at most 107 bytes.
        self.dir.path().join("admin.sock")
    }

    /// Caddy's storage (certificates, the local CA, ACME accounts).
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The temp dir everything of this lab lives in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The config Caddy booted with (the same on every restart).
    pub fn boot_config(&self) -> Value {
        json!({
            "admin": {
                "listen": format!("unix/{}", self.socket_path().display()),
                "config": {"persist": false}
            },
            "storage": {"module": "file_system", "root": self.storage_dir()}
        })
    }

    /// A full config to load: the boot `admin` and `storage` blocks (a load
    /// replaces them too) plus `apps`, with the local CA told not to touch
    /// the system trust store unless `apps` says otherwise.
    pub fn config(&self, apps: Value) -> Value {
        let mut config = self.boot_config();
        let mut apps = apps;
        let pki = apps
            .as_object_mut()
            .expect("apps is a JSON object")
            .entry("pki")
            .or_insert_with(|| json!({}));
        let local = pki
            .as_object_mut()
            .unwrap()
            .entry("certificate_authorities")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .unwrap()
            .entry("local")
            .or_insert_with(|| json!({}));
        local
            .as_object_mut()
            .unwrap()
            .entry("install_trust")
            .or_insert(json!(false));
        config["apps"] = apps;
        config
    }

    /// Loads `{admin, storage, apps}` ([`Self::config`]) and asserts
    /// Caddy took it.
    pub fn load(&self, apps: Value) {
        let config = self.config(apps);
        let (status, body) = self.admin_post("/load", &config.to_string());
        assert_eq!(status, 200, "POST /load: {body}\n{}", self.log());
    }

    /// Kills Caddy with SIGKILL, as a crash would (the socket file stays).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills Caddy if it runs and starts it again with the same boot
    /// config, socket path and storage; waits until the socket answers.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Whether the `caddy` process is still alive.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => child.try_wait().unwrap().is_none(),
            None => false,
        }
    }

    /// The local CA's root certificate (PEM), waiting for Caddy to create
    /// it: that happens when a config using the internal issuer loads.
    pub fn local_root_pem(&self) -> PathBuf {
        self.wait_for_file(&self.storage_dir().join("pki/authorities/local/root.crt"))
    }

    /// The certificate the internal issuer made for `name`, waiting for
    /// it: issuance runs after `load` has answered.
    pub fn wait_for_local_cert(&self, name: &str) -> PathBuf {
        self.wait_for_file(
            &self
                .storage_dir()
                .join(format!("certificates/local/{name}/{name}.crt")),
        )
    }

    /// Waits until `path` exists; panics with Caddy's log after [`WAIT`].
    pub fn wait_for_file(&self, path: &Path) -> PathBuf {
        crate::eventually_blocking_every(
            WAIT,
            Duration::from_millis(50),
            &format!("{} to appear", path.display()),
            || {
                if path.exists() {
                    Ok(())
                } else {
                    Err(format!("Caddy's log:\n{}", self.log()))
                }
            },
        );
        path.to_path_buf()
    }

    /// `GET path` on the admin API: (status, body). Panics when the socket
    /// does not answer.
    pub fn admin_get(&self, path: &str) -> (u16, String) {
        admin_request(&self.socket_path(), "GET", path, None)
            .unwrap_or_else(|e| panic!("GET {path} on the admin socket: {e}\n{}", self.log()))
    }

    /// `POST path` with a JSON body on the admin API: (status, body).
    pub fn admin_post(&self, path: &str, json: &str) -> (u16, String) {
        admin_request(&self.socket_path(), "POST", path, Some(json))
            .unwrap_or_else(|e| panic!("POST {path} on the admin socket: {e}\n{}", self.log()))
    }

    /// The running config, parsed (`GET /config/`).
    pub fn running_config(&self) -> Value {
        let (status, body) = self.admin_get("/config/");
        assert_eq!(status, 200, "GET /config/: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Everything Caddy logged (stdout and stderr), across restarts.
    pub fn log(&self) -> String {
        let mut all = String::new();
        for n in 1..=self.starts {
            let path = self.dir.path().join(format!("caddy.{n}.log"));
            all.push_str(&format!("--- {} ---\n", path.display()));
            all.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
        all
    }

    fn spawn(&mut self) {
        self.starts += 1;
        let log = std::fs::File::create(self.dir.path().join(format!("caddy.{}.log", self.starts)))
            .unwrap();
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new(find_tool("ip").unwrap_or_else(|| {
                    panic!("ip is missing: install iproute2 (apt-get install iproute2)")
                }));
                c.args(["netns", "exec", ns]).arg(caddy_bin());
                c
            }
            None => Command::new(caddy_bin()),
        };
        // `ip netns exec` execs Caddy in its own place: the child's pid is
        // Caddy's, which `kill` ends.
        let child = cmd
            .args(["run", "--config"])
            .arg(self.dir.path().join("boot.json"))
            // Where an autosave would go, and Caddy's default storage: the
            // temp dir, never ~root.
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg-config"))
            .env("XDG_DATA_HOME", self.dir.path().join("xdg-data"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok((200, _)) = admin_request(&self.socket_path(), "GET", "/config/", None) {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("caddy exited at start ({status})\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "caddy's admin socket did not answer within {WAIT:?}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for CaddyLab {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The caddy binary; panics telling how to get it.
pub fn caddy_bin() -> PathBuf {
    find_tool("caddy")
        .unwrap_or_else(|| panic!("caddy is missing: install caddy (apt-get install caddy)"))
}

fn find_tool(tool: &str) -> Option<PathBuf> {
    ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(tool))
        .find(|p| p.exists())
}

/// One HTTP/1.1 request on Caddy's admin socket with an empty `Host` (the
/// only one 2.6.2 accepts there) and `Connection: close`; answers (status,
/// body), a chunked body decoded.
pub fn admin_request(
    socket: &Path,
    method: &str,
    path: &str,
    json: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(WAIT))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: \r\nConnection: close\r\n");
    if let Some(body) = json {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(json.unwrap_or(""));
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
}

/// Splits a raw HTTP/1.1 response into (status, body).
fn parse_response(raw: &[u8]) -> std::io::Result<(u16, String)> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let mut body = &raw[end + 4..];
    if !chunked {
        return Ok((status, String::from_utf8_lossy(body).into_owned()));
    }
    let mut out = Vec::new();
    loop {
        let eol = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| bad("truncated chunk"))?;
        let size_field = String::from_utf8_lossy(&body[..eol]);
        let size = usize::from_str_radix(size_field.split(';').next().unwrap().trim(), 16)
            .map_err(|_| bad("bad chunk size"))?;
        body = &body[eol + 2..];
        if size == 0 {
            // What follows are trailers (Caddy sends its Etag there).
            break;
        }
        if body.len() < size + 2 {
            return Err(bad("truncated chunk"));
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
    Ok((status, String::from_utf8_lossy(&out).into_owned()))
}

/// What curl got: status 0 when there was no HTTP answer at all (refused
/// handshake, connection refused, ...), curl's message being in `stderr`.
#[derive(Debug)]
pub struct CurlResponse {
    pub status: u16,
    /// Header names lowercased, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub stderr: String,
}

impl CurlResponse {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `curl` to `name:port` resolved to 127.0.0.1: over HTTPS verified
/// against `cacert` when given, plain HTTP otherwise; (status, body),
/// status 0 when no HTTP answer came (see [`CurlResponse`]).
pub fn curl_resolve(name: &str, port: u16, cacert: Option<&Path>, path: &str) -> (u16, String) {
    let r = curl_resolve_with(name, port, cacert, path, &[]);
    if r.status == 0 {
        (0, r.stderr)
    } else {
        (r.status, r.body)
    }
}

/// [`curl_resolve`] with extra curl arguments (`-H`, ...) and the headers.
pub fn curl_resolve_with(
    name: &str,
    port: u16,
    cacert: Option<&Path>,
    path: &str,
    extra: &[&str],
) -> CurlResponse {
    let curl = find_tool("curl")
        .unwrap_or_else(|| panic!("curl is missing: install curl (apt-get install curl)"));
    let scheme = if cacert.is_some() { "https" } else { "http" };
    let mut cmd = Command::new(curl);
    cmd.args(["-sS", "--max-time", "10", "-D", "-", "--resolve"])
        .arg(format!("{name}:{port}:127.0.0.1"));
    if let Some(ca) = cacert {
        cmd.arg("--cacert").arg(ca);
    }
    let out = cmd
        .args(extra)
        .arg(format!("{scheme}://{name}:{port}{path}"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // `-D -` puts the header block(s) before the body; the last block is
    // the final answer (after any 1xx).
    let mut rest = stdout.as_str();
    let mut status = 0;
    let mut headers = Vec::new();
    while rest.starts_with("HTTP/") {
        let Some(end) = rest.find("\r\n\r\n") else {
            break;
        };
        let mut lines = rest[..end].split("\r\n");
        status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        rest = &rest[end + 4..];
    }
    CurlResponse {
        status,
        headers,
        body: rest.to_string(),
        stderr,
    }
}

/// One request a [`Backend`] received.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub method: String,
    pub path: String,
    /// Header names lowercased, in order, repeated headers repeated.
    pub headers: Vec<(String, String)>,
}

/// A plain HTTP server on 127.0.0.1 (a thread per connection) answering
/// every request `200` with a fixed text, echoing the `X-Forwarded-For` it
/// received in [`ECHO_XFF`], and keeping what it saw: the upstream a proxy
/// under test forwards to.
pub struct Backend {
    addr: SocketAddr,
    /// The namespace it listens in, if not the test's own: held open, so
    /// that it can be entered to stop the server even after `ip netns
    /// del`.
    netns: Option<std::fs::File>,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
    thread: Option<JoinHandle<()>>,
}

impl Backend {
    pub fn start(text: &str) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let text = text.to_string();
        let thread = {
            let (stop, seen) = (stop.clone(), seen.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (seen, text) = (seen.clone(), text.clone());
                    std::thread::spawn(move || serve(conn, &text, &seen));
                }
            })
        };
        Backend {
            addr,
            netns: None,
            stop,
            seen,
            thread: Some(thread),
        }
    }

    /// [`Self::start`] listening on 127.0.0.1 inside network namespace
    /// `netns` (by name, as `ip netns` knows it): the upstream of a Caddy
    /// that runs there.
    pub fn start_in(netns: &str, text: &str) -> Backend {
        let path = format!("/var/run/netns/{netns}");
        let text = text.to_string();
        let mut backend = {
            let path = path.clone();
            std::thread::spawn(move || {
                // The listener is made in the namespace and stays its own.
                super::netns::enter(&path);
                Backend::start(&text)
            })
            .join()
            .unwrap()
        };
        backend.netns =
            Some(std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}")));
        backend
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT`, as a reverse_proxy upstream's `dial`.
    pub fn dial(&self) -> String {
        self.addr.to_string()
    }

    /// The requests received so far.
    pub fn seen(&self) -> Vec<SeenRequest> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees `stop`: from the namespace it
        // listens in.
        let addr = self.addr;
        match &self.netns {
            Some(file) => {
                use std::os::fd::AsRawFd;
                let path = format!("/proc/self/fd/{}", file.as_raw_fd());
                let _ = std::thread::spawn(move || {
                    super::netns::enter(&path);
                    let _ = TcpStream::connect(addr);
                })
                .join();
            }
            None => {
                let _ = TcpStream::connect(addr);
            }
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers the requests on one connection (keep-alive, as Caddy's proxy
/// reuses connections) until the peer closes it.
fn serve(conn: TcpStream, text: &str, seen: &Mutex<Vec<SeenRequest>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let xff = headers
            .iter()
            .filter(|(n, _)| n == "x-forwarded-for")
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        seen.lock().unwrap().push(SeenRequest {
            method,
            path,
            headers,
        });
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{ECHO_XFF}: {xff}\r\n\r\n{text}",
            text.len()
        );
        if conn.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}
