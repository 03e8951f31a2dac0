//! The update manager's records in the store (`Records::Updates`): what
//! an admin asked, the install under way, and the history. Every change
//! is one transaction with its audit record.

use super::model::{Asked, HistoryEntry, Underway};
use crate::store::{AuditEntry, Change, Records, Store, StoreError};

const ASKED: &str = "asked";
const UNDERWAY: &str = "underway";
/// History entries are kept under `history/<at_ms, 20 digits>`, so that
/// the newest sorts last.
const HISTORY: &str = "history/";
/// The most history entries kept (each may hold three boots' journals).
pub const HISTORY_KEPT: usize = 50;

pub fn asked(store: &Store) -> Result<Option<Asked>, StoreError> {
    store.record(Records::Updates, ASKED)
}

pub fn underway(store: &Store) -> Result<Option<Underway>, StoreError> {
    store.record(Records::Updates, UNDERWAY)
}

/// Every update as it ended, oldest first.
pub fn history(store: &Store) -> Result<Vec<HistoryEntry>, StoreError> {
    // The table holds other records too: each is decoded by its key.
    Ok(store
        .records::<serde_json::Value>(Records::Updates)?
        .into_iter()
        .filter(|(key, _)| key.starts_with(HISTORY))
        // An entry this version cannot read is left out, not fatal.
        .filter_map(|(_, value)| serde_json::from_value(value).ok())
        .collect())
}

/// Records an admin's word to install a bundle.
pub fn ask(store: &Store, entry: AuditEntry, asked: &Asked) -> Result<(), StoreError> {
    store.change(entry, |c| c.put_record(Records::Updates, ASKED, asked))
}

/// The install begins: the word is taken, the install is under way.
pub fn begin(store: &Store, entry: AuditEntry, underway: &Underway) -> Result<(), StoreError> {
    store.change(entry, |c| {
        c.remove_record(Records::Updates, ASKED)?;
        c.put_record(Records::Updates, UNDERWAY, underway)
    })
}

/// The install under way, changed (written, reboot asked).
pub fn put_underway(
    store: &Store,
    entry: AuditEntry,
    underway: &Underway,
) -> Result<(), StoreError> {
    store.change(entry, |c| {
        c.put_record(Records::Updates, UNDERWAY, underway)
    })
}

/// The update ended as `ended` says: the word and the install under way
/// go, the history keeps it (and forgets the oldest beyond
/// [`HISTORY_KEPT`]).
pub fn end(store: &Store, entry: AuditEntry, ended: &HistoryEntry) -> Result<(), StoreError> {
    store.change(entry, |c| {
        c.remove_record(Records::Updates, ASKED)?;
        c.remove_record(Records::Updates, UNDERWAY)?;
        c.put_record(Records::Updates, &history_key(ended.at_ms), ended)?;
        forget_oldest(c)
    })
}

fn history_key(at_ms: u64) -> String {
    format!("{HISTORY}{at_ms:020}")
}

fn forget_oldest(c: &mut Change<'_>) -> Result<(), StoreError> {
    let keys: Vec<String> = c
        .records::<serde_json::Value>(Records::Updates)?
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| key.starts_with(HISTORY))
        .collect();
    for key in keys.iter().take(keys.len().saturating_sub(HISTORY_KEPT)) {
        c.remove_record(Records::Updates, key)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
