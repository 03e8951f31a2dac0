//! Putting back the copy kept before an update, after a fallback to the
//! hearth that took it finds the store too new to open.
//!
//! The steps, each durable before the next, with `state.redb` always
//! naming a whole store (the newer one, then the restored one):
//!
//! 1. stage: the copy is copied (never moved: the pair stays as it was,
//!    so an interrupted restore starts over from it) into
//!    `restore.partial/state.redb`, opened there with the integrity
//!    check, and its contents compared with the mark's;
//! 2. audit: the restore's audit record is written into the staged store,
//!    so whichever store is in place says what happened;
//! 3. set aside: a second name, `state.from-<version>-<time>.redb`, is
//!    linked to the newer store (a link, not a rename: there is no moment
//!    without `state.redb`, which a new box would be started in);
//! 4. place: the staged store is renamed over `state.redb`, one atomic
//!    step, and the folder synced;
//! 5. finish: the staging folder is removed and the mark notes the
//!    restore, so the copy never replaces a store that came of it.
//!
//! A power cut before 4 leaves the newer store in place, and the next
//! start restores again (reusing the name of step 3); after 4 the next
//! start opens the restored store as any other.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::lost::{self, Lost, utc};
use super::mark::Mark;
use super::{COPY_FILE, MARK_FILE, sync_dir};
use crate::store::{AuditAction, AuditEntry, STORE_FILE, Store, StoreError};

/// The folder a restore stages the copy in, inside the state folder.
pub(super) const STAGING_DIR: &str = "restore.partial";

/// What [`Store::open_after_fallback`] did when it restored the copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restored {
    /// The version that was being installed, whose store was set aside.
    pub from_version: String,
    /// When the copy was taken, in ms since the epoch.
    pub copy_taken_at_ms: u64,
    /// The newer store, kept whole under this name for its owner.
    pub set_aside: PathBuf,
    pub lost: Lost,
}

impl std::fmt::Display for Restored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "restored the state store kept at {} before the update to hearth {}; the newer store is kept at {}; lost: {}",
            utc(self.copy_taken_at_ms),
            self.from_version,
            self.set_aside.display(),
            self.lost
        )
    }
}

/// The steps of a restore after which a test plays a power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Staged,
    Audited,
    SetAside,
    Placed,
}

impl Store {
    /// Opens the store as [`Store::open`] does; if it is too new for this
    /// hearth (a newer schema, or a file this redb cannot read) and the
    /// copy kept before an update by this same version is there and
    /// whole, sets the newer store aside, puts the copy in its place and
    /// says so. Otherwise the error of the open stands, with the reason
    /// the copy was not used if there is one: real corruption is never
    /// hidden by an old copy.
    pub fn open_after_fallback(state_dir: &Path) -> Result<(Store, Option<Restored>), StoreError> {
        open_after_fallback(state_dir, None)
    }
}

