//! A kernel file kept open and re-read in place.
//!
//! procfs and sysfs regenerate a file's text on every read from offset 0,
//! so `pread(fd, buf, 0)` on a descriptor opened once gives a fresh value
//! without the open and close syscalls. A file that is missing is retried
//! only when the owner asks (on rescans), not on every sample.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub struct Pinned {
    path: PathBuf,
    file: Option<File>,
}

impl Pinned {
    pub fn new(path: impl Into<PathBuf>) -> Pinned {
        let path = path.into();
        let file = File::open(&path).ok();
        Pinned { path, file }
    }

    /// Tries to open a file that was missing.
    pub fn retry(&mut self) {
        if self.file.is_none() {
            self.file = File::open(&self.path).ok();
        }
    }

    /// The file's current text in `buf`, or `None` if it is missing or
    /// unreadable (e.g. a NIC's `speed` with the link down gives EINVAL).
    pub fn read<'a>(&mut self, buf: &'a mut Vec<u8>) -> Option<&'a str> {
        let file = self.file.as_ref()?;
        buf.clear();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match file.read_at(&mut chunk, buf.len() as u64) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        std::str::from_utf8(buf).ok()
    }
}

/// Reads a small file once (for rarely changing values).
pub fn read_once(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rereads_fresh_text_and_reports_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("value");
        let mut pinned = Pinned::new(&p);
        let mut buf = Vec::new();
        assert_eq!(pinned.read(&mut buf), None);
        std::fs::write(&p, "one").unwrap();
        assert_eq!(pinned.read(&mut buf), None, "not retried until asked");
        pinned.retry();
        assert_eq!(pinned.read(&mut buf), Some("one"));
        std::fs::write(&p, "two, longer than before").unwrap();
        assert_eq!(pinned.read(&mut buf), Some("two, longer than before"));
        let big = "x".repeat(20_000);
        std::fs::write(&p, &big).unwrap();
        assert_eq!(pinned.read(&mut buf).map(str::len), Some(20_000));
    }

    #[test]
    fn proc_files_are_fresh_on_every_read() {
        let mut uptime = Pinned::new("/proc/uptime");
        let mut buf = Vec::new();
        let mut seconds = || -> f64 {
            let text = uptime.read(&mut buf).unwrap();
            text.split(' ').next().unwrap().parse().unwrap()
        };
        let a = seconds();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let b = seconds();
        assert!(b > a, "{a} then {b}");
    }
}
