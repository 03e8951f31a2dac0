//! What the firewall manager publishes on the `firewall` topic after
//! every pass: admins only.

use serde::Serialize;

use crate::events::Topic;
use crate::firewall::adapter::RuleCounter;
use crate::reconcile::Status;

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
