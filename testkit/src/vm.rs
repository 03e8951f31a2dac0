//! The built appliance image under qemu: a scratch copy of the disk booted
//! with UEFI (OVMF) under TCG, everything its serial port prints kept as
//! plain lines (and written to `target/tmp/vm-<name>.log`, the bytes as
//! they came to `vm-<name>.raw.log`), keys typed at the serial port (the
//! recovery console runs there), hearth's HTTPS port (the guest's 8443)
//! and Caddy's (the guest's 443) forwarded to loopback ports, and a
//! monitor socket to power it off the way a button press would. The
//! guest's network is qemu's user network with `restrict=on`: nothing
//! leaves the VM but the forwarded ports.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;

use super::require;

pub const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
pub const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";
/// How often [`Vm::power_off`] presses the power button until qemu exits.
const POWER_BUTTON_REPEAT: Duration = Duration::from_secs(20);
/// Between two keys typed at the serial port, as a quick typist.
const KEY_PAUSE: Duration = Duration::from_millis(100);

/// What `make image` built and how: the Makefile passes these to the tests.
pub struct ImageBuild {
    pub image: PathBuf,
    pub binary: PathBuf,
    pub version: String,
    pub source_date_epoch: String,
    pub commit: String,
}

impl ImageBuild {
    /// The image `make image` built. Fails, saying how to get one, when the
    /// tests were not started by `make test`.
    pub fn from_env() -> ImageBuild {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!(
                    "{name} is not set: the image tests run from `make test`, which builds \
                     the image first (`make image`) and passes its path"
                )
            })
        };
        let build = ImageBuild {
            image: PathBuf::from(var("HEARTH_IMAGE")),
            binary: PathBuf::from(var("HEARTH_IMAGE_BINARY")),
            version: var("HEARTH_VERSION"),
            source_date_epoch: var("SOURCE_DATE_EPOCH"),
            commit: var("HEARTH_COMMIT"),
        };
        assert!(
            build.image.exists(),
            "{} does not exist: run `make image`",
            build.image.display()
        );
        build
    }

    /// The `.sha256` file `make image` wrote beside the image.
    pub fn recorded_sha256(&self) -> String {
        let path = self.image.with_extension("img.sha256");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        text.split_whitespace().next().unwrap().to_string()
    }
}

/// A private, writable copy of the image (sparse), grown to `size` bytes as
/// if written to a bigger disk, with its own UEFI variable store.
pub struct Disk {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    vars: PathBuf,
}

impl Disk {
    pub fn scratch_copy(image: &Path, size: u64) -> Disk {
        // /var/tmp: the copy is sparse, but may be large; /tmp can be a tmpfs.
        let dir = tempfile::Builder::new()
            .prefix("hearth-vm.")
            .tempdir_in("/var/tmp")
            .unwrap();
        let path = dir.path().join("disk.img");
        let status = Command::new("cp")
            .arg("--sparse=always")
            .arg(image)
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success(), "copying {}", image.display());
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        assert!(file.metadata().unwrap().len() <= size);
        file.set_len(size).unwrap();
        let vars = dir.path().join("OVMF_VARS.fd");
        std::fs::copy(OVMF_VARS, &vars).unwrap_or_else(|e| {
            panic!("copying {OVMF_VARS}: {e}: apt-get install ovmf (make test installs it)")
        });
        Disk { dir, path, vars }
    }
}

