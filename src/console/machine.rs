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

#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    #[error("cannot run {}", .path.display())]
    Run {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The command ran and failed; `said` is the last line it printed.
    #[error("{what} failed ({status}){}{said}", if said.is_empty() { "" } else { ": " })]
    Failed {
        what: String,
        status: std::process::ExitStatus,
        said: String,
    },
    #[error("cannot read /etc/passwd")]
    Passwd(#[source] std::io::Error),
    #[error("the factory reset stopped")]
    Erase(#[from] factory::FactoryError),
}

pub trait Machine {
    /// Runs `systemctl ARGS`.
    fn systemctl(&self, args: &[&str]) -> Result<(), MachineError>;
    /// The last `lines` lines of hearth's log.
    fn log(&self, lines: usize) -> Result<Vec<String>, MachineError>;
    /// Runs the root shell on this terminal until it ends.
    fn shell(&self) -> Result<(), MachineError>;
    /// Erases hearth's state and every server's data (hearth stopped);
    /// says what was erased.
    fn erase(&self, terminal: &str) -> Result<String, MachineError>;
}

/// This machine, through the configured tools.
pub struct Real {
    pub config: Config,
}

fn output_error(what: &str, out: &std::process::Output) -> MachineError {
    MachineError::Failed {
        what: what.to_string(),
        status: out.status,
        said: String::from_utf8_lossy(&out.stderr)
            .trim()
            .lines()
            .last()
            .unwrap_or("")
            .to_string(),
    }
}

fn run_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> MachineError + use<> {
    let path = path.to_path_buf();
    move |source| MachineError::Run { path, source }
}

impl Machine for Real {
    fn systemctl(&self, args: &[&str]) -> Result<(), MachineError> {
        let out = Command::new(&self.config.console.systemctl)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(run_error(&self.config.console.systemctl))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(output_error(&format!("systemctl {}", args.join(" ")), &out))
        }
    }

    fn log(&self, lines: usize) -> Result<Vec<String>, MachineError> {
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
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(run_error(&self.config.console.journalctl))?;
        if !out.status.success() {
            return Err(output_error("journalctl", &out));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect())
    }

    fn shell(&self) -> Result<(), MachineError> {
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
            .map_err(run_error(&self.config.console.shell))?;
        tracing::info!(%status, "console: the root shell ended");
        Ok(())
    }

    fn erase(&self, terminal: &str) -> Result<String, MachineError> {
        let layout = Layout::new(&self.config.servers.storage, &self.config.servers.run_dir);
        let passwd = std::fs::read_to_string("/etc/passwd").map_err(MachineError::Passwd)?;
        let erased = factory::erase(&self.config, &RealHost, &layout, &passwd, terminal)?;
        let servers = if erased.servers.is_empty() {
            "none".to_string()
        } else {
            erased.servers.join(", ")
        };
        Ok(format!(
            "hearth's state erased, and {} server(s): {servers}",
            erased.servers.len()
        ))
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
    fn systemctl(&self, args: &[&str]) -> Result<(), MachineError> {
        self.push(format!("systemctl {}", args.join(" ")));
        Ok(())
    }

    fn log(&self, lines: usize) -> Result<Vec<String>, MachineError> {
        self.push(format!("log {lines}"));
        Ok(vec!["a log line".into()])
    }

    fn shell(&self) -> Result<(), MachineError> {
        self.push("shell".into());
        Ok(())
    }

    fn erase(&self, terminal: &str) -> Result<String, MachineError> {
        self.push(format!("erase {terminal}"));
        Ok("erased".into())
    }
}