pub(super) fn open_after_fallback(
    state_dir: &Path,
    crash_after: Option<Step>,
) -> Result<(Store, Option<Restored>), StoreError> {
    let error = match Store::open(state_dir) {
        Ok(store) => {
            // Left by a restore cut short after its store was placed.
            let _ = std::fs::remove_dir_all(state_dir.join(STAGING_DIR));
            return Ok((store, None));
        }
        Err(e) => e,
    };
    let newer = match &error {
        StoreError::SchemaTooNew { .. } => Newer::Readable,
        StoreError::Unreadable { source, .. } => Newer::Unreadable(source.to_string()),
        _ => return Err(error),
    };
    let mark_path = state_dir.join(MARK_FILE);
    let refused = |reason: String, error: StoreError| StoreError::NotRestored {
        mark: mark_path.clone(),
        reason,
        source: Box::new(error),
    };
    let mark = match Mark::read(&mark_path) {
        Ok(Some(mark)) => mark,
        Ok(None) => return Err(error),
        Err(reason) => return Err(refused(reason, error)),
    };
    if let Some(reason) = mark.refusal() {
        return Err(refused(reason, error));
    }
    tracing::warn!(
        cause = %crate::logging::chain(&error),
        copy_taken_at = %utc(mark.taken_at_ms),
        "the state store is too new for this hearth; restoring the copy kept before the update"
    );
    let staged = match stage(state_dir, &mark) {
        Ok(staged) => staged,
        Err(Staging::Invalid(reason)) => return Err(refused(reason, error)),
        Err(Staging::Failed(e)) => return Err(e),
    };
    let restore = Restore {
        state_dir,
        crash_after,
    };
    restore.stop(Step::Staged)?;
    let store_path = state_dir.join(STORE_FILE);
    let lost = match newer {
        Newer::Readable => lost::read(&store_path, mark.last_audit_id, mark.taken_at_ms),
        Newer::Unreadable(why) => Lost::Everything {
            since_ms: mark.taken_at_ms,
            why: format!("this hearth cannot read the newer store: {why}"),
        },
    };
    let set_aside = restore.set_aside_name(&store_path, &mark.installing)?;
    let restored = Restored {
        from_version: mark.installing.clone(),
        copy_taken_at_ms: mark.taken_at_ms,
        set_aside,
        lost,
    };
    restore.audit(staged, &restored)?;
    restore.stop(Step::Audited)?;
    restore.link(&store_path, &restored.set_aside)?;
    restore.stop(Step::SetAside)?;
    restore.place(&store_path)?;
    restore.stop(Step::Placed)?;
    restore.finish(&mark_path, mark);
    let store = Store::open(state_dir)?;
    tracing::warn!(set_aside = %restored.set_aside.display(), "{restored}");
    Ok((store, Some(restored)))
}

/// How far this hearth reads the store it cannot open.
enum Newer {
    /// Its redb file opens (with the integrity check), its schema is newer.
    Readable,
    /// Not at all, for this reason.
    Unreadable(String),
}

/// Why the copy was not staged.
enum Staging {
    /// The copy is not what its mark says: the open's error stands.
    Invalid(String),
    /// Staging failed for a reason of its own (a full disk).
    Failed(StoreError),
}

/// Copies the copy into the staging folder and opens it there: `Ok` when
/// it opens, with the integrity check, and holds what its mark says.
fn stage(state_dir: &Path, mark: &Mark) -> Result<Store, Staging> {
    let copy = state_dir.join(COPY_FILE);
    let staging = state_dir.join(STAGING_DIR);
    let staged = staging.join(STORE_FILE);
    let failed = |step, path: &Path, source| {
        Staging::Failed(StoreError::RestorePreUpdate {
            path: path.to_path_buf(),
            step,
            source,
        })
    };
    let bytes = match std::fs::metadata(&copy) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Staging::Invalid(format!(
                "the copy {} is missing",
                copy.display()
            )));
        }
        Err(e) => return Err(failed("read", &copy, e)),
    };
    if bytes != mark.copy_bytes {
        return Err(Staging::Invalid(format!(
            "the copy {} has {bytes} bytes and its mark says {}: it was cut short or replaced",
            copy.display(),
            mark.copy_bytes
        )));
    }
    match std::fs::remove_dir_all(&staging) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(failed("clear", &staging, e));
        }
        _ => {}
    }
    crate::fsutil::create_private_dir(&staging).map_err(|e| failed("create", &staging, e))?;
    std::fs::copy(&copy, &staged)
        .and_then(|_| std::fs::File::open(&staged)?.sync_all())
        .map_err(|e| failed("copy the copy to", &staged, e))?;
    let unusable = |e: StoreError| {
        Staging::Invalid(format!(
            "the copy {} cannot be used: {}",
            copy.display(),
            crate::logging::chain(&e)
        ))
    };
    let store = Store::open(&staging).map_err(unusable)?;
    let contents = store.contents().map_err(unusable)?;
    if contents != mark.contents() {
        return Err(Staging::Invalid(format!(
            "the copy {} does not hold what its mark says (schema {}, last audit record {}, {:?}; the mark says schema {}, {}, {:?})",
            copy.display(),
            contents.schema_version,
            contents.last_audit_id,
            contents.records,
            mark.schema_version,
            mark.last_audit_id,
            mark.records,
        )));
    }
    Ok(store)
}

/// The steps after staging.
struct Restore<'a> {
    state_dir: &'a Path,
    crash_after: Option<Step>,
}

