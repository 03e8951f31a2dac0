//! The harness of hearth's integration tests and benchmarks: runs the
//! real `hearth` binary with a private state dir and a NOTIFY_SOCKET the
//! test binds, and talks to it over real TLS, verified against the
//! certificate it wrote.
//!
//! A crate of its own (`hearth-testkit`, a dev-dependency of hearth),
//! compiled once for every test and benchmark; they name it
//! `use hearth_testkit as common;`. Cargo sets `CARGO_BIN_EXE_hearth` for
//! hearth's own tests and benchmarks only, not for this crate, so the
//! binary under test is found at run time, beside the running test: see
//! [`bin`].

use std::net::SocketAddr;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub mod caddy_lab;
pub mod console_pty;
pub mod crash_writes;
pub mod docker_cli;
pub mod fake_systemd;
pub mod fw_lab;
pub mod inproc;
pub mod journal;
pub mod netns;
pub mod page_check;
pub mod page_steps;
pub mod proxy_lab;
pub mod servers_box;
pub mod servers_lab;
pub mod sse;
pub mod stats;
pub mod unit_runner;
pub mod vm;
pub mod wait;
pub mod webdriver;

pub use wait::{
    eventually, eventually_blocking, eventually_blocking_every, eventually_every, when,
};

/// The `hearth` binary under test: the one cargo built beside the running
/// test or benchmark (`target/<profile>/deps/<test>-<hash>` runs, and
/// `target/<profile>/hearth` is the binary, built by cargo for every
/// integration test and benchmark of the hearth package). Panics if it is
/// not there, e.g. when the kit is used from another package.
pub fn bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = profile_dir().join("hearth");
        assert!(
            bin.is_file(),
            "{} is missing: the kit runs the hearth binary that cargo builds \
             for hearth's own integration tests and benchmarks",
            bin.display()
        );
        bin
    })
}

/// The folder of the cargo profile the running test or benchmark was
/// built in (`target/debug`, `target/release`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the path of the running test");
    let deps = exe.parent().expect("the test binary's folder");
    assert_eq!(
        deps.file_name().and_then(|n| n.to_str()),
        Some("deps"),
        "{} does not run from a cargo profile's deps/",
        exe.display()
    );
    deps.parent().expect("the profile folder").to_path_buf()
}

/// The target folder's `tmp/` (what `CARGO_TARGET_TMPDIR` names for
/// hearth's own tests), made if missing.
pub fn target_tmpdir() -> PathBuf {
    let tmp = profile_dir()
        .parent()
        .expect("the target folder")
        .join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    tmp
}

pub const SESSION_COOKIE: &str = "__Host-hearth_session";

/// What shows the box's state (figures, their history and stream): what a
/// visitor without a session, or anyone before the setup, may not read.
pub const MONITORING_PATHS: [&str; 4] = [
    "/api/v1/status",
    "/api/v1/events",
    "/api/v1/metrics/history?series=load.1",
    "/metrics",
];

/// The admin password the harness sets up.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A running daemon and the messages it sent to systemd.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub child: Child,
    notify: UnixDatagram,
    pub messages: Vec<String>,
    pub addr: Option<SocketAddr>,
    state_dir: PathBuf,
    /// The admin's session once `start` has set the box up.
    pub session: Option<String>,
    /// The box's domain the setup gives it, if any.
    box_domain: Option<String>,
}

#[derive(Default)]
pub struct Options {
    /// Extra lines of the config file.
    pub config: String,
    pub env: Vec<(String, String)>,
    /// Reuse this state dir instead of a fresh one.
    pub state_dir: Option<PathBuf>,
    /// Start through `systemd-socket-activate` listening on this address,
    /// so the daemon gets its socket through LISTEN_FDS.
    pub socket_activate: Option<SocketAddr>,
    /// Leave the box in setup mode (by default `start` finishes the setup
    /// through the API, as an owner would).
    pub pending_setup: bool,
    /// Run inside this network namespace (`ip netns exec`).
    pub netns: Option<String>,
    /// The box's domain, set in the setup that `start` runs.
    pub box_domain: Option<String>,
    /// Run as this user with these ambient capabilities (`setpriv`,
    /// e.g. `+net_admin,+setpcap`), the test's folder given to them, as
    /// systemd runs the unit.
    pub run_as: Option<(u32, String)>,
    /// Called on the runtime folder (made, empty) before the daemon
    /// starts: to put something in the daemon's way there.
    pub prepare_runtime_dir: Option<fn(&Path)>,
    /// Another hearth binary than this build's (a benchmark's "before").
    pub binary: Option<PathBuf>,
}

