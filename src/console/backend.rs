//! Where the console's requests go: to the running daemon over its control
//! socket, or, when nothing answers there, to the store itself, opened
//! for that one request and closed again (so a daemon starting meanwhile
//! is held up for a moment at most). redb's lock decides: a store the
//! daemon holds is never opened a second time.

use std::path::PathBuf;
use std::sync::Arc;

use super::screen::{Banner, Daemon};
use crate::config::Config;
use crate::control::client::{self, ClientError};
use crate::control::protocol::{Answer, Ask, Request};
use crate::recovery::Recovery;
use crate::store::{Store, StoreError};

/// What the console asks, and what it shows.
pub trait Backend {
    fn ask(&self, request: Request) -> Answer;
    fn banner(&self) -> Banner;
    /// The terminal's name (the audit records' source).
    fn terminal(&self) -> String;
    /// Whether hearth manages this box's firewall (`[firewall] manage`):
    /// when it does not, there is nothing for the console to reset.
    fn manages_firewall(&self) -> bool;
    /// Holds off the box's other consoles while the guard lives (a
    /// factory reset, a restart, an action on the store); refused, with
    /// why, while another console holds it.
    fn exclusive(&self) -> Result<Box<dyn std::any::Any>, String>;
}

/// The box the console runs on.
pub struct OnThisBox {
    pub config: Config,
    pub terminal: String,
    pub socket: PathBuf,
    /// What is wrong with the console's own setup (a refused config
    /// file), shown on the banner.
    pub problem: Option<String>,
}

impl OnThisBox {
    pub fn new(config: Config, terminal: &str) -> OnThisBox {
        let socket = config.runtime_dir.join(crate::control::SOCKET_FILE);
        OnThisBox {
            config,
            terminal: terminal.to_string(),
            socket,
            problem: None,
        }
    }

    fn ask_daemon(&self, request: Request) -> Result<Answer, ClientError> {
        client::ask(
            &self.socket,
            &Ask {
                terminal: self.terminal.clone(),
                request,
            },
            client::ANSWER_TIMEOUT,
        )
    }

    /// The daemon's status, waited for briefly: a hung daemon must not
    /// freeze the banner.
    fn ask_status(&self) -> Result<Answer, ClientError> {
        client::ask(
            &self.socket,
            &Ask {
                terminal: self.terminal.clone(),
                request: Request::Status,
            },
            client::STATUS_TIMEOUT,
        )
    }

    /// Carries out `request` on the store directly (the daemon is down).
    fn offline(&self, request: Request) -> Answer {
        let failed = |message: String| Answer::Failed { message };
        if matches!(request, Request::Status) {
            return failed("hearth is not running".into());
        }
        let file = self.config.state_dir.join(crate::store::STORE_FILE);
        if !file.exists() {
            return failed(format!(
                "hearth has no state yet ({} is missing): nothing to reset",
                file.display()
            ));
        }
        let _one_console = match self.exclusive() {
            Ok(guard) => guard,
            Err(why) => return failed(why),
        };
        // Root opens only a plain file of the state dir's owner: hearth's
        // user can write that folder, and a link there must not lead
        // root's writes to another file.
        if let Err(why) = plain_file_of_folder_owner(&file, &self.config.state_dir) {
            return failed(why);
        }
        let store = match Store::open(&self.config.state_dir) {
            Ok(store) => store,
            Err(StoreError::Locked { .. }) => {
                return failed(
                    "hearth holds its store but does not answer on its control socket: it is starting or stopping; try again in a moment".into(),
                );
            }
            Err(e) => return failed(format!("cannot open hearth's store: {e}")),
        };
        let recovery = Arc::new(Recovery::for_config(&self.config, store));
        let ask = Ask {
            terminal: self.terminal.clone(),
            request,
        };
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(crate::control::carry_out::carry_out(recovery, ask)),
            Err(e) => failed(format!("cannot start: {e}")),
        }
        // The store is closed here, with the last handle.
    }
}

impl Backend for OnThisBox {
    fn terminal(&self) -> String {
        self.terminal.clone()
    }

    fn manages_firewall(&self) -> bool {
        self.config.firewall.manage
    }

