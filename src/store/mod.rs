//! The state store: one redb file, `state_dir/state.redb`.
//!
//! It owns the typed tables (see `schema`), the schema migrations run at
//! open, and the audit log. Every state change goes through
//! [`Store::change`], which writes the change and its audit record in one
//! write transaction, so a change without its audit record cannot exist
//! (a change that does several audited things at once, e.g. disabling a
//! member and revoking each of their certificates, adds the others with
//! [`Change::also_audit`]).
//! Other modules never see redb types.
//!
//! redb takes an exclusive lock on the file: a second process on the same
//! state dir gets [`StoreError::Locked`]. A file redb cannot read is
//! reported, never recreated or overwritten.

mod aggregate;
mod audit;
pub mod copy;
mod error;
mod handle;
mod history;
pub mod pre_update;
mod records;
mod retention;
mod schema;
mod watch;

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, WriteTransaction};

pub use aggregate::{SEVERAL, WINDOW_MS as REFUSED_WINDOW_MS};
pub use audit::{AuditAction, AuditEntry, AuditQuery, AuditRecord, Outcome};
pub use error::StoreError;
pub use history::MinutePoint;
pub use records::Records;
pub use retention::{Retention, RetentionOutOfBounds};
pub use schema::CURRENT_VERSION as SCHEMA_VERSION;
pub use watch::Table;

use schema::{AUDIT, AUDIT_BY_ACTOR, SETTINGS};

/// The file name of the store inside the state directory.
pub const STORE_FILE: &str = "state.redb";

/// Beside the store, once the box is set up: with it there, a missing or
/// empty store is a loss to report, never a new box to start.
pub const SETUP_MARKER: &str = "setup-done";

/// A handle to the open store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    /// The database, reopened after a failed write (see `handle`).
    db: handle::Handle,
    /// Told of what each transaction changed, once it has committed.
    watchers: watch::Watchers,
    /// Held by [`Store::change`] from its transaction's start until its
    /// watchers are told, so that they hear of changes in commit order:
    /// redb lets the next writer in at commit, and without this the
    /// stream could send audit record 43 before 42.
    change_order: std::sync::Mutex<()>,
    /// The open windows of refused attempts (see `aggregate`).
    refused: aggregate::Windows,
}

impl Store {
    /// Opens (or on first start creates) the store in `state_dir` and
    /// migrates it to the current schema.
    pub fn open(state_dir: &Path) -> Result<Store, StoreError> {
        crate::fsutil::create_private_dir(state_dir).map_err(|source| StoreError::CreateDir {
            path: state_dir.to_path_buf(),
            source,
        })?;
        let path = state_dir.join(STORE_FILE);
        check_set_up_state(state_dir)?;
        let db = open_db(&path)?;
        let store = Store {
            inner: Arc::new(Inner {
                db: handle::Handle::new(path, db),
                watchers: watch::Watchers::default(),
                change_order: std::sync::Mutex::new(()),
                refused: aggregate::Windows::default(),
            }),
        };
        store.migrate_to(schema::CURRENT_VERSION)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        self.inner.db.path()
    }

    /// Records beside the store that the box is set up (idempotent; the
    /// file and its folder synced): from now on a missing or empty store
    /// stops the daemon instead of starting a new box.
    pub fn mark_set_up(&self) -> Result<(), StoreError> {
        let marker = self.path().with_file_name(SETUP_MARKER);
        if marker.exists() {
            return Ok(());
        }
        crate::fsutil::write_atomically(
            &marker,
            b"the box was set up; see hearth's README\n",
            0o600,
        )
        .map_err(|source| StoreError::WriteMarker {
            path: marker.clone(),
            source,
        })
    }

    /// Brings the store to `target`, one step per transaction.
    fn migrate_to(&self, target: u64) -> Result<(), StoreError> {
        let path = &self.path().to_path_buf();
        let db = self.inner.db.get()?;
        let found = schema::read_version(&db).map_err(|source| StoreError::Unreadable {
            path: path.clone(),
            source: Box::new(source),
        })?;
        if found > schema::CURRENT_VERSION {
            return Err(StoreError::SchemaTooNew {
                path: path.clone(),
                found,
                supported: schema::CURRENT_VERSION,
            });
        }
        for from in found..target {
            schema::step(&db, from).map_err(|source| StoreError::Migrate {
                path: path.clone(),
                from,
                source: Box::new(source),
            })?;
            if found > 0 {
                tracing::info!(path = %path.display(), from, to = from + 1, "migrated state store");
            }
        }
        Ok(())
    }

