//! The real `docker` CLI as a member runs it on their own computer, with
//! the files of a certificate hearth issued: against a server's engine
//! through hearth's TLS front.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

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
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
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