impl Disk {
    /// A copy of the disk's `hearth-var` partition, read while the VM is
    /// off, to look at what the guest left on it.
    /// The disk's partitions as `sfdisk --json` lists them (in table
    /// order), each with its name, start, size and type.
    pub fn partitions(&self) -> Vec<serde_json::Value> {
        let out = Command::new(require("sfdisk", "fdisk"))
            .arg("--json")
            .arg(&self.path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sfdisk --json {}",
            self.path.display()
        );
        let table: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        table["partitiontable"]["partitions"]
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn var_partition(&self) -> VarPartition {
        let part = self
            .partitions()
            .into_iter()
            .find(|p| p["name"] == "hearth-var")
            .expect("a hearth-var partition");
        let sectors = |key: &str| part[key].as_u64().unwrap();
        let file = self.dir.path().join("var.ext4");
        let status = Command::new("dd")
            .arg(format!("if={}", self.path.display()))
            .arg(format!("of={}", file.display()))
            .args([
                "bs=512",
                "conv=sparse",
                "status=none",
                "iflag=count_bytes,skip_bytes",
            ])
            .arg(format!("skip={}", sectors("start") * 512))
            .arg(format!("count={}", sectors("size") * 512))
            .status()
            .unwrap();
        assert!(status.success());
        VarPartition {
            file,
            partition_type: part["type"].as_str().unwrap().to_ascii_lowercase(),
        }
    }
}

/// The `hearth-var` partition of a stopped VM's disk.
pub struct VarPartition {
    file: PathBuf,
    /// Its GPT partition type (lower case).
    pub partition_type: String,
}

impl VarPartition {
    fn debugfs(&self, request: &str) -> String {
        let out = Command::new(require("debugfs", "e2fsprogs"))
            .arg("-R")
            .arg(request)
            .arg(&self.file)
            .output()
            .unwrap();
        assert!(out.status.success(), "debugfs {request}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A file's contents (paths relative to /var).
    pub fn read(&self, path: &str) -> String {
        self.debugfs(&format!("cat {path}"))
    }

    /// Where a symbolic link leads (paths relative to /var).
    pub fn link(&self, path: &str) -> String {
        let stat = self.debugfs(&format!("stat {path}"));
        // A short target is kept in the inode: `Fast link dest: "..."`.
        stat.lines()
            .find_map(|l| l.trim().strip_prefix("Fast link dest: "))
            .map(|t| t.trim_matches('"').to_string())
            .unwrap_or_else(|| panic!("/var/{path} is not a short symbolic link:\n{stat}"))
    }

    /// The names in a folder (relative to /var).
    pub fn list(&self, dir: &str) -> Vec<String> {
        // `ls -p`: one "/inode/mode/uid/gid/name/size/" line per entry.
        self.debugfs(&format!("ls -p {dir}"))
            .lines()
            .filter_map(|l| l.split('/').nth(5).map(str::to_string))
            .filter(|n| !n.is_empty() && n != "." && n != "..")
            .collect()
    }
}

/// A running VM.
pub struct Vm {
    child: Child,
    /// What the serial port printed, as plain lines (see [`AnsiStripper`]).
    serial: Arc<Mutex<String>>,
    /// qemu's stdin: the serial port's input.
    keys: ChildStdin,
    monitor: PathBuf,
    started: Instant,
    /// The loopback port forwarded to the guest's port 8443, hearth's.
    pub port: u16,
    /// The loopback port forwarded to the guest's port 443, Caddy's (the
    /// members' domains).
    pub caddy_port: u16,
    /// The loopback port forwarded to the guest's first engine port
    /// (the TLS front of the first server made there).
    pub front_port: u16,
}

/// The engine port hearth gives the first server of a box.
pub const FIRST_ENGINE_PORT: u16 = 23760;

impl Vm {
    /// Starts qemu on `disk`; `name` names the serial log.
    pub fn boot(disk: &Disk, name: &str) -> Vm {
        let qemu = require("qemu-system-x86_64", "qemu-system-x86");
        assert!(
            Path::new(OVMF_CODE).exists(),
            "{OVMF_CODE} is missing: apt-get install ovmf (make test installs it)"
        );
        let [port, caddy_port, front_port] = super::free_ports();
        let monitor = disk.dir.path().join(format!("{name}.monitor"));
        let _ = std::fs::remove_file(&monitor);
        let log_dir = super::target_tmpdir();
        std::fs::create_dir_all(&log_dir).unwrap();
        let log_path = log_dir.join(format!("vm-{name}.log"));
        let raw_log_path = log_dir.join(format!("vm-{name}.raw.log"));
        let mut child = Command::new(qemu)
            .args([
                "-machine", "q35", "-accel", "tcg", "-cpu", "max", "-smp", "2",
            ])
            .args(["-m", "2048", "-display", "none", "-no-user-config"])
            .arg("-drive")
            .arg(format!("if=pflash,format=raw,readonly=on,file={OVMF_CODE}"))
            .arg("-drive")
            .arg(format!("if=pflash,format=raw,file={}", disk.vars.display()))
            .arg("-drive")
            .arg(format!("if=virtio,format=raw,file={}", disk.path.display()))
            .arg("-netdev")
            .arg(format!(
                "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:8443,hostfwd=tcp:127.0.0.1:{caddy_port}-:443,hostfwd=tcp:127.0.0.1:{front_port}-:{FIRST_ENGINE_PORT}"
            ))
            .args(["-device", "virtio-net-pci,netdev=net0"])
            // A hardware watchdog, which systemd arms (RuntimeWatchdogSec=):
            // a guest that hangs is reset, as a box would be.
            .args(["-device", "i6300esb", "-action", "watchdog=reset"])
            .args(["-serial", "stdio"])
            .arg("-monitor")
            .arg(format!("unix:{},server=on,wait=off", monitor.display()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting qemu");
        let started = Instant::now();
        let serial = Arc::new(Mutex::new(String::new()));
        let mut stdout = child.stdout.take().unwrap();
        let keys = child.stdin.take().unwrap();
        let sink = serial.clone();
        std::thread::spawn(move || {
            let mut log = std::fs::File::create(&log_path).unwrap();
            let mut raw_log = std::fs::File::create(&raw_log_path).unwrap();
            let mut plain = AnsiStripper::default();
            let mut utf8 = Utf8Decoder::default();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let _ = raw_log.write_all(&buf[..n]);
                let text = plain.strip(&buf[..n]);
                let _ = log.write_all(&text);
                let mut sink = sink.lock().unwrap();
                utf8.decode_into(&text, &mut sink);
            }
        });
        Vm {
            child,
            serial,
            keys,
            monitor,
            started,
            port,
            caddy_port,
            front_port,
        }
    }

    /// hearth's interface, through the forward.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Caddy's HTTPS port, through the forward.
    pub fn caddy_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.caddy_port))
    }

