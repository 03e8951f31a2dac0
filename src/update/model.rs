//! What the update manager keeps in the store (`Records::Updates`): the
//! install an admin asked for, the install under way (from the moment
//! the helper is asked to write until the new slot was judged), and the
//! history of updates and fallbacks. Written only by `super::stored`'s
//! functions, each change with its audit record.

pub mod status;

use serde::{Deserialize, Serialize};

use super::slots::protocol::Slot;

/// An admin's word: install this staged bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asked {
    /// The staged bundle's id (its file in the staging folder).
    pub bundle: String,
    pub version: String,
    /// Who asked, for the history.
    pub by: String,
    pub at_ms: u64,
}

/// An install from the moment the helper was asked to write the other
/// slot: a box that starts again with one of these whose slot was never
/// written was cut off mid-write (and boots the old slot: nothing points
/// at a half-written one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Underway {
    pub bundle: String,
    pub version: String,
    /// The version that ran when it began.
    pub from_version: String,
    pub target: Slot,
    pub by: String,
    pub started_ms: u64,
    /// Set once the slot, its boot files and its entry were written.
    pub written: Option<Written>,
    /// The admin said "reboot now".
    pub reboot_asked: bool,
}

/// A slot written and its entry made the next boot's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub generation: u32,
    pub entry: String,
    pub at_ms: u64,
}

/// How an update ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The new slot came up and was judged good: it runs now.
    Installed,
    /// The new slot did not come up within its tries: the old one runs.
    FellBack,
    /// A step of the install failed; the running slot was not touched.
    Failed,
    /// The box stopped (a power cut, a crash) while the slot was written.
    Interrupted,
    /// An admin took it back before the reboot.
    Cancelled,
}

/// One update, as it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub at_ms: u64,
    pub version: String,
    pub from_version: String,
    pub outcome: Outcome,
    /// What happened, in words (the failed step and why; the tries).
    pub detail: String,
    /// The failed boots of a fallback, each with the end of its journal.
    #[serde(default)]
    pub failed_boots: Vec<FailedBoot>,
}

/// A boot of the new slot that did not come up, from the journal kept
/// on /var.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FailedBoot {
    pub boot_id: String,
    pub first_ms: u64,
    pub last_ms: u64,
    /// Its last lines (at most [`JOURNAL_LINES`]).
    pub journal: Vec<String>,
}

/// The most journal lines kept of a failed boot.
pub const JOURNAL_LINES: usize = 200;
