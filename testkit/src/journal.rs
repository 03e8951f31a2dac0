//! A journal of the test's own: entries written to a journal file in a
//! folder by `systemd-journal-remote` (from journal export entries), for
//! hearth's `journalctl` to read through `servers.journal_dir` (the test
//! machines have no journald).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Appends one entry of `unit` to the journal in `dir`.
pub fn append(dir: &Path, unit: &str, seq: u64, priority: u8, message: &str) {
    let remote = ["/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| {
            panic!("systemd-journal-remote is missing: install the Debian package `systemd-journal-remote` (make test does)")
        });
    let mut child = Command::new(remote)
        .args(["--split-mode=none", "--output"])
        .arg(dir.join("remote.journal"))
        .arg("-")
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let entry = format!(
        "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n_SYSTEMD_UNIT={unit}\nPRIORITY={priority}\nMESSAGE={message}\n\n",
        1_764_770_000_000_000 + seq * 1_000_000,
        1000 + seq,
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(entry.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}
