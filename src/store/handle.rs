//! The open redb database, and how it comes back after a failed write.
//!
//! redb latches the first I/O error of a write: from then on every
//! transaction fails with `PreviousIo` until the file is opened again
//! (opening repairs it back to the last committed transaction). A full
//! disk is such an error, and it passes once space is freed; without this
//! module the store refused every write until hearth was restarted.
//!
//! So the handle remembers the failure and its cause, and [`Handle::recover`]
//! (called before each write and by the health probe) closes the file and
//! opens it again. Operations hold an `Arc` of the database for their
//! length; recovery waits, briefly, until it holds the only one, so no
//! transaction is ever open on a database being closed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use redb::Database;

use super::StoreError;

/// How long recovery waits for the operations in flight to end.
const DRAIN_WAIT: Duration = Duration::from_secs(2);

pub(super) struct Handle {
    path: PathBuf,
    /// `None` only after a reopen failed; the next recovery tries again.
    slot: Mutex<Option<Arc<Database>>>,
    failure: Mutex<Option<Failure>>,
    /// A write found the file system full: the store is degraded until
    /// the health probe sees free space again. Not cleared by the next
    /// commit: a full disk refuses only the writes that grow the file,
    /// and small ones still pass.
    full: AtomicBool,
}

/// Why the database stopped taking writes.
#[derive(Clone, Debug)]
pub(super) struct Failure {
    /// The file system is full (or the quota reached): it passes.
    pub no_space: bool,
    /// The error, with its causes, as logged and shown in the health
    /// report.
    pub cause: String,
}

impl Handle {
    pub fn new(path: PathBuf, db: Database) -> Handle {
        Handle {
            path,
            slot: Mutex::new(Some(Arc::new(db))),
            failure: Mutex::new(None),
            full: AtomicBool::new(false),
        }
    }

    /// Whether a write found the file system full since the last time
    /// [`Handle::check_space`] saw room.
    pub fn is_full(&self) -> bool {
        self.full.load(Ordering::Acquire)
    }

    /// The store's file system: `Err` when it is nearly full (under
    /// [`free_floor`]), or full since a write found it so; a write that
    /// found it full is forgotten once there is room again.
    pub fn check_space(&self) -> Result<(), StoreError> {
        let dir = self.path.parent().unwrap_or(Path::new("/"));
        let Ok(fs) = nix::sys::statvfs::statvfs(dir) else {
            return Ok(()); // the read of the store reports a missing folder
        };
        let unit = fs.fragment_size();
        let available = fs.blocks_available() * unit;
        let floor = free_floor(fs.blocks() * unit);
        if available >= floor {
            if self.full.swap(false, Ordering::AcqRel) {
                tracing::info!(path = %self.path.display(), available, "state store has room again");
            }
            return Ok(());
        }
        Err(StoreError::LowSpace {
            path: self.path.clone(),
            state: if self.is_full() {
                "full"
            } else {
                "nearly full"
            },
            available_kib: available / 1024,
        })
    }

    /// The database, for one operation.
    pub fn get(&self) -> Result<Arc<Database>, StoreError> {
        match lock(&self.slot).as_ref() {
            Some(db) => Ok(db.clone()),
            None => Err(self.failed_error("any", self.failure())),
        }
    }

    /// The failure that latched the database, if any.
    pub fn failure(&self) -> Option<Failure> {
        lock(&self.failure).clone()
    }

    /// Notes an error of a redb operation: an I/O error latches the
    /// database (logged once, with its cause, when it does).
    pub fn note(&self, error: &redb::Error) -> Option<Failure> {
        let no_space = is_no_space(error);
        if no_space {
            self.full.store(true, Ordering::Release);
        }
        let io = matches!(error, redb::Error::Io(_) | redb::Error::PreviousIo);
        let mut failure = lock(&self.failure);
        if !io {
            return failure.clone();
        }
        if failure.is_none() || no_space {
            let cause = error.to_string();
            if failure.is_none() {
                tracing::error!(
                    path = %self.path.display(),
                    %cause,
                    no_space,
                    "state store write failed; writes are refused until the store is reopened, tried before each write"
                );
            }
            *failure = Some(Failure { no_space, cause });
        }
        failure.clone()
    }

