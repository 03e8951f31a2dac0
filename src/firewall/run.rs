//! The firewall's manager on [`crate::reconcile::run`]: each pass reads
//! the policy (taking back a change whose confirm window ran out),
//! renders it, reads hearth's table back from the kernel and applies the
//! script when the policy changed or the kernel's table is not what hearth
//! put there (a rule deleted by hand, the table flushed, the boot-time
//! table loaded again by `systemctl restart nftables`).

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::adapter::{Listing, RuleCounter};
use super::error::{FirewallError, NftError};
use super::service::FirewallService;
use super::stored;
use crate::clock::now_ms;
use crate::component::Component;
use crate::events::Topic;
use crate::reconcile::{Manager, Observation, Plan, Status};
use crate::store::{AuditAction, AuditEntry, StoreError};

pub struct FirewallManager {
    service: Arc<FirewallService>,
    /// What hearth last put into the kernel, to tell drift from its own.
    last: Option<InKernel>,
    /// The end of the confirm window, while a change awaits confirmation.
    deadline_ms: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct InKernel {
    script: Arc<str>,
    shape: Value,
    version: u64,
    at_ms: u64,
    reason: String,
}

pub struct Desired {
    pub version: u64,
    pub script: String,
    /// The version awaiting confirmation, and its deadline.
    pub pending: Option<(u64, u64)>,
}

pub struct Observed {
    pub listing: Listing,
    pub last: Option<InKernel>,
}

/// Why a pass applies the ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// hearth started: its first apply.
    Start,
    /// The policy changed (a new version).
    Changed,
    /// The kernel's table differs from what hearth applied.
    Drift(&'static str),
}

impl Reason {
    fn text(&self) -> String {
        match self {
            Reason::Start => "start".into(),
            Reason::Changed => "policy changed".into(),
            Reason::Drift(what) => format!("drift: {what}"),
        }
    }
}

#[derive(Debug)]
pub enum FirewallPlan {
    Keep,
    Apply {
        script: String,
        version: u64,
        pending: Option<u64>,
        reason: Reason,
    },
}

impl Plan for FirewallPlan {
    fn is_noop(&self) -> bool {
        matches!(self, FirewallPlan::Keep)
    }
}

/// Published on the `firewall` topic after every pass.
#[derive(Debug, Clone, Serialize)]
pub struct FirewallStatus {
    /// The policy version in force.
    pub version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_apply: Option<LastApply>,
    pub counters: Vec<RuleCounter>,
}

// The rules, their counters and the policy's changes: admins only.
crate::events::admin_only!(FirewallStatus);

impl Status for FirewallStatus {
    const TOPIC: Topic = Topic::Firewall;
}

#[derive(Debug, Clone, Serialize)]
pub struct PendingStatus {
    pub version: u64,
    pub confirm_by_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastApply {
    pub version: u64,
    pub at_ms: u64,
    pub reason: String,
}

impl FirewallManager {
    pub fn new(service: Arc<FirewallService>) -> FirewallManager {
        FirewallManager {
            service,
            last: None,
            deadline_ms: None,
        }
    }

    fn nft(&self) -> Result<&Arc<dyn super::adapter::Nft>, FirewallError> {
        self.service
            .nft()
            .ok_or_else(|| FirewallError::NotManaged("no nft driver".into()))
    }
}

fn status(
    version: u64,
    pending: Option<(u64, u64)>,
    listing: &Listing,
    last: Option<&InKernel>,
) -> FirewallStatus {
    FirewallStatus {
        version,
        pending: pending.map(|(version, confirm_by_ms)| PendingStatus {
            version,
            confirm_by_ms,
        }),
        last_apply: last.map(|l| LastApply {
            version: l.version,
            at_ms: l.at_ms,
            reason: l.reason.clone(),
        }),
        counters: listing
            .hearth
            .as_ref()
            .map(|t| t.counters.clone())
            .unwrap_or_default(),
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
        let nft = self.nft()?;
        if let Err(reason) = nft.present() {
            return Ok(Observation::NotPresent { reason });
        }
        let listing = nft.list().await?;
        Ok(Observation::Present(Observed {
            listing,
            last: self.last.clone(),
        }))
    }

    fn plan(desired: &Desired, observed: &Observed) -> FirewallPlan {
        let reason = match &observed.last {
            None => Some(Reason::Start),
            Some(last) if *last.script != *desired.script => Some(Reason::Changed),
            Some(last) => match &observed.listing.hearth {
                None => Some(Reason::Drift("hearth's table is gone")),
                Some(t) if t.shape != last.shape => {
                    Some(Reason::Drift("hearth's table was changed by hand"))
                }
                Some(_) if observed.listing.base_present => {
                    Some(Reason::Drift("the boot-time table was loaded again"))
                }
                Some(_) => None,
            },
        };
        match reason {
            None => FirewallPlan::Keep,
            Some(reason) => FirewallPlan::Apply {
                script: desired.script.clone(),
                version: desired.version,
                pending: desired.pending.map(|(v, _)| v),
                reason,
            },
        }
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
        let nft = self.nft()?.clone();
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
