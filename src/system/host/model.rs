//! What the owner chose for the machine, and what the machine has.

use serde::Serialize;

use crate::events::Topic;
use crate::reconcile::Status;

/// What the owner chose; `None`: not chosen (the machine's stays).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub hostname: Option<String>,
    pub timezone: Option<String>,
    pub ntp: Option<bool>,
}

/// What the machine has, as hostnamed and timedated say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostStatus {
    /// The static host name (`/etc/hostname`).
    pub hostname: String,
    /// The kernel's host name, the one in force.
    pub running_hostname: String,
    pub timezone: String,
    /// Whether an NTP service is enabled.
    pub ntp: bool,
    pub ntp_synchronized: bool,
    /// Settings hearth changed on the machine since it started.
    pub applied_since_start: u64,
}

// The machine's settings, as an admin changes them: admins only.
crate::events::admin_only!(HostStatus);

impl Status for HostStatus {
    const TOPIC: Topic = Topic::Host;
}
