//! What the update manager publishes on the `update` topic (admins only):
//! the slot that runs and its version, the other slot, an update that is
//! available, where an install stands, and how the last update ended.

use serde::Serialize;

use super::HistoryEntry;
use crate::events::Topic;
use crate::reconcile::Status;
use crate::update::slots::protocol::{Slot, Step};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UpdateStatus {
    /// The slot the box runs from, and its version.
    #[schema(value_type = String)]
    pub running_slot: Slot,
    pub running_version: String,
    pub other: OtherSlot,
    /// A bundle uploaded and checked, waiting for an admin's word.
    pub available: Option<Available>,
    pub phase: Phase,
    /// How the last update ended, if one did.
    pub last: Option<HistoryEntry>,
    /// The box trusts the repository's test key: a test image.
    pub trusts_test_key: bool,
}

crate::events::admin_only!(UpdateStatus);

impl Status for UpdateStatus {
    const TOPIC: Topic = Topic::Update;
}

/// The slot that does not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OtherSlot {
    #[schema(value_type = String)]
    pub slot: Slot,
    /// Its entry's version, if it has an entry.
    pub version: Option<String>,
    pub state: OtherState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OtherState {
    /// Nothing boots it (never written, or cleared for an install).
    Empty,
    /// Judged good once: the slot to go back to.
    Good,
    /// Written, its entry with tries left: the next boot's.
    Waiting,
    /// It did not come up: never booted again by itself.
    Bad,
}

/// A checked bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Available {
    pub bundle: String,
    pub version: String,
    pub min_version: String,
    pub commit: String,
    pub size: u64,
    /// Older than (or the same as) what runs: installed only when an
    /// admin names the version.
    pub downgrade: bool,
}

/// Where an update stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    Idle,
    /// The helper writes the other slot.
    Installing {
        version: String,
        #[schema(value_type = Option<String>)]
        step: Option<Step>,
        bytes: u64,
        total: u64,
        percent: u8,
    },
    /// Written; the new slot boots at the next reboot.
    ReadyToReboot {
        version: String,
    },
    /// Running the new slot, not judged yet (the boot check).
    OnTrial {
        version: String,
        tries_left: u32,
    },
}
