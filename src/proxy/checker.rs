//! The domains' health checker: checks every domain (`health::check`)
//! after each load of Caddy and every few minutes, hands the results to
//! the service and wakes the manager, whose next report carries them. It
//! runs on [`reconcile::follow`]: it beats for the watchdog, and a store
//! that cannot be read is a failed round, logged and tried again with
//! backoff, not an empty list of domains.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::health::check;
use super::service::ProxyService;
use super::stored;
use crate::liveness::Heartbeat;
use crate::reconcile::{self, Connected, Follower, Pace};
use crate::store::StoreError;

/// How often every domain is checked when nothing changes.
const EVERY: Duration = Duration::from_secs(300);
/// How soon after a check that found no certificate: a first one from a
/// public CA can take a while after the load.
const SOON: Duration = Duration::from_secs(30);

/// Runs until `shutdown`: checks every domain after each load report and
/// every `EVERY`, hands the results to the service and `wake`s the
/// manager so that its next report carries them.
pub async fn run(
    service: Arc<ProxyService>,
    https: SocketAddr,
    wake: tokio::sync::watch::Sender<()>,
    heartbeat: Heartbeat,
    shutdown: CancellationToken,
) {
    let checker = Checker {
        service,
        https,
        wake,
    };
    let pace = Pace::new(Duration::from_secs(1), Duration::from_secs(60)).beating(heartbeat);
    reconcile::follow("domain health checker", checker, pace, shutdown).await;
}

struct Checker {
    service: Arc<ProxyService>,
    https: SocketAddr,
    wake: tokio::sync::watch::Sender<()>,
}

/// Why a round of checks could not run.
#[derive(Debug, thiserror::Error)]
pub enum CheckerError {
    #[error("cannot read the domains")]
    ReadDomains(#[source] StoreError),
    #[error("the read of the domains did not finish")]
    ReadDomainsTask(#[source] tokio::task::JoinError),
}

impl Follower for Checker {
    type Error = CheckerError;

    /// Rounds of checks for as long as the store can be read.
    async fn session(&mut self, connected: &Connected) -> Result<(), CheckerError> {
        let mut loads = self.service.subscribe_loads();
        loop {
            let store = self.service.store().clone();
            let domains = tokio::task::spawn_blocking(move || stored::domains(&store))
                .await
                .map_err(CheckerError::ReadDomainsTask)?
                .map_err(CheckerError::ReadDomains)?;
            connected.now();
            let addresses = crate::host::addresses::of_this_machine();
            let mut results = BTreeMap::new();
            for d in &domains {
                results.insert(d.name.to_string(), check(d, self.https, &addresses).await);
            }
            let missing = results.values().any(|h| h.certificate_error.is_some());
            if results != self.service.health() {
                self.service.set_health(results);
                self.wake.send_replace(());
            }
            tokio::select! {
                _ = loads.changed() => {
                    // A first certificate takes a moment after a load:
                    // let Caddy get the new ones before looking.
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                () = tokio::time::sleep(if missing { SOON } else { EVERY }) => {}
            }
        }
    }
}