impl Daemon {
    /// Starts the daemon; does not wait for READY.
    pub fn spawn(opts: Options) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = opts
            .state_dir
            .clone()
            .unwrap_or_else(|| dir.path().join("state"));
        let config_path = dir.path().join("hearth.toml");
        // A top-level `listen` (not `ask_listen` in a table).
        let has_listen = opts
            .config
            .lines()
            .any(|l| l.trim_start().starts_with("listen"));
        let mut config = format!(
            "state_dir = {:?}\nruntime_dir = {:?}\n",
            state_dir.to_str().unwrap(),
            dir.path().join("run").to_str().unwrap()
        );
        if !has_listen {
            config.push_str("listen = \"127.0.0.1:0\"\n");
        }
        config.push_str(&opts.config);
        // The daemon runs with production defaults, which drive the
        // machine's firewall and Caddy: never the test machine's own,
        // unless a test asks (in a namespace of its own).
        for table in ["firewall", "proxy", "system", "servers", "update"] {
            if !opts.config.contains(&format!("[{table}]")) {
                config.push_str(&format!("\n[{table}]\nmanage = false\n"));
            }
        }
        std::fs::write(&config_path, config).unwrap();
        if let Some(prepare) = opts.prepare_runtime_dir {
            let run = dir.path().join("run");
            std::fs::create_dir(&run).unwrap();
            prepare(&run);
        }
        let notify_path = dir.path().join("notify.sock");
        let notify = UnixDatagram::bind(&notify_path).unwrap();
        let log = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let mut cmd = match opts.socket_activate {
            Some(addr) => {
                let mut c = Command::new(require("systemd-socket-activate", "systemd"));
                c.arg(format!("--listen={addr}"))
                    .arg(format!("--setenv=NOTIFY_SOCKET={}", notify_path.display()))
                    .arg(bin());
                c
            }
            None => {
                let mut argv: Vec<String> = Vec::new();
                if let Some(ns) = &opts.netns {
                    argv.extend(["ip", "netns", "exec", ns].map(String::from));
                }
                if let Some((uid, caps)) = &opts.run_as {
                    let setpriv = require("setpriv", "util-linux");
                    chown_tree(dir.path(), *uid);
                    argv.extend([
                        setpriv.to_str().unwrap().to_string(),
                        format!("--reuid={uid}"),
                        format!("--regid={uid}"),
                        "--clear-groups".into(),
                        format!("--inh-caps={caps}"),
                        format!("--ambient-caps={caps}"),
                    ]);
                }
                argv.push(match &opts.binary {
                    Some(bin) => bin.to_str().unwrap().to_string(),
                    None => bin().to_str().unwrap().to_string(),
                });
                let mut c = Command::new(&argv[0]);
                c.args(&argv[1..]);
                c
            }
        };
        cmd.arg("serve").arg("--config").arg(&config_path);
        // The tests run as root: hearth refuses that unless told.
        if nix::unistd::geteuid().is_root() && opts.run_as.is_none() {
            cmd.arg("--allow-root");
        }
        cmd.env("NOTIFY_SOCKET", &notify_path)
            .env_remove("WATCHDOG_USEC")
            .env_remove("LISTEN_FDS")
            .env_remove("JOURNAL_STREAM")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("run the hearth binary");
        Daemon {
            dir,
            child,
            notify,
            messages: Vec::new(),
            addr: None,
            state_dir,
            session: None,
            box_domain: opts.box_domain.clone(),
        }
    }

    /// Starts the daemon, waits for READY=1 and (unless `pending_setup`)
    /// finishes the first-boot setup.
    pub fn start(opts: Options) -> Daemon {
        let pending = opts.pending_setup;
        let mut d = Daemon::spawn(opts);
        d.wait_for("READY=1", Duration::from_secs(20));
        if !pending && !d.setup_complete_already() {
            d.finish_setup();
        }
        if !pending {
            d.session = d.sign_in_admin();
        }
        d
    }

    /// Signs the harness's admin in, if the box is set up with it.
    fn sign_in_admin(&self) -> Option<String> {
        let client = self.client();
        on_own_runtime(async {
            let r = client.try_login("admin", ADMIN_PASSWORD).await;
            r.set_cookie(SESSION_COOKIE)
        })
    }

    /// A client signed in as the admin.
    pub fn admin_client(&self) -> TlsClient {
        let mut c = self.client();
        c.session = Some(self.session.clone().expect("the admin is signed in"));
        c
    }

    /// Adds a user through the API, as the harness's admin.
    pub async fn add_user(&self, name: &str, password: &str, role: &str) {
        let body = serde_json::json!({"username": name, "password": password, "role": role});
        let r = self
            .admin_client()
            .send("POST", "/api/v1/users", &body.to_string(), &[], &[])
            .await;
        assert_eq!(r.status, 201, "add {name}: {:?}", r.body);
    }

    /// Adds a user with `role` through the API and answers a client
    /// signed in as them.
    pub async fn signed_in(&self, name: &str, role: &str) -> TlsClient {
        const PASSWORD: &str = "a long enough password 1";
        self.add_user(name, PASSWORD, role).await;
        let mut c = self.client();
        c.session = Some(c.login(name, PASSWORD).await);
        c
    }

    /// A client without a session, and the token of a new admin session
    /// (a sign-in of its own, not the harness's).
    pub async fn admin_sign_in(&self) -> (TlsClient, String) {
        let c = self.client();
        let token = c.login("admin", ADMIN_PASSWORD).await;
        (c, token)
    }

    /// Turns `public_status` on or off, as the harness's admin.
    pub async fn set_public_status(&self, on: bool) {
        let body = format!("{{\"public_status\":{on}}}");
        let r = self.admin_client().patch_settings(&body).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }

    pub fn setup_code_path(&self) -> PathBuf {
        self.dir.path().join("run/setup-code")
    }

    /// The setup code as the console would show it.
    pub fn setup_code(&self) -> String {
        std::fs::read_to_string(self.setup_code_path())
            .expect("the setup code file exists in setup mode")
            .trim()
            .to_string()
    }

    fn setup_complete_already(&self) -> bool {
        !self.setup_code_path().exists()
    }

    /// Claims the box and finishes setup with admin `admin`.
    pub fn finish_setup(&self) {
        let client = self.client();
        let code = self.setup_code();
        on_own_runtime(complete_setup_with(
            &client,
            &code,
            self.box_domain.as_deref(),
        ));
    }

    pub fn state_dir(&self) -> PathBuf {
        self.state_dir.clone()
    }

    pub fn cert_path(&self) -> PathBuf {
        self.state_dir().join("tls/cert.pem")
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Waits until the daemon sent `line`; panics with the log if not.
    pub fn wait_for(&mut self, line: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut seen = self.messages.len();
        loop {
            if self.messages[seen..].iter().any(|m| m == line) {
                return;
            }
            seen = self.messages.len();
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.receive(left) {
                panic!(
                    "no {line} within {timeout:?}; got {:?}\nexit: {:?}\nstderr:\n{}",
                    self.messages,
                    self.child.try_wait(),
                    self.stderr()
                );
            }
        }
    }

    /// Receives one datagram (several lines) within `timeout`.
    pub fn receive(&mut self, timeout: Duration) -> bool {
        self.notify
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
            .unwrap();
        let mut buf = vec![0u8; 4096];
        match self.notify.recv(&mut buf) {
            Ok(n) => {
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                for line in text.lines() {
                    if let Some(rest) = line.strip_prefix("STATUS=serving https://") {
                        let addr = rest.split(';').next().unwrap();
                        self.addr = Some(addr.parse().unwrap());
                    }
                    self.messages.push(line.to_string());
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Waits (up to 30 s) until `n` more `WATCHDOG=1` pings have come;
    /// answers how many came by then.
    pub fn wait_pings(&mut self, n: usize, what: &str) -> usize {
        let mut pings = 0;
        crate::eventually_blocking(Duration::from_secs(30), what, || {
            pings += self.count_within("WATCHDOG=1", Duration::from_millis(100));
            if pings >= n {
                Ok(())
            } else {
                Err(format!("{pings} pings"))
            }
        });
        pings
    }

    /// Counts `line` among the messages received within `window`.
    pub fn count_within(&mut self, line: &str, window: Duration) -> usize {
        let deadline = Instant::now() + window;
        let before = self.messages.len();
        while Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            self.receive(left);
        }
        self.messages[before..]
            .iter()
            .filter(|m| *m == line)
            .count()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr.expect("STATUS with the address was received")
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }

    /// Waits for the process to exit within `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM and wait; the state dir stays for a restart.
    pub fn stop(&mut self) -> ExitStatus {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        self.wait_exit(Duration::from_secs(10))
            .expect("daemon exits after SIGTERM")
    }

    pub fn client(&self) -> TlsClient {
        TlsClient::trusting(&self.cert_path(), self.addr())
    }

    /// The daemon's URL of `path`, by the name `localhost`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr().port())
    }

    /// The daemon's URL of `path` by its address, as a LAN client
    /// reaches the box.
    pub fn addr_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr())
    }

    /// The daemon's TLS key (PEM), which a browser pins.
    pub fn tls_key(&self) -> String {
        std::fs::read_to_string(self.state_dir().join("tls/key.pem")).unwrap()
    }

    /// A browser that trusts this daemon's certificate (by its key).
    pub async fn browser(&self) -> webdriver::Browser {
        webdriver::Browser::start(&webdriver::spki_pin(&self.tls_key())).await
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `s` until the peer closes it (end of stream or an error), at most
/// `timeout`, appending what arrives to `buf`: whether it was closed. A
/// connection found still open after a while is a fact about order (it
/// outlived the wait), never a measured duration.
pub async fn read_until_closed<S>(s: &mut S, buf: &mut Vec<u8>, timeout: Duration) -> bool
where
    S: tokio::io::AsyncRead + Unpin,
{
    use tokio::io::AsyncReadExt;
    tokio::time::timeout(timeout, async {
        let mut chunk = [0u8; 4096];
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await
    .is_ok()
}

/// A port free on 127.0.0.1 right now (bound to :0, then released).
pub fn free_port() -> u16 {
    let [port] = free_ports();
    port
}

/// `N` distinct free loopback ports: the listeners are all held until
/// each has its port, so none is handed out twice.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<std::net::TcpListener> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port on 127.0.0.1"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().unwrap().port())
}

/// The resident set size of process `pid`, in KiB (VmRSS).
pub fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// The peak resident set size of process `pid` so far, in KiB (VmHWM).
pub fn peak_rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM:")
}

/// A `/proc/PID/status` line's value in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// The path of a tool the test needs; fails (never skips) if missing.
pub fn require(tool: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"] {
        let p = Path::new(dir).join(tool);
        if p.exists() {
            return p;
        }
    }
    panic!("{tool} is missing: install the Debian package `{package}` (make test does)");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
}

/// A TLS client that trusts exactly one certificate file.
#[derive(Clone)]
pub struct TlsClient {
    roots: Arc<rustls::RootCertStore>,
    pub addr: SocketAddr,
    pub server_name: String,
    /// A session token sent with every request that names no cookies.
    pub session: Option<String>,
    /// An API token sent as `Authorization: Bearer` by [`sse::open`].
    pub bearer: Option<String>,
}

pub struct Reply {
    pub status: u16,
    pub version: http::Version,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub async fn read(response: http::Response<hyper::body::Incoming>) -> Reply {
        let status = response.status().as_u16();
        let version = response.version();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            version,
            headers,
            body,
        }
    }

    /// The value of cookie `name` set by this reply.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    /// The text of header `name`, which must be there.
    pub fn header(&self, name: &str) -> &str {
        let value = self.headers.get(name);
        let value = value.unwrap_or_else(|| panic!("no {name} header: {:?}", self.headers));
        value.to_str().unwrap()
    }

    /// The (first) `set-cookie` header, which must hold each of
    /// `attributes`.
    pub fn cookie_with(&self, attributes: &[&str]) -> String {
        let cookie = self.header("set-cookie").to_string();
        for attr in attributes {
            assert!(cookie.contains(attr), "{attr} not in {cookie}");
        }
        cookie
    }

    /// The `error.message` of a JSON error reply, which must have one.
    pub fn error_message(&self) -> String {
        let v = self.json();
        match v["error"]["message"].as_str() {
            Some(m) => m.to_string(),
            None => panic!("no error message in {v}"),
        }
    }
}