    /// If a write failed, closes the database and opens it again; `Ok`
    /// when it takes writes. Must not be called while this thread holds
    /// the database (it would wait for itself, then give up).
    pub fn recover(&self) -> Result<(), StoreError> {
        if lock(&self.failure).is_none() {
            return Ok(());
        }
        let mut slot = lock(&self.slot);
        // Another caller may have recovered it while this one waited.
        let Some(failure) = self.failure() else {
            return Ok(());
        };
        if let Some(db) = slot.take() {
            match drain(db) {
                Ok(db) => drop(db), // closes the file and releases its lock
                Err(db) => {
                    *slot = Some(db);
                    return Err(self.failed_error("transaction", Some(failure)));
                }
            }
        }
        match super::open_db(&self.path) {
            Ok(db) => {
                *slot = Some(Arc::new(db));
                *lock(&self.failure) = None;
                tracing::info!(path = %self.path.display(), "state store reopened after a failed write");
                Ok(())
            }
            Err(e) => {
                let no_space = matches!(&e, StoreError::Open { source, .. } if io_no_space(source))
                    || failure.no_space;
                let cause = crate::logging::chain(&e);
                let failure = Failure { no_space, cause };
                *lock(&self.failure) = Some(failure.clone());
                Err(self.failed_error("transaction", Some(failure)))
            }
        }
    }

    /// The error of an operation refused because the database is latched.
    pub fn failed_error(&self, what: &'static str, failure: Option<Failure>) -> StoreError {
        let path = self.path.clone();
        match failure {
            Some(Failure { no_space: true, .. }) => StoreError::NoSpace { path, what },
            Some(Failure { cause, .. }) => StoreError::Failed { path, what, cause },
            None => StoreError::Failed {
                path,
                what,
                cause: "the store is being reopened".into(),
            },
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Under this much free space the store is degraded: 5% of its file
/// system, at most 64 MiB (on a large disk 64 MiB is weeks of audit log
/// and history; on a small one 5% leaves time to act).
pub(super) fn free_floor(size: u64) -> u64 {
    (size / 20).min(64 << 20)
}

/// Waits until `db` is the only handle left; gives it back if the
/// operations in flight do not end in time.
fn drain(mut db: Arc<Database>) -> Result<Database, Arc<Database>> {
    let deadline = Instant::now() + DRAIN_WAIT;
    loop {
        match Arc::try_unwrap(db) {
            Ok(db) => return Ok(db),
            Err(back) if Instant::now() >= deadline => return Err(back),
            Err(back) => {
                db = back;
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// Whether a redb error says the file system is full.
pub(super) fn is_no_space(error: &redb::Error) -> bool {
    matches!(error, redb::Error::Io(e) if io_no_space(e))
}

fn io_no_space(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) || e.raw_os_error() == Some(nix::libc::ENOSPC)
}

/// A poisoned lock holds nothing broken here: the slot and the failure
/// are each replaced whole.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_system_is_told_from_other_io_errors() {
        let full = std::io::Error::from_raw_os_error(nix::libc::ENOSPC);
        assert!(is_no_space(&redb::Error::Io(full)));
        let quota = std::io::Error::from_raw_os_error(nix::libc::EDQUOT);
        assert!(is_no_space(&redb::Error::Io(quota)));
        let eio = std::io::Error::from_raw_os_error(nix::libc::EIO);
        assert!(!is_no_space(&redb::Error::Io(eio)));
        assert!(!is_no_space(&redb::Error::PreviousIo));
    }

    #[test]
    fn the_free_space_floor_is_five_percent_up_to_64_mib() {
        assert_eq!(free_floor(16 << 20), (16 << 20) / 20);
        assert_eq!(free_floor(1 << 40), 64 << 20);
        assert_eq!(free_floor(0), 0);
    }
}
