//! The firewall manager's pass, pure: what it wants (the rendered
//! policy), what it found (the kernel's table and what hearth put there
//! last), and what to do about the difference. Tested without a kernel
//! in `plan/tests.rs`.

use std::sync::Arc;

use serde_json::Value;

use super::adapter::Listing;
use super::model::status::{FirewallStatus, LastApply, PendingStatus};
use crate::reconcile::Plan;

#[derive(Debug, Clone)]
pub struct InKernel {
    pub script: Arc<str>,
    pub shape: Value,
    pub version: u64,
    pub at_ms: u64,
    pub reason: String,
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
    pub fn text(&self) -> String {
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

/// What to do: apply when hearth has not applied yet, the policy changed,
/// or the kernel's table is not what hearth put there.
pub fn plan(desired: &Desired, observed: &Observed) -> FirewallPlan {
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

/// The status of a pass, from the policy in force and the kernel's table.
pub fn status(
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

#[cfg(test)]
mod tests;