    /// Everything the serial console printed so far.
    pub fn serial(&self) -> String {
        self.serial.lock().unwrap().clone()
    }

    /// Where the console's output is now: [`Vm::wait_for_after`] with this
    /// mark looks only at what it prints from here on (the recovery
    /// console redraws its screen every few seconds, so an earlier screen
    /// holds the same lines).
    pub fn mark(&self) -> usize {
        self.serial.lock().unwrap().len()
    }

    /// Waits until the console has printed `needle`, at once (its line may
    /// not have ended: the initramfs's `Begin: ... ` lines end only when
    /// their step is done); returns the line as far as it is printed and
    /// the time since qemu started. Fails with the console's tail.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> (String, Duration) {
        self.poll(&format!("{needle:?}"), timeout, |text| {
            let at = text.find(needle)?;
            let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
            Some(text[start..end].to_string())
        })
    }

    /// Waits until the console has printed, after `mark`, a whole line
    /// with `needle` (so that all of it is there to read); returns it and
    /// the time since qemu started.
    pub fn wait_for_after(
        &mut self,
        mark: usize,
        needle: &str,
        timeout: Duration,
    ) -> (String, Duration) {
        self.wait_for_line_after(mark, &format!("{needle:?}"), timeout, |line| {
            line.contains(needle)
        })
    }

