//! The seam to what the update manager drives: the update helper (the
//! slots, the install), logind (the reboot) and the journal (a failed
//! slot's boots) behind [`Slots`]; [`RecordingSlots`] plays them for the
//! manager's unit tests (the helper itself is tested on a loop device,
//! the whole walk in the VM).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use tokio::sync::watch;

use super::model::FailedBoot;
use super::plan::Job;
use super::slots::client::UpdateHelperClient;
use super::slots::protocol::{BundleId, Slot, Status};
use crate::system::units::{Power, Units};

/// What the manager asks of the box.
pub trait Slots: Send + Sync + 'static {
    /// Which slot runs, and each slot's boot entry.
    fn status(&self) -> BoxFuture<'_, Result<Status, String>>;
    /// Starts writing `bundle` into the slot that does not run; its
    /// progress and its end go to `job` (the manager wakes on it).
    fn install(&self, bundle: BundleId, job: watch::Sender<Job>);
    fn mark_bad(&self, slot: Slot) -> BoxFuture<'_, Result<(), String>>;
    fn trust_next_key(&self) -> BoxFuture<'_, Result<(), String>>;
    fn reboot(&self) -> BoxFuture<'_, Result<(), String>>;
    /// The boots since `since_ms` but the one running, each with the end
    /// of its journal.
    fn failed_boots(&self, since_ms: u64) -> BoxFuture<'_, Vec<FailedBoot>>;
}

/// The real ones: the helper's socket, logind over D-Bus, `journalctl`.
pub struct RealSlots {
    pub helper: UpdateHelperClient,
    pub units: Option<Arc<Units>>,
    /// A journal folder of its own (tests); the system's when none.
    pub journal_dir: Option<PathBuf>,
}

impl Slots for RealSlots {
    fn status(&self) -> BoxFuture<'_, Result<Status, String>> {
        Box::pin(async move { self.helper.status().await.map_err(|e| e.to_string()) })
    }

    fn install(&self, bundle: BundleId, job: watch::Sender<Job>) {
        let helper = self.helper.clone();
        job.send_replace(Job::Running(None));
        tokio::spawn(async move {
            let progress_job = job.clone();
            let mut progress = move |p| {
                progress_job.send_replace(Job::Running(Some(p)));
            };
            let end = match helper.install(bundle, &mut progress).await {
                Ok(installed) => Job::Done(installed),
                Err(e) => Job::Failed {
                    step: e.step(),
                    error: e.to_string(),
                },
            };
            job.send_replace(end);
        });
    }

    fn mark_bad(&self, slot: Slot) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.helper
                .mark_bad(slot)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        })
    }

    fn trust_next_key(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.helper
                .trust_next_key()
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        })
    }

    fn reboot(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let units = self
                .units
                .as_ref()
                .ok_or("hearth does not manage the system here (--dev)")?;
            units.power(Power::Reboot).await.map_err(|e| e.to_string())
        })
    }

    fn failed_boots(&self, since_ms: u64) -> BoxFuture<'_, Vec<FailedBoot>> {
        let dir = self.journal_dir.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                super::journal::failed_boots(dir.as_deref(), since_ms)
            })
            .await
            .unwrap_or_default()
        })
    }
}

/// What [`RecordingSlots`] was asked, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Install(String),
    MarkBad(Slot),
    TrustNextKey,
    Reboot,
}

/// Plays the helper for unit tests: answers the status it is given,
/// records each call, and ends an install as told.
#[derive(Clone)]
pub struct RecordingSlots {
    pub status: Arc<Mutex<Status>>,
    pub calls: Arc<Mutex<Vec<Call>>>,
    /// How the next install ends.
    pub install_ends: Arc<Mutex<Job>>,
    pub boots: Vec<FailedBoot>,
    /// Answers no status (as the real helper, busy with an install).
    pub busy: Arc<Mutex<bool>>,
}

impl RecordingSlots {
    pub fn new(status: Status) -> RecordingSlots {
        RecordingSlots {
            status: Arc::new(Mutex::new(status)),
            calls: Arc::default(),
            install_ends: Arc::new(Mutex::new(Job::Idle)),
            boots: Vec::new(),
            busy: Arc::default(),
        }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn record(&self, call: Call) {
        self.calls.lock().unwrap().push(call);
    }
}

impl Slots for RecordingSlots {
    fn status(&self) -> BoxFuture<'_, Result<Status, String>> {
        let status = self.status.lock().unwrap().clone();
        let busy = *self.busy.lock().unwrap();
        Box::pin(async move {
            if busy {
                return Err("the helper is busy writing a slot".into());
            }
            Ok(status)
        })
    }

    fn install(&self, bundle: BundleId, job: watch::Sender<Job>) {
        self.record(Call::Install(bundle.as_str().to_string()));
        job.send_replace(self.install_ends.lock().unwrap().clone());
    }

    fn mark_bad(&self, slot: Slot) -> BoxFuture<'_, Result<(), String>> {
        self.record(Call::MarkBad(slot));
        Box::pin(async { Ok(()) })
    }

    fn trust_next_key(&self) -> BoxFuture<'_, Result<(), String>> {
        self.record(Call::TrustNextKey);
        Box::pin(async { Ok(()) })
    }

    fn reboot(&self) -> BoxFuture<'_, Result<(), String>> {
        self.record(Call::Reboot);
        Box::pin(async { Ok(()) })
    }

    fn failed_boots(&self, _since_ms: u64) -> BoxFuture<'_, Vec<FailedBoot>> {
        let boots = self.boots.clone();
        Box::pin(async move { boots })
    }
}

/// The most boots whose journal a fallback keeps.
pub const BOOTS_KEPT: usize = 5;
