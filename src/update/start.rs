//! Starts the update manager where hearth manages the updates (not under
//! `--dev`): the helper's client, the job it follows, the versions of
//! what runs; its report goes to the `update` topic.

use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::adapter::RealSlots;
use super::keys::TrustedKeys;
use super::model::status::Available;
use super::plan::Job;
use super::run::{Running, UpdateManager};
use super::slots::client::UpdateHelperClient;
use super::staging::Staging;
use crate::component::Component;
use crate::config::Config;
use crate::reconcile::{Launch, Timing, Wakes};
use crate::store::{Store, Table};
use crate::system::units::Units;

/// The staging folder in the state folder: the update helper reads
/// `<state_dir>/updates/<id>.bundle` (`/var/lib/hearth/updates`).
pub const STAGING: &str = "updates";

/// Where the running OS says its version (the image writes it).
const OS_VERSION: &str = "/usr/lib/hearth/version";

/// What the API needs of a running update manager: the checked bundle it
/// offers (set by the upload, read by the manager).
#[derive(Clone, Default)]
pub struct UpdateHandle {
    pub available: Arc<Mutex<Option<Available>>>,
}

pub fn start(
    config: &Config,
    store: &Store,
    units: Option<Arc<Units>>,
    launch: &mut Launch<'_>,
) -> Option<UpdateHandle> {
    let u = &config.update;
    if !u.manage {
        launch.not_present(
            Component::Update,
            "--dev leaves the root slots alone (set update.manage = true to drive updates)",
        );
        return None;
    }
    let trusts_test_key = match TrustedKeys::load(&u.keys) {
        Ok(keys) => keys.trusts_test_key(),
        Err(e) => {
            tracing::error!(error = %e, "update: no trusted keys; no bundle can be installed");
            false
        }
    };
    if trusts_test_key {
        tracing::warn!("update: this box trusts the repository's TEST key: a test image");
    }
    let running = Running {
        os_version: os_version(Path::new(OS_VERSION)),
        trusts_test_key,
    };
    let handle = UpdateHandle::default();
    let (job, job_changes) = watch::channel(Job::Idle);
    let slots = RealSlots {
        helper: UpdateHelperClient::new(&u.helper_socket),
        units,
        journal_dir: None,
    };
    let staging = Staging::new(config.state_dir.join(STAGING));
    launch.manager(
        UpdateManager::new(store.clone(), slots, job, handle.available.clone(), running)
            .with_staging(staging),
        Wakes::new()
            .watch("store", store.watch(Table::Updates))
            .watch("install", job_changes),
        Timing::default(),
    );
    Some(handle)
}

/// The first line of the OS's version file; `unknown` without one.
fn os_version(path: &Path) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.lines().next().map(str::trim).map(str::to_string))
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".into())
}