impl Restore<'_> {
    /// A power cut after `step`, in a test.
    fn stop(&self, step: Step) -> Result<(), StoreError> {
        if self.crash_after != Some(step) {
            return Ok(());
        }
        Err(self.failed(
            "go on after a simulated power cut in",
            self.state_dir,
            std::io::Error::other(format!("stopped after {step:?}")),
        ))
    }

    fn failed(&self, step: &'static str, path: &Path, source: std::io::Error) -> StoreError {
        StoreError::RestorePreUpdate {
            path: path.to_path_buf(),
            step,
            source,
        }
    }

    /// The name the newer store is kept under: the one an interrupted
    /// restore already gave it, or a new one no file has.
    fn set_aside_name(&self, store: &Path, version: &str) -> Result<PathBuf, StoreError> {
        let read = |e| self.failed("read", self.state_dir, e);
        let newer = std::fs::metadata(store).map_err(|e| self.failed("read", store, e))?;
        for entry in std::fs::read_dir(self.state_dir).map_err(read)? {
            let entry = entry.map_err(read)?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !(name.starts_with("state.from-") && name.ends_with(".redb")) {
                continue;
            }
            if let Ok(m) = entry.metadata()
                && (m.dev(), m.ino()) == (newer.dev(), newer.ino())
            {
                return Ok(entry.path());
            }
        }
        let stem = format!(
            "state.from-{}-{}",
            file_safe(version),
            stamp(crate::clock::now_ms())
        );
        let mut n = 1;
        loop {
            let name = match n {
                1 => format!("{stem}.redb"),
                n => format!("{stem}-{n}.redb"),
            };
            let path = self.state_dir.join(name);
            if std::fs::symlink_metadata(&path).is_err() {
                return Ok(path);
            }
            n += 1;
        }
    }

    /// Writes the restore's audit record into the staged store, and
    /// closes and syncs it.
    fn audit(&self, staged: Store, restored: &Restored) -> Result<(), StoreError> {
        let name = restored
            .set_aside
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        let target = format!(
            "the store of hearth {} set aside as {name}; lost: {}",
            restored.from_version, restored.lost
        );
        staged.audit(AuditEntry::system(AuditAction::StoreRestore, &target))?;
        let path = staged.path().to_path_buf();
        drop(staged);
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(|e| self.failed("sync", &path, e))
    }

    /// Gives the newer store its second name (kept if an interrupted
    /// restore gave it already).
    fn link(&self, store: &Path, set_aside: &Path) -> Result<(), StoreError> {
        match std::fs::hard_link(store, set_aside) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(self.failed("set aside the newer store as", set_aside, e));
            }
            _ => {}
        }
        sync_dir(self.state_dir).map_err(|e| self.failed("sync", self.state_dir, e))
    }

    /// Renames the staged store over the newer one, atomically.
    fn place(&self, store: &Path) -> Result<(), StoreError> {
        let staged = self.state_dir.join(STAGING_DIR).join(STORE_FILE);
        std::fs::rename(&staged, store)
            .map_err(|e| self.failed("put the restored store in place at", store, e))?;
        sync_dir(self.state_dir).map_err(|e| self.failed("sync", self.state_dir, e))
    }

    /// Tidies up once the restored store is in place. Neither step is
    /// needed for the store to open, so a failure is logged, not raised.
    fn finish(&self, mark_path: &Path, mut mark: Mark) {
        let staging = self.state_dir.join(STAGING_DIR);
        if let Err(e) = std::fs::remove_dir_all(&staging) {
            tracing::warn!(path = %staging.display(), error = %e, "cannot remove the restore's staging folder");
        }
        mark.restored_at_ms = Some(crate::clock::now_ms());
        if let Err(e) = mark.write(mark_path) {
            tracing::warn!(
                error = %crate::logging::chain(&e),
                "cannot note the restore in the mark of the copy kept before the update; drop the copy once the box runs well"
            );
        }
    }
}

/// A version as a file name's part: anything but letters, digits, `.`,
/// `-` and `+` becomes `_` (the mark is a file, not trusted to be tidy).
fn file_safe(version: &str) -> String {
    let safe: String = version
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match safe.trim_start_matches('.') {
        "" => "unknown".into(),
        s => s.to_string(),
    }
}

/// `ms` since the epoch as `20250301T120000Z`.
fn stamp(ms: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(i64::try_from(ms / 1000).unwrap_or(0))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
