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
use crate::firewall::adapter::{Nft, NftBinary};
use crate::recovery::Recovery;
use crate::store::{Store, StoreError};

/// What the console asks, and what it shows.
pub trait Backend {
    fn ask(&self, request: Request) -> Answer;
    fn banner(&self) -> Banner;
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
        let store = match Store::open(&self.config.state_dir) {
            Ok(store) => store,
            Err(StoreError::Locked { .. }) => {
                return failed(
                    "hearth holds its store but does not answer on its control socket: it is starting or stopping; try again in a moment".into(),
                );
            }
            Err(e) => return failed(format!("cannot open hearth's store: {e}")),
        };
        let nft: Option<Arc<dyn Nft>> = self
            .config
            .firewall
            .manage
            .then(|| Arc::new(NftBinary::system()) as Arc<dyn Nft>);
        let recovery = Arc::new(Recovery::new(
            store,
            &self.config.state_dir,
            self.config.tls.clone(),
            nft,
        ));
        let ask = Ask {
            terminal: self.terminal.clone(),
            request,
        };
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(crate::control::server::run(recovery, ask)),
            Err(e) => failed(format!("cannot start: {e}")),
        }
        // The store is closed here, with the last handle.
    }
}

impl Backend for OnThisBox {
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
        let (daemon, port, setup_complete) = match self.ask_daemon(Request::Status) {
            Ok(Answer::Status {
                setup_complete,
                https_port,
                health,
            }) => (
                Daemon::Ready {
                    health: health.into_iter().map(|h| (h.component, h.state)).collect(),
                },
                https_port,
                Some(setup_complete),
            ),
            Ok(other) => (
                Daemon::Unclear(format!("{other:?}")),
                self.config.listen.port(),
                None,
            ),
            Err(ClientError::NotRunning(_)) => {
                (Daemon::NotRunning, self.config.listen.port(), None)
            }
            Err(e) => (
                Daemon::Unclear(e.to_string()),
                self.config.listen.port(),
                None,
            ),
        };
        // The code file exists only in setup mode (the daemon deletes it
        // when setup is done, and its runtime folder goes when it stops).
        let setup_code =
            std::fs::read_to_string(self.config.runtime_dir.join(crate::daemon::SETUP_CODE_FILE))
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
            fingerprint: crate::http::tls::fingerprint_of_file(
                &self.config.state_dir,
                self.config.tls.as_ref(),
            ),
            setup_code,
            problem: self.problem.clone(),
        }
    }
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
