//! How long the audit log keeps the records that are not changes
//! (attempts refused or failed, sign-ins and sign-outs): those anyone on
//! the network can cause, so they must not grow the store without bound.
//! Records of changes are kept whatever the retention.
//!
//! The records that may go are indexed by id in `AUDIT_ATTEMPTS`, with
//! their time and size, and their total size is kept in `META`: every
//! audit write then prunes, in its own transaction, the oldest of them
//! while they are older than the retention's age or more than its size,
//! without reading the log.

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, WriteTransaction};
use serde::Serialize;

use super::schema::{ATTEMPT_BYTES, AUDIT, AUDIT_ATTEMPTS, AUDIT_BY_ACTOR, META, SETTINGS};
use super::{AuditRecord, Change, Store, StoreError};

const KEEP_DAYS: &str = "audit_keep_days";
const MAX_MIB: &str = "audit_max_mib";

/// At most this many records go in one write: a retention just made much
/// smaller is caught up over the next writes, none of them long.
const PRUNE_AT_ONCE: usize = 256;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// How much of the log of attempts is kept: records younger than
/// `keep_days`, and of those at most `max_mib` MiB, the newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Retention {
    pub keep_days: u32,
    pub max_mib: u32,
}

impl Default for Retention {
    /// Half a year, and 32 MiB: some hundred thousand records, far more
    /// than a box sees in half a year unless attacked.
    fn default() -> Retention {
        Retention {
            keep_days: 180,
            max_mib: 32,
        }
    }
}

/// A retention out of bounds: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} must be from {min} to {max}")]
pub struct RetentionOutOfBounds {
    pub field: &'static str,
    pub min: u32,
    pub max: u32,
}

impl Retention {
    pub const KEEP_DAYS: std::ops::RangeInclusive<u32> = 1..=3650;
    pub const MAX_MIB: std::ops::RangeInclusive<u32> = 1..=4096;

    pub fn new(keep_days: u32, max_mib: u32) -> Result<Retention, RetentionOutOfBounds> {
        for (field, value, range) in [
            ("audit_keep_days", keep_days, Self::KEEP_DAYS),
            ("audit_max_mib", max_mib, Self::MAX_MIB),
        ] {
            if !range.contains(&value) {
                return Err(RetentionOutOfBounds {
                    field,
                    min: *range.start(),
                    max: *range.end(),
                });
            }
        }
        Ok(Retention { keep_days, max_mib })
    }

    fn max_bytes(self) -> u64 {
        u64::from(self.max_mib) << 20
    }

    /// Records older than this (ms since the epoch) go.
    fn oldest_kept_ms(self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(u64::from(self.keep_days) * DAY_MS)
    }

    /// The stored retention; a value that no longer parses or is out of
    /// bounds reads as the default (it was valid when written).
    fn read(settings: &impl ReadableTable<&'static str, &'static str>) -> Retention {
        let get = |key: &str| -> Option<u32> {
            settings
                .get(key)
                .ok()
                .flatten()
                .and_then(|v| v.value().parse().ok())
        };
        let default = Retention::default();
        Retention::new(
            get(KEEP_DAYS).unwrap_or(default.keep_days),
            get(MAX_MIB).unwrap_or(default.max_mib),
        )
        .unwrap_or(default)
    }
}

impl Store {
    /// How much of the log of attempts is kept.
    pub fn audit_retention(&self) -> Result<Retention, StoreError> {
        let err = |e: redb::Error| self.read_err("audit retention", e);
        let db = self.inner.db.get()?;
        let txn = db.begin_read().map_err(|e| err(e.into()))?;
        let settings = txn.open_table(SETTINGS).map_err(|e| err(e.into()))?;
        Ok(Retention::read(&settings))
    }

    /// The records of attempts kept now: how many, and their size.
    pub fn audit_attempts_kept(&self) -> Result<(u64, u64), StoreError> {
        let err = |e: redb::Error| self.read_err("audit retention", e);
        let db = self.inner.db.get()?;
        let txn = db.begin_read().map_err(|e| err(e.into()))?;
        let index = txn.open_table(AUDIT_ATTEMPTS).map_err(|e| err(e.into()))?;
        let bytes = txn
            .open_table(META)
            .map_err(|e| err(e.into()))?
            .get(ATTEMPT_BYTES)
            .map_err(|e| err(e.into()))?
            .map(|v| v.value())
            .unwrap_or(0);
        Ok((index.len().map_err(|e| err(e.into()))?, bytes))
    }
}

