//! A consistent copy of the store, made while it serves: every table
//! read in one read transaction and written into a new redb file in one
//! write transaction. redb has no backup API, and its file must not be
//! copied as bytes while it is written (a commit in between leaves a copy
//! whose header points at pages that were not copied). What the update
//! keeps before a reboot, and what a backup holds.
//!
//! Crash-safe: the copy is written under a temporary name beside its
//! destination, synced, renamed into place and the folder synced, so the
//! destination is either the previous file or a whole copy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use redb::{
    Database, Key, MultimapTableDefinition, MultimapTableHandle, ReadTransaction, ReadableDatabase,
    ReadableMultimapTable, ReadableTable, TableDefinition, TableHandle, Value, WriteTransaction,
};

use super::schema::*;
use super::{Store, StoreError};

/// What a copy holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub path: PathBuf,
    pub contents: Contents,
}

/// What a store holds at one moment (one read transaction): enough to
/// tell a whole copy of it from a partial or different one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Contents {
    pub schema_version: u64,
    /// The id of the newest audit record (0 without any).
    pub last_audit_id: u64,
    /// Each table's record count, by name.
    pub records: BTreeMap<String, u64>,
}

impl Store {
    /// Writes a consistent copy of the whole store to `dest` (replacing
    /// a file there only once the copy is whole).
    pub fn copy_to(&self, dest: &Path) -> Result<Copied, StoreError> {
        let read = |e: redb::Error| self.read_err("a copy of every table", e);
        let db = self.inner.db.get()?;
        let from = db.begin_read().map_err(|e| read(e.into()))?;
        let temporary = temporary_beside(dest);
        let write = |e: redb::Error| StoreError::WriteCopy {
            path: temporary.clone(),
            source: Box::new(e),
        };
        let _ = std::fs::remove_file(&temporary);
        let copy = Database::create(&temporary).map_err(|e| write(e.into()))?;
        let to = copy.begin_write().map_err(|e| write(e.into()))?;
        // Read and write errors are told apart by the side they come from.
        let contents = contents(&from, Some(&to)).map_err(|e| match e {
            Side::Read(e) => read(e),
            Side::Write(e) => write(e),
        })?;
        to.commit().map_err(|e| write(e.into()))?;
        drop(copy);
        place(&temporary, dest)?;
        Ok(Copied {
            path: dest.to_path_buf(),
            contents,
        })
    }

    /// What the store holds now, counted as [`Store::copy_to`] counts
    /// it: a copy is whole when the two agree.
    pub fn contents(&self) -> Result<Contents, StoreError> {
        let read = |e: redb::Error| self.read_err("the count of every table", e);
        let db = self.inner.db.get()?;
        let txn = db.begin_read().map_err(|e| read(e.into()))?;
        contents(&txn, None).map_err(|e| match e {
            Side::Read(e) | Side::Write(e) => read(e),
        })
    }
}

/// Reads every table in `from`, writing each record to `to` if given.
fn contents(from: &ReadTransaction, to: Option<&WriteTransaction>) -> Result<Contents, Side> {
    let mut tables = Tables {
        from,
        to,
        records: BTreeMap::new(),
    };
    tables.all()?;
    let last_audit_id = match from.open_table(AUDIT) {
        Ok(audit) => audit
            .last()
            .map_err(|e| Side::Read(e.into()))?
            .map_or(0, |(id, _)| id.value()),
        Err(redb::TableError::TableDoesNotExist(_)) => 0,
        Err(e) => return Err(Side::Read(e.into())),
    };
    Ok(Contents {
        schema_version: version_in(from).map_err(Side::Read)?,
        last_audit_id,
        records: tables.records,
    })
}

/// Every table of the schema: a table added there and not here is
/// caught by the test that compares this list with the store's own.
impl Tables<'_> {
    fn all(&mut self) -> Result<(), Side> {
        self.table(META)?;
        self.table(SETTINGS)?;
        self.table(AUDIT)?;
        self.multimap(AUDIT_BY_ACTOR)?;
        self.table(AUDIT_ATTEMPTS)?;
        self.table(HISTORY)?;
        self.table(USERS)?;
        self.table(SESSIONS)?;
        self.table(TOKENS)?;
        self.table(FIREWALL)?;
        self.table(DOMAINS)?;
        self.table(SERVERS)?;
        self.table(SERVER_QUOTAS)?;
        self.table(SERVER_CERTS)?;
        self.table(UPDATES)?;
        Ok(())
    }
}

struct Tables<'a> {
    from: &'a ReadTransaction,
    /// `None` to count only.
    to: Option<&'a WriteTransaction>,
    records: BTreeMap<String, u64>,
}

/// Which side of the copy failed.
enum Side {
    Read(redb::Error),
    Write(redb::Error),
}

impl Tables<'_> {
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<(), Side> {
        let reading = |e: redb::Error| Side::Read(e);
        let writing = |e: redb::Error| Side::Write(e);
        let from = match self.from.open_table(def) {
            Ok(t) => t,
            // Made by a migration this store has not needed yet.
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(reading(e.into())),
        };
        let mut to = match self.to {
            Some(to) => Some(to.open_table(def).map_err(|e| writing(e.into()))?),
            None => None,
        };
        let mut n = 0;
        for row in from.iter().map_err(|e| reading(e.into()))? {
            let (k, v) = row.map_err(|e| reading(e.into()))?;
            if let Some(to) = to.as_mut() {
                to.insert(k.value(), v.value())
                    .map_err(|e| writing(e.into()))?;
            }
            n += 1;
        }
        self.records.insert(def.name().to_string(), n);
        Ok(())
    }

    fn multimap<K: Key + 'static, V: Key + 'static>(
        &mut self,
        def: MultimapTableDefinition<K, V>,
    ) -> Result<(), Side> {
        let reading = |e: redb::Error| Side::Read(e);
        let writing = |e: redb::Error| Side::Write(e);
        let from = match self.from.open_multimap_table(def) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(reading(e.into())),
        };
        let mut to = match self.to {
            Some(to) => Some(to.open_multimap_table(def).map_err(|e| writing(e.into()))?),
            None => None,
        };
        let mut n = 0;
        for row in from.iter().map_err(|e| reading(e.into()))? {
            let (k, values) = row.map_err(|e| reading(e.into()))?;
            for v in values {
                let v = v.map_err(|e| reading(e.into()))?;
                if let Some(to) = to.as_mut() {
                    to.insert(k.value(), v.value())
                        .map_err(|e| writing(e.into()))?;
                }
                n += 1;
            }
        }
        self.records.insert(def.name().to_string(), n);
        Ok(())
    }
}

fn temporary_beside(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    dest.with_file_name(name)
}

/// Syncs the copy, renames it to `dest`, and syncs the folder.
fn place(temporary: &Path, dest: &Path) -> Result<(), StoreError> {
    let fail = |source| StoreError::PlaceCopy {
        path: dest.to_path_buf(),
        source,
    };
    std::fs::File::open(temporary)
        .and_then(|f| f.sync_all())
        .map_err(fail)?;
    std::fs::rename(temporary, dest).map_err(fail)?;
    let folder = dest.parent().filter(|p| !p.as_os_str().is_empty());
    std::fs::File::open(folder.unwrap_or(Path::new(".")))
        .and_then(|f| f.sync_all())
        .map_err(fail)
}

#[cfg(test)]
mod tests;