/// Claims the box with `code` and finishes setup through the API, as an
/// owner would: admin `admin` with [`ADMIN_PASSWORD`], host `testbox`.
pub async fn complete_setup(client: &TlsClient, code: &str) {
    complete_setup_with(client, code, None).await
}

/// [`complete_setup`], giving the box `domain` if any.
pub async fn complete_setup_with(client: &TlsClient, code: &str, domain: Option<&str>) {
    let r = client.claim_setup(code).await;
    assert_eq!(r.status, 200, "claim: {:?}", r.body);
    let cookie = r.set_cookie("__Host-hearth_setup").expect("setup cookie");
    let mut steps = vec![
        (
            "/api/v1/setup/admin",
            format!("{{\"username\":\"admin\",\"password\":\"{ADMIN_PASSWORD}\"}}"),
        ),
        (
            "/api/v1/setup/host",
            "{\"hostname\":\"testbox\",\"timezone\":\"UTC\"}".to_string(),
        ),
    ];
    if let Some(domain) = domain {
        steps.push((
            "/api/v1/setup/domain",
            serde_json::json!({"domain": domain, "email": format!("owner@{domain}")}).to_string(),
        ));
    }
    steps.push(("/api/v1/setup/finish", "{}".to_string()));
    for (path, body) in steps {
        let r = client.post_json(path, &body, Some(&cookie)).await;
        assert_eq!(r.status, 200, "{path}: {:?}", r.body);
    }
}

