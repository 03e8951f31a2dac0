//! The boot partition's files as the helper keeps them: the entries
//! read, removed and renamed, each change made durable before the next
//! (the folder fsynced and the whole FAT file system synced, since a
//! rename on FAT is only safe once the FAT is written).

use std::io::Write;
use std::path::Path;

use super::entry::{Entry, EntryName, Kind};
use super::error::SlotError;
use super::host::Host;
use super::protocol::Slot;

/// The most an entry file may be: they are a few lines.
const MAX_ENTRY: u64 = 16 << 10;

/// The slots' entries in `dir`.
pub fn read_entries(dir: &Path) -> Result<Vec<Entry>, SlotError> {
    let read = |source| SlotError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = Vec::new();
    for item in std::fs::read_dir(dir).map_err(read)? {
        let item = item.map_err(read)?;
        let Some(name) = EntryName::parse(&item.file_name().to_string_lossy()) else {
            continue;
        };
        let text = if name.kind == Kind::Temporary {
            String::new()
        } else {
            let path = item.path();
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut std::io::Read::take(
                    std::fs::File::open(&path).map_err(|source| SlotError::Read {
                        path: path.clone(),
                        source,
                    })?,
                    MAX_ENTRY,
                ),
                &mut text,
            )
            .map_err(|source| SlotError::Read { path, source })?;
            text
        };
        entries.push(Entry { name, text });
    }
    entries.sort_by_key(|e| e.name.file_name());
    Ok(entries)
}

/// Removes every entry of `slot` in `dir` (live, bad or half-written),
/// then makes that durable.
pub fn remove_entries(host: &dyn Host, dir: &Path, slot: Slot) -> Result<(), SlotError> {
    for entry in read_entries(dir)?.iter().filter(|e| e.name.slot == slot) {
        remove(&dir.join(entry.name.file_name()))?;
    }
    durable(host, dir)
}

/// Removes `path`; gone already is fine.
pub fn remove(path: &Path) -> Result<(), SlotError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(SlotError::Remove {
            path: path.to_path_buf(),
            source,
        }),
    }
}

pub fn rename(from: &Path, to: &Path) -> Result<(), SlotError> {
    std::fs::rename(from, to).map_err(|source| SlotError::Rename {
        path: from.to_path_buf(),
        source,
    })
}

/// The folder's changes on the disk.
pub fn durable(host: &dyn Host, dir: &Path) -> Result<(), SlotError> {
    fsync_dir(dir)?;
    host.sync_fs(dir)
}

pub fn fsync_dir(dir: &Path) -> Result<(), SlotError> {
    let sync = |source| SlotError::Sync {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::File::open(dir)
        .map_err(sync)?
        .sync_all()
        .map_err(sync)
}

/// Writes `text` to `path` by a temporary name (which the boot loader
/// does not read), synced, then renamed, then made durable.
pub fn write_entry(host: &dyn Host, path: &Path, tmp: &Path, text: &str) -> Result<(), SlotError> {
    let write = |source| SlotError::Write {
        path: tmp.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::create(tmp).map_err(write)?;
    file.write_all(text.as_bytes()).map_err(write)?;
    file.sync_all().map_err(write)?;
    rename(tmp, path)?;
    durable(host, path.parent().unwrap_or(Path::new("/")))
}