    /// Waits until the console has printed, after `mark`, a whole line
    /// (one that has ended) that `wanted` accepts; returns it and the time
    /// since qemu started. `what` names the line in a failure's message.
    pub fn wait_for_line_after(
        &mut self,
        mark: usize,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> (String, Duration) {
        self.poll(what, timeout, |text| line_after(text, mark, &wanted))
    }

    /// Waits until the console has printed `prompt` after `mark`, whether
    /// or not its line has ended: a prompt is the last thing on its
    /// screen, and its line ends only when the next screen is drawn.
    pub fn wait_for_prompt_after(&mut self, mark: usize, prompt: &str, timeout: Duration) {
        self.poll(&format!("{prompt:?}"), timeout, |text| {
            text.get(mark..).filter(|t| t.contains(prompt)).map(drop)
        });
    }

    /// Looks at what the console printed every 100 ms until `found` finds
    /// something in it; answers that and the time since qemu started.
    fn poll<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        found: impl Fn(&str) -> Option<T>,
    ) -> (T, Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let elapsed = self.started.elapsed();
            let found = found(&self.serial.lock().unwrap());
            if let Some(found) = found {
                return (found, elapsed);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "qemu exited ({status}) before the console showed {what}; it printed:\n{}",
                    tail(&self.serial())
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "the console did not show {what} within {timeout:?}; it printed:\n{}",
                    tail(&self.serial())
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Types `keys` at the serial port, one byte at a time with a short
    /// pause between them (a terminal sends each key as it is pressed).
    /// Enter is `"\r"`, as a terminal sends it.
    pub fn type_keys(&mut self, keys: &str) {
        for byte in keys.bytes() {
            self.keys
                .write_all(&[byte])
                .and_then(|()| self.keys.flush())
                .unwrap_or_else(|e| panic!("typing at the serial port (qemu's stdin): {e}"));
            std::thread::sleep(KEY_PAUSE);
        }
    }

    /// Pulls the plug: qemu stops at once, with whatever the guest had not
    /// yet written lost.
    pub fn power_cut(&mut self) {
        let mut monitor = UnixStream::connect(&self.monitor).expect("qemu monitor socket");
        monitor.write_all(b"quit\n").unwrap();
        crate::eventually_blocking(Duration::from_secs(30), "qemu to quit", || {
            self.child.try_wait().unwrap().is_some()
        });
    }

    /// Presses the power button (ACPI) and waits for the guest to shut
    /// down and qemu to exit. Presses it again every
    /// [`POWER_BUTTON_REPEAT`], as a person would: a press the guest was
    /// not listening for is lost, and one during the shutdown changes
    /// nothing (logind has stopped by then).
    pub fn power_off(&mut self, timeout: Duration) {
        let mut monitor = UnixStream::connect(&self.monitor).expect("qemu monitor socket");
        let started = Instant::now();
        let mut presses = 0;
        while started.elapsed() < timeout {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            // A monitor that no longer takes the press is a qemu on its
            // way out: keep waiting for it to exit.
            if started.elapsed() >= POWER_BUTTON_REPEAT * presses
                && monitor.write_all(b"system_powerdown\n").is_ok()
            {
                presses += 1;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "the VM did not power off within {timeout:?} ({presses} presses of the power \
             button); the console printed:\n{}",
            tail(&self.serial())
        );
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Turns what the serial port prints into plain lines: drops the colour
/// and cursor sequences systemd, OVMF and the recovery console write
/// (`ESC [ ... final-byte`, and the shorter `ESC ( B` kind), carriage
/// returns (a line ends with `\n` alone; a bare `\r` that goes back to
/// overwrite a line is dropped too) and the other control characters but
/// tab. A cursor move or a screen clear (`ESC [ H`, `ESC [ 2 J`, each of
/// the console's redraws) starts a new line, so that the console's first
/// line does not run on from the prompt that ended its last screen. Keeps
/// its state across reads: a sequence may be split between two.
pub struct AnsiStripper {
    in_escape: bool,
    in_csi: bool,
    /// Nothing printed since the last line break (or at all).
    at_line_start: bool,
}

impl Default for AnsiStripper {
    fn default() -> AnsiStripper {
        AnsiStripper {
            in_escape: false,
            in_csi: false,
            at_line_start: true,
        }
    }
}

impl AnsiStripper {
    pub fn strip(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        for &b in bytes {
            if self.in_csi {
                // Parameters and intermediates run until a final byte.
                if (0x40..=0x7e).contains(&b) {
                    self.in_csi = false;
                    if matches!(b, b'H' | b'f' | b'J') && !self.at_line_start {
                        out.push(b'\n');
                        self.at_line_start = true;
                    }
                }
            } else if self.in_escape {
                // ESC [ starts a CSI sequence; any other escape is its
                // intermediates (0x20 to 0x2f) and one final byte.
                self.in_csi = b == b'[';
                self.in_escape = (0x20..=0x2f).contains(&b);
            } else if b == 0x1b {
                self.in_escape = true;
            } else if b == b'\n' {
                out.push(b);
                self.at_line_start = true;
            } else if (b >= 0x20 && b != 0x7f) || b == b'\t' {
                out.push(b);
                self.at_line_start = false;
            }
        }
        out
    }
}

/// Decodes UTF-8 that arrives in pieces: a character split between two
/// reads is kept until its last byte comes, not turned into U+FFFD.
#[derive(Default)]
pub struct Utf8Decoder {
    pending: Vec<u8>,
}

impl Utf8Decoder {
    pub fn decode_into(&mut self, bytes: &[u8], out: &mut String) {
        self.pending.extend_from_slice(bytes);
        let mut kept = Vec::new();
        let mut chunks = self.pending.utf8_chunks().peekable();
        while let Some(chunk) = chunks.next() {
            out.push_str(chunk.valid());
            let invalid = chunk.invalid();
            // Bytes that only lack their end, at the very end: the start
            // of a character the next read completes.
            let cut_off = chunks.peek().is_none()
                && std::str::from_utf8(invalid).is_err_and(|e| e.error_len().is_none());
            if cut_off {
                kept = invalid.to_vec();
            } else if !invalid.is_empty() {
                out.push(char::REPLACEMENT_CHARACTER);
            }
        }
        self.pending = kept;
    }
}

/// The first whole line (one that has ended) of `text` after `mark` that
/// `wanted` accepts; of the line the mark falls in, only its part from
/// the mark on counts.
pub fn line_after(text: &str, mark: usize, wanted: impl Fn(&str) -> bool) -> Option<String> {
    let mark = mark.min(text.len());
    let mut at = text[..mark].rfind('\n').map_or(0, |i| i + 1);
    while let Some(len) = text[at..].find('\n') {
        let line = &text[at..at + len];
        if wanted(&line[mark.saturating_sub(at).min(len)..]) {
            return Some(line.to_string());
        }
        at += len + 1;
    }
    None
}

fn tail(text: &str) -> String {
    super::last_lines(text, 60)
}

/// The certificate a server presents, taken without verifying it: the
/// first contact with a new box, whose self-signed certificate the test
/// then pins (trust on first use, as a person would).
pub async fn first_certificate(addr: SocketAddr) -> std::io::Result<CertificateDer<'static>> {
    hearth::proxy::probe::presented_certificate(addr, "localhost")
        .await
        .map_err(std::io::Error::other)
}