impl TlsClient {
    pub fn trusting(cert: &Path, addr: SocketAddr) -> TlsClient {
        let certs = CertificateDer::pem_file_iter(cert)
            .unwrap()
            .map(|c| c.unwrap())
            .collect();
        TlsClient::trusting_der(certs, addr)
    }

    /// A client that trusts exactly these (DER) certificates.
    pub fn trusting_der(certs: Vec<CertificateDer<'static>>, addr: SocketAddr) -> TlsClient {
        let mut roots = rustls::RootCertStore::empty();
        for c in certs {
            roots.add(c).unwrap();
        }
        TlsClient {
            roots: Arc::new(roots),
            addr,
            server_name: "localhost".into(),
            session: None,
            bearer: None,
        }
    }

    fn config(&self, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(self.roots.clone())
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }

    /// A TLS connection, verified, offering `alpn`.
    pub async fn connect(&self, alpn: &[&[u8]]) -> std::io::Result<TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(self.addr).await?;
        self.handshake(alpn, tcp).await
    }

    async fn handshake(
        &self,
        alpn: &[&[u8]],
        tcp: TcpStream,
    ) -> std::io::Result<TlsStream<TcpStream>> {
        let name = ServerName::try_from(self.server_name.clone()).unwrap();
        TlsConnector::from(self.config(alpn))
            .connect(name, tcp)
            .await
    }

    /// The leaf certificate the server presents.
    pub async fn peer_certificate(&self) -> Vec<u8> {
        let tls = self.connect(&[b"http/1.1"]).await.unwrap();
        tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
    }

    pub async fn request(
        &self,
        protocol: Protocol,
        method: &str,
        path: &str,
        body: Option<Bytes>,
    ) -> Reply {
        let alpn: &[&[u8]] = match protocol {
            Protocol::Http1 => &[b"http/1.1"],
            Protocol::Http2 => &[b"h2"],
        };
        let tls = self.connect(alpn).await.expect("TLS connection");
        let negotiated = tls.get_ref().1.alpn_protocol().map(|p| p.to_vec());
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("https://localhost:{}{path}", self.addr.port()));
        if protocol == Protocol::Http1 {
            req = req.header("host", format!("localhost:{}", self.addr.port()));
        }
        if let Some(s) = &self.session {
            req = req.header("cookie", format!("{SESSION_COOKIE}={s}"));
        }
        let req = req.body(Full::new(body.unwrap_or_default())).unwrap();
        let io = TokioIo::new(tls);
        let response = match protocol {
            Protocol::Http1 => {
                assert_eq!(negotiated.as_deref(), Some(&b"http/1.1"[..]));
                let (mut send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
                tokio::spawn(conn);
                send.send_request(req).await.unwrap()
            }
            Protocol::Http2 => {
                assert_eq!(negotiated.as_deref(), Some(&b"h2"[..]), "ALPN h2");
                let (mut send, conn) =
                    hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                        .await
                        .unwrap();
                tokio::spawn(conn);
                send.send_request(req).await.unwrap()
            }
        };
        Reply::read(response).await
    }

    /// `PATCH /api/v1/settings` with `body` (JSON).
    pub async fn patch_settings(&self, body: &str) -> Reply {
        self.send("PATCH", "/api/v1/settings", body, &[], &[]).await
    }

    /// One HTTP/1.1 request with the given cookies and headers.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: &str,
        cookies: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let tls = self.connect(&[b"http/1.1"]).await.expect("TLS connection");
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", format!("localhost:{}", self.addr.port()));
        if !body.is_empty() {
            req = req.header("content-type", "application/json");
        }
        if !cookies.is_empty() {
            let c: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header("cookie", c.join("; "));
        } else if let Some(s) = &self.session {
            req = req.header("cookie", format!("{SESSION_COOKIE}={s}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::from(body.to_string()))).unwrap();
        let response = send.send_request(req).await.unwrap();
        Reply::read(response).await
    }

    /// One HTTP/1.1 request as this client (its session, if any), with
    /// no other cookies or headers.
    pub async fn call(&self, method: &str, path: &str, body: &str) -> Reply {
        self.send(method, path, body, &[], &[]).await
    }

    /// The status `GET /api/v1/session` gets with session `token`: 200
    /// while the session is good, 401 once it is not.
    pub async fn session_status(&self, token: &str) -> u16 {
        self.as_user(token, "GET", "/api/v1/session", "")
            .await
            .status
    }

    /// POSTs JSON, with the setup cookie if given.
    pub async fn post_json(&self, path: &str, body: &str, setup_cookie: Option<&str>) -> Reply {
        let cookies: Vec<(&str, &str)> = setup_cookie
            .map(|c| vec![("__Host-hearth_setup", c)])
            .unwrap_or_default();
        self.send("POST", path, body, &cookies, &[]).await
    }

    /// Claims the box with a setup code (`POST /api/v1/setup/claim`).
    pub async fn claim_setup(&self, code: &str) -> Reply {
        let body = format!("{{\"code\":\"{code}\"}}");
        self.post_json("/api/v1/setup/claim", &body, None).await
    }

    /// GET with the setup cookie.
    pub async fn get_with_cookie(&self, path: &str, setup_cookie: &str) -> Reply {
        self.send(
            "GET",
            path,
            "",
            &[("__Host-hearth_setup", setup_cookie)],
            &[],
        )
        .await
    }

    /// A sign-in attempt, answered as it is (see `login` for one that
    /// must succeed).
    pub async fn try_login(&self, username: &str, password: &str) -> Reply {
        let body = serde_json::json!({"username": username, "password": password});
        self.post_session(&body.to_string()).await
    }

    /// An HTTP/2 connection, for many requests or streams on one.
    pub async fn http2<B>(&self) -> hyper::client::conn::http2::SendRequest<B>
    where
        B: hyper::body::Body + Send + Unpin + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let tls = self.connect(&[b"h2"]).await.expect("TLS connection");
        let (send, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            TokioIo::new(tls),
        )
        .await
        .expect("HTTP/2 handshake");
        tokio::spawn(conn);
        send
    }

    /// `POST /api/v1/session` with this body, as it is (a second factor,
    /// a malformed body), without cookies.
    pub async fn post_session(&self, body: &str) -> Reply {
        self.send("POST", "/api/v1/session", body, &[], &[]).await
    }

    /// Signs in and returns the session token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let r = self.try_login(username, password).await;
        assert_eq!(r.status, 200, "login {username}: {:?}", r.body);
        r.set_cookie(SESSION_COOKIE).expect("session cookie")
    }

    /// A request with a session token.
    pub async fn as_user(&self, token: &str, method: &str, path: &str, body: &str) -> Reply {
        self.send(method, path, body, &[(SESSION_COOKIE, token)], &[])
            .await
    }

    /// `POST /api/v1/users` as session `token`: a new user `name` with
    /// `password` and `role`, answered as it is.
    pub async fn add_user_as(&self, token: &str, name: &str, password: &str, role: &str) -> Reply {
        let body = serde_json::json!({"username": name, "password": password, "role": role});
        self.as_user(token, "POST", "/api/v1/users", &body.to_string())
            .await
    }

    /// A new API token named `name`, made as this client (its session),
    /// which must be given one (201).
    pub async fn new_token(&self, name: &str) -> String {
        let body = serde_json::json!({ "name": name });
        let r = self.call("POST", "/api/v1/tokens", &body.to_string()).await;
        assert_eq!(r.status, 201, "token {name}: {:?}", r.body);
        r.json()["token"].as_str().unwrap().to_string()
    }

    /// A request with an API token (`Authorization: Bearer`).
    pub async fn as_token(&self, token: &str, method: &str, path: &str, body: &str) -> Reply {
        let bearer = format!("Bearer {token}");
        self.send(method, path, body, &[], &[("authorization", &bearer)])
            .await
    }

    /// Turns two-factor login on for the user of session `token`, as an
    /// authenticator app would (the current code confirms it).
    pub async fn enrol_two_factor(&self, token: &str) -> TwoFactor {
        let r = self.as_user(token, "POST", "/api/v1/totp", "").await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let secret =
            hearth::auth::totp::base32_decode(r.json()["secret"].as_str().unwrap()).unwrap();
        let body = format!(r#"{{"code":"{}"}}"#, totp_now(&secret));
        let r = self
            .as_user(token, "POST", "/api/v1/totp/confirm", &body)
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let recovery_codes = r.json()["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        TwoFactor {
            secret,
            recovery_codes,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Protocol::Http1, "GET", path, None).await
    }
}

