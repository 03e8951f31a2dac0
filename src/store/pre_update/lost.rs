//! What a restore loses: the audit records the newer store wrote after
//! the copy was taken, read from it without changing it, or, when this
//! hearth cannot read it at all, everything since the copy.

use std::path::Path;

use redb::ReadableDatabase;
use serde::{Deserialize, Serialize};

use crate::store::schema::AUDIT;

/// At most this many lost records are listed; the rest are counted.
pub const LISTED: usize = 100;

/// The changes made since the copy that the restore did not bring back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Lost {
    /// The newer store's audit records after the copy's last one: the
    /// first [`LISTED`] of them, oldest first, and how many there were.
    Records {
        since_ms: u64,
        count: u64,
        first: Vec<LostRecord>,
    },
    /// The newer store could not be read: whatever was done since the
    /// copy, `why` says why it is not known.
    Everything { since_ms: u64, why: String },
}

/// One audit record of the newer store, as far as this hearth reads it
/// (a newer hearth may write actions this one does not know).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostRecord {
    #[serde(default)]
    pub id: u64,
    #[serde(default)]
    pub time_ms: u64,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub target: String,
}

impl std::fmt::Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lost::Records {
                since_ms, count, ..
            } => write!(
                f,
                "the {count} audit record(s) written since {} (the newer store keeps them)",
                utc(*since_ms)
            ),
            Lost::Everything { since_ms, why } => {
                write!(f, "everything done since {} ({why})", utc(*since_ms))
            }
        }
    }
}

/// The audit records of the store at `path` after `after`, read from a
/// read-only open; `since_ms` is when the copy was taken. Only to be
/// called on a file this redb has opened with its integrity check (an
/// unchecked open may panic on a damaged file).
pub(super) fn read(path: &Path, after: u64, since_ms: u64) -> Lost {
    match records_after(path, after) {
        Ok((count, first)) => Lost::Records {
            since_ms,
            count,
            first,
        },
        Err(e) => Lost::Everything {
            since_ms,
            why: format!("the audit log of {} cannot be read: {e}", path.display()),
        },
    }
}

fn records_after(path: &Path, after: u64) -> Result<(u64, Vec<LostRecord>), redb::Error> {
    let db = redb::ReadOnlyDatabase::open(path)?;
    let txn = db.begin_read()?;
    let audit = match txn.open_table(AUDIT) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok((0, Vec::new())),
        Err(e) => return Err(e.into()),
    };
    let mut count = 0;
    let mut first = Vec::new();
    for row in audit.range(after.saturating_add(1)..)? {
        let (id, value) = row?;
        count += 1;
        if first.len() < LISTED {
            // A record this hearth cannot decode is still listed, by id.
            let record = serde_json::from_slice::<LostRecord>(value.value()).unwrap_or_else(|_| {
                LostRecord {
                    id: 0,
                    time_ms: 0,
                    actor: String::new(),
                    action: "(not readable by this hearth)".into(),
                    target: String::new(),
                }
            });
            first.push(LostRecord {
                id: id.value(),
                ..record
            });
        }
    }
    Ok((count, first))
}

/// `ms` since the epoch as an RFC 3339 UTC time, for messages.
pub(super) fn utc(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.replace_nanosecond(0)
                .ok()?
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{ms} ms after the epoch"))
}
