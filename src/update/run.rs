//! The update manager on [`crate::reconcile::run`]: each pass reads the
//! store's word and install, asks the helper for the slots, and walks an
//! update one step (see [`super::plan`]). The install itself runs in a
//! job the adapter starts and the manager follows (a pass is short);
//! each of its progress lines wakes a pass, which publishes it.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::adapter::Slots;
use super::error::UpdateError;
use super::model::status::{Available, UpdateStatus};
use super::model::{HistoryEntry, Outcome, Underway, Written};
use super::plan::{self, Desired, Job, Observed, Plan};
use super::slots::protocol::BundleId;
use super::staging::Staging;
use super::stored;
use crate::clock::now_ms;
use crate::component::Component;
use crate::reconcile::{Manager, Observation};
use crate::store::pre_update::UpdateMark;
use crate::store::{AuditAction, AuditEntry, Store};

/// What the running OS is, told once at start.
#[derive(Debug, Clone)]
pub struct Running {
    /// `/usr/lib/hearth/version`.
    pub os_version: String,
    pub trusts_test_key: bool,
}

pub struct UpdateManager<S: Slots> {
    store: Store,
    slots: S,
    job: watch::Sender<Job>,
    /// The checked bundle waiting for an admin, set by the service.
    available: Arc<Mutex<Option<Available>>>,
    running: Running,
    /// Where the bundle was staged: emptied once the helper is done
    /// with it (it takes the size of a root slot on /var).
    staging: Option<Staging>,
    /// The helper's last answer (see `observed_now`).
    last_slots: Option<super::slots::protocol::Status>,
}

impl<S: Slots> UpdateManager<S> {
    pub fn new(
        store: Store,
        slots: S,
        job: watch::Sender<Job>,
        available: Arc<Mutex<Option<Available>>>,
        running: Running,
    ) -> Self {
        UpdateManager {
            store,
            slots,
            job,
            available,
            running,
            staging: None,
            last_slots: None,
        }
    }

    /// Empties `staging` once an install no longer needs its bundle.
    pub fn with_staging(mut self, staging: Staging) -> Self {
        self.staging = Some(staging);
        self
    }

    /// The staged bundle is done with (written, or failed): its room back.
    fn drop_bundle(&self) {
        *self.available.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if let Some(staging) = &self.staging
            && let Err(e) = staging.cancel()
        {
            tracing::warn!(error = %e, "update: cannot remove the staged bundle");
        }
    }

    fn desired_now(&self) -> Result<Desired, UpdateError> {
        Ok(Desired {
            asked: stored::asked(&self.store)?,
            underway: stored::underway(&self.store)?,
            last: stored::history(&self.store)?.pop(),
        })
    }

    async fn observed_now(&mut self) -> Result<Observed, UpdateError> {
        let job = self.job.borrow().clone();
        // The helper answers one request at a time: while it writes a
        // slot (minutes), a status request would wait for the end and
        // hold the pass past the watchdog. The slots do not change
        // meanwhile but by the job itself, whose end is observed.
        let slots = match (&job, &self.last_slots) {
            (Job::Running(_), Some(slots)) => slots.clone(),
            _ => {
                let slots = self.slots.status().await.map_err(UpdateError::Status)?;
                self.last_slots = Some(slots.clone());
                slots
            }
        };
        Ok(Observed {
            slots,
            os_version: self.running.os_version.clone(),
            job,
            available: self
                .available
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            trusts_test_key: self.running.trusts_test_key,
        })
    }

    fn underway(&self) -> Result<Underway, UpdateError> {
        stored::underway(&self.store)?
            .ok_or_else(|| UpdateError::Status("no install under way".into()))
    }

    /// Ends the update under way (or the word) as `outcome` says.
    fn end(
        &self,
        action: AuditAction,
        outcome: Outcome,
        detail: String,
        failed_boots: Vec<super::model::FailedBoot>,
    ) -> Result<(), UpdateError> {
        let (version, from_version) =
            match (stored::underway(&self.store)?, stored::asked(&self.store)?) {
                (Some(u), _) => (u.version, u.from_version),
                (None, Some(a)) => (a.version, self.running.os_version.clone()),
                (None, None) => (String::new(), self.running.os_version.clone()),
            };
        let ended = HistoryEntry {
            at_ms: now_ms(),
            version: version.clone(),
            from_version,
            outcome,
            detail,
            failed_boots,
        };
        let entry = AuditEntry::system(action, &format!("hearth {version}"));
        stored::end(&self.store, entry, &ended)?;
        self.job.send_replace(Job::Idle);
        self.drop_bundle();
        Ok(())
    }