/// The text `key` of each item of `list`, a JSON array (the names in a
/// listing, say), in order.
pub fn texts<'a>(list: &'a serde_json::Value, key: &str) -> Vec<&'a str> {
    let items = list.as_array();
    let items = items.unwrap_or_else(|| panic!("not a list: {list}"));
    items
        .iter()
        .map(|item| item[key].as_str().unwrap())
        .collect()
}

/// The records with `action` in `audit` (a page of `GET /api/v1/audit`),
/// newest first.
pub fn audit_records<'a>(audit: &'a serde_json::Value, action: &str) -> Vec<&'a serde_json::Value> {
    let records = audit["records"].as_array();
    let records = records.unwrap_or_else(|| panic!("not a page of the audit log: {audit}"));
    records.iter().filter(|r| r["action"] == action).collect()
}

/// The ids of every page of `/api/v1/audit?{query}`, following `next`
/// (as `before=`) from the newest page to the last.
pub async fn audit_pages(c: &TlsClient, session: &str, query: &str) -> Vec<Vec<u64>> {
    let mut pages = Vec::new();
    let mut path = format!("/api/v1/audit?{query}");
    loop {
        let r = c.as_user(session, "GET", &path, "").await;
        assert_eq!(r.status, 200, "{path}: {:?}", r.body);
        let page = r.json();
        pages.push(
            page["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_u64().unwrap())
                .collect(),
        );
        match page["next"].as_u64() {
            Some(before) => path = format!("/api/v1/audit?{query}&before={before}"),
            None => return pages,
        }
    }
}

/// The newest record with `action` in `audit`, which must have one.
pub fn audited(audit: &serde_json::Value, action: &str) -> serde_json::Value {
    match audit_records(audit, action).first() {
        Some(record) => (*record).clone(),
        None => panic!("no {action} record: {audit}"),
    }
}

/// The `field` (text) of each record with `action` in `audit`, newest
/// first.
pub fn audit_column(audit: &serde_json::Value, action: &str, field: &str) -> Vec<String> {
    let records = audit_records(audit, action).into_iter();
    records
        .map(|r| r[field].as_str().unwrap().to_string())
        .collect()
}

/// Runs `cmd` to its end, which must succeed (else the failure quotes
/// `what` and the command's output), and answers its output.
pub fn run_ok(cmd: &mut Command, what: &str) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} does not run: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The last `n` lines of `text`: what a failure message quotes of a log.
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `n` sign-ins with `body`, over `connections` HTTP/2 connections, at
/// most `at_once` in flight: each one's status (0 if the stream failed)
/// and how long it took.
pub async fn sign_ins_at_once(
    client: &TlsClient,
    body: &'static str,
    n: usize,
    connections: usize,
    at_once: usize,
) -> Vec<(u16, Duration)> {
    use futures_util::StreamExt;
    let mut conns = Vec::new();
    for _ in 0..connections {
        conns.push(client.http2().await);
    }
    let port = client.addr.port();
    futures_util::stream::iter(0..n)
        .map(|i| {
            let mut send = conns[i % connections].clone();
            let req = http::Request::builder()
                .method("POST")
                .uri(format!("https://localhost:{port}/api/v1/session"))
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body)))
                .unwrap();
            async move {
                let start = std::time::Instant::now();
                let status = match send.send_request(req).await {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                };
                (status, start.elapsed())
            }
        })
        .buffer_unordered(at_once)
        .collect()
        .await
}

