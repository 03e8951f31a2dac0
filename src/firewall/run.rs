//! The firewall's manager on [`crate::reconcile::run`]: each pass reads
//! the policy (taking back a change whose confirm window ran out),
//! renders it, reads hearth's table back from the kernel and applies the
//! script when the policy changed or the kernel's table is not what hearth
//! put there (a rule deleted by hand, the table flushed, the boot-time
//! table loaded again by `systemctl restart nftables`).

use std::sync::Arc;

use super::adapter::Nft;
use super::error::{FirewallError, NftError};
use super::model::status::FirewallStatus;
use super::plan::{self, Desired, FirewallPlan, InKernel, Observed, Reason, status};
use super::service::FirewallService;
use super::stored;
use crate::clock::now_ms;
use crate::component::Component;
use crate::reconcile::{Manager, Observation};
use crate::store::{AuditAction, AuditEntry, StoreError};

pub struct FirewallManager {
    service: Arc<FirewallService>,
    nft: Arc<dyn Nft>,
    /// What hearth last put into the kernel, to tell drift from its own.
    last: Option<InKernel>,
    /// The end of the confirm window, while a change awaits confirmation.
    deadline_ms: Option<u64>,
}

impl FirewallManager {
    pub fn new(service: Arc<FirewallService>, nft: Arc<dyn Nft>) -> FirewallManager {
        FirewallManager {
            service,
            nft,
            last: None,
            deadline_ms: None,
        }
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, FirewallError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| FirewallError::ApplyTimedOut)?
        .map_err(FirewallError::from)
}

impl Manager for FirewallManager {
    const COMPONENT: Component = Component::Firewall;
    type Desired = Desired;
    type Observed = Observed;
    type Plan = FirewallPlan;
    type Status = FirewallStatus;
    type Error = FirewallError;

    fn wake_at(&self) -> Option<tokio::time::Instant> {
        let left = self.deadline_ms?.saturating_sub(now_ms());
        Some(tokio::time::Instant::now() + std::time::Duration::from_millis(left))
    }

    async fn desired(&mut self) -> Result<Desired, FirewallError> {
        let store = self.service.store().clone();
        let (current, pending) = blocking(move || {
            let mut pending = stored::pending(&store)?;
            if pending.as_ref().is_some_and(|p| now_ms() >= p.deadline_ms)
                && stored::roll_back(&store, "not confirmed in time")?
            {
                tracing::warn!(
                    "firewall change not confirmed in time: the previous policy is back"
                );
                pending = None;
            }
            Ok((stored::policy(&store)?, pending))
        })
        .await?;
        self.deadline_ms = pending.as_ref().map(|p| p.deadline_ms);
        let service = self.service.clone();
        let policy = current.policy;
        let script = blocking(move || service.render(&policy)).await?;
        Ok(Desired {
            version: current.version,
            script,
            pending: pending.map(|p| (p.version, p.deadline_ms)),
        })
    }

    async fn observe(&mut self) -> Result<Observation<Observed>, FirewallError> {
        if let Err(reason) = self.nft.present() {
            return Ok(Observation::NotPresent { reason });
        }
        let listing = self.nft.list().await?;
        Ok(Observation::Present(Observed {
            listing,
            last: self.last.clone(),
        }))
    }

    fn plan(desired: &Desired, observed: &Observed) -> FirewallPlan {
        plan::plan(desired, observed)
    }

    async fn apply(&mut self, plan: FirewallPlan) -> Result<FirewallStatus, FirewallError> {
        let FirewallPlan::Apply {
            script,
            version,
            pending,
            reason,
        } = plan
        else {
            unreachable!("the loop does not apply a no-op plan")
        };
        let nft = self.nft.clone();
        if let Err(e) = nft.apply(&script).await {
            self.service.apply_failed(version, e.to_string());
            return Err(e.into());
        }
        let listing = nft.list().await?;
        let Some(table) = &listing.hearth else {
            return Err(NftError::Refused {
                message: "the table is missing right after it was applied".into(),
            }
            .into());
        };
        if let Reason::Drift(what) = reason {
            tracing::warn!(what, "firewall: put hearth's ruleset back");
            let store = self.service.store().clone();
            blocking(move || store.audit(AuditEntry::system(AuditAction::FirewallRepair, what)))
                .await?;
        }
        let last = InKernel {
            script: script.into(),
            shape: table.shape.clone(),
            version,
            at_ms: now_ms(),
            reason: reason.text(),
        };
        tracing::info!(version, reason = %last.reason, "firewall ruleset applied");
        self.service.applied(version, pending);
        let deadline = self.deadline_ms;
        let status = status(version, pending.zip(deadline), &listing, Some(&last));
        self.last = Some(last);
        Ok(status)
    }

    fn status(desired: &Desired, observed: &Observed) -> FirewallStatus {
        status(
            desired.version,
            desired.pending,
            &observed.listing,
            observed.last.as_ref(),
        )
    }

    fn detail(status: &FirewallStatus) -> String {
        match &status.pending {
            Some(p) => format!("policy version {} awaiting confirmation", p.version),
            None => format!("policy version {} in force", status.version),
        }
    }
}

#[cfg(test)]
mod tests;