impl Change<'_> {
    /// Sets the retention; what it no longer keeps goes with this and the
    /// next writes.
    pub fn set_audit_retention(&mut self, retention: Retention) -> Result<(), StoreError> {
        self.set_setting(KEEP_DAYS, &retention.keep_days.to_string())?;
        self.set_setting(MAX_MIB, &retention.max_mib.to_string())
    }
}

/// Indexes a record that is not a change (its `bytes` as stored), or,
/// for one already indexed, changes its size.
pub(super) fn track(
    txn: &WriteTransaction,
    record: &AuditRecord,
    bytes: u64,
) -> Result<(), redb::Error> {
    if record.is_change() {
        return Ok(());
    }
    let mut index = txn.open_table(AUDIT_ATTEMPTS)?;
    let before = index
        .insert(record.id, (record.time_ms, bytes))?
        .map(|v| v.value().1)
        .unwrap_or(0);
    let mut meta = txn.open_table(META)?;
    let total = meta.get(ATTEMPT_BYTES)?.map(|v| v.value()).unwrap_or(0);
    meta.insert(ATTEMPT_BYTES, (total + bytes).saturating_sub(before))?;
    Ok(())
}

/// Removes the oldest records of attempts that the retention no longer
/// keeps (at most [`PRUNE_AT_ONCE`]); returns how many went.
pub(super) fn prune(txn: &WriteTransaction, now_ms: u64) -> Result<usize, redb::Error> {
    let retention = Retention::read(&txn.open_table(SETTINGS)?);
    let oldest_kept = retention.oldest_kept_ms(now_ms);
    let mut index = txn.open_table(AUDIT_ATTEMPTS)?;
    let mut meta = txn.open_table(META)?;
    let mut total = meta.get(ATTEMPT_BYTES)?.map(|v| v.value()).unwrap_or(0);
    let mut audit = txn.open_table(AUDIT)?;
    let mut by_actor = txn.open_multimap_table(AUDIT_BY_ACTOR)?;
    let mut removed = 0;
    while removed < PRUNE_AT_ONCE {
        let Some((id, (time_ms, bytes))) = index.first()?.map(|(k, v)| (k.value(), v.value()))
        else {
            break;
        };
        if total <= retention.max_bytes() && time_ms >= oldest_kept {
            break;
        }
        index.remove(id)?;
        if let Some(value) = audit.remove(id)? {
            // A record that does not decode has no index entry to remove.
            if let Ok(record) = serde_json::from_slice::<AuditRecord>(value.value()) {
                by_actor.remove(record.actor.as_str(), id)?;
            }
        }
        total = total.saturating_sub(bytes);
        removed += 1;
    }
    if removed > 0 {
        meta.insert(ATTEMPT_BYTES, total)?;
    }
    Ok(removed)
}

/// Fills the index from the log as it is (the schema step that adds it).
pub(super) fn index_existing(txn: &WriteTransaction) -> Result<(), redb::Error> {
    let audit = txn.open_table(AUDIT)?;
    for row in audit.iter()? {
        let (id, value) = row?;
        // A record that does not decode is kept, never pruned.
        if let Ok(record) = serde_json::from_slice::<AuditRecord>(value.value()) {
            let record = AuditRecord {
                id: id.value(),
                ..record
            };
            track(txn, &record, value.value().len() as u64)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retention_names_the_field_out_of_bounds() {
        assert!(Retention::new(1, 1).is_ok());
        assert!(Retention::new(3650, 4096).is_ok());
        assert_eq!(Retention::new(0, 32).unwrap_err().field, "audit_keep_days");
        assert_eq!(
            Retention::new(30, 4097).unwrap_err().to_string(),
            "audit_max_mib must be from 1 to 4096"
        );
        assert!(
            Retention::new(Retention::default().keep_days, Retention::default().max_mib).is_ok()
        );
    }

    #[test]
    fn the_age_limit_counts_whole_days_back_from_now() {
        let r = Retention::new(2, 1).unwrap();
        assert_eq!(r.oldest_kept_ms(5 * DAY_MS), 3 * DAY_MS);
        assert_eq!(r.oldest_kept_ms(DAY_MS), 0, "no underflow");
        assert_eq!(r.max_bytes(), 1 << 20);
    }
}