    async fn carry_out(&mut self, plan: Plan) -> Result<(), UpdateError> {
        match plan {
            Plan::Nothing => {}
            Plan::Start { asked, target } => {
                let Ok(bundle) = BundleId::try_from(asked.bundle.as_str()) else {
                    let why = format!("{:?} is not a bundle id", asked.bundle);
                    return self.end(AuditAction::UpdateFailed, Outcome::Failed, why, vec![]);
                };
                let underway = Underway {
                    bundle: asked.bundle.clone(),
                    version: asked.version.clone(),
                    from_version: self.running.os_version.clone(),
                    target,
                    by: asked.by.clone(),
                    started_ms: now_ms(),
                    written: None,
                    reboot_asked: false,
                };
                let what = format!("hearth {} into slot {target}", asked.version);
                stored::begin(
                    &self.store,
                    AuditEntry::system(AuditAction::UpdateAsk, &what),
                    &underway,
                )?;
                tracing::info!(version = %asked.version, slot = %target, "update: writing the other slot");
                self.slots.install(bundle, self.job.clone());
            }
            Plan::Written(installed) => {
                let mut underway = self.underway()?;
                underway.written = Some(Written {
                    generation: installed.generation,
                    entry: installed.entry.clone(),
                    at_ms: now_ms(),
                });
                let what = format!(
                    "hearth {} in slot {} ({})",
                    installed.version, installed.slot, installed.entry
                );
                stored::put_underway(
                    &self.store,
                    AuditEntry::system(AuditAction::UpdateWritten, &what),
                    &underway,
                )?;
                self.job.send_replace(Job::Idle);
                self.drop_bundle();
                tracing::info!(entry = %installed.entry, "update: written; the new slot boots at the next reboot");
            }
            Plan::Failed { step, error } => {
                let at = step.map(|s| format!(" at {s:?}")).unwrap_or_default();
                let why =
                    format!("the install failed{at}: {error}; the running slot was not touched");
                tracing::warn!(%why, "update failed");
                self.end(AuditAction::UpdateFailed, Outcome::Failed, why, vec![])?;
            }
            Plan::Reboot => {
                let underway = self.underway()?;
                let mark = UpdateMark {
                    installing: underway.version.clone(),
                    target_slot: underway.target.to_string(),
                    at_ms: now_ms(),
                };
                self.store
                    .keep_before_update(&mark)
                    .map_err(UpdateError::KeepStore)?;
                tracing::warn!(version = %underway.version, slot = %underway.target, "update: rebooting into the new slot");
                self.slots.reboot().await.map_err(UpdateError::Reboot)?;
            }
            Plan::Blessed { trust_next_key } => {
                if trust_next_key {
                    self.slots
                        .trust_next_key()
                        .await
                        .map_err(UpdateError::TrustNextKey)?;
                }
                if let Err(e) = self.store.drop_pre_update() {
                    tracing::warn!(error = %e, "update: cannot drop the store's copy from before the update");
                }
                let underway = self.underway()?;
                let why = format!(
                    "hearth {} came up in slot {} and was judged good",
                    underway.version, underway.target
                );
                tracing::info!(%why, "update installed");
                self.end(
                    AuditAction::UpdateInstalled,
                    Outcome::Installed,
                    why,
                    vec![],
                )?;
            }
            Plan::FellBack { target, tries } => {
                let underway = self.underway()?;
                let since = underway
                    .written
                    .as_ref()
                    .map_or(underway.started_ms, |w| w.at_ms);
                let boots = self.slots.failed_boots(since).await;
                // Never booted again by itself: its entry out of sight.
                self.slots
                    .mark_bad(target)
                    .await
                    .map_err(|error| UpdateError::MarkBad {
                        slot: target.to_string(),
                        error,
                    })?;
                if let Err(e) = self.store.drop_pre_update() {
                    tracing::warn!(error = %e, "update: cannot drop the store's copy from before the update");
                }
                let why = format!(
                    "hearth {} did not come up in slot {target} ({tries} tries, {} boots in the journal); back on {} in slot {}",
                    underway.version,
                    boots.len(),
                    self.running.os_version,
                    target.other()
                );
                tracing::error!(%why, "update fell back");
                self.end(AuditAction::UpdateFallBack, Outcome::FellBack, why, boots)?;
            }
            Plan::Lost {
                interrupted,
                reason,
            } => {
                let outcome = if interrupted {
                    Outcome::Interrupted
                } else {
                    Outcome::Failed
                };
                tracing::warn!(%reason, "update ended without a judgement");
                self.end(AuditAction::UpdateFailed, outcome, reason, vec![])?;
            }
        }
        Ok(())
    }
}

impl<S: Slots> Manager for UpdateManager<S> {
    const COMPONENT: Component = Component::Update;
    type Desired = Desired;
    type Observed = Observed;
    type Plan = Plan;
    type Status = UpdateStatus;
    type Error = UpdateError;

    async fn desired(&mut self) -> Result<Desired, UpdateError> {
        self.desired_now()
    }

    async fn observe(&mut self) -> Result<Observation<Observed>, UpdateError> {
        Ok(Observation::Present(self.observed_now().await?))
    }

    fn plan(desired: &Desired, observed: &Observed) -> Plan {
        plan::plan(desired, observed)
    }

    async fn apply(&mut self, plan: Plan) -> Result<UpdateStatus, UpdateError> {
        self.carry_out(plan).await?;
        let (desired, observed) = (self.desired_now()?, self.observed_now().await?);
        Ok(plan::status(&desired, &observed))
    }

    fn status(desired: &Desired, observed: &Observed) -> UpdateStatus {
        plan::status(desired, observed)
    }

    fn detail(status: &UpdateStatus) -> String {
        format!(
            "running {} in slot {}",
            status.running_version, status.running_slot
        )
    }

    fn trouble(status: &UpdateStatus) -> Option<String> {
        let last = status.last.as_ref()?;
        (last.outcome == Outcome::FellBack).then(|| {
            format!(
                "the update to hearth {} did not come up; back on {}",
                last.version, status.running_version
            )
        })
    }
}

#[cfg(test)]
mod tests;
