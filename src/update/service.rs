//! What the API asks of updates: an upload written to the staging folder
//! as it arrives and checked whole (signature, members, every part's
//! hash) before it is offered; an admin's word to install it (a
//! downgrade only when asked for by name); the word to reboot into it.
//! The manager ([`super::run`]) does the rest.

use std::sync::{Arc, Mutex};

use super::bundle::{Bundle, BundleError};
use super::keys::TrustedKeys;
use super::manifest::Manifest;
use super::model::Asked;
use super::model::status::Available;
use super::policy::{InstallRefused, may_install};
use super::staging::{Progress, Staging, StagingError, Writer};
use super::stored;
use super::version::Version;
use crate::clock::now_ms;
use crate::refusal::Refusal;
use crate::store::{AuditEntry, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Staging(#[from] StagingError),
    #[error("the bundle is refused: {0}")]
    Bundle(#[from] BundleError),
    #[error("this box has no update keys: no bundle can be trusted")]
    NoKeys,
    #[error("an update is under way (hearth {0}): wait for its end")]
    Busy(String),
    #[error("no checked bundle is waiting: upload one first")]
    NothingAvailable,
    #[error("the bundle waiting is hearth {available}, not {asked}")]
    WrongVersion { asked: String, available: String },
    #[error(transparent)]
    Refused(#[from] InstallRefused),
    #[error("no install waits for a reboot")]
    NothingToReboot,
    #[error("this box's own version ({0:?}) is not a release version")]
    RunningVersion(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ServiceError> for Refusal {
    fn from(e: ServiceError) -> Refusal {
        match e {
            ServiceError::Staging(StagingError::NoRoom { .. }) => Refusal::StorageFull,
            ServiceError::Staging(
                e @ (StagingError::TooLarge { .. }
                | StagingError::Empty
                | StagingError::TooMuch { .. }),
            ) => Refusal::invalid("body", e.to_string()),
            ServiceError::Staging(
                e @ (StagingError::WrongOffset { .. } | StagingError::NothingToResume),
            ) => Refusal::Conflict(e.to_string()),
            ServiceError::Staging(e @ StagingError::Io { .. }) => Refusal::Internal(e.to_string()),
            e @ ServiceError::Bundle(_) => Refusal::invalid("body", e.to_string()),
            e @ ServiceError::WrongVersion { .. } => Refusal::invalid("version", e.to_string()),
            e @ ServiceError::Refused(_) => Refusal::invalid("version", e.to_string()),
            e @ (ServiceError::Busy(_)
            | ServiceError::NothingAvailable
            | ServiceError::NothingToReboot) => Refusal::Conflict(e.to_string()),
            e @ (ServiceError::NoKeys | ServiceError::RunningVersion(_)) => {
                Refusal::Unavailable(e.to_string())
            }
            ServiceError::Store(e) => e.into(),
        }
    }
}

/// A checked bundle: what is offered, and its manifest for the policy.
#[derive(Debug, Clone)]
struct Offered {
    available: Available,
    manifest: Manifest,
}

pub struct UpdateService {
    store: Store,
    staging: Staging,
    keys: Option<TrustedKeys>,
    os_version: String,
    /// Shared with the manager, which publishes it.
    available: Arc<Mutex<Option<Available>>>,
    offered: Mutex<Option<Offered>>,
}

impl UpdateService {
    /// The service over `staging`; a bundle staged before a restart is
    /// offered again once its signature checks out.
    pub fn new(
        store: Store,
        staging: Staging,
        keys: Option<TrustedKeys>,
        os_version: String,
        available: Arc<Mutex<Option<Available>>>,
    ) -> UpdateService {
        let service = UpdateService {
            store,
            staging,
            keys,
            os_version,
            available,
            offered: Mutex::new(None),
        };
        service.offer_staged();
        service
    }

    fn offer_staged(&self) {
        let Some(keys) = &self.keys else { return };
        let Ok(entries) = std::fs::read_dir(self.staging.dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".bundle") else {
                continue;
            };
            let opened = std::fs::File::open(entry.path())
                .map_err(BundleError::Read)
                .and_then(|file| Bundle::open(&file, keys).map(|b| (file, b)));
            match opened {
                Ok((file, bundle)) => {
                    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                    self.offer(id, &bundle, size);
                }
                Err(e) => {
                    tracing::warn!(bundle = %name, error = %e, "update: a staged bundle no longer checks out")
                }
            }
        }
    }

    fn offer(&self, id: &str, bundle: &Bundle, size: u64) {
        let manifest = bundle.manifest().clone();
        let running: Option<Version> = self.os_version.parse().ok();
        let available = Available {
            bundle: id.to_string(),
            version: manifest.version.to_string(),
            min_version: manifest.min_version.to_string(),
            commit: manifest.commit.clone(),
            size,
            downgrade: running.is_some_and(|r| manifest.version <= r),
        };
        *self.available.lock().unwrap_or_else(|e| e.into_inner()) = Some(available.clone());
        *self.offered.lock().unwrap_or_else(|e| e.into_inner()) = Some(Offered {
            available,
            manifest,
        });
    }

    fn forget_offer(&self) {
        *self.available.lock().unwrap_or_else(|e| e.into_inner()) = None;
        *self.offered.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn not_busy(&self) -> Result<(), ServiceError> {
        if let Some(u) = stored::underway(&self.store)? {
            return Err(ServiceError::Busy(u.version));
        }
        if let Some(a) = stored::asked(&self.store)? {
            return Err(ServiceError::Busy(a.version));
        }
        Ok(())
    }

    /// Starts an upload of `size` bytes (in place of any other, and of
    /// the bundle offered).
    pub async fn begin_upload(&self, size: u64) -> Result<Writer, ServiceError> {
        self.not_busy()?;
        self.keys.as_ref().ok_or(ServiceError::NoKeys)?;
        self.forget_offer();
        Ok(self.staging.begin(size).await?)
    }

    pub async fn resume_upload(&self, offset: u64) -> Result<Writer, ServiceError> {
        self.not_busy()?;
        Ok(self.staging.resume(offset).await?)
    }

    pub fn upload_progress(&self) -> Result<Option<Progress>, ServiceError> {
        Ok(self.staging.pending()?)
    }

    /// Checks the whole upload (its signature with the box's keys, its
    /// members, every part's hash) and offers it; a bundle that does not
    /// check out is removed, and the error says why.
    pub async fn finish_upload(
        &self,
        entry: AuditEntry,
    ) -> Result<Option<Available>, ServiceError> {
        let Some(path) = self.staging.whole()? else {
            return Ok(None);
        };
        let keys = self.keys.clone().ok_or(ServiceError::NoKeys)?;
        let checked = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&path).map_err(BundleError::Read)?;
            let bundle = Bundle::open(&file, &keys)?;
            bundle.check(&file, &mut |_| Ok(()))?;
            let size = file.metadata().map_err(BundleError::Read)?.len();
            Ok::<_, BundleError>((bundle, size))
        })
        .await
        .map_err(|e| BundleError::Read(std::io::Error::other(e)))?;
        let (bundle, size) = match checked {
            Ok(checked) => checked,
            Err(e) => {
                self.staging.cancel()?;
                return Err(e.into());
            }
        };
        let id = new_bundle_id();
        self.staging.stage(&id)?;
        self.offer(&id, &bundle, size);
        self.store.audit(entry)?;
        Ok(self
            .available
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone())
    }

    /// Drops the upload and the bundle offered; whether there was any.
    pub fn cancel_upload(&self) -> Result<bool, ServiceError> {
        self.not_busy()?;
        self.forget_offer();
        Ok(self.staging.cancel()?)
    }

    /// An admin's word to install the bundle offered, which must be
    /// `version`; `downgrade` names it as one (the same or an older
    /// version than what runs is refused otherwise).
    pub fn ask_install(
        &self,
        version: &str,
        downgrade: bool,
        by: &str,
        entry: AuditEntry,
    ) -> Result<Asked, ServiceError> {
        self.not_busy()?;
        // The manager takes the offer back once an install is done with
        // its bundle.
        if self
            .available
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
        {
            return Err(ServiceError::NothingAvailable);
        }
        let offered = self
            .offered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(ServiceError::NothingAvailable)?;
        if offered.available.version != version {
            return Err(ServiceError::WrongVersion {
                asked: version.to_string(),
                available: offered.available.version,
            });
        }
        let running: Version = self
            .os_version
            .parse()
            .map_err(|_| ServiceError::RunningVersion(self.os_version.clone()))?;
        let named = downgrade.then_some(offered.manifest.version);
        may_install(running, &offered.manifest, named)?;
        let asked = Asked {
            bundle: offered.available.bundle,
            version: version.to_string(),
            by: by.to_string(),
            at_ms: now_ms(),
        };
        stored::ask(&self.store, entry, &asked)?;
        Ok(asked)
    }

    /// The word to reboot into the slot written.
    pub fn ask_reboot(&self, entry: AuditEntry) -> Result<(), ServiceError> {
        let mut underway = stored::underway(&self.store)?
            .filter(|u| u.written.is_some())
            .ok_or(ServiceError::NothingToReboot)?;
        underway.reboot_asked = true;
        stored::put_underway(&self.store, entry, &underway)?;
        Ok(())
    }
}

/// A new staged bundle's id: 32 random hex digits.
fn new_bundle_id() -> String {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("the system's random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