    /// The schema version stored in the file.
    pub fn schema_version(&self) -> Result<u64, StoreError> {
        let db = self.inner.db.get()?;
        schema::read_version(&db).map_err(|e| self.read_err("schema version", e))
    }

    /// Applies a change and its audit record in one transaction.
    ///
    /// If `apply` fails (with a store error, or with the caller's own error
    /// type, e.g. "no such user"), nothing is written. A refused or failed
    /// action that must still be audited is passed with a no-op `apply` and
    /// an entry whose outcome says so.
    pub fn change<T, E: From<StoreError>>(
        &self,
        entry: AuditEntry,
        apply: impl FnOnce(&mut Change<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        // A panic in another change's `apply` poisons nothing of value.
        let _order = self
            .inner
            .change_order
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let db = self.writable()?;
        let txn = db
            .begin_write()
            .map_err(|e| self.write_err("transaction", e))?;
        let mut change = Change {
            txn: &txn,
            store: self,
            touched: watch::Touched::default(),
            also: Vec::new(),
        };
        let value = apply(&mut change)?;
        let mut touched = change.touched;
        // The consequences first, then the change that caused them: the
        // log reads "revoked, revoked, disabled", the last word the cause.
        let mut records = Vec::with_capacity(change.also.len() + 1);
        for extra in change.also {
            records.push(self.append_audit(&txn, extra)?);
        }
        records.push(self.append_audit(&txn, entry)?);
        touched.add(Table::Audit);
        self.commit(txn, "transaction")?;
        self.inner.watchers.committed(touched, &records);
        Ok(value)
    }

    /// Records an action that changed nothing (refused, failed, or a
    /// lifecycle event), on its own.
    pub fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.change(entry, |_| Ok::<(), StoreError>(()))
    }

    /// Appends a record, and prunes what the retention no longer keeps.
    fn append_audit(
        &self,
        txn: &WriteTransaction,
        entry: AuditEntry,
    ) -> Result<AuditRecord, StoreError> {
        let err = |e: redb::Error| self.write_err("audit record", e);
        let record = {
            let table = txn.open_table(AUDIT).map_err(|e| err(e.into()))?;
            let id = match table.last().map_err(|e| err(e.into()))? {
                Some((id, _)) => id.value() + 1,
                None => 1,
            };
            AuditRecord::new(id, crate::clock::now_ms(), entry)
        };
        self.write_audit(txn, &record)?;
        txn.open_multimap_table(AUDIT_BY_ACTOR)
            .map_err(|e| err(e.into()))?
            .insert(record.actor.as_str(), record.id)
            .map_err(|e| err(e.into()))?;
        retention::prune(txn, record.time_ms).map_err(err)?;
        Ok(record)
    }

    /// Stores `record` under its id (new, or rewritten with a new count)
    /// and keeps the retention's index of it.
    fn write_audit(&self, txn: &WriteTransaction, record: &AuditRecord) -> Result<(), StoreError> {
        let err = |e: redb::Error| self.write_err("audit record", e);
        let bytes = serde_json::to_vec(record).expect("audit records always serialize");
        txn.open_table(AUDIT)
            .map_err(|e| err(e.into()))?
            .insert(record.id, bytes.as_slice())
            .map_err(|e| err(e.into()))?;
        retention::track(txn, record, bytes.len() as u64).map_err(err)
    }