/// Runs `work` to its end on a runtime of its own, on a thread of its
/// own: `Daemon::start` may be called from inside a test's runtime, where
/// blocking on another would panic.
pub fn on_own_runtime<T: Send>(work: impl std::future::Future<Output = T> + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(work)
        })
        .join()
        .unwrap()
    })
}

/// A user's two-factor login, as enrolled by [`TlsClient::enrol_two_factor`].
pub struct TwoFactor {
    pub secret: Vec<u8>,
    pub recovery_codes: Vec<String>,
}

/// The code an authenticator app holding `secret` shows now. (The code
/// that confirmed an enrolment is refused a second time.)
pub fn totp_now(secret: &[u8]) -> String {
    use hearth::auth::totp;
    totp::hotp(
        secret,
        hearth::clock::now_ms() / 1000 / totp::STEP_S,
        totp::DIGITS,
    )
}

/// Gives `dir` and everything in it to `uid`.
fn chown_tree(dir: &Path, uid: u32) {
    let id = Some(nix::unistd::Uid::from_raw(uid));
    let gid = Some(nix::unistd::Gid::from_raw(uid));
    nix::unistd::chown(dir, id, gid).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            chown_tree(&path, uid);
        } else {
            nix::unistd::chown(&path, id, gid).unwrap();
        }
    }
}
