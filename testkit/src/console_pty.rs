//! `hearth console` on a pseudo-terminal of the test's own, as systemd
//! runs it on tty1 and ttyS0: the terminal is the console's controlling
//! terminal (so a hang-up reaches it), the test types on the other side
//! and reads what was drawn, with the VT100 sequences taken out.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::bin;

pub struct ConsolePty {
    master: Option<std::fs::File>,
    pub child: Child,
    raw: Arc<Mutex<Vec<u8>>>,
    /// Tells the reader to let go of its copy of the master side.
    closing: Arc<std::sync::atomic::AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
    /// Where [`Self::expect`] starts looking, in the cleaned text.
    mark: usize,
}

/// `text` without escape sequences (`ESC [ ... final`, `ESC x`) and
/// carriage returns.
pub fn clean(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for d in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&d) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

impl ConsolePty {
    /// Runs `hearth console --config CONFIG --tty pts-test`, through
    /// `ip netns exec NETNS` when given, with `env` added.
    pub fn spawn(config: &Path, netns: Option<&str>, env: &[(&str, &str)]) -> ConsolePty {
        let pty = nix::pty::openpty(None, None).expect("a pseudo-terminal");
        // openpty's descriptors are inherited by default: the console must
        // not hold its own terminal's other side open (no hang-up could
        // reach it), nor may later children.
        for fd in [&pty.master, &pty.slave] {
            nix::fcntl::fcntl(
                fd,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            )
            .unwrap();
        }
        let slave: OwnedFd = pty.slave;
        let mut argv: Vec<String> = Vec::new();
        if let Some(ns) = netns {
            argv.extend(["ip", "netns", "exec", ns].map(String::from));
        }
        argv.push(bin().to_str().unwrap().into());
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .args(["console", "--tty", "pts-test", "--config"])
            .arg(config)
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        for (k, v) in env {
            cmd.env(k, v);
        }
        // SAFETY: between fork and exec only async-signal-safe calls:
        // setsid and ioctl.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                if libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("run hearth console");
        let master = std::fs::File::from(pty.master);
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = raw.clone();
        let closing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = closing.clone();
        let reader = std::thread::spawn(move || {
            use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
            use std::os::fd::AsFd;
            let mut buf = [0u8; 4096];
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
                match poll(&mut fds, PollTimeout::from(100u8)) {
                    Ok(0) => continue,
                    Ok(_) => {}
                    Err(_) => break,
                }
                // EIO once the console side is gone.
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sink.lock().unwrap().extend_from_slice(&buf[..n]),
                }
            }
        });
        ConsolePty {
            master: Some(master),
            child,
            raw,
            closing,
            reader: Some(reader),
            mark: 0,
        }
    }

    /// Everything drawn so far, cleaned.
    pub fn text(&self) -> String {
        clean(&self.raw.lock().unwrap())
    }

    /// Everything drawn so far, as sent.
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// Types `keys` (bytes as they are: `\x03` is Ctrl-C).
    pub fn send(&mut self, keys: &str) {
        let master = self.master.as_mut().expect("the terminal is open");
        master.write_all(keys.as_bytes()).unwrap();
        master.flush().unwrap();
    }

    /// Types `keys` after what was drawn so far: the next expectations
    /// look only at what comes after.
    pub fn type_after_mark(&mut self, keys: &str) {
        self.mark = self.text().len();
        self.send(keys);
    }

    /// Waits until what was drawn since the mark contains `needle`;
    /// answers that text.
    pub fn expect(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.text();
            let since = text.get(self.mark..).unwrap_or("").to_string();
            if since.contains(needle) {
                return since;
            }
            assert!(
                Instant::now() < deadline,
                "the console never showed {needle:?}; since the mark:\n{since}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The rest of the line after `prefix` in what was drawn since the
    /// mark (waiting for it).
    pub fn line_after(&self, prefix: &str, timeout: Duration) -> String {
        let text = self.expect(prefix, timeout);
        let at = text.find(prefix).unwrap() + prefix.len();
        text[at..].lines().next().unwrap_or("").trim().to_string()
    }

    /// Sends `signal` to the console.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    /// Closes the terminal's other side (a hang-up of the line) and waits
    /// for the console to end.
    pub fn hang_up(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        drop(self.master.take());
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ConsolePty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