    /// A setting's value, if set.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let err = |e: redb::Error| self.read_err("setting", e);
        let db = self.inner.db.get()?;
        let txn = db.begin_read().map_err(|e| err(e.into()))?;
        let table = txn.open_table(SETTINGS).map_err(|e| err(e.into()))?;
        let value = table.get(key).map_err(|e| err(e.into()))?;
        Ok(value.map(|v| v.value().to_string()))
    }

    /// Audit records with an id greater than `after`, oldest first, at most
    /// `limit` (for tests and tools that replay the log in order).
    pub fn audit_records(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let err = |e: redb::Error| self.read_err("audit records", e);
        let db = self.inner.db.get()?;
        let txn = db.begin_read().map_err(|e| err(e.into()))?;
        let table = txn.open_table(AUDIT).map_err(|e| err(e.into()))?;
        let mut out = Vec::new();
        for row in table
            .range(after.saturating_add(1)..)
            .map_err(|e| err(e.into()))?
            .take(limit)
        {
            let (id, value) = row.map_err(|e| err(e.into()))?;
            out.push(self.decode_audit(id.value(), value.value())?);
        }
        Ok(out)
    }

    /// One page of the audit log, newest first: the records `query`
    /// selects, at most `query.limit`. It walks the log backwards from
    /// `before`, through the actor index when there is an actor, and stops
    /// as soon as the page is full, so no page reads the whole log unless
    /// the time filter leaves it nearly empty.
    pub fn audit_newest_first(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let err = |e: redb::Error| self.read_err("audit records", e);
        let db = self.inner.db.get()?;
        let txn = db.begin_read().map_err(|e| err(e.into()))?;
        let table = txn.open_table(AUDIT).map_err(|e| err(e.into()))?;
        let mut out = Vec::new();
        if query.limit == 0 {
            return Ok(out);
        }
        let mut keep = |record: AuditRecord| {
            if (query.since_ms..=query.until_ms).contains(&record.time_ms) {
                out.push(record);
            }
            out.len() >= query.limit
        };
        match query.actor {
            None => {
                for row in table
                    .range(..query.before)
                    .map_err(|e| err(e.into()))?
                    .rev()
                {
                    let (id, value) = row.map_err(|e| err(e.into()))?;
                    if keep(self.decode_audit(id.value(), value.value())?) {
                        break;
                    }
                }
            }
            Some(actor) => {
                let index = txn
                    .open_multimap_table(AUDIT_BY_ACTOR)
                    .map_err(|e| err(e.into()))?;
                // An actor's ids come in ascending order; reversed, the
                // ids at or above `before` come first and cost no record
                // read each.
                for id in index.get(actor).map_err(|e| err(e.into()))?.rev() {
                    let id = id.map_err(|e| err(e.into()))?.value();
                    if id >= query.before {
                        continue;
                    }
                    let Some(value) = table.get(id).map_err(|e| err(e.into()))? else {
                        continue;
                    };
                    if keep(self.decode_audit(id, value.value())?) {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    fn decode_audit(&self, id: u64, bytes: &[u8]) -> Result<AuditRecord, StoreError> {
        // The key is the truth; the id inside the JSON is for readers of dumps.
        serde_json::from_slice::<AuditRecord>(bytes)
            .map(|r| AuditRecord { id, ..r })
            .map_err(|source| StoreError::Decode {
                path: self.path().to_path_buf(),
                what: "audit",
                source,
            })
    }

    /// The action names of the first `limit` audit records, oldest first:
    /// the trail's shape at a glance (the recovery console, tests).
    pub fn audit_actions(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        Ok(self
            .audit_records(0, limit)?
            .into_iter()
            .map(|r| r.action)
            .collect())
    }

    /// Proves the store still answers: after a failed write, that it
    /// takes writes again (reopening it); that its file system has room;
    /// and a read of the settings.
    pub fn check(&self) -> Result<(), StoreError> {
        self.inner.db.recover()?;
        self.inner.db.check_space()?;
        self.setting(schema::INSTALLED_AT).map(|_| ())
    }

    fn commit(&self, txn: WriteTransaction, what: &'static str) -> Result<(), StoreError> {
        txn.commit().map_err(|e| self.write_err(what, e))
    }

    /// The database for a write: reopened first if a write failed.
    fn writable(&self) -> Result<std::sync::Arc<Database>, StoreError> {
        self.inner.db.recover()?;
        self.inner.db.get()
    }

    /// When hearth first started on this box, in ms since the epoch.
    pub fn installed_at_ms(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .setting(schema::INSTALLED_AT)?
            .and_then(|v| v.parse().ok()))
    }

    fn read_err(&self, what: &'static str, source: redb::Error) -> StoreError {
        if let redb::Error::PreviousIo = source {
            return self.inner.db.failed_error(what, self.inner.db.failure());
        }
        self.inner.db.note(&source);
        StoreError::Read {
            path: self.path().to_path_buf(),
            what,
            source: Box::new(source),
        }
    }

    /// A failed write: an I/O error latches the database until it is
    /// reopened, and a full file system is said as such (it passes).
    fn write_err(&self, what: &'static str, source: impl Into<redb::Error>) -> StoreError {
        let source = source.into();
        let failure = self.inner.db.note(&source);
        if handle::is_no_space(&source) || matches!(source, redb::Error::PreviousIo) {
            return self.inner.db.failed_error(what, failure);
        }
        StoreError::Write {
            path: self.path().to_path_buf(),
            what,
            source: Box::new(source),
        }
    }
}

/// The writes of one change, inside its transaction.
pub struct Change<'a> {
    txn: &'a WriteTransaction,
    store: &'a Store,
    /// What this change wrote to, for the watchers.
    touched: watch::Touched,
    /// Audit entries of what the change did besides its own action, in
    /// the order they happened (see [`Change::also_audit`]).
    also: Vec<AuditEntry>,
}

impl Change<'_> {
    /// Records one more thing this change did (a certificate revoked with
    /// the member who was disabled), in the same transaction: written
    /// before the change's own entry if the change commits, and not at
    /// all if it is refused or fails.
    pub fn also_audit(&mut self, entry: AuditEntry) {
        self.also.push(entry);
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.touched.add(Table::Settings);
        let err = |e: redb::Error| self.store.write_err("setting", e);
        self.txn
            .open_table(SETTINGS)
            .map_err(|e| err(e.into()))?
            .insert(key, value)
            .map_err(|e| err(e.into()))?;
        Ok(())
    }

    /// Records the first start's time (ms since the epoch); a store that
    /// has one keeps it.
    pub fn keep_installed_at(&mut self, now_ms: u64) -> Result<(), StoreError> {
        if self.setting(schema::INSTALLED_AT)?.is_none() {
            self.set_setting(schema::INSTALLED_AT, &now_ms.to_string())?;
        }
        Ok(())
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let err = |e: redb::Error| self.store.read_err("setting", e);
        let table = self.txn.open_table(SETTINGS).map_err(|e| err(e.into()))?;
        let value = table.get(key).map_err(|e| err(e.into()))?;
        Ok(value.map(|v| v.value().to_string()))
    }
}

/// `Err` if the box in `state_dir` was set up but its store file is
/// missing or empty (see [`SETUP_MARKER`]): [`Store::open`] refuses it,
/// the console says so. A new box, or one set up before the marker
/// existed, passes.
pub fn check_set_up_state(state_dir: &Path) -> Result<(), StoreError> {
    let path = &state_dir.join(STORE_FILE);
    let marker = state_dir.join(SETUP_MARKER);
    if !marker.exists() {
        return Ok(());
    }
    let what = match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "missing",
        Ok(m) if m.len() == 0 => "empty",
        _ => return Ok(()),
    };
    Err(StoreError::SetUpStateMissing {
        path: path.to_path_buf(),
        marker,
        what,
    })
}

fn open_db(path: &Path) -> Result<Database, StoreError> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
        // Only a crash during the very first start leaves an empty file.
        tracing::warn!(path = %path.display(), "state store file is empty; initializing it");
    }
    let mut builder = Database::builder();
    // Without this, redb trusts the file and may panic on one damaged
    // outside it; a start must report corruption instead.
    builder.set_check_integrity_on_open(true);
    builder.create(path).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen | redb::DatabaseError::LockProtocolMismatch => {
            StoreError::Locked {
                path: path.to_path_buf(),
            }
        }
        // redb reports a file that is not a database as InvalidData.
        redb::DatabaseError::Storage(redb::StorageError::Io(source))
            if !matches!(
                source.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
            ) =>
        {
            StoreError::Open {
                path: path.to_path_buf(),
                source,
            }
        }
        other => StoreError::Unreadable {
            path: path.to_path_buf(),
            source: Box::new(other.into()),
        },
    })
}

#[cfg(test)]
mod tests;
