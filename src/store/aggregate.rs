//! Refused attempts counted, not each written: one audit record per
//! address and action in each [`WINDOW_MS`], whose `count` grows.
//!
//! A throttled client can send thousands of requests a second; before,
//! each wrote a `denied` record (5,000 anonymous requests grew the store
//! by 700 KB), so anyone could fill the disk. Now the first refusal in a
//! window is written as a record (durably), and the next ones rewrite it
//! with a higher count. Those rewrites are committed without waiting for
//! the disk, except every [`DURABLE_EVERY`]-th and at least every
//! [`DURABLE_AFTER_MS`]: a power cut can lose only the last few counts of
//! a flood, never a record, and a flood costs the disk little.
//!
//! The window of each address is kept in memory (at most
//! [`MAX_WINDOWS`]; when full, the oldest are forgotten, and their
//! addresses start a new record): after a restart, a new record begins.

use std::collections::HashMap;
use std::sync::Mutex;

use redb::{Durability, ReadableTable};

use super::schema::{AUDIT, AUDIT_BY_ACTOR};
use super::watch::{Table, Touched};
use super::{AuditAction, AuditEntry, AuditRecord, Outcome, Store, StoreError};

/// How long one record counts an address's refused attempts.
pub const WINDOW_MS: u64 = 10 * 60 * 1000;
/// Every this many counts, a rewrite waits for the disk.
const DURABLE_EVERY: u64 = 100;
/// And at least this often.
const DURABLE_AFTER_MS: u64 = 5_000;
/// Windows kept in memory at most.
const MAX_WINDOWS: usize = 4096;

/// The actor of a record counting attempts that named different users.
pub const SEVERAL: &str = "(several)";

#[derive(Default)]
pub(super) struct Windows {
    open: Mutex<HashMap<(String, AuditAction), Window>>,
}

#[derive(Clone, Copy)]
struct Window {
    id: u64,
    started_ms: u64,
    durable_ms: u64,
    count: u64,
}

impl Store {
    /// Records an attempt refused before it was tried (throttled): in the
    /// address's record of this window, counted. An entry of another
    /// outcome (an attempt that was tried) is recorded on its own.
    pub fn audit_refused(&self, entry: AuditEntry) -> Result<(), StoreError> {
        if entry.outcome != Outcome::Denied {
            return self.audit(entry);
        }
        let _order = self
            .inner
            .change_order
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = crate::clock::now_ms();
        let key = (entry.source.clone(), entry.action);
        let mut open = self
            .inner
            .refused
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let window = open
            .get(&key)
            .copied()
            .filter(|w| now.saturating_sub(w.started_ms) < WINDOW_MS);
        let err = |e: redb::Error| self.write_err("audit record", e);
        let db = self.writable()?;
        let mut txn = db.begin_write().map_err(|e| err(e.into()))?;
        let stored = match window {
            Some(w) => self.counted(&txn, w.id, &entry, now)?,
            None => None,
        };
        let (record, window) = match (stored, window) {
            (Some(record), Some(w)) => {
                let count = w.count + 1;
                let durable = count % DURABLE_EVERY == 0
                    || now.saturating_sub(w.durable_ms) >= DURABLE_AFTER_MS;
                if !durable {
                    txn.set_durability(Durability::None)
                        .map_err(|e| err(redb::Error::from(e)))?;
                }
                let w = Window {
                    count,
                    durable_ms: if durable { now } else { w.durable_ms },
                    ..w
                };
                (record, w)
            }
            // A new window, or its record pruned meanwhile: a new record.
            _ => {
                let record = self.append_audit(&txn, entry)?;
                let w = Window {
                    id: record.id,
                    started_ms: now,
                    durable_ms: now,
                    count: 1,
                };
                (record, w)
            }
        };
        self.commit(txn, "audit record")?;
        if open.len() >= MAX_WINDOWS && !open.contains_key(&key) {
            forget_oldest(&mut open, now);
        }
        open.insert(key, window);
        drop(open);
        let mut touched = Touched::default();
        touched.add(Table::Audit);
        self.inner.watchers.committed(touched, &[record]);
        Ok(())
    }

    /// Rewrites record `id` with one more attempt; `None` if it is gone.
    fn counted(
        &self,
        txn: &redb::WriteTransaction,
        id: u64,
        entry: &AuditEntry,
        now: u64,
    ) -> Result<Option<AuditRecord>, StoreError> {
        let err = |e: redb::Error| self.write_err("audit record", e);
        let bytes = {
            let table = txn.open_table(AUDIT).map_err(|e| err(e.into()))?;
            let Some(value) = table.get(id).map_err(|e| err(e.into()))? else {
                return Ok(None);
            };
            value.value().to_vec()
        };
        let mut record = self.decode_audit(id, &bytes)?;
        record.count += 1;
        record.last_ms = Some(now);
        if record.actor != entry.actor && record.actor != SEVERAL {
            let mut index = txn
                .open_multimap_table(AUDIT_BY_ACTOR)
                .map_err(|e| err(e.into()))?;
            index
                .remove(record.actor.as_str(), id)
                .map_err(|e| err(e.into()))?;
            index.insert(SEVERAL, id).map_err(|e| err(e.into()))?;
            record.actor = SEVERAL.to_string();
        }
        self.write_audit(txn, &record)?;
        Ok(Some(record))
    }
}

/// Drops the windows that have ended, or if none has, the oldest half.
fn forget_oldest(open: &mut HashMap<(String, AuditAction), Window>, now: u64) {
    open.retain(|_, w| now.saturating_sub(w.started_ms) < WINDOW_MS);
    if open.len() >= MAX_WINDOWS {
        let mut starts: Vec<u64> = open.values().map(|w| w.started_ms).collect();
        starts.sort_unstable();
        let cut = starts[starts.len() / 2];
        open.retain(|_, w| w.started_ms > cut);
    }
}
