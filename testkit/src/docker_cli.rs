//! The real `docker` CLI as a member runs it on their own computer, with
//! the files of a certificate hearth issued: against a server's engine
//! through hearth's TLS front. And the same front spoken to by hand
//! ([`EngineConnection`]), for what the CLI hides: one connection kept
//! open across requests, and when the front closes it.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// A member's context files, from the API's answer, in `dir`.
pub fn write_context(dir: &Path, issued: &Value) {
    std::fs::create_dir_all(dir).unwrap();
    for (file, field) in [
        ("ca.pem", "ca"),
        ("cert.pem", "certificate"),
        ("key.pem", "key"),
    ] {
        std::fs::write(dir.join(file), issued[field].as_str().unwrap()).unwrap();
    }
}

/// `docker` with the context files in `dir` against `port` on loopback,
/// its own config folder (no state of the machine's); stdout, or stderr
/// as the error.
pub fn docker(dir: &Path, port: u64, args: &[&str]) -> Result<String, String> {
    let bin = super::require("docker", "docker.io");
    let out = Command::new(bin)
        .arg("--config")
        .arg(dir.join("config"))
        .args(["--tlsverify", "--tlscacert"])
        .arg(dir.join("ca.pem"))
        .arg("--tlscert")
        .arg(dir.join("cert.pem"))
        .arg("--tlskey")
        .arg(dir.join("key.pem"))
        .args(["-H", &format!("tcp://127.0.0.1:{port}")])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        // A container that ran and failed says why on its output.
        Err(format!(
            "{}; {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            stdout
        ))
    }
}

/// A tarball of a root file system holding only Debian's static busybox
/// (`busybox-static`), for `docker import`: an image with no registry.
pub fn busybox_rootfs(dir: &Path) -> std::path::PathBuf {
    let busybox = super::require("busybox", "busybox-static");
    let root = dir.join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy(&busybox, root.join("bin/busybox")).unwrap();
    let tar = dir.join("rootfs.tar");
    let status = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg("bin")
        .status()
        .unwrap();
    assert!(status.success(), "tar of the busybox root");
    tar
}

/// One TLS connection to the engine front on `127.0.0.1:port`, made with
/// the certificate, key and authority of an issue's answer, as `docker`
/// makes it; HTTP/1.1 requests on it one after the other.
pub struct EngineConnection {
    tls: TlsStream<TcpStream>,
}

impl EngineConnection {
    pub async fn open(issued: &Value, port: u64) -> std::io::Result<EngineConnection> {
        let pem = |field: &str| issued[field].as_str().unwrap().as_bytes().to_vec();
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&pem("ca")) {
            roots.add(cert.unwrap()).unwrap();
        }
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&pem("certificate"))
                .map(|c| c.unwrap())
                .collect();
        let key = PrivateKeyDer::from_pem_slice(&pem("key")).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .unwrap();
        let tcp = TcpStream::connect(("127.0.0.1", port as u16)).await?;
        let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
        let tls = TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await?;
        Ok(EngineConnection { tls })
    }

    /// `GET path` on this connection, the whole answer read (so that
    /// nothing of it is left to read); its status.
    pub async fn get(&mut self, path: &str) -> std::io::Result<u16> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: docker\r\n\r\n");
        self.tls.write_all(request.as_bytes()).await?;
        self.tls.flush().await?;
        let mut answer = Vec::new();
        let body_at = loop {
            self.read_more(&mut answer).await?;
            if let Some(i) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&answer[..body_at]).to_ascii_lowercase();
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {head}"));
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
        };
        if let Some(length) = header("content-length:") {
            let length: usize = length.parse().unwrap();
            while answer.len() < body_at + length {
                self.read_more(&mut answer).await?;
            }
        } else if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
            // The last chunk: a size of 0 and an empty line.
            while !answer[body_at..].ends_with(b"0\r\n\r\n") {
                self.read_more(&mut answer).await?;
            }
        }
        Ok(status)
    }

    async fn read_more(&mut self, into: &mut Vec<u8>) -> std::io::Result<()> {
        let mut buf = [0u8; 16 * 1024];
        let n = self.tls.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        into.extend_from_slice(&buf[..n]);
        Ok(())
    }

    /// Waits up to `deadline` for the front to close the connection (a
    /// read ends: no bytes, or an error); how it ended, or why not.
    pub async fn closed_within(mut self, deadline: Duration) -> Result<String, String> {
        let mut buf = [0u8; 1024];
        match tokio::time::timeout(deadline, self.tls.read(&mut buf)).await {
            Ok(Ok(0)) => Ok("closed".into()),
            Ok(Err(e)) => Ok(format!("closed: {e}")),
            Ok(Ok(n)) => Err(format!(
                "{n} unasked-for bytes: {:?}",
                String::from_utf8_lossy(&buf[..n])
            )),
            Err(_) => Err(format!("still open after {deadline:?}")),
        }
    }
}
