//! Starts the firewall: its service (the API's), and where hearth manages
//! the firewall, its manager on `reconcile::run`, woken by a change of
//! the policy, reporting on the `firewall` topic. An unconfirmed change
//! left by a crash or power cut is taken back first, before anything is
//! applied.

use std::sync::Arc;
use std::time::Duration;

use super::adapter::{Nft, NftBinary};
use super::run::FirewallManager;
use super::service::FirewallService;
use super::stored;
use crate::component::Component;
use crate::config::Config;
use crate::connection_epoch::ConnectionEpoch;
use crate::reconcile::{Launch, Observation, Timing, Wakes};
use crate::store::{Store, StoreError, Table};

/// How often the manager reads the kernel's table back when nothing woke
/// it: it puts back hand edits and refreshes the counters.
const DRIFT: Duration = Duration::from_secs(10);

pub fn start(
    config: &Config,
    store: &Store,
    https_port: u16,
    epoch: ConnectionEpoch,
    launch: &mut Launch<'_>,
) -> Result<Arc<FirewallService>, StoreError> {
    let service = |nft| {
        Arc::new(FirewallService::new(
            store.clone(),
            nft,
            https_port,
            config.firewall.confirm_window,
            epoch,
        ))
    };
    if !config.firewall.manage {
        let why =
            "--dev leaves this machine's firewall alone (set firewall.manage = true to manage it)";
        launch.not_present(Component::Firewall, why);
        return Ok(service(Observation::NotPresent { reason: why.into() }));
    }
    if stored::roll_back(store, "not confirmed before hearth stopped")? {
        tracing::warn!("an unconfirmed firewall change was taken back at start");
    }
    let nft: Arc<dyn Nft> = Arc::new(NftBinary::system());
    let service = service(Observation::Present(nft.clone()));
    launch.manager(
        FirewallManager::new(service.clone(), nft),
        Wakes::new().watch("store", store.watch(Table::Firewall)),
        Timing {
            drift: DRIFT,
            ..Timing::default()
        },
    );
    Ok(service)
}
