//! A minimal WebDriver client for headless Chromium through the Debian
//! `chromedriver`: enough to load a page, run a script, click, fill in a
//! field, wait for the page, read the browser log and take a screenshot.
//! The checks every page gets (axe-core, sideways scrolling, screenshots
//! at two widths) are in `page_check.rs`.

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
        crate::eventually(
            Duration::from_secs(20),
            "chromedriver to start",
            async || tokio::net::TcpStream::connect(addr).await.map(drop),
        )
        .await;
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
        // How long an `eval_async` script may take (axe-core on a page
        // takes a second or two).
        let v = b
            .call("POST", &b.at("/timeouts"), Some(json!({"script": 30000})))
            .await;
        assert!(error(&v).is_none(), "setting the script timeout: {v}");
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
        let v = self
            .call(
                "POST",
                &self.at("/window/rect"),
                Some(json!({"width": width, "height": height})),
            )
            .await;
        assert!(error(&v).is_none(), "resizing to {width}x{height}: {v}");
    }

    /// The window's (outer) width and height.
    pub async fn window_size(&self) -> (u32, u32) {
        let v = self.call("GET", &self.at("/window/rect"), None).await;
        let px = |k: &str| {
            v["value"][k]
                .as_u64()
                .unwrap_or_else(|| panic!("window rect: {v}"))
        };
        (px("width") as u32, px("height") as u32)
    }

    /// Runs `script` (a function body) and returns its value. A script
    /// error comes back as the WebDriver error object, not as a panic: a
    /// page that is loading may not have what the script looks for yet.
    pub async fn eval(&self, script: &str) -> Value {
        self.eval_with(script, &[]).await
    }

    /// [`Browser::eval`] with `arguments[0]`, `arguments[1]`, ... set to
    /// `args` (no quoting of values into the script).
    pub async fn eval_with(&self, script: &str, args: &[Value]) -> Value {
        let v = self
            .call(
                "POST",
                &self.at("/execute/sync"),
                Some(json!({"script": script, "args": args})),
            )
            .await;
        v["value"].clone()
    }

    /// Runs `script`, a function body whose last argument is the callback
    /// (`arguments[arguments.length - 1]`), and returns what it passes the
    /// callback. Panics on a script error and after 30 s.
    pub async fn eval_async(&self, script: &str) -> Value {
        let v = self
            .call(
                "POST",
                &self.at("/execute/async"),
                Some(json!({"script": script, "args": []})),
            )
            .await;
        if let Some(e) = error(&v) {
            let start: String = script.chars().take(200).collect();
            panic!("script failed: {e}\nscript: {start}");
        }
        v["value"].clone()
    }

    /// Polls `script` (a function body returning a boolean) every 100 ms
    /// until it returns true; after 10 s, panics naming `what`, the page
    /// and what it shows in `#message`, `[role=alert]` and `.message`.
    pub async fn wait_for(&self, script: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = self.eval(script).await;
            if v == true {
                return;
            }
            if Instant::now() >= deadline {
                let shown = self
                    .eval(
                        "return [location.href, Array.from(document.querySelectorAll('#message, [role=alert], .message:not([hidden])'), e => e.textContent.trim()).filter(t => t).join(' | ')]",
                    )
                    .await;
                // A script error: its message, without chromedriver's trace.
                let last = match (v["error"].as_str(), v["message"].as_str()) {
                    (Some(_), Some(m)) => m.lines().next().unwrap_or(m).to_string(),
                    _ => v.to_string(),
                };
                panic!(
                    "{what}: not within 10 s on {}\nmessages on the page: {}\nwaited for: {script}\nlast result: {last}",
                    shown[0], shown[1]
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The WebDriver reference of the first element matching `css`.
    async fn element(&self, css: &str) -> String {
        let v = self
            .call(
                "POST",
                &self.at("/element"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        match v["value"][ELEMENT].as_str() {
            Some(id) => id.to_string(),
            None => panic!(
                "no element `{css}` on the page: {}",
                error(&v).unwrap_or_default()
            ),
        }
    }

    /// Clicks the element matching `css` as a person would (scrolled into
    /// view, at its centre): fails if it is hidden or covered.
    pub async fn click(&self, css: &str) {
        let id = self.element(css).await;
        let v = self
            .call(
                "POST",
                &self.at(&format!("/element/{id}/click")),
                Some(json!({})),
            )
            .await;
        if let Some(e) = error(&v) {
            panic!("cannot click `{css}`: {e}");
        }
    }

    /// Sets the `value` of the field matching `css` and sends it the
    /// `input` and `change` events typing would.
    pub async fn set_value(&self, css: &str, value: &str) {
        let done = self
            .eval_with(
                "const e = document.querySelector(arguments[0]); if (!e) return false; e.value = arguments[1]; e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); return true;",
                &[json!(css), json!(value)],
            )
            .await;
        assert_eq!(done, true, "no field `{css}` to set: {done}");
    }

    /// The `textContent` of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let v = self.text_value(css).await;
        match v.as_str() {
            Some(t) => t.to_string(),
            None => panic!("no element `{css}` to read: {v}"),
        }
    }

    /// The `textContent` of the element matching `css`, if there is one
    /// (what a wait shows of a page that may be changing).
    pub async fn text_if_any(&self, css: &str) -> Option<String> {
        self.text_value(css).await.as_str().map(str::to_string)
    }

    async fn text_value(&self, css: &str) -> Value {
        self.eval_with(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
            &[json!(css)],
        )
        .await
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

    /// The SEVERE entries of [`Browser::log`] (script errors, failed
    /// requests, Content-Security-Policy violations).
    pub async fn severe_log(&self) -> Vec<Value> {
        let log = self.log().await;
        log.into_iter().filter(|e| e["level"] == "SEVERE").collect()
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

/// The key under which WebDriver names an element.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The error of a WebDriver reply ("error: message"), if it is one.
fn error(reply: &Value) -> Option<String> {
    let v = &reply["value"];
    match (v["error"].as_str(), v["message"].as_str()) {
        (Some(e), Some(m)) if v.get("stacktrace").is_some() => Some(format!("{e}: {m}")),
        _ => None,
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
    // Fully loaded, script included: a click before it would submit the
    // form natively.
    browser
        .wait_for(
            "return location.pathname === '/login' && document.readyState === 'complete'",
            "sent to the sign-in page",
        )
        .await;
    browser.set_value("#username", username).await;
    browser.set_value("#password", password).await;
    browser.click("#login button[type=submit]").await;
    browser
        .wait_for(
            "return location.pathname === '/' && document.readyState === 'complete'",
            "back on the status page, signed in",
        )
        .await;
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
