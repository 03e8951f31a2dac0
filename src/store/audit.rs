//! Audit records: who did what to which target, from where, and how it
//! ended. They are append-only and written only inside the transaction of
//! the change they record (see [`super::Change`]).

use serde::{Deserialize, Serialize};

/// How a recorded action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

/// An audit record as the caller describes it; the store adds id and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// A username, or `system` for the daemon itself.
    pub actor: String,
    /// A dotted verb such as `daemon.start` or `user.create`.
    pub action: String,
    pub target: String,
    /// The peer address of the request, or `local`.
    pub source: String,
    pub outcome: Outcome,
}

impl AuditEntry {
    /// A record of the daemon acting on its own behalf.
    pub fn system(action: &str, target: &str) -> AuditEntry {
        AuditEntry {
            actor: "system".into(),
            action: action.into(),
            target: target.into(),
            source: "local".into(),
            outcome: Outcome::Success,
        }
    }
}

/// A stored audit record; stored as JSON under its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: u64,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub source: String,
    pub outcome: Outcome,
}

impl AuditRecord {
    pub(super) fn new(id: u64, time_ms: u64, entry: AuditEntry) -> AuditRecord {
        AuditRecord {
            id,
            time_ms,
            actor: entry.actor,
            action: entry.action,
            target: entry.target,
            source: entry.source,
            outcome: entry.outcome,
        }
    }
}

/// Which audit records to read, newest first (see
/// [`super::Store::audit_newest_first`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery<'a> {
    /// Only records with a smaller id: the paging cursor (`u64::MAX` for
    /// the newest page).
    pub before: u64,
    /// Only this actor's records.
    pub actor: Option<&'a str>,
    /// Only records written in `since_ms..=until_ms` (ms since the epoch).
    pub since_ms: u64,
    pub until_ms: u64,
    /// At most this many records.
    pub limit: usize,
}

impl AuditQuery<'_> {
    /// The newest `limit` records, unfiltered.
    pub fn newest(limit: usize) -> AuditQuery<'static> {
        AuditQuery {
            before: u64::MAX,
            actor: None,
            since_ms: 0,
            until_ms: u64::MAX,
            limit,
        }
    }
}