    /// An exclusive `flock` on the state folder, which every console of
    /// the box opens (it stays through a factory reset: only what it
    /// holds is erased).
    fn exclusive(&self) -> Result<Box<dyn std::any::Any>, String> {
        use nix::fcntl::{Flock, FlockArg};
        let dir = &self.config.state_dir;
        let folder = std::fs::File::open(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        match Flock::lock(folder, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(Box::new(lock)),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                Err("Another console is busy with the box: try again in a moment.".into())
            }
            Err((_, e)) => Err(format!("cannot lock {}: {e}", dir.display())),
        }
    }

    fn ask(&self, request: Request) -> Answer {
        match self.ask_daemon(request.clone()) {
            Ok(answer) => answer,
            Err(ClientError::NotRunning(_)) => self.offline(request),
            Err(e) => Answer::Failed {
                message: e.to_string(),
            },
        }
    }

    fn banner(&self) -> Banner {
        let port = self.config.listen.port();
        let (daemon, port, setup_complete, served) = match self.ask_status() {
            Ok(Answer::Status {
                setup_complete,
                https_port,
                fingerprint,
                health,
            }) => (
                Daemon::Ready {
                    health: health.into_iter().map(|h| (h.component, h.state)).collect(),
                },
                https_port,
                Some(setup_complete),
                fingerprint,
            ),
            Ok(other) => (Daemon::Unclear(format!("{other:?}")), port, None, None),
            Err(ClientError::NotRunning(_)) => {
                let daemon = match crate::store::check_set_up_state(&self.config.state_dir) {
                    Ok(()) => Daemon::NotRunning,
                    Err(lost) => Daemon::StoreLost(lost.to_string()),
                };
                (daemon, port, None, None)
            }
            Err(e) => (Daemon::Unclear(e.to_string()), port, None, None),
        };
        // The code file exists only in setup mode (the daemon deletes it
        // when setup is done, and its runtime folder goes when it stops).
        let setup_code = std::fs::read_to_string(
            self.config
                .runtime_dir
                .join(crate::config::paths::SETUP_CODE_FILE),
        )
        .ok()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty() && setup_complete != Some(true));
        let path = if setup_code.is_some() { "/setup" } else { "/" };
        Banner {
            hostname: super::hostname(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            terminal: self.terminal.clone(),
            daemon,
            urls: urls(self.config.listen.ip(), port, path),
            // What is served; the file only while hearth is down.
            fingerprint: served.or_else(|| {
                crate::tls::fingerprint_of_file(&self.config.state_dir, self.config.tls.as_ref())
            }),
            setup_code,
            problem: self.problem.clone(),
        }
    }
}

/// Whether `file` is a plain file (not a link) owned by whoever owns
/// `folder`.
fn plain_file_of_folder_owner(
    file: &std::path::Path,
    folder: &std::path::Path,
) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let owner = std::fs::metadata(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    if !meta.file_type().is_file() || meta.uid() != owner.uid() {
        return Err(format!(
            "{} is not a plain file of {}'s owner: not opened",
            file.display(),
            folder.display()
        ));
    }
    Ok(())
}

/// The admin URLs: the listen address itself when it is one, else every
/// address of the box a person could type.
fn urls(listen: std::net::IpAddr, port: u16, path: &str) -> Vec<String> {
    let addresses = if listen.is_unspecified() {
        crate::host::addresses::of_this_machine()
    } else {
        vec![listen]
    };
    addresses
        .into_iter()
        .map(|a| match a {
            std::net::IpAddr::V4(v4) => format!("https://{v4}:{port}{path}"),
            std::net::IpAddr::V6(v6) => format!("https://[{v6}]:{port}{path}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listen_address_is_the_url_and_ipv6_goes_in_brackets() {
        assert_eq!(
            urls("127.0.0.1".parse().unwrap(), 8443, "/setup"),
            ["https://127.0.0.1:8443/setup"]
        );
        assert_eq!(
            urls("2001:db8::1".parse().unwrap(), 8443, "/"),
            ["https://[2001:db8::1]:8443/"]
        );
    }
}
