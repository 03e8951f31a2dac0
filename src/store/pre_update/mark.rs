//! The mark beside the copy kept before an update: which hearth took the
//! copy, for which update, and what the copy holds. It is written only
//! once the copy is whole and in place, so a mark always names a copy that
//! was whole when written; the restore checks the copy still is.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Contents, UpdateMark};
use crate::store::StoreError;
use crate::store::schema::CURRENT_VERSION;

/// The version of the mark's own format.
const FORMAT: u32 = 1;

/// This hearth's version: the one that takes a copy, and the only one
/// that restores it.
pub(super) const RUNNING: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Mark {
    pub format: u32,
    /// The hearth that took the copy.
    pub hearth_version: String,
    pub installing: String,
    pub target_slot: String,
    pub taken_at_ms: u64,
    /// The copy's size: a copy cut short is told at once.
    pub copy_bytes: u64,
    pub schema_version: u64,
    pub last_audit_id: u64,
    pub records: BTreeMap<String, u64>,
    /// When the copy was put back: a copy is restored once, never again
    /// over a store that came of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_at_ms: Option<u64>,
}

impl Mark {
    pub fn new(update: &UpdateMark, copy_bytes: u64, contents: Contents) -> Mark {
        Mark {
            format: FORMAT,
            hearth_version: RUNNING.to_string(),
            installing: update.installing.clone(),
            target_slot: update.target_slot.clone(),
            taken_at_ms: update.at_ms,
            copy_bytes,
            schema_version: contents.schema_version,
            last_audit_id: contents.last_audit_id,
            records: contents.records,
            restored_at_ms: None,
        }
    }

    /// What the copy held when it was taken.
    pub fn contents(&self) -> Contents {
        Contents {
            schema_version: self.schema_version,
            last_audit_id: self.last_audit_id,
            records: self.records.clone(),
        }
    }

    /// Writes the mark atomically (temporary file, fsync, rename, fsync of
    /// the folder).
    pub fn write(&self, path: &Path) -> Result<(), StoreError> {
        let json = serde_json::to_vec_pretty(self).expect("a mark always serializes");
        crate::fsutil::write_atomically(path, &json, 0o600).map_err(|source| {
            StoreError::KeepPreUpdate {
                path: path.to_path_buf(),
                source,
            }
        })
    }

    /// The mark at `path`: `Ok(None)` if there is none, `Err` with the
    /// reason it cannot be used if it does not read.
    pub fn read(path: &Path) -> Result<Option<Mark>, String> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("its mark {} cannot be read: {e}", path.display())),
        };
        let mark: Mark = serde_json::from_slice(&bytes)
            .map_err(|e| format!("its mark {} is malformed: {e}", path.display()))?;
        if mark.format != FORMAT {
            return Err(format!(
                "its mark {} is of format {}, this hearth reads {FORMAT}",
                path.display(),
                mark.format
            ));
        }
        Ok(Some(mark))
    }

    /// Why this hearth must not restore the copy, judged by the mark
    /// alone; `None` if it may (the copy itself is checked after).
    pub fn refusal(&self) -> Option<String> {
        if let Some(at) = self.restored_at_ms {
            return Some(format!(
                "it was restored once already, at {}; a store that came of it is not replaced by it again",
                super::lost::utc(at)
            ));
        }
        if self.hearth_version != RUNNING {
            return Some(format!(
                "it was taken by hearth {} and this is hearth {RUNNING}",
                self.hearth_version
            ));
        }
        // The hearth that took it opened, so migrated, the store first:
        // any other schema means the mark is not what it says.
        if self.schema_version != CURRENT_VERSION {
            return Some(format!(
                "the copy is of schema version {} and this hearth writes {CURRENT_VERSION}",
                self.schema_version
            ));
        }
        None
    }
}

#[cfg(test)]
impl Mark {
    /// Rewrites the mark at `path` with `edit` applied (for tests).
    pub fn edit(path: &Path, edit: impl FnOnce(&mut Mark)) {
        let mut mark = Mark::read(path).unwrap().unwrap();
        edit(&mut mark);
        mark.write(path).unwrap();
    }
}
