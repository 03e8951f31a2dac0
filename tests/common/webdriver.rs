//! A minimal WebDriver client for headless Chromium through the Debian
//! `chromedriver`: enough to load a page, run a script, read the browser
//! log and take a screenshot.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use super::require;

pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session that trusts
    /// exactly the certificate whose SubjectPublicKeyInfo hashes to
    /// `spki_sha256_base64` (no blanket "ignore certificate errors").
    pub async fn start(spki_sha256_base64: &str) -> Browser {
        let driver_bin = require("chromedriver", "chromium-driver");
        let chromium = require("chromium", "chromium");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let mut b = Browser {
            driver,
            addr,
            session: String::new(),
            _profile: profile,
        };
        let caps = json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:loggingPrefs": {"browser": "ALL"},
                "goog:chromeOptions": {
                    "binary": chromium.to_str().unwrap(),
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        "--window-size=1280,1200",
                        format!("--user-data-dir={}", b._profile.path().display()),
                        format!("--ignore-certificate-errors-spki-list={spki_sha256_base64}"),
                    ]
                }
            }}
        });
        let v = b.call("POST", "/session", Some(caps)).await;
        b.session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        b
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let tcp = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .unwrap();
        tokio::spawn(conn);
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let resp = send.send_request(req).await.unwrap();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }

    fn at(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub async fn goto(&self, url: &str) {
        let v = self
            .call("POST", &self.at("/url"), Some(json!({"url": url})))
            .await;
        assert!(v["value"].is_null(), "navigation failed: {v}");
    }

    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.call(
            "POST",
            &self.at("/window/rect"),
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    /// Runs `script` (a function body) and returns its value.
    pub async fn eval(&self, script: &str) -> Value {
        let v = self
            .call(
                "POST",
                &self.at("/execute/sync"),
                Some(json!({"script": script, "args": []})),
            )
            .await;
        v["value"].clone()
    }

    /// The browser console log since the last call.
    pub async fn log(&self) -> Vec<Value> {
        let v = self
            .call(
                "POST",
                &self.at("/se/log"),
                Some(json!({"type": "browser"})),
            )
            .await;
        v["value"].as_array().cloned().unwrap_or_default()
    }

    pub async fn screenshot(&self, path: &std::path::Path) {
        let v = self.call("GET", &self.at("/screenshot"), None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v["value"].as_str().expect("screenshot data"))
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session makes chromedriver close Chromium; killing
        // only the driver would leave the browser processes behind.
        use std::io::{Read, Write};
        if let Ok(mut s) = std::net::TcpStream::connect(self.addr) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let req = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                self.session, self.addr
            );
            if s.write_all(req.as_bytes()).is_ok() {
                let mut sink = Vec::new();
                let _ = s.read_to_end(&mut sink);
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// base64(SHA-256(SubjectPublicKeyInfo)) of a PEM private key's public
/// key, as Chromium's `--ignore-certificate-errors-spki-list` wants it.
pub fn spki_pin(key_pem: &str) -> String {
    let key = rcgen::KeyPair::from_pem(key_pem).unwrap();
    use rcgen::PublicKeyData;
    let digest = ring::digest::digest(&ring::digest::SHA256, &key.subject_public_key_info());
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// Opens the status page as a signed-out person would: it sends them to
/// the sign-in page, which brings them back once signed in.
pub async fn sign_in_and_open_status(browser: &Browser, port: u16, username: &str, password: &str) {
    browser.goto(&format!("https://localhost:{port}/")).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    // Fully loaded, script included: a click before it would submit the
    // form natively.
    while browser
        .eval("return location.pathname === '/login' && document.readyState === 'complete'")
        .await
        != true
    {
        assert!(Instant::now() < deadline, "not sent to the sign-in page");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser
        .eval(&format!(
            "document.getElementById('username').value = {}; document.getElementById('password').value = {}; document.querySelector('#login button').click(); return true;",
            serde_json::to_string(username).unwrap(),
            serde_json::to_string(password).unwrap()
        ))
        .await;
    while browser
        .eval("return location.pathname === '/' && document.readyState === 'complete'")
        .await
        != true
    {
        let msg = browser
            .eval("return (document.getElementById('message') || {}).textContent")
            .await;
        assert!(
            Instant::now() < deadline,
            "not back on the status page: {msg}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The 401s of the signed-out first visit are how the page learns to
    // send us to the sign-in page: expected, and dropped from the log that
    // the checks below read.
    let before: Vec<_> = browser.log().await;
    assert!(
        before
            .iter()
            .all(|e| e["message"].as_str().unwrap_or("").contains("401")),
        "unexpected browser errors while signing in: {before:?}"
    );
}
