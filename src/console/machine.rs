//! What the console does to the machine itself, as root: systemd's
//! commands (restart hearth, reboot, power off, stop and start for the
//! factory reset), hearth's log, the root shell, and the factory reset's
//! erasing. Behind a trait, so the console's logic is tested with a
//! recording stand-in; the real commands are the configured paths
//! (`[console]`), which the tests point at recording scripts.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::config::Config;
use crate::recovery::factory;
use crate::servers::helper::Layout;
use crate::servers::helper::host::RealHost;

/// hearth's unit.
pub const UNIT: &str = "hearth.service";
/// Every server's engine unit.
pub const SERVER_UNITS: &str = "hearth-server@*.service";

pub trait Machine {
    /// Runs `systemctl ARGS`; the error says what it printed.
    fn systemctl(&self, args: &[&str]) -> Result<(), String>;
    /// The last `lines` lines of hearth's log.
    fn log(&self, lines: usize) -> Result<Vec<String>, String>;
    /// Runs the root shell on this terminal until it ends.
    fn shell(&self) -> Result<(), String>;
    /// Erases hearth's state and every server's data (hearth stopped).
    fn erase(&self, terminal: &str) -> Result<String, String>;
}

/// This machine, through the configured tools.
pub struct Real {
    pub config: Config,
}

fn output_error(what: &str, out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let text = text.trim();
    format!(
        "{what} failed ({}){}{}",
        out.status,
        if text.is_empty() { "" } else { ": " },
        text.lines().last().unwrap_or("")
    )
}

impl Machine for Real {
    fn systemctl(&self, args: &[&str]) -> Result<(), String> {
        let out = Command::new(&self.config.console.systemctl)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                format!(
                    "cannot run {}: {e}",
                    self.config.console.systemctl.display()
                )
            })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(output_error(&format!("systemctl {}", args.join(" ")), &out))
        }
    }

    fn log(&self, lines: usize) -> Result<Vec<String>, String> {
        let mut cmd = Command::new(&self.config.console.journalctl);
        cmd.args([
            "--unit",
            UNIT,
            "--no-pager",
            "--output",
            "short-iso",
            "--lines",
        ])
        .arg(lines.to_string());
        if let Some(dir) = &self.config.servers.journal_dir {
            cmd.arg("--directory").arg(dir);
        }
        let out = cmd.stdin(Stdio::null()).output().map_err(|e| {
            format!(
                "cannot run {}: {e}",
                self.config.console.journalctl.display()
            )
        })?;
        if !out.status.success() {
            return Err(output_error("journalctl", &out));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect())
    }

    fn shell(&self) -> Result<(), String> {
        let mut cmd = Command::new(&self.config.console.shell);
        cmd.arg("-l")
            .env("PS1", "hearth-console# ")
            // An abandoned root shell on the serial line ends itself.
            .env("TMOUT", "600");
        // SAFETY: between fork and exec only sigaction, which is
        // async-signal-safe: the console ignores SIGINT and SIGQUIT and
        // catches SIGHUP, SIGWINCH and SIGTERM; the shell and what it runs
        // get the defaults back (an ignored signal stays ignored across
        // exec, and Ctrl-C must stop a command in the shell).
        unsafe {
            cmd.pre_exec(|| {
                use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
                let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
                for signal in [
                    Signal::SIGINT,
                    Signal::SIGQUIT,
                    Signal::SIGHUP,
                    Signal::SIGWINCH,
                    Signal::SIGTERM,
                ] {
                    sigaction(signal, &default).map_err(std::io::Error::from)?;
                }
                Ok(())
            });
        }
        let status = cmd
            .status()
            .map_err(|e| format!("cannot run {}: {e}", self.config.console.shell.display()))?;
        tracing::info!(%status, "console: the root shell ended");
        Ok(())
    }

    fn erase(&self, terminal: &str) -> Result<String, String> {
        let layout = Layout::new(&self.config.servers.storage, &self.config.servers.run_dir);
        let passwd = std::fs::read_to_string("/etc/passwd")
            .map_err(|e| format!("cannot read /etc/passwd: {e}"))?;
        factory::erase(&self.config, &RealHost, &layout, &passwd, terminal)
            .map(|erased| {
                format!(
                    "hearth's state erased, and {} server(s): {}",
                    erased.servers.len(),
                    if erased.servers.is_empty() {
                        "none".to_string()
                    } else {
                        erased.servers.join(", ")
                    }
                )
            })
            .map_err(|e| crate::recovery::carry_out::describe(&e))
    }
}

/// Records what it was asked, for tests.
#[derive(Default)]
pub struct Recording {
    pub calls: std::sync::Mutex<Vec<String>>,
}

impl Recording {
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn push(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
}

impl Machine for Recording {
    fn systemctl(&self, args: &[&str]) -> Result<(), String> {
        self.push(format!("systemctl {}", args.join(" ")));
        Ok(())
    }

    fn log(&self, lines: usize) -> Result<Vec<String>, String> {
        self.push(format!("log {lines}"));
        Ok(vec!["a log line".into()])
    }

    fn shell(&self) -> Result<(), String> {
        self.push("shell".into());
        Ok(())
    }

    fn erase(&self, terminal: &str) -> Result<String, String> {
        self.push(format!("erase {terminal}"));
        Ok("erased".into())
    }
}
