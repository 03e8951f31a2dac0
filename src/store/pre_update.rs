//! The store across an update: the copy kept before the reboot into a new
//! version, and putting it back when the box falls back to this version
//! and finds the store too new for it.
//!
//! A newer hearth may migrate the store to a schema (or a redb file
//! format) this one cannot read. Before the reboot, [`Store::keep_before_update`]
//! writes a consistent copy (`state.pre-update.redb`, see [`super::copy`])
//! and then, beside it, a mark (`state.pre-update.json`) saying which
//! hearth took it, for which update, and what the copy holds. After a
//! fallback, [`Store::open_after_fallback`] opens the store as usual and,
//! only when it is too new for this hearth and a whole copy taken by this
//! very version is there, sets the newer store aside and restores the
//! copy, saying which changes were lost (see `restore`).
//!
//! It owns those two files and the restore; when to keep and when to drop
//! them is the update's business.

mod lost;
mod mark;
mod restore;

use std::path::{Path, PathBuf};

pub use super::copy::Contents;
pub use lost::{LISTED, Lost, LostRecord};
pub use restore::Restored;

use super::{Store, StoreError};

/// The copy kept before an update, beside the store.
pub const COPY_FILE: &str = "state.pre-update.redb";
/// What the copy holds and why it was taken, written once the copy is whole.
pub const MARK_FILE: &str = "state.pre-update.json";

/// What is about to happen, as the update tells it. The running version
/// and the schema are the store's to write: the restore compares them
/// with its own, so a caller cannot get them wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateMark {
    /// The version being installed.
    pub installing: String,
    /// The slot it is installed into.
    pub target_slot: String,
    /// When the update was started, in ms since the epoch.
    pub at_ms: u64,
}

/// The pair kept by [`Store::keep_before_update`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub copy: PathBuf,
    pub mark: PathBuf,
    pub contents: Contents,
}

/// Free and total bytes of a file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Room {
    pub available: u64,
    pub total: u64,
}

/// How the room of a folder's file system is found (a test passes its own).
pub(super) type RoomOf = fn(&Path) -> std::io::Result<Room>;

impl Store {
    /// Keeps a consistent copy of the store and its mark beside it,
    /// replacing any earlier pair, for `update` to be undone by
    /// [`Store::open_after_fallback`].
    pub fn keep_before_update(&self, update: &UpdateMark) -> Result<Kept, StoreError> {
        self.keep_with_room(update, room_of)
    }

    pub(super) fn keep_with_room(
        &self,
        update: &UpdateMark,
        room_of: RoomOf,
    ) -> Result<Kept, StoreError> {
        let dir = self.state_dir();
        let copy = dir.join(COPY_FILE);
        self.check_room(&dir, &copy, room_of)?;
        // The old mark goes first: a mark beside a copy that is not its
        // own would be refused by its counts, but better never to have one.
        self.drop_pre_update()?;
        let copied = self.copy_to(&copy)?;
        let mark = dir.join(MARK_FILE);
        let copy_bytes = std::fs::metadata(&copy)
            .map_err(|source| StoreError::KeepPreUpdate {
                path: copy.clone(),
                source,
            })?
            .len();
        mark::Mark::new(update, copy_bytes, copied.contents.clone()).write(&mark)?;
        tracing::info!(
            copy = %copy.display(),
            installing = %update.installing,
            slot = %update.target_slot,
            last_audit_id = copied.contents.last_audit_id,
            "kept a copy of the state store before the update"
        );
        Ok(Kept {
            copy,
            mark,
            contents: copied.contents,
        })
    }

    /// Removes the pair kept before an update (the new version was
    /// blessed and ran, or the update was cancelled); `Ok(false)` if there
    /// was none. The mark goes first, so a copy is never left with a mark
    /// while it is being removed.
    pub fn drop_pre_update(&self) -> Result<bool, StoreError> {
        let dir = self.state_dir();
        let mut had = false;
        for name in [MARK_FILE, COPY_FILE] {
            let path = dir.join(name);
            let fail = |source| StoreError::DropPreUpdate {
                path: path.clone(),
                source,
            };
            match std::fs::remove_file(&path) {
                Ok(()) => had = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(fail(e)),
            }
            sync_dir(&dir).map_err(fail)?;
        }
        Ok(had)
    }

    fn state_dir(&self) -> PathBuf {
        match self.path().parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Refuses the copy unless the folder has room for it and the store
    /// keeps its own free-space floor after it: a copy that fills the
    /// disk would leave the store refusing writes just before the reboot.
    fn check_room(&self, dir: &Path, copy: &Path, room_of: RoomOf) -> Result<(), StoreError> {
        let fail = |source| StoreError::KeepPreUpdate {
            path: dir.to_path_buf(),
            source,
        };
        let store = std::fs::metadata(self.path()).map_err(fail)?.len();
        let room = room_of(dir).map_err(fail)?;
        // The earlier copy is removed before the new one is written.
        let old = std::fs::metadata(copy).map_or(0, |m| m.len());
        let available = room.available.saturating_add(old);
        let needed = needed_for(store, room.total);
        if available >= needed {
            return Ok(());
        }
        Err(StoreError::PreUpdateNoRoom {
            path: dir.to_path_buf(),
            needed_kib: needed.div_ceil(1024),
            available_kib: available / 1024,
            store_kib: store.div_ceil(1024),
        })
    }
}

/// The room a copy of a `store`-byte file needs on a `total`-byte file
/// system. A copy holds no more records than the store, and usually less
/// space (the store's free pages are not copied), but a fresh redb file
/// rounds its allocations up: a quarter more covers it. Then the floor
/// under which the store reports itself degraded must still be free.
fn needed_for(store: u64, total: u64) -> u64 {
    store
        .saturating_add(store / 4)
        .saturating_add(super::handle::free_floor(total))
}

fn room_of(dir: &Path) -> std::io::Result<Room> {
    let fs = nix::sys::statvfs::statvfs(dir).map_err(std::io::Error::from)?;
    let unit = fs.fragment_size();
    Ok(Room {
        available: fs.blocks_available().saturating_mul(unit),
        total: fs.blocks().saturating_mul(unit),
    })
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
